"""``reddplus check``: every problem of a project's config and inputs, listed at once, before any computing."""

from __future__ import annotations

import click

from reddplus.cli.options import echo_json, json_opt


def report_problems(result) -> None:
    """Print a check's problems on stderr, one per line, and exit 2 (a bad input) when there are any."""
    if result.ok:
        return
    n = len(result.problems)
    click.echo(f"Error: {n} problem{'s' if n > 1 else ''} in {result.path}:", err=True)
    for p in result.problems:
        click.echo(f"  - {p}", err=True)
    raise click.exceptions.Exit(2)


@click.command()
@click.argument("project_toml", type=click.Path(dir_okay=False))
@json_opt
def check(project_toml, as_json):
    """Check PROJECT_TOML and its inputs as a run would, in seconds and without computing.

    Lists every problem at once: unknown or missing keys and wrong types, missing or unreadable
    files, the forest change's format and CRS, periods against the data's dates, polygons that miss
    the raster (a CRS hint) or leave the jurisdiction, rasters off the forest-change grid, the
    reference sample and the NPRT answers. Exit 0 when it finds nothing, 2 otherwise.
    """
    from reddplus.check import check_project

    result = check_project(project_toml)
    if as_json:
        echo_json(result.to_dict())
        if not result.ok:
            raise click.exceptions.Exit(2)
        return
    for note in result.notes:
        click.echo(note)
    report_problems(result)
    click.echo(f"{project_toml}: no problems found")
