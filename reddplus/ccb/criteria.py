"""The CCB Standards v3.1 criteria and the validation/verification outcome rule (pure).

The Climate, Community & Biodiversity Standards (third edition, v3.1, June 2017) have 20 criteria:
17 required (General G1-G5, Climate CL1-CL4, Community CM1-CM4, Biodiversity B1-B4) and three
optional Gold Level criteria (GL1 climate change adaptation benefits, GL2 exceptional community
benefits, GL3 exceptional biodiversity benefits). A project is **APPROVED** when all required
criteria are met and **GOLD** when, in addition, at least one Gold Level criterion is met, the
levels achieved being named (CCB Standards v3.1, "CCB Standards validation & verification
levels"; CCB Program Rules v3.1, section on validation and verification).

Projects using the VCS Program for the climate section link CL1-CL4 to the VCS baseline and
monitoring (CCB Program Rules v3.1: a recognised GHG programme meets the climate section).

Sub-indicators (``CM2.1``, ``B1.2`` ...) are accepted wherever a criterion is named; only their
criterion prefix is checked, since this module does not carry the full indicator list.

References
----------
1. CCBA / Verra (2017) Climate, Community & Biodiversity Standards, Third Edition v3.1.
2. Verra (2017) CCB Program Rules v3.1, 21 June 2017.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["CRITERIA", "Criterion", "SECTIONS", "criterion_of", "outcome", "parse_criterion"]


@dataclass(frozen=True, slots=True)
class Criterion:
    """One CCB v3.1 criterion: its code, title, section and whether it is required."""

    code: str
    title: str
    section: str
    required: bool

    @property
    def gold(self) -> bool:
        return self.code.startswith("GL")


#: the 20 criteria of the CCB Standards v3.1, in the standard's order (gold levels within their section)
CRITERIA: tuple[Criterion, ...] = (
    Criterion("G1", "Project goals, design and long-term viability", "General", True),
    Criterion("G2", "Without-project land use scenario and additionality", "General", True),
    Criterion("G3", "Stakeholder engagement", "General", True),
    Criterion("G4", "Management capacity", "General", True),
    Criterion("G5", "Legal status and property rights", "General", True),
    Criterion("CL1", "Without-project climate scenario", "Climate", True),
    Criterion("CL2", "Net positive climate impacts", "Climate", True),
    Criterion("CL3", "Offsite climate impacts", "Climate", True),
    Criterion("CL4", "Climate impact monitoring", "Climate", True),
    Criterion("GL1", "Climate change adaptation benefits", "Climate", False),
    Criterion("CM1", "Without-project scenario for communities", "Community", True),
    Criterion("CM2", "Net positive community impacts", "Community", True),
    Criterion("CM3", "Offsite stakeholder impacts", "Community", True),
    Criterion("CM4", "Community impact monitoring", "Community", True),
    Criterion("GL2", "Exceptional community benefits", "Community", False),
    Criterion("B1", "Without-project biodiversity scenario", "Biodiversity", True),
    Criterion("B2", "Net positive biodiversity impacts", "Biodiversity", True),
    Criterion("B3", "Offsite biodiversity impacts", "Biodiversity", True),
    Criterion("B4", "Biodiversity impact monitoring", "Biodiversity", True),
    Criterion("GL3", "Exceptional biodiversity benefits", "Biodiversity", False),
)
SECTIONS = ("General", "Climate", "Community", "Biodiversity")
_BY_CODE = {c.code: c for c in CRITERIA}
_PATTERN = re.compile(r"^(GL[1-3]|G[1-5]|CL[1-4]|CM[1-4]|B[1-4])(\.\d+)*$")


def parse_criterion(text: str) -> str:
    """Normalise a criterion reference (``"cm2.1"`` -> ``"CM2.1"``); ``ValueError`` when unknown.

    The prefix must be one of the 20 CCB v3.1 criteria (G1-G5, CL1-CL4, CM1-CM4, B1-B4, GL1-GL3).
    """
    code = str(text).strip().upper()
    if not _PATTERN.match(code):
        raise ValueError(f"unknown CCB v3.1 criterion {text!r}; expected one of "
                         f"{', '.join(c.code for c in CRITERIA)} (optionally with a sub-indicator, e.g. CM2.1)")
    return code


def criterion_of(code: str) -> Criterion:
    """The criterion a (sub-)indicator reference belongs to (``"B1.2"`` -> B1)."""
    return _BY_CODE[parse_criterion(code).split(".")[0]]


def outcome(met: dict[str, bool]) -> tuple[str | None, tuple[str, ...]]:
    """Validation/verification level from the criteria met (CCB Standards v3.1 levels).

    .. math:: \\text{APPROVED} \\iff \\bigwedge_{c \\in \\text{required}} met_c, \\qquad
              \\text{GOLD} \\iff \\text{APPROVED} \\wedge \\exists\\, g \\in \\{GL1, GL2, GL3\\}: met_g

    Parameters
    ----------
    met : mapping criterion code -> bool
        Missing codes count as not met.

    Returns
    -------
    (level, gold_levels)
        ``("APPROVED", ())``, ``("GOLD", ("GL3",))`` or ``(None, ())`` when a required criterion is
        not met.
    """
    if not all(met.get(c.code, False) for c in CRITERIA if c.required):
        return None, ()
    gold = tuple(c.code for c in CRITERIA if c.gold and met.get(c.code, False))
    return ("GOLD", gold) if gold else ("APPROVED", ())
