"""``reddplus accuracy``: sample design and sample-based area/accuracy estimation (thin layer)."""

from __future__ import annotations

import click

from reddplus.cli.options import echo_json, forest_change_options, json_opt, overwrite_opt, progress, seed_opt


@click.group()
def accuracy() -> None:
    """Accuracy assessment and area estimation (Olofsson et al. 2014; Stehman 2014)."""


def _confidence(ctx, param, value: float) -> float:
    if not 0.0 < value < 1.0:
        raise click.BadParameter("must be in (0, 1), e.g. 0.90 or 0.95")
    return value


@accuracy.command()
@click.argument("counts", metavar="[COUNTS.csv]", required=False, type=click.Path(dir_okay=False))
@click.option("--samples", type=click.Path(dir_okay=False), help="Point sample CSV: stratum,map,reference.")
@click.option("--strata", type=click.Path(dir_okay=False), help="Strata CSV: stratum,size [pixels].")
@click.option("--pixel-area-ha", type=float, default=None,
              help="Pixel area [ha]: mapped_area (or the strata sizes) are then in pixels and areas are "
                   "reported in ha.")
@click.option("--confidence", type=float, default=0.90, show_default=True, callback=_confidence,
              help="Confidence level of the intervals (0.90 as VCS uses; 0.95 to compare with papers).")
@click.option("--no-fpc", is_flag=True, help="Stehman estimator: drop the finite population correction.")
@click.option("--period", default=None, metavar="START-END",
              help="With --samples/--strata holding several periods (a period column, as 'design' writes them): "
                   "the one to estimate.")
@json_opt
def estimate(counts, samples, strata, pixel_area_ha, confidence, no_fpc, period, as_json) -> None:
    """Area per class with SE and CI, and user's/producer's/overall accuracy.

    Either COUNTS.csv (an error matrix of sample counts with a mapped_area column; Olofsson et
    al. 2014) or --samples SAMPLES.csv --strata STRATA.csv (strata that differ from the map
    classes; Stehman 2014).
    """
    from reddplus.accuracy.tools import estimate_counts_file, estimate_samples_files

    if counts and (samples or strata):
        raise click.UsageError("give either COUNTS.csv or --samples/--strata, not both")
    if period is not None and not samples:
        raise click.UsageError("--period selects one period of --samples/--strata")
    if counts:
        result = estimate_counts_file(counts, pixel_area_ha=pixel_area_ha, confidence=confidence)
    elif samples and strata:
        result = estimate_samples_files(samples, strata, confidence=confidence, pixel_area_ha=pixel_area_ha,
                                        finite_population_correction=not no_fpc, period=period)
    else:
        raise click.UsageError("give COUNTS.csv, or both --samples SAMPLES.csv and --strata STRATA.csv")
    if as_json:
        echo_json(result.to_dict())
        return
    pct = f"{confidence:.0%}"
    click.echo(f"{result.method}: areas in {result.area_unit}, ± = {pct} CI half-width")
    click.echo(f"{'class':>12} {'area':>14} {'±':>12} {'UA':>7} {'±':>6} {'PA':>7} {'±':>6}")
    for c in result.to_dict()["classes"]:
        def f(v, spec):
            return "n/a" if v is None or v != v else format(v, spec)
        click.echo(f"{c['class']:>12} {f(c['area'], ',.6g'):>14} {f(c['area_ci_halfwidth'], ',.4g'):>12} "
                   f"{f(c['user_accuracy'], '.3f'):>7} {f(c['user_accuracy_ci_halfwidth'], '.3f'):>6} "
                   f"{f(c['producer_accuracy'], '.3f'):>7} {f(c['producer_accuracy_ci_halfwidth'], '.3f'):>6}")
    click.echo(f"overall accuracy {result.overall_accuracy:.3f} ± {result.overall_accuracy_ci_halfwidth:.3f}")


def _point_outputs(csv_help: str, strata_help: str):
    """The options of a sampling command: seed, the points' outputs, --overwrite, --json (and the context)."""
    def decorate(fn):
        for opt in reversed((
                seed_opt,
                click.option("--out", "out_gpkg", required=True, type=click.Path(dir_okay=False),
                             help="Output GeoPackage of points (raster CRS)."),
                click.option("--csv", "out_csv", type=click.Path(dir_okay=False), default=None, help=csv_help),
                click.option("--strata-out", "out_strata", type=click.Path(dir_okay=False), default=None,
                             help=strata_help),
                overwrite_opt, json_opt, click.pass_context)):
            fn = opt(fn)
        return fn
    return decorate


