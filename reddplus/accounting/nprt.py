"""Non-permanence buffer: a calculator for the VCS AFOLU Non-Permanence Risk Tool (NPRT), v4.2 and v4.0.

The tool lives in data, one file per version beside this module (``nprt_v4_2.toml``, the default, and
``nprt_v4_0.toml``): every question, every allowed answer with the tool's wording and score, the fail
gates, the natural-risk table and the overall rules, each constant with its source. A constant that could
not be confirmed from the tool's text carries ``unverified = true``, and every result lists the unverified
constants it used (:attr:`NPRTResult.unverified`).

Answers (the ``[deductions.nprt]`` table of a project TOML), one table per risk category, one key per
question of the tool (:func:`answers_reference` lists them with their wording)::

    [deductions.nprt.project_management]              # Table 1
    adaptive_management_plan = true                    # Q1, a fail gate
    risks = ["encroachment_enforcement"]               # Q2
    mitigations = ["experienced_team"]                 # Q3
    [deductions.nprt.project_longevity]                # Table 4
    agreement_100_years = false
    years = 40
    management_plan = true
    arr_ifm_harvesting = false
    legal_agreement = true
    grouped_shorter_contracts = false
    ...
    [deductions.nprt.natural.fire]                     # Table 10
    significance = "minor"
    likelihood = "10_to_25_years"
    mitigation = "prevention"

Three layers of use:

* :func:`check_answers` returns every problem of an answers table at once (unknown question, answer
  outside the tool's options, missing answer, an answer reddplus cannot score), before any computing;
* :func:`check_tool_version` applies Verra's rule for v4.0 (``deductions.nprt_version``);
* :func:`nprt_buffer` computes the ratings and the buffer, and raises :class:`NPRTFailedError` naming the
  question when a fail gate of the tool applies.

References
----------
1. Verra (2023) VCS AFOLU Non-Permanence Risk Tool, v4.2 (12 October 2023): section 2.2 internal risk
   (Tables 1-5), 2.3 external risk (Tables 6-9), 2.4 natural risk (Tables 10-11), 2.5 overall rating.
2. Verra (2019) VCS AFOLU Non-Permanence Risk Tool, v4.0, sections 2.2-2.5 (Tables 1-9).
3. Verra, program notice "Updates to grace period for AFOLU Non-Permanence Risk Tool": v4.0 only for
   projects that requested registration before 29 August 2023, for vintages of 2022 and earlier.
4. Verra (2023) VCS Standard v4.5, section 3.7 (AFOLU non-permanence risk and the pooled buffer).
"""

from __future__ import annotations

import datetime as dt
import math
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping

from reddplus.errors import ConfigError

KEY = "deductions.nprt"
VERSION_KEY = "deductions.nprt_version"
DEFAULT_VERSION = "4.2"
VERSIONS = {"4.2": "nprt_v4_2.toml", "4.0": "nprt_v4_0.toml"}


# ------------------------------------------------------------------------------------------------ errors
class NPRTAnswerError(ConfigError):
    """The NPRT answers do not fit the tool; ``problems`` lists every problem, each naming its question."""

    def __init__(self, problems: Iterable["NPRTProblem"]):
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p.key}: {p.message}" for p in self.problems)
        first = self.problems[0]
        super().__init__(f"{first.message}" + (f"\n{len(self.problems)} problems in the NPRT answers:\n{lines}"
                                                if len(self.problems) > 1 else ""), key=first.key)


class NPRTFailedError(ConfigError):
    """The project fails the AFOLU Non-Permanence Risk Tool: ``question`` names the failing question
    (a dotted config key) and ``reason`` gives the tool's own reason; ``failures`` lists every failure."""

    def __init__(self, failures: Iterable["NPRTFailure"], version: str):
        self.failures = tuple(failures)
        first = self.failures[0]
        self.question, self.reason = first.question, first.reason
        more = "".join(f"; also {f.question}: {f.reason}" for f in self.failures[1:])
        super().__init__(f"the project fails the AFOLU Non-Permanence Risk Tool v{version} ({first.where}): "
                         f"{first.reason}{more}", key=first.question)


class NPRTVersionError(ConfigError):
    """The NPRT version asked for may not be used for this project (``deductions.nprt_version``)."""


# ------------------------------------------------------------------------------------------------ results
@dataclass(frozen=True)
class NPRTProblem:
    """One problem of an answers table, found before any computing."""

    key: str                      # dotted config key, e.g. deductions.nprt.financial_viability.breakeven
    kind: str                     # unknown | not_allowed | missing | wrong_type | exclusive | unsupported | conflict
    message: str
    allowed: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"key": self.key, "kind": self.kind, "message": self.message, "allowed": list(self.allowed)}


