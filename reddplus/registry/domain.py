"""The registry's pure domain: who may do what, what a valid request is, and the *plans* of the
writes (spend, split, reversal, issuance). No database, no HTTP.

A plan is a frozen value computed from the rows a use case has locked; the repository's writers
(:mod:`reddplus.registry.repository`) only carry a plan out. Every rule that decides whether a
write is allowed lives here, so the PostgreSQL and SQLite writers cannot disagree.

Units: quantities and serials are integer credits (1 credit = 1 serial = 1 tCO2e).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Any, Iterable, Sequence

from reddplus.registry.errors import (AuthenticationError, BlockStateError, BufferPoolError, InsufficientQuantityError,
                                      InvalidBufferPercentError, InvalidInputError, PermissionDeniedError)

#: largest database id (ids are 32-bit integer columns)
MAX_ID = 2**31 - 1
#: hard bound on any quantity [tCO2e] in any request (far above any real issuance; keeps serials < 2^63)
MAX_QUANTITY = 10**12
#: serial numbers are 64-bit integers; an issuance may not push the counter beyond this
MAX_SERIAL = 2**62
#: the buffer pool's name is reserved (compared after NFKC, case folding and removing spaces)
RESERVED_ACCOUNT_NAMES = frozenset({"bufferpool", "system"})
BLOCK_KINDS = ("transfer", "split", "retire", "cancel")
LABELS = ("CCB",)


@dataclass(frozen=True)
class Principal:
    """Who calls: ``role`` is admin, holder or public; holders carry their ``account_id``."""

    role: str
    account_id: int | None = None
    token_id: int | None = None

    @property
    def key(self) -> str:
        """Namespace of this caller's idempotency keys."""
        return f"token:{self.token_id}" if self.token_id is not None else f"{self.role}"


PUBLIC = Principal("public")
#: the operator acting from the command line, the crediting chain or tests (not an HTTP token)
OPERATOR = Principal("admin")


# ---------------------------------------------------------------------------------- authorisation
def require_authenticated(p: Principal) -> None:
    if p.role == "public":
        raise AuthenticationError("a bearer token is required")


def require_admin(p: Principal) -> None:
    """Only the registry operator (admin) may create reference data, issue and record reversals."""
    require_authenticated(p)
    if p.role != "admin":
        raise PermissionDeniedError("only the registry operator (admin) may do this")


def require_owner(p: Principal, account_id: int) -> None:
    """A holder acts only on its own account; the admin on every account."""
    require_authenticated(p)
    if p.role != "admin" and p.account_id != account_id:
        raise PermissionDeniedError("account holders act only on their own accounts")


# ---------------------------------------------------------------------------------- validation
def check_int(value: Any, name: str, *, minimum: int = 1, maximum: int = MAX_QUANTITY) -> int:
    """A strict integer (never a bool, float or string) in ``minimum..maximum``, else 422."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(f"{name} must be an integer, got {value!r}")
    if not minimum <= value <= maximum:
        raise InvalidInputError(f"{name} must lie in {minimum}..{maximum}, got {value}")
    return value


def check_quantity(value: Any, name: str = "quantity", maximum: int = MAX_QUANTITY) -> int:
    """A positive number of credits [tCO2e], bounded by ``maximum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidInputError(f"{name} must be a positive integer number of credits, got {value!r}")
    if value > maximum:
        raise InvalidInputError(f"{name} must be at most {maximum}, got {value}")
    return value


def check_id(value: Any, name: str) -> int:
    return check_int(value, name, minimum=1, maximum=MAX_ID)


def check_text(value: Any, name: str, *, max_length: int, required: bool = True) -> str | None:
    """Free text: no control, format (bidirectional overrides, zero-width) or unassigned characters.

    Newlines are refused too (names, reasons and beneficiaries are one line); ``details`` may keep
    line breaks by calling with ``multiline=True`` through :func:`check_details`.
    """
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise InvalidInputError(f"{name} must be a string")
    if required and not value.strip():
        raise InvalidInputError(f"{name} must not be empty")
    if len(value) > max_length:
        raise InvalidInputError(f"{name} has {len(value)} characters; at most {max_length}")
    _refuse_controls(value, name, allow="")
    return value


def check_details(value: str | None, name: str = "details", max_length: int = 5000) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > max_length:
        raise InvalidInputError(f"{name} must be a string of at most {max_length} characters")
    _refuse_controls(value, name, allow="\n\t")
    return value


def _refuse_controls(value: str, name: str, allow: str) -> None:
    for i, ch in enumerate(value):
        if ch in allow:
            continue
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            raise InvalidInputError(f"{name} contains the control or formatting character U+{ord(ch):04X} "
                                    f"at position {i}")


