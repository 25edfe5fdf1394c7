"""Typed, frozen results of each step of a crediting run, and :class:`CreditingResults`, their sum.

Paths inside results are relative to the run directory (``rasters/density_vp.tif``), so a
results object means the same before and after the run folder is published.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from reddplus.accounting import CreditsTable, EmissionFactor, NPRTResult
from reddplus.baseline.allocation import AllocationResult
from reddplus.baseline.rate import RateResult
from reddplus.landcover import ActivityResult
from reddplus.project import ProjectConfig
from reddplus.registry.issuance import IssuanceResult
from reddplus.risk.tools import RiskResult
from reddplus.stocks import ProjectStock, StratumStock


# --------------------------------------------------------------------------------------------- steps
@dataclass(frozen=True)
class StratumCarbon:
    """One carbon stratum: its code on the stratum raster, name, stock and forest area in the project."""

    code: int
    name: str
    stock: StratumStock
    forest_area_ha: float

    def to_dict(self) -> dict:
        return {"code": self.code, "name": self.name, "forest_area_ha": self.forest_area_ha, **self.stock.to_dict()}


@dataclass(frozen=True)
class StocksResult:
    """Carbon stocks: per stratum [t CO2e/ha] and the project total [t CO2e] with its 90 % interval.

    ``source`` is ``"inventory"`` (tree plots, Monte Carlo) or ``"strata"`` (a per-stratum stock
    table from a previous assessment: mean and standard error of the mean).
    """

    source: str
    strata: tuple[StratumCarbon, ...]
    project_stock: ProjectStock
    agb_stock_tco2: float
    agb_stock_tco2_ci90: tuple[float, float]
    plots: dict | None

    def stratum(self, code: int) -> StratumCarbon:
        return next(s for s in self.strata if s.code == code)

    @property
    def codes(self) -> tuple[int, ...]:
        return tuple(s.code for s in self.strata)

    def to_dict(self) -> dict:
        return {"source": self.source, "strata": [s.to_dict() for s in self.strata],
                "project_stock": self.project_stock.to_dict(), "agb_stock_tco2": self.agb_stock_tco2,
                "agb_stock_tco2_ci90": list(self.agb_stock_tco2_ci90), "plots": self.plots}


@dataclass(frozen=True)
class ActivityStepResult:
    """Deforestation per year [ha/yr] in the jurisdiction, project and leakage belt (a period's loss
    spread evenly over its years), per project stratum, and the jurisdiction's table per admin unit."""

    jurisdiction_ha_per_year: dict[int, float]
    project_ha_per_year: dict[int, float]
    project_by_stratum_ha_per_year: dict[int, dict[int, float]] | None   # year -> stratum code -> ha/yr
    leakage_belt_ha_per_year: dict[int, float]
    by_admin: ActivityResult | None

    def to_dict(self) -> dict:
        return {"jurisdiction_ha_per_year": self.jurisdiction_ha_per_year,
                "project_ha_per_year": self.project_ha_per_year,
                "leakage_belt_ha_per_year": self.leakage_belt_ha_per_year,
                "by_admin": self.by_admin.to_dict() if self.by_admin is not None else None}


@dataclass(frozen=True)
class ReferenceActivityResult:
    """Activity data estimated from the reference sample, per period, with the map counts beside them."""

    sample: Any                     # reddplus.accuracy.reference.ReferenceSampleActivity (frozen)

    def to_dict(self) -> dict:
        return self.sample.to_dict()


@dataclass(frozen=True)
class RateStepResult:
    """The jurisdictional expected deforestation [ha/yr] of a validity period and its activity data's error.

    ``relative_standard_error`` is the sampling error of the HRP estimate (a reference sample), or
    None when the rate comes from map counts, which carry none.
    """

    rate: RateResult
    relative_standard_error: float | None
    source: str                     # "reference_sample" | "map_counts"
    note: str = ""

    def to_dict(self) -> dict:
        return self.rate.to_dict() | {"relative_standard_error": self.relative_standard_error, "source": self.source,
                                      "note": self.note}


