"""Carbon pools, the post-deforestation stock and the emission factor of the baseline deforestation.

* :func:`decide_pools`: AGB, BGB, dead wood, litter, soil organic carbon and harvested wood
  products, each included or excluded, with the rule and the reason (:data:`POOL_RULES`);
* :func:`post_deforestation_stock`: the long-term stock of the land uses that replace forest,
  per land-use class from the config, with cited IPCC defaults (``ipcc_defaults.toml``);
* :func:`emission_factor_from_pools`: pre- minus post-deforestation stock over the included pools;
* :func:`baseline_emission_factor`: strata weighted by the allocation that *is* the baseline
  (benchmark or alternative: whichever was used), never by another map's density.

What could and could not be read
--------------------------------
VM0048 v1.0 lists its carbon pools in section 5.2 ("Carbon Pools", from its table of contents),
but the table itself could not be read in the reference store. The rules in :data:`POOL_RULES`
are therefore the VCS conservativeness principle, stated as assumptions: a pool whose stock
falls at deforestation may be left out (that only lowers the baseline emissions); above-ground
biomass cannot be left out; wood products stored in the baseline lower the baseline emissions,
so leaving them out is conservative only when the baseline agents extract no timber, and the
project must say so.

References
----------
1. Verra (2023) VM0048 v1.0, section 5.2 (carbon pools; table not readable here).
2. Verra (2024) VMD0055 v1.1, section 5.3 (emission factors: pre- minus post-deforestation stocks).
3. IPCC (2006) vol. 4, ch. 2 eq. 2.16 (stock change at conversion) and Table 2.2 (litter,
   dead wood); ch. 4 Tables 4.3-4.4; ch. 5 Table 5.9 (cropland after conversion); ch. 6 Table 6.4
   (grassland after conversion). Constants in ``ipcc_defaults.toml`` with their flags.
"""

from __future__ import annotations

import functools
import math
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Mapping, Sequence

import numpy as np

from reddplus.accounting.emissions import EmissionFactor
from reddplus.errors import ConfigError, InputDataError

#: t CO2 per t C (molecular weights 44/12)
CO2_PER_C = 44.0 / 12.0

#: the pools, in report order
POOLS = ("agb", "bgb", "dead_wood", "litter", "soc", "hwp")

_VM = "VM0048 v1.0"
_SEC = "section 5.2 (carbon pools; table not readable in the reference store)"


@dataclass(frozen=True)
class PoolRule:
    """The rule for one pool: may it be excluded, and is excluding it conservative."""

    pool: str
    label: str
    required: bool
    conservative_to_exclude: bool
    rule: str
    default_included: bool
    default_reason: str
    source: str = _VM
    section: str = _SEC

    def to_dict(self) -> dict:
        return {"pool": self.pool, "label": self.label, "required": self.required,
                "conservative_to_exclude": self.conservative_to_exclude, "rule": self.rule,
                "source": self.source, "section": self.section}


POOL_RULES: dict[str, PoolRule] = {
    "agb": PoolRule("agb", "above-ground biomass", True, False,
                    "Always included: it is the stock deforestation removes.", True,
                    "required pool (VCS REDD methodologies; VM0048 section 5.2)"),
    "bgb": PoolRule("bgb", "below-ground biomass", False, True,
                    "Optional; excluding it lowers the emission factor (conservative).", True,
                    "included from the root-to-shoot ratio (IPCC 2006 vol. 4 Table 4.4) or the plots"),
    "dead_wood": PoolRule("dead_wood", "dead wood", False, True,
                          "Optional; excluding it is conservative. IPCC gives no Tier 1 forest default: "
                          "it must be measured to be included.", False,
                          "excluded: conservative, and no measured stock"),
    "litter": PoolRule("litter", "litter", False, True,
                       "Optional; excluding it is conservative.", False, "excluded: conservative"),
    "soc": PoolRule("soc", "soil organic carbon", False, True,
                    "Optional; excluding it is conservative. Included only with a measured or modelled "
                    "loss (IPCC 2006 vol. 4 ch. 2 eq. 2.25 factors).", False, "excluded: conservative"),
    "hwp": PoolRule("hwp", "harvested wood products", False, False,
                    "Carbon the baseline agents would store in long-lived wood products is subtracted from "
                    "the baseline emissions; excluding the pool is conservative only when no commercial "
                    "timber is extracted in the baseline.", False,
                    "excluded: the baseline agents are taken to extract no commercial timber "
                    "(state otherwise in stocks.pools.hwp)"),
}