def fold_name(name: str) -> str:
    """A name for comparison: NFKC, case-folded, NFKC again (Unicode compatibility caseless matching,
    Unicode Standard section 3.13, D146), with all white space removed; fullwidth, ligature and
    non-breaking-space variants fold to the plain name."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    return "".join(folded.split())


def check_account_name(name: Any) -> str:
    """A holding account's name: one line of printable text, not a reserved name ("buffer pool"), compared
    after :func:`fold_name`."""
    check_text(name, "account name", max_length=200)
    folded = fold_name(name)
    if folded in RESERVED_ACCOUNT_NAMES:
        raise InvalidInputError(f"account name {name!r} is reserved", code="reserved_name")
    return name


def check_country(code: Any) -> str:
    """ISO 3166-1 alpha-2 code (upper-cased), validated against pycountry's list.

    ``XX`` (an ISO 3166-1 user-assigned code) stands for "not stated".
    """
    import pycountry

    if not isinstance(code, str):
        raise InvalidInputError(f"country must be an ISO 3166-1 alpha-2 code, got {code!r}")
    c = code.strip().upper()
    if c == "XX":
        return c
    if len(c) != 2 or not c.isascii() or not c.isalpha() or pycountry.countries.get(alpha_2=c) is None:
        raise InvalidInputError(f"country must be an ISO 3166-1 alpha-2 code, got {code!r}", code="invalid_country")
    return c


def check_buffer_percent(value: Any) -> Decimal:
    """The buffer percentage [%] in 0..100: an int or float (never a bool or a string)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise InvalidBufferPercentError(f"buffer_percent must be a number, got {value!r}")
    try:
        pct = Decimal(str(value))
    except (InvalidOperation, ValueError) as err:
        raise InvalidBufferPercentError(f"buffer_percent must be a number, got {value!r}") from err
    if not pct.is_finite() or pct < 0 or pct > 100:
        raise InvalidBufferPercentError(f"buffer_percent must lie in 0..100, got {value!r}")
    return pct


def check_sha256(value: str | None, name: str = "manifest_sha256") -> str | None:
    if value is not None and (not isinstance(value, str) or len(value) != 64 or
                              any(c not in "0123456789abcdef" for c in value)):
        raise InvalidInputError(f"{name} must be 64 lower-case hex digits")
    return value


def check_period(start: dt.date, end: dt.date, what: str = "period") -> None:
    if end < start:
        raise InvalidInputError(f"{what} ends before it starts")


def buffer_quantity(quantity: int, buffer_percent: Decimal) -> int:
    """Credits withheld for the non-permanence buffer pool, rounded up (conservative) [tCO2e].

    .. math:: q_{buffer} = \\lceil q \\cdot p / 100 \\rceil

    VCS AFOLU Non-Permanence Risk Tool v4.2, section 2 (buffer credits are a percentage of the
    net change in carbon stocks; rounding up keeps the holder block from exceeding it).
    """
    return int((Decimal(quantity) * buffer_percent / 100).to_integral_value(rounding=ROUND_CEILING))


# ---------------------------------------------------------------------------------- plans
@dataclass(frozen=True)
class BlockRow:
    """A locked block and what the serial of its view needs (its issuance and project)."""

    id: int
    issuance_id: int
    serial_start: int
    serial_end: int
    status: str
    account_id: int
    parent_id: int | None
    project_id: int
    country: str
    vintage_start: dt.date
    vintage_end: dt.date
    labels: tuple[str, ...] = ()

    @property
    def quantity(self) -> int:
        return self.serial_end - self.serial_start + 1

    def row(self) -> dict:
        """The block's journal row."""
        return {"id": self.id, "issuance_id": self.issuance_id, "serial_start": self.serial_start,
                "serial_end": self.serial_end, "status": self.status, "account_id": self.account_id,
                "parent_id": self.parent_id}


@dataclass(frozen=True)
class NewBlock:
    """A block a plan creates (its id comes from the database)."""

    serial_start: int
    serial_end: int
    status: str
    account_id: int

    @property
    def quantity(self) -> int:
        return self.serial_end - self.serial_start + 1


@dataclass(frozen=True)
class SpendPlan:
    """Move the first ``quantity`` serials of ``block`` to ``status`` in ``account_id``.

    ``head``/``tail`` are the two children of a partial spend (``None`` when the whole block moves).
    """

    kind: str
    block: BlockRow
    quantity: int
    status: str
    account_id: int
    head: NewBlock | None = None
    tail: NewBlock | None = None

    @property
    def partial(self) -> bool:
        return self.head is not None


_NEW_STATUS = {"transfer": "active", "split": "active", "retire": "retired", "cancel": "cancelled"}


