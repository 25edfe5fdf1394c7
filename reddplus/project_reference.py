"""The project configuration described from its own model, so that the words cannot drift from the code.

Everything here is read from :class:`reddplus.project.ProjectConfig` (its fields' types, defaults,
constraints and ``description=`` strings; a unit is the first ``[...]`` of a description):

* :func:`config_keys` lists every key of a project TOML as a :class:`KeyDoc`;
* :func:`config_reference` renders them as the Markdown reference ``docs/config.md``
  (``reddplus config-reference``), with what the periods mean, standard deviation against
  standard error, and the non-permanence (NPRT) questions with their allowed answers
  (:func:`reddplus.accounting.nprt.answers_reference`);
* :func:`skeleton_toml` writes a commented project TOML in which every key says its meaning, unit,
  whether it is required and its default;
* :func:`init_project` (a tool: it reads the rasters and writes the files) is ``reddplus init``.
"""

from __future__ import annotations

import datetime as dt
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Literal, Mapping, Sequence, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

#: the placeholder of a value the user must give (it fails validation, naming the key, until replaced)
TODO = "TODO"

_UNIT = re.compile(r"\[([^\[\],]+)\]")


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
        The unit from the description: its last ``[...]`` without a comma (``yr``, ``ha``,
        ``t CO2e/ha``, ``-``), or None.
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
    model : pydantic model class or None
        The model of a table's keys.
    array : bool
        The table is an array of tables.
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
        units = _UNIT.findall(desc)
        doc = KeyDoc(key=key, type=type_name(field.annotation), unit=units[-1] if units else None,
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


def _sentence(text: str) -> str:
    text = text.strip().rstrip(".")
    return f"{text[:1].upper()}{text[1:]}." if text else ""


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
    assessment), usually the one after the calibration. Left out, there is no confirmation and no
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
assessment reports, or compute it from its plots; entering the plots' SD instead overstates the
uncertainty of the stock by a factor of about sqrt(n). The 90 % interval of the stock is mean +- 1.645 SE. With
`stocks.source = "inventory"` reddplus computes the stocks and their uncertainty from the trees
itself (Monte Carlo) and this key is not used.
"""


def _nprt_reference() -> dict:
    from reddplus.accounting.nprt import answers_reference

    return answers_reference()


_KINDS = {"yes_no": "true or false", "any_of": "a list of the answers that apply", "one_of": "one answer",
          "number": "a number", "governance_score": "a number (World Bank WGI)"}


def _nprt_markdown(ref: dict) -> list[str]:
    out = ["## Non-permanence risk: `[deductions.nprt]`", ""]
    out += [f"The answers to the {ref['tool']} v{ref['version']}, one table per risk category and one key per "
            "question, in the tool's own wording. Each answer code is listed with its wording and its score "
            "(a score marked * could not be checked against the tool's text and is stated as an assumption "
            "in the results).", ""]
    for cat in ref["categories"]:
        out += [f"### `{cat['key']}`: {cat['wording']} ({cat['table']}, {cat['group']} risk)", ""]
        for q in cat["questions"]:
            req = "required" if q["required"] else "optional"
            kind = _KINDS.get(q["kind"], q["kind"].replace("_", " "))
            head = f"**`{q['key'].rsplit('.', 1)[1]}`** ({q['q']}; {kind}; {req})"
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
        intro = _sentence(t.description) + (f" {doc}" if doc and doc not in t.description else "")
        groups.append((name, intro, members))
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
    """``meaning [unit]. Type, bounds. Required.`` / ``... Optional, default X.``"""
    need = "Required." if k.required else f"Optional, default {default_text(k)}."
    typ = k.type + (f", {k.constraints}" if k.constraints else "")
    unit = f" [{k.unit}]" if k.unit and f"[{k.unit}]" not in k.description else ""
    desc = (k.description or k.key).rstrip(".")
    return _wrap(f"{desc[:1].upper()}{desc[1:]}{unit}. {typ[:1].upper()}{typ[1:]}. {need}")


def nprt_skeleton() -> str:
    """The ``[deductions.nprt]`` tables of a skeleton: every question of the tool with its wording and
    allowed answers (:func:`reddplus.accounting.nprt.answers_reference`), each answered ``TODO``."""
    ref = _nprt_reference()
    out = ["# ---------------------------------------------------------------------------------------------",
           "# [deductions.nprt]: the answers to the VCS AFOLU Non-Permanence Risk Tool (required by a run: they",
           "# set the buffer). Replace every TODO; docs/config.md lists every question and answer."]
    out += _wrap(f"{ref['tool']} v{ref['version']}. Each question is in the tool's wording; the allowed answers "
                 "follow it.")
    for cat in ref["categories"]:
        out += ["", *_wrap(f"{cat['wording']} ({cat['table']}, {cat['group']} risk)"), f"[{cat['key']}]"]
        for q in cat["questions"]:
            short = q["key"].rsplit(".", 1)[1]
            out += _wrap(f"{q['q']}. {q['wording']}")
            kind = q["kind"]
            if kind == "yes_no":
                out.append("#   true or false")
            elif kind == "any_of":
                out.append("#   a list of those that apply ([] if none):")
            elif kind == "one_of":
                out.append("#   one of:")
            elif q.get("range"):
                out.append(f"#   a number from {q['range'][0]} to {q['range'][1]}")
            if kind in ("any_of", "one_of"):
                for a in q["answers"]:
                    out += _wrap(f'"{a["code"]}": {a["wording"]}', lead="#     ")
            if q.get("gate"):
                out += _wrap(f"fails the tool if {str(q['fails_if']).lower()}: {q['gate']}", lead="#   ")
            if q["required"]:
                out.append(f'{short} = "{TODO}"')
            else:
                out.append(f"# {short} =")
    nat = ref["natural"]
    out += ["", *_wrap(f"Natural risk ({nat['table']}): one table per hazard, "
                       + ("every hazard required. " if nat.get("all_hazards_required") else "")
                       + "significance: " + ", ".join(f'"{r["code"]}"' for r in nat["significance"])
                       + "; likelihood: " + ", ".join(f'"{r["code"]}"' for r in nat["likelihood"])
                       + "; mitigation: " + ", ".join(f'"{r["code"]}"' for r in nat["mitigation"]))]
    for h in nat["hazards"]:
        out += [*_wrap(h["wording"]), f"[{nat['key']}.{h['code']}]", f'significance = "{TODO}"',
                f'likelihood = "{TODO}"', "# mitigation ="]
    return "\n".join(out) + "\n"


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
                lines.append(f"# {short} = (given in the [{dotted}] tables at the end of this file)")
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
    commented: set[str] = set()
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
        given = given_under(t.key + ".")
        # an optional table without a default (and not given) stays a comment, as do the tables inside it
        if (not t.required and t.default is None and not given) or name.rsplit(".", 1)[0] in commented:
            commented.add(name)
        out += ["", *_wrap(f"[{name}]: {t.description} ({need})")]
        if name in notes:
            out += _wrap(notes[name])
        if name in commented:
            out += [f"# [{name}]", *body(t.key + ".", None, comment_out=True)]
        else:
            out += [f"[{name}]", *body(t.key + ".", given)]
    for name, text in tables.items():
        out += ["", text.rstrip("\n")]
    return "\n".join(out).lstrip("\n") + "\n"


# ------------------------------------------------------------------------------------------ the init tool
@dataclass(frozen=True)
class InitResult:
    """What :func:`init_project` wrote.

    Attributes
    ----------
    directory : Path
    project_toml, readme : Path
    todo : tuple of str
        Dotted keys the user must still give (``TODO`` in the TOML), NPRT answers last.
    notes : tuple of str
        What was read from the rasters, and any problem found with them (a CRS that is not
        projected in metres...).
    """

    directory: Path
    project_toml: Path
    readme: Path
    todo: tuple[str, ...]
    notes: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"directory": str(self.directory), "project_toml": str(self.project_toml),
                "readme": str(self.readme), "todo": list(self.todo), "notes": list(self.notes)}


def _rel(path: Path, base: Path) -> str:
    import os

    try:
        return os.path.relpath(path.resolve(), base.resolve())
    except ValueError:  # another drive (Windows)
        return str(path.resolve())


def init_values(rasters: list[Path], fmt: str | None, base: Path) -> tuple[dict, dict, list[str]]:
    """The skeleton's known values and notes from the forest-change rasters (see :func:`init_project`)."""
    from reddplus.errors import ReddplusError
    from reddplus.landcover.overview import forest_change_dates
    from reddplus.raster import check_projected_metres, read_grid

    values: dict[str, Any] = {}
    notes: dict[str, str] = {}
    said: list[str] = []
    if not rasters:
        return values, notes, said
    fmt = fmt or "fcc123"
    values["forest_change.format"] = fmt
    if fmt == "hansen" and len(rasters) >= 2:
        values["forest_change.treecover"] = _rel(rasters[0], base)
        values["forest_change.path"] = _rel(rasters[1], base)
        if len(rasters) > 2:
            values["forest_change.datamask"] = _rel(rasters[2], base)
    else:
        values["forest_change.path"] = _rel(rasters[0], base)
        if fmt == "masks" and len(rasters) > 1:
            values["forest_change.more_paths"] = [_rel(p, base) for p in rasters[1:]]
    if fmt == "hansen" and len(rasters) == 1:
        notes["forest_change.treecover"] = "TODO: the treecover2000 raster of the same tile (on the lossyear's grid)"
        values["forest_change.treecover"] = TODO
    import warnings

    from reddplus.raster import open_raster

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            grid = read_grid(rasters[0])
            check_projected_metres(grid.crs, source=rasters[0].name)
            crs_ok = True
        except ReddplusError as err:   # CRSError: said in the README, the skeleton is still written
            crs_ok = False
            said.append(f"{err}. A run needs a projected CRS in metres (an equal-area one is best): reproject the "
                        "raster (nearest neighbour) and point forest_change.path at the copy")
    with open_raster(rasters[0]) as ds:
        width, height, res, crs = ds.width, ds.height, abs(ds.transform.a), ds.crs
    crs_name = crs.to_string() if crs is not None else "no CRS"
    grid_note = (f"{rasters[0].name}: {width} x {height} pixels of {res:g} "
                 + (f"m ({grid.pixel_area_ha:g} ha)" if crs_ok else "CRS units") + f", CRS {crs_name}")
    said.insert(0, grid_note)
    said += list(dict.fromkeys(str(w.message) for w in caught))
    found = forest_change_dates([str(p) for p in (rasters if fmt != "hansen" or len(rasters) < 2 else rasters[1:2])],
                                fmt)
    said.append(found.note)
    if found.dates is not None:
        values["forest_change.dates"] = list(found.dates)
        notes["forest_change.dates"] = found.note
        dates = ", ".join(map(str, found.dates)) if len(found.dates) <= 6 else \
            f"{found.dates[0]}, {found.dates[1]}, ..., {found.dates[-1]}"
        notes["periods.historical_reference"] = f"The map dates of the forest change are {dates}."
    else:
        n = f"the {found.n_dates} " if found.n_dates else "the "
        values["forest_change.dates"] = TODO
        notes["forest_change.dates"] = (f"TODO: {found.note}. Give {n}years of the maps, e.g. "
                                        + ("[2000, 2010, 2020]" if fmt == "fcc123" else "[2000, 2001, ...]")
                                        + "; reddplus will not guess them.")
    return values, notes, said


