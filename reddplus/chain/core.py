"""The composed crediting run: :class:`CreditingChain` and its entry points.

In the spirit of pvlib's ``ModelChain``, minus its guessing: every choice (where stocks come from,
which baseline the credits use, ...) is read from the config and echoed in the results. A run
computes into a staging folder beside the output and publishes it by one rename at the end
(:func:`reddplus.raster.atomic_dir`), so a failed run leaves nothing behind.
"""

from __future__ import annotations

import csv
import logging
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

from reddplus.chain import steps
from reddplus.chain.choices import run_choices
from reddplus.chain.inputs import prepare_inputs
from reddplus.chain.results import ActivityStepResult, CreditingResults
from reddplus.errors import InputDataError
from reddplus.project import ProjectConfig, StratumStock as StratumStockSpec

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


class CreditingChain:
    """A crediting run for one validated project configuration.

    Parameters
    ----------
    config : ProjectConfig
        From :func:`reddplus.project.load_project`.
    scheduler : str, optional
        Dask distributed scheduler address for the streamed raster steps; local threads otherwise.
    progress : callable(str), optional
        Called with the name of each step as it starts (the CLI shows it on stderr).
    generated : bool
        Label the report and summary as a GENERATED sample.
    extra_manifest : dict, optional
        Extra entries for the run manifest (the sample's known truth).

    Examples
    --------
    >>> results = CreditingChain(load_project("project.toml")).run("run1")      # doctest: +SKIP
    >>> results.net_vcus_by_vintage                                             # doctest: +SKIP
    """

    def __init__(self, config: ProjectConfig, *, scheduler: str | None = None, progress: Progress | None = None,
                 generated: bool = False, extra_manifest: dict | None = None):
        self.config = config
        self.scheduler = scheduler
        self.note = progress or (lambda step: None)
        self.generated = generated
        self.extra_manifest = dict(extra_manifest or {})

    # ------------------------------------------------------------------ entry points
    def run(self, out_dir: str | os.PathLike, *, overwrite: bool = False, report_pdf: bool = True) -> CreditingResults:
        """The whole chain from the project TOML: plots (or a stock table), maps, baseline, credits, report."""
        return self._publish(out_dir, overwrite=overwrite, report_pdf=report_pdf)

    def run_from_stocks(self, stock_table: str | os.PathLike, out_dir: str | os.PathLike, *,
                        overwrite: bool = False, report_pdf: bool = True) -> CreditingResults:
        """The chain with carbon stocks from a per-stratum stock table (CSV) instead of a tree inventory.

        Columns: ``code``, ``name``, ``agb_tco2e_per_ha``, ``agb_tco2e_per_ha_sd`` (the standard error
        of the stratum mean) and optionally ``bgb_tco2e_per_ha``.
        """
        strata = read_stock_table(stock_table)
        cfg = self.config.model_copy(update={"stocks": self.config.stocks.model_copy(
            update={"source": "strata", "inventory": None, "plot_areas": None, "strata": strata})})
        chain = CreditingChain(cfg, scheduler=self.scheduler, progress=self.note, generated=self.generated,
                               extra_manifest=self.extra_manifest | {"stock_table": str(stock_table)})
        return chain.run(out_dir, overwrite=overwrite, report_pdf=report_pdf)

    def run_from_activity(self, activity_table: str | os.PathLike, out_dir: str | os.PathLike, *,
                          overwrite: bool = False, report_pdf: bool = True) -> CreditingResults:
        """The chain with activity data given as a table (CSV: ``year``, ``zone``, ``deforestation_ha``;
        zones ``jurisdiction``, ``project`` and optionally ``leakage_belt``) instead of map counts."""
        activity = read_activity_table(activity_table)
        chain = CreditingChain(self.config, scheduler=self.scheduler, progress=self.note, generated=self.generated,
                               extra_manifest=self.extra_manifest | {"activity_table": str(activity_table)})
        return chain._publish(out_dir, overwrite=overwrite, report_pdf=report_pdf, activity=activity)

    # ------------------------------------------------------------------ composition
    def compute(self, root: Path, *, activity: ActivityStepResult | None = None) -> CreditingResults:
        """Run every step into ``root`` (an empty folder) and return the results; paths are relative to it."""
        cfg, note, sch = self.config, self.note, self.scheduler
        for sub in ("figures", "rasters", "tables"):
            (root / sub).mkdir(exist_ok=True)
        note("reading the forest change")
        inputs = prepare_inputs(cfg)
        from reddplus.landcover.export import write_forest_change

        write_forest_change(inputs.forest_change, root / "rasters" / "forest_change.tif", scheduler=sch)
        nprt = steps.non_permanence(cfg, inputs.periods)
        note("carbon stocks (tree inventory, Monte Carlo)")
        stocks = steps.carbon_stocks(cfg, inputs)
        note("activity data (deforestation per zone and year)")
        activity = activity or steps.activity(cfg, inputs, stocks.codes, scheduler=sch)
        reference = None
        if cfg.activity_data.reference_sample is not None:
            note("activity data: reference sample (stratified estimates)")
            reference = steps.reference_activity(cfg, inputs, scheduler=sch)
        baseline = steps.baseline(cfg, inputs, activity, reference, root, scheduler=sch, note=note)
        efs = steps.emission_factors(cfg, stocks, baseline)
        cf = None
        if cfg.counterfactual.enabled and inputs.periods.monitoring:
            note("counterfactual: pixel matching")
            cf = steps.counterfactual(cfg, inputs, baseline, efs, scheduler=sch)
        note("credits: leakage, uncertainty, non-permanence buffer, net VCUs")
        credits = steps.credits(cfg, inputs.periods, activity, reference, baseline, efs, nprt, cf)
        ccb = None
        if cfg.ccb is not None:
            note("CCB v3.1: indicators and section")
            ccb = steps.ccb(cfg, inputs, baseline, cf, root, scheduler=sch)
        manifest = self._manifest()
        note("registry: issuing the ex-post vintages (serial blocks)")
        issuance = steps.issuance(cfg, credits, manifest["manifest_sha256"], root)
        results = CreditingResults(cfg, root, inputs.project_area_ha, inputs.dates, stocks, activity, reference,
                                   baseline, efs, cf, credits, ccb, issuance, manifest, generated=self.generated)
        return replace(results, choices=run_choices(results))

    def _manifest(self) -> dict:
        from reddplus.manifest import build_manifest

        cfg = self.config
        m = build_manifest(cfg.input_files(), cfg.model_dump(mode="json"), cfg.project.seed, base_dir=cfg.base_dir)
        return m.to_dict() | self.extra_manifest

    # ------------------------------------------------------------------ publication
    def _publish(self, out_dir, *, overwrite: bool, report_pdf: bool, activity=None, stage: Path | None = None,
                 t0: float | None = None) -> CreditingResults:
        """Compute into a staging folder, write the outputs and the report, publish by renaming."""
        from reddplus.errors import collect_warnings
        from reddplus.outputs import check_output_location
        from reddplus.raster import atomic_dir

        t0 = time.perf_counter() if t0 is None else t0
        out_dir = Path(out_dir).absolute()
        if stage is None:
            check_output_location(out_dir, self.config.input_files())
        with atomic_dir(out_dir, overwrite=overwrite, stage=stage) as root:
            with collect_warnings() as caught:
                results = self.compute(root, activity=activity)
                results = replace(results, with_pdf=report_pdf,
                                  manifest=_relocated_manifest(results.manifest, root, out_dir),
                                  warnings=tuple(caught.messages()))
                write_outputs(results, root, final=out_dir, seconds=time.perf_counter() - t0, note=self.note)
        for m in caught.messages():
            log.warning("%s", m.replace(str(root), str(out_dir)))
        return replace(results, config=results.config.relocated(root, out_dir), out_dir=out_dir,
                       seconds=time.perf_counter() - t0,
                       warnings=tuple(w.replace(str(root), str(out_dir)) for w in results.warnings))


