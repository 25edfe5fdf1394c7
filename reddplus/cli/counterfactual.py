"""``reddplus counterfactual``: ex-post counterfactual by pixel matching (thin: parse, call, print)."""

from __future__ import annotations

import click

from reddplus.cli.options import (column_mapping, dask_opt, echo_json, forest_change_options, json_opt, parse_years,
                                  progress, seed_opt)


@click.command()
@forest_change_options(format_required=True, canopy=False, mmu=False,
                       dates_help="Years of the forest-change dates (when not implied).")
@click.option("--project", "project", required=True, type=click.Path(dir_okay=False), help="Project polygon(s).")
@click.option("--start-year", required=True, type=int, help="Project start (one of the forest-change dates).")
@click.option("--covariate", multiple=True, metavar="NAME=RASTER", help="Continuous covariate (elevation, slope...).")
@click.option("--distance-to", multiple=True, metavar="NAME=RASTER",
              help="Feature raster (non-zero = road, river...): matched on the distance to it [m].")
@click.option("--categorical", multiple=True, metavar="NAME=RASTER", help="Hard-matched class layer (ecoregion...).")
@click.option("--jurisdiction", type=click.Path(dir_okay=False), default=None,
              help="Candidate pool limit (default: every pixel with data).")
@click.option("--protected-areas", type=click.Path(dir_okay=False), default=None,
              help="Other protected areas, excluded from the candidate pool.")
@click.option("--leakage-belt", type=click.Path(dir_okay=False), default=None,
              help="Leakage belt polygon (default: the ring of --buffer-m around the project).")
@click.option("--buffer-m", type=float, default=5000.0, show_default=True, help="Exclusion buffer around the project [m].")
@click.option("--density", type=float, default=0.25, show_default=True, help="Project sampling density [samples/ha].")
@click.option("--candidate-density", type=float, default=None, help="Candidate sampling density [samples/ha].")
@click.option("--repeats", type=int, default=100, show_default=True, help="Matching repeats.")
@click.option("--subsample", type=float, default=0.5, show_default=True,
              help="Fraction of the project sample matched in each repeat.")
@click.option("--caliper", type=float, default=None, help="Maximum Mahalanobis distance of a pair.")
@click.option("--emission-factor", type=float, default=None, help="Emission factor [t CO2e/ha].")
@click.option("--baseline", type=click.Path(dir_okay=False), default=None,
              help="VT0007 baseline CSV (year, baseline_deforestation_ha) -> overcrediting_ratio.")
@seed_opt
@dask_opt
@json_opt
@click.pass_context
def counterfactual(ctx, forest_change, fmt, dates, project, start_year, covariate, distance_to, categorical,
                   jurisdiction, protected_areas, leakage_belt, buffer_m, density, candidate_density, repeats,
                   subsample, caliper, emission_factor, baseline, seed, dask_scheduler, as_json):
    """Matched counterfactual of a project: avoided deforestation, leakage, balance, over-crediting ratio."""
    from reddplus.counterfactual import read_baseline_series, run_counterfactual
    from reddplus.landcover import open_forest_change

    date_tuple = parse_years(dates)
    paths = forest_change[0] if len(forest_change) == 1 else list(forest_change)
    fc = open_forest_change(paths, fmt, dates=date_tuple)
    with progress("sampling blocks", quiet=ctx.find_root().obj.get("quiet", False)) as advance:
        res = run_counterfactual(
            fc, project, start_year=start_year, repeats=repeats, seed=seed, subsample_fraction=subsample,
            caliper=caliper, emission_factor_tco2e_per_ha=emission_factor,
            covariates=column_mapping(covariate, "--covariate"),
            distance_layers=column_mapping(distance_to, "--distance-to"),
            categorical=column_mapping(categorical, "--categorical"), jurisdiction_path=jurisdiction,
            protected_path=protected_areas, leakage_belt_path=leakage_belt, buffer_m=buffer_m,
            density_per_ha=density, candidate_density_per_ha=candidate_density, scheduler=dask_scheduler,
            progress=advance)
    ocr = res.overcrediting(*read_baseline_series(baseline)) if baseline else None
    out = res.to_dict(ocr)
    if as_json:
        echo_json(out)
        return
    a = out["avoided_deforestation_ha"]
    click.echo(f"project forest at {start_year}: {res.project_forest_start_ha:,.1f} ha; "
               f"{res.n_project_sample} sampled, {res.n_candidates} candidates, {res.repeats} repeats")
    for p in out["periods"]:
        click.echo(f"  {p['start']}-{p['end']}: project {p['project_rate_per_yr']['estimate']:.4%}/yr, matched "
                   f"controls {p['control_rate_per_yr']['estimate']:.4%}/yr, jurisdiction (naive) "
                   f"{p['naive_jurisdiction_rate_per_yr']:.4%}/yr")
    click.echo(f"avoided deforestation: {a['estimate']:,.1f} ha [{a['low']:,.1f}, {a['high']:,.1f}]")
    if out["avoided_emissions_tco2e"]:
        e = out["avoided_emissions_tco2e"]
        click.echo(f"avoided emissions: {e['estimate']:,.0f} t CO2e [{e['low']:,.0f}, {e['high']:,.0f}]")
    lk = out["leakage_deforestation_ha"]
    click.echo(f"leakage (belt excess deforestation): {lk['estimate']:,.1f} ha [{lk['low']:,.1f}, {lk['high']:,.1f}]")
    if ocr is not None:
        click.echo(f"overcrediting_ratio: {ocr.ratio.estimate:.2f} [{ocr.ratio.low:.2f}, {ocr.ratio.high:.2f}]")
    click.echo("balance (SMD before -> after matching):")
    for row in out["balance"]:
        click.echo(f"  {row['covariate']:<28} {row['smd_before']:+.3f} -> {row['smd_after']:+.3f}")
