"""The GENERATED CCB v3.1 dataset of the built-in sample project (no real community or HCV data).

Written by :func:`reddplus.sample.landscape.generate_sample_landscape` into ``ccb/`` beside the
sample's ``project.toml`` (which names it in its ``[ccb]`` section). It mirrors the reference
project's four co-benefits on the generated geography:

* communities along the river (a riverside community and two villages near the concession, a
  women's group where their values differ, an indigenous community), their community areas and an
  engagement / FPIC log, grievances and a tenure register;
* a territorial reserve for indigenous peoples in voluntary isolation beside the concession, with
  a monitored buffer and the roads per date (the planned branch road stops at the boundary);
* water intakes at the riverside communities (catchments delineated from the sample DEM) and
  riparian buffers along the rivers;
* HCV areas (threatened-species lakes, the landscape-level forest block, a Brazil-nut area, a
  cultural site, the riparian forest) and a research station with its science and training
  indicators;
* a theory of change and indicator values (with one value "not measured", kept as missing).

Every file says GENERATED (a header line, a ``generated`` attribute or ``generated = true``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["write_ccb_dataset"]

BANNER = "GENERATED reddplus sample CCB dataset: not real community, HCV or monitoring data"


def _csv(path: Path, rows: list[dict]) -> None:
    import pandas as pd

    path.write_text(f"# {BANNER}\n" + pd.DataFrame(rows).to_csv(index=False), encoding="utf-8")


def _gpkg(path: Path, gdf) -> None:
    gdf = gdf.copy()
    gdf["generated"] = BANNER
    gdf.to_file(path, driver="GPKG", layer=path.stem)


def write_ccb_dataset(folder: str | Path, layers: dict, *, project_start_year: int, crediting_years: int,
                      monitoring: list[list[int]], seed: int) -> Path:
    """Write the GENERATED CCB folder for the sample geometry ``layers`` (ESRI:102033 GeoDataFrames).

    Parameters
    ----------
    folder : path
        Created (inside the sample's staging folder).
    layers : dict of GeoDataFrame
        The sample's vector layers (project, rivers, settlements, roads, planned_roads...).
    project_start_year, crediting_years : int
    monitoring : list of [start, end]
        The sample project's monitoring periods.
    seed : int
        Seeds the generated indicator values.
    """
    import geopandas as gpd
    import tomli_w
    from shapely.geometry import box
    from shapely.ops import unary_union

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=False)
    rng = np.random.default_rng((seed, 14))
    crs = layers["project"].crs
    project = layers["project"].geometry.union_all()
    river = layers["rivers"].geometry.iloc[0]
    settle = layers["settlements"]
    minx, miny, maxx, maxy = project.bounds
    region = layers["jurisdiction"].geometry.union_all()

    # ---- communities along the river and near the concession
    riverside = river.interpolate(river.project(project.centroid))
    villages = {n: g for n, g in zip(settle["name"], settle.geometry)}
    near = sorted(((g.distance(project), n) for n, g in villages.items() if n.startswith("Village")))[:2]
    points = {"RIV": (riverside, "Riverside community (GENERATED)"),
              "VIL-A": (villages[near[0][1]], f"{near[0][1]} (GENERATED)"),
              "VIL-B": (villages[near[1][1]], f"{near[1][1]} (GENERATED)")}
    indig_pt = river.interpolate(min(river.length, river.project(project.centroid) + 18_000))
    points["IND"] = (indig_pt, "Indigenous community, riverside (GENERATED)")
    comm_areas = {gid: (pt.buffer(5_000).intersection(region), name) for gid, (pt, name) in points.items()}
    zone_rows = [{"kind": "project_area", "name": "Sample concession (GENERATED)", "group_id": "", "geometry": project}]
    for gid, (geom, name) in comm_areas.items():
        zone_rows.append({"kind": "community_area", "name": f"{name}: community area", "group_id": gid,
                          "geometry": geom.difference(project)})
    zone = gpd.GeoDataFrame(zone_rows, crs=crs)
    _gpkg(folder / "project_zone.gpkg", zone)
    pz = unary_union(list(zone.geometry))

    groups = [
        {"group_id": "RIV", "name": points["RIV"][1], "kind": "community", "population": 420, "households": 96,
         "part_of": "", "values_differ": "", "description": "GENERATED: fishing, Brazil-nut harvesting, river transport"},
        {"group_id": "RIV-W", "name": "Women of the riverside community (GENERATED)", "kind": "women",
         "population": 205, "households": "", "part_of": "RIV", "values_differ": "true",
         "description": "GENERATED: Brazil-nut shelling and handicrafts income differs from men's"},
        {"group_id": "VIL-A", "name": points["VIL-A"][1], "kind": "community", "population": 800, "households": 170,
         "part_of": "", "values_differ": "", "description": "GENERATED: farming and timber along the road"},
        {"group_id": "VIL-B", "name": points["VIL-B"][1], "kind": "community", "population": 800, "households": 165,
         "part_of": "", "values_differ": "", "description": "GENERATED: farming, small-scale gold panning"},
        {"group_id": "IND", "name": points["IND"][1], "kind": "indigenous", "population": 310, "households": 64,
         "part_of": "", "values_differ": "", "description": "GENERATED: titled native community"},
        {"group_id": "PIA", "name": "Indigenous peoples in voluntary isolation (GENERATED)",
         "kind": "isolated_indigenous", "population": "", "households": "", "part_of": "", "values_differ": "",
         "description": "GENERATED: no-contact policy; represented through the indigenous federation"},
    ]
    _csv(folder / "communities.csv", groups)
    _csv(folder / "stakeholders.csv", [
        {"stakeholder_id": "TOWN", "name": "Town water utility (GENERATED)", "kind": "public utility",
         "location": "town downstream", "interest": "raw-water quality"},
        {"stakeholder_id": "FED", "name": "Regional indigenous federation (GENERATED)", "kind": "indigenous organisation",
         "location": "town", "interest": "protection of the reserve and of peoples in isolation"},
        {"stakeholder_id": "MINERS", "name": "Gold-mining association (GENERATED)", "kind": "private sector",
         "location": "river downstream", "interest": "access to the river"},
        {"stakeholder_id": "UNIV", "name": "National university (GENERATED)", "kind": "research",
         "location": "capital", "interest": "field research and training at the station"},
    ])
    y0 = project_start_year
    eng = [
        (f"{y0 - 1}-03-12", "RIV", "project design and benefit sharing", "design agreed; committee formed", True),
        (f"{y0 - 1}-03-14", "RIV-W", "women's livelihood priorities", "Brazil-nut shelling support prioritised", True),
        (f"{y0 - 1}-04-02", "VIL-A", "project design", "patrol employment agreed", False),
        (f"{y0 - 1}-04-05", "VIL-B", "project design", "concerns on access recorded", False),
        (f"{y0 - 1}-05-20", "IND", "free, prior and informed consent", "consent given with conditions", True),
        (f"{y0 - 1}-06-10", "FED", "no-contact protocol for peoples in isolation", "protocol adopted", True),
        (f"{y0 + 1}-02-15", "RIV", "annual assembly", "benefit distribution reviewed", False),
        (f"{y0 + 2}-02-20", "IND", "annual assembly", "consent conditions reviewed", True),
        (f"{y0 + 3}-03-01", "TOWN", "water monitoring results", "joint sampling agreed", False),
    ]
    _csv(folder / "engagement.csv", [{"date": d, "group_id": g, "topic": t, "outcome": o,
                                      "evidence": f"GENERATED minutes {d} {g}", "fpic": str(f).lower()}
                                     for d, g, t, o, f in eng])
    _csv(folder / "grievances.csv", [
        {"grievance_id": "GR-1", "group_id": "VIL-B", "received": f"{y0 + 1}-05-03",
         "description": "GENERATED: access path to fields closed by patrols", "response": f"{y0 + 1}-05-20",
         "closed": f"{y0 + 1}-07-01", "resolution": "access corridor agreed"},
        {"grievance_id": "GR-2", "group_id": "RIV", "received": f"{y0 + 3}-08-11",
         "description": "GENERATED: delay in benefit payment", "response": f"{y0 + 3}-08-25", "closed": "",
         "resolution": ""},
    ])
    _csv(folder / "tenure.csv", [
        {"right_id": "T-1", "holder": "proponent", "kind": "statutory", "right": "conservation concession (40 years)",
         "area": "project area", "evidence": "GENERATED concession contract", "dispute": "", "dispute_status": "none"},
        {"right_id": "T-2", "holder": "RIV", "kind": "customary", "right": "Brazil-nut harvesting and fishing",
         "area": "HCV-5", "evidence": "GENERATED participatory map", "dispute": "", "dispute_status": "none"},
        {"right_id": "T-3", "holder": "IND", "kind": "statutory", "right": "titled native community land",
         "area": "community area IND", "evidence": "GENERATED land title", "dispute": "", "dispute_status": "none"},
        {"right_id": "T-4", "holder": "VIL-B", "kind": "customary", "right": "farm plots at the concession edge",
         "area": "north-west edge", "evidence": "GENERATED field survey",
         "dispute": "GENERATED: overlap of 40 ha with the concession", "dispute_status": "resolved"},
    ])

    # ---- HCV areas, all inside the project zone
    lake = river.interpolate(river.project(project.centroid) + 6_000).buffer(3_000).intersection(pz)
    if lake.area < 1e6:  # keep a real polygon whatever the jitter
        lake = project.centroid.buffer(3_000).intersection(project)
    block = project.buffer(-3_000)
    brazil_nut = comm_areas["RIV"][0].buffer(4_000).intersection(project)
    if brazil_nut.area < 1e6:
        brazil_nut = project.centroid.buffer(4_000).intersection(project)
    cultural = indig_pt.buffer(1_500).intersection(pz)
    riparian = river.buffer(500).intersection(pz)
    hcv = [("HCV-1", "threatened_species", "Oxbow lakes: giant otter habitat (GENERATED)", lake,
            "Pteronura brasiliensis", "EN", "", "mining sediment, fishing nets"),
           ("HCV-2", "landscape_level", "Intact forest block of the concession (GENERATED)", block, "", "", "",
            "illegal logging, road access"),
           ("HCV-4", "ecosystem_services", "Riparian forest above the intakes (GENERATED)", riparian, "", "", "",
            "clearing along the river, mining"),
           ("HCV-5", "community_livelihood", "Brazil-nut stands of the riverside community (GENERATED)", brazil_nut,
            "Bertholletia excelsa", "VU", "", "logging of nut trees"),
           ("HCV-6", "cultural", "Sacred lake of the indigenous community (GENERATED)", cultural, "", "", "",
            "visitors without consent")]
    _csv(folder / "hcv.csv", [{"hcv_id": h, "type": t, "name": n, "evidence": f"GENERATED HCV assessment {y0 - 1}",
                               "threats": th, "species": sp, "iucn_category": iu, "restricted_range": rr}
                              for h, t, n, _g, sp, iu, rr, th in hcv])
    _gpkg(folder / "hcv.gpkg", gpd.GeoDataFrame({"hcv_id": [h[0] for h in hcv]}, geometry=[h[3] for h in hcv],
                                                crs=crs))
    periods = [f"{a}-{b}" for a, b in monitoring]
    _csv(folder / "hcv_status.csv", [{"hcv_id": h[0], "period": p, "status": "enhanced" if h[0] == "HCV-5"
                                      else "maintained", "evidence": f"GENERATED monitoring report {p}"}
                                     for h in hcv for p in periods])

    # ---- isolated peoples: the reserve beside the concession, roads per date
    reserve = box(maxx + 1_000, miny + 0.35 * (maxy - miny), maxx + 30_000, maxy + 8_000).intersection(region)
    _gpkg(folder / "reserve.gpkg", gpd.GeoDataFrame({"name": ["Territorial reserve (GENERATED)"]}, geometry=[reserve],
                                                    crs=crs))
    roads = layers["roads"]
    planned = layers["planned_roads"]
    start = roads[roads["opening_year"] <= y0 - 1]
    _gpkg(folder / f"roads_{y0 - 1}.gpkg", gpd.GeoDataFrame({"name": list(start["name"])},
                                                            geometry=list(start.geometry), crs=crs))
    blocked = [g.difference(project.buffer(200)) for g in planned.geometry]  # stopped at the patrol post
    last = monitoring[-1][1] if monitoring else y0 + 3
    _gpkg(folder / f"roads_{last}.gpkg", gpd.GeoDataFrame({"name": list(start["name"]) + list(planned["name"])},
                                                          geometry=list(start.geometry) + blocked, crs=crs))
    # ---- water intakes and the research station
    intakes = gpd.GeoDataFrame({"intake_id": ["INT-RIV", "INT-IND"],
                                "name": ["Riverside community intake (GENERATED)",
                                         "Indigenous community intake (GENERATED)"]},
                               geometry=[points["RIV"][0], indig_pt], crs=crs)
    _gpkg(folder / "intakes.gpkg", intakes)
    station = project.centroid
    _gpkg(folder / "research_station.gpkg", gpd.GeoDataFrame({"name": ["Research station (GENERATED)"]},
                                                             geometry=[station], crs=crs))

    # ---- indicators and theory of change
    def comp(iid, crit, name, unit, metric, zone, freq="annual"):
        return {"indicator_id": iid, "criterion": crit, "name": name, "unit": unit,
                "method": f"reddplus map indicator {metric} on the forest-change raster", "frequency": freq,
                "responsible": "project GIS officer (GENERATED)", "source": f"computed:{metric}@{zone}",
                "disaggregation": ""}

    def rep(iid, crit, name, unit, method, freq, who, groups=""):
        return {"indicator_id": iid, "criterion": crit, "name": name, "unit": unit, "method": method,
                "frequency": freq, "responsible": who, "source": "reported", "disaggregation": groups}

    inds = [
        comp("B-1", "B2", "Forest habitat area in the project zone", "ha", "forest_area_ha", "project_zone"),
        comp("B-2", "B2", "Core forest area in the project zone", "ha", "core_area_ha", "project_zone"),
        comp("B-3", "B4", "Number of forest patches in the project zone", "count", "number_of_patches", "project_zone"),
        comp("B-4", "B4", "Forest edge density in the project zone", "m/ha", "edge_density_m_per_ha", "project_zone"),
        comp("B-5", "B4", "Mean forest patch area in the project zone", "ha", "mean_patch_area_ha", "project_zone"),
        comp("B-6", "B4", "Effective mesh size of the forest in the project zone", "ha", "effective_mesh_size_ha",
             "project_zone"),
        comp("B-7", "B2", "Forest loss in the giant-otter lakes HCV", "ha", "forest_loss_ha", "HCV-1"),
        comp("B-8", "GL3", "Forest area of the landscape-level HCV", "ha", "forest_area_ha", "HCV-2"),
        comp("W-1", "CM2", "Forest cover of the catchment above the riverside intake", "%", "forest_cover_percent",
             "catchment:INT-RIV"),
        comp("W-2", "CM2", "Forest cover of the catchment above the indigenous community intake", "%",
             "forest_cover_percent", "catchment:INT-IND"),
        comp("W-3", "CM2", "Forest cover of the riparian buffers in the project zone", "%", "forest_cover_percent",
             "riparian"),
        comp("IP-1", "CM2", "Deforestation in the buffer of the territorial reserve", "ha", "forest_loss_ha",
             "reserve_buffer"),
        comp("IP-2", "CM2", "Roads and access inside the concession", "km", "road_km", "project_area"),
        comp("IP-3", "CM3", "Road pieces entering the concession", "count", "road_entries", "project_area"),
        rep("CM-1", "CM2", "Mean household income from forest products", "USD/yr", "household survey (n = 60)",
            "every 2 years", "community liaison officer (GENERATED)", "RIV;RIV-W"),
        rep("CM-2", "CM2", "Brazil-nut harvest of the riverside community", "t/yr", "cooperative sales records",
            "annual", "cooperative (GENERATED)"),
        rep("CM-3", "G3", "Grievances answered within 30 days", "%", "grievance register", "annual",
            "community liaison officer (GENERATED)"),
        rep("CM-4", "GL2", "Women on community management committees", "%", "committee records", "annual",
            "community liaison officer (GENERATED)"),
        rep("SCI-1", "B4", "Peer-reviewed publications from the research station", "count", "bibliographic search",
            "annual", "station manager (GENERATED)"),
        rep("SCI-2", "G4", "Researchers hosted at the station", "persons", "station register", "annual",
            "station manager (GENERATED)"),
        rep("SCI-3", "CM2", "People trained (field courses, rangers, guides)", "persons", "course attendance lists",
            "annual", "station manager (GENERATED)", "RIV;RIV-W;IND"),
    ]
    _csv(folder / "indicators.csv", inds)
    vals = []
    for p in periods:
        a, b = (int(x) for x in p.split("-"))
        n = b - a + 1

        def add(iid, scen, value, group="", note="GENERATED"):
            vals.append({"indicator_id": iid, "period": p, "scenario": scen, "group": group,
                         "value": "" if value is None else round(float(value), 2), "note": note})

        add("CM-1", "without_project", 1_450)
        add("CM-1", "with_project", 1_450 * (1 + 0.18 + 0.04 * rng.standard_normal()))
        add("CM-1", "with_project", 1_450 * 1.10, group="RIV")
        add("CM-1", "with_project", None, group="RIV-W", note="GENERATED: survey of women postponed: not measured")
        add("CM-1", "without_project", 1_450, group="RIV")
        add("CM-1", "without_project", 980, group="RIV-W")
        add("CM-2", "without_project", 38.0)
        add("CM-2", "with_project", 38.0 * (1.25 + 0.05 * rng.standard_normal()))
        add("CM-3", "without_project", None, note="GENERATED: no grievance mechanism without the project")
        add("CM-3", "with_project", 100.0)
        add("CM-4", "without_project", 8.0)
        add("CM-4", "with_project", 31.0)
        add("SCI-1", "without_project", 3 * n)
        add("SCI-1", "with_project", int(rng.integers(28, 36)) * n // 4)
        add("SCI-2", "without_project", 10 * n)
        add("SCI-2", "with_project", int(rng.integers(70, 90)) * n // 4 * 4)
        add("SCI-3", "without_project", 0.0, note="GENERATED: no courses without the station (a measured zero)")
        add("SCI-3", "with_project", 60 * n)
        add("SCI-3", "with_project", 18 * n, group="RIV")
        add("SCI-3", "with_project", 14 * n, group="RIV-W")
        add("SCI-3", "with_project", 9 * n, group="IND")
    _csv(folder / "indicator_values.csv", vals)
    toc = [
        ("A1", "activity", "Patrols and a control post on the access road", "O1", "IP-2;IP-3"),
        ("A2", "activity", "Brazil-nut value chain support with the riverside community", "O2", "CM-2"),
        ("A3", "activity", "Research station: hosting researchers and field courses", "O3", "SCI-2;SCI-3"),
        ("A4", "activity", "No-contact protocol and reserve-buffer monitoring with the federation", "O1", "IP-1"),
        ("O1", "output", "No new access into the concession or the reserve buffer", "OC1", "IP-2"),
        ("O2", "output", "Higher, fairer Brazil-nut income, including women's", "OC2", "CM-1"),
        ("O3", "output", "Publications and trained people", "OC3", "SCI-1;SCI-3"),
        ("OC1", "outcome", "Deforestation and fragmentation avoided in the project zone and HCVs", "I1;I2",
         "B-1;B-4;B-7"),
        ("OC2", "outcome", "Communities value the standing forest", "I2", "CM-1;CM-4"),
        ("OC3", "outcome", "Knowledge supports management", "I1", "SCI-1"),
        ("I1", "impact", "Hyperdiverse forest and its threatened species conserved", "", "B-2;B-6;B-8"),
        ("I2", "impact", "Clean water and secure livelihoods for the river communities; peoples in isolation "
                         "protected", "", "W-1;W-2;W-3;IP-1"),
    ]
    _csv(folder / "theory_of_change.csv", [{"node_id": a, "level": b, "description": f"{c} (GENERATED)",
                                             "leads_to": d, "indicators": e} for a, b, c, d, e in toc])

    c1 = project_start_year + crediting_years - 1
    cfg = {
        "standard": "CCB v3.1",
        "project_name": "Sample concession, Madre de Dios-like (GENERATED)",
        "generated": True,
        "climate_via_vcs": True,
        "gold_levels_claimed": ["GL3"],
        "as_of": int(last),
        "periods": {"crediting": [project_start_year, c1], "monitoring": [list(m) for m in monitoring]},
        "zone": "project_zone.gpkg",
        "hcv_geometry": "hcv.gpkg",
        "landscape": {"core_edge_depth_m": 100.0},
        "water": {"intakes": "intakes.gpkg", "dem": "../elevation.tif", "snap_upstream_km2": 5.0,
                  "snap_distance_m": 3000.0, "rivers": "../rivers.gpkg", "riparian_buffer_m": 500.0},
        "isolated_peoples": {"reserve": "reserve.gpkg", "buffer_m": 10_000.0,
                             "roads": [{"path": f"roads_{y0 - 1}.gpkg", "date": y0 - 1},
                                       {"path": f"roads_{last}.gpkg", "date": int(last)}]},
        "evidence": {
            "G1": ["GENERATED PD section 2 (project zone, activities)"],
            "G2": ["GENERATED PD section 3 (without-project land use)"],
            "G3": ["GENERATED PD section 4 and the engagement log"],
            "G4": ["GENERATED PD section 5 (team, finances, research station staff)"],
            "G5": ["GENERATED concession contract and land titles"],
            "B3": ["GENERATED PD section 8.3 (leakage belt: no offsite biodiversity harm)"],
            "GL3": ["GENERATED HCV assessment: giant otter (EN) lakes"],
        },
    }
    (folder / "ccb.toml").write_text(f"# {BANNER}\n" + tomli_w.dumps(cfg), encoding="utf-8")
    (folder / "README.txt").write_text(BANNER + "\nSee reddplus/sample/ccb.py for how each file was generated.\n",
                                       encoding="utf-8")
    return folder
