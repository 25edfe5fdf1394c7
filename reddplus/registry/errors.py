"""Registry errors: subclasses of :class:`reddplus.errors.LedgerError`, each with its
machine-readable ``code`` and HTTP status (translated only in the API exception handler)."""

from __future__ import annotations

from reddplus.errors import (  # noqa: F401  (re-exported)
    InsufficientQuantityError,
    LedgerError,
    LedgerInvariantError,
    NotFoundError,
    PermissionDeniedError,
)


class InvalidInputError(LedgerError):
    """A request is well-formed JSON but semantically invalid (dates, percentages...)."""

    code = "invalid_input"
    http_status = 422


class MalformedSerialError(InvalidInputError):
    code = "malformed_serial"


class InvalidBufferPercentError(InvalidInputError):
    code = "invalid_buffer_percent"


class OverlappingPeriodError(LedgerError):
    code = "overlapping_monitoring_period"
    http_status = 409


class ExceedsVerifiedError(LedgerError):
    code = "exceeds_verified"
    http_status = 409


class BlockStateError(LedgerError):
    """The block is retired, cancelled or superseded (retired and cancelled are terminal)."""

    code = "block_not_active"
    http_status = 409


class AuthenticationError(LedgerError):
    code = "unauthorized"
    http_status = 401


class IdempotencyInProgressError(LedgerError):
    code = "idempotency_in_progress"
    http_status = 409


class IdempotencyMismatchError(LedgerError):
    code = "idempotency_key_reused"
    http_status = 422


class JournalTamperedError(LedgerInvariantError):
    code = "journal_tampered"


class BufferPoolError(LedgerError):
    """Buffer-pool credits leave the pool only by cancellation in a reversal."""

    code = "buffer_pool_locked"
    http_status = 409


class LabelNotCoveredError(LedgerError):
    """A CCB label needs a CCB verification record whose period covers the vintage."""

    code = "no_covering_ccb_verification"
    http_status = 409


class RateLimitedError(LedgerError):
    """Too many failed authentications; ``retry_after`` [s] is when the window lets the client in again."""

    code = "rate_limited"
    http_status = 429

    def __init__(self, message: str, *, retry_after: int = 60, code: str | None = None):
        self.retry_after = retry_after
        super().__init__(message, code=code)


class CsrfError(LedgerError):
    code = "csrf_failed"
    http_status = 403


class ImportFormatError(InvalidInputError):
    """A registry export in an unexpected shape (the message names what was expected)."""

    code = "import_format"