@dataclass(frozen=True)
class NPRTFailure:
    """A fail gate of the tool that applies: the question (config key), where in the tool, the reason."""

    question: str
    where: str
    reason: str

    def to_dict(self) -> dict:
        return {"question": self.question, "where": self.where, "reason": self.reason}


@dataclass(frozen=True)
class NPRTConstant:
    """A constant of the tool that a result used, with its source; ``unverified`` when not confirmed."""

    name: str
    value: Any
    source: str
    unverified: bool = False
    looked_for: str = ""

    def to_dict(self) -> dict:
        return {"name": self.name, "value": self.value, "source": self.source, "unverified": self.unverified,
                "looked_for": self.looked_for}


@dataclass(frozen=True)
class NPRTVersionCheck:
    """Whether a tool version may be used; ``override`` when it is used against Verra's rule."""

    version: str
    allowed: bool
    override: bool
    reason: str

    def to_dict(self) -> dict:
        return {"version": self.version, "allowed": self.allowed, "override": self.override, "reason": self.reason}


@dataclass(frozen=True)
class NPRTResult:
    """Ratings per category, the overall rating and the buffer [%] (NPRT v4.2 section 2.5)."""

    tool_version: str
    categories: dict[str, float]          # category -> rating (after its floor)
    factors: dict[str, dict[str, float]]  # category -> answer or hazard -> score
    internal: float
    external: float
    natural: float
    overall_rating: float                 # the tool's rounding applied (see overall_rating_unrounded)
    buffer_percent: float
    minimum_buffer_percent: float
    passed: bool
    failures: tuple[NPRTFailure, ...] = field(default_factory=tuple)
    overall_rating_unrounded: float = float("nan")
    unverified: tuple[NPRTConstant, ...] = field(default_factory=tuple)
    assumptions: tuple[str, ...] = field(default_factory=tuple)
    version_check: NPRTVersionCheck | None = None

    @property
    def version_override(self) -> bool:
        """True when the tool version was used against Verra's rule (``deductions.nprt_override``)."""
        return bool(self.version_check and self.version_check.override)

    def to_dict(self) -> dict:
        return {"tool_version": self.tool_version, "internal": self.internal, "external": self.external,
                "natural": self.natural, "overall_rating": self.overall_rating,
                "overall_rating_unrounded": self.overall_rating_unrounded, "buffer_percent": self.buffer_percent,
                "minimum_buffer_percent": self.minimum_buffer_percent, "passed": self.passed,
                "failures": [f.to_dict() for f in self.failures],
                "categories": [{"name": k, "rating": v, "factors": self.factors.get(k, {})}
                               for k, v in self.categories.items()],
                "unverified_constants": [c.to_dict() for c in self.unverified],
                "assumptions": list(self.assumptions), "version_override": self.version_override,
                "version_check": self.version_check.to_dict() if self.version_check else None}


# ------------------------------------------------------------------------------------------------ the tool
@lru_cache(maxsize=8)
def _load(name: str | None, path: str | None) -> dict:
    if path is None:
        text = resources.files("reddplus.accounting").joinpath(name).read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    return tomllib.loads(text)


def load_tool(path: str | Path | None = None, *, version: str | None = None) -> dict:
    """The tool's questions and constants: a shipped version (default v4.2) or a TOML file of the same layout.

    Raises
    ------
    NPRTVersionError
        ``version`` is not one of :data:`VERSIONS`.
    """
    if path is not None:
        return _load(None, str(path))
    version = DEFAULT_VERSION if version is None else str(version)
    if version not in VERSIONS:
        raise NPRTVersionError(f"NPRT version {version!r} is not supported; choose one of {sorted(VERSIONS)}",
                               key=VERSION_KEY)
    return _load(VERSIONS[version], None)


def _is_unverified(tool: dict, spec: Mapping, prefix: str = "") -> bool:
    return bool(tool.get("unverified") or spec.get(f"{prefix}unverified"))


def _constant(tool: dict, name: str, value: Any, spec: Mapping, prefix: str = "") -> NPRTConstant:
    unv = _is_unverified(tool, spec, prefix)
    looked = spec.get(f"{prefix}looked_for", "") or (tool.get("looked_for", "") if unv else "")
    return NPRTConstant(name, value, str(spec.get(f"{prefix}source", spec.get("source", ""))), unv, looked)


def _where(cat_spec: Mapping, q: Mapping | None = None) -> str:
    return f"{cat_spec.get('table', '')} {q.get('q', '')}".strip() if q else str(cat_spec.get("table", ""))


def _allowed_summary(questions: Mapping) -> str:
    parts = []
    for qk, q in questions.items():
        kind = q["kind"]
        if kind in ("one_of", "any_of"):
            what = "one of" if kind == "one_of" else "a list of"
            parts.append(f"{qk} = {what} [{', '.join(q.get('answers', {}))}]")
        elif kind == "yes_no":
            parts.append(f"{qk} = true|false")
        else:
            parts.append(f"{qk} = number")
    return "; ".join(parts)


