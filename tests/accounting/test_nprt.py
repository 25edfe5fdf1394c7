"""AFOLU Non-Permanence Risk Tool: a published filled-in v4.2 assessment, hand-worked gates, formulas and
multipliers, the v4.0 version rule, validation of whole answer tables, the config reference."""

from __future__ import annotations

import copy
import datetime as dt
import json
import tomllib
from importlib import resources

import pytest

from reddplus.accounting import (EXAMPLE_ANSWERS, NPRTAnswerError, NPRTFailedError, NPRTVersionError,
                                 answers_reference, check_answers, check_tool_version, load_tool, nprt_buffer)
from reddplus.errors import ConfigError
from reddplus.project import Deductions

D = dt.date


def patched(**cats):
    """EXAMPLE_ANSWERS with some questions replaced: patched(project_management={"risks": []})."""
    a = copy.deepcopy(EXAMPLE_ANSWERS)
    for cat, qs in cats.items():
        if cat == "natural":
            a["natural"] = {**a["natural"], **qs}
        else:
            a[cat] = {**a[cat], **qs}
    return a


# ------------------------------------------------------------------------------ published assessment
#: Answers of the Ecobliss assessment (see the test docstring), question by question.
ECOBLISS = {
    "project_management": {"adaptive_management_plan": True, "risks": ["alm_farmers_untrained"],
                           "mitigations": ["experienced_team", "alm_training_plan"]},
    "financial_viability": {"breakeven": "breakeven_4_or_less", "funding_secured": "funding_ge_80",
                            "mitigations": ["callable_resources"]},
    "opportunity_cost": {"subsistence_driven": True, "net_positive_community_impacts": True},
    "project_longevity": {"registration_from_2024": True, "agreement_100_years": False, "years": 50,
                          "management_plan": True, "arr_ifm_harvesting": False, "legal_agreement": True,
                          "grouped_shorter_contracts": False},
    "land_tenure": {"due_process": True, "binding_agreement": True, "ownership": "different_entities",
                    "government_intervention": "none_or_resolved", "tenure_disputes": "no_tenure_disputes",
                    "access_disputes": "no_access_disputes", "wrc_upstream_sea_impacts": "insignificant_or_mitigated",
                    "mitigations": ["legal_protection", "disputes_being_resolved"]},
    "stakeholder_engagement": {"reliant_populations": True, "consulted_inside": "more_than_50",
                               "consulted_outside": "more_than_20"},
    # the report gives the band (c: -0.32 to less than 0.19), not the score; 0.0 lies in that band
    "political_risk": {"governance_score": 0.0, "mitigations": ["paris_ndc"]},
    "natural": {"fire": {"significance": "minor", "likelihood": "more_than_once_per_10_years",
                         "mitigation": "prevention"},
                "pest_disease": {"significance": "minor", "likelihood": "25_to_50_years", "mitigation": "prevention"},
                "extreme_weather": {"significance": "insignificant", "likelihood": "25_to_50_years",
                                    "mitigation": "prevention"},
                "geological": {"significance": "not_applicable"},
                "sea_level_rise": {"significance": "not_applicable"}},
}


