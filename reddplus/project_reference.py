"""The project configuration described from its own model, so that the words cannot drift from the code.

Everything here is read from :class:`reddplus.project.ProjectConfig` (its fields' types, defaults,
constraints and ``description=`` strings; a unit is the first ``[...]`` of a description):

* :func:`config_keys` lists every key of a project TOML as a :class:`KeyDoc`;
* :func:`config_reference` renders them as the Markdown reference ``docs/config.md``
  (``reddplus config-reference``), with what the periods mean, standard deviation against
  standard error, and the non-permanence (NPRT) questions with their allowed answers when
  :mod:`reddplus.accounting.nprt` provides ``answers_reference``;
* :func:`skeleton_toml` writes a commented project TOML in which every key says its meaning, unit,
  whether it is required and its default (``reddplus init``).

No file access: the caller writes the text.
"""

from __future__ import annotations

import datetime as dt
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Literal, Mapping, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

#: the placeholder of a value the user must give (it fails validation, naming the key, until replaced)
TODO = "TODO"

_UNIT = re.compile(r"\[([^\]]+)\]")


@dataclass(frozen=True)
class KeyDoc:
    """One key of a project TOML.

    Attributes
    ----------
    key : str
        Dotted key; ``[]`` marks an array of tables (``stocks.strata[].code``).
    type : str
        The TOML type as a reader would say it (``integer``, ``path``, ``[integer, integer]``,
        ``one of "a", "b"``...).
    unit : str or None
        The unit from the description (``yr``, ``ha``, ``t CO2e/ha``, ``-``), or None.
    required : bool
        The key must be given (inside its table, when the table is given).
    default : Any
        The default when the key is left out (``None``: no value; meaningless when ``required``).
    description : str
        The field's ``description=``; empty when the model has none.
    constraints : str
        Bounds and lengths (``>= 0, <= 100``), or empty.
    section : bool
        The key is a table of keys (``[areas]``) or an array of tables (``[[stocks.strata]]``).
    """

    key: str
    type: str
    unit: str | None
    required: bool
    default: Any
    description: str
    constraints: str = ""
    section: bool = False
    model: type[BaseModel] | None = None
    array: bool = False


# ------------------------------------------------------------------------------------------ the keys
def _strip_optional(ann: Any) -> tuple[Any, bool]:
    if get_origin(ann) in (typing.Union, types.UnionType):
        args = [a for a in get_args(ann) if a is not type(None)]
        if len(args) < len(get_args(ann)):
            return (args[0] if len(args) == 1 else typing.Union[tuple(args)]), True
    return ann, False


def _unannotated(ann: Any) -> Any:
    while get_origin(ann) is typing.Annotated:
        ann = get_args(ann)[0]
    return ann


def type_name(ann: Any) -> str:
    """A TOML reader's name for a field annotation (``list[int] | None`` -> ``list of integer``)."""
    ann = _unannotated(ann)
    ann, _ = _strip_optional(ann)
    ann = _unannotated(ann)
    origin = get_origin(ann)
    if origin is Literal:
        return "one of " + ", ".join(f'"{a}"' if isinstance(a, str) else str(a) for a in get_args(ann))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(type_name(a) for a in get_args(ann))
    if origin is tuple:
        return "[" + ", ".join(type_name(a) for a in get_args(ann)) + "]"
    if origin is list:
        return "list of " + type_name(get_args(ann)[0])
    if origin is dict:
        value = get_args(ann)[1]
        return "table" if value is Any else f"table of {type_name(value)}"
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return "table"
    names = {bool: "boolean", int: "integer", float: "number", str: "string", Path: "path",
             dt.date: "date (YYYY-MM-DD)", Any: "any"}
    return names.get(ann, getattr(ann, "__name__", str(ann)))


def _constraints(field) -> str:
    out = []
    for m in field.metadata:
        for attr, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            v = getattr(m, attr, None)
            if v is not None:
                out.append(f"{sym} {v:,}" if isinstance(v, int) and abs(v) >= 10_000 else f"{sym} {v}")
        if getattr(m, "min_length", None) is not None:
            out.append(f"at least {m.min_length} long")
        if getattr(m, "max_length", None) is not None:
            out.append(f"at most {m.max_length} long")
    return ", ".join(out)


def _model_of(ann: Any) -> tuple[type[BaseModel] | None, bool]:
    """The model of a nested table (and whether it is an array of tables)."""
    ann, _ = _strip_optional(_unannotated(ann))
    ann = _unannotated(ann)
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann, False
    if get_origin(ann) is list:
        item = _unannotated(get_args(ann)[0])
        if isinstance(item, type) and issubclass(item, BaseModel):
            return item, True
    return None, False