class _Walk:
    """One pass over an answers table: problems (all of them), and, when there are none, the scores."""

    def __init__(self, tool: dict, registration_requested: dt.date | None):
        self.tool = tool
        self.reg = registration_requested
        self.problems: list[NPRTProblem] = []
        self.failures: list[NPRTFailure] = []
        self.constants: list[NPRTConstant] = []
        self.assumptions: list[str] = []

    def problem(self, key: str, kind: str, message: str, allowed: Iterable[str] = ()) -> None:
        self.problems.append(NPRTProblem(key, kind, message, tuple(allowed)))

    # -------------------------------------------------------------- one category
    def category(self, name: str, spec: Mapping, given: Any) -> dict[str, float]:
        key = f"{KEY}.{name}"
        questions = spec["questions"]
        if given is None:
            self.problem(key, "missing", f"the answers for {spec.get('wording', name)} ({spec.get('table', '')}) "
                         f"are missing; give a table: {_allowed_summary(questions)}", questions)
            return {}
        if not isinstance(given, Mapping):
            self.problem(key, "wrong_type", f"give a table with one key per question: {_allowed_summary(questions)}",
                         [c for q in questions.values() for c in q.get("answers", {})] or list(questions))
            return {}
        for k in given:
            if k not in questions:
                self.problem(f"{key}.{k}", "unknown", f"{k!r} is not a question of {spec.get('wording', name)} "
                             f"({spec.get('table', '')}); its questions are {list(questions)}", questions)
        factors: dict[str, float] = {}
        skipped: dict[str, str] = {}
        answered: dict[str, Any] = {}
        for qk, q in questions.items():
            qkey = f"{key}.{qk}"
            if qk in skipped:
                if qk in given:
                    self.assumptions.append(f"{qkey} is not asked when {skipped[qk]}; its answer is not scored")
                continue
            value = self._value(qkey, q, given)
            if value is _MISSING:
                continue
            answered[qk] = value
            self._score(name, spec, qk, q, qkey, value, factors, skipped)
        if name == "project_longevity" and "formula" in spec and not self.problems:
            self._longevity(spec, answered, factors)
        return factors

    def _value(self, qkey: str, q: Mapping, given: Mapping) -> Any:
        if q.get("derived_from") == "registration_requested":
            threshold = q["derived_threshold"]
            derived = None if self.reg is None else self.reg >= threshold
            if q_key_name(qkey) in given:
                v = given[q_key_name(qkey)]
                if not isinstance(v, bool):
                    self.problem(qkey, "wrong_type", f"answer true or false ({q['wording']})", ("true", "false"))
                    return _MISSING
                if derived is not None and v != derived:
                    self.problem(qkey, "conflict", f"answered {str(v).lower()}, but deductions.registration_requested "
                                 f"= {self.reg} says {str(derived).lower()}")
                    return _MISSING
                return v
            if derived is None:
                self.assumptions.append(f"{qkey}: deductions.registration_requested is not given; registration is "
                                        f"taken as requested on or after {threshold} (the stricter minimum longevity)")
                return True
            return derived
        name = q_key_name(qkey)
        if name not in given:
            if q.get("required", True):
                self.problem(qkey, "missing", f"missing answer to {q.get('q', '')}: {q['wording']}",
                             _codes(q))
            return _MISSING
        return given[name]

    def _score(self, cat: str, spec: Mapping, qk: str, q: Mapping, qkey: str, value: Any,
               factors: dict[str, float], skipped: dict[str, str]) -> None:
        kind = q["kind"]
        where = _where(spec, q)
        if kind == "yes_no":
            if not isinstance(value, bool):
                self.problem(qkey, "wrong_type", f"answer true or false to {q.get('q', '')}: {q['wording']}",
                             ("true", "false"))
                return
            if "unsupported_if" in q and value == q["unsupported_if"]:
                self.problem(qkey, "unsupported", f"answer {str(value).lower()} cannot be scored: "
                             f"{q.get('unsupported_reason', 'its rule could not be read')}")
                return
            if "fail_if" in q and value == q["fail_if"]:
                self.failures.append(NPRTFailure(qkey, where, q["fail_reason"]))
            for other in q.get("skip_if_true" if value else "skip_if_false", []):
                skipped[other] = f"{qk} = {str(value).lower()}"
            s = q.get("score_if_true" if value else "score_if_false")
            if s is not None:
                factors[f"{qk} = {str(value).lower()}"] = float(s)
                self.constants.append(_constant(self.tool, f"{cat}.{qk}.{str(value).lower()}", s, q))
        elif kind == "one_of":
            answers = q.get("answers", {})
            if not isinstance(value, str) or value not in answers:
                self.problem(qkey, "not_allowed", f"{value!r} is not an answer of {where} ({q['wording']}); "
                             f"allowed: {', '.join(answers)}", answers)
                return
            self._answer(cat, qk, value, answers[value], factors)
        elif kind == "any_of":
            answers = q.get("answers", {})
            if not isinstance(value, (list, tuple)):
                self.problem(qkey, "wrong_type", f"give a list (possibly empty) of answers to {where} ({q['wording']}); "
                             f"allowed: {', '.join(answers)}", answers)
                return
            bad = [v for v in value if not isinstance(v, str) or v not in answers]
            for v in bad:
                self.problem(qkey, "not_allowed", f"{v!r} is not an answer of {where} ({q['wording']}); "
                             f"allowed: {', '.join(answers)}", answers)
            for group in q.get("exclusive", []):
                chosen = [v for v in dict.fromkeys(value) if v in group]
                if len(chosen) > 1:
                    self.problem(qkey, "exclusive", f"{chosen} exclude each other; choose one of {group}", group)
            if bad:
                return
            for v in dict.fromkeys(value):
                self._answer(cat, qk, v, answers[v], factors)
        elif kind in ("number", "governance_score"):
            lo, hi = q.get("minimum", -math.inf), q.get("maximum", math.inf)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
                self.problem(qkey, "not_allowed", f"{value!r} is not a number within {lo:g}..{hi:g} "
                             f"({q['wording']})", (f"{lo:g}..{hi:g}",))
                return
            if kind == "governance_score":
                band = next(b for b in q["bands"] if "below" not in b or value < b["below"])
                factors[f"governance score {value:+.2f} (band {band['letter']})"] = float(band["score"])
                self.constants.append(_constant(self.tool, f"{cat}.{qk}.band_{band['letter']}", band["score"], band))
        else:  # pragma: no cover - a tool file error
            raise ValueError(f"unknown question kind {kind!r} in the tool file ({qkey})")

    def _answer(self, cat: str, qk: str, code: str, a: Mapping, factors: dict[str, float]) -> None:
        factors[code] = float(a["score"])
        self.constants.append(_constant(self.tool, f"{cat}.{qk}.{code}", a["score"], a))

    def _longevity(self, spec: Mapping, answered: Mapping, factors: dict[str, float]) -> None:
        f = spec["formula"]
        qkey = f"{KEY}.project_longevity.years"
        if answered.get("agreement_100_years"):
            return                                    # scored 0 by Q2 (score_if_true)
        years = answered.get("years")
        if years is None:
            return
        from_2024 = answered.get("registration_from_2024", True)
        m = f["minimum_years_from_2024" if from_2024 else "minimum_years_before_2024"]
        self.constants.append(_constant(self.tool, "project_longevity.formula.minimum_years_"
                                        + ("from_2024" if from_2024 else "before_2024"), m["value"], m))
        if years < m["value"]:
            when = "from 1 January 2024" if from_2024 else "before 1 January 2024"
            self.failures.append(NPRTFailure(qkey, _where(spec, spec["questions"]["years"]),
                                             f"the project longevity of {years:g} years is below the minimum of "
                                             f"{m['value']} years for a registration requested {when}"))
        legal = bool(answered.get("legal_agreement", False))
        name = "with_legal_agreement" if legal else "without_legal_agreement"
        g = f[name]
        self.constants.append(_constant(self.tool, f"project_longevity.formula.{name}",
                                        f"{g['intercept']} - L/{g['divisor']}", g))
        factors[f"{g['intercept']} - {years:g}/{g['divisor']}"] = g["intercept"] - years / g["divisor"]

    # -------------------------------------------------------------- natural risk
    def natural(self, given: Any) -> dict[str, float]:
        nat = self.tool["natural"]
        key = f"{KEY}.natural"
        if given is None:
            given = {}
        if not isinstance(given, Mapping):
            self.problem(key, "wrong_type", f"give one table per hazard ({', '.join(nat['hazards'])}) with "
                         "significance, likelihood and mitigation", nat["hazards"])
            return {}
        out: dict[str, float] = {}
        factors = nat["mitigation_factors"]
        for hazard in nat["hazards"]:
            if hazard not in given and nat.get("require_all_hazards"):
                self.problem(f"{key}.{hazard}", "missing", f"assess the natural risk {hazard!r} (give "
                             "significance = \"not_applicable\" when it does not apply)", nat["significances"])
        for hazard, a in given.items():
            hkey = f"{key}.{hazard}"
            if hazard not in nat["hazards"]:
                self.problem(hkey, "unknown", f"{hazard!r} is not a natural risk of the tool; allowed: "
                             f"{', '.join(nat['hazards'])}", nat["hazards"])
                continue
            if not isinstance(a, Mapping):
                self.problem(hkey, "wrong_type", "give significance, likelihood and mitigation",
                             ("significance", "likelihood", "mitigation"))
                continue
            for k in set(a) - {"significance", "likelihood", "mitigation"}:
                self.problem(f"{hkey}.{k}", "unknown", f"{k!r} is not a key of a natural risk; give significance, "
                             "likelihood and mitigation", ("significance", "likelihood", "mitigation"))
            sig, lik, mit = a.get("significance"), a.get("likelihood"), a.get("mitigation", "none")
            ok = True
            if sig not in nat["significances"]:
                self.problem(f"{hkey}.significance", "missing" if sig is None else "not_allowed",
                             f"significance {sig!r} is not allowed; allowed: {', '.join(nat['significances'])}",
                             nat["significances"])
                ok = False
            if sig == "not_applicable" and lik is None:
                lik = nat["likelihoods"][-1]
            if lik not in nat["likelihoods"]:
                self.problem(f"{hkey}.likelihood", "missing" if lik is None else "not_allowed",
                             f"likelihood {lik!r} is not allowed; allowed: {', '.join(nat['likelihoods'])}",
                             nat["likelihoods"])
                ok = False
            if mit not in factors:
                self.problem(f"{hkey}.mitigation", "not_allowed", f"mitigation {mit!r} is not allowed; allowed: "
                             f"{', '.join(factors)}", factors)
                ok = False
            if not ok:
                continue
            ls = nat["ls"][nat["significances"].index(sig)][nat["likelihoods"].index(lik)]
            self.constants.append(NPRTConstant(f"natural.ls[{sig}][{lik}]", ls, nat.get("ls_source", ""),
                                               bool(self.tool.get("unverified") or nat.get("ls_unverified")),
                                               nat.get("ls_looked_for", self.tool.get("looked_for", ""))))
            if ls < 0:
                self.failures.append(NPRTFailure(hkey, f"{nat.get('table', '')} ({sig}, {lik})", nat["fail_reason"]))
                out[hazard] = float("nan")
                continue
            if ls:
                self.constants.append(NPRTConstant(f"natural.mitigation.{mit}", factors[mit],
                                                   nat.get("mitigation_source", ""), bool(self.tool.get("unverified")),
                                                   self.tool.get("looked_for", "")))
            out[hazard] = ls * factors[mit]
        return out