def test_published_v42_assessment_ecobliss():
    """The filled-in v4.2 non-permanence risk assessment of the Ecobliss ALM project (Ghana): GitHub
    mihirobendre/ecobliss-docs, ``NPRT.md`` (commit 0b5662183c6aa10cdba08c89210bfc7d96b774ec, 2025),
    Tables 1-11 and 15. It is a published assessment in the v4.2 layout but NOT a registered VCS project's
    report: no registered project's v4.2 report could be found in the reference corpora.

    Published: PM 0 (f 2, h -1, i -1), FV 0 (0 + 0 - 2, floored), OC 0, PL 25 - 50/4 = 12.5, internal 12.5;
    LT 0 (2 + 0 + 0 - 2 - 2, floored), SE 0, PR 2 - 2 = 0, external 0; natural 5 x 0.5 + 3 x 0.5 + 2 x 0.5 = 5;
    overall risk rating 17.5 (Table 15; its rows label internal and external the other way round, but Tables 5
    and 9 give internal 12.5 and external 0).
    """
    r = nprt_buffer(ECOBLISS, registration_requested=D(2024, 6, 1))
    assert r.categories["project_management"] == 0.0
    assert r.categories["financial_viability"] == 0.0
    assert r.categories["project_longevity"] == pytest.approx(12.5)
    assert r.categories["land_tenure"] == 0.0
    assert r.categories["political_risk"] == 0.0
    assert (r.internal, r.external) == (pytest.approx(12.5), 0.0)
    assert r.factors["natural"] == {"fire": 2.5, "pest_disease": 1.5, "extreme_weather": 1.0, "geological": 0.0,
                                    "sea_level_rise": 0.0}
    assert r.natural == pytest.approx(5.0)
    assert r.overall_rating_unrounded == pytest.approx(17.5)       # the published overall risk rating
    assert r.passed and r.tool_version == "4.2"
    # the buffer is not published: rounding up (an unverified rule) gives 18 %
    assert r.overall_rating == 18.0 and r.buffer_percent == 18.0
    assert "overall.round_overall" in {c.name for c in r.unverified}


# ------------------------------------------------------------------------------ the sample, by hand
def test_sample_answers_by_hand():
    r = nprt_buffer(EXAMPLE_ANSWERS, registration_requested=D(2024, 3, 1))
    # internal: PM 2 - 1 = 1, FV 1 + 1 = 2, OC max(0, 4 - 2 - 2) = 0, PL 25 - 40/4 = 15 -> 18
    # external: LT max(0, 2 + 0 + 0 + 0 - 2) = 0, SE 0, PR max(0, 2 - 2) = 0 -> 0
    # natural: fire minor/10-25 yr 4 x 0.5 = 2, pests insignificant/<= once per 100 yr 1 x 1, weather minor/25-50 yr 3
    assert (r.internal, r.external, r.natural) == (18.0, 0.0, 6.0)
    assert r.overall_rating == 24.0 and r.buffer_percent == 24.0 and r.passed
    assert r.assumptions == ()
    d = r.to_dict()
    json.dumps(d)
    assert d["tool_version"] == "4.2" and d["version_override"] is False
    assert {c["name"] for c in d["categories"]} >= {"project_longevity", "natural"}


def test_default_call_is_v42_and_states_the_registration_assumption():
    r = nprt_buffer(EXAMPLE_ANSWERS)                 # the chain's call: no registration date
    assert r.tool_version == "4.2" and r.buffer_percent == 24.0
    assert any("registration_requested is not given" in a for a in r.assumptions)


# ------------------------------------------------------------------------------ fail gates
@pytest.mark.parametrize("answers, question, words", [
    (patched(project_management={"adaptive_management_plan": False}),
     "deductions.nprt.project_management.adaptive_management_plan", "adaptive management plan"),
    (patched(project_longevity={"management_plan": False}),
     "deductions.nprt.project_longevity.management_plan", "management, financial and monitoring plan"),
    (patched(land_tenure={"due_process": False}), "deductions.nprt.land_tenure.due_process", "due process"),
    (patched(land_tenure={"binding_agreement": False}), "deductions.nprt.land_tenure.binding_agreement",
     "binding legal agreements"),
    (patched(project_longevity={"years": 39}), "deductions.nprt.project_longevity.years",
     "below the minimum of 40 years"),
    (patched(natural={"fire": {"significance": "catastrophic", "likelihood": "more_than_once_per_10_years"}}),
     "deductions.nprt.natural.fire", "catastrophic"),
])
def test_fail_gates_raise_with_the_tools_reason(answers, question, words):
    with pytest.raises(NPRTFailedError) as err:
        nprt_buffer(answers, registration_requested=D(2024, 3, 1))
    assert err.value.question == question and words in err.value.reason
    assert question in str(err.value) and "fails the AFOLU Non-Permanence Risk Tool v4.2" in str(err.value)
    assert isinstance(err.value, ConfigError)
    r = nprt_buffer(answers, registration_requested=D(2024, 3, 1), raise_on_fail=False)
    assert not r.passed and r.failures[0].question == question


