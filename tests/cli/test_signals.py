"""Signals stop a command like Ctrl-C: nothing published, exit 128 + signum, even when a library swallows it."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from reddplus.cli.main import cli
from tests.risk.synth import make_fcc, write_fcc

REDDPLUS = str(Path(sys.executable).with_name("reddplus"))


@pytest.fixture
def fcc(tmp_path):
    return write_fcc(tmp_path / "fcc.tif", make_fcc((300, 400), seed=3))


def _leftovers(folder: Path, name: str) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(f".{name}."))


def test_sigterm_during_a_run_publishes_nothing(tmp_path, fcc):
    """SIGTERM once the staging folder exists: exit 143, no output, no staging folder, no lock."""
    out = tmp_path / "risk"
    proc = subprocess.Popen([REDDPLUS, "-q", "risk", "benchmark", str(fcc), "--format", "fcc123",
                             "--max-distance", "1500", "--cell-area-ha", "200", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not _leftovers(tmp_path, "risk") and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "the command finished before it could be signalled"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "interrupted by SIGTERM" in err and "Traceback" not in err
    assert not out.exists() and _leftovers(tmp_path, "risk") == []


class _SwallowsInterrupt:
    """Receives a signal inside ``__del__``: Python prints "Exception ignored" and carries on."""

    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(1000):       # bytecodes: the handler runs here, its exception is swallowed
            time.sleep(0)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")   # the swallowed interrupt
def test_a_swallowed_ctrl_c_still_stops_the_publish(tmp_path, fcc, monkeypatch):
    import reddplus.landcover as landcover

    real = landcover.activity_data
    reached = []

    def activity_data(*args, **kwargs):
        obj = _SwallowsInterrupt()
        del obj
        gc.collect()
        reached.append(True)         # the run went on after the interrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(landcover, "activity_data", activity_data)
    out = tmp_path / "table.csv"
    r = CliRunner().invoke(cli, ["activity", str(fcc), "--format", "fcc123", "--out", str(out)])
    assert reached, "the interrupt was not swallowed: the test did not exercise the late path"
    assert r.exit_code == 130, r.output
    assert "interrupted by SIGINT" in r.output
    assert not out.exists() and _leftovers(tmp_path, "table.csv") == []


def test_signal_handlers_are_restored(fcc, tmp_path):
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    r = CliRunner().invoke(cli, ["activity", str(fcc), "--format", "fcc123", "--json"])
    assert r.exit_code == 0, r.output
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before
    assert np.isfinite(float(__import__("json").loads(r.stdout)["pixel_area_ha"]))