_MISSING = object()


def q_key_name(qkey: str) -> str:
    return qkey.rsplit(".", 1)[-1]


def _codes(q: Mapping) -> tuple[str, ...]:
    if q["kind"] in ("one_of", "any_of"):
        return tuple(q.get("answers", {}))
    if q["kind"] == "yes_no":
        return ("true", "false")
    return (f"{q.get('minimum', '-inf')}..{q.get('maximum', 'inf')}",)


def _walk(answers: Any, tool: dict, registration_requested: dt.date | None) -> tuple[_Walk, dict, dict]:
    w = _Walk(tool, registration_requested)
    cats = tool["categories"]
    factors: dict[str, dict[str, float]] = {}
    if not isinstance(answers, Mapping):
        w.problem(KEY, "wrong_type", "give the NPRT answers as a table of risk categories", [*cats, "natural"])
        return w, factors, {}
    for k in answers:
        if k not in cats and k != "natural":
            w.problem(f"{KEY}.{k}", "unknown", f"{k!r} is not a risk category of the AFOLU Non-Permanence Risk "
                      f"Tool v{tool['version']}; allowed: {', '.join([*cats, 'natural'])}", [*cats, "natural"])
    for name, spec in cats.items():
        factors[name] = w.category(name, spec, answers.get(name))
    nat = w.natural(answers.get("natural"))
    return w, factors, nat


