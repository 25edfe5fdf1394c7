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
@overwrite_opt
@dask_opt
@json_opt
@click.pass_context
def run(ctx, project_toml, out_dir, overwrite, dask_scheduler, as_json):
    """Run the whole crediting chain for PROJECT_TOML into OUT (report, rasters, tables, manifest)."""
    from reddplus.chain import run_project
    from reddplus.project import load_project

    cfg = load_project(project_toml)
    quiet = ctx.obj.get("quiet", False)
    with _steps(quiet) as steps:
        result = run_project(cfg, out_dir, overwrite=overwrite, progress=steps.step, scheduler=dask_scheduler)
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
