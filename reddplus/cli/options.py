"""Options and helpers shared by every ``reddplus`` command (the only place that defines them).

Conventions (after rasterio's ``rio``):

* ``-v/-q`` set logging verbosity on stderr;
* ``--json`` prints one machine-readable JSON document on stdout;
* outputs are never overwritten without ``--overwrite``;
* progress bars go to stderr.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import click

from reddplus.errors import OutputExistsError, ReddplusError, RunInterrupted

json_opt = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout.")
overwrite_opt = click.option("--overwrite", is_flag=True, help="Replace existing outputs.")
seed_opt = click.option("--seed", type=int, default=None, help="Random seed (reproducible runs).")
dask_opt = click.option(
    "--dask-scheduler",
    default=None,
    metavar="ADDRESS",
    help="Run raster steps on this Dask scheduler (e.g. tcp://host:8786); default: local threads.",
)


def column_mapping(values: tuple[str, ...], option: str = "--column") -> dict[str, str]:
    """Parse repeated ``ROLE=NAME`` options into a dict, with a clear error."""
    out: dict[str, str] = {}
    for item in values:
        if "=" not in item:
            raise click.BadParameter(f"expected ROLE=NAME, got {item!r}", param_hint=option)
        role, name = item.split("=", 1)
        out[role.strip()] = name.strip()
    return out


def echo_json(obj: Any) -> None:
    """Print ``obj`` as JSON on stdout (NaN/inf become null, numpy types become Python)."""
    from reddplus.jsonio import dumps

    click.echo(dumps(obj, indent=2))


def check_output(path: str | Path, overwrite: bool, inputs=()) -> Path:
    """Refuse to replace an existing output unless ``overwrite``, and an output where it could destroy
    one of ``inputs`` (:func:`reddplus.outputs.check_output_location`)."""
    from reddplus.outputs import check_output_location

    p = Path(path)
    if inputs:
        if isinstance(inputs, dict):
            check_output_location(p, {k: v for k, v in inputs.items() if v})
        else:
            check_output_location(p, [i for i in inputs if i])
    if p.exists() and not overwrite:
        raise OutputExistsError(f"{p} exists; pass --overwrite to replace it")
    return p


def published(obj: Any, stage: Path, final: Path) -> Any:
    """``obj`` (nested dicts/lists/strings/paths) with paths into the staging folder pointed at the final one."""
    s, f = str(stage), str(final)
    if isinstance(obj, dict):
        return {k: published(v, stage, final) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(published(v, stage, final) for v in obj)
    if isinstance(obj, Path):
        return Path(published(str(obj), stage, final))
    if isinstance(obj, str) and obj.startswith(s):
        return f + obj[len(s):]
    return obj


@contextmanager
def signals_handled() -> Iterator[None]:
    """SIGINT and SIGTERM stop the command alike: :class:`~reddplus.errors.RunInterrupted` is raised in
    the main thread and the signal is recorded, so no output is published afterwards, even when a
    library swallows the ``KeyboardInterrupt`` (``Exception ignored in ...``). The previous
    handlers are restored on exit. Outside the main thread (no signals there) it does nothing."""
    from reddplus.outputs import clear_interrupt, request_interrupt

    clear_interrupt()
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        request_interrupt(signum)
        raise RunInterrupted(signum)

    old = {}
    for s in (signal.SIGINT, signal.SIGTERM):
        old[s] = signal.signal(s, handler)
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def parse_years(text: str | None, option: str = "--dates") -> tuple[int, ...] | None:
    """``"2000,2010,2020"`` -> ``(2000, 2010, 2020)``; None/empty -> None; anything else a usage error."""
    if not text:
        return None
    try:
        return tuple(int(d) for d in text.split(","))
    except ValueError as err:
        raise click.BadParameter(f"expected comma-separated years, got {text!r}", param_hint=option) from err


def configure_logging(verbosity: int) -> None:
    level = max(logging.DEBUG, logging.WARNING - 10 * verbosity)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("reddplus")
    root.handlers[:] = [h for h in root.handlers if isinstance(h, logging.NullHandler)] + [handler]
    root.setLevel(level)
    # Python warnings (diagnostics such as NotEqualAreaWarning) go through logging too, so -q silences
    # them and -v shows them with the rest
    logging.captureWarnings(True)
    pyw = logging.getLogger("py.warnings")
    pyw.handlers[:] = [handler]
    pyw.setLevel(level)
    pyw.propagate = False


@contextmanager
def progress(description: str, total: int | None = None, quiet: bool = False) -> Iterator[Any]:
    """A rich progress bar on stderr; yields a ``advance(n=1)`` callable."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    console = Console(stderr=True)
    if quiet or not console.is_terminal and total is None:
        yield lambda n=1: None
        return
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n=1: bar.advance(task, n)


def run_tool(fn, *args, **kwargs):
    """Call a library tool, translating reddplus errors into click errors (exit code per class)."""
    try:
        return fn(*args, **kwargs)
    except ReddplusError as err:
        raise CliError(err) from err


class CliError(click.ClickException):
    def __init__(self, err: ReddplusError):
        super().__init__(str(err))
        self.exit_code = getattr(err, "exit_code", 1)
        self.original = err


class InterruptedCli(click.ClickException):
    """A command stopped by a signal: exit ``128 + signum`` (130 Ctrl-C, 143 SIGTERM)."""

    def __init__(self, err: RunInterrupted):
        super().__init__(f"{err}: stopped; outputs not yet published were removed (pid {os.getpid()})")
        self.exit_code = err.exit_code
        self.original = err