def test_longevity_minimum_depends_on_the_registration_date():
    short = patched(project_longevity={"years": 35})
    with pytest.raises(NPRTFailedError, match="40 years"):
        nprt_buffer(short, registration_requested=D(2024, 1, 1))
    r = nprt_buffer(short, registration_requested=D(2023, 12, 31))            # 30-year minimum before 2024
    assert r.categories["project_longevity"] == pytest.approx(25 - 35 / 4)
    with pytest.raises(NPRTFailedError, match="30 years"):
        nprt_buffer(patched(project_longevity={"years": 29}), registration_requested=D(2023, 12, 31))
    with pytest.raises(NPRTFailedError):                                       # no date: the stricter minimum
        nprt_buffer(short)


def test_overall_above_the_ceiling_fails():
    high = patched(project_longevity={"years": 40, "legal_agreement": False},
                   stakeholder_engagement={"consulted_inside": "less_than_50", "consulted_outside": "less_than_20"},
                   political_risk={"governance_score": -1.0, "mitigations": []},
                   opportunity_cost={"alternative_npv": "alternative_gt_100", "mitigations": []},
                   natural={"fire": {"significance": "catastrophic", "likelihood": "10_to_25_years"}})
    r = nprt_buffer(high, raise_on_fail=False)
    # internal 1 + 2 + 8 + (30 - 40/5) = 33; external max(0, 2 - 2) + 15 + 6 = 21; natural 30 + 1 + 3 = 34 -> 88
    assert r.overall_rating == 88.0 and not r.passed and "exceeds 60" in r.failures[-1].reason
    with pytest.raises(NPRTFailedError) as err:
        nprt_buffer(high)
    assert err.value.question == "deductions.nprt"


# ------------------------------------------------------------------------------ longevity formula
@pytest.mark.parametrize("years, legal, expected", [
    (40, True, 15.0),          # 25 - 40/4
    (60, True, 10.0),          # 25 - 60/4
    (100, True, 0.0),          # 25 - 100/4
    (120, True, 0.0),          # 25 - 30 = -5, floored at 0
    (40, False, 22.0),         # 30 - 40/5 (v4.0's formula: unverified for v4.2)
])
def test_longevity_formula(years, legal, expected):
    r = nprt_buffer(patched(project_longevity={"years": years, "legal_agreement": legal}))
    assert r.categories["project_longevity"] == pytest.approx(expected)
    names = {c.name for c in r.unverified}
    assert ("project_longevity.formula.without_legal_agreement" in names) == (not legal)
    assert ("project_longevity.floor" in names) == (years > 100)


def test_binding_agreement_of_100_years_scores_zero_whatever_the_longevity():
    r = nprt_buffer(patched(project_longevity={"agreement_100_years": True, "years": 10}))
    assert r.categories["project_longevity"] == 0.0 and r.passed
    assert any("years is not asked" in a for a in r.assumptions)
    only = patched()
    only["project_longevity"] = {"agreement_100_years": True}               # the rest is not asked
    assert nprt_buffer(only).categories["project_longevity"] == 0.0


# ------------------------------------------------------------------------------ natural risk
@pytest.mark.parametrize("mitigation, expected", [
    ("none", 5.0), ("prevention", 2.5), ("containment", 2.5), ("prevention_and_containment", 1.25)])
def test_natural_mitigation_multipliers(mitigation, expected):
    """Major losses once every 10-25 years: LS = 5 (Table 10); M = 1, 0.5 (prevention or containment alone),
    0.25 (both)."""
    r = nprt_buffer(patched(natural={"fire": {"significance": "major", "likelihood": "10_to_25_years",
                                              "mitigation": mitigation}}))
    assert r.factors["natural"]["fire"] == pytest.approx(expected)


def test_insignificant_once_per_century_scores_one_in_v42():
    a = patched(natural={"extreme_weather": {"significance": "insignificant",
                                             "likelihood": "once_per_100_years_or_less"}})
    assert nprt_buffer(a).factors["natural"]["extreme_weather"] == 1.0
    assert load_tool(version="4.0")["natural"]["ls"][4][4] == 0           # v4.0: 0