def check_answers(answers: Any, *, version: str | None = None, tool: dict | None = None,
                  registration_requested: dt.date | None = None) -> tuple[NPRTProblem, ...]:
    """Every problem of an NPRT answers table, found at once and before any computing.

    Parameters
    ----------
    answers : mapping
        The ``[deductions.nprt]`` table.
    version : str, optional
        Tool version (default ``"4.2"``); ignored when ``tool`` is given.
    tool : dict, optional
        Tool constants (:func:`load_tool`).
    registration_requested : datetime.date, optional
        ``deductions.registration_requested``: checked against the answer to Table 4 Q1 (v4.2).

    Returns
    -------
    tuple of NPRTProblem
        Empty when the answers fit the tool. Each problem names its config key (``deductions.nprt.<category>.
        <question>``), its kind (unknown question, answer outside the tool's options, missing answer, wrong
        type, exclusive answers, an answer whose score could not be read) and the allowed answers.
        Fail gates are not problems: :func:`nprt_buffer` reports them.

    References
    ----------
    Verra AFOLU Non-Permanence Risk Tool v4.2, sections 2.2-2.4 (Tables 1-10).
    """
    tool = tool if tool is not None else load_tool(version=version)
    return tuple(_walk(answers, tool, registration_requested)[0].problems)