@dataclass(frozen=True)
class BaselineFit:
    """One fit of the baseline, for the validity periods it covers (the first is fitted, the others reuse it).

    ``model`` is what the allocation used: ``"benchmark"``, ``"alternative:NAME"`` or ``"allocated"``;
    ``reason`` says why. ``benchmark_allocation`` is the benchmark's, beside an alternative's.
    """

    periods: tuple                  # reddplus.baseline.validity.ValidityPeriod
    years: tuple[int, ...]
    rate: RateStepResult | None
    risk: RiskResult | None
    alternative: Any                # reddplus.risk.compare.AlternativeResult | None
    scenario: Any                   # reddplus.baseline.scenario.ScenarioResult | None (the alternative's maps)
    allocation: AllocationResult | None
    benchmark_allocation: AllocationResult | None
    allocated: Any                  # reddplus.baseline.allocated.AllocatedBaseline | None
    model: str
    reason: str
    allocated_project_strata: dict = field(default_factory=dict)   # allocated map: stratum code -> ha/yr
    projected_years: tuple[int, ...] = ()   # allocated map: years after its own, carrying its last year forward

    def ha_per_year(self, zone: str) -> dict[int, float]:
        """The baseline deforestation of a zone [ha/yr] in each year of this fit."""
        if self.allocated is not None:
            per = self.allocated.ha_per_year(zone) if zone in self.allocated.zone_ha_per_year else {}
            last = per.get(self.allocated.years[-1], 0.0) if per else 0.0
            return {y: float(last if y in self.projected_years else per.get(y, 0.0)) for y in self.years}
        a = self.allocation
        return dict(zip(a.years, a.zone_ha_per_year.get(zone, (0.0,) * len(a.years))))

    def to_dict(self) -> dict:
        return {"validity_periods": [p.to_dict() for p in self.periods], "years": list(self.years),
                "projected_years": list(self.projected_years),
                "model": self.model, "reason": self.reason,
                "rate": self.rate.to_dict() if self.rate else None, "risk": self.risk.to_dict() if self.risk else None,
                "alternative": self.alternative.to_dict() if self.alternative is not None else None,
                "scenario": self.scenario.to_dict() if self.scenario is not None else None,
                "allocation": self.allocation.to_dict() if self.allocation else None,
                "benchmark_allocation": self.benchmark_allocation.to_dict() if self.benchmark_allocation else None,
                "allocated": self.allocated.to_dict() if self.allocated is not None else None}


@dataclass(frozen=True)
class BaselineResult:
    """The baseline of every crediting year: who made it (``source``), the validity periods, and the fits.

    ``source`` is ``"vt0007"`` (this run made it) or ``"allocated"`` (a delivered allocation);
    ``model`` what the first validity period uses; ``allocated_outputs`` the allocated map and CSV
    a VT0007 run writes for a project run to read.
    """

    source: str
    validity: Any                   # reddplus.baseline.validity.ValidityPeriods
    fits: tuple[BaselineFit, ...]
    project_ha_per_year: dict[int, float]
    leakage_belt_ha_per_year: dict[int, float]
    project_ha_by_stratum: dict[int, float]
    allocated_outputs: dict = field(default_factory=dict)

    @classmethod
    def from_fits(cls, source: str, validity, fits, outputs: dict, *, years, root: Path) -> "BaselineResult":
        project, belt, strata = {}, {}, {}
        for f in fits:
            project |= f.ha_per_year("project")
            belt |= f.ha_per_year("leakage_belt")
            for h, ha in _project_strata(f, root).items():
                strata[h] = strata.get(h, 0.0) + ha
        return cls(source, validity, tuple(fits), {y: project[y] for y in years},
                   {y: belt.get(y, 0.0) for y in years}, strata, dict(outputs))

    @property
    def model(self) -> str:
        return self.fits[0].model

    @property
    def reason(self) -> str:
        return self.fits[0].reason

    @property
    def label(self) -> str:
        """What the credits use, in words (report and choices)."""
        m = self.model
        if m == "allocated":
            return "delivered allocated risk map (VT0007 allocation)"
        return "VT0007 benchmark risk map" if m == "benchmark" else f"{m} (VT0007 alternative risk map)"

    def fit_of(self, year: int) -> BaselineFit:
        return next(f for f in self.fits if year in f.years)

    def to_dict(self) -> dict:
        return {"source": self.source, "model": self.model, "reason": self.reason, "validity": self.validity.to_dict(),
                "fits": [f.to_dict() for f in self.fits], "project_ha_per_year": self.project_ha_per_year,
                "leakage_belt_ha_per_year": self.leakage_belt_ha_per_year,
                "project_ha_by_stratum": {str(h): v for h, v in self.project_ha_by_stratum.items()},
                "allocated_outputs": {k: str(v) for k, v in self.allocated_outputs.items()}}


