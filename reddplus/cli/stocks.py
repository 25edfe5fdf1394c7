"""``reddplus stocks``: carbon stocks from tree inventories (thin layer over reddplus.stocks.tools)."""

from __future__ import annotations

import click

from reddplus.cli.options import column_mapping, echo_json, json_opt, overwrite_opt, progress, seed_opt

ROLE_HELP = "Map a column role to a file column, ROLE=NAME (roles: plot, tree, diameter, height, family, genus, " \
            "species, x, y). Repeatable."


def _areas(values: tuple[str, ...]) -> dict[str, float] | None:
    if not values:
        return None
    out = {}
    for k, v in column_mapping(values, "--stratum-area").items():
        try:
            out[k] = float(v)
        except ValueError as err:
            raise click.BadParameter(f"area of {k!r} is not a number: {v!r}", param_hint="--stratum-area") from err
    return out


@click.group()
def stocks() -> None:
    """Carbon stocks: tree inventory -> AGB -> plot, stratum and project carbon (Chave et al. 2014)."""


@stocks.command("height-models")
@click.argument("trees", type=click.Path(dir_okay=False))
@click.option("--column", "columns", multiple=True, metavar="ROLE=NAME", help=ROLE_HELP)
@click.option("--diameter-unit", type=click.Choice(["cm", "mm"]), default="cm", show_default=True)
@click.option("--unweighted", is_flag=True, help="No weights (default: weights D^2 H, as BIOMASS).")
@json_opt
def height_models(trees, columns, diameter_unit, unweighted, as_json):
    """Fit log1, log2, Weibull and Michaelis-Menten H-D models; compare RSE, RSElog, bias."""
    from reddplus.stocks.tools import height_models_from_file

    result = height_models_from_file(trees, columns=column_mapping(columns), diameter_unit=diameter_unit,
                                     weighted=not unweighted)
    if as_json:
        echo_json(result)
        return
    click.echo(f"{'method':<10} {'RSE [m]':>9} {'RSElog':>9} {'avg bias':>9}")
    for m in result.models:
        rl = "" if m.rse_log is None else f"{m.rse_log:.4f}"
        click.echo(f"{m.method:<10} {m.rse:>9.4f} {rl:>9} {m.average_bias:>9.4f}")


@stocks.command("agb")
@click.argument("trees", required=False, type=click.Path(dir_okay=False))
@click.option("--sample", is_flag=True, help="Use the built-in sample inventory (and its plot table).")
@click.option("--column", "columns", multiple=True, metavar="ROLE=NAME", help=ROLE_HELP)
@click.option("--diameter-unit", type=click.Choice(["cm", "mm"]), default="cm", show_default=True)
@click.option("--min-diameter", type=float, default=None, help="Exclude trees below this diameter [cm].")
@click.option("--plot-area", type=float, default=None, metavar="HA", help="Area of every plot [ha].")
@click.option("--single-plot", is_flag=True,
              help="TREES is one plot (no plot column); without it a missing plot column is an error.")
@click.option("--plots", "--plot-areas", "plots_path", type=click.Path(dir_okay=False), default=None,
              help="Plot table with columns plot, area_ha [, stratum].")
@click.option("--plot-column", "plot_columns", multiple=True, metavar="ROLE=NAME",
              help="Map plot-table roles (plot, area_ha, stratum) to its columns.")
@click.option("--stratum-area", "stratum_areas", multiple=True, metavar="STRATUM=HA",
              help="Stratum area [ha] for the project total. Repeatable.")
@click.option("--height-model", default=None, metavar="METHOD",
              help="log1, log2, weibull, michaelis, best, feldpausch:REGION or chave2014_eq6a.")
@click.option("--height-data", type=click.Path(dir_okay=False), default=None,
              help="Separate tree file with heights to fit the height model on.")
@click.option("--height-column", "height_columns", multiple=True, metavar="ROLE=NAME",
              help="Column roles of --height-data.")
@click.option("--unweighted", is_flag=True, help="Fit the height model without D^2 H weights.")
@click.option("--allometry", type=click.Choice(["chave2014_eq4", "chave2014_eq7"]), default="chave2014_eq4",
              show_default=True)
@click.option("--e", "e", type=float, default=None, help="Environmental stress index E (Chave 2014 eq. 6a / 7).")
@click.option("--region", default=None, help="GWDD region filter for wood density (e.g. SouthAmericaTrop).")
@click.option("--wood-density-table", type=click.Path(dir_okay=False), default=None,
              help="Own wood density table instead of the shipped GWDD v1 table.")
