"""``reddplus risk``: VT0007 benchmark risk map, assessment and allocation (thin: parse, call, print)."""

from __future__ import annotations

import click

from reddplus.cli.options import (check_output, dask_opt, echo_json, forest_change_options, json_opt, overwrite_opt,
                                  parse_years, published)
from reddplus.risk import PROFILES, UDEF_ARP_MAX_ITERATIONS


@click.group()
def risk():
    """Deforestation risk maps (VT0007 benchmark, alternative models) and allocation."""


@risk.command()
@forest_change_options(format_required=True, mmu=False)
@click.option("--periods", default=None, metavar="CAL=Y-Y,CNF=Y-Y,HRP=Y-Y,VP=Y",
              help="VT0007 periods (default with 3 dates: CAL first-second, CNF second-third, HRP first-third).")
@click.option("--admin", type=click.Path(dir_okay=False), default=None, help="Sub-jurisdiction polygons.")
@click.option("--admin-field", default=None, help="Attribute naming each admin division.")
@click.option("--project", type=click.Path(dir_okay=False), default=None, help="Project polygon(s).")
@click.option("--leakage-belt", type=click.Path(dir_okay=False), default=None, help="Leakage belt polygon(s).")
@click.option("--expected-deforestation-ha-per-year", "expected", type=click.FloatRange(min=0), default=None,
              help="Expected jurisdictional deforestation [ha/yr] to allocate.")
@click.option("--profile", type=click.Choice(list(PROFILES)), default=PROFILES[0], show_default=True,
              help="Reading of the VT0007 steps: reddplus's exact rule, or UDef-ARP's (Verra's reference tool).")
@click.option("--max-iterations", type=click.IntRange(0), default=UDEF_ARP_MAX_ITERATIONS, show_default=True,
              help="udef-arp profile: iteration limit of UDef-ARP's adjustment-ratio loop.")
@click.option("--nrt-share", type=click.FloatRange(0, 1, min_open=True), default=0.995, show_default=True,
              help="Cumulative share defining the NRT.")
@click.option("--max-distance", "max_distance_m", type=click.FloatRange(min=0, min_open=True), default=6000.0,
              show_default=True,
              help="NRT search distance [m]: an NRT beyond it is an error saying the distance needed. At least one "
                   "pixel; the distances are exact at any length, so it does not change the cost.")
@click.option("--cell-area-ha", type=click.FloatRange(min=0, min_open=True), default=100_000.0, show_default=True,
              help="Assessment cell area = median project area [ha].")
@click.option("--period-classes/--no-period-classes", default=True, show_default=True,
              help="Also write the class rasters at the CAL and CNF starts.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output directory.")