def _default(field) -> Any:
    if field.is_required():
        return PydanticUndefined
    value = field.get_default(call_default_factory=True)
    return value


def config_keys(model: type[BaseModel] | None = None, prefix: str = "") -> Iterator[KeyDoc]:
    """Every key of ``model`` (default :class:`~reddplus.project.ProjectConfig`), tables first then
    their keys, depth first, in the model's order; ``base_dir`` (set by the loader) is left out."""
    if model is None:
        from reddplus.project import ProjectConfig

        model = ProjectConfig
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        key = f"{prefix}{name}"
        sub, array = _model_of(field.annotation)
        desc = field.description or ""
        m = _UNIT.search(desc)
        doc = KeyDoc(key=key, type=type_name(field.annotation), unit=m.group(1) if m else None,
                     required=field.is_required(), default=_default(field), description=desc,
                     constraints=_constraints(field), section=sub is not None, model=sub, array=array)
        yield doc
        if sub is not None:
            yield from config_keys(sub, f"{key}[]." if array else f"{key}.")


def undocumented_keys(model: type[BaseModel] | None = None) -> list[str]:
    """Keys whose field has no ``description=`` (a test keeps this list empty)."""
    return [k.key for k in config_keys(model) if not k.description.strip()]


# ------------------------------------------------------------------------------------------ rendering
def _toml_value(value: Any) -> str:
    """One TOML value on one line (tables inline)."""
    import tomli_w

    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return tomli_w.dumps({"v": value}).split("=", 1)[1].strip()


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_value(key)


def default_text(doc: KeyDoc) -> str:
    """The default as a reader sees it: ``2000`` / ``"fcc123"`` / ``none`` / ``(required)``."""
    if doc.required:
        return "(required)"
    d = doc.default
    if d is None:
        return "none"
    if isinstance(d, BaseModel):
        return "(table defaults)"
    if isinstance(d, (list, dict)) and not d:
        return "empty"
    try:
        return _toml_value(d)
    except Exception:  # noqa: BLE001 - a default TOML cannot spell
        return str(d)


def _wrap(text: str, width: int = 100, lead: str = "# ") -> list[str]:
    import textwrap

    return textwrap.wrap(text, width=width - len(lead), initial_indent=lead, subsequent_indent=lead,
                         break_on_hyphens=False, break_long_words=False) or [lead.rstrip()]


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# Explanations the model's one-line descriptions cannot carry; the reference prints them as they are.
PERIODS_TEXT = """\
Two kinds of years appear in `[periods]` and `[project]`:

* **Map dates** (`historical_reference`, `calibration`, `confirmation`): years *of the forest-change
  maps* (`forest_change.dates`). A period `[2010, 2020]` is the deforestation between the map of
  2010 and the map of 2020, i.e. the losses of the years 2011 to 2020. Both ends must be dates of
  the forest-change input.
  * `historical_reference` (HRP, VM0048 / VT0007 section 4): the period whose deforestation sets the
    baseline rate; it must end no later than `project.crediting_start`.
  * `calibration` (CAL, VT0007 section 5): the period the risk map is fitted on. Left out, it is the
    HRP.
  * `confirmation` (CNF, VT0007 section 5): the period the fitted map is tested on (model
    assessment); it must follow the calibration. Left out, there is no confirmation and no
    assessment of the map's prediction.
* **Vintages** (`project.crediting_start`, `monitoring`): calendar years of credits. A monitoring
  period `[2021, 2024]` is the vintages 2021, 2022, 2023 and 2024, i.e. the deforestation between
  the maps of 2020 and 2024: the year before its first vintage and its last vintage must both be
  map dates.
"""

SD_TEXT = """\
`stocks.strata[].agb_tco2e_per_ha_sd` is the **standard error of the stratum mean** (SE), not the
standard deviation of the plots (SD). The uncertainty of the emission factor is the uncertainty of
a mean: SE = SD / sqrt(n) for n plots of a simple random sample. Give the SE that your previous
assessment reports, or compute it from its plots; entering the plots' SD overstates the uncertainty
deduction by about sqrt(n). The 90 % interval of the stock is mean +- 1.645 SE. With
`stocks.source = "inventory"` reddplus computes the stocks and their uncertainty from the trees
itself (Monte Carlo) and this key is not used.
"""


def _nprt_reference() -> dict | None:
    try:
        from reddplus.accounting import nprt
    except ImportError:  # pragma: no cover - accounting always ships with reddplus
        return None
    fn = getattr(nprt, "answers_reference", None)
    return fn() if fn is not None else None