def _relocated_manifest(manifest: dict, root: Path, out_dir: Path) -> dict:
    """The manifest as it reads once ``root`` is published as ``out_dir``: a project folder inside the run
    (the built-in sample's) is recorded at its published place."""
    base = manifest.get("base_dir")
    if base and Path(base).is_relative_to(root):
        return manifest | {"base_dir": str(out_dir / Path(base).relative_to(root))}
    return manifest


def write_outputs(results: CreditingResults, root: Path, *, final: Path, seconds: float, note: Progress) -> None:
    """Tables (CSV), ``manifest.json``, the report (HTML, PDF), ``results.json`` and ``summary.json`` in
    ``root``, the run folder that will be published as ``final``."""
    from reddplus.jsonio import csv_number, write_json
    from reddplus.report.crediting import write_report

    c = results.credits
    if results.activity.by_admin is not None:
        results.activity.by_admin.table().to_csv(root / "tables" / "activity_by_admin.csv", index=False,
                                                 float_format=csv_number)
    c.ex_ante.to_frame().to_csv(root / "tables" / "credits_ex_ante.csv", index=False, float_format=csv_number)
    if c.ex_post is not None:
        c.ex_post.to_frame().to_csv(root / "tables" / "credits_ex_post.csv", index=False, float_format=csv_number)
    write_json(root / "manifest.json", results.manifest, sort_keys=True)
    note("report (figures, HTML, PDF)")
    write_report(results, root)
    write_json(root / "results.json", results.to_dict())
    summary = replace(results, out_dir=final, seconds=seconds,
                      warnings=tuple(w.replace(str(root), str(final)) for w in results.warnings)).summary()
    write_json(root / "summary.json", summary)
    if results.with_pdf:
        note("report: PDF")
        from reddplus.report.render import render_pdf

        render_pdf(root / "report.html")