@click.option("--root-shoot", type=float, default=None, help="Root:shoot ratio (default 0.37, IPCC 2006 T4.4).")
@click.option("--carbon-fraction", type=float, default=0.47, show_default=True)
@click.option("--monte-carlo", type=click.IntRange(min=2), default=None, metavar="N", help="Monte Carlo draws.")
@click.option("--height-sd", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="SD [m] of measured heights in the Monte Carlo (modelled heights use the model's error).")
@click.option("--trees-out", type=click.Path(dir_okay=False), default=None,
              help="Write per-tree wood density, height and AGB to this CSV.")
@seed_opt
@overwrite_opt
@json_opt
def agb(trees, sample, columns, diameter_unit, min_diameter, plot_area, single_plot, plots_path, plot_columns,
        stratum_areas, height_model, height_data, height_columns, unweighted, allometry, e, region, wood_density_table,
        root_shoot, carbon_fraction, monte_carlo, height_sd, trees_out, seed, overwrite, as_json):
    """Above-ground biomass per plot and in total, with optional Monte Carlo uncertainty."""
    from reddplus.cli.options import check_output
    from reddplus.stocks import sample_inventory_path, sample_plots_path
    from reddplus.stocks.tools import write_trees

    if sample:
        if trees:
            raise click.UsageError("give TREES or --sample, not both")
        trees = sample_inventory_path()
        plots_path = plots_path or (None if plot_area else sample_plots_path())
    elif not trees:
        raise click.UsageError("missing TREES (or --sample)")
    if trees_out:
        check_output(trees_out, overwrite, [trees, plots_path, height_data, wood_density_table])
    quiet = bool((click.get_current_context().find_root().obj or {}).get("quiet"))
    with progress("Monte Carlo (trees)", None, quiet=quiet or not monte_carlo) as advance:
        result = _agb(trees, columns, diameter_unit, plot_area, plots_path, plot_columns, height_model, height_data,
                      height_columns, unweighted, region, wood_density_table, allometry, e, monte_carlo, seed,
                      root_shoot, carbon_fraction, min_diameter, stratum_areas, height_sd, advance, single_plot)
    if trees_out:
        write_trees(result, trees_out, overwrite=overwrite)
    _print_agb(result, as_json)


def _agb(trees, columns, diameter_unit, plot_area, plots_path, plot_columns, height_model, height_data,
         height_columns, unweighted, region, wood_density_table, allometry, e, monte_carlo, seed, root_shoot,
         carbon_fraction, min_diameter, stratum_areas, height_sd, advance, single_plot=False):
    from reddplus.stocks.aggregate import DEFAULT_ROOT_SHOOT, ROOT_SHOOT_RATIOS
    from reddplus.stocks.tools import agb_from_files

    return agb_from_files(
        trees, columns=column_mapping(columns), diameter_unit=diameter_unit, plot_area=plot_area,
        plot_areas_path=plots_path, plot_area_columns=column_mapping(plot_columns, "--plot-column"),
        height_model=height_model, height_data_path=height_data,
        height_columns=column_mapping(height_columns, "--height-column"), weighted=not unweighted, region=region,
        wood_density_path=wood_density_table, allometry=allometry, e=e, monte_carlo=monte_carlo, seed=seed,
        root_shoot_ratio=ROOT_SHOOT_RATIOS[DEFAULT_ROOT_SHOOT] if root_shoot is None else root_shoot,
        carbon_fraction=carbon_fraction, min_diameter=min_diameter, stratum_area_ha=_areas(stratum_areas),
        height_sd=height_sd, progress=advance, single_plot=single_plot)