def test_climate_change_is_not_scored_and_says_so():
    r = nprt_buffer(EXAMPLE_ANSWERS)
    cc = {c.name: c for c in r.unverified}["natural.climate_change"]
    assert cc.value == "not scored" and "climate" in cc.looked_for


# ------------------------------------------------------------------------------ minimum withholding
def test_minimum_withholding():
    low = patched(project_management={"risks": []},
                  financial_viability={"breakeven": "breakeven_4_or_less", "funding_secured": "funding_ge_80"},
                  project_longevity={"agreement_100_years": True},
                  natural={"fire": {"significance": "insignificant", "likelihood": "once_per_100_years_or_less"},
                           "extreme_weather": {"significance": "not_applicable"},
                           "pest_disease": {"significance": "not_applicable"}})
    r = nprt_buffer(low)
    # PM -1 (kept: the PM total is not floored), FV 0, OC 0, PL 0 -> internal max(0, -1) = 0; natural 1
    assert r.categories["project_management"] == -1.0 and r.internal == 0.0
    assert r.overall_rating == 1.0 and r.buffer_percent == 12.0 == r.minimum_buffer_percent
    names = {c.name for c in r.unverified}
    assert {"overall.minimum_buffer_percent", "project_management.floor", "overall.internal_floor"} <= names


# ------------------------------------------------------------------------------ version rule
V40 = {
    "project_management": {"risks": ["encroachment_enforcement"], "mitigations": ["experienced_team",
                                                                                 "adaptive_management"]},
    "financial_viability": {"breakeven": "breakeven_4_7", "funding_secured": "funding_40_80", "mitigations": []},
    "opportunity_cost": {"alternative_npv": "alternative_20_50",
                         "mitigations": ["nonprofit", "legal_commitment_crediting_period"]},
    "project_longevity": {"years": 40, "legal_agreement": True},
    "land_tenure": {"ownership": "different_entities", "disputes": [], "mitigations": ["legal_protection"]},
    "community_engagement": {"risks": [], "mitigations": ["net_positive_community_impacts"]},
    "political_risk": {"governance_score": -0.25, "mitigations": ["redd_readiness"]},
    "natural": {"fire": {"significance": "minor", "likelihood": "10_to_25_years", "mitigation": "prevention"},
                "extreme_weather": {"significance": "minor", "likelihood": "25_to_50_years"}},
}


def test_v40_on_a_2024_vintage_is_refused_without_override():
    with pytest.raises(NPRTVersionError) as err:
        nprt_buffer(V40, version="4.0", registration_requested=D(2021, 5, 1), vintages=[2022, 2024])
    assert err.value.key == "deductions.nprt_version" and "2024" in str(err.value)
    assert "nprt_override" in str(err.value)


@pytest.mark.parametrize("registered, vintages, words", [
    (D(2023, 8, 29), [2021], "not before 2023-08-29"),
    (None, [2021], "registration_requested is not given"),
    (D(2020, 1, 1), [2023], "2023 is after 2022"),
])
def test_v40_rule(registered, vintages, words):
    with pytest.raises(NPRTVersionError, match=words):
        check_tool_version("4.0", registration_requested=registered, vintages=vintages)


def test_v40_where_allowed_by_hand():
    r = nprt_buffer(V40, version="4.0", registration_requested=D(2021, 5, 1), vintages=[2020, 2021, 2022])
    # internal: PM 2-2-2 = -2, FV 1+1 = 2, OC max(0, 4-2-2) = 0, PL 24-40/5 = 16 -> 16
    # external: tenure max(0, 2-2) = 0, community -5, political max(0, 2-2) = 0 -> max(0, -5) = 0
    # natural: fire minor/10-25 yr 4 x 0.5 = 2, weather minor/25-50 yr 3 x 1 = 3 -> 5
    assert (r.internal, r.external, r.natural) == (16.0, 0.0, 5.0)
    assert r.buffer_percent == 21.0 and r.minimum_buffer_percent == 10.0
    assert r.version_check.allowed and not r.version_override
    assert all(c.unverified for c in r.unverified) and len(r.unverified) > 10   # the whole v4.0 file