@dataclass(frozen=True)
class PoolDecision:
    """One pool included or excluded, with its reason and rule."""

    pool: str
    included: bool
    reason: str
    rule: PoolRule
    defaulted: bool

    def to_dict(self) -> dict:
        return {"pool": self.pool, "label": self.rule.label, "included": self.included, "reason": self.reason,
                "defaulted": self.defaulted, "rule": self.rule.rule, "conservative_to_exclude":
                self.rule.conservative_to_exclude, "source": self.rule.source, "section": self.rule.section}


@dataclass(frozen=True)
class PoolsResult:
    """The decision for every pool (:data:`POOLS`) and the assumptions to report."""

    decisions: tuple[PoolDecision, ...]
    assumptions: tuple[str, ...]

    def included(self, pool: str) -> bool:
        return next(d.included for d in self.decisions if d.pool == pool)

    @property
    def included_pools(self) -> tuple[str, ...]:
        return tuple(d.pool for d in self.decisions if d.included)

    def to_dict(self) -> dict:
        return {"pools": [d.to_dict() for d in self.decisions], "included": list(self.included_pools),
                "assumptions": list(self.assumptions)}


def decide_pools(choices: Mapping[str, Mapping] | None = None) -> PoolsResult:
    """Include or exclude each carbon pool with its reason (VM0048 v1.0 section 5.2).

    Parameters
    ----------
    choices : mapping pool -> {"include": bool, "reason": str}, optional
        The config's ``stocks.pools``. A pool not named takes the default of :data:`POOL_RULES`
        and says so (``defaulted``). A reason is required for every choice that departs from
        the default.

    Raises
    ------
    ConfigError
        An unknown pool; excluding above-ground biomass; a departure from the default without a
        reason; including dead wood without saying it is measured.
    """
    choices = dict(choices or {})
    for k in choices:
        if k not in POOL_RULES:
            raise ConfigError(f"unknown carbon pool {k!r}; one of {list(POOLS)}", key=f"stocks.pools.{k}")
    out, assumptions = [], [
        "VM0048 v1.0 section 5.2's pool table could not be read; the pools follow the VCS conservativeness "
        "principle (a pool may be left out when that lowers the baseline emissions)."]
    for p in POOLS:
        rule = POOL_RULES[p]
        c = choices.get(p)
        if c is None:
            out.append(PoolDecision(p, rule.default_included, rule.default_reason, rule, True))
            continue
        inc = bool(c.get("include", rule.default_included))
        reason = c.get("reason")
        if rule.required and not inc:
            raise ConfigError(f"{rule.label} cannot be excluded: {rule.rule}", key=f"stocks.pools.{p}.include")
        if inc != rule.default_included and not reason:
            raise ConfigError(f"a reason is required to {'include' if inc else 'exclude'} {rule.label}",
                              key=f"stocks.pools.{p}.reason")
        out.append(PoolDecision(p, inc, reason or rule.default_reason, rule, False))
    for d in out:
        if not d.included and not d.rule.conservative_to_exclude and d.pool != "agb":
            assumptions.append(f"{d.rule.label} excluded: {d.reason}. This is conservative only if it holds.")
    return PoolsResult(tuple(out), tuple(assumptions))


# ---------------------------------------------------------------------------------- IPCC defaults
@functools.lru_cache(maxsize=1)
def load_ipcc_defaults() -> dict:
    """The IPCC constants of ``ipcc_defaults.toml`` (each with its table and ``unverified`` flag)."""
    return tomllib.loads(resources.files("reddplus.accounting").joinpath("ipcc_defaults.toml").read_text())


def ipcc_default_tco2e_per_ha(key: str) -> tuple[float, dict]:
    """A post-deforestation default [t CO2e/ha] and its entry, from ``post_deforestation.KEY``.

    .. math:: C = v \\times CF \\times 44/12 \\;(\\text{t d.m./ha}),\\quad C = v \\times 44/12 \\;(\\text{t C/ha})
    """
    entries = load_ipcc_defaults().get("post_deforestation", {})
    if key not in entries:
        raise ConfigError(f"unknown IPCC default {key!r}; one of {sorted(entries)}",
                          key="stocks.post_deforestation.ipcc_default")
    e = entries[key]
    if e["unit"] == "t C/ha":
        return e["value"] * CO2_PER_C, e
    if e["unit"] == "t d.m./ha":
        return e["value"] * e["carbon_fraction"] * CO2_PER_C, e
    raise ConfigError(f"IPCC default {key!r} has an unknown unit {e['unit']!r}")  # pragma: no cover