def check_tool_version(version: str = DEFAULT_VERSION, *, registration_requested: dt.date | None = None,
                       vintages: Iterable[int] = (), override: bool = False) -> NPRTVersionCheck:
    """Whether an NPRT version may be used for a project (Verra's grace-period rule for v4.0).

    v4.2 applies to every registration and verification request from 1 January 2024. v4.0 may be used only
    when the project requested registration before 29 August 2023 and every vintage is 2022 or earlier.

    Parameters
    ----------
    version : str
        ``deductions.nprt_version``.
    registration_requested : datetime.date, optional
        ``deductions.registration_requested``; required to show that v4.0 applies.
    vintages : iterable of int
        The vintages to be verified [calendar year].
    override : bool
        ``deductions.nprt_override``: use the version anyway; the returned check says so.

    Returns
    -------
    NPRTVersionCheck

    Raises
    ------
    NPRTVersionError
        The version is not allowed and ``override`` is false (names ``deductions.nprt_version``).

    References
    ----------
    Verra program notice, updates to the grace period for the AFOLU Non-Permanence Risk Tool (v4.0 criteria).
    """
    tool = load_tool(version=version)
    app = tool.get("applicability", {})
    if app.get("always_allowed"):
        return NPRTVersionCheck(str(version), True, False,
                                f"v{version} applies to every registration and verification request")
    before, last = app["registration_requested_before"], int(app["last_vintage"])
    reasons = []
    if registration_requested is None:
        reasons.append("deductions.registration_requested is not given, so the project cannot be shown to have "
                       f"requested registration before {before}")
    elif registration_requested >= before:
        reasons.append(f"registration was requested on {registration_requested}, not before {before}")
    late = sorted({int(v) for v in vintages if int(v) > last})
    if late:
        reasons.append(f"vintage{'s' if len(late) > 1 else ''} {', '.join(map(str, late))} "
                       f"{'are' if len(late) > 1 else 'is'} after {last}")
    if not reasons:
        return NPRTVersionCheck(str(version), True, False, f"registration requested before {before}, vintages up to "
                                f"{last}: v{version} may be used")
    rule = (f"NPRT v{version} may be used only by projects that requested registration before {before}, for vintages "
            f"up to {last}")
    if override:
        return NPRTVersionCheck(str(version), False, True, f"{rule}: {'; '.join(reasons)}; used anyway because "
                                "deductions.nprt_override = true")
    raise NPRTVersionError(f"{rule}: {'; '.join(reasons)}. Use nprt_version = \"4.2\", or set "
                           "deductions.nprt_override = true to use it anyway (the report flags the override)",
                           key=VERSION_KEY)


