"""One JSON encoding for everything reddplus writes or prints (results, summaries, CLI output), and the
one way numbers are written into CSV tables.

Numpy scalars and arrays become Python numbers and lists, NaN and infinities become ``null`` (JSON
has no NaN), paths and dates become strings, and result objects are encoded by their ``to_dict()``.

CSV tables give floats to :data:`CSV_SIGNIFICANT_DIGITS` significant digits (and at least every digit
of their integer part), without an exponent: ``3972.7799999999997`` is written ``3972.78``. Only the
text is rounded; computations and JSON keep full precision (``frame.to_csv(path,
float_format=csv_number)``).
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


#: significant digits of a float in a CSV table: far above binary float noise (~1e-16 relative), far below
#: any measured precision
CSV_SIGNIFICANT_DIGITS = 10


def csv_number(x: float) -> str:
    """A float as a CSV table writes it (see the module docstring): ``0.1 + 0.2`` -> ``0.3``."""
    import numpy as np

    x = float(x)
    if x == 0 or not math.isfinite(x):
        return "0" if x == 0 else str(x)
    digits = max(CSV_SIGNIFICANT_DIGITS, int(math.floor(math.log10(abs(x)))) + 1)
    return np.format_float_positional(x, precision=digits, unique=True, fractional=False, trim="-")


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