def _nprt_markdown(ref: dict | None) -> list[str]:
    out = ["## Non-permanence risk: `[deductions.nprt]`", ""]
    if ref is None:
        from reddplus.accounting.nprt import load_tool

        tool = load_tool()
        out += [f"The answers to the VCS AFOLU Non-Permanence Risk Tool (v{tool.get('version', '?')}): the "
                "statements that apply, per risk category (see `reddplus/accounting/nprt.py`).", ""]
        out += ["| category | allowed statements |", "|---|---|"]
        for cat, spec in tool.items():
            if isinstance(spec, dict) and "statements" in spec:
                out.append(f"| `{cat}` | {', '.join(f'`{s}`' for s in spec['statements'])} |")
        out.append("")
        return out
    out += [f"The answers to the {ref['tool']} v{ref['version']}, one table per risk category and one key per "
            "question, in the tool's own wording. Each answer code is listed with its wording and its score "
            "(a score marked * could not be checked against the tool's text and is stated as an assumption "
            "in the results).", ""]
    for cat in ref["categories"]:
        out += [f"### `{cat['key']}`: {cat['wording']} ({cat['table']}, {cat['group']} risk)", ""]
        for q in cat["questions"]:
            req = "required" if q["required"] else "optional"
            head = f"**`{q['key'].rsplit('.', 1)[1]}`** ({q['q']}, {q['kind'].replace('_', ' ')}, {req})"
            out.append(f"{head}: {q['wording']}")
            if q.get("gate"):
                out.append(f"  Fails the tool if {q['fails_if']!r}: {q['gate']}.")
            if q.get("note"):
                out.append(f"  {q['note']}")
            if q.get("range"):
                lo, hi = q["range"]
                out.append(f"  Range: {lo} to {hi}.")
            out.append("")
            if q.get("answers"):
                out += ["| answer | wording | score |", "|---|---|---|"]
                for a in q["answers"]:
                    score = "" if a["score"] is None else f"{a['score']}{' *' if a['unverified'] else ''}"
                    letter = f"({a['letter']}) " if a.get("letter") else ""
                    out.append(f"| `{a['code']}` | {letter}{_md(a['wording'])} | {score} |")
                out.append("")
    nat = ref["natural"]
    out += [f"### `{nat['key']}`: natural risk ({nat['table']})", "", _md(nat.get("wording", "")), "",
            "One table per hazard, `{significance = ..., likelihood = ..., mitigation = ...}`"
            + (" (every hazard is required)." if nat.get("all_hazards_required") else "."), ""]
    for title, rows in (("hazard", nat["hazards"]), ("significance", nat["significance"]),
                        ("likelihood", nat["likelihood"]), ("mitigation", nat["mitigation"])):
        out += [f"| {title} | wording |", "|---|---|"]
        out += [f"| `{r['code']}` | {_md(r['wording'])}" + (f" (factor {r['factor']})" if "factor" in r else "") + " |"
                for r in rows]
        out.append("")
    ov = ref["overall"]
    out += [f"The buffer is the overall rating, at least {ov['minimum_buffer_percent']} %; an overall rating above "
            f"{ov['fail_above_percent']} % fails the tool.", ""]
    return out


