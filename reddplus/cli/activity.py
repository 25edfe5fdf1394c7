"""``reddplus activity``: forest area and deforestation per zone, period and year (thin: parse, call, print)."""

from __future__ import annotations

from pathlib import Path

import click

from reddplus.cli.options import (check_output, dask_opt, echo_json, forest_change_options, json_opt, overwrite_opt,
                                  parse_years, progress)


@click.command()
@forest_change_options(dates_help="Years of the dates (masks; optional otherwise).")
@click.option("--zones", type=click.Path(dir_okay=False), default=None, help="Zone polygons (GeoPackage, ...).")
@click.option("--zone-field", default=None, help="Attribute naming each zone.")
@click.option("--align", is_flag=True, help="Resample inputs on other grids onto the first one (nearest).")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), default=None,
              help="Write the tidy table (.csv or .parquet).")
@overwrite_opt
@dask_opt
@json_opt
@click.pass_context
def activity(ctx, forest_change, fmt, dates, canopy_threshold, mmu_ha, zones, zone_field, align, out_path, overwrite,
             dask_scheduler, as_json):
    """Deforestation per period and year and forest area per date, per zone, in hectares."""
    import tempfile

    from reddplus.landcover import activity_data, open_forest_change

    date_tuple = parse_years(dates)
    if out_path:
        check_output(out_path, overwrite, [*forest_change, zones])
        if Path(out_path).suffix.lower() not in (".csv", ".parquet"):
            raise click.BadParameter("the table must be .csv or .parquet", param_hint="--out")
    paths = list(forest_change)
    with tempfile.TemporaryDirectory(prefix="reddplus-align-") as tmp:   # aligned copies, removed at the end
        if align and len(paths) > 1:
            paths = _aligned(paths, Path(tmp))
        fc = open_forest_change(paths[0] if len(paths) == 1 else paths, fmt, dates=date_tuple,
                                canopy_threshold=canopy_threshold, mmu_ha=mmu_ha)
        from reddplus.raster import iter_blocks

        n = sum(1 for _ in iter_blocks(fc.grid.shape, memory_limit_bytes=64 * 2**20, bytes_per_pixel=24))
        with progress("activity data", total=n, quiet=ctx.obj.get("quiet", False)) as advance:
            res = activity_data(fc, zones=zones, zone_field=zone_field, scheduler=dask_scheduler,
                                progress=lambda k=1: advance(k))
    if out_path:
        from reddplus.jsonio import csv_number
        from reddplus.raster import atomic_path

        with atomic_path(out_path, overwrite=overwrite) as tmp:
            table = res.table()
            if Path(out_path).suffix.lower() == ".parquet":
                table.to_parquet(tmp, index=False)
            else:
                table.to_csv(tmp, index=False, float_format=csv_number)
    if as_json:
        echo_json(res.to_dict())
    else:
        for z in res.zones:      # forest area per date, then deforestation per period, per zone
            for d, ha in res.forest_area_ha(z).items():
                click.echo(f"{z}\t{d}\tforest {ha:.2f} ha")
            for r in (r for r in res.rows() if r["zone"] == z):
                click.echo(f"{r['zone']}\t{r['period']}\t{r['area_ha']:.2f} ha\t{r['annual_ha']:.2f} ha/yr\t"
                           f"compound rate {r['rate_compound']:.4%}/yr")


def _aligned(paths: list[str], tmp: Path) -> list[str]:
    from reddplus.raster import align_raster, read_grid

    grid = read_grid(paths[0])
    out = [paths[0]]
    for i, p in enumerate(paths[1:], 1):
        g = read_grid(p)
        out.append(p if g.same_as(grid) else str(align_raster(p, grid, tmp / f"aligned_{i}.tif")))
    return out
