"""A small demo run (scale 0.15), built once for the viewer tests (package scope: about a minute), with its
forest-change COG, and a server on a free loopback port."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest


@pytest.fixture(scope="package")
def demo_run(tmp_path_factory) -> Path:
    from reddplus.chain import run_demo
    from reddplus.landcover.export import write_forest_change
    from reddplus.project import load_project

    out = tmp_path_factory.mktemp("view") / "run"
    run_demo(out, scale=0.15, report_pdf=False)
    fc = out / "rasters" / "forest_change.tif"
    if not fc.exists():   # until the chain writes it (landcover.export.write_forest_change)
        write_forest_change(load_project(out / "sample" / "project.toml").forest_change.open(), fc)
    return out


class ServerThread:
    """``reddplus.view.make_server`` on a free loopback port, in a thread, stopped on exit."""

    def __init__(self, run_dir):
        from reddplus.view import make_server

        self.server, self.sock, self.url = make_server(run_dir, port=0)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> "ServerThread":
        self.thread.start()
        for _ in range(400):
            if self.server.started:
                break
            threading.Event().wait(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def server(demo_run):
    with ServerThread(demo_run) as s:
        yield s