# --------------------------------------------------------------------------------------------- tables in
def _rows(path: str | os.PathLike, required: tuple[str, ...]) -> list[dict]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
    except FileNotFoundError as err:
        raise InputDataError("file not found", path=str(path)) from err
    if not rows:
        raise InputDataError("the table has no rows", path=str(path))
    missing = [c for c in required if c not in rows[0]]
    if missing:
        raise InputDataError(f"missing columns {missing}", column=missing[0], path=str(path))
    return rows


def _number(row: dict, i: int, column: str, path, *, optional: bool = False) -> float | None:
    text = (row.get(column) or "").strip()
    if not text and optional:
        return None
    try:
        value = float(text)
    except ValueError:
        raise InputDataError(f"not a number: {text!r}", row=i, column=column, path=str(path)) from None
    if not value >= 0 or value == float("inf"):
        raise InputDataError(f"must be finite and >= 0, got {text!r}", row=i, column=column, path=str(path))
    return value


def read_stock_table(path: str | os.PathLike) -> list[StratumStockSpec]:
    """Per-stratum stocks from a CSV (see :meth:`CreditingChain.run_from_stocks`) [t CO2e/ha]."""
    out = []
    for i, r in enumerate(_rows(path, ("code", "name", "agb_tco2e_per_ha", "agb_tco2e_per_ha_sd")), start=1):
        code = _number(r, i, "code", path)
        if code != int(code):
            raise InputDataError(f"stratum code must be an integer, got {r['code']!r}", row=i, column="code",
                                 path=str(path))
        out.append(StratumStockSpec(code=int(code), name=r["name"].strip(),
                                    agb_tco2e_per_ha=_number(r, i, "agb_tco2e_per_ha", path),
                                    agb_tco2e_per_ha_sd=_number(r, i, "agb_tco2e_per_ha_sd", path),
                                    bgb_tco2e_per_ha=_number(r, i, "bgb_tco2e_per_ha", path, optional=True)))
    return out


