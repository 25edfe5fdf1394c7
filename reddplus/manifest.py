"""Run manifests: what a crediting run read, with which settings and software.

A manifest records the SHA-256 of every input file, the validated configuration,
the random seed and the versions of reddplus and the libraries that compute
numbers. Re-running the same config on files with the same hashes, with the same
versions, reproduces the same outputs (every random draw derives from the seed).
Its own hash (``manifest_sha256``) is what a registry issuance links to.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from reddplus.raster.io import atomic_path

#: distributions whose versions can change numbers
TRACKED_PACKAGES = ("reddplus", "numpy", "scipy", "numba", "pandas", "rasterio", "geopandas", "shapely", "pyproj",
                    "statsmodels", "scikit-learn", "dask", "matplotlib")


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file, streamed [hex]."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def package_versions(names: tuple[str, ...] = TRACKED_PACKAGES) -> dict[str, str]:
    out = {}
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            out[n] = "not installed"
    return out


@dataclass(frozen=True)
class Manifest:
    inputs: dict[str, dict[str, str]]
    config: dict[str, Any]
    seed: int
    versions: dict[str, str]
    base_dir: str | None = None   # relative input paths are relative to it (not part of the hash)
    python: str = field(default_factory=platform.python_version)
    created_utc: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    def reproducible_part(self) -> dict[str, Any]:
        """Everything that determines the numbers (not the creation time)."""
        return {"inputs": self.inputs, "config": self.config, "seed": self.seed, "versions": self.versions}

    @property
    def sha256(self) -> str:
        blob = json.dumps(self.reproducible_part(), sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return {**self.reproducible_part(), "base_dir": self.base_dir, "python": self.python,
                "created_utc": self.created_utc, "manifest_sha256": self.sha256}


def _relative(value: Any, base: Path | None) -> Any:
    """Absolute paths under ``base`` -> relative strings (so the hash does not depend on where a run lives)."""
    if base is None:
        return value
    if isinstance(value, dict):
        return {k: _relative(v, base) for k, v in value.items()}
    if isinstance(value, list):
        return [_relative(v, base) for v in value]
    if isinstance(value, str) and os.path.isabs(value):
        try:
            return Path(value).resolve().relative_to(base.resolve()).as_posix()
        except ValueError:
            return value
    return value


def build_manifest(inputs: dict[str, Path], config: dict[str, Any], seed: int,
                   base_dir: str | os.PathLike | None = None) -> Manifest:
    """Hash the named input files (dotted config keys -> paths) and freeze the run's settings.

    With ``base_dir`` (the project folder), input and config paths inside it are recorded relative
    to it, so the same project moved elsewhere has the same manifest hash.
    """
    base = Path(base_dir) if base_dir is not None else None
    hashed = {key: {"path": _relative(str(p), base), "sha256": file_sha256(p)}
              for key, p in sorted(inputs.items()) if Path(p).is_file()}
    return Manifest(inputs=hashed, config=_relative(config, base), seed=seed, versions=package_versions(),
                    base_dir=str(base) if base is not None else None)


def write_manifest(manifest: Manifest, path: str | os.PathLike, *, overwrite: bool = True) -> Path:
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_text(json.dumps(manifest.to_dict(), indent=2, sort_keys=True, default=str))
    return Path(path)


def read_manifest(path: str | os.PathLike) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def verify_inputs(manifest: dict[str, Any]) -> list[str]:
    """Keys whose file is missing or whose hash changed since the manifest was written."""
    bad = []
    base = Path(manifest.get("base_dir") or ".")
    for key, item in manifest["inputs"].items():
        p = Path(item["path"])
        if not p.is_absolute():
            p = base / p
        if not p.is_file() or file_sha256(p) != item["sha256"]:
            bad.append(key)
    return bad