@dataclass(frozen=True)
class PostDeforestationStock:
    """Long-term biomass stock of the land uses replacing forest [t CO2e/ha], share-weighted."""

    tco2e_per_ha: float
    classes: tuple[dict, ...]
    unverified_constants: tuple[str, ...]
    assumptions: tuple[str, ...]
    formula: str

    def to_dict(self) -> dict:
        return {"tco2e_per_ha": self.tco2e_per_ha, "classes": [dict(c) for c in self.classes],
                "unverified_constants": list(self.unverified_constants), "assumptions": list(self.assumptions),
                "formula": self.formula}


def post_deforestation_stock(classes: Sequence[Mapping]) -> PostDeforestationStock:
    """Post-deforestation biomass stock [t CO2e/ha] from the config's land-use classes.

    Parameters
    ----------
    classes : sequence of mappings
        ``stocks.post_deforestation``: each ``{"name", "share", "tco2e_per_ha" | "ipcc_default",
        "source"}``. ``share`` is the fraction of the deforested area that becomes this class
        (the shares sum to 1). A value given directly needs its ``source``; ``ipcc_default``
        names an entry of ``ipcc_defaults.toml`` (e.g. ``annual_cropland``: IPCC 2006 vol. 4
        Table 5.9).

    Notes
    -----
    .. math:: C_{post} = \\sum_k s_k C_k, \\quad \\sum_k s_k = 1

    VMD0055 v1.1 section 5.3 (emission factor = pre- minus post-deforestation stock); IPCC 2006
    vol. 4 eq. 2.16. Whether VMD0055 asks for a time-averaged or a year-after-conversion stock
    could not be read; the IPCC defaults are the stocks the tables give (stated in
    ``assumptions``).
    """
    if not classes:
        raise ConfigError("at least one post-deforestation land-use class is required (no silent zero stock)",
                          key="stocks.post_deforestation")
    rows, unverified, total, share_sum = [], [], 0.0, 0.0
    for i, c in enumerate(classes):
        key = f"stocks.post_deforestation[{i}]"
        name, share = c.get("name"), c.get("share")
        if not name:
            raise ConfigError("each class needs a name", key=f"{key}.name")
        if share is None or not np.isfinite(share) or not 0 < share <= 1:
            raise ConfigError(f"share must be in (0, 1], got {share}", key=f"{key}.share")
        direct, ipcc = c.get("tco2e_per_ha"), c.get("ipcc_default")
        if (direct is None) == (ipcc is None):
            raise ConfigError("give exactly one of tco2e_per_ha (with source) or ipcc_default", key=key)
        if direct is not None:
            if not np.isfinite(direct) or direct < 0:
                raise ConfigError(f"tco2e_per_ha must be >= 0, got {direct}", key=f"{key}.tco2e_per_ha")
            if not c.get("source"):
                raise ConfigError("a value given directly needs its source", key=f"{key}.source")
            value, src, flag = float(direct), c["source"], False
        else:
            value, e = ipcc_default_tco2e_per_ha(ipcc)
            src, flag = e["source"], bool(e.get("unverified", True))
            if flag:
                unverified.append(f"post_deforestation.{ipcc} ({e['source']}: {e['value']} {e['unit']})")
        rows.append({"name": name, "share": float(share), "tco2e_per_ha": value, "source": src,
                     "ipcc_default": ipcc, "unverified": flag})
        total += share * value
        share_sum += share
    if not math.isclose(share_sum, 1.0, abs_tol=1e-6):
        raise ConfigError(f"the shares of the post-deforestation classes sum to {share_sum:g}, not 1",
                          key="stocks.post_deforestation")
    assumptions = ["Post-deforestation stocks are the configured classes' biomass stocks; whether VMD0055 v1.1 "
                   "asks for a time-averaged stock could not be read."]
    if unverified:
        assumptions.append("IPCC defaults used without being re-read against the IPCC text: " + "; ".join(unverified))
    formula = " + ".join(f"{r['share']:g} x {r['tco2e_per_ha']:.2f}" for r in rows) + f" = {total:.2f} t CO2e/ha"
    return PostDeforestationStock(float(total), tuple(rows), tuple(unverified), tuple(assumptions), formula)