def init_project(directory: str | Path, rasters: Sequence[str | Path] = (), fmt: str | None = None, *,
                 overwrite: bool = False) -> InitResult:
    """Write a commented skeleton project (``project.toml`` and a ``README.md`` of next steps) into ``directory``.

    The TOML is :func:`skeleton_toml`: every key with its meaning, unit, type, whether it is required
    and its default; what the user must give is ``TODO`` (it fails validation, naming the key, until
    given). With ``rasters`` (the forest-change input as ``reddplus activity`` takes it: fcc123 one
    raster; hansen the lossyear, or treecover2000, lossyear[, datamask]; tmf one raster with a band per
    year or one per year; masks one per date), the paths, the format and the dates that the files
    record are filled in (:func:`reddplus.landcover.overview.forest_change_dates`); dates that are
    not recorded (fcc123) are a ``TODO``.

    Raises
    ------
    OutputExistsError
        ``directory`` exists and is not empty, without ``overwrite``.
    InputDataError
        A raster that cannot be read.
    """
    from reddplus.errors import InputDataError, OutputExistsError
    from reddplus.raster import atomic_path

    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise OutputExistsError(f"{directory} exists and is not a folder")
    if directory.is_dir() and any(directory.iterdir()) and not overwrite:
        raise OutputExistsError(f"{directory} exists and is not empty; pass --overwrite to write the skeleton "
                                "into it (project.toml and README.md are replaced)")
    raster_paths = [Path(p) for p in rasters]
    for p in raster_paths:
        if not p.is_file():
            raise InputDataError("forest-change raster not found", path=str(p))
    directory.mkdir(parents=True, exist_ok=True)
    values, notes, said = init_values(raster_paths, fmt, directory)
    stocks = [{"code": 1, "name": TODO, "agb_tco2e_per_ha": TODO, "agb_tco2e_per_ha_sd": TODO}]
    values["stocks.source"] = "strata"
    values["stocks.strata"] = stocks
    notes["stocks.strata"] = ("One stratum from a previous assessment (the simplest start): its mean above-ground "
                              "stock and the standard error of that mean. For a tree inventory instead, set "
                              "source = \"inventory\" and inventory, plot_areas (see docs/config.md); with several "
                              "strata, add areas.strata (a raster of the codes) and one block per stratum.")
    header = "\n".join([
        "# A reddplus project, written by `reddplus init` from reddplus.project.ProjectConfig.",
        "# Each key is preceded by its meaning, [unit], type and bounds, and Required or Optional with its default.",
        "# Optional keys are commented out at their default: remove the leading '# ' to change one.",
        '# Replace every "TODO" (README.md lists them), then: reddplus run project.toml --out run1',
        "# The full reference: docs/config.md, or `reddplus config-reference`.",
        *(["#", *_wrap("From the rasters: " + "; ".join(said))] if said else []),
    ])
    text = skeleton_toml(values, notes, tables={"deductions.nprt": nprt_skeleton()}, header=header)
    todo = _todo_keys(text)
    toml_path = directory / "project.toml"
    readme = directory / "README.md"
    with atomic_path(toml_path, overwrite=True, suffix=".toml") as tmp:
        tmp.write_text(text, encoding="utf-8")
    with atomic_path(readme, overwrite=True, suffix=".md") as tmp:
        tmp.write_text(next_steps(todo, said), encoding="utf-8")
    return InitResult(directory, toml_path, readme, tuple(todo), tuple(said))


