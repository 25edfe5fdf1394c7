"""Carbon stocks: tree inventory -> tree AGB -> plot / stratum / project carbon, with Monte Carlo.

Layers:

* pure functions per step: :mod:`~reddplus.stocks.allometry` (Chave et al. 2014 eqs. 4, 6b, 7),
  :mod:`~reddplus.stocks.height` (local H–D models, Feldpausch et al. 2012, Chave et al. 2014 eq. 6a),
  :mod:`~reddplus.stocks.wood_density` (GWDD fallback chain), :mod:`~reddplus.stocks.montecarlo`,
  :mod:`~reddplus.stocks.aggregate` (BGB, CO2e, stratum means, project total),
  :mod:`~reddplus.stocks.mapping` (model-assisted AGBD map);
* readers :mod:`~reddplus.stocks.inventory` and path-level tools :mod:`~reddplus.stocks.tools`.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from reddplus.stocks.aggregate import (CARBON_FRACTION, CO2_PER_C, ROOT_SHOOT_RATIOS, ProjectStock, StratumStock,
                                       bgb_from_agb, co2e_from_biomass, project_carbon_stock, stratum_carbon_stocks)
from reddplus.stocks.allometry import (agb_chave2014_eq4, agb_chave2014_eq7, chave2014_posterior_draws,
                                       environmental_stress_chave2014, fit_chave2014_eq4)
from reddplus.stocks.height import (HEIGHT_METHODS, HeightModel, compare_height_models, fit_height_model,
                                    height_chave2014_eq6a, height_feldpausch2012)
from reddplus.stocks.inventory import Inventory, read_inventory, read_plot_areas
from reddplus.stocks.montecarlo import MonteCarloResult, agb_monte_carlo
from reddplus.stocks.wood_density import (WoodDensityMatch, WoodDensityTable, default_wood_density_table,
                                          match_wood_density, read_wood_density_table)


def sample_inventory_path() -> Path:
    """Path of the built-in synthetic demo inventory (6 plots in 2 strata; see reddplus/data/PROVENANCE.md)."""
    return Path(str(resources.files("reddplus.data").joinpath("sample_inventory.csv")))


def sample_plots_path() -> Path:
    """Path of the plot table (plot, area_ha, stratum) of the built-in demo inventory."""
    return Path(str(resources.files("reddplus.data").joinpath("sample_plots.csv")))


__all__ = [
    "CARBON_FRACTION", "CO2_PER_C", "HEIGHT_METHODS", "ROOT_SHOOT_RATIOS", "HeightModel", "Inventory",
    "MonteCarloResult", "ProjectStock", "StratumStock", "WoodDensityMatch", "WoodDensityTable", "agb_chave2014_eq4",
    "agb_chave2014_eq7", "agb_monte_carlo", "bgb_from_agb", "chave2014_posterior_draws", "co2e_from_biomass",
    "compare_height_models", "default_wood_density_table", "environmental_stress_chave2014", "fit_chave2014_eq4",
    "fit_height_model", "height_chave2014_eq6a", "height_feldpausch2012", "match_wood_density",
    "project_carbon_stock", "read_inventory", "read_plot_areas", "read_wood_density_table", "sample_inventory_path",
    "sample_plots_path", "stratum_carbon_stocks",
]
