"""Forest-change inputs (fcc123, masks, Hansen GFC, JRC TMF) in one canonical code, and activity data.

* :func:`open_forest_change` -> :class:`ForestChange` with ``dates``, ``grid`` and
  ``read_codes(block)`` (uint8: number of leading forest dates; 255 = no data);
  :func:`forest_at`, :func:`deforested_between` read the codes.
* :func:`activity_data` -> :class:`ActivityResult`: forest area per date and deforestation per
  period and year, per zone [ha], with linear and compound rates (Puyravaud 2003).
"""

from reddplus.landcover.activity import (ActivityResult, activity_data, annual_loss_ha, annual_rates, code_counts,
                                        zone_deforestation_by_stratum_ha, zone_deforestation_ha)
from reddplus.landcover.forest_change import (FORMATS, NODATA, ForestChange, apply_mmu, codes_from_fcc123,
                                              codes_from_hansen, codes_from_masks, codes_from_tmf, deforested_between,
                                              forest_at, open_forest_change)

__all__ = ["FORMATS", "NODATA", "ActivityResult", "ForestChange", "activity_data", "annual_loss_ha", "annual_rates",
           "apply_mmu", "code_counts", "codes_from_fcc123", "codes_from_hansen", "codes_from_masks", "codes_from_tmf",
           "deforested_between", "forest_at", "open_forest_change", "zone_deforestation_by_stratum_ha",
           "zone_deforestation_ha"]
