"""Byte-level readers and writers, one module per file kind. Depends on numpy only."""