@overwrite_opt
@dask_opt
@json_opt
def benchmark(forest_change, fmt, dates, canopy_threshold, periods, admin, admin_field, project, leakage_belt,
              expected, profile, max_iterations, nrt_share, max_distance_m, cell_area_ha, period_classes, out_dir,
              overwrite, dask_scheduler, as_json):
    """VT0007 v1.0 benchmark risk map: NRT, classes, densities, assessment, allocation to the project.

    Every input is checked before the raster work; OUT is written under a temporary name and
    published at the end (nothing is left on bad input).
    """
    from pathlib import Path

    from reddplus.errors import collect_warnings
    from reddplus.landcover import open_forest_change
    from reddplus.manifest import build_manifest, write_manifest
    from reddplus.raster import atomic_dir, read_zones
    from reddplus.risk.tools import parse_periods, vt0007_benchmark

    if (project is None) != (expected is None):
        raise click.UsageError("--project and --expected-deforestation-ha-per-year go together")
    paths = forest_change[0] if len(forest_change) == 1 else list(forest_change)
    fc_paths = [paths] if isinstance(paths, str) else list(paths)
    inputs = {f"forest_change.{i}": Path(p) for i, p in enumerate(fc_paths)}
    inputs.update({k: Path(p) for k, p in (("admin", admin), ("project", project), ("leakage_belt", leakage_belt))
                   if p})
    check_output(out_dir, overwrite, inputs.values())
    out_dir = Path(out_dir).absolute()
    zones = {"project": project} if project else {}
    if leakage_belt:
        zones["leakage_belt"] = leakage_belt
    udef = profile == "udef-arp"
    with collect_warnings() as caught:
        options = {"canopy_threshold": canopy_threshold} if fmt == "hansen" else {}
        fc = open_forest_change(paths, fmt, dates=parse_years(dates), **options)
        per = parse_periods(periods, fc.dates)
        # the zones are read (and checked against the raster) before any raster work
        if admin:
            read_zones(admin, fc.grid, field=admin_field)
        for p in zones.values():
            read_zones(p, fc.grid, dissolve=True)
        with atomic_dir(out_dir, overwrite=overwrite) as stage:
            res = vt0007_benchmark(fc, out_dir=stage, periods=per, admin=admin, admin_field=admin_field,
                                   nrt_share=nrt_share, max_distance_m=max_distance_m, cell_area_ha=cell_area_ha,
                                   overwrite=True, scheduler=dask_scheduler, profile=profile,
                                   max_iterations=max_iterations, period_class_rasters=period_classes,
                                   expected_ha_per_year=expected if udef else None,
                                   allocation_zones=zones if udef else None)
            out = res.to_dict()
            if project and udef:       # UDef-ARP's iterative adjustment, summed over the zones in the benchmark pass
                adj = res.vp_adjustment
                out["allocation"] = {
                    "expected_ha_per_year": expected,
                    "project_ha_per_year": res.allocation_ha_per_year["project"],
                    "leakage_belt_ha_per_year": res.allocation_ha_per_year.get("leakage_belt"),
                    "adjustment_ratio": adj.ratio, "allocation_error": adj.allocation_error,
                    "capped_share": adj.capped_share, "iterations": adj.iterations, "converged": adj.converged,
                }
            elif project:
                from reddplus.baseline.allocation import allocate

                alloc = allocate(res.density_path, expected, zones=zones, jurisdiction=admin,
                                 years=[fc.dates[per.vp_start]], scheduler=dask_scheduler)
                a = alloc.to_dict()
                out["allocation"] = {
                    "expected_ha_per_year": expected,
                    "project_ha_per_year": a["zones"]["project"][0],
                    "leakage_belt_ha_per_year": a["zones"]["leakage_belt"][0] if leakage_belt else None,
                    "adjustment_ratio": a["adjustment_ratio"][0],
                    "allocation_error": a["allocation_error"],
                    "capped_share": a["capped_share"],
                }
            config = {"command": "risk benchmark", "format": fmt, "dates": list(fc.dates), "periods": out["periods"],
                      "admin_field": admin_field, "expected_ha_per_year": expected, "nrt_share": nrt_share,
                      "max_distance_m": max_distance_m, "cell_area_ha": cell_area_ha, "profile": profile,
                      "max_iterations": max_iterations}
            if fmt == "hansen":
                config["canopy_threshold"] = canopy_threshold
            write_manifest(build_manifest(inputs, config, seed=0), stage / "manifest.json")
            out["manifest"] = str(stage / "manifest.json")
            out = published(out, stage, out_dir)
    # messages name the staging folder where the rasters were being written: name the published one
    out["warnings"] = [m.replace(str(stage), str(out_dir)) for m in caught.messages()]
    for msg in out["warnings"]:
        click.echo(f"warning: {msg}", err=True)
    if as_json:
        echo_json(out)
    else:
        click.echo(f"profile {out['profile']}: NRT {out['nrt_m']:g} m (cumulative share "
                   f"{out['nrt_cumulative_share']:.4f})")
        for row in out["assessment"]:
            click.echo(f"{row['model']}: MedAE {row['medae_ha']:.2f} ha, MAE {row['mae_ha']:.2f} ha, "
                       f"R2 {row['r2']:.3f} over {row['n_cells']} cells")
        if "allocation" in out:
            a = out["allocation"]
            belt = a.get("leakage_belt_ha_per_year")
            click.echo(f"allocated of {a['expected_ha_per_year']:g} ha/yr: project {a['project_ha_per_year']:.2f} ha/yr"
                       + ("" if belt is None else f", leakage belt {belt:.2f} ha/yr")
                       + f" (adjustment ratio {a['adjustment_ratio']:.4g})")
        click.echo(f"wrote {out['class_raster']} and {out['density_raster']}")


