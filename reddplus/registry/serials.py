"""Serial numbers of credit blocks (pure functions, no database).

A *block* holds the consecutive serials ``first..last`` (inclusive) of one issuance; its
quantity is ``last - first + 1`` credits (1 credit = 1 tCO2e). Serial numbers are allocated
from one registry-wide counter, so the ranges of two issuances never overlap.

Format (modelled on Verra's VCU serial numbers, Verra Registry "Serial number" help page,
``9544-121963040-121963139-VCS-VCU-263-VER-KH-14-1650-01012017-31122017-1``), simplified to
nine dash-separated fields::

    {issuance}-{first}-{last}-{program}-{unit_type}-{country}-{project}-{vintage_start}-{vintage_end}

=============  ===============================================  ===========
field          meaning                                          pattern
=============  ===============================================  ===========
issuance       issuance (batch) number                          ``[0-9]+``
first, last    first and last serial of the block (inclusive)   ``[0-9]+``
program        crediting program code                           ``[A-Z0-9]{2,8}``
unit_type      unit type (``VCU``)                              ``[A-Z]{2,6}``
country        ISO 3166-1 alpha-2 code of the host country      ``[A-Z]{2}``
project        registry project id                              ``[0-9]+``
vintage_start  first day of the vintage, ``DDMMYYYY``           ``[0-9]{8}``
vintage_end    last day of the vintage, ``DDMMYYYY``            ``[0-9]{8}``
=============  ===============================================  ===========

Example: ``12-1000001-1000900-RDDP-VCU-BR-7-01012020-31122020`` is 900 credits of issuance 12,
project 7 in Brazil, vintage 2020.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from reddplus.registry.errors import MalformedSerialError

#: largest issuance or project number (ids are 32-bit integer columns)
MAX_SERIAL_ID = 2**31 - 1
#: largest serial number (serials are 64-bit signed integer columns)
MAX_SERIAL_NUMBER = 2**63 - 1

_SERIAL_RE = re.compile(
    r"^(?P<issuance>[0-9]+)-(?P<first>[0-9]+)-(?P<last>[0-9]+)-(?P<program>[A-Z0-9]{2,8})-"
    r"(?P<unit_type>[A-Z]{2,6})-(?P<country>[A-Z]{2})-(?P<project>[0-9]+)-"
    r"(?P<vintage_start>[0-9]{8})-(?P<vintage_end>[0-9]{8})$"
)


@dataclass(frozen=True)
class Serial:
    """A parsed block serial (all fields of the format above)."""

    issuance: int
    first: int
    last: int
    program: str
    unit_type: str
    country: str
    project: int
    vintage_start: dt.date
    vintage_end: dt.date

    @property
    def quantity(self) -> int:
        """Number of credits [tCO2e] in the range."""
        return self.last - self.first + 1

    def __str__(self) -> str:
        return format_serial(self.issuance, self.first, self.last, program=self.program,
                             unit_type=self.unit_type, country=self.country, project=self.project,
                             vintage_start=self.vintage_start, vintage_end=self.vintage_end)


def _ddmmyyyy(d: dt.date) -> str:
    return d.strftime("%d%m%Y")


def format_serial(issuance: int, first: int, last: int, *, program: str, unit_type: str, country: str,
                  project: int, vintage_start: dt.date, vintage_end: dt.date) -> str:
    """Serial string of the block ``first..last`` (format in the module docstring).

    Raises
    ------
    MalformedSerialError
        when a field does not fit the format (e.g. ``last < first``, a 3-letter country).
    """
    s = (f"{issuance}-{first}-{last}-{program}-{unit_type}-{country}-{project}-"
         f"{_ddmmyyyy(vintage_start)}-{_ddmmyyyy(vintage_end)}")
    # the same rules as parse_serial (one definition of validity: the regex), without re-reading the dates
    if (_SERIAL_RE.match(s) is None or not 1 <= first <= last or vintage_end < vintage_start
            or vintage_start.year < 1000):
        parse_serial(s)   # raises MalformedSerialError naming what is wrong
        raise MalformedSerialError(f"malformed serial {s!r}")
    return s


def parse_serial(text: str) -> Serial:
    """Parse a block serial; :class:`MalformedSerialError` names what is wrong."""
    if not isinstance(text, str):
        raise MalformedSerialError(f"serial must be a string, got {type(text).__name__}")
    m = _SERIAL_RE.match(text.strip())
    if m is None:
        raise MalformedSerialError(
            f"malformed serial {text!r}: expected "
            "ISSUANCE-FIRST-LAST-PROGRAM-UNITTYPE-CC-PROJECT-DDMMYYYY-DDMMYYYY")
    g = m.groupdict()
    first, last, vs, ve = check_range_and_vintage(text, g["first"], g["last"], g["vintage_start"], g["vintage_end"])
    issuance, project = int(g["issuance"]), int(g["project"])
    for name, value in (("issuance", issuance), ("project", project)):
        if not 1 <= value <= MAX_SERIAL_ID:
            raise MalformedSerialError(f"malformed serial {text!r}: {name} must lie in 1..{MAX_SERIAL_ID}")
    return Serial(issuance, first, last, g["program"], g["unit_type"], g["country"], project, vs, ve)


def check_range_and_vintage(text: str, first: str, last: str, vintage_start: str,
                            vintage_end: str) -> tuple[int, int, dt.date, dt.date]:
    """The serial range and vintage fields of a serial string (this format's or Verra's), checked:
    ``1 <= first <= last <= 2^63 - 1`` (the serial columns' range), vintage dates ``DDMMYYYY`` that
    exist, the vintage not reversed."""
    try:
        vs = dt.datetime.strptime(vintage_start, "%d%m%Y").date()
        ve = dt.datetime.strptime(vintage_end, "%d%m%Y").date()
    except ValueError as err:
        raise MalformedSerialError(f"malformed serial {text!r}: invalid vintage date") from err
    a, b = int(first), int(last)
    if a < 1 or b < a:
        raise MalformedSerialError(f"malformed serial {text!r}: need 1 <= first <= last")
    if b > MAX_SERIAL_NUMBER:
        raise MalformedSerialError(f"malformed serial {text!r}: serial numbers lie in 1..{MAX_SERIAL_NUMBER}")
    if ve < vs:
        raise MalformedSerialError(f"malformed serial {text!r}: vintage ends before it starts")
    return a, b, vs, ve


def block_quantity(serial_start: int, serial_end: int) -> int:
    """Credits in an inclusive serial range.

    .. math:: q = s_{end} - s_{start} + 1
    """
    return serial_end - serial_start + 1


def split_range(serial_start: int, serial_end: int, quantity: int) -> tuple[tuple[int, int], tuple[int, int] | None]:
    """Split ``serial_start..serial_end`` into the first ``quantity`` serials and the rest.

    .. math:: [s, s+q-1] \\cup [s+q, e] = [s, e]

    Returns ``((s, s+q-1), (s+q, e))``, the second part ``None`` when ``quantity`` is the whole block.
    Raises ``ValueError`` unless ``1 <= quantity <= e - s + 1``.
    """
    n = block_quantity(serial_start, serial_end)
    if not 1 <= quantity <= n:
        raise ValueError(f"quantity {quantity} outside 1..{n}")
    head = (serial_start, serial_start + quantity - 1)
    tail = (serial_start + quantity, serial_end) if quantity < n else None
    return head, tail