# ---------------------------------------------------------------------------------- emission factor
def emission_factor_from_pools(pools: PoolsResult, *, agb_tco2e_per_ha: float, post_biomass_tco2e_per_ha: float,
                               agb_se_tco2e_per_ha: float = 0.0, bgb_tco2e_per_ha: float | None = None,
                               dead_wood_tco2e_per_ha: float | None = None,
                               litter_tco2e_per_ha: float | None = None, soc_loss_tco2e_per_ha: float | None = None,
                               hwp_stored_tco2e_per_ha: float | None = None,
                               post_dom_tco2e_per_ha: float = 0.0) -> EmissionFactor:
    """Emission factor of deforestation [t CO2e/ha] over the included pools.

    Parameters
    ----------
    pools : PoolsResult
        From :func:`decide_pools`.
    agb_tco2e_per_ha, bgb_tco2e_per_ha, dead_wood_tco2e_per_ha, litter_tco2e_per_ha : float [t CO2e/ha]
        Pre-deforestation stocks; each included pool must have one.
    soc_loss_tco2e_per_ha : float [t CO2e/ha]
        Soil organic carbon lost at conversion (pre minus post), if the pool is included.
    hwp_stored_tco2e_per_ha : float [t CO2e/ha]
        Carbon that the baseline's extracted timber keeps in long-lived products, if included.
    post_biomass_tco2e_per_ha : float [t CO2e/ha]
        Biomass of the replacing land use (:func:`post_deforestation_stock`), subtracted from the
        biomass pools.
    post_dom_tco2e_per_ha : float [t CO2e/ha]
        Dead organic matter after conversion; 0 is the IPCC Tier 1 assumption (IPCC 2006 vol. 4
        ch. 4 section 4.3.2; ch. 5 section 5.3.1; ``ipcc_defaults.toml``
        ``dead_organic_matter.non_forest``).
    agb_se_tco2e_per_ha : float [t CO2e/ha]
        Standard error of the AGB stock; the biomass pools scale with it.

    Notes
    -----
    .. math::
        EF = (C_{AGB} + \\delta_{BGB} C_{BGB} - C_{post}) + \\delta_{DW} C_{DW} + \\delta_{LI} C_{LI}
             - (\\delta_{DW} + \\delta_{LI} > 0)\\,C_{DOM,post} + \\delta_{SOC}\\,\\Delta C_{SOC}
             - \\delta_{HWP}\\,C_{HWP}

    VMD0055 v1.1 section 5.3; IPCC 2006 vol. 4 eq. 2.16.
    """
    vals = {"agb": agb_tco2e_per_ha, "bgb": bgb_tco2e_per_ha, "dead_wood": dead_wood_tco2e_per_ha,
            "litter": litter_tco2e_per_ha, "soc": soc_loss_tco2e_per_ha, "hwp": hwp_stored_tco2e_per_ha}
    for p, v in vals.items():
        if pools.included(p) and v is None:
            raise InputDataError(f"pool {p!r} is included but has no stock", column=f"{p}_tco2e_per_ha")
        if v is not None and (not np.isfinite(v) or v < 0):
            raise InputDataError(f"{p} stock must be finite and >= 0, got {v}", column=f"{p}_tco2e_per_ha")
    for name, v in (("post_biomass_tco2e_per_ha", post_biomass_tco2e_per_ha),
                    ("post_dom_tco2e_per_ha", post_dom_tco2e_per_ha), ("agb_se_tco2e_per_ha", agb_se_tco2e_per_ha)):
        if not np.isfinite(v) or v < 0:
            raise InputDataError(f"{name} must be finite and >= 0, got {v}", column=name)
    inc = {p: pools.included(p) for p in POOLS}
    biomass = agb_tco2e_per_ha + (bgb_tco2e_per_ha if inc["bgb"] else 0.0)
    if post_biomass_tco2e_per_ha > biomass:
        raise InputDataError(f"post-deforestation biomass {post_biomass_tco2e_per_ha:.1f} exceeds the forest's "
                             f"included biomass {biomass:.1f} t CO2e/ha", column="post_biomass_tco2e_per_ha")
    dom = (dead_wood_tco2e_per_ha if inc["dead_wood"] else 0.0) + (litter_tco2e_per_ha if inc["litter"] else 0.0)
    dom_loss = max(0.0, dom - post_dom_tco2e_per_ha) if (inc["dead_wood"] or inc["litter"]) else 0.0
    soc = soc_loss_tco2e_per_ha if inc["soc"] else 0.0
    hwp = hwp_stored_tco2e_per_ha if inc["hwp"] else 0.0
    ef = biomass - post_biomass_tco2e_per_ha + dom_loss + soc - hwp
    if ef < 0:
        raise InputDataError(f"the emission factor is negative ({ef:.2f} t CO2e/ha): stored wood products exceed "
                             "the stock lost", column="hwp_stored_tco2e_per_ha")
    scale = biomass / agb_tco2e_per_ha if agb_tco2e_per_ha > 0 else 1.0
    pre = biomass + dom + soc
    comps = {"agb": agb_tco2e_per_ha, "bgb": bgb_tco2e_per_ha if inc["bgb"] else 0.0,
             "dead_wood": dead_wood_tco2e_per_ha if inc["dead_wood"] else 0.0,
             "litter": litter_tco2e_per_ha if inc["litter"] else 0.0, "soc_loss": soc, "hwp_stored": hwp,
             "post_biomass": post_biomass_tco2e_per_ha, "post_dom": post_dom_tco2e_per_ha,
             "pools_included": list(pools.included_pools)}
    return EmissionFactor(float(ef), float(agb_se_tco2e_per_ha * scale), float(pre),
                          float(post_biomass_tco2e_per_ha + (post_dom_tco2e_per_ha if dom else 0.0) + hwp), comps)


