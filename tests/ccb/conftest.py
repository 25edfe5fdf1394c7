"""A tiny valid CCB folder and forest-change world built in tmp_path (hand-checkable numbers).

World: 10 x 10 pixels of 100 m (1 ha) in ESRI:102033, x 0..1000 m, y 0..1000 m; fcc123 dates
(2018, 2020, 2022): 10 pixels non-forest (code 0, top row), 5 pixels lost in 2021-2022 (code 2,
second row, columns 0-4), 85 forest at 2022 (code 3). The project area is the whole square; the
community area is a 200 m strip east of it (outside the raster); HCV-1 is the lower-left quarter.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

CRS = "ESRI:102033"

TOML = """
standard = "CCB v3.1"
project_name = "Tiny test project"
as_of = 2022
gold_levels_claimed = ["GL3"]
zone = "zone.gpkg"
hcv_geometry = "hcv.gpkg"

[periods]
crediting = [2021, 2030]
monitoring = [[2021, 2022]]

[landscape]
core_edge_depth_m = 100.0

[evidence]
G4 = ["team CVs"]
"""

FILES = {
    "communities.csv": """group_id,name,kind,population,part_of,values_differ
C1,Village,community,100,,
C1-W,Women of the village,women,50,C1,true
""",
    "indicators.csv": """indicator_id,criterion,name,unit,method,frequency,responsible,source,disaggregation
B-1,B2,Forest area in the project area,ha,map,annual,GIS,computed:forest_area_ha@project_area,
B-2,B2,Forest loss in HCV-1,ha,map,annual,GIS,computed:forest_loss_ha@HCV-1,
B-3,B4,Patches in the project area,count,map,annual,GIS,computed:number_of_patches@project_area,
CM-1,CM2.1,Income,USD/yr,survey,every 2 years,liaison,reported,C1;C1-W
""",
    "indicator_values.csv": """indicator_id,period,scenario,group,value,note
CM-1,2021-2022,without_project,,1000,
CM-1,2021-2022,with_project,,1200,
CM-1,2021-2022,with_project,C1,1300,
CM-1,2021-2022,with_project,C1-W,not measured,survey postponed
""",
    "hcv.csv": """hcv_id,type,name,evidence,threats,species,iucn_category
HCV-1,threatened_species,Otter lake,survey 2020,mining,Pteronura brasiliensis,EN
""",
    "hcv_status.csv": """hcv_id,period,status
HCV-1,2021-2022,maintained
""",
}


def write_world(folder: Path) -> Path:
    """The fcc123 raster of the tiny world (returns its path)."""
    import rasterio
    from rasterio.transform import from_origin

    codes = np.full((10, 10), 3, np.uint8)
    codes[0, :] = 0
    codes[1, :5] = 2
    p = folder / "fcc.tif"
    with rasterio.open(p, "w", driver="GTiff", width=10, height=10, count=1, dtype="uint8", crs=CRS,
                       transform=from_origin(0, 1000, 100, 100)) as ds:
        ds.write(codes, 1)
    return p


def write_density(folder: Path, value: float = 0.01) -> Path:
    import rasterio
    from rasterio.transform import from_origin

    p = folder / "density.tif"
    with rasterio.open(p, "w", driver="GTiff", width=10, height=10, count=1, dtype="float32", crs=CRS,
                       transform=from_origin(0, 1000, 100, 100)) as ds:
        ds.write(np.full((10, 10), value, np.float32), 1)
    return p


def write_ccb_folder(folder: Path, *, toml: str = TOML, files: dict | None = None, hcv_geom=None) -> Path:
    import geopandas as gpd
    from shapely.geometry import box

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ccb.toml").write_text(textwrap.dedent(toml))
    for name, text in {**FILES, **(files or {})}.items():
        if text is None:
            continue
        (folder / name).write_text(textwrap.dedent(text))
    gpd.GeoDataFrame({"kind": ["project_area", "community_area"], "name": ["Project", "Village area"],
                      "group_id": ["", "C1"]}, geometry=[box(0, 0, 1000, 1000), box(1000, 0, 1200, 1000)],
                     crs=CRS).to_file(folder / "zone.gpkg")
    gpd.GeoDataFrame({"hcv_id": ["HCV-1"]}, geometry=[hcv_geom if hcv_geom is not None else box(0, 0, 500, 500)],
                     crs=CRS).to_file(folder / "hcv.gpkg")
    return folder


@pytest.fixture
def ccb_folder(tmp_path):
    return write_ccb_folder(tmp_path / "ccb")


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The GENERATED sample landscape with its CCB folder, at a coarse scale."""
    from reddplus.sample import generate_sample_landscape

    return generate_sample_landscape(tmp_path_factory.mktemp("ccb_sample") / "s", scale=0.15)
