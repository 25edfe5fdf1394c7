"""Carbon stocks and emission factors: plots or a stock table -> per-stratum stocks -> emission factors.

Chave et al. 2014 eq. 4 (tree AGB), IPCC 2006 vol. 4 ch. 4 (carbon fraction, root:shoot), Cochran
1977 eqs. 5.2 and 5.16 (stratified totals), VMD0055 v1.1 section 5.3 (emission factors: pre- minus
post-deforestation stocks over the included pools; baseline emissions per stratum).
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from reddplus.chain.inputs import RunInputs
from reddplus.chain.results import BaselineResult, EmissionFactorsResult, StocksResult, StratumCarbon
from reddplus.errors import ConfigError, InputDataError, ModelError
from reddplus.project import ProjectConfig, Stocks
from reddplus.stocks import StratumStock

log = logging.getLogger(__name__)

#: two-sided 90 % normal quantile: a stock table's standard error -> its 90 % half-width
Z90 = 1.6448536


def stratum_stocks_from_inventory(st: Stocks, seed: int) -> tuple[dict[int, tuple[str, StratumStock]], dict]:
    """Per-stratum stocks from the tree inventory: plot AGB (Monte Carlo) scaled to each stratum.

    Returns ``({code: (name, StratumStock)}, plots)``; inventory strata are matched to
    ``stocks.strata`` codes by code or name.
    """
    from reddplus.stocks import stratum_carbon_stocks
    from reddplus.stocks.tools import agb_from_files

    try:
        res = agb_from_files(st.inventory, columns=st.columns or None,
                             height_model=None if (st.height_model or "none") == "none" else st.height_model,
                             plot_area=st.plot_area_ha, plot_areas_path=st.plot_areas,
                             plot_area_columns={"stratum": st.stratum_column} if st.plot_areas else None,
                             monte_carlo=st.monte_carlo, seed=seed, root_shoot_ratio=st.root_shoot_ratio,
                             carbon_fraction=st.carbon_fraction)
    except ModelError as err:
        if "height model" not in str(err):
            raise
        raise ConfigError(f"{st.inventory.name}: {err}; an inventory without enough measured heights for a local "
                          "H-D model needs stocks.height_model = 'feldpausch:REGION' (the regional H-D model of "
                          "Feldpausch et al. 2012)", key="stocks.height_model") from err
    labels = [p.stratum for p in res.plots]
    if any(lab is None for lab in labels):
        raise InputDataError("every plot needs a stratum to scale the stocks up", column=st.stratum_column,
                             path=str(st.inventory))
    per_ha = np.array([p.agb_mg / p.area_ha for p in res.plots])
    stocks = stratum_carbon_stocks(per_ha, labels, root_shoot_ratio=st.root_shoot_ratio,
                                   carbon_fraction=st.carbon_fraction, confidence=0.90)
    names = {str(s.code): s for s in st.strata} | {s.name.lower(): s for s in st.strata}
    out = {}
    for s in stocks:
        spec = names.get(s.stratum.lower()) or names.get(s.stratum)
        if spec is None:
            try:
                code = int(float(s.stratum))
            except ValueError:
                raise ConfigError(f"inventory stratum {s.stratum!r} has no code: add it to stocks.strata "
                                  "(code, name)", key="stocks.strata") from None
            out[code] = (s.stratum, s)
        else:
            out[spec.code] = (spec.name, s)
    return out, res.to_dict()


def stratum_stocks_from_table(st: Stocks) -> dict[int, tuple[str, StratumStock]]:
    """Per-stratum stocks from a previous assessment: mean AGB and its standard error [t CO2e/ha].

    BGB is ``bgb_tco2e_per_ha`` or ``root_shoot_ratio x AGB`` (IPCC 2006 vol. 4 table 4.4); the
    standard error scales with the total; the 90 % half-width is ``1.645 SE`` (large-sample).
    """
    out = {}
    for spec in st.strata:
        agb = spec.agb_tco2e_per_ha
        bgb = spec.bgb_tco2e_per_ha if spec.bgb_tco2e_per_ha is not None else agb * st.root_shoot_ratio
        sd = spec.agb_tco2e_per_ha_sd * (agb + bgb) / agb if agb else 0.0
        stock = StratumStock(spec.name, 0, agb / (st.carbon_fraction * 44.0 / 12.0), agb, bgb, agb + bgb, sd, sd,
                             Z90 * sd, 0.90)
        out[spec.code] = (spec.name, stock)
    return out


def carbon_stocks(cfg: ProjectConfig, inputs: RunInputs) -> StocksResult:
    """Carbon stocks per stratum and of the project's forest at the HRP end (Cochran 1977 eq. 5.2).

    The source is ``stocks.source``: ``"inventory"`` or ``"strata"`` (a stock table).
    """
    st = cfg.stocks
    if st.stock_source == "inventory":
        by_code, plots = stratum_stocks_from_inventory(st, cfg.project.seed)
        return project_stocks(by_code, st, inputs, source="inventory", plots=plots)
    return project_stocks(stratum_stocks_from_table(st), st, inputs, source="strata")


def project_stocks(by_code: dict[int, tuple[str, StratumStock]], st: Stocks, inputs: RunInputs, *,
                   source: str, plots: dict | None = None) -> StocksResult:
    """Scale per-stratum stocks [t CO2e/ha] to the project's forest at the HRP end [t CO2e].

    .. math:: Y = \\sum_h A_h \\bar y_h,\\quad SE(Y) = \\sqrt{\\sum_h A_h^2 SE_h^2}

    Cochran 1977 eqs. 5.2 and 5.16 (Satterthwaite df); a stock table's interval is large-sample.
    """
    from reddplus.landcover import forest_at
    from reddplus.stocks import project_carbon_stock

    codes = tuple(sorted(by_code))
    if inputs.strata is None and len(codes) > 1:
        raise ConfigError("several strata need a stratum raster", key="areas.strata")
    forest = forest_at(inputs.codes, inputs.periods.hrp_index[1]) & inputs.project
    px = inputs.pixel_area_ha
    if inputs.strata is None:
        areas = {codes[0]: float(np.count_nonzero(forest)) * px}
    else:
        areas = {h: float(np.count_nonzero(forest & (inputs.strata == h))) * px for h in codes}
    if any(a <= 0 for a in areas.values()):
        log.info("strata without forest in the project: %s", [h for h, a in areas.items() if a <= 0])
    stock = project_carbon_stock(tuple(by_code[h][1] for h in codes if areas[h] > 0),
                                 {by_code[h][1].stratum: areas[h] for h in codes if areas[h] > 0})
    if source != "inventory":  # stocks from a previous assessment: mean +- SE, large-sample interval
        half = Z90 * stock.se_tco2e
        stock = replace(stock, ci90_half_width_tco2e=half, relative_half_width=half / stock.total_tco2e,
                        df=float("inf"))
    agb_share = 1.0 / (1.0 + st.root_shoot_ratio)
    agb_stock = stock.total_tco2e * agb_share
    agb_ci = ((stock.total_tco2e - stock.ci90_half_width_tco2e) * agb_share,
              (stock.total_tco2e + stock.ci90_half_width_tco2e) * agb_share)
    strata = tuple(StratumCarbon(h, by_code[h][0], by_code[h][1], areas[h]) for h in codes)
    return StocksResult(source, strata, stock, agb_stock, agb_ci, plots)


def emission_factors(cfg: ProjectConfig, stocks: StocksResult, baseline: BaselineResult) -> EmissionFactorsResult:
    """Emission factor per stratum over the included pools, and of the baseline deforestation.

    Per stratum: pre-deforestation stock of the included pools minus the post-deforestation stock of
    the land uses that replace the forest (VMD0055 v1.1 section 5.3; IPCC 2006 vol. 4 eq. 2.16).
    The baseline's factor weights the strata by the deforestation that the baseline itself (the
    allocation used, whichever it is) puts in each stratum of the project.

    .. math:: EF_h = \\sum_{p \\in pools} C_{p,h} - C_{post},\\quad
              \\overline{EF} = \\sum_h A_h EF_h / \\sum_h A_h
    """
    from reddplus.accounting.pools import baseline_emission_factor, decide_pools, emission_factor_from_pools, \
        post_deforestation_stock

    st = cfg.stocks
    pools = decide_pools(st.pools.choices())
    post = post_deforestation_stock(st.post_deforestation_classes)
    agb_share = 1.0 / (1.0 + st.root_shoot_ratio)
    efs = {s.code: emission_factor_from_pools(pools, agb_tco2e_per_ha=s.stock.agb_tco2e_per_ha,
                                              agb_se_tco2e_per_ha=s.stock.se_tco2e_per_ha * agb_share,
                                              bgb_tco2e_per_ha=s.stock.bgb_tco2e_per_ha,
                                              post_biomass_tco2e_per_ha=post.tco2e_per_ha)
           for s in stocks.strata}
    allocated = baseline.project_ha_by_stratum
    if set(allocated) != set(efs):      # one stratum without a stratum raster: all the project
        allocated = {h: allocated.get(h, 0.0) for h in efs} if len(efs) > 1 else {next(iter(efs)): 1.0}
    weighted = baseline_emission_factor(allocated, efs, allocation=baseline.model)
    return EmissionFactorsResult(efs, weighted.emission_factor, {h: weighted.weights[str(h)] for h in efs},
                                 pools, post, weighted)
