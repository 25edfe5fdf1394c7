"""Options and helpers shared by every ``reddplus`` command (the only place that defines them).

Conventions (after rasterio's ``rio``):

* ``-v/-q`` set logging verbosity on stderr;
* ``--json`` prints one machine-readable JSON document on stdout;
* outputs are never overwritten without ``--overwrite``;
* progress goes to stderr: rich bars on a terminal, plain lines otherwise (:class:`Progress`).
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


#: the forest-change conventions (reddplus.landcover.FORMATS, kept here so ``--help`` imports nothing heavy)
FOREST_CHANGE_FORMATS = ("fcc123", "masks", "hansen", "tmf")


def forest_change_options(*, format_required: bool = False, canopy: bool = True, mmu: bool = True,
                          dates_help: str | None = None):
    """The FOREST_CHANGE argument and its ``--format`` and ``--dates`` options, with ``--canopy-threshold`` and
    ``--mmu-ha`` (Hansen) where the command reads them: shared by every command that reads a forest change."""
    fmt = (dict(required=True) if format_required else dict(default="fcc123", show_default=True))
    decorators = [
        click.argument("forest_change", nargs=-1, required=True, type=click.Path(dir_okay=False)),
        click.option("--format", "fmt", type=click.Choice(list(FOREST_CHANGE_FORMATS)), **fmt,
                     help="Convention of FOREST_CHANGE (hansen: TREECOVER2000 LOSSYEAR [DATAMASK]; masks: one per "
                          "date)."),
        click.option("--dates", default=None, metavar="Y1,Y2,...",
                     help=dates_help or "Years of the forest-change dates."),
    ]
    if canopy:
        decorators.append(click.option("--canopy-threshold", type=float, default=30.0, show_default=True,
                                       help="hansen: forest in 2000 where treecover2000 >= this [%]."))
    if mmu:
        decorators.append(click.option("--mmu-ha", type=float, default=None,
                                       help="hansen: minimum mapping unit of loss patches [ha]."))

    def apply(fn):
        for d in reversed(decorators):
            fn = d(fn)
        return fn
    return apply


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
    library swallows the ``KeyboardInterrupt``. When the signal lands where Python cannot raise (a
    weakref or ``__del__`` callback), the interpreter would print ``Exception ignored in ...`` with a
    traceback; an unraisable-exception hook drops that report for :class:`RunInterrupted` alone, as
    the recorded signal stops the run at its next check anyway. The previous handlers and hook are
    restored on exit. Outside the main thread (no signals there) it does nothing."""
    from reddplus.outputs import clear_interrupt, request_interrupt

    clear_interrupt()
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        request_interrupt(signum)
        raise RunInterrupted(signum)

    previous_hook = sys.unraisablehook

    def unraisable(info):
        if not isinstance(info.exc_value, RunInterrupted):
            previous_hook(info)

    old = {}
    for s in (signal.SIGINT, signal.SIGTERM):
        old[s] = signal.signal(s, handler)
    sys.unraisablehook = unraisable
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        sys.unraisablehook = previous_hook


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


class Progress:
    """Progress of one long command on stderr: ``advance(n)`` counts done items (blocks, draws...),
    ``step(text)`` names the stage now running; calling the object is ``advance``.

    On a terminal it is a rich display (a bar with a count and the remaining time when the total is
    known, else a spinner with the elapsed time; each finished step stays as a line with its
    duration). Otherwise (a file, a pipe, CI) it writes plain lines: each step, and the count every
    10 % of the total, so a log shows where a run is without control characters. ``quiet`` shows
    nothing.
    """

    def __init__(self, description: str, total: int | None = None, *, quiet: bool = False, stream=None,
                 terminal: bool | None = None):
        import time

        self.description = description
        self.total = total
        self.quiet = quiet
        self.stream = stream if stream is not None else sys.stderr
        self.terminal = bool(terminal if terminal is not None else getattr(self.stream, "isatty", lambda: False)())
        self.done = 0
        self._t0 = time.perf_counter()
        self._step: tuple[str, float] | None = None
        self._shown = 0
        self._bar = None
        self._task = None

    # --------------------------------------------------------------------------------------------
    def __enter__(self) -> "Progress":
        if self.quiet:
            return self
        if self.terminal:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress as RichProgress, SpinnerColumn,
                                       TextColumn, TimeElapsedColumn, TimeRemainingColumn)

            console = Console(file=self.stream, force_terminal=True)
            columns = [SpinnerColumn(), TextColumn("[bold]{task.description}")]
            if self.total is not None:
                columns += [BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
            columns.append(TimeElapsedColumn())
            self._bar = RichProgress(*columns, console=console, transient=True)
            self._bar.start()
            self._task = self._bar.add_task(self.description, total=self.total)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(ok=exc_type is None)

    def __call__(self, n: int = 1) -> None:
        self.advance(n)

    def advance(self, n: int = 1) -> None:
        """``n`` more items done."""
        self.done += n
        if self.quiet:
            return
        if self._bar is not None:
            self._bar.advance(self._task, n)
        elif self.total:
            tenth = min(10, self.done * 10 // self.total)
            if tenth > self._shown:
                self._shown = tenth
                self._line(f"{self.description}: {self.done}/{self.total} ({100 * self.done // self.total} %)")

    def step(self, text: str) -> None:
        """A new stage ``text`` starts (the previous one is finished)."""
        import time

        if self.quiet:
            return
        self._finish_step()
        self._step = (text, time.perf_counter())
        if self._bar is not None:
            self._bar.update(self._task, description=f"{self.description}: {text}")
        else:
            self._line(f"{self.description}: {text}")

    def close(self, ok: bool = True) -> None:
        """Stop the display (idempotent); a terminal keeps the last step's line when ``ok``."""
        import time

        if self.quiet:
            return
        if ok:
            self._finish_step()
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
            if ok and self._step is None and self.total is not None:
                self._line(f"{self.description}: {self.done}/{self.total} in {time.perf_counter() - self._t0:.1f} s")
        self._step = None

    # --------------------------------------------------------------------------------------------
    def _finish_step(self) -> None:
        import time

        if self._step is not None and self._bar is not None:
            text, t = self._step
            self._bar.console.print(f"[green]✓[/green] {text} [dim]({time.perf_counter() - t:.1f} s)[/dim]",
                                    highlight=False)
        self._step = None

    def _line(self, text: str) -> None:
        if self._bar is not None:
            self._bar.console.print(text, highlight=False)
        else:
            print(text, file=self.stream, flush=True)


def progress(description: str, total: int | None = None, quiet: bool = False, **kwargs) -> Progress:
    """A :class:`Progress` on stderr, used as a context manager: ``with progress("activity data", n) as
    advance: ... advance(1)``; ``advance.step("...")`` names a stage."""
    return Progress(description, total, quiet=quiet, **kwargs)


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
