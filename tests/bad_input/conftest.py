"""The bad-input corpus: every case runs a command the way a user would and checks three things.

* the exit code (2 bad input or config, 3 output exists / locked / misplaced, 4 full device,
  a click usage error 2);
* the message names the file, row, column or config key (and the offending value);
* nothing was left behind: the folders the command could write are exactly as before (no
  output, no ``.partial`` staging folder, no lock file, no temporary file).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from rasterio.transform import from_origin

CRS = "EPSG:6933"   # equal-area, metres


def write_raster(path: Path, array, *, dtype=None, nodata=None, crs=CRS, pixel=30.0) -> Path:
    a = np.asarray(array)
    if a.ndim == 2:
        a = a[np.newaxis]
    with rasterio.open(path, "w", driver="GTiff", width=a.shape[2], height=a.shape[1], count=a.shape[0],
                       dtype=dtype or a.dtype.name, crs=crs, transform=from_origin(1_000_000.0, 2_000_000.0, pixel, pixel),
                       nodata=nodata) as ds:
        ds.write(a.astype(dtype or a.dtype))
    return path


def fcc_array(shape=(40, 50)) -> np.ndarray:
    """A small valid fcc123 map: non-forest, loss in both periods, forest."""
    a = np.full(shape, 3, np.uint8)
    a[:5] = 0
    a[10:15] = 1
    a[25:30] = 2
    return a


def snapshot(folder: Path) -> dict[str, str]:
    """Every file and folder under ``folder`` with its content hash (folders: "dir")."""
    out = {}
    for p in sorted(folder.rglob("*")):
        out[str(p.relative_to(folder))] = "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


class Case:
    """Run ``reddplus ARGS`` in ``folder`` and check exit code, message and that nothing changed."""

    def __init__(self, folder: Path):
        self.folder = folder

    def __call__(self, args, *, code: int, names: tuple[str, ...] = (), folder: Path | None = None):
        from reddplus.cli.main import cli

        where = folder or self.folder
        before = snapshot(where)
        r = CliRunner().invoke(cli, [str(a) for a in args])
        assert r.exit_code == code, f"exit {r.exit_code}, expected {code}: {r.output}"
        assert "Traceback" not in r.output, r.output
        assert not isinstance(r.exception, Exception) or isinstance(r.exception, SystemExit), repr(r.exception)
        for n in names:
            assert str(n) in r.output, f"{n!r} not named in: {r.output}"
        assert snapshot(where) == before, "files were left behind or changed"
        return r


@pytest.fixture
def case(tmp_path):
    return Case(tmp_path)


@pytest.fixture(scope="session")
def small_sample(tmp_path_factory):
    """The GENERATED sample landscape, small (scale 0.1), shared read-only by the project cases."""
    from reddplus.sample import generate_sample_landscape

    return generate_sample_landscape(tmp_path_factory.mktemp("bad_input_sample") / "s", scale=0.1)