def _class_ua(values: tuple[str, ...]) -> dict[int, float]:
    out: dict[int, float] = {}
    for item in values:
        if "=" not in item:
            raise click.BadParameter(f"expected CLASS=UA (e.g. 1=0.7), got {item!r}", param_hint="--expected-ua")
        k, v = item.split("=", 1)
        try:
            out[int(k.strip())] = float(v.strip())
        except ValueError:
            raise click.BadParameter(f"expected an integer class code and a number, got {item!r}",
                                     param_hint="--expected-ua") from None
    return out


@accuracy.command()
@click.argument("map_path", metavar="MAP.tif", type=click.Path(dir_okay=False))
@click.option("--target-se", type=float, default=0.01, show_default=True,
              help="Target standard error of the overall accuracy (Olofsson et al. 2014 eq. 13).")
@click.option("--expected-ua", "expected_ua", multiple=True, metavar="CLASS=UA",
              help="Conjectured user's accuracy of a map class (repeat for each class).")
@click.option("--default-ua", type=float, default=None, help="User's accuracy for classes not given.")
@click.option("--min-per-stratum", type=click.IntRange(min=0), default=50, show_default=True,
              help="Minimum sample per (rare) stratum.")
@click.option("--n", "n_total", type=click.IntRange(min=1), default=None, help="Override the total sample size.")
@click.option("--exclude", multiple=True, type=int, metavar="CLASS", help="Class code not to sample (repeatable).")
@_point_outputs("Also write a CSV for visual interpretation (empty reference column).",
                 "Also write the strata table stratum,size [pixels] (the --strata input of 'estimate').")
def sample(ctx, map_path, target_se, expected_ua, default_ua, min_per_stratum, n_total, exclude, seed, out_gpkg,
           out_csv, out_strata, overwrite, as_json) -> None:
    """Stratified random sample of a change map for visual interpretation.

    The sample size gives a target SE of the overall accuracy (Olofsson et al. 2014 eq. 13);
    rare strata get at least --min-per-stratum points, the rest is proportional. Once the
    'reference' column of the CSV is filled in, estimate with:
    reddplus accuracy estimate --samples points.csv --strata strata.csv
    """
    from reddplus.accuracy.tools import sample_map

    from reddplus.cli.options import check_output

    if not expected_ua and default_ua is None:
        raise click.UsageError("give --expected-ua CLASS=UA for every map class (or --default-ua)")
    for out in (out_gpkg, out_csv, out_strata):
        if out:
            check_output(out, True, [map_path])   # existence is checked (with --overwrite) by the tool
    quiet = bool((ctx.find_root().obj or {}).get("quiet"))
    with progress("sampling (2 passes over blocks)", quiet=quiet) as advance:
        design, written = sample_map(map_path, out_gpkg, expected_ua=_class_ua(expected_ua), target_se=target_se,
                                     min_per_stratum=min_per_stratum, seed=seed, n_total=n_total, exclude=exclude,
                                     default_ua=default_ua, out_csv=out_csv, out_strata=out_strata,
                                     overwrite=overwrite, progress=advance)
    doc = design.to_dict()
    doc["outputs"] = written
    if as_json:
        echo_json(doc)
        return
    click.echo(f"{doc['n_total']} points (eq. 13 gives {doc['n_required']}; seed {doc['seed']}) -> "
               + ", ".join(written.values()))
    for s in doc["strata"]:
        click.echo(f"  stratum {s['stratum']}: {s['mapped_pixels']} px, W={s['weight']:.4f}, "
                   f"UA={s['expected_user_accuracy']:.2f}, n={s['n']}")
    click.echo(f"expected SE of overall accuracy: {doc['expected_overall_accuracy_se']:.4f}")


def _named_ua(values: tuple[str, ...]) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in values:
        if "=" not in item:
            raise click.BadParameter(f"expected CLASS=UA (e.g. deforestation=0.7), got {item!r}",
                                     param_hint="--expected-ua")
        k, v = item.split("=", 1)
        try:
            out[k.strip().lower().replace("-", "_")] = float(v.strip())
        except ValueError:
            raise click.BadParameter(f"expected a class name and a number, got {item!r}",
                                     param_hint="--expected-ua") from None
    return out


