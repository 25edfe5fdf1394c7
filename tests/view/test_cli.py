"""`reddplus view RUN_DIR --port 0 --no-browser` as a user runs it: it prints its loopback address,
serves the map page and the report there, and stops on SIGTERM."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from click.testing import CliRunner

from reddplus.cli.main import cli


def test_serves_on_loopback(demo_run):
    exe = Path(sys.executable).with_name("reddplus")
    proc = subprocess.Popen([str(exe), "view", str(demo_run), "--port", "0", "--no-browser"],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        line = proc.stderr.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line).group(0)
        with urllib.request.urlopen(url, timeout=30) as r:
            assert r.status == 200 and b"leaflet.js" in r.read()
        with urllib.request.urlopen(url + "report/", timeout=30) as r:
            assert r.status == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def test_not_a_run_folder(tmp_path):
    r = CliRunner().invoke(cli, ["view", str(tmp_path), "--no-browser", "--port", "0"])
    assert r.exit_code == 2 and "not a reddplus run folder" in r.output
