"""``reddplus init`` (a commented skeleton project) and ``reddplus config-reference`` (thin: parse, call, print)."""

from __future__ import annotations

import click

from reddplus.cli.options import FOREST_CHANGE_FORMATS, echo_json, json_opt, overwrite_opt


@click.command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--from-raster", "rasters", multiple=True, type=click.Path(dir_okay=False, exists=True),
              help="The forest-change raster(s), as `reddplus activity` takes them (repeatable: hansen "
                   "TREECOVER2000 LOSSYEAR [DATAMASK] or LOSSYEAR alone; masks or tmf one per date). Fills in the "
                   "paths, the format and the dates the files record.")
@click.option("--format", "fmt", default=None, type=click.Choice(list(FOREST_CHANGE_FORMATS)),
              help="Convention of the --from-raster files [default: fcc123].")
@overwrite_opt
@json_opt
def init(directory, rasters, fmt, overwrite, as_json):
    """Write a commented skeleton project into DIRECTORY: project.toml and a README.md of next steps.

    Every key of project.toml says its meaning, unit, whether it is required and its default; what
    you must give is marked TODO. A DIRECTORY that exists and is not empty is refused without
    --overwrite.
    """
    from reddplus.project_reference import init_project

    if fmt and not rasters:
        raise click.UsageError("--format describes the --from-raster files: give them too")
    res = init_project(directory, rasters, fmt, overwrite=overwrite)
    if as_json:
        echo_json(res.to_dict())
        return
    for note in res.notes:
        click.echo(f"read: {note}")
    click.echo(f"wrote {res.project_toml} and {res.readme}")
    if res.todo:
        click.echo(f"{len(res.todo)} values to give (TODO): {', '.join(res.todo)}")
    click.echo(f"then: reddplus run {res.project_toml} --out run1")


@click.command("config-reference")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), default=None,
              help="Write the Markdown here (e.g. docs/config.md) instead of printing it.")
@overwrite_opt
def config_reference(out_path, overwrite):
    """Print the reference of every project key (type, unit, default, meaning), generated from the model."""
    from reddplus.project_reference import config_reference as reference

    text = reference()
    if out_path is None:
        click.echo(text, nl=False)
        return
    from reddplus.cli.options import check_output
    from reddplus.raster import atomic_path

    check_output(out_path, overwrite)
    with atomic_path(out_path, overwrite=overwrite, suffix=".md") as tmp:
        tmp.write_text(text, encoding="utf-8")
    click.echo(f"wrote {out_path}")
