"""The reference project's published figures, shown beside the built-in sample's results only.

The sample landscape (:mod:`reddplus.sample.landscape`) is modelled on a 145,945 ha conservation
concession in Madre de Dios, Peru, whose reference assessment found 79.4 Mt CO2 in above-ground
biomass and projected 250,000-595,000 t CO2e/yr of avoided emissions. These figures describe that
project and nothing else: a real project's run never shows them.
"""

from __future__ import annotations

import math

#: the reference assessment of the 145,945 ha concession
REFERENCE = {
    "project_area_ha": 145_945.0,
    "agb_stock_tco2": 79.4e6,
    "avoided_emissions_tco2e_per_year": (250_000.0, 595_000.0),
}


def reference_comparison(project_area_ha: float, agb_stock_tco2: float,
                         mean_avoided_tco2e_per_year: float) -> dict[str, tuple[str, str]]:
    """The reference figure and the relative difference for each headline figure of the sample.

    Returns ``{"project_area_ha" | "agb_stock_tco2" | "avoided": (reference text, difference text)}``.
    """
    lo, hi = REFERENCE["avoided_emissions_tco2e_per_year"]
    if math.isnan(mean_avoided_tco2e_per_year):
        diff = "—"
    elif lo <= mean_avoided_tco2e_per_year <= hi:
        diff = "inside the reference range"
    else:
        edge = lo if mean_avoided_tco2e_per_year < lo else hi
        diff = f"{(mean_avoided_tco2e_per_year - edge) / edge:+.1%} from the range's nearest end"
    area, agb = REFERENCE["project_area_ha"], REFERENCE["agb_stock_tco2"]
    return {
        "project_area_ha": (f"{area:,.0f}", f"{project_area_ha / area - 1:+.2%}"),
        "agb_stock_tco2": (f"{agb / 1e6:,.1f} M", f"{agb_stock_tco2 / agb - 1:+.1%}"),
        "avoided": (f"{lo:,.0f}–{hi:,.0f}", diff),
    }


def reference_summary() -> dict:
    """The reference figures as ``summary.json`` gives them for the built-in sample."""
    return {"project_area_ha": REFERENCE["project_area_ha"], "agb_stock_tco2": REFERENCE["agb_stock_tco2"],
            "avoided_emissions_tco2e_per_year": list(REFERENCE["avoided_emissions_tco2e_per_year"])}
