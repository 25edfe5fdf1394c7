"""One JSON encoding for everything reddplus writes or prints (results, summaries, CLI output).

Numpy scalars and arrays become Python numbers and lists, NaN and infinities become ``null`` (JSON
has no NaN), paths and dates become strings, and result objects are encoded by their ``to_dict()``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from pathlib import Path
from typing import Any


def jsonable(obj: Any) -> Any:
    """``obj`` as plain JSON data (see the module docstring)."""
    import numpy as np

    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return None if math.isnan(f) or math.isinf(f) else f
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (Path, dt.date)):
        return str(obj)
    if hasattr(obj, "to_dict") and callable(obj.to_dict):
        return jsonable(obj.to_dict())
    return obj


def dumps(obj: Any, **kwargs) -> str:
    """``json.dumps`` of :func:`jsonable` (strict: no NaN in the output)."""
    return json.dumps(jsonable(obj), allow_nan=False, **kwargs)


def write_json(path: str | os.PathLike, obj: Any, *, overwrite: bool = True, **kwargs) -> Path:
    """Write ``obj`` as JSON atomically (a temporary file, then rename)."""
    from reddplus.raster.io import atomic_path

    kwargs.setdefault("indent", 2)
    with atomic_path(path, overwrite=overwrite, suffix=".json") as tmp:
        tmp.write_text(dumps(obj, **kwargs) + "\n", encoding="utf-8")
    return Path(path)