def test_v40_override_is_flagged():
    r = nprt_buffer(V40, version="4.0", registration_requested=D(2024, 5, 1), vintages=[2024], override=True)
    assert r.version_override and r.to_dict()["version_override"] is True
    assert any("nprt_override" in a for a in r.assumptions)
    assert check_tool_version("4.2", vintages=[2030]).allowed


def test_unknown_version():
    with pytest.raises(NPRTVersionError, match="4.1"):
        nprt_buffer(EXAMPLE_ANSWERS, version="4.1")


def test_deductions_config_keys():
    leakage = {"leakage": {"beyond_belt": {"method": "not_applicable", "reason": "test"},
                           "market": {"method": "not_applicable", "reason": "test"}}}
    d = Deductions.model_validate({"nprt_version": "4.0", "nprt_override": True,
                                   "registration_requested": D(2023, 1, 2)} | leakage)
    assert (d.nprt_version, d.nprt_override, d.registration_requested) == ("4.0", True, D(2023, 1, 2))
    default = Deductions.model_validate(leakage)
    assert default.nprt_version == "4.2" and default.registration_requested is None
    from_toml = tomllib.loads("registration_requested = 2025-03-01\nnprt_version = '4.2'")
    assert Deductions.model_validate(from_toml | leakage).registration_requested == D(2025, 3, 1)
    with pytest.raises(ValueError):
        Deductions.model_validate({"nprt_version": "4.1"} | leakage)
    for name in ("nprt", "nprt_version", "nprt_override", "registration_requested"):
        assert Deductions.model_fields[name].description


# ------------------------------------------------------------------------------ validation up front
def test_every_problem_at_once():
    bad = copy.deepcopy(EXAMPLE_ANSWERS)
    bad["bogus"] = []
    bad["financial_viability"]["breakeven"] = "breakeven_soon"                 # outside the options
    bad["financial_viability"]["typo"] = 1                                     # unknown question
    del bad["project_management"]["risks"]                                     # missing answer
    bad["project_longevity"]["arr_ifm_harvesting"] = True                      # rule not transcribed
    bad["opportunity_cost"]["mitigations"] = ["legal_commitment_crediting_period", "legal_commitment_100_years"]
    bad["political_risk"]["governance_score"] = 7
    bad["natural"]["volcano"] = {}
    bad["natural"]["fire"] = {"significance": "huge", "likelihood": "10_to_25_years"}
    del bad["natural"]["geological"]
    problems = check_answers(bad)
    by_key = {p.key: p for p in problems}
    assert {"deductions.nprt.bogus", "deductions.nprt.financial_viability.breakeven",
            "deductions.nprt.financial_viability.typo", "deductions.nprt.project_management.risks",
            "deductions.nprt.project_longevity.arr_ifm_harvesting", "deductions.nprt.opportunity_cost.mitigations",
            "deductions.nprt.political_risk.governance_score", "deductions.nprt.natural.volcano",
            "deductions.nprt.natural.fire.significance", "deductions.nprt.natural.geological"} == set(by_key)
    b = by_key["deductions.nprt.financial_viability.breakeven"]
    assert b.kind == "not_allowed" and "breakeven_4_7" in b.allowed and "payback period" in b.message
    assert by_key["deductions.nprt.project_management.risks"].kind == "missing"
    assert by_key["deductions.nprt.project_longevity.arr_ifm_harvesting"].kind == "unsupported"
    assert by_key["deductions.nprt.opportunity_cost.mitigations"].kind == "exclusive"
    assert by_key["deductions.nprt.financial_viability.typo"].kind == "unknown"
    with pytest.raises(NPRTAnswerError) as err:
        nprt_buffer(bad)
    assert len(err.value.problems) == len(problems) and f"{len(problems)} problems" in str(err.value)
    assert str(err.value).startswith("deductions.nprt.bogus")
    assert check_answers(EXAMPLE_ANSWERS) == ()


