"""The raster engine: the only place that knows blocks, halos, grids and COG writing.

* :mod:`~reddplus.raster.windows`: :class:`Block` value objects and :func:`iter_blocks` (memory limit, halo);
* :mod:`~reddplus.raster.grid`: :class:`Grid`, CRS checks, identical-grid checks, alignment;
* :mod:`~reddplus.raster.io`: atomic COG writing (:class:`BlockWriter`, :func:`write_cog`), reading blocks;
* :mod:`~reddplus.raster.zones`: vector zones reprojected and rasterised per block;
* :mod:`~reddplus.raster.executor`: :func:`map_blocks` on local threads or a Dask cluster.
"""

import warnings as _warnings

from rasterio.errors import NotGeoreferencedWarning as _NotGeoreferenced

# rasterio's rasterize wraps its output array in an in-memory dataset and, under some GDAL builds, says
# that dataset has no geotransform although the caller passed one (every reddplus call passes the grid's
# window transform); inputs without a geotransform are refused by the grid checks instead
_warnings.filterwarnings("ignore", category=_NotGeoreferenced, module=r"rasterio\.features")

from reddplus.raster.executor import map_blocks  # noqa: E402
from reddplus.raster.grid import Grid, check_projected_metres, check_same_grid, read_grid
from reddplus.raster.io import (BlockWriter, align_raster, atomic_dir, atomic_path, copy_as_cog, open_raster, overview_grid,
                                read_block, read_overview, write_cog)
from reddplus.raster.windows import Block, block_side, iter_blocks, iter_strips
from reddplus.raster.zones import (Zones, block_around, burn_zones, polygon_area_ha, read_zones,
                                   zone_mask)

__all__ = ["Block", "BlockWriter", "Grid", "Zones", "align_raster", "atomic_dir", "atomic_path", "block_around",
           "block_side", "burn_zones", "check_projected_metres", "check_same_grid", "copy_as_cog", "iter_blocks",
           "iter_strips", "map_blocks", "open_raster", "overview_grid", "polygon_area_ha", "read_block", "read_grid",
           "read_overview", "read_zones", "write_cog", "zone_mask"]