def _project_strata(fit: BaselineFit, root: Path) -> dict[int, float]:
    """Baseline deforestation of the project per stratum code [ha], summed over the fit's years."""
    if fit.allocation is not None:
        per = fit.allocation.zone_stratum_ha_per_year.get("project", {})
        return {int(h): float(sum(v)) for h, v in per.items()}
    return {h: ha * len(fit.years) for h, ha in fit.allocated_project_strata.items()}


@dataclass(frozen=True)
class EmissionFactorsResult:
    """Emission factors [t CO2e/ha] per stratum, and of the baseline deforestation (strata weighted)."""

    by_stratum: dict[int, EmissionFactor]
    baseline: EmissionFactor
    weights: dict[int, float]
    pools: Any = None               # reddplus.accounting.pools.PoolsResult
    post_deforestation: Any = None  # reddplus.accounting.pools.PostDeforestationStock
    weighting: Any = None           # reddplus.accounting.pools.BaselineEmissionFactor

    def to_dict(self) -> dict:
        return {"by_stratum": {str(h): ef.to_dict() for h, ef in self.by_stratum.items()},
                "weights": {str(h): w for h, w in self.weights.items()}, "mean_tco2e_per_ha": self.baseline.mean,
                "sd_tco2e_per_ha": self.baseline.sd,
                "pools": self.pools.to_dict() if self.pools is not None else None,
                "post_deforestation": self.post_deforestation.to_dict() if self.post_deforestation else None,
                "weighting": self.weighting.to_dict() if self.weighting is not None else None}


@dataclass(frozen=True)
class CreditsResult:
    """Deductions and net credits: the buffer, leakage, the uncertainty deductions, ex-ante and ex-post credits.

    ``uncertainty`` is the ex-ante projection's; ``uncertainty_by_period`` and ``leakage_by_period``
    belong to the monitoring periods, in order, and are what the ex-post vintages were credited with.
    """

    nprt: NPRTResult
    uncertainty: Any                # reddplus.accounting.PeriodUncertainty (ex-ante, crediting period)
    ex_ante: CreditsTable
    ex_post: CreditsTable | None
    baseline_emissions_tco2e_per_year: dict[int, float]
    baseline_emissions_sd_tco2e_per_year: dict[int, float]
    ex_ante_avoided_tco2e_per_year: dict[int, float]
    uncertainty_by_period: tuple = ()
    leakage_ex_ante: Any = None     # reddplus.accounting.LeakageResult
    leakage_by_period: tuple = ()
    ex_ante_project_ha_per_year: float | None = None   # the ex-ante project deforestation before the cap [ha/yr]

    @property
    def uncertainty_deduction_percent(self) -> float:
        """The deduction credited: the monitoring period's (the largest of several), else the ex-ante one [%]."""
        if self.uncertainty_by_period:
            return max(u.deduction_percent for u in self.uncertainty_by_period)
        return self.uncertainty.deduction_percent

    @property
    def net_vcus_by_vintage(self) -> dict[int, int]:
        return {r.year: int(r.vcus) for r in self.ex_post.rows} if self.ex_post else {}

    @property
    def buffer_by_vintage(self) -> dict[int, int]:
        return {r.year: int(r.buffer) for r in self.ex_post.rows} if self.ex_post else {}

    @property
    def ex_ante_vcus_by_vintage(self) -> dict[int, int]:
        return {r.year: int(r.vcus) for r in self.ex_ante.rows}

    def to_dict(self) -> dict:
        return {"nprt": self.nprt.to_dict(), "uncertainty_ex_ante": self.uncertainty.to_dict(),
                "uncertainty_by_monitoring_period": [u.to_dict() for u in self.uncertainty_by_period],
                "leakage_ex_ante": self.leakage_ex_ante.to_dict() if self.leakage_ex_ante is not None else None,
                "leakage_by_monitoring_period": [lk.to_dict() for lk in self.leakage_by_period],
                "ex_ante": self.ex_ante.to_dict(), "ex_post": self.ex_post.to_dict() if self.ex_post else None,
                "baseline_emissions_tco2e_per_year": self.baseline_emissions_tco2e_per_year,
                "ex_ante_avoided_tco2e_per_year": self.ex_ante_avoided_tco2e_per_year,
                "ex_ante_project_deforestation_ha_per_year": self.ex_ante_project_ha_per_year}


