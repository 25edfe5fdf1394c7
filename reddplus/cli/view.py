"""``reddplus view``: serve a run folder's report and an interactive map on 127.0.0.1 (thin: parse, call)."""

from __future__ import annotations

import click


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True))
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port on 127.0.0.1 (0: any free port).")
@click.option("--no-browser", is_flag=True, help="Do not open a browser; only print the address.")
def view(run_dir, port, no_browser):
    """Serve RUN_DIR (a `reddplus run` or `reddplus demo` folder): its report and a map of the risk
    classes, the density, the forest change and the project, belt and jurisdiction outlines, with a
    legend and pixel values on click. Only 127.0.0.1 listens; Ctrl-C stops it."""
    from reddplus.view import serve

    def ready(url):
        click.echo(f"reddplus view: {url}  (Ctrl-C to stop)", err=True)

    try:
        serve(run_dir, port=port, open_browser=not no_browser, ready=ready)
    except OSError as err:
        raise click.ClickException(f"cannot listen on 127.0.0.1:{port}: {err.strerror or err}") from err
