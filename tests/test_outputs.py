"""Publishing outputs: locks, no-replace and exchange renames, dead runs' leftovers, signals, modes, location."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
from contextlib import contextmanager

import pytest

from reddplus import outputs
from reddplus.errors import (OutputExistsError, OutputLocationError, OutputLockedError, RunInterrupted,
                             StorageFullError)
from reddplus.outputs import OutputLock, atomic_dir, atomic_path, check_output_location, clean_stale_leftovers


def _siblings(tmp_path):
    return sorted(p.name for p in tmp_path.iterdir())


@contextmanager
def lock_held_elsewhere(out):
    """Another process holds the lock of ``out`` while the block runs; yields its PID."""
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from reddplus.outputs import OutputLock
        with OutputLock({str(out)!r}):
            print("locked", flush=True)
            time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "locked"
        yield child.pid
    finally:
        child.kill()
        child.wait()


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_publish_and_refuse_existing(tmp_path):
    out = tmp_path / "out"
    with atomic_dir(out) as stage:
        assert stage.parent == tmp_path and stage.name.startswith(f".out.partial-{os.getpid()}-")
        assert (tmp_path / ".out.lock").exists()
        (stage / "a.txt").write_text("1")
        assert not out.exists()
    assert (out / "a.txt").read_text() == "1"
    assert _siblings(tmp_path) == ["out"]                  # no stage, no lock left
    with pytest.raises(OutputExistsError, match="exists"):
        with atomic_dir(out):
            pass
    assert _siblings(tmp_path) == ["out"]


def test_failure_leaves_nothing_and_the_old_output_intact(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(ValueError):
        with atomic_dir(out, overwrite=True) as stage:
            (stage / "new.txt").write_text("new")
            raise ValueError("bad input")
    assert _siblings(tmp_path) == ["out"] and [p.name for p in out.iterdir()] == ["old.txt"]


def test_target_that_appeared_meanwhile_is_not_replaced(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(OutputExistsError, match="appeared while"):
        with atomic_dir(out) as stage:
            (stage / "mine.txt").write_text("x")
            out.mkdir()                                    # e.g. a run that ignores the lock
            (out / "theirs.txt").write_text("y")
    assert [p.name for p in out.iterdir()] == ["theirs.txt"]
    assert _siblings(tmp_path) == ["out"]


def test_locked_target_refused_naming_folder_and_pid(tmp_path):
    out = tmp_path / "out"
    with lock_held_elsewhere(out) as pid:
        with pytest.raises(OutputLockedError) as err:
            with atomic_dir(out):
                pass
        assert str(out) in str(err.value) and f"PID {pid}" in str(err.value)
        assert err.value.exit_code == 3
    with atomic_dir(out) as stage:      # the lock of a dead process is free
        (stage / "a").write_text("1")
    assert _siblings(tmp_path) == ["out"]


@pytest.mark.parametrize("exchange", [True, False])
def test_overwrite_swaps_then_deletes_the_old_output(tmp_path, monkeypatch, exchange):
    if not exchange:   # the fallback where renameat2 is missing: old aside, new in place, old deleted
        monkeypatch.setattr(outputs, "_renameat2", lambda a, b, flags: False)
    out = tmp_path / "out"
    out.mkdir()
    for i in range(50):
        (out / f"old{i}").write_text("old")
    with atomic_dir(out, overwrite=True) as stage:
        (stage / "new").write_text("new")
    assert [p.name for p in out.iterdir()] == ["new"]
    assert _siblings(tmp_path) == ["out"]


def test_dead_runs_leftovers_are_cleaned_or_restored(tmp_path, caplog):
    out = tmp_path / "out"
    dead = _dead_pid()
    partial = tmp_path / f".out.partial-{dead}-0badc0de"
    (partial / "rasters").mkdir(parents=True)
    aside = tmp_path / f".out.old-{dead}-0badc0df"     # killed between the two renames of an overwrite
    aside.mkdir()
    (aside / "report.html").write_text("previous run")
    alive = tmp_path / f".out.partial-{os.getppid()}-00000001"
    alive.mkdir()
    legacy = tmp_path / ".out.partial-k3j2h1"          # no PID in its name (older versions): reported only
    legacy.mkdir()
    (tmp_path / ".out.lock").write_text(f"{dead}\n")   # a dead run's lock file: free, reused, removed
    with pytest.raises(OutputExistsError):             # the previous output is back: no silent replacement
        with atomic_dir(out):
            pass
    assert (out / "report.html").read_text() == "previous run"
    assert not partial.exists() and not aside.exists() and alive.exists() and legacy.exists()
    assert not (tmp_path / ".out.lock").exists()
    text = caplog.text
    assert "restored" in text and f"dead process {dead}" in text and "unknown run" in text and "is alive" in text
    # a second pass with the target present removes a dead aside instead of restoring it
    aside.mkdir()
    assert any("removed" in line for line in clean_stale_leftovers(out))
    assert not aside.exists()


def test_no_publish_after_a_signal(tmp_path):
    out = tmp_path / "out"
    try:
        with pytest.raises(RunInterrupted) as err:
            with atomic_dir(out) as stage:
                (stage / "a").write_text("1")
                outputs.request_interrupt(signal.SIGTERM)    # its KeyboardInterrupt swallowed somewhere
        assert err.value.exit_code == 143
        with pytest.raises(RunInterrupted):
            with atomic_path(tmp_path / "t.csv") as tmp:
                tmp.write_text("x")
    finally:
        outputs.clear_interrupt()
    assert _siblings(tmp_path) == []


def test_signal_inside_a_finaliser_prints_no_traceback(tmp_path):
    """A SIGTERM landing in a ``__del__`` (where Python cannot raise) still stops the run, silently."""
    script = textwrap.dedent("""
        import os, signal, sys
        from reddplus.cli.options import signals_handled
        from reddplus.outputs import atomic_dir
        from reddplus.errors import RunInterrupted

        class Dying:
            def __del__(self):
                os.kill(os.getpid(), signal.SIGTERM)   # the handler raises inside the finaliser

        class Broken:
            def __del__(self):
                raise ValueError("an unrelated finaliser error")

        with signals_handled():
            Broken()                                   # still reported as before
            try:
                with atomic_dir(sys.argv[1]) as stage:
                    (stage / "a").write_text("1")
                    Dying()
            except RunInterrupted as err:
                print("stopped", err.exit_code)
    """)
    out = tmp_path / "out"
    res = subprocess.run([sys.executable, "-c", script, str(out)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "stopped 143"
    assert "RunInterrupted" not in res.stderr
    assert "an unrelated finaliser error" in res.stderr
    assert not out.exists() and _siblings(tmp_path) == []


def test_modes_follow_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        with atomic_dir(tmp_path / "out") as stage:
            (stage / "x").write_text("1")
        with atomic_path(tmp_path / "t.csv") as tmp:
            tmp.write_text("x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o750
    assert stat.S_IMODE((tmp_path / "t.csv").stat().st_mode) == 0o640


def test_atomic_path_no_replace(tmp_path):
    t = tmp_path / "t.csv"
    with pytest.raises(OutputExistsError, match="appeared"):
        with atomic_path(t) as tmp:
            tmp.write_text("mine")
            t.write_text("theirs")
    assert t.read_text() == "theirs" and _siblings(tmp_path) == ["t.csv"]
    with atomic_path(t, overwrite=True) as tmp:
        tmp.write_text("mine")
    assert t.read_text() == "mine"


def test_full_device_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr(outputs, "FULL_BELOW_BYTES", 1 << 62)       # every device looks full
    with pytest.raises(StorageFullError, match="no space left") as err:
        with atomic_dir(tmp_path / "out") as stage:
            (stage / "a").write_text("1")
            raise RuntimeError("Write failed. See previous exception for details.")
    assert err.value.exit_code == 4 and _siblings(tmp_path) == []


def test_output_location(tmp_path):
    proj = tmp_path / "project"
    proj.mkdir()
    (proj / "fcc.tif").write_text("x")
    (proj / "masks").mkdir()
    inputs = {"forest_change.path": proj / "fcc.tif", "forest_change.more_paths[0]": proj / "masks"}
    for bad, what in ((proj, "folder of the input forest_change.path"), (tmp_path, "contains the input"),
                      (proj / "masks" / "run", "inside the input folder"), (proj / "fcc.tif", "is the input")):
        with pytest.raises(OutputLocationError, match=what) as err:
            check_output_location(bad, inputs)
        assert str(bad.resolve()) in str(err.value)
    (tmp_path / "link").symlink_to(proj)
    with pytest.raises(OutputLocationError):
        check_output_location(tmp_path / "link", inputs)
    assert check_output_location(proj / "run1", inputs) == (proj / "run1").resolve()   # beside the inputs
    assert check_output_location(tmp_path / "run", [proj / "fcc.tif"]) == (tmp_path / "run").resolve()


def test_lock_file_reused_after_its_holder_unlinked_it(tmp_path):
    """A run that opened the lock file just before its holder removed it must not lock a dead inode."""
    out = tmp_path / "out"
    a = OutputLock(out).acquire()
    a.release()
    b = OutputLock(out).acquire()
    assert (tmp_path / ".out.lock").read_text().strip() == str(os.getpid())
    b.release()
    assert _siblings(tmp_path) == []
