"""What the ``isxio`` commands do, apart from their command-line parsing (``isxio.cli``)."""
