"""One error hierarchy for reddplus.

Library code raises these; the CLI translates them to exit codes and the registry
service to HTTP statuses, only at the boundary (``raise ... from err``).
"""

from __future__ import annotations


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
    """An output exists and ``overwrite`` was not requested."""

    exit_code = 3


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
    """Root of reddplus warnings (diagnostics breaching a tolerance)."""


class NotEqualAreaWarning(ReddplusWarning):
    """The raster CRS is projected in metres but not equal-area: pixel areas are approximate."""


class ToleranceWarning(ReddplusWarning):
    """A returned diagnostic exceeds its tolerance (allocation error, balance SMD, ...)."""


class MissingClassWarning(ReddplusWarning):
    """A vulnerability class present in a prediction map had no forest in the fit; its density was filled."""


class ConvergenceWarning(ReddplusWarning):
    """An iterative estimate (e.g. UDef-ARP's adjustment ratio) stopped at its iteration limit."""


class ReddplusDeprecationWarning(DeprecationWarning):
    """Deprecated reddplus API."""
