"""The click commands of ``isxio`` (built on first use by :func:`isxio.cli.main`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import click

__all__ = ["build"]

#: --to -> suffix of the default output (bin: a Suite2p folder <name>_suite2p)
EXPORTS = {"zarr": ".zarr", "h5": ".h5", "bin": "_suite2p", "isxd": ".isxd", "tiff": ".tif",
           "mp4": ".mp4", "csv": ".csv"}


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if isinstance(exc, (OSError, ValueError)) and "/" in text \
        else f"{type(exc).__name__}: {text}"


class _Group(click.Group):
    """Errors as one line (``--debug``: the traceback); exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            if (ctx.obj or {}).get("debug"):
                raise
            click.echo(f"isxio: error: {_one_line(exc)}", err=True)
            return 1


def _say(ctx: click.Context, text: str) -> None:
    if not ctx.obj["quiet"]:
        click.echo(text)


def build(cli: ModuleType) -> click.Group:
    """The ``isxio`` command group (``cli`` is :mod:`isxio.cli`, for the demo)."""

    @click.group(cls=_Group, help=cli.__doc__)
    @click.option("--quiet", "-q", is_flag=True, help="No progress output.")
    @click.option("--debug", is_flag=True, help="Show the traceback of an error.")
    @click.pass_context
    def group(ctx: click.Context, quiet: bool, debug: bool) -> None:
        ctx.obj = {"quiet": quiet, "debug": debug}

    @group.command()
    @click.argument("folder", required=False)
    @click.option("--out", help="The same as FOLDER.")
    def demo(folder: str | None, out: str | None) -> int:
        """Write a built-in example session to FOLDER (default ./isxio-demo) and convert it."""
        return cli._demo(folder, out)

    for command in (_info, _validate, _convert, _export, _preview):
        group.add_command(command)
    return group


