"""``reddplus run`` and ``reddplus demo``: the end-to-end crediting run."""

from __future__ import annotations

import click

from reddplus.cli.options import dask_opt, echo_json, json_opt, overwrite_opt


def _steps(quiet: bool):
    """Progress on stderr: the running step with its elapsed time on a terminal, one line per step otherwise."""
    from reddplus.cli.options import progress

    return progress("reddplus", quiet=quiet)


def _print_summary(result, as_json: bool) -> None:
    summary = result.summary()
    if as_json:
        echo_json(summary)
        return
    for line in result.headline_lines():
        click.echo(line)
    click.echo(f"report: {summary['report_html']}")


@click.command()
@click.argument("project_toml", type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Run directory.")
@click.option("--no-pdf", is_flag=True, help="Skip the PDF report (report.html only).")
@overwrite_opt
@dask_opt
@json_opt
@click.pass_context
def run(ctx, project_toml, out_dir, no_pdf, overwrite, dask_scheduler, as_json):
    """Run the whole crediting chain for PROJECT_TOML into OUT (report, rasters, tables, manifest).

    OUT may not be the project's folder, contain an input, or lie inside an input folder: with
    --overwrite it is replaced whole.
    """
    from reddplus.chain import run_project
    from reddplus.check import check_project
    from reddplus.cli.check import report_problems
    from reddplus.cli.options import check_output

    checked = check_project(project_toml)       # every problem at once, before any computing
    report_problems(checked)
    cfg = checked.config
    check_output(out_dir, overwrite, {"project TOML": project_toml, **cfg.input_files()})
    quiet = ctx.obj.get("quiet", False)
    with _steps(quiet) as steps:
        result = run_project(cfg, out_dir, overwrite=overwrite, progress=steps.step, scheduler=dask_scheduler,
                             report_pdf=not no_pdf)
    _print_summary(result, as_json)


@click.command()
@click.option("--out", "out_dir", default="reddplus-demo", show_default=True, type=click.Path(file_okay=False),
              help="Run directory.")
@click.option("--seed", type=int, default=None, help="Seed of the generated landscape (default: the built-in one).")
@overwrite_opt
@json_opt
@click.pass_context
def demo(ctx, out_dir, seed, overwrite, as_json):
    """Run the whole chain on the built-in GENERATED sample project (no arguments, no network)."""
    from reddplus.chain import run_demo

    quiet = ctx.obj.get("quiet", False)
    with _steps(quiet) as steps:
        result = run_demo(out_dir, seed=seed, overwrite=overwrite, progress=steps.step)
    _print_summary(result, as_json)