@risk.command("local-rate")
@forest_change_options(format_required=True, canopy=False, mmu=False)
@click.option("--period", default=None, metavar="Y-Y", help="Period (default: first two dates).")
@click.option("--window", "win_size", type=int, default=21, show_default=True, help="Window side [pixels], odd.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="Output raster (uint16).")
@overwrite_opt
@dask_opt
@json_opt
def local_rate(forest_change, fmt, dates, period, win_size, out_path, overwrite, dask_scheduler, as_json):
    """riskmapjnr moving-window local deforestation rate (coded rint(9999 theta + 1), nodata 65535)."""
    from reddplus.landcover import open_forest_change
    from reddplus.risk.tools import local_rate_raster

    check_output(out_path, overwrite, forest_change)
    paths = forest_change[0] if len(forest_change) == 1 else list(forest_change)
    fc = open_forest_change(paths, fmt, dates=parse_years(dates))
    k0, k1 = 0, 1
    if period:
        try:
            a, b = (int(x) for x in period.split("-"))
            k0, k1 = fc.dates.index(a), fc.dates.index(b)
        except ValueError as err:
            raise click.BadParameter(f"expected START-END among the dates {fc.dates}", param_hint="--period") from err
    p = local_rate_raster(fc, out_path, period=(k0, k1), win_size=win_size, overwrite=overwrite,
                          scheduler=dask_scheduler)
    if as_json:
        echo_json({"local_rate_raster": str(p), "window": win_size, "period": [fc.dates[k0], fc.dates[k1]]})
    else:
        click.echo(f"wrote {p}")


@risk.command()
@forest_change_options(format_required=True, canopy=False, mmu=False)
@click.option("--periods", default=None, metavar="CAL=Y-Y,CNF=Y-Y")
@click.option("--model", "models", multiple=True, type=click.Choice(["logistic", "random_forest"]),
              help="Alternative model(s) (default: both).")
@click.option("--roads", type=click.Path(dir_okay=False), default=None, help="Existing roads (vector).")
@click.option("--planned-roads", type=click.Path(dir_okay=False), default=None,
              help="Planned roads (vector) with an opening-year field.")
@click.option("--opening-year-field", default="opening_year", show_default=True)
@click.option("--rivers", type=click.Path(dir_okay=False), default=None)
@click.option("--settlements", type=click.Path(dir_okay=False), default=None)
@click.option("--raster", "rasters", multiple=True, metavar="NAME=RASTER", help="Extra driver (elevation, slope).")
@click.option("--cell-area-ha", type=float, default=100_000.0, show_default=True)
@click.option("--sample-size", type=int, default=20_000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@json_opt
def compare(forest_change, fmt, dates, periods, models, roads, planned_roads, opening_year_field, rivers, settlements,
            rasters, cell_area_ha, sample_size, seed, as_json):
    """Benchmark vs alternative models: MedAE/MAE/R2 in CAL fit and CNF prediction, VT0007 acceptance."""
    from reddplus.cli.options import column_mapping
    from reddplus.risk.compare import compare_models_from_paths
    from reddplus.landcover import open_forest_change
    from reddplus.risk.tools import parse_periods

    paths = forest_change[0] if len(forest_change) == 1 else list(forest_change)
    fc = open_forest_change(paths, fmt, dates=parse_years(dates))
    res = compare_models_from_paths(fc, periods=parse_periods(periods, fc.dates), roads=roads, rivers=rivers,
                                    settlements=settlements, planned_roads=planned_roads,
                                    opening_year_field=opening_year_field,
                                    rasters=column_mapping(rasters, "--raster"),
                                    models=models or ("logistic", "random_forest"), cell_area_ha=cell_area_ha,
                                    sample_size=sample_size, seed=seed)
    out = res.to_dict()
    if as_json:
        echo_json(out)
    else:
        for r in out["assessment"]:
            click.echo(f"{r['model']:>26} {r['stage']:<15} MedAE {r['medae_ha']:.3f} ha  MAE {r['mae_ha']:.3f} ha  "
                       f"R2 {r['r2']:.3f}  accepted={r['accepted']}")
        click.echo(f"selected: {out['selected_model']}")


@risk.command()
@forest_change_options(format_required=True, canopy=False, mmu=False)
@click.option("--roads", type=click.Path(dir_okay=False), default=None, help="Existing roads (vector).")
@click.option("--planned-roads", required=True, type=click.Path(dir_okay=False),
              help="Planned roads (vector) with an opening-year field.")
@click.option("--opening-year-field", default="opening_year", show_default=True)
@click.option("--project", required=True, type=click.Path(dir_okay=False))
@click.option("--leakage-belt", type=click.Path(dir_okay=False), default=None)
@click.option("--expected-deforestation-ha-per-year", "expected", required=True, type=click.FloatRange(min=0),
              help="Expected jurisdictional deforestation [ha/yr], each year.")
@click.option("--years", required=True, metavar="Y-Y", help="Years to allocate, e.g. 2021-2030.")
@click.option("--model", default="logistic", show_default=True, type=click.Choice(["logistic", "random_forest"]))
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Write class/density maps without and with the planned roads here.")
@overwrite_opt
@json_opt
def scenario(forest_change, fmt, dates, roads, planned_roads, opening_year_field, project, leakage_belt, expected,
             years, model, seed, out_dir, overwrite, as_json):
    """Planned-road scenario: per-year baseline in the project that changes from the road's opening year."""
    from reddplus.baseline.scenario import planned_road_scenario_from_paths
    from reddplus.landcover import open_forest_change

    try:
        y0, y1 = (int(x) for x in years.split("-"))
    except ValueError as err:
        raise click.BadParameter(f"expected START-END years, got {years!r}", param_hint="--years") from err
    if y1 < y0:
        raise click.BadParameter(f"start {y0} after end {y1}", param_hint="--years")
    if out_dir:
        check_output(out_dir, overwrite, [*forest_change, roads, planned_roads, project, leakage_belt])
    paths = forest_change[0] if len(forest_change) == 1 else list(forest_change)
    fc = open_forest_change(paths, fmt, dates=parse_years(dates))
    zones = {"project": project}
    if leakage_belt:
        zones["leakage_belt"] = leakage_belt

    def run(folder):
        return planned_road_scenario_from_paths(fc, planned_roads=planned_roads, opening_year_field=opening_year_field,
                                                roads=roads, zones=zones,
                                                expected_ha_per_year={y: expected for y in range(y0, y1 + 1)},
                                                model=model, seed=seed, out_dir=folder, overwrite=True)

    if out_dir:  # the maps go into a staging folder published at the end
        from pathlib import Path

        from reddplus.raster import atomic_dir

        final = Path(out_dir).absolute()
        with atomic_dir(final, overwrite=overwrite) as stage:
            out = published(run(stage).to_dict(), stage, final)
    else:
        out = run(None).to_dict()
    if as_json:
        echo_json(out)
    else:
        alloc = out["with_planned_roads"] or out["without_planned_roads"]
        for y, ha in zip(alloc["years"], alloc["zones"]["project"]):
            click.echo(f"{y}: project {ha:.2f} ha" + (" (with the planned roads)" if out["uses_planned_roads"] else ""))