@dataclass(frozen=True)
class BaselineEmissionFactor:
    """Emission factor of the baseline deforestation, weighted by the allocation actually used."""

    emission_factor: EmissionFactor
    allocation: str
    allocated_ha_by_stratum: dict
    weights: dict
    formula: str

    def to_dict(self) -> dict:
        return {"allocation": self.allocation, "allocated_ha_by_stratum": dict(self.allocated_ha_by_stratum),
                "weights": dict(self.weights), "mean_tco2e_per_ha": self.emission_factor.mean,
                "sd_tco2e_per_ha": self.emission_factor.sd, "formula": self.formula,
                "source": "VMD0055 v1.1 section 5.3 (baseline emissions: activity data per stratum x its EF)"}


def baseline_emission_factor(allocated_ha_by_stratum: Mapping, factors: Mapping, *,
                             allocation: str) -> BaselineEmissionFactor:
    """Emission factor [t CO2e/ha] of the baseline deforestation, strata weighted by *its* allocation.

    Parameters
    ----------
    allocated_ha_by_stratum : mapping stratum -> float [ha]
        Baseline deforestation allocated to the project in each stratum, summed from the map
        that is the baseline (the benchmark's allocated density, or the accepted alternative's).
    factors : mapping stratum -> EmissionFactor [t CO2e/ha]
    allocation : str
        Name of the allocation used (``benchmark``, ``alternative:NAME``, ``allocated``), echoed
        so the report shows which map weighted the factor.

    Notes
    -----
    .. math:: \\overline{EF} = \\frac{\\sum_h A_h EF_h}{\\sum_h A_h}, \\quad
              \\sigma = \\frac{\\sqrt{\\sum_h (A_h\\sigma_h)^2}}{\\sum_h A_h}

    VMD0055 v1.1 section 5.3 (baseline emissions are activity data per stratum times its
    emission factor); stratum errors independent.
    """
    if set(allocated_ha_by_stratum) != set(factors):
        raise InputDataError(f"strata of the allocation {sorted(map(str, allocated_ha_by_stratum))} and of the "
                             f"emission factors {sorted(map(str, factors))} differ", column="stratum")
    keys = list(factors)
    a = np.array([float(allocated_ha_by_stratum[k]) for k in keys])
    if not np.isfinite(a).all() or (a < 0).any():
        raise InputDataError("allocated areas must be finite and >= 0 ha", column="allocated_ha")
    if a.sum() <= 0:
        raise InputDataError(f"the {allocation} allocation puts no deforestation in any stratum: no weights",
                             column="allocated_ha")
    w = a / a.sum()
    f = [factors[k] for k in keys]
    mean = float(sum(wi * fi.mean for wi, fi in zip(w, f)))
    sd = float(np.sqrt(sum((wi * fi.sd) ** 2 for wi, fi in zip(w, f))))
    pre = float(sum(wi * fi.pre_tco2e_per_ha for wi, fi in zip(w, f)))
    post = float(sum(wi * fi.post_tco2e_per_ha for wi, fi in zip(w, f)))
    ef = EmissionFactor(mean, sd, pre, post, {"weights": w.tolist(), "allocation": allocation})
    formula = " + ".join(f"{wi:.4f} x {fi.mean:.2f}" for wi, fi in zip(w, f)) + f" = {mean:.2f} t CO2e/ha"
    return BaselineEmissionFactor(ef, allocation, {str(k): float(v) for k, v in zip(keys, a)},
                                  {str(k): float(v) for k, v in zip(keys, w)}, formula)