def config_reference() -> str:
    """The Markdown reference of every project key (``docs/config.md``), generated from the model."""
    import reddplus

    keys = list(config_keys())
    lines = ["# Project configuration reference", "",
             "<!-- generated by `reddplus config-reference --out docs/config.md` from reddplus.project.ProjectConfig;"
             " do not edit by hand (tests/docs checks that it is current) -->", "",
             f"A project is one TOML file, validated by `reddplus.project.ProjectConfig` (reddplus "
             f"{reddplus.__version__}). Unknown keys are errors; relative paths are read from the TOML file's folder. "
             "`reddplus init DIR` writes a commented skeleton of this file. Units are in brackets; `-` is "
             "dimensionless.", "",
             "## Periods: map dates and vintages", "", PERIODS_TEXT,
             "## Stocks: standard error, not standard deviation", "", SD_TEXT]
    tables = [k for k in keys if k.section] 
    root = [k for k in keys if "." not in k.key and not k.section]
    groups: list[tuple[str, str, list[KeyDoc]]] = []
    if root:
        groups.append(("top-level keys", "", root))
    for t in tables:
        parent = t.key + ("[]." if t.array else ".")
        members = [k for k in keys if k.key.startswith(parent) and "." not in k.key[len(parent):].replace("[]", "")
                   and not k.section]
        name = f"[[{t.key.replace('[]', '')}]]" if t.array else f"[{t.key.replace('[]', '')}]"
        doc = (t.model.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ") if t.model else ""
        groups.append((name, f"{t.description} {doc}".strip() if doc and doc not in t.description else t.description,
                       members))
    for name, intro, members in groups:
        lines += [f"## `{name}`", ""]
        if intro:
            lines += [intro, ""]
        if not members:
            continue
        lines += ["| key | type | unit | required | default | meaning |", "|---|---|---|---|---|---|"]
        for k in members:
            short = k.key.rsplit(".", 1)[-1]
            typ = k.type + (f" ({k.constraints})" if k.constraints else "")
            lines.append(f"| `{short}` | {_md(typ)} | {_md(k.unit or '')} | {'yes' if k.required else 'no'} | "
                         f"{_md(default_text(k))} | {_md(k.description)} |")
        lines.append("")
    lines += _nprt_markdown(_nprt_reference())
    return "\n".join(lines).rstrip() + "\n"


# ------------------------------------------------------------------------------------------ the skeleton
def _key_comment(k: KeyDoc) -> list[str]:
    need = "required" if k.required else f"optional, default {default_text(k)}"
    typ = k.type + (f", {k.constraints}" if k.constraints else "")
    unit = f" [{k.unit}]" if k.unit and f"[{k.unit}]" not in k.description else ""
    text = f"{k.description or k.key}{unit} ({typ}; {need})"
    return _wrap(text)


def skeleton_toml(values: Mapping[str, Any] | None = None, notes: Mapping[str, str] | None = None,
                  *, tables: Mapping[str, str] | None = None, header: str = "") -> str:
    """A commented project TOML generated from :class:`~reddplus.project.ProjectConfig`.

    Every key is preceded by its description, unit, type, constraints and whether it is required
    (else its default). Keys in ``values`` are written as given (``TODO`` marks a value the user must
    give); required keys without a value are written as ``TODO``; optional keys are commented out
    at their default. An array of tables (``stocks.strata``) is written from ``values`` (a list of
    tables) or left as a commented example.

    Parameters
    ----------
    values : mapping of dotted key -> value
        What is known (``{"forest_change.path": "fcc123.tif", "stocks.strata": [{...}]}``).
    notes : mapping of dotted key -> str
        An extra comment per key (``"read from fcc123.tif: ..."``) or per table (``"areas"``).
    tables : mapping of dotted key -> str
        Free-form tables (``deductions.nprt``) as TOML text written by the caller; they go at the end
        of the file (a sub-table may follow any other table) and their key's line says so.
    header : str
        Text (already commented) before everything else.
    """
    values = dict(values or {})
    notes = dict(notes or {})
    tables = dict(tables or {})
    keys = list(config_keys())

    def members(prefix: str) -> list[KeyDoc]:
        return [k for k in keys if k.key.startswith(prefix) and not k.section
                and "." not in k.key[len(prefix):].replace("[]", "")]

    def body(prefix: str, given: Mapping[str, Any] | None, comment_out: bool = False) -> list[str]:
        lines: list[str] = []
        for k in members(prefix):
            short = k.key[len(prefix):]
            dotted = k.key.replace("[]", "")
            lines += _key_comment(k)
            if dotted in notes:
                lines += _wrap(notes[dotted])
            if dotted in tables:
                lines.append(f"# (given in the [{dotted}] tables at the end of this file)")
                continue
            if given is not None and short in given:
                line = f"{short} = {_toml_value(given[short])}"
            elif k.required:
                line = f'{short} = "{TODO}"'
            elif k.default is None:
                line = f"# {short} ="
            else:
                line = f"# {short} = {_toml_value(k.default)}"
            lines.append(f"# {line}" if comment_out and not line.startswith("#") else line)
        return lines

    def given_under(prefix: str) -> dict[str, Any]:
        return {k[len(prefix):]: v for k, v in values.items() if k.startswith(prefix) and "." not in k[len(prefix):]}

    out: list[str] = [header.rstrip("\n"), ""] if header else []
    out += body("", given_under(""))
    for t in [k for k in keys if k.section]:
        name = t.key.replace("[]", "")
        need = "required" if t.required else "optional"
        if t.array:
            items = values.get(name)
            out += ["", *_wrap(f"[[{name}]]: {t.description} ({need}; one block per item)")]
            if name in notes:
                out += _wrap(notes[name])
            if items:
                for item in items:
                    out += [f"[[{name}]]", *body(t.key + "[].", item)]
            else:
                out += [f"# [[{name}]]", *body(t.key + "[].", None, comment_out=True)]
            continue
        if "[]" in t.key:
            continue  # a table inside an array of tables: none in the model today
        out += ["", *_wrap(f"[{name}]: {t.description} ({need})")]
        if name in notes:
            out += _wrap(notes[name])
        out += [f"[{name}]", *body(t.key + ".", given_under(t.key + "."))]
    for name, text in tables.items():
        out += ["", text.rstrip("\n")]
    return "\n".join(out).lstrip("\n") + "\n"