def check_block_active(b: BlockRow, quantity: int) -> None:
    """Retired and cancelled blocks are terminal; a superseded block was split (invariant 3)."""
    if b.status == "retired":
        raise BlockStateError(f"block {b.id} is already retired", code="already_retired")
    if b.status == "cancelled":
        raise BlockStateError(f"block {b.id} is cancelled", code="already_cancelled")
    if b.status == "superseded":
        raise BlockStateError(f"block {b.id} was split; use its current blocks", code="block_superseded")
    if quantity > b.quantity:
        raise InsufficientQuantityError(f"block {b.id} holds {b.quantity} credits, {quantity} requested")


def plan_spend(p: Principal, kind: str, block: BlockRow, quantity: int, *, buffer_account_id: int,
               to_account_id: int | None = None, to_account_kind: str | None = None) -> SpendPlan:
    """Plan a transfer, split, retirement or cancellation of a locked block.

    Rules: the caller owns the block (or is the admin); the block is active and holds
    ``quantity``; buffer-pool credits never move (they leave only by cancellation in a
    reversal, :func:`plan_reversal`); a transfer goes to another holding account; a split keeps
    fewer than all credits in the head.
    """
    if kind not in _NEW_STATUS:
        raise InvalidInputError(f"unknown block operation {kind!r}")
    require_owner(p, block.account_id)
    check_block_active(block, quantity)
    if block.account_id == buffer_account_id:
        raise BufferPoolError(f"block {block.id} is in the buffer pool; buffer credits leave only by "
                              "cancellation in a reversal")
    target = block.account_id
    if kind == "transfer":
        if to_account_kind is None:
            from reddplus.registry.errors import NotFoundError
            raise NotFoundError(f"account {to_account_id} not found")
        if to_account_kind != "holding":
            raise InvalidInputError(f"account {to_account_id} is a {to_account_kind} account; "
                                    "transfer to a holding account")
        if to_account_id == block.account_id:
            raise InvalidInputError("the block is already in that account")
        target = to_account_id
    if kind == "split" and quantity == block.quantity:
        raise InvalidInputError(f"a split needs a quantity below the block's {block.quantity}")
    return _take(kind, block, quantity, _NEW_STATUS[kind], target)


def _take(kind: str, block: BlockRow, quantity: int, status: str, account_id: int) -> SpendPlan:
    """Move the first ``quantity`` serials of ``block`` to (status, account), splitting when partial."""
    if quantity == block.quantity:
        return SpendPlan(kind, block, quantity, status, account_id)
    head = NewBlock(block.serial_start, block.serial_start + quantity - 1, status, account_id)
    tail = NewBlock(block.serial_start + quantity, block.serial_end, "active", block.account_id)
    if head.quantity + tail.quantity != block.quantity:   # invariant 1, locally
        raise AssertionError("split does not conserve the block")
    return SpendPlan(kind, block, quantity, status, account_id, head, tail)


@dataclass(frozen=True)
class ReversalPlan:
    """Cancel ``quantity`` buffer credits: the (block, credits) pairs in serial order."""

    quantity: int
    takes: tuple[tuple[BlockRow, int], ...]

    def spends(self) -> list[SpendPlan]:
        """One cancellation plan per buffer block touched (the only way buffer credits leave the pool)."""
        return [_take("cancel", b, q, "cancelled", b.account_id) for b, q in self.takes]


def plan_reversal(buffer_blocks: Sequence[BlockRow], quantity: int, project_id: int) -> ReversalPlan:
    """Cancel ``quantity`` [tCO2e] from the project's active buffer blocks, lowest serials first.

    VCS Standard v4.5 section 3.2.26 and the AFOLU Non-Permanence Risk Tool: a reversal (loss of
    carbon after issuance) is compensated by cancelling buffer credits; never more than the pool
    holds for the project.
    """
    held = sum(b.quantity for b in buffer_blocks)
    if quantity > held:
        raise InsufficientQuantityError(f"the buffer pool holds {held} credits of project {project_id}; "
                                        f"a reversal of {quantity} exceeds it")
    takes, left = [], quantity
    for b in sorted(buffer_blocks, key=lambda x: x.serial_start):
        if left == 0:
            break
        q = min(left, b.quantity)
        takes.append((b, q))
        left -= q
    return ReversalPlan(quantity, tuple(takes))


@dataclass(frozen=True)
class IssuancePlan:
    """Serials ``first..last``; the holder block first, the buffer block at the end of the range."""

    first: int
    quantity: int
    buffer_quantity: int
    buffer_percent: Decimal

    @property
    def last(self) -> int:
        return self.first + self.quantity - 1

    @property
    def holder(self) -> tuple[int, int] | None:
        n = self.quantity - self.buffer_quantity
        return (self.first, self.first + n - 1) if n > 0 else None

    @property
    def buffer(self) -> tuple[int, int] | None:
        return (self.last - self.buffer_quantity + 1, self.last) if self.buffer_quantity > 0 else None


