"""Fault injection on ``reddplus run``: killed at random points, or out of disk space.

After SIGKILL or SIGTERM at a random moment (20 seeded trials, half of them replacing a previous
complete run with ``--overwrite``) the run folder is either absent or complete and identical to an
uninterrupted run (the summary's numbers, the manifest hash, the same files), an overwrite never
leaves it absent, SIGTERM leaves no staging folder or lock behind, the next run cleans what a
killed one left, and no input is touched. On a full device (a small tmpfs) the run fails with a
message saying so and leaves nothing.

The project is the GENERATED sample at scale 0.1 (a 160 x 200 grid), trimmed to the steps that
write the run folder (no tree inventory, no alternative models, no counterfactual, no PDF) so a
run takes seconds.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import tomllib
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import tomli_w

from tests.bad_input.conftest import snapshot

pytestmark = pytest.mark.slow

REDDPLUS = str(Path(sys.executable).with_name("reddplus"))
TRIALS = 20
SEED = 20240615
#: summary fields that name paths or time, not numbers
NOT_NUMBERS = ("report_html", "report_pdf", "out_dir", "seconds")


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    from reddplus.sample import generate_sample_landscape

    s = generate_sample_landscape(tmp_path_factory.mktemp("faults") / "sample", scale=0.1)
    cfg = tomllib.loads(s.project_toml.read_text())
    cfg["counterfactual"]["enabled"] = False
    for key in ("planned_roads", "roads", "rivers", "settlements"):
        cfg["baseline"].pop(key, None)
    del cfg["stocks"]["inventory"], cfg["stocks"]["plot_areas"]
    cfg["stocks"]["source"] = "strata"
    toml = s.out_dir / "fast.toml"
    toml.write_text(tomli_w.dumps(cfg))
    return toml


def _start(toml: Path, out: Path, *extra: str) -> subprocess.Popen:
    """``reddplus run`` with its progress on stderr: one line as each step starts."""
    return subprocess.Popen([REDDPLUS, "run", str(toml), "--out", str(out), "--no-pdf", "--json", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@dataclass(frozen=True)
class Reference:
    out: Path
    steps: int          # progress lines of an uninterrupted run
    numbers: dict
    manifest_sha256: str
    files: list


def _numbers(folder: Path) -> dict:
    summary = json.loads((folder / "summary.json").read_text())
    return {k: v for k, v in summary.items() if k not in NOT_NUMBERS}


@pytest.fixture(scope="module")
def reference(project, tmp_path_factory):
    out = tmp_path_factory.mktemp("reference") / "run"
    p = _start(project, out)
    stdout, stderr = p.communicate(timeout=1200)
    assert p.returncode == 0, stderr
    steps = len([line for line in stderr.splitlines() if line.strip()])
    assert steps >= 5, stderr
    return Reference(out, steps, _numbers(out), json.loads((out / "manifest.json").read_text())["manifest_sha256"],
                     _files(out))


def _assert_complete(folder: Path, ref: Reference) -> None:
    assert _files(folder) == ref.files, "a run folder is complete or absent, never partial"
    assert _numbers(folder) == ref.numbers
    assert json.loads((folder / "manifest.json").read_text())["manifest_sha256"] == ref.manifest_sha256


def _leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def _leftovers_of(out: Path, pid: int) -> list[str]:
    """This process's staging folders, and the lock file if it still names this process."""
    lock = out.parent / f".{out.name}.lock"
    mine = [n for n in _leftovers(out) if f".partial-{pid}-" in n or f".old-{pid}-" in n]
    if lock.exists() and lock.read_text().strip() == str(pid):
        mine.append(lock.name)
    return mine


def test_killed_at_random_points(project, reference, tmp_path):
    rng = random.Random(SEED)
    inputs = snapshot(project.parent)
    out = tmp_path / "out"
    outcomes = []
    for trial in range(TRIALS):
        sig = signal.SIGKILL if trial % 2 == 0 else signal.SIGTERM
        overwrite = rng.random() < 0.5
        if overwrite and not out.exists():
            shutil.copytree(reference.out, out)          # a complete previous run, to be replaced
        if not overwrite and out.exists():
            shutil.rmtree(out)
        # a random point: during start-up, or a random time into a random step (whatever the machine's load)
        step = rng.randint(0, reference.steps)
        delay = rng.uniform(0.0, 2.0 if step == 0 else 1.0)
        p = _start(project, out, *(["--overwrite"] if overwrite else []))
        seen = [p.stderr.readline() for _ in range(step)]
        time.sleep(delay)
        if p.poll() is None:
            p.send_signal(sig)
        _, stderr = p.communicate(timeout=1200)
        stderr = "".join(seen) + stderr
        what = (f"trial {trial}: {sig.name} {delay:.2f} s into step {step}, overwrite={overwrite}, "
                f"exit {p.returncode}")
        # -SIGTERM: the signal came while the interpreter started or exited, outside the command's handler
        assert p.returncode in (0, -signal.SIGKILL, 128 + signal.SIGTERM, -signal.SIGTERM), f"{what}: {stderr}"
        if out.exists():
            _assert_complete(out, reference)
        else:
            assert not overwrite, f"{what}: an overwrite left no run folder"
        if p.returncode == 128 + signal.SIGTERM:
            assert "interrupted by SIGTERM" in stderr and "Traceback" not in stderr, stderr
            mine = _leftovers_of(out, p.pid)     # an earlier killed run's may wait for the next run to clean
            assert mine == [], f"{what}: SIGTERM left {mine}"
        outcomes.append((step, p.returncode, out.exists()))
    # the next run cleans what killed runs left beside the folder, and completes
    p = _start(project, out, "--overwrite")
    _, stderr = p.communicate(timeout=1200)
    assert p.returncode == 0, stderr
    _assert_complete(out, reference)
    assert _leftovers(out) == []
    assert snapshot(project.parent) == inputs, "an input was touched"
    interrupted = [o for o in outcomes if o[1] != 0]
    assert len(interrupted) >= TRIALS // 2, f"too few trials were interrupted: {outcomes}"


@pytest.fixture
def small_disk(tmp_path):
    """A tmpfs of a given size mounted in tmp_path (root only; skipped where mounting is not allowed)."""
    mounts = []

    def make(size: str) -> Path:
        where = tmp_path / f"disk-{size}-{uuid.uuid4().hex[:6]}"
        where.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True,
                           text=True)
        if r.returncode != 0 or os.statvfs(where).f_blocks * os.statvfs(where).f_frsize > 64 * 2**20:
            pytest.skip(f"cannot mount a small tmpfs here: {r.stderr.strip() or 'not a small device'}")
        mounts.append(where)
        return where

    yield make
    for m in mounts:
        subprocess.run(["umount", str(m)], capture_output=True)


@pytest.mark.parametrize("size", ["96k", "400k"])
def test_full_disk(project, small_disk, size):
    """The device fills up in the rasters (96 kB) or later, in the tables and figures (400 kB)."""
    disk = small_disk(size)
    inputs = snapshot(project.parent)
    p = _start(project, disk / "out")
    _, stderr = p.communicate(timeout=1200)
    assert p.returncode == 4, stderr
    assert "no space left on the device" in stderr and str(disk) in stderr and "Traceback" not in stderr, stderr
    assert list(disk.iterdir()) == [], "nothing is left on the full device"
    assert snapshot(project.parent) == inputs