@click.command("info")
@click.argument("files", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON list of descriptions.")
def _info(files: tuple[str, ...], as_json: bool) -> int:
    """Describe Inscopix files (kind, shape, start with its zone, dropped/cropped, planes)."""
    from .commands.info import describe, one_line

    found, failed = [], 0
    for name in files:
        try:
            info = describe(name)
        except Exception as exc:
            failed += 1
            text = _one_line(exc)
            click.echo(text if name in text else f"{name}: {text}", err=True)
            continue
        found.append(info)
        if not as_json:
            click.echo(one_line(info))
    if as_json:
        click.echo(json.dumps(found, indent=2))
    return 1 if failed else 0


@click.command("validate")
@click.argument("files", nargs=-1, required=True)
@click.pass_context
def _validate(ctx: click.Context, files: tuple[str, ...]) -> int:
    """Check the structure of files; print the first problem of each (path, byte offset)."""
    from .commands.validate import check_file

    failed = 0
    for name in files:
        problem = check_file(name)
        if problem:
            failed += 1
            click.echo(problem, err=True)
        else:
            _say(ctx, f"{name}: OK")
    return 1 if failed else 0


@click.command("convert")
@click.argument("target")
@click.option("-o", "--output", help="NWB file (for a FILE or FOLDER).")
@click.option("--metadata", "metadata_file", help="YAML metadata merged over the files' own.")
@click.option("--data-folder-path", help="Spec: where relative source paths start.")
@click.option("--output-folder-path", help="Spec: where NWB files go.")
@click.option("--overwrite", is_flag=True, help="Redo sessions whose NWB file is complete.")
@click.option("--allow-import", is_flag=True,
              help="Spec: allow package.module:Class interface names.")
@click.option("--scheduler", help="Address of a running Dask scheduler.")
@click.option("--workers", type=int, help="Workers of the local Dask cluster.")
@click.option("--serial", is_flag=True, help="One session after the other, in this process.")
@click.pass_context
def _convert(ctx: click.Context, target: str, output: str | None, metadata_file: str | None,
             data_folder_path: str | None, output_folder_path: str | None, overwrite: bool,
             allow_import: bool, scheduler: str | None, workers: int | None,
             serial: bool) -> int:
    """Convert a FILE, a session FOLDER or a SPEC.yml (many sessions: on Dask) to NWB."""
    from .convert.runner import format_summary, run_plans

    plans = _plans(target, output, metadata_file, data_folder_path, output_folder_path,
                   allow_import)
    done = [0]

    def progress(result: Any) -> None:
        done[0] += 1
        _say(ctx, f"[{done[0]}/{len(plans)}] {result.session}: {result.status} "
                  f"({result.seconds:.1f} s)")

    results = run_plans(plans, overwrite=overwrite, scheduler=scheduler, workers=workers,
                        parallel=False if serial else None, on_result=progress,
                        progress=not ctx.obj["quiet"])
    failed = [r for r in results if r.status == "failed"]
    if ctx.obj["debug"]:
        for result in failed:
            click.echo(result.traceback, err=True)
    click.echo(format_summary(results), err=bool(failed))
    return 1 if failed else 0


def _plans(target: str, output: str | None, metadata_file: str | None,
           data_folder_path: str | None, output_folder_path: str | None,
           allow_import: bool) -> list[Any]:
    from .convert.spec import SessionPlan, plan_sessions

    path = Path(target)
    if path.suffix.lower() in (".yml", ".yaml"):
        if output or metadata_file:
            raise click.UsageError("-o and --metadata are for a FILE or FOLDER; a spec names "
                                   "its outputs (see --output-folder-path)")
        return plan_sessions(path, data_folder_path=data_folder_path,
                             output_folder_path=output_folder_path, allow_import=allow_import)
    if not path.exists():
        raise click.BadParameter(f"{target}: no such file or folder", param_hint="TARGET")
    source = ({"folder_path": str(path)} if path.is_dir()
              else {"file_paths": [str(path)]})
    out = Path(output) if output else (path / f"{path.name}.nwb" if path.is_dir()
                                       else path.with_suffix(".nwb"))
    return [SessionPlan(spec=str(path), experiment=path.stem, index=1, nwbfile_path=str(out),
                        interfaces={"InscopixSession": "isxio:InscopixSessionConverter"},
                        source_data={"InscopixSession": source},
                        metadata=_read_metadata(metadata_file))]


def _read_metadata(path: str | None) -> dict[str, Any]:
    if path is None:
        return {}
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise click.BadParameter(f"{path}: {_one_line(exc)}", param_hint="--metadata") from exc
    if not isinstance(data, dict):
        raise click.BadParameter(f"{path}: metadata is a mapping", param_hint="--metadata")
    return data


def _parsed(parser: str) -> Any:
    """A click callback parsing the option's text with ``commands.export.<parser>``."""
    def callback(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
        try:
            return None if value is None else getattr(_export_module(), parser)(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc), ctx, param) from None
    return callback


@click.command("export")
@click.argument("file")
@click.option("--to", "fmt", type=click.Choice(list(EXPORTS)), required=True,
              help="zarr (OME-Zarr), h5 (HDF5 'mov'), bin (Suite2p folder), isxd: "
                   "isxio.imwrite, every frame with its timing; tiff, mp4, csv (frame "
                   "timestamps): isx's exports (TIFF: isx's layout, valid frames only).")
@click.option("-o", "--output", help="Output (default: FILE with the format's suffix; "
              "bin: the folder <name>_suite2p; isxd of an .isxd: <name>_export.isxd).")
@click.option("--planes", callback=_parsed("parse_planes"),
              help="Planes to keep, 0-based: 0 or 0,2 (zarr, h5, bin, isxd; default all).")
@click.option("--frames", callback=_parsed("parse_frames"),
              help="Frames to keep (of each plane), 0-based: START:STOP[:STEP] (STOP "
                   "excluded) or 0,5,9 (zarr, h5, bin, isxd; default all).")
@click.option("--overwrite", is_flag=True,
              help="Replace existing outputs (only once the new ones are complete).")
@click.pass_context
def _export(ctx: click.Context, file: str, fmt: str, output: str | None, planes: Any,
            frames: Any, overwrite: bool) -> int:
    """Export FILE: movies to Zarr, HDF5, Suite2p, .isxd, TIFF, MP4 or CSV; sets to CSV."""
    export = _export_module()
    out = output or export.default_output(file, EXPORTS[fmt])
    written = export.export(file, fmt, out, progress=not ctx.obj["quiet"], planes=planes,
                            frames=frames, overwrite=overwrite)
    _say(ctx, f"written: {', '.join(map(str, written))}")
    return 0


def _export_module() -> ModuleType:
    from .commands import export

    return export


@click.command("preview")
@click.argument("file")
@click.option("-o", "--output", required=True, help="PNG file.")
@click.pass_context
def _preview(ctx: click.Context, file: str, output: str) -> int:
    """Draw an overview of FILE into a PNG (projections, contours, traces, raster, channels)."""
    from .commands.preview import preview

    _say(ctx, f"written: {preview(file, output)}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(1)