def plan_issuance(next_serial: int, quantity: int, buffer_percent: Decimal) -> IssuancePlan:
    """Allocate ``quantity`` serials from the registry counter and withhold the buffer share."""
    if next_serial + quantity > MAX_SERIAL:
        raise InvalidInputError(f"issuing {quantity} would exhaust the serial numbers (counter at {next_serial})",
                                code="serials_exhausted")
    return IssuancePlan(next_serial, quantity, buffer_quantity(quantity, buffer_percent), buffer_percent)


def check_monitoring_cap(verified: int, issued: int, quantity: int, period_id: int) -> None:
    """Issued credits never exceed the verified quantity of the monitoring period (invariant 4).

    ``issued`` is the total already issued for the period: the issuances linked to it and the
    unverified issuances of the project whose vintage overlaps it.
    """
    from reddplus.registry.errors import ExceedsVerifiedError

    if issued + quantity > verified:
        raise ExceedsVerifiedError(f"issuing {quantity} would exceed the verified {verified} "
                                   f"(already issued {issued}) of monitoring period {period_id}")


def check_unverified_total(issued: int, quantity: int, maximum: int, project_id: int, vintage_start: dt.date,
                           vintage_end: dt.date) -> None:
    """Credits issued without a verified monitoring period, in total over the project's issuances whose
    vintage overlaps this one, never exceed ``maximum`` [tCO2e] (the bound holds in total, not per request)."""
    from reddplus.registry.errors import ExceedsVerifiedError

    if issued + quantity > maximum:
        raise ExceedsVerifiedError(f"issuing {quantity} would bring the credits of project {project_id} issued "
                                   f"without a verified monitoring period for vintages overlapping "
                                   f"{vintage_start}..{vintage_end} to {issued + quantity}, above the maximum "
                                   f"{maximum} (already issued {issued})")


def check_vintage_ended(vintage_end: dt.date, today: dt.date) -> None:
    """Credits are issued ex post, for verified reductions that have occurred: a vintage ends no later
    than today (the VCS Standard v4.5 issues VCUs for verified emission reductions; the clause was not
    read here, so this is the registry's own rule, with no forward issuance)."""
    if vintage_end > today:
        raise InvalidInputError(f"the vintage ends on {vintage_end}, after today ({today}); credits are issued "
                                "only for vintages that have ended")


# ---------------------------------------------------------------------------------- labels
@dataclass(frozen=True)
class CcbVerification:
    period_start: dt.date
    period_end: dt.date
    outcome: str
    gold_levels: tuple[str, ...]


GOLD_LEVELS = ("GL1", "GL2", "GL3")


def check_ccb_outcome(outcome: Any, gold_levels: Any) -> tuple[str, tuple[str, ...]]:
    """CCB v3.1 validation/verification outcome: APPROVED, or GOLD with the Gold Levels GL1..GL3 named."""
    if outcome not in ("APPROVED", "GOLD"):
        raise InvalidInputError(f"outcome must be APPROVED or GOLD, got {outcome!r}")
    levels = tuple(gold_levels or ())
    if any(lv not in GOLD_LEVELS for lv in levels) or len(set(levels)) != len(levels):
        raise InvalidInputError(f"gold_levels must be distinct values of {', '.join(GOLD_LEVELS)}, got {levels!r}")
    if outcome == "GOLD" and not levels:
        raise InvalidInputError("a GOLD outcome names its Gold Levels (GL1..GL3)")
    if outcome == "APPROVED" and levels:
        raise InvalidInputError("Gold Levels go with a GOLD outcome only")
    return outcome, tuple(sorted(levels))


def check_ccb_verification_date(date: dt.date, period_end: dt.date) -> None:
    """A CCB verification assesses a monitoring period that has ended: it is dated no earlier than the
    period's last day (CCB Program Rules v3.1, verification of the project's implementation over a
    monitoring period)."""
    if date < period_end:
        raise InvalidInputError(f"the CCB verification is dated {date}, before the end ({period_end}) of the "
                                "period it covers")


def covering_verification(verifications: Iterable[CcbVerification], vintage_start: dt.date,
                          vintage_end: dt.date) -> CcbVerification | None:
    """The CCB verification whose period covers the whole vintage (CCB v3.1: the label applies to VCUs
    of vintages inside a verified period), or ``None``."""
    for v in verifications:
        if v.period_start <= vintage_start and vintage_end <= v.period_end:
            return v
    return None
