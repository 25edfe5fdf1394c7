"""Uncertainty of the credited emission reductions by Monte Carlo, and the uncertainty deduction.

Two layers live here:

* the per-monitoring-period propagation that VM0048 / VMD0055 v1.1 call for
  (:func:`period_uncertainty`): activity-data sampling error from a reference sample
  (:func:`activity_from_sample`; map counts carry none and say so, :func:`activity_from_map_counts`),
  the emission factor's error (plot Monte Carlo draws or a stock table's standard error,
  :func:`ef_from_draws`, :func:`ef_from_se`), an optional allocation error, combined in one seeded
  Monte Carlo and turned into a deduction by a *named* rule (:data:`UNCERTAINTY_RULES`);
* the older whole-crediting-period helpers (:func:`combined_uncertainty`,
  :func:`uncertainty_deduction`), kept for the ex-ante table.

What could and could not be read
--------------------------------
The reference store holds only the opening pages (title and contents) of VM0048 v1.0
(27 November 2023) and VMD0055 v1.1 (21 October 2024); their uncertainty section and equations
could not be read. The deduction is therefore a named rule, ``uncertainty_rule`` in the config.
The default, ``vcs_halfwidth_excess``, is the VCS rule: no deduction while the half-width of the
confidence interval is at most an allowable share of the mean, the excess deducted one for one.
Its threshold and confidence level are config keys. Every result carries that assumption as a
string, so the report can state it.

References
----------
1. Verra (2023) VM0048 v1.0, Reducing Emissions from Deforestation and Forest Degradation
   (quantification and uncertainty; the section could not be read in this build: the copy in the
   reference store ends its contents at section 6).
2. Verra (2024) VMD0055 v1.1, Estimation of emission reductions from avoiding unplanned
   deforestation, section 5.3 (quantification; uncertainty text not read in this build).
3. Verra, VCS Methodology Requirements v4.4 (uncertainty: a confidence deduction where the 90 %
   confidence interval is wider than 20 % of the estimate, i.e. a half-width above 10 %; clause
   not re-read in this build).
4. Verra VM0007 v1.6 REDD+ Methodology Framework, module X-UNC, eq. 5 (the 15 % rule).
5. IPCC (2006) vol. 1, ch. 3, section 3.2.3: approach 1 (error propagation, eq. 3.1-3.2) and
   approach 2 (Monte Carlo simulation).
6. Olofsson, P. et al. (2014) Remote Sens. Environ. 148:42-57, doi:10.1016/j.rse.2014.02.015,
   eq. 11-12 (stratified area estimate and its standard error).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy import stats

from reddplus.errors import ConfigError, InputDataError


def uncertainty_deduction(halfwidth_percent: float, allowable_halfwidth_percent: float = 15.0) -> float:
    """Share of the emission reductions to deduct [0..1] for their uncertainty.

    .. math:: d = \\max(0, U - U_{allow}) / 100,\\quad U = 100\\,\\frac{CI^{90\\%}_{half}}{\\mu}

    No deduction when the 90 % CI half-width is at most 15 % of the mean; otherwise the excess is
    deducted (VM0007 X-UNC eq. 5; VMD0017 section 5). Capped at 1.
    """
    if not np.isfinite(halfwidth_percent) or halfwidth_percent < 0:
        raise InputDataError(f"uncertainty half-width must be >= 0 %, got {halfwidth_percent}",
                             column="halfwidth_percent")
    return float(min(1.0, max(0.0, halfwidth_percent - allowable_halfwidth_percent) / 100.0))


@dataclass(frozen=True)
class UncertaintyResult:
    """Monte Carlo distribution summary of the total emission reductions [t CO2e]."""

    mean: float
    ci: tuple[float, float]
    halfwidth_percent: float
    deduction_fraction: float
    confidence: float
    draws: int
    seed: int | None

    def to_dict(self) -> dict:
        return {"mean_tco2e": self.mean, "ci_tco2e": list(self.ci), "confidence": self.confidence,
                "halfwidth_percent": self.halfwidth_percent, "deduction_percent": 100 * self.deduction_fraction,
                "draws": self.draws, "seed": self.seed}


def combined_uncertainty(activity_ha, activity_sd_ha, ef_mean: float, ef_sd: float, *, draws: int = 10_000,
                         seed: int | None = None, confidence: float = 0.90,
                         allowable_halfwidth_percent: float = 15.0) -> UncertaintyResult:
    """Combine activity-data and emission-factor uncertainty by Monte Carlo.

    Parameters
    ----------
    activity_ha : array [ha]
        Avoided deforestation per year (or one total).
    activity_sd_ha : array [ha]
        Its standard deviation per year. The activity errors of the years are drawn fully
        correlated (one standard normal per draw: they share the jurisdictional rate), which is
        the conservative choice.
    ef_mean, ef_sd : float [t CO2e/ha]
    draws : int
    seed : int, optional
    confidence : float
        Two-sided interval level (VCS: 0.90).

    Notes
    -----
    .. math:: ER^{(d)} = \\sum_y \\max(0, A_y + \\sigma_{A,y} z^{(d)}_A)\\,\\max(0, EF + \\sigma_{EF} z^{(d)}_{EF})

    Returns
    -------
    UncertaintyResult
        Mean, interval [t CO2e], half-width in % of the mean and the deduction share.
    """
    a = np.atleast_1d(np.asarray(activity_ha, dtype=float))
    s = np.broadcast_to(np.asarray(activity_sd_ha, dtype=float), a.shape)
    if (a < 0).any() or (s < 0).any() or ef_mean < 0 or ef_sd < 0:
        raise InputDataError("areas, emission factor and their standard deviations must be >= 0",
                             column="activity_ha")
    if draws < 100:
        raise InputDataError("at least 100 Monte Carlo draws", column="draws")
    rng = np.random.default_rng(seed)
    za = rng.standard_normal(draws)
    ze = rng.standard_normal(draws)
    acts = np.maximum(0.0, a[None, :] + s[None, :] * za[:, None]).sum(axis=1)
    ef = np.maximum(0.0, ef_mean + ef_sd * ze)
    total = acts * ef
    lo, hi = np.quantile(total, [(1 - confidence) / 2, (1 + confidence) / 2])
    mean = float(total.mean())
    half = 100.0 * (hi - lo) / 2.0 / mean if mean > 0 else 0.0
    return UncertaintyResult(mean, (float(lo), float(hi)), float(half),
                             uncertainty_deduction(half, allowable_halfwidth_percent), confidence, draws, seed)


# ============================================================================ rules
@dataclass(frozen=True)
class UncertaintyRule:
    """A named uncertainty-deduction rule: how a half-width becomes a share of credits to deduct.

    Attributes
    ----------
    name : str
        Config value of ``deductions.uncertainty_rule``.
    formula : str
        The rule in words and symbols (:math:`U` = half-width in % of the mean).
    source, section : str
        Where the rule comes from.
    assumption : str or None
        Stated when the rule stands in for a text that could not be read.
    fixed_allowable_percent : float or None
        A threshold the rule itself fixes (then the config value is ignored and reported so).
    """

    name: str
    formula: str
    source: str
    section: str
    assumption: str | None
    fixed_allowable_percent: float | None
    _share: Callable[[float, float], float] = field(repr=False, compare=False)

    def deduction_fraction(self, halfwidth_percent: float, allowable_halfwidth_percent: float) -> float:
        """Share of the credited reductions to deduct [0..1] for a half-width [% of the mean]."""
        if not np.isfinite(halfwidth_percent) or halfwidth_percent < 0:
            raise InputDataError(f"uncertainty half-width must be finite and >= 0 %, got {halfwidth_percent}",
                                 column="halfwidth_percent")
        allow = self.fixed_allowable_percent if self.fixed_allowable_percent is not None \
            else allowable_halfwidth_percent
        return float(min(1.0, max(0.0, self._share(halfwidth_percent, allow))))

    def to_dict(self) -> dict:
        return {"name": self.name, "formula": self.formula, "source": self.source, "section": self.section,
                "assumption": self.assumption, "fixed_allowable_percent": self.fixed_allowable_percent}


#: The rules a config may name (``deductions.uncertainty_rule``). Explicit choice, never inferred.
UNCERTAINTY_RULES: dict[str, UncertaintyRule] = {
    "vcs_halfwidth_excess": UncertaintyRule(
        name="vcs_halfwidth_excess",
        formula="d = max(0, U - U_allow) / 100, U = 100 x (CI half-width / mean) at the configured confidence",
        source="VCS Methodology Requirements v4.4 (confidence deduction); stands in for VM0048 v1.0 / VMD0055 v1.1",
        section="VCS Methodology Requirements v4.4, uncertainty clause (not re-read); VM0048 v1.0 (quantification "
                "section) and VMD0055 v1.1 section 5.3, not readable in the reference store",
        assumption="The uncertainty section of VM0048 v1.0 / VMD0055 v1.1 could not be read; the VCS rule is "
                   "assumed: no deduction while the confidence-interval half-width is at most "
                   "deductions.uncertainty.allowable_halfwidth_percent of the mean at "
                   "deductions.uncertainty.confidence, the excess deducted one for one.",
        fixed_allowable_percent=None,
        _share=lambda u, allow: (u - allow) / 100.0),
    "vm0007_x_unc": UncertaintyRule(
        name="vm0007_x_unc",
        formula="d = max(0, U - 15) / 100, U at 90 % confidence",
        source="VM0007 v1.6 REDD+ Methodology Framework, module X-UNC",
        section="X-UNC eq. 5",
        assumption="The VM0007 rule predates VM0048; kept for comparison with earlier runs only.",
        fixed_allowable_percent=15.0,
        _share=lambda u, allow: (u - allow) / 100.0),
    "lower_bound": UncertaintyRule(
        name="lower_bound",
        formula="d = U / 100: the lower bound of the confidence interval is credited",
        source="IPCC (2006) vol. 1 ch. 3 (conservative choice: the whole half-width deducted)",
        section="section 3.2.3",
        assumption="A conservative choice of the project, stricter than the VCS excess rule.",
        fixed_allowable_percent=0.0,
        _share=lambda u, allow: u / 100.0),
}


def uncertainty_rule(name: str) -> UncertaintyRule:
    """The rule of that name (:data:`UNCERTAINTY_RULES`); ConfigError naming the key otherwise."""
    try:
        return UNCERTAINTY_RULES[name]
    except KeyError:
        raise ConfigError(f"unknown uncertainty rule {name!r}; one of {sorted(UNCERTAINTY_RULES)}",
                          key="deductions.uncertainty_rule") from None


# ============================================================================ components
@dataclass(frozen=True)
class ActivityData:
    """An area of deforestation [ha] with its sampling standard error, or the statement that it has none.

    Attributes
    ----------
    ha : float [ha]
        Area over the quantity's time span (a year or a monitoring period).
    se_ha : float [ha] or None
        Standard error from a reference sample. ``None`` means that none was estimated (map pixel
        counts): the Monte Carlo then holds the area fixed and the result says so. It is never
        read as a zero uncertainty.
    source : str
        ``reference_sample`` (stratified estimate), ``map_counts`` or ``allocated`` (a share of a
        jurisdictional estimate).
    note : str
        How the figure was obtained (echoed in the result).
    """

    ha: float
    se_ha: float | None
    source: str
    note: str = ""

    def __post_init__(self):
        if not np.isfinite(self.ha) or self.ha < 0:
            raise InputDataError(f"activity data must be finite and >= 0 ha, got {self.ha}", column="activity_ha")
        if self.se_ha is not None and (not np.isfinite(self.se_ha) or self.se_ha < 0):
            raise InputDataError(f"activity-data standard error must be finite and >= 0 ha, got {self.se_ha}",
                                 column="activity_se_ha")

    @property
    def has_sampling_error(self) -> bool:
        return self.se_ha is not None

    @property
    def relative_se(self) -> float | None:
        if self.se_ha is None:
            return None
        return self.se_ha / self.ha if self.ha > 0 else 0.0

    def to_dict(self) -> dict:
        return {"ha": self.ha, "se_ha": self.se_ha, "relative_se": self.relative_se, "source": self.source,
                "note": self.note,
                "sampling_error": "estimated" if self.has_sampling_error else "not estimated (map counts)"}


def activity_from_map_counts(ha: float, *, note: str = "") -> ActivityData:
    """Activity data from map pixel counts [ha]: no sampling error exists to propagate.

    A wall-to-wall map count has no design-based standard error; its error (omission and
    commission) is only measurable with a reference sample (Olofsson et al. 2014, section 1).
    The returned value carries ``se_ha=None``, and :func:`period_uncertainty` reports the
    component as not estimated.
    """
    return ActivityData(float(ha), None, "map_counts", note or "map pixel counts; no reference sample")


def activity_from_sample(estimate, change_class: str, *, years: float = 1.0, share: float = 1.0,
                         note: str = "") -> ActivityData:
    """Activity data [ha] and its standard error from a stratified reference-sample estimate.

    Parameters
    ----------
    estimate : reddplus.accuracy.AreaAccuracyEstimate
        Output of :func:`reddplus.accuracy.estimate_from_error_matrix` (Olofsson) or
        :func:`reddplus.accuracy.estimate_from_samples` (Stehman), with ``area_unit == "ha"``.
    change_class : str
        The reference class that is deforestation (e.g. ``"deforestation"``).
    years : float [yr]
        Span of the estimate; the area and SE are divided by it to give an annual figure.
    share : float [-]
        Share allocated to the area of interest (e.g. the project's VT0007 allocation of the
        jurisdiction's activity data). The relative error is kept: :math:`A = s\\,\\hat A / T`,
        :math:`SE = s\\,SE(\\hat A) / T`.

    Notes
    -----
    .. math:: \\hat A_k = A_{tot}\\,\\hat p_{\\cdot k}, \\quad SE(\\hat A_k) = A_{tot}\\,SE(\\hat p_{\\cdot k})

    Olofsson et al. 2014, eq. 11-12.
    """
    if getattr(estimate, "area_unit", None) != "ha":
        raise InputDataError(f"the area estimate must be in ha (got {getattr(estimate, 'area_unit', None)!r}); "
                             "give the mapped areas in ha", column="area_unit")
    if change_class not in estimate.classes:
        raise InputDataError(f"class {change_class!r} is not in the estimate's classes {list(estimate.classes)}",
                             column="reference_class")
    if not years > 0 or not 0 <= share <= 1:
        raise InputDataError(f"years must be > 0 and share in 0..1; got {years}, {share}", column="years")
    i = estimate.classes.index(change_class)
    ha = share * float(estimate.area[i]) / years
    se = share * float(estimate.area_se[i]) / years
    src = "reference_sample" if share == 1 else "allocated"
    return ActivityData(ha, se, src, note or f"{estimate.method} stratified estimate of {change_class!r}, "
                        f"{int(estimate.sample_counts.sum())} samples, / {years:g} yr x share {share:g}")


@dataclass(frozen=True)
class EmissionFactorDistribution:
    """The emission factor of deforestation [t CO2e/ha] as a distribution to draw from.

    Either ``draws`` (the plot Monte Carlo's draws of the factor, resampled with replacement)
    or ``sd`` (a normal error: the stock table's standard error of the mean) is given.
    """

    mean: float
    sd: float | None
    draws: np.ndarray | None
    source: str
    note: str = ""

    def __post_init__(self):
        if (self.sd is None) == (self.draws is None):
            raise InputDataError("give either the emission factor's Monte Carlo draws or its standard error",
                                 column="emission_factor")
        if not np.isfinite(self.mean) or self.mean < 0:
            raise InputDataError(f"emission factor must be finite and >= 0, got {self.mean}",
                                 column="emission_factor_tco2e_per_ha")
        if self.draws is not None:
            d = np.array(self.draws, dtype=float, copy=True)
            if d.ndim != 1 or len(d) < 100 or not np.isfinite(d).all():
                raise InputDataError("emission-factor draws: a 1-d array of at least 100 finite values",
                                     column="emission_factor_draws")
            d.setflags(write=False)
            object.__setattr__(self, "draws", d)
        elif not np.isfinite(self.sd) or self.sd < 0:
            raise InputDataError(f"emission-factor standard error must be >= 0, got {self.sd}",
                                 column="emission_factor_se")

    @property
    def relative_se(self) -> float:
        s = float(np.std(self.draws, ddof=1)) if self.draws is not None else float(self.sd)
        return s / self.mean if self.mean > 0 else 0.0

    def sample(self, z: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Draws [t CO2e/ha] from standard normals ``z`` (normal form) or uniforms ``u`` (resampling)."""
        if self.draws is not None:
            idx = np.minimum((u * len(self.draws)).astype(np.int64), len(self.draws) - 1)
            return self.draws[idx]
        return np.maximum(0.0, self.mean + self.sd * z)

    def to_dict(self) -> dict:
        return {"mean_tco2e_per_ha": self.mean, "relative_se": self.relative_se, "source": self.source,
                "n_draws": None if self.draws is None else int(len(self.draws)),
                "sd_tco2e_per_ha": self.sd, "note": self.note}


def ef_from_draws(draws, *, note: str = "") -> EmissionFactorDistribution:
    """Emission factor from the plot Monte Carlo's draws [t CO2e/ha] (IPCC 2006 vol. 1 ch. 3, approach 2)."""
    d = np.asarray(draws, dtype=float)
    return EmissionFactorDistribution(float(d.mean()) if d.size else float("nan"), None, d, "plots_monte_carlo",
                                      note or "Monte Carlo draws of the plot-based stock estimate")


def ef_from_se(mean: float, se: float, *, note: str = "") -> EmissionFactorDistribution:
    """Emission factor from a mean and its standard error [t CO2e/ha], drawn as a normal."""
    return EmissionFactorDistribution(float(mean), float(se), None, "stock_table_se",
                                      note or "stock table: mean and standard error, normal")


# ============================================================================ propagation
@dataclass(frozen=True)
class PeriodUncertainty:
    """Uncertainty of one monitoring period's emission reductions and the deduction it implies.

    ``components`` lists each input with its error status; ``halfwidth_percent_by_component`` is
    the half-width with only that component drawn (the others at their means), for the report.
    ``assumptions`` are the statements the report must print.
    """

    period: tuple[int, int] | None
    mean_tco2e: float
    ci_tco2e: tuple[float, float]
    halfwidth_percent: float
    confidence: float
    rule: str
    allowable_halfwidth_percent: float
    deduction_fraction: float
    draws: int
    seed: int
    components: tuple[dict, ...]
    halfwidth_percent_by_component: dict
    assumptions: tuple[str, ...]
    formula: str
    source: str
    section: str

    @property
    def deduction_percent(self) -> float:
        return 100.0 * self.deduction_fraction

    def to_dict(self) -> dict:
        return {"period": None if self.period is None else list(self.period), "mean_tco2e": self.mean_tco2e,
                "ci_tco2e": list(self.ci_tco2e), "halfwidth_percent": self.halfwidth_percent,
                "confidence": self.confidence, "uncertainty_rule": self.rule,
                "allowable_halfwidth_percent": self.allowable_halfwidth_percent,
                "deduction_percent": self.deduction_percent, "draws": self.draws, "seed": self.seed,
                "components": [dict(c) for c in self.components],
                "halfwidth_percent_by_component": dict(self.halfwidth_percent_by_component),
                "assumptions": list(self.assumptions), "formula": self.formula, "source": self.source,
                "section": self.section}


def _halfwidth(total: np.ndarray, confidence: float) -> tuple[float, float, float, float]:
    lo, hi = np.quantile(total, [(1 - confidence) / 2, (1 + confidence) / 2])
    mean = float(total.mean())
    half = 100.0 * (hi - lo) / 2.0 / abs(mean) if mean != 0 else float("inf")
    return mean, float(lo), float(hi), float(half)


def period_uncertainty(*, baseline: ActivityData, project: ActivityData,
                       emission_factor: EmissionFactorDistribution,
                       project_emission_factor: EmissionFactorDistribution | None = None,
                       belt_monitored: ActivityData | None = None, belt_baseline: ActivityData | None = None,
                       allocation_relative_se: float | None = None, rule: str = "vcs_halfwidth_excess",
                       allowable_halfwidth_percent: float = 10.0, confidence: float = 0.90, draws: int = 10_000,
                       seed: int, period: tuple[int, int] | None = None) -> PeriodUncertainty:
    """Monte Carlo uncertainty of a monitoring period's emission reductions and its deduction.

    Parameters
    ----------
    baseline : ActivityData [ha]
        Baseline deforestation of the project for the period (the allocated activity data).
    project : ActivityData [ha]
        Monitored deforestation in the project area in the period.
    emission_factor : EmissionFactorDistribution [t CO2e/ha]
        Emission factor of the baseline deforestation (weighted by the allocation used).
    project_emission_factor : EmissionFactorDistribution [t CO2e/ha], optional
        Emission factor of the monitored deforestation; default ``emission_factor``. Both are
        drawn from one standard normal (or one resampling index): they come from the same stock
        estimate, so their errors are shared.
    belt_monitored, belt_baseline : ActivityData [ha], optional
        Monitored and allocated baseline deforestation of the leakage belt (activity-shifting
        leakage, floored at zero, with the baseline emission factor).
    allocation_relative_se : float [-], optional
        Relative standard error of the project's share of the jurisdictional activity data, if
        the allocation has one. No such error could be found in the methodology texts available
        here; when ``None`` the component is reported as not defined (not as zero).
    rule : str
        Key of :data:`UNCERTAINTY_RULES`.
    allowable_halfwidth_percent : float [%]
        Threshold of the rule (ignored by rules that fix their own; reported).
    confidence : float [-]
        Two-sided interval level.
    draws : int
        Monte Carlo draws (>= 1,000).
    seed : int
        Seed of ``numpy.random.default_rng``; the same seed gives the same result.
    period : (int, int), optional
        First and last year, echoed.

    Notes
    -----
    Each draw :math:`d` (independent standard normals :math:`z`, truncated at zero areas):

    .. math::
        A_{b}^{(d)} &= (A_b + SE_b z_1)(1 + r_{alloc} z_4),\\quad A_p^{(d)} = A_p + SE_p z_2 \\\\
        ER^{(d)} &= A_b^{(d)} EF^{(d)} - A_p^{(d)} EF_p^{(d)}
                    - \\max(0, A_{LB,m}^{(d)} - A_{LB,b}^{(d)})\\,EF^{(d)}

    :math:`U = 100\\,(q_{(1+c)/2} - q_{(1-c)/2}) / (2\\,\\overline{ER})` and the deduction share
    follows the named rule. IPCC 2006 vol. 1 ch. 3 section 3.2.3 (approach 2); the VM0048 /
    VMD0055 v1.1 text could not be read (see the module docstring): the rule is an assumption
    stated in ``assumptions``.

    Returns
    -------
    PeriodUncertainty
    """
    r = uncertainty_rule(rule)
    if draws < 1000:
        raise ConfigError(f"at least 1,000 Monte Carlo draws, got {draws}", key="deductions.uncertainty.draws")
    if not 0.5 < confidence < 1:
        raise ConfigError(f"confidence must be in (0.5, 1), got {confidence}", key="deductions.uncertainty.confidence")
    if not 0 <= allowable_halfwidth_percent <= 100:
        raise ConfigError(f"allowable half-width must be 0..100 %, got {allowable_halfwidth_percent}",
                          key="deductions.uncertainty.allowable_halfwidth_percent")
    if (belt_monitored is None) != (belt_baseline is None):
        raise InputDataError("give both the leakage belt's monitored and baseline activity data, or neither",
                             column="leakage_belt_ha")
    if allocation_relative_se is not None and (not np.isfinite(allocation_relative_se) or allocation_relative_se < 0):
        raise ConfigError(f"allocation relative SE must be >= 0, got {allocation_relative_se}",
                          key="deductions.uncertainty.allocation_relative_se")
    ef_p = project_emission_factor or emission_factor
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((6, draws))
    u = rng.random(draws)

    def area(a: ActivityData | None, zi: np.ndarray | None) -> np.ndarray | float:
        if a is None:
            return 0.0
        if zi is None or a.se_ha is None:
            return a.ha
        return np.maximum(0.0, a.ha + a.se_ha * zi)

    def total(on: set[str]) -> np.ndarray:
        zero = np.zeros(draws)
        ab = area(baseline, z[0] if "baseline_activity" in on else None)
        if allocation_relative_se is not None and "allocation" in on:
            ab = np.maximum(0.0, ab * (1.0 + allocation_relative_se * z[3]))
        ap = area(project, z[1] if "project_activity" in on else None)
        if "emission_factor" in on:
            ef, efp = emission_factor.sample(z[2], u), ef_p.sample(z[2], u)
        else:
            ef, efp = emission_factor.mean, ef_p.mean
        er = ab * ef - ap * efp + zero
        if belt_monitored is not None:
            bm = area(belt_monitored, z[4] if "belt_activity" in on else None)
            bb = area(belt_baseline, z[5] if "belt_activity" in on else None)
            er = er - np.maximum(0.0, bm - bb) * ef
        return er

    names = ["baseline_activity", "project_activity", "emission_factor"]
    if allocation_relative_se is not None:
        names.append("allocation")
    if belt_monitored is not None:
        names.append("belt_activity")
    er = total(set(names))
    mean, lo, hi, half = _halfwidth(er, confidence)
    no_error = {"baseline_activity": baseline.se_ha is None, "project_activity": project.se_ha is None,
                "belt_activity": belt_monitored is not None and belt_monitored.se_ha is None
                and belt_baseline.se_ha is None}
    by_component: dict[str, float | None] = {}
    for n in names:
        # a component with no estimated error has no half-width of its own (None, not 0)
        by_component[n] = None if no_error.get(n, False) else _halfwidth(total({n}), confidence)[3]
    assumptions: list[str] = []
    if r.assumption:
        assumptions.append(r.assumption)
    comps = [{"component": "baseline_activity", **baseline.to_dict()},
             {"component": "project_activity", **project.to_dict()},
             {"component": "emission_factor", **emission_factor.to_dict()}]
    if project_emission_factor is not None:
        comps.append({"component": "project_emission_factor", **project_emission_factor.to_dict()})
    if belt_monitored is not None:
        comps.append({"component": "belt_monitored_activity", **belt_monitored.to_dict()})
        comps.append({"component": "belt_baseline_activity", **belt_baseline.to_dict()})
    comps.append({"component": "allocation", "relative_se": allocation_relative_se,
                  "sampling_error": "estimated" if allocation_relative_se is not None else "not defined"})
    for a, label in ((baseline, "baseline"), (project, "project"), (belt_monitored, "leakage-belt monitored"),
                     (belt_baseline, "leakage-belt baseline")):
        if a is not None and a.se_ha is None:
            assumptions.append(f"The {label} activity data are map counts: they carry no sampling error, so none is "
                               "propagated; this is not a zero uncertainty (a reference sample would estimate it).")
    if allocation_relative_se is None:
        assumptions.append("No allocation error is propagated: none is defined in the methodology texts available "
                           "(VT0007 v1.0 / VMD0055 v1.1 could not be read on this point; "
                           "deductions.uncertainty.allocation_relative_se adds one).")
    if r.fixed_allowable_percent is not None and r.fixed_allowable_percent != allowable_halfwidth_percent:
        assumptions.append(f"Rule {r.name!r} fixes the allowable half-width at {r.fixed_allowable_percent:g} %; "
                           f"the configured {allowable_halfwidth_percent:g} % is not used.")
    if mean <= 0:
        assumptions.append("The mean emission reduction of the period is not positive: no credits, so no "
                           "uncertainty deduction applies (a negative period is a reversal).")
        frac = 0.0
    else:
        frac = r.deduction_fraction(half, allowable_halfwidth_percent)
    allow = r.fixed_allowable_percent if r.fixed_allowable_percent is not None else allowable_halfwidth_percent
    formula = (f"U = 100 x ({hi:,.0f} - {lo:,.0f}) / 2 / {mean:,.0f} = {half:.2f} % at {100 * confidence:g} %; "
               f"{r.formula} -> {100 * frac:.4g} %")
    return PeriodUncertainty(period, mean, (lo, hi), half, confidence, r.name, float(allow), frac, draws, seed,
                             tuple(comps), by_component, tuple(assumptions), formula, r.source, r.section)


def approach1_halfwidth_percent(baseline_ha: float, baseline_se_ha: float, project_ha: float, project_se_ha: float,
                                ef_mean: float, ef_se: float, confidence: float = 0.90) -> float:
    """Analytic half-width [% of the mean] of :math:`ER = (A_b - A_p)\\,EF` for independent normal errors.

    The exact variance of a product of independent variables (Goodman 1960), then a normal
    interval (IPCC 2006 vol. 1 ch. 3, approach 1, eq. 3.1). A cross-check of
    :func:`period_uncertainty` on normal inputs.

    .. math::
        \\mathrm{Var}(XY) = \\mu_X^2\\sigma_Y^2 + \\mu_Y^2\\sigma_X^2 + \\sigma_X^2\\sigma_Y^2,\\quad
        X = A_b - A_p,\\ \\sigma_X^2 = SE_b^2 + SE_p^2,\\quad U = 100\\,z_c\\sqrt{\\mathrm{Var}}/(\\mu_X\\mu_Y)
    """
    mx, vx = baseline_ha - project_ha, baseline_se_ha ** 2 + project_se_ha ** 2
    var = mx ** 2 * ef_se ** 2 + ef_mean ** 2 * vx + vx * ef_se ** 2
    return float(100.0 * stats.norm.ppf(0.5 + confidence / 2) * np.sqrt(var) / (mx * ef_mean))