def read_activity_table(path: str | os.PathLike) -> ActivityStepResult:
    """Deforestation per year and zone [ha/yr] from a CSV (see :meth:`CreditingChain.run_from_activity`)."""
    zones: dict[str, dict[int, float]] = {"jurisdiction": {}, "project": {}, "leakage_belt": {}}
    for i, r in enumerate(_rows(path, ("year", "zone", "deforestation_ha")), start=1):
        zone = r["zone"].strip()
        if zone not in zones:
            raise InputDataError(f"unknown zone {zone!r}; expected one of {sorted(zones)}", row=i, column="zone",
                                 path=str(path))
        year = _number(r, i, "year", path)
        if year != int(year) or int(year) in zones[zone]:
            raise InputDataError(f"year {r['year']!r} is not a whole year or appears twice for {zone}", row=i,
                                 column="year", path=str(path))
        zones[zone][int(year)] = _number(r, i, "deforestation_ha", path)
    for zone in ("jurisdiction", "project"):
        if not zones[zone]:
            raise InputDataError(f"no rows for the {zone}", column="zone", path=str(path))
    return ActivityStepResult({y: zones["jurisdiction"][y] for y in sorted(zones["jurisdiction"])},
                              {y: zones["project"][y] for y in sorted(zones["project"])}, None,
                              {y: zones["leakage_belt"][y] for y in sorted(zones["leakage_belt"])}, None)


# --------------------------------------------------------------------------------------------- functions
def run_project(cfg: ProjectConfig, out_dir: str | os.PathLike, *, overwrite: bool = False,
                progress: Progress | None = None, generated: bool = False, report_pdf: bool = True,
                extra_manifest: dict | None = None, scheduler: str | None = None) -> CreditingResults:
    """Run the whole crediting chain for ``cfg`` into ``out_dir`` (``reddplus run``): :meth:`CreditingChain.run`."""
    return CreditingChain(cfg, scheduler=scheduler, progress=progress, generated=generated,
                          extra_manifest=extra_manifest).run(out_dir, overwrite=overwrite, report_pdf=report_pdf)


def run_demo(out_dir: str | os.PathLike = "reddplus-demo", *, seed: int | None = None, overwrite: bool = False,
             progress: Progress | None = None, scale: float = 1.0, report_pdf: bool = True,
             scheduler: str | None = None) -> CreditingResults:
    """Generate the built-in GENERATED sample landscape and run the whole chain on it (``reddplus demo``).

    The landscape (:func:`reddplus.sample.generate_sample_landscape`) is written into ``OUT/sample``
    with its ``project.toml``, so ``reddplus run OUT/sample/project.toml`` reruns it.
    """
    from reddplus.errors import OutputExistsError
    from reddplus.outputs import stage_dir
    from reddplus.project import load_project
    from reddplus.sample import generate_sample_landscape

    t0 = time.perf_counter()
    out_dir = Path(out_dir).absolute()
    if out_dir.exists() and not overwrite:
        raise OutputExistsError(f"{out_dir} exists; pass --overwrite to replace it")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    note = progress or (lambda step: None)
    stage = stage_dir(out_dir)
    try:
        note("generating the sample landscape")
        sample = generate_sample_landscape(stage / "sample", scale=scale,
                                           **({"seed": seed} if seed is not None else {}))
        cfg = load_project(sample.project_toml)
    except BaseException:
        import shutil

        shutil.rmtree(stage, ignore_errors=True)
        raise
    chain = CreditingChain(cfg, scheduler=scheduler, progress=note, generated=True,
                           extra_manifest={"sample_truth": sample.truth})
    return chain._publish(out_dir, overwrite=True, report_pdf=report_pdf, stage=stage, t0=t0)
