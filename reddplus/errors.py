"""One error hierarchy for reddplus.

Library code raises these; the CLI translates them to exit codes and the registry
service to HTTP statuses, only at the boundary (``raise ... from err``).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator


def validation_message(error: dict) -> str:
    """One pydantic validation error (an item of ``ValidationError.errors()``) in words: "unknown key"
    for a key the schema does not know, otherwise pydantic's message without its "Value error, " or
    "Assertion failed, " prefix (which only says how the check was written)."""
    if error.get("type") == "extra_forbidden":
        return "unknown key"
    msg = str(error.get("msg", ""))
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            return msg[len(prefix):]
    return msg


class ReddplusError(Exception):
    """Root of every error raised on purpose by reddplus."""

    #: exit code used by the command line for this family of errors
    exit_code: int = 1


class InputDataError(ReddplusError, ValueError):
    """Input data are missing, malformed or implausible.

    ``row`` and ``column`` name the offending place when known (1-based data row
    as a user sees it in a spreadsheet, excluding the header).
    """

    exit_code = 2

    def __init__(self, message: str, *, row: int | None = None, column: str | None = None,
                 path: str | None = None):
        self.row = row
        self.column = column
        self.path = path
        where = []
        if path is not None:
            where.append(f"file {path}")
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{message} ({', '.join(where)})" if where else message)


class ConfigError(InputDataError):
    """A project configuration is invalid; ``key`` names the config key."""

    def __init__(self, message: str, *, key: str | None = None, path: str | None = None):
        self.key = key
        super().__init__(f"{key}: {message}" if key else message, path=path)


class CRSError(InputDataError):
    """A raster or vector has no CRS, a geographic CRS, or units other than metres."""


class GridMismatchError(InputDataError):
    """Rasters that must share a grid (CRS, transform, shape) do not."""


class ZoneError(InputDataError):
    """A zone layer is empty, invalid or does not overlap the raster / jurisdiction."""


class ModelError(ReddplusError):
    """A model cannot be fitted or applied (no data, no convergence, threshold not reached)."""


class SearchDistanceError(ModelError):
    """The VT0007 NRT is not reached within the search distance (VT0007 v1.0 section 5.1 step 2).

    ``searched_m`` is the distance tried [m]; ``needed_m`` is the smallest search distance that
    reaches the NRT [m] when the distances beyond the search distance are known (exact distances),
    else ``None`` (the caller may retry with a larger one).
    """

    def __init__(self, message: str, *, searched_m: float, needed_m: float | None = None):
        self.searched_m = float(searched_m)
        self.needed_m = None if needed_m is None else float(needed_m)
        super().__init__(message)


class OutputExistsError(ReddplusError):
    """An output exists and ``overwrite`` was not requested (or it appeared while a run was writing it)."""

    exit_code = 3


class OutputLockedError(OutputExistsError):
    """Another run holds the lock of the same output (``.NAME.lock`` beside it)."""


class OutputLocationError(ReddplusError):
    """An output would be written where it could destroy an input (the input's folder, or around it)."""

    exit_code = 3


class StorageFullError(ReddplusError):
    """An output could not be written: the device holding it is full (nothing was published)."""

    exit_code = 4


class RunInterrupted(KeyboardInterrupt):
    """A run was stopped by a signal (SIGINT or SIGTERM); nothing not yet published is published.

    A ``KeyboardInterrupt`` (not an ``Exception``), so ``except Exception`` blocks never swallow it;
    the command line exits with ``128 + signum`` (130 for Ctrl-C, 143 for SIGTERM).
    """

    def __init__(self, signum: int):
        import signal

        self.signum = int(signum)
        try:
            self.signame = signal.Signals(self.signum).name
        except ValueError:
            self.signame = f"signal {self.signum}"
        super().__init__(f"interrupted by {self.signame}")

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class LedgerError(ReddplusError):
    """Registry domain error; ``code`` is the machine-readable error code."""

    code: str = "ledger_error"
    http_status: int = 400

    def __init__(self, message: str, *, code: str | None = None):
        if code is not None:
            self.code = code
        super().__init__(message)


class InsufficientQuantityError(LedgerError):
    code = "insufficient_quantity"
    http_status = 409


class NotFoundError(LedgerError):
    code = "not_found"
    http_status = 404


class PermissionDeniedError(LedgerError):
    code = "forbidden"
    http_status = 403


class LedgerInvariantError(LedgerError):
    """An invariant of the registry ledger is (or would be) violated."""

    code = "invariant_violation"
    http_status = 409


class ReddplusWarning(UserWarning):
    """Root of reddplus warnings (diagnostics breaching a tolerance).

    Every instance is also handed to the active :func:`collect_warnings` collectors when it is
    created. ``warnings.warn(message, category)`` creates the instance before it consults the
    filters (CPython's C and Python implementations alike), so a reddplus warning is collected
    whatever state the process-wide ``warnings`` filters and ``showwarning`` hook are in.
    """

    def __init__(self, *args):
        super().__init__(*args)
        _deliver(self)


class NotEqualAreaWarning(ReddplusWarning):
    """The raster CRS is projected in metres but not equal-area: pixel areas are approximate."""


class ToleranceWarning(ReddplusWarning):
    """A returned diagnostic exceeds its tolerance (allocation error, balance SMD, ...)."""


class MissingClassWarning(ReddplusWarning):
    """A vulnerability class present in a prediction map had no forest in the fit; its density was filled."""


class ConvergenceWarning(ReddplusWarning):
    """An iterative estimate (e.g. UDef-ARP's adjustment ratio) stopped at its iteration limit."""


class ProjectionWarning(ReddplusWarning):
    """A figure is an ex-ante projection beyond what its input covers (e.g. years after an allocated map's)."""


class ReddplusDeprecationWarning(DeprecationWarning):
    """Deprecated reddplus API."""


# ------------------------------------------------------------------------------ warning collection
_collectors_lock = threading.Lock()
_collectors: list["WarningLog"] = []


class WarningLog:
    """The reddplus warnings raised, in any thread, while a :func:`collect_warnings` block was open."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[ReddplusWarning] = []

    def _add(self, w: ReddplusWarning) -> None:
        with self._lock:
            self._items.append(w)

    @property
    def warnings(self) -> list[ReddplusWarning]:
        """The warning instances in the order they were raised."""
        with self._lock:
            return list(self._items)

    def messages(self) -> list[str]:
        """Distinct messages, in the order first raised (repeats from many blocks collapse)."""
        return list(dict.fromkeys(str(w) for w in self.warnings))

    def __len__(self) -> int:
        return len(self.warnings)

    def __iter__(self):
        return iter(self.warnings)


def _deliver(w: ReddplusWarning) -> None:
    with _collectors_lock:
        targets = list(_collectors)
    for log in targets:
        log._add(w)


@contextmanager
def collect_warnings() -> Iterator[WarningLog]:
    """Collect every :class:`ReddplusWarning` raised while the block runs, in any thread.

    Thread-safe where ``warnings.catch_warnings(record=True)`` is not: that context manager swaps
    the process-wide filters and ``showwarning`` hook, so when block threads (or the libraries
    they call: numba, rasterio...) enter and leave their own ``catch_warnings`` in an interleaved
    order, the main thread's recorder is replaced and warnings are lost. This collector does not
    touch the ``warnings`` state at all: each reddplus warning is delivered here when it is
    created (see :class:`ReddplusWarning`), and the usual display (``logging.captureWarnings``
    on the command line) is left as it is.

    Collectors are process-wide: two collectors open at once (in two threads) both receive every
    warning raised meanwhile.

    Examples
    --------
    >>> import warnings
    >>> with collect_warnings() as caught:
    ...     warnings.warn("3.1% of pixels at the cap", ToleranceWarning)  # doctest: +SKIP
    >>> caught.messages()                                                  # doctest: +SKIP
    ['3.1% of pixels at the cap']
    """
    log = WarningLog()
    with _collectors_lock:
        _collectors.append(log)
    try:
        yield log
    finally:
        with _collectors_lock:
            _collectors.remove(log)
