"""Emission factors, baseline and project emissions and leakage.

References
----------
1. Verra (2024) VMD0055 v1.1, section 5.3 (quantification: emission factors as pre- minus
   post-deforestation carbon stocks; baseline emissions = baseline activity data x EF; project
   emissions from monitored deforestation; activity-shifting leakage in the leakage belt). The
   section's equations could not be read in the reference store; the pools, post-deforestation
   stocks and leakage components with their stated assumptions are in
   :mod:`reddplus.accounting.pools` and :mod:`reddplus.accounting.leakage`.
2. Verra (2023) VM0048 v1.0, net emission reductions and the market-leakage deduction (section
   number not confirmed in the reference store).
3. IPCC (2006) vol. 4, ch. 2, eq. 2.16 (carbon stock change from conversion: C_after - C_before)
   and ch. 4, tables 4.3-4.4 (carbon fraction, root-to-shoot ratios).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reddplus.errors import InputDataError


@dataclass(frozen=True)
class EmissionFactor:
    """Emission factor of deforestation [t CO2e/ha] with its standard deviation."""

    mean: float
    sd: float
    pre_tco2e_per_ha: float
    post_tco2e_per_ha: float
    components: dict

    def to_dict(self) -> dict:
        return {"mean": self.mean, "sd": self.sd, "pre_tco2e_per_ha": self.pre_tco2e_per_ha,
                "post_tco2e_per_ha": self.post_tco2e_per_ha, "components": dict(self.components),
                "formula": f"EF = (AGB + BGB + DW) - post = {self.pre_tco2e_per_ha:.2f} - "
                           f"{self.post_tco2e_per_ha:.2f} = {self.mean:.2f} t CO2e/ha"}


def emission_factor(agb_tco2e_per_ha: float, *, agb_sd: float = 0.0, bgb_tco2e_per_ha: float | None = None,
                    root_shoot_ratio: float = 0.37, post_tco2e_per_ha: float = 0.0,
                    dead_wood_tco2e_per_ha: float = 0.0) -> EmissionFactor:
    """Emission factor [t CO2e/ha]: pre-deforestation stock minus post-deforestation stock.

    Parameters
    ----------
    agb_tco2e_per_ha : float [t CO2e/ha]
    agb_sd : float [t CO2e/ha]
        Standard deviation (or standard error) of the AGB stock; BGB scales with it.
    bgb_tco2e_per_ha : float [t CO2e/ha], optional
        Default ``root_shoot_ratio x AGB`` (IPCC 2006 vol. 4 table 4.4).
    post_tco2e_per_ha : float [t CO2e/ha]
        Long-term stock of the replacing land use.
    dead_wood_tco2e_per_ha : float [t CO2e/ha]

    Notes
    -----
    .. math:: EF = (C_{AGB} + C_{BGB} + C_{DW}) - C_{post}, \\quad
              \\sigma_{EF} = \\sigma_{AGB}\\,(C_{AGB} + C_{BGB}) / C_{AGB}

    VMD0055 v1.1 section 5.3; IPCC 2006 vol. 4 eq. 2.16. Pools other than AGB/BGB/dead wood and a
    share-weighted post-deforestation stock: :func:`reddplus.accounting.pools.emission_factor_from_pools`.
    """
    for name, v in (("agb_tco2e_per_ha", agb_tco2e_per_ha), ("agb_sd", agb_sd),
                    ("post_tco2e_per_ha", post_tco2e_per_ha), ("dead_wood_tco2e_per_ha", dead_wood_tco2e_per_ha)):
        if not np.isfinite(v) or v < 0:
            raise InputDataError(f"{name} must be finite and >= 0, got {v}", column=name)
    bgb = agb_tco2e_per_ha * root_shoot_ratio if bgb_tco2e_per_ha is None else float(bgb_tco2e_per_ha)
    pre = agb_tco2e_per_ha + bgb + dead_wood_tco2e_per_ha
    if post_tco2e_per_ha > pre:
        raise InputDataError(f"post-deforestation stock {post_tco2e_per_ha} exceeds the forest stock {pre:.1f}",
                             column="post_tco2e_per_ha")
    scale = (agb_tco2e_per_ha + bgb) / agb_tco2e_per_ha if agb_tco2e_per_ha > 0 else 1.0
    return EmissionFactor(pre - post_tco2e_per_ha, agb_sd * scale, pre, post_tco2e_per_ha,
                          {"agb": agb_tco2e_per_ha, "bgb": bgb, "dead_wood": dead_wood_tco2e_per_ha})


def emissions_tco2e(activity_ha, emission_factor_tco2e_per_ha):
    """Emissions [t CO2e] = deforested area [ha] x emission factor [t CO2e/ha] (VMD0055 v1.1 section 5.3).

    .. math:: E = A \\times EF
    """
    a = np.asarray(activity_ha, dtype=float)
    if (a < 0).any():
        raise InputDataError("deforested areas must be >= 0 ha", column="activity_ha")
    return a * float(emission_factor_tco2e_per_ha)


def activity_shifting_leakage_tco2e(belt_monitored_ha: float, belt_baseline_ha: float,
                                    emission_factor_tco2e_per_ha: float) -> float:
    """Activity-shifting leakage [t CO2e]: leakage-belt deforestation above its baseline x EF.

    .. math:: LK_{AS} = \\max(0, A_{belt,monitored} - A_{belt,baseline}) \\times EF

    VMD0055 v1.1 section 5.3 (leakage belt); never negative (no credit for less belt deforestation).
    With its formula and assumptions: :func:`reddplus.accounting.leakage.belt_activity_shifting_leakage`.
    """
    if belt_monitored_ha < 0 or belt_baseline_ha < 0:
        raise InputDataError("leakage-belt areas must be >= 0 ha", column="leakage_belt_ha")
    return max(0.0, belt_monitored_ha - belt_baseline_ha) * float(emission_factor_tco2e_per_ha)


def weighted_emission_factor(weights, factors) -> EmissionFactor:
    """Emission factor of deforestation spread over strata with the given weights [t CO2e/ha].

    .. math:: \\overline{EF} = \\sum_h w_h EF_h, \\quad \\sigma = \\sqrt{\\sum_h (w_h \\sigma_h)^2},
              \\quad \\sum_h w_h = 1

    The weights are the shares of the expected deforestation in each stratum (e.g. the allocated
    VT0007 density summed over the project's pixels of each stratum; VMD0055 v1.1 section 5.3:
    emissions are activity data per stratum times its emission factor). Stratum errors are taken
    as independent. All-zero weights fall back to equal weights here; the baseline's factor
    should come from :func:`reddplus.accounting.pools.baseline_emission_factor`, which takes the
    allocation actually used and refuses an empty one.
    """
    w = np.asarray(weights, dtype=float)
    if w.ndim != 1 or len(w) != len(factors) or (w < 0).any():
        raise InputDataError("one non-negative weight per stratum", column="weights")
    w = w / w.sum() if w.sum() > 0 else np.full(len(w), 1.0 / len(w))
    mean = float(sum(wi * f.mean for wi, f in zip(w, factors)))
    sd = float(np.sqrt(sum((wi * f.sd) ** 2 for wi, f in zip(w, factors))))
    pre = float(sum(wi * f.pre_tco2e_per_ha for wi, f in zip(w, factors)))
    post = float(sum(wi * f.post_tco2e_per_ha for wi, f in zip(w, factors)))
    return EmissionFactor(mean, sd, pre, post, {"weights": w.tolist()})
