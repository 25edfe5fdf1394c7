"""Non-permanence buffer: a calculator for the VCS AFOLU Non-Permanence Risk Tool (NPRT).

Every constant (factor scores, the governance-score breaks, the natural-risk LS table, the
mitigation multipliers, the 10 % minimum and the 60 % failure threshold) lives in one data file,
``nprt_v4_0.toml`` beside this module, so a new tool version is a data change
(:func:`load_tool`).

Answers (the ``[deductions.nprt]`` table of a project TOML)::

    project_management = ["encroachment_enforcement", "experienced_team"]   # statements that apply
    financial_viability = ["breakeven_lt_4", "funding_ge_80"]
    opportunity_cost = ["alternative_20_50", "nonprofit", "legal_commitment_crediting_period"]
    project_longevity = { years = 40, legal_agreement = true }
    land_tenure = ["different_entities", "legal_protection"]
    community_engagement = ["net_positive_community_impacts"]
    political_risk = { governance_score = -0.25, statements = ["redd_readiness"] }
    natural = { fire = { significance = "minor", likelihood = "25_50_years", mitigation = "prevention" } }

References
----------
1. Verra (2019) AFOLU Non-Permanence Risk Tool, v4.0, sections 2.2 (internal risk, tables 1-4),
   2.3 (external risk, tables 5-7), 2.4 (natural risk, tables 8-9) and 2.5 (overall rating, buffer).
2. Verra (2023) VCS Standard v4.5, section 3.7 (AFOLU non-permanence risk and the pooled buffer).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from reddplus.errors import ConfigError

KEY = "deductions.nprt"


@lru_cache(maxsize=4)
def _load(path: str | None) -> dict:
    if path is None:
        text = resources.files("reddplus.accounting").joinpath("nprt_v4_0.toml").read_text()
    else:
        text = Path(path).read_text()
    return tomllib.loads(text)


def load_tool(path: str | Path | None = None) -> dict:
    """The tool's constants (default: v4.0 shipped with reddplus)."""
    return _load(None if path is None else str(path))


@dataclass(frozen=True)
class NPRTResult:
    """Ratings per category, the overall rating and the buffer [%] (NPRT v4.0 section 2.5)."""

    tool_version: str
    categories: dict[str, float]          # category -> rating (after its floor)
    factors: dict[str, dict[str, float]]  # category -> statement/hazard -> score
    internal: float
    external: float
    natural: float
    overall_rating: float                 # rounded up to a whole percent
    buffer_percent: float
    minimum_buffer_percent: float
    passed: bool
    failures: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        return {"tool_version": self.tool_version, "internal": self.internal, "external": self.external,
                "natural": self.natural, "overall_rating": self.overall_rating, "buffer_percent": self.buffer_percent,
                "minimum_buffer_percent": self.minimum_buffer_percent, "passed": self.passed,
                "failures": list(self.failures),
                "categories": [{"name": k, "rating": v, "factors": self.factors.get(k, {})}
                               for k, v in self.categories.items()]}


def _statements(cat: str, spec: dict, given: Any) -> dict[str, float]:
    allowed = spec.get("statements", {})
    if isinstance(given, str):
        given = [given]
    if not isinstance(given, (list, tuple)):
        raise ConfigError(f"{cat}: expected a list of statements, one or more of {sorted(allowed)}",
                          key=f"{KEY}.{cat}")
    out = {}
    for s in given:
        if s not in allowed:
            raise ConfigError(f"{cat}: {s!r} is not an allowed answer; allowed: {sorted(allowed)}",
                              key=f"{KEY}.{cat}")
        out[s] = float(allowed[s])
    for group in spec.get("one_of", []):
        chosen = [s for s in out if s in group]
        if len(chosen) > 1:
            raise ConfigError(f"{cat}: {chosen} are exclusive; choose one of {group}", key=f"{KEY}.{cat}")
    return out


def _table(cat: str, given: Any, required: str, allowed: tuple[str, ...], example: str) -> Mapping:
    """A category answered as a small table: check its required and allowed keys."""
    if not isinstance(given, Mapping) or required not in given:
        raise ConfigError(f"{cat}: give {example}", key=f"{KEY}.{cat}")
    unknown = set(given) - set(allowed)
    if unknown:
        raise ConfigError(f"{cat}: unknown keys {sorted(unknown)}; allowed: {', '.join(allowed)}", key=f"{KEY}.{cat}")
    return given


def _longevity(spec: dict, given: Any) -> dict[str, float]:
    given = _table("project_longevity", given, "years", ("years", "legal_agreement"),
                   "{years = N, legal_agreement = true|false}")
    years = float(given["years"])
    if years < spec["minimum_longevity_years"]:
        raise ConfigError(f"project_longevity: {years:g} years is below the tool's minimum of "
                          f"{spec['minimum_longevity_years']} years", key=f"{KEY}.project_longevity.years")
    legal = bool(given.get("legal_agreement", False))
    b = spec["intercept_with_legal_agreement"] if legal else spec["intercept_without_legal_agreement"]
    return {f"{b} - {years:g}/{spec['divisor']}": b - years / spec["divisor"]}


def _political(spec: dict, given: Any) -> dict[str, float]:
    given = _table("political_risk", given, "governance_score", ("governance_score", "statements"),
                   "{governance_score = x, statements = [...]}")
    g = float(given["governance_score"])
    if not -2.5 <= g <= 2.5:
        raise ConfigError(f"political_risk: governance score {g} outside the WGI range -2.5..2.5",
                          key=f"{KEY}.political_risk.governance_score")
    k = sum(1 for b in spec["governance_breaks"] if g >= b)
    out = {f"governance score {g:+.2f}": float(spec["governance_scores"][k])}
    out.update(_statements("political_risk", spec, given.get("statements", [])))
    return out


