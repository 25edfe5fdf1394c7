"""``reddplus view RUN_DIR``: the run's report and an interactive map of its rasters and outlines.

:func:`~reddplus.view.app.create_app` builds the FastAPI app (tiles and pixel values from
titiler.core over the run's own COGs, Leaflet vendored); :func:`make_server` binds it to
127.0.0.1 and :func:`serve` runs it until interrupted.
"""

from __future__ import annotations

from reddplus.view.app import RasterLayer, RunLayers, create_app, discover_layers

__all__ = ["RasterLayer", "RunLayers", "create_app", "discover_layers", "make_server", "serve"]

HOST = "127.0.0.1"


def make_server(run_dir, *, port: int = 8765):
    """``(server, socket, url)``: a uvicorn server for ``run_dir`` bound to 127.0.0.1:``port``
    (``0`` takes a free port); run it with ``server.run(sockets=[socket])``, stop it with
    ``server.should_exit = True``.

    Raises
    ------
    OSError
        The port is taken.
    """
    import socket

    import uvicorn

    app = create_app(run_dir)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError:
        sock.close()
        raise
    url = f"http://{HOST}:{sock.getsockname()[1]}/"
    return uvicorn.Server(uvicorn.Config(app, log_level="warning")), sock, url


def serve(run_dir, *, port: int = 8765, open_browser: bool = True, ready=None) -> None:
    """Serve ``run_dir`` on ``http://127.0.0.1:PORT/`` until interrupted (Ctrl-C).

    ``ready`` is called with the URL once the server listens; the browser is opened then unless
    ``open_browser`` is False.
    """
    import threading
    import webbrowser

    server, sock, url = make_server(run_dir, port=port)

    def announce():
        while not server.started:
            if server.should_exit:
                return
            threading.Event().wait(0.05)
        if ready is not None:
            ready(url)
        if open_browser:
            webbrowser.open(url)

    threading.Thread(target=announce, daemon=True).start()
    server.run(sockets=[sock])