@dataclass(frozen=True)
class CounterfactualStepResult:
    """The pixel-matching counterfactual and the baseline's over-crediting ratio against it."""

    result: Any                     # reddplus.counterfactual.tool.CounterfactualResult (frozen)
    overcrediting: Any              # reddplus.counterfactual.outcomes.OvercreditingRatio (frozen)

    def control_emissions_per_year(self, years, emission_factor_tco2e_per_ha: float) -> list[tuple[float, ...]]:
        """Matched-control deforestation x EF per year [t CO2e/yr]: (median, 5 %, 95 %) over the repeats."""
        cy, cvals = self.result.control_deforestation_per_year()
        ef = emission_factor_tco2e_per_ha
        m = {int(y): v for y, v in zip(cy, np.asarray(cvals).T)}
        return [(float(np.median(m[y])) * ef, float(np.quantile(m[y], 0.05)) * ef,
                 float(np.quantile(m[y], 0.95)) * ef) if y in m else (np.nan,) * 3 for y in years]

    def to_dict(self) -> dict:
        return self.result.to_dict(self.overcrediting)


# --------------------------------------------------------------------------------------------- the run
@dataclass(frozen=True)
class CcbStepResult:
    """The CCB v3.1 monitoring of the run: indicators, checklist, and the section written into the run."""

    results: Any                    # reddplus.ccb.results.CcbResults (frozen)
    section_html: Path
    fragment: str = field(repr=False, default="")

    def to_dict(self) -> dict:
        return self.results.to_dict() | {"section_html": str(self.section_html)}


