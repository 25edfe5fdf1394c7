"""``reddplus ccb``: check a CCB v3.1 folder and write the CCB section of the report."""

from __future__ import annotations

import click

from reddplus.cli.options import echo_json, json_opt, overwrite_opt


@click.group()
def ccb() -> None:
    """Climate, Community & Biodiversity Standards v3.1: validate a CCB folder, write the CCB section."""


@ccb.command()
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--project", "project_toml", type=click.Path(dir_okay=False), default=None,
              help="Project TOML whose crediting and monitoring periods the folder must match.")
@json_opt
def validate(folder, project_toml, as_json):
    """Check the CCB folder FOLDER: every problem at once (file, row, column or key); exit 2 if any."""
    from reddplus.ccb import validate_ccb
    from reddplus.project import load_project

    cfg = load_project(project_toml) if project_toml else None
    res = validate_ccb(folder, project=cfg)
    if as_json:
        echo_json(res.to_dict())
    else:
        for p in res.problems:
            click.echo(str(p), err=True)
        click.echo(f"{folder}: {'valid' if res.ok else f'{len(res.problems)} problem(s)'}")
    if not res.ok:
        raise SystemExit(2)


@ccb.command()
@click.argument("project_toml", type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--no-pdf", is_flag=True, help="Write the HTML only.")
@overwrite_opt
@json_opt
def report(project_toml, out_dir, no_pdf, overwrite, as_json):
    """Write the CCB section alone for PROJECT_TOML (its [ccb] folder) into OUT: HTML, PDF, figures, ccb.json.

    Without the crediting chain there is no baseline: without-project values of the map indicators are
    marked not available, with the reason (``reddplus run`` passes the baseline and the counterfactual).
    """
    from reddplus.ccb import ccb_step
    from reddplus.ccb.report import write_ccb_report
    from reddplus.cli.options import check_output
    from reddplus.project import load_project

    check_output(out_dir, overwrite)
    cfg = load_project(project_toml)
    res = ccb_step(cfg)
    paths = write_ccb_report(res, out_dir, overwrite=overwrite, pdf=not no_pdf)
    if as_json:
        echo_json({"paths": {k: str(v) for k, v in paths.items()}, "ccb": res.to_dict()})
    else:
        click.echo(f"CCB section: {paths['html']}")