@pytest.mark.parametrize("patch, key", [
    ({"financial_viability": ["breakeven_soon"]}, "deductions.nprt.financial_viability"),
    ({"political_risk": {"governance_score": "high", "mitigations": []}}, "deductions.nprt.political_risk.governance_score"),
    ({"project_management": {"adaptive_management_plan": "yes", "risks": [], "mitigations": []}},
     "deductions.nprt.project_management.adaptive_management_plan"),
    ({"land_tenure": None}, "deductions.nprt.land_tenure"),
    ({"natural": {"fire": "bad"}}, "deductions.nprt.natural.fire"),
])
def test_wrong_shapes_name_the_key_and_the_allowed_answers(patch, key):
    answers = {k: v for k, v in (copy.deepcopy(EXAMPLE_ANSWERS) | patch).items() if v is not None}
    problems = check_answers(answers)
    assert key in {p.key for p in problems}
    with pytest.raises(ConfigError) as err:
        nprt_buffer(answers)
    assert key in str(err.value)
    if key.endswith("financial_viability"):
        assert "breakeven_4_or_less" in str(err.value)


def test_registration_answer_must_agree_with_the_date():
    a = patched(project_longevity={"registration_from_2024": False})
    assert [p.kind for p in check_answers(a, registration_requested=D(2024, 2, 1))] == ["conflict"]
    assert check_answers(a, registration_requested=D(2023, 2, 1)) == ()


def test_subsistence_driven_baseline_asks_q3_instead_of_q2():
    a = patched(opportunity_cost={"subsistence_driven": True, "net_positive_community_impacts": True})
    r = nprt_buffer(a)
    assert r.categories["opportunity_cost"] == 0.0
    assert any("alternative_npv is not asked" in x for x in r.assumptions)
    b = copy.deepcopy(EXAMPLE_ANSWERS)
    b["opportunity_cost"] = {"subsistence_driven": True, "net_positive_community_impacts": False}
    assert [p.kind for p in check_answers(b)] == ["unsupported"]


# ------------------------------------------------------------------------------ reference and the tool file
def test_reference_has_every_question_and_answer_in_the_tools_wording():
    ref = answers_reference()
    json.dumps(ref)
    assert ref["version"] == "4.2" and ref["key"] == "deductions.nprt"
    qs = {q["key"]: q for c in ref["categories"] for q in c["questions"]}
    fv = qs["deductions.nprt.financial_viability.breakeven"]
    assert fv["q"] == "Q1" and "payback" in fv["wording"]
    codes = {a["code"]: a for a in fv["answers"]}
    assert codes["breakeven_4_7"]["score"] == 1 and codes["breakeven_4_7"]["unverified"]
    assert codes["breakeven_4_or_less"]["score"] == 0 and not codes["breakeven_4_or_less"]["unverified"]
    gate = qs["deductions.nprt.project_management.adaptive_management_plan"]
    assert gate["gate"] and gate["fails_if"] is False
    for q in qs.values():
        assert q["wording"] and q["answers"] or q["kind"] == "number"
        assert all(a["wording"] for a in q["answers"])
    assert ref["natural"]["ls"]["insignificant"]["once_per_100_years_or_less"] == 1
    assert {m["code"]: m["factor"] for m in ref["natural"]["mitigation"]}["prevention_and_containment"] == 0.25
    assert "minimum_buffer" in ref["overall"]["unverified"]
    assert answers_reference("4.0")["version"] == "4.0"


@pytest.mark.parametrize("version", ["4.2", "4.0"])
def test_every_constant_has_a_source_and_every_unverified_one_says_what_was_looked_for(version):
    tool = tomllib.loads(resources.files("reddplus.accounting").joinpath(
        f"nprt_v{version.replace('.', '_')}.toml").read_text(encoding="utf-8"))
    assert tool["version"] == version
    for cat in tool["categories"].values():
        for q in cat["questions"].values():
            for a in [*q.get("answers", {}).values(), *q.get("bands", [])]:
                assert a.get("source") and "score" in a and a.get("wording")
                if a.get("unverified"):
                    assert a.get("looked_for")
        for name, f in cat.get("formula", {}).items():
            assert f.get("source"), name
    ov = tool["overall"]
    for k in ("minimum_buffer", "fail_above", "round"):
        assert ov.get(f"{k}_source")
        if ov.get(f"{k}_unverified"):
            assert ov.get(f"{k}_looked_for")
    assert tool["natural"]["ls_source"] and tool["natural"]["mitigation_source"]