@dataclass(frozen=True)
class CreditingResults:
    """Everything a crediting run produced, one typed field per step; the report renders this alone.

    ``out_dir`` is the published run directory; every path in the step results is relative to it.
    """

    config: ProjectConfig
    out_dir: Path
    project_area_ha: float
    dates: tuple[int, ...]
    stocks: StocksResult
    activity: ActivityStepResult
    reference: ReferenceActivityResult | None
    baseline: BaselineResult
    emission_factors: EmissionFactorsResult
    counterfactual: CounterfactualStepResult | None
    credits: CreditsResult
    ccb: CcbStepResult | None
    issuance: IssuanceResult | None
    manifest: dict
    choices: tuple = ()             # reddplus.chain.choices.Choice, in the order of the chain
    warnings: tuple[str, ...] = ()  # every reddplus warning the run raised, in order
    generated: bool = False
    with_pdf: bool = True
    seconds: float = 0.0

    # ---- convenience views (the command-line contract's names)
    @property
    def project_name(self) -> str:
        return self.config.project.name

    @property
    def risk(self) -> RiskResult | None:
        """The first validity period's benchmark risk map (None with a delivered allocation)."""
        return self.baseline.fits[0].risk

    @property
    def rate(self) -> RateStepResult | None:
        """The first validity period's jurisdictional rate (None with a delivered allocation)."""
        return self.baseline.fits[0].rate

    @property
    def report_html(self) -> Path:
        return self.out_dir / "report.html"

    @property
    def report_pdf(self) -> Path | None:
        return self.out_dir / "report.pdf" if self.with_pdf else None

    @property
    def net_vcus_by_vintage(self) -> dict[int, int]:
        return self.credits.net_vcus_by_vintage

    @property
    def buffer_by_vintage(self) -> dict[int, int]:
        return self.credits.buffer_by_vintage

    @property
    def agb_stock_tco2(self) -> float:
        return self.stocks.agb_stock_tco2

    @property
    def agb_stock_tco2_ci90(self) -> tuple[float, float]:
        return self.stocks.agb_stock_tco2_ci90

    @property
    def baseline_emissions_tco2e_per_year(self) -> dict[int, float]:
        return self.credits.baseline_emissions_tco2e_per_year

    @property
    def ex_ante_avoided_tco2e_per_year(self) -> dict[int, float]:
        return self.credits.ex_ante_avoided_tco2e_per_year

    @property
    def buffer_percent(self) -> float:
        return float(self.credits.nprt.buffer_percent)

    @property
    def uncertainty_deduction_percent(self) -> float:
        return self.credits.uncertainty_deduction_percent

    @property
    def overcrediting_ratio(self) -> dict | None:
        return self.counterfactual.overcrediting.to_dict() if self.counterfactual is not None else None

    def path(self, relative: str | Path) -> Path:
        """A run file's absolute path."""
        return self.out_dir / relative

    def summary(self) -> dict:
        """The JSON summary of ``reddplus run/demo --json`` (the command-line contract)."""
        from reddplus.sample.reference import reference_summary

        c = self.credits
        credited = c.ex_post if c.ex_post is not None else c.ex_ante
        avoided = list(c.ex_ante_avoided_tco2e_per_year.values())
        return {
            "project": self.project_name,
            "generated_sample": self.generated,
            "project_area_ha": self.project_area_ha,
            "agb_stock_tco2": self.agb_stock_tco2,
            "agb_stock_tco2_ci90": list(self.stocks.agb_stock_tco2_ci90),
            "baseline_emissions_tco2e_per_year": {str(y): v for y, v in c.baseline_emissions_tco2e_per_year.items()},
            "ex_ante_avoided_tco2e_per_year": {str(y): v for y, v in c.ex_ante_avoided_tco2e_per_year.items()},
            "ex_ante_avoided_tco2e_per_year_range": [min(avoided), max(avoided)] if avoided else None,
            "net_vcus_by_vintage": {str(y): v for y, v in self.net_vcus_by_vintage.items()},
            "buffer_by_vintage": {str(y): v for y, v in self.buffer_by_vintage.items()},
            "buffer_percent": float(c.nprt.buffer_percent),
            "ex_ante_vcus_by_vintage": {str(y): v for y, v in c.ex_ante_vcus_by_vintage.items()},
            "nprt_version": c.nprt.tool_version,
            "uncertainty_rule": self.config.deductions.uncertainty_rule,
            "uncertainty_deduction_percent": c.uncertainty_deduction_percent,
            "uncertainty_deduction_percent_by_monitoring_period": {
                f"{u.period[0]}-{u.period[1]}": u.deduction_percent for u in c.uncertainty_by_period},
            "leakage_tco2e": {str(y): v for y, v in credited.leakage_by_vintage().items()},
            "reversals": {str(y): v for y, v in credited.reversals_by_vintage().items()},
            "overcrediting_ratio": self.overcrediting_ratio,
            "baseline_source": self.baseline.source,
            "baseline_model": self.baseline.model,
            "vt0007_profile": self.config.baseline.vt0007_profile,
            "validity_periods": [p.to_dict() for p in self.baseline.validity.periods],
            "baseline_deforestation_ha": {str(y): {"project": self.baseline.project_ha_per_year[y],
                                                   "leakage_belt": self.baseline.leakage_belt_ha_per_year.get(y, 0.0)}
                                          for y in self.baseline.project_ha_per_year},
            "ccb": self.ccb.to_dict() if self.ccb is not None else None,
            "choices": [ch.to_dict() for ch in self.choices],
            "warnings": list(self.warnings),
            "reference": reference_summary() if self.generated else None,
            "report_html": str(self.report_html),
            "report_pdf": str(self.report_pdf) if self.report_pdf else None,
            "out_dir": str(self.out_dir),
            "seconds": round(self.seconds, 1),
        }

    def headline(self) -> list[dict]:
        """Headline figures; for the built-in sample, beside the reference project's figures."""
        from reddplus.sample.reference import reference_comparison

        avoided = list(self.credits.ex_ante_avoided_tco2e_per_year.values())
        mean_avoided = float(np.mean(avoided)) if avoided else float("nan")
        a_lo, a_hi = self.stocks.agb_stock_tco2_ci90
        rows = [
            {"key": "project_area_ha", "label": "Project area [ha]", "value": f"{self.project_area_ha:,.0f}"},
            {"key": "agb_stock_tco2", "label": "AGB stock [t CO2e] (90% CI)",
             "value": f"{self.agb_stock_tco2 / 1e6:,.1f} M ({a_lo / 1e6:,.1f}–{a_hi / 1e6:,.1f} M)"},
            {"key": "avoided", "label": "Ex-ante avoided emissions [t CO2e/yr] (mean, min–max over the crediting "
                                        "period)",
             "value": f"{mean_avoided:,.0f} ({min(avoided):,.0f}–{max(avoided):,.0f})" if avoided else "—"},
        ]
        c = self.credits
        if c.ex_post is not None:       # a monitoring run: what is issued
            vcus, buffer, which = self.net_vcus_by_vintage, self.buffer_by_vintage, "ex-post"
        else:                           # an ex-ante run: what the projection would give
            vcus = c.ex_ante_vcus_by_vintage
            buffer, which = {r.year: int(r.buffer) for r in c.ex_ante.rows}, "ex-ante projection"
        rows += [
            {"key": "vcus", "label": f"Net VCUs by vintage ({which}) [t CO2e]",
             "value": ", ".join(f"{y}: {v:,}" for y, v in vcus.items()) or "—"},
            {"key": "buffer", "label": f"Buffer [% / credits] ({which})",
             "value": f"{c.nprt.buffer_percent:g}% / {sum(buffer.values()):,}"},
        ]
        ref = reference_comparison(self.project_area_ha, self.agb_stock_tco2, mean_avoided) if self.generated else {}
        out = []
        for r in rows:
            reference, difference = ref.get(r.pop("key"), ("—", "—"))
            out.append(r | {"reference": reference, "difference": difference})
        if self.overcrediting_ratio:
            o = self.overcrediting_ratio
            from reddplus.chain.choices import unbalanced_covariates

            flag = (" ⚑ covariate balance beyond tolerance after matching (choices: counterfactual.enabled)"
                    if unbalanced_covariates(self.counterfactual) else "")
            out.append({"label": "Over-crediting ratio (baseline / matched controls)",
                        "value": f"{o['overcrediting_ratio']:.2f} ({o['low']:.2f}–{o['high']:.2f})" + flag,
                        "reference": "1.00 = baseline agrees with the counterfactual", "difference": "—"})
        return out

    def headline_lines(self) -> list[str]:
        """The headline as text lines (printed by ``reddplus run`` / ``demo`` without ``--json``)."""
        title = f"{self.project_name}" + ("  [GENERATED sample, not real project data]" if self.generated else "")
        lines = [title]
        for r in self.headline():
            ref = f"   (reference {r['reference']}; {r['difference']})" if r["reference"] != "—" else ""
            lines.append(f"  {r['label']}: {r['value']}{ref}")
        flagged = [ch for ch in self.choices if ch.flag]
        if flagged:
            lines.append("  Assumptions and flags (the report's choices table explains each):")
            lines += [f"    ⚑ {ch.key} = {ch.value}" for ch in flagged]
        if self.warnings:
            lines.append(f"  Warnings: {len(self.warnings)} (summary.json and the report list them)")
        return lines

    def to_dict(self) -> dict:
        """``results.json``: every step's result."""
        skip = {"config", "out_dir", "manifest", "generated", "with_pdf", "seconds", "project_area_ha", "dates",
                "choices", "warnings"}   # the CCB section's fragment is HTML, not results
        out: dict[str, Any] = {"project_area_ha": self.project_area_ha, "dates": list(self.dates),
                               "choices": [c.to_dict() for c in self.choices], "warnings": list(self.warnings)}
        for f in fields(self):
            if f.name not in skip:
                v = getattr(self, f.name)
                out[f.name] = v.to_dict() if v is not None else None
        return out