def _todo_keys(text: str) -> list[str]:
    """Dotted keys whose value in a skeleton is still ``TODO`` (in file order)."""
    import tomllib

    out: list[str] = []

    def walk(obj: Any, prefix: str) -> None:
        if isinstance(obj, dict):
            for k, v in obj.items():
                walk(v, f"{prefix}.{k}" if prefix else k)
        elif isinstance(obj, list):
            for i, v in enumerate(obj):
                walk(v, f"{prefix}[{i}]")
        elif obj == TODO:
            out.append(prefix)

    walk(tomllib.loads(text), "")
    return out


def next_steps(todo: Sequence[str], notes: Sequence[str] = ()) -> str:
    """The README.md of a new project: what to give, how to run it, where the meanings are."""
    docs = {k.key.replace("[]", ""): k for k in config_keys()}

    def meaning(key: str) -> str:
        k = docs.get(re.sub(r"\[\d+\]", "", key))
        return f": {k.description}" if k is not None and k.description else ""

    cfg = [k for k in todo if not k.startswith("deductions.nprt")]
    nprt = [k for k in todo if k.startswith("deductions.nprt")]
    lines = ["# Next steps", "",
             "This folder was written by `reddplus init`. `project.toml` is a commented skeleton: each key says "
             "what it means, its unit, whether it is required and its default.", ""]
    if notes:
        lines += ["## What was read from the rasters", "", *[f"- {n}" for n in notes], ""]
    lines += ["## 1. Give what is marked TODO in project.toml", ""]
    lines += [f"- `{k}`{meaning(k)}" for k in cfg]
    lines += ["", "Paths may be relative to this folder. Vector files may be in any CRS (they are reprojected onto "
              "the forest-change grid); the forest-change raster must be in a projected CRS in metres.", ""]
    if nprt:
        lines += ["## 2. Answer the non-permanence risk questions", "",
                  f"The `[deductions.nprt]` tables at the end of project.toml hold the {len(nprt)} answers of the VCS "
                  "AFOLU Non-Permanence Risk Tool, each question in the tool's wording with its allowed answers "
                  "(docs/config.md lists them too). They set the buffer.", ""]
    lines += ["## 3. Run, then look at the results", "",
              "```bash",
              "reddplus run project.toml --out run1     # report.html, rasters, tables, manifest.json",
              "reddplus view run1                       # the report and an interactive map in your browser",
              "```", "",
              "A key that is still TODO, a missing file or a wrong value stops the run at once with a message that "
              "names the key. Keys left commented out take the default written beside them (docs/config.md, or "
              "`reddplus config-reference`, explains every key).", ""]
    return "\n".join(lines)