def nprt_buffer(answers: Mapping[str, Any], *, version: str | None = None, tool: dict | None = None,
                registration_requested: dt.date | None = None, vintages: Iterable[int] = (),
                override: bool = False, raise_on_fail: bool = True) -> NPRTResult:
    """Overall non-permanence risk rating and buffer percentage from the tool's answers.

    .. math:: R = \\max(0, PM + FV + OC + PL) + \\max(0, LT + SE + PR) + \\sum_h LS_h M_h,
              \\quad B = \\max(\\lceil R \\rceil, B_{min}),\\quad \\text{fail if a gate applies or } R > 60

    Parameters
    ----------
    answers : mapping
        The ``[deductions.nprt]`` table (see the module docstring and :func:`answers_reference`).
    version : str, optional
        ``deductions.nprt_version``; default ``"4.2"``. Ignored when ``tool`` is given.
    tool : dict, optional
        Tool constants (:func:`load_tool`), e.g. a custom file of the same layout; the version rule
        (:func:`check_tool_version`) is then not applied and ``version_check`` is None.
    registration_requested : datetime.date, optional
        ``deductions.registration_requested``: the v4.2 longevity minimum (40 years from 2024, else 30) and
        whether v4.0 may apply.
    vintages : iterable of int
        Vintages to be verified [calendar year], for the v4.0 rule (:func:`check_tool_version`).
    override : bool
        ``deductions.nprt_override``: use v4.0 outside what Verra allows; the result flags it.
    raise_on_fail : bool
        Raise :class:`NPRTFailedError` when the project fails the tool (default); with False, return a
        result with ``passed = False`` and the failures.

    Returns
    -------
    NPRTResult
        ``buffer_percent`` [%], the ratings, ``failures``, the ``unverified`` constants used and
        ``assumptions``.

    Raises
    ------
    NPRTAnswerError
        Answers that do not fit the tool: every problem at once, each naming its question.
    NPRTFailedError
        A fail gate applies (no adaptive management plan, no due process on tenure disputes, longevity below
        the minimum, a catastrophic frequent natural risk, an overall rating above the ceiling...), naming the
        question and giving the tool's reason.
    NPRTVersionError
        v4.0 asked for where Verra does not allow it, without ``override``.

    References
    ----------
    Verra AFOLU Non-Permanence Risk Tool v4.2, sections 2.2-2.5 (Tables 1-11, 15).
    """
    if tool is None:
        version = DEFAULT_VERSION if version is None else str(version)
        vcheck = check_tool_version(version, registration_requested=registration_requested, vintages=vintages,
                                    override=override)
        tool = load_tool(version=version)
    else:
        vcheck = None
    w, factors, nat = _walk(answers, tool, registration_requested)
    if w.problems:
        raise NPRTAnswerError(w.problems)
    cats, ov = tool["categories"], tool["overall"]
    ratings: dict[str, float] = {}
    for name, spec in cats.items():
        total = float(sum(factors[name].values()))
        if total < 0:
            w.constants.append(_constant(tool, f"{name}.floor", bool(spec.get("floor")), spec, "floor_"))
        ratings[name] = max(0.0, total) if spec.get("floor") else total
    sums = {g: sum(v for k, v in ratings.items() if cats[k]["group"] == g) for g in ("internal", "external")}
    for g in ("internal", "external"):
        if sums[g] < 0:
            w.constants.append(_constant(tool, f"overall.{g}_floor", bool(ov.get(f"{g}_floor")), ov, "floor_"))
    internal = max(0.0, sums["internal"]) if ov.get("internal_floor") else sums["internal"]
    external = max(0.0, sums["external"]) if ov.get("external_floor") else sums["external"]
    factors["natural"] = nat
    natural = float(sum(v for v in nat.values() if not math.isnan(v)))
    ratings["natural"] = natural
    cc = tool["natural"].get("climate_change")
    if cc and not cc.get("scored", True):
        w.constants.append(_constant(tool, "natural.climate_change", "not scored", cc))
    raw = internal + external + natural
    overall = float(math.ceil(raw - 1e-9)) if ov.get("round_overall") == "up" else raw
    if overall != raw:
        w.constants.append(_constant(tool, "overall.round_overall", ov["round_overall"], ov, "round_"))
    minimum = float(ov["minimum_buffer_percent"])
    w.constants.append(_constant(tool, "overall.minimum_buffer_percent", minimum, ov, "minimum_buffer_"))
    ceiling = float(ov["fail_above_percent"])
    w.constants.append(_constant(tool, "overall.fail_above_percent", ceiling, ov, "fail_above_"))
    if overall > ceiling:
        w.failures.append(NPRTFailure(KEY, "section 2.5", f"the overall risk rating {overall:g} exceeds "
                                      f"{ceiling:g}, so the project is not eligible"))
    buffer = max(overall, minimum)
    if vcheck is not None and vcheck.override:
        w.assumptions.append(vcheck.reason)
    seen: dict[str, NPRTConstant] = {}
    for c in w.constants:
        if c.unverified:
            seen.setdefault(c.name, c)
    result = NPRTResult(str(tool["version"]), ratings, factors, internal, external, natural, overall, buffer, minimum,
                        not w.failures, tuple(w.failures), raw, tuple(seen.values()),
                        tuple(dict.fromkeys(w.assumptions)), vcheck)
    if w.failures and raise_on_fail:
        raise NPRTFailedError(w.failures, str(tool["version"]))
    return result