def _print_agb(result, as_json: bool) -> None:
    if as_json:
        echo_json(result)
        return
    d = result.to_dict()
    click.echo(f"{'plot':<12} {'trees':>6} {'AGB [Mg]':>10} {'AGB [Mg/ha]':>12}")
    for p in d["plots"]:
        per_ha = "" if p["agb_mg_per_ha"] is None else f"{p['agb_mg_per_ha']:.1f}"
        click.echo(f"{p['plot']:<12} {p['n_trees']:>6} {p['agb_mg']:>10.1f} {per_ha:>12}")
    t = d["total"]
    click.echo(f"{'total':<12} {t['n_trees']:>6} {t['agb_mg']:>10.1f}")
    if "agb_mg_ci95" in t:
        lo, hi = t["agb_mg_ci95"]
        click.echo(f"Monte Carlo ({d['monte_carlo']['n_draws']} draws): mean {t['agb_mg_mean']:.1f} Mg, "
                   f"sd {t['agb_mg_sd']:.1f}, 95% [{lo:.1f}, {hi:.1f}]")
    click.echo(f"wood density levels: {d['wood_density_levels']}")
    for s in d.get("strata", []):
        lo, hi = s["ci90_tco2e_per_ha"]
        click.echo(f"stratum {s['stratum']}: {s['total_tco2e_per_ha']:.1f} t CO2e/ha (90% CI {lo:.1f}-{hi:.1f}, "
                   f"n={s['n_plots']})")
    if "project" in d:
        click.echo(f"project: {d['project']['total_tco2e']:.0f} t CO2e +/- {d['project']['ci90_half_width_tco2e']:.0f}"
                   f" (90%)")
    for n in d["notes"]:
        click.echo(f"note: {n}", err=True)


@stocks.command("map")
@click.argument("trees", type=click.Path(dir_okay=False))
@click.option("--column", "columns", multiple=True, metavar="ROLE=NAME", help=ROLE_HELP)
@click.option("--corners", type=click.Path(dir_okay=False), required=True,
              help="Plot corner table (plot, x, y in the raster CRS).")
@click.option("--corner-column", "corner_columns", multiple=True, metavar="ROLE=NAME",
              help="Map corner-table roles (plot, x, y [, x_local, y_local]).")
@click.option("--raster", "raster_path", type=click.Path(dir_okay=False), required=True,
              help="Covariate raster, e.g. LiDAR canopy height [m].")
@click.option("--raster-crs", default=None, help="CRS of the raster when it stores none (e.g. EPSG:32622).")
@click.option("--cell-size", type=float, default=50.0, show_default=True, help="Output cell size [m].")
@click.option("--subplot-size", type=float, default=None,
              help="Calibrate on square subplots of this size [m] (needs tree x, y and corner x_local, y_local).")
@click.option("--wood-density-table", type=click.Path(dir_okay=False), default=None)
@click.option("--height-model", default="log2", show_default=True, metavar="METHOD")
@click.option("--height-data", type=click.Path(dir_okay=False), default=None)
@click.option("--height-column", "height_columns", multiple=True, metavar="ROLE=NAME")
@click.option("--out", "out", type=click.Path(dir_okay=False), required=True, help="Output AGBD COG [Mg/ha].")
@overwrite_opt
@json_opt
def map_cmd(trees, columns, corners, corner_columns, raster_path, raster_crs, cell_size, subplot_size,
            wood_density_table, height_model, height_data, height_columns, out, overwrite, as_json):
    """Model-assisted AGBD map: fit AGBD = a H^b on plots, write a COG and a total with its interval."""
    from reddplus.cli.options import check_output
    from reddplus.stocks.mapping import agbd_map_from_files

    check_output(out, overwrite, [trees, corners, raster_path, wood_density_table, height_data])
    result = agbd_map_from_files(trees, columns=column_mapping(columns), corners_path=corners,
                                 corner_columns=column_mapping(corner_columns, "--corner-column"),
                                 raster_path=raster_path, raster_crs=raster_crs, cell_size_m=cell_size,
                                 height_model=height_model, height_data_path=height_data,
                                 height_columns=column_mapping(height_columns, "--height-column"),
                                 wood_density_path=wood_density_table, subplot_size_m=subplot_size, out_path=out,
                                 overwrite=overwrite)
    if as_json:
        echo_json(result)
        return
    d = result.to_dict()
    lo, hi = d["total"]["ci90_mg"]
    click.echo(f"AGBD = {d['model']['a']:.3f} H^{d['model']['b']:.3f} (n={d['model']['n']}); total "
               f"{d['total']['total_mg']:.0f} Mg (90% CI {lo:.0f}-{hi:.0f}) over {d['total']['area_ha']:.1f} ha; "
               f"map {out}")


map_cmd.name = "map"


@stocks.command("sample-path")
def sample_path():
    """Print the path of the built-in sample inventory (and its plot table)."""
    from reddplus.stocks import sample_inventory_path, sample_plots_path

    click.echo(sample_inventory_path())
    click.echo(sample_plots_path())