def _natural(tool: dict, given: Any) -> tuple[dict[str, float], list[str]]:
    nat = tool["natural"]
    if not isinstance(given, Mapping):
        raise ConfigError("natural: give a table per hazard", key=f"{KEY}.natural")
    out, fails = {}, []
    mult = {"none": nat["mitigation_none"], "prevention": nat["mitigation_prevention"],
            "prevention_and_recovery": nat["mitigation_prevention_and_recovery"]}
    for hazard, a in given.items():
        key = f"{KEY}.natural.{hazard}"
        if hazard not in nat["hazards"]:
            raise ConfigError(f"natural: unknown hazard {hazard!r}; allowed: {nat['hazards']}", key=key)
        if not isinstance(a, Mapping):
            raise ConfigError("give significance, likelihood and mitigation", key=key)
        sig, lik, mit = a.get("significance"), a.get("likelihood"), a.get("mitigation", "none")
        if sig not in nat["significances"]:
            raise ConfigError(f"significance {sig!r} not allowed; allowed: {nat['significances']}", key=key)
        if lik not in nat["likelihoods"]:
            raise ConfigError(f"likelihood {lik!r} not allowed; allowed: {nat['likelihoods']}", key=key)
        if mit not in mult:
            raise ConfigError(f"mitigation {mit!r} not allowed; allowed: {sorted(mult)}", key=key)
        ls = nat["ls"][nat["significances"].index(sig)][nat["likelihoods"].index(lik)]
        if ls < 0:
            fails.append(f"natural risk {hazard}: {sig} losses {lik.replace('_', ' ')} fail the tool")
            out[hazard] = float("nan")
        else:
            out[hazard] = ls * mult[mit]
    return out, fails


def nprt_buffer(answers: Mapping[str, Any], *, tool: dict | None = None) -> NPRTResult:
    """Overall non-permanence risk rating and buffer percentage from the tool's answers.

    .. math:: R = \\max(0, PM + FV + OC + PL) + \\max(0, T + CE + PR) + \\sum_h LS_h M_h,
              \\quad B = \\max(\\lceil R \\rceil, B_{min}),\\quad \\text{fail if } R > 60

    Parameters
    ----------
    answers : mapping
        Statements that apply per category (see the module docstring); every answer is checked
        against the tool's allowed values.
    tool : dict, optional
        Tool constants (:func:`load_tool`); default v4.0.

    Returns
    -------
    NPRTResult
        ``buffer_percent`` [%] and ``passed`` (False when any failure rule applies).

    Raises
    ------
    ConfigError
        An unknown category, statement, hazard or value, naming the key and the allowed values.

    References
    ----------
    Verra AFOLU Non-Permanence Risk Tool v4.0, sections 2.2-2.5 (tables 1-9).
    """
    tool = tool or load_tool()
    cats = tool["categories"]
    known = set(cats) | {"natural"}
    unknown = set(answers) - known
    if unknown:
        raise ConfigError(f"unknown NPRT categories {sorted(unknown)}; allowed: {sorted(known)}",
                          key=f"{KEY}.{sorted(unknown)[0]}")
    missing = [c for c in cats if c not in answers]
    if missing:
        raise ConfigError(f"NPRT answers missing for {missing}", key=f"{KEY}.{missing[0]}")
    factors: dict[str, dict[str, float]] = {}
    ratings: dict[str, float] = {}
    for name, spec in cats.items():
        if spec.get("formula"):
            f = _longevity(spec, answers[name])
        elif spec.get("governance"):
            f = _political(spec, answers[name])
        else:
            f = _statements(name, spec, answers[name])
        total = float(sum(f.values()))
        ratings[name] = max(0.0, total) if spec.get("floor") else total
        factors[name] = f
    nat, fails = _natural(tool, answers.get("natural", {}))
    factors["natural"] = nat
    internal = max(0.0, sum(v for k, v in ratings.items() if cats[k]["group"] == "internal"))
    external = max(0.0, sum(v for k, v in ratings.items() if cats[k]["group"] == "external"))
    natural = float(sum(v for v in nat.values() if not math.isnan(v)))
    ratings["natural"] = natural
    raw = internal + external + natural
    overall = float(math.ceil(raw - 1e-9)) if tool.get("round_overall") == "up" else raw
    if overall > tool["fail_above_percent"]:
        fails.append(f"overall rating {overall:g} exceeds {tool['fail_above_percent']}")
    buffer = max(overall, float(tool["minimum_buffer_percent"]))
    return NPRTResult(str(tool["version"]), ratings, factors, internal, external, natural, overall, buffer,
                      float(tool["minimum_buffer_percent"]), not fails, tuple(fails))


#: A low-risk conservation concession in Peru (used by the GENERATED sample project):
#: non-profit proponent, concession from the state, experienced team, 40-year agreement.
EXAMPLE_ANSWERS: dict[str, Any] = {
    "project_management": ["encroachment_enforcement", "experienced_team", "adaptive_management"],
    "financial_viability": ["breakeven_4_7", "funding_40_80"],
    "opportunity_cost": ["alternative_20_50", "nonprofit", "legal_commitment_crediting_period"],
    "project_longevity": {"years": 40, "legal_agreement": True},
    "land_tenure": ["different_entities", "legal_protection"],
    "community_engagement": ["net_positive_community_impacts"],
    "political_risk": {"governance_score": -0.25, "statements": ["redd_readiness"]},
    "natural": {"fire": {"significance": "minor", "likelihood": "10_25_years", "mitigation": "prevention"},
                "extreme_weather": {"significance": "minor", "likelihood": "25_50_years", "mitigation": "none"}},
}