def _period(ctx, param, values: tuple[str, ...]) -> list[tuple[int, int]]:
    out = []
    for v in values:
        parts = v.replace(" ", "").split("-")
        if len(parts) != 2 or not all(p.isdigit() for p in parts) or int(parts[1]) <= int(parts[0]):
            raise click.BadParameter(f"expected START-END (two forest-change dates), got {v!r}")
        out.append((int(parts[0]), int(parts[1])))
    return out


@accuracy.command()
@forest_change_options()
@click.option("--period", "periods", multiple=True, required=True, callback=_period, metavar="START-END",
              help="Period whose deforestation the sample estimates (repeatable: one sample per period).")
@click.option("--jurisdiction", required=True, type=click.Path(dir_okay=False),
              help="Jurisdiction polygons: the population.")
@click.option("--project", type=click.Path(dir_okay=False), default=None,
              help="Project polygon(s): strata are then map classes within project / leakage belt / other.")
@click.option("--leakage-belt", type=click.Path(dir_okay=False), default=None, help="Leakage belt polygon(s).")
@click.option("--expected-ua", "expected_ua", multiple=True, metavar="CLASS=UA",
              help="Conjectured user's accuracy of a map class: deforestation, forest, non_forest (repeatable).")
@click.option("--default-ua", type=float, default=None, help="User's accuracy for classes not given.")
@click.option("--target-se", type=float, default=0.01, show_default=True,
              help="Target standard error of the overall accuracy (Olofsson et al. 2014 eq. 13).")
@click.option("--min-per-stratum", type=click.IntRange(min=2), default=50, show_default=True,
              help="Minimum sample per (rare) stratum.")
@click.option("--n", "n_total", type=click.IntRange(min=1), default=None,
              help="Override the sample size of each period.")
@click.option("--date-buffers", is_flag=True,
              help="Also stratify the non-forest lost just before the period and the forest lost just after it "
                   "(where interpreters misdate losses; Olofsson et al. 2020 buffer strata).")
@_point_outputs("Also write the CSV to interpret (fill the empty 'reference' column).",
                 "Also write the strata table period,stratum,size [pixels].")
def design(ctx, forest_change, fmt, dates, canopy_threshold, mmu_ha, periods, jurisdiction, project, leakage_belt,
           expected_ua, default_ua, target_se, min_per_stratum, n_total, date_buffers, seed, out_gpkg, out_csv,
           out_strata, overwrite, as_json) -> None:
    """Reference sample of a forest-change map for sample-based activity data, to be interpreted.

    Stratified random sampling of the period's map classes (deforestation, forest, non_forest)
    inside the jurisdiction, within the project, leakage belt and the rest when those are given;
    size from Olofsson et al. (2014) eq. 13, at least --min-per-stratum points per stratum. Fill
    the 'reference' column of the CSV and give it as [activity_data] reference_sample.
    """
    from reddplus.accuracy.tools import design_reference_files
    from reddplus.cli.options import parse_years
    from reddplus.landcover import open_forest_change

    if not expected_ua and default_ua is None:
        raise click.UsageError("give --expected-ua CLASS=UA for the map classes (or --default-ua)")
    paths = list(forest_change)
    fc = open_forest_change(paths[0] if len(paths) == 1 else paths, fmt, dates=parse_years(dates),
                            canopy_threshold=canopy_threshold, mmu_ha=mmu_ha)
    quiet = bool((ctx.find_root().obj or {}).get("quiet"))
    with progress("reference sample (2 passes over blocks per period)", quiet=quiet) as advance:
        designs, written = design_reference_files(
            fc, out_gpkg, periods=periods, jurisdiction=jurisdiction, project=project, leakage_belt=leakage_belt,
            expected_ua=_named_ua(expected_ua), default_ua=default_ua, target_se=target_se,
            min_per_stratum=min_per_stratum, n_total=n_total, date_buffers=date_buffers, seed=seed, out_csv=out_csv,
            out_strata=out_strata,
            overwrite=overwrite, progress=advance)
    doc = {"periods": [{"period": f"{a}-{b}", **d.to_dict()} for d, (a, b) in zip(designs, periods)],
           "outputs": written}
    if as_json:
        echo_json(doc)
        return
    for p in doc["periods"]:
        click.echo(f"{p['period']}: {p['n_total']} points (eq. 13 gives {p['n_required']}; seed {p['seed']})")
        for s in p["strata"]:
            click.echo(f"  {s['stratum']}: {s['mapped_pixels']} px, W={s['weight']:.4f}, "
                       f"UA={s['expected_user_accuracy']:.2f}, n={s['n']}")
    click.echo("-> " + ", ".join(written.values()))