def answers_reference(version: str | None = None, *, tool: dict | None = None) -> dict:
    """The tool's questions and allowed answers as structured data, for a generated config reference.

    Returns
    -------
    dict
        ``{"tool", "version", "key": "deductions.nprt", "categories": [{"key", "wording", "table", "group",
        "questions": [{"key", "q", "kind", "wording", "required", "gate", "answers": [{"code", "letter",
        "wording", "score", "unverified", "source"}], ...}]}], "natural": {...}, "overall": {...}}``:
        every question key with the tool's wording (paraphrased), each allowed answer code with its wording
        and score, and whether the constant is unverified.
    """
    tool = tool if tool is not None else load_tool(version=version)
    unv_all = bool(tool.get("unverified"))
    cats = []
    for name, spec in tool["categories"].items():
        qs = []
        for qk, q in spec["questions"].items():
            entry = {"key": f"{KEY}.{name}.{qk}", "q": q.get("q", ""), "kind": q["kind"], "wording": q["wording"],
                     "required": bool(q.get("required", True)) and "derived_from" not in q,
                     "gate": q.get("fail_reason") if "fail_if" in q else None,
                     "fails_if": q.get("fail_if"), "note": q.get("note", ""),
                     "answers": [{"code": code, "letter": a.get("letter", ""), "wording": a["wording"],
                                  "score": a["score"], "unverified": unv_all or bool(a.get("unverified")),
                                  "source": a.get("source", "")} for code, a in q.get("answers", {}).items()]}
            if q["kind"] == "yes_no":
                entry["answers"] = [{"code": str(v).lower(), "letter": "", "wording": "yes" if v else "no",
                                     "score": q.get(f"score_if_{str(v).lower()}"), "unverified": unv_all,
                                     "source": q.get("source", "")} for v in (True, False)]
                if "unsupported_if" in q:
                    entry["unsupported"] = {"answer": q["unsupported_if"], "reason": q.get("unsupported_reason", "")}
            if q["kind"] in ("number", "governance_score"):
                entry["range"] = [q.get("minimum"), q.get("maximum")]
            if q["kind"] == "governance_score":
                entry["answers"] = [{"code": f"band_{b['letter']}", "letter": b["letter"], "wording": b["wording"],
                                     "score": b["score"], "unverified": unv_all or bool(b.get("unverified")),
                                     "source": b.get("source", "")} for b in q["bands"]]
            qs.append(entry)
        cats.append({"key": f"{KEY}.{name}", "wording": spec.get("wording", name), "table": spec.get("table", ""),
                     "group": spec["group"], "questions": qs})
    nat = tool["natural"]
    natural = {"key": f"{KEY}.natural", "table": nat.get("table", ""), "wording": nat.get("wording", ""),
               "hazards": [{"code": h, "wording": nat.get("hazard_wordings", {}).get(h, h)} for h in nat["hazards"]],
               "significance": [{"code": s, "wording": nat.get("significance_wordings", {}).get(s, s)}
                                for s in nat["significances"]],
               "likelihood": [{"code": s, "wording": nat.get("likelihood_wordings", {}).get(s, s)}
                              for s in nat["likelihoods"]],
               "mitigation": [{"code": m, "factor": f, "wording": nat.get("mitigation_wordings", {}).get(m, m)}
                              for m, f in nat["mitigation_factors"].items()],
               "ls": {s: dict(zip(nat["likelihoods"], row)) for s, row in zip(nat["significances"], nat["ls"])},
               "all_hazards_required": bool(nat.get("require_all_hazards"))}
    ov = tool["overall"]
    overall = {"minimum_buffer_percent": ov["minimum_buffer_percent"], "fail_above_percent": ov["fail_above_percent"],
               "round_overall": ov.get("round_overall"),
               "unverified": [k for k in ("minimum_buffer", "fail_above", "round", "floor")
                              if unv_all or ov.get(f"{k}_unverified")]}
    return {"tool": tool["tool"], "version": str(tool["version"]), "key": KEY, "categories": cats,
            "natural": natural, "overall": overall}


#: A conservation concession in Madre de Dios, Peru (the GENERATED sample project), answered for v4.2:
#: a state forest concession held by a non-profit under a 40-year contract, patrolled against gold-mining and
#: logging encroachment, with an experienced team and an adaptive management plan.
EXAMPLE_ANSWERS: dict[str, Any] = {
    "project_management": {"adaptive_management_plan": True, "risks": ["encroachment_enforcement"],
                           "mitigations": ["experienced_team"]},
    "financial_viability": {"breakeven": "breakeven_4_7", "funding_secured": "funding_40_80", "mitigations": []},
    "opportunity_cost": {"subsistence_driven": False, "alternative_npv": "alternative_20_50",
                         "mitigations": ["nonprofit", "legal_commitment_crediting_period"]},
    "project_longevity": {"agreement_100_years": False, "years": 40, "management_plan": True,
                          "arr_ifm_harvesting": False, "legal_agreement": True, "grouped_shorter_contracts": False},
    "land_tenure": {"due_process": True, "binding_agreement": True, "ownership": "different_entities",
                    "government_intervention": "none_or_resolved", "tenure_disputes": "no_tenure_disputes",
                    "access_disputes": "no_access_disputes", "mitigations": ["legal_protection"]},
    "stakeholder_engagement": {"reliant_populations": True, "consulted_inside": "more_than_50",
                               "consulted_outside": "more_than_20"},
    "political_risk": {"governance_score": -0.25, "mitigations": ["paris_ndc"]},
    "natural": {"fire": {"significance": "minor", "likelihood": "10_to_25_years", "mitigation": "prevention"},
                "pest_disease": {"significance": "insignificant", "likelihood": "once_per_100_years_or_less"},
                "extreme_weather": {"significance": "minor", "likelihood": "25_to_50_years", "mitigation": "none"},
                "geological": {"significance": "not_applicable"},
                "sea_level_rise": {"significance": "not_applicable"}},
}
