"""Verra registry exports in and out: ``projects.csv`` and ``transactions.csv`` as the Verra
registry (registry.verra.org, "VCUs" and "Projects" search exports) writes them.

Verra VCU serial numbers have thirteen dash-separated fields (Verra Registry, serial number help
page; e.g. ``19385-941467007-941467431-VCS-VCU-1507-VER-ET-14-1340-01012020-31122020-1``):

==============  ================================================  ===============
field           meaning                                           pattern
==============  ================================================  ===============
batch           issuance batch number                             ``[0-9]+``
first, last     first and last serial of the block (inclusive)    ``[0-9]+``
program         ``VCS``
unit            ``VCU``
registry code   Verra's internal number (opaque here)             ``[0-9]+``
``VER``         verified emission reduction
country         ISO 3166-1 alpha-2                                ``[A-Z]{2}``
scope           sectoral scope (14 = AFOLU)                       ``[0-9]+``
project         Verra project ID                                  ``[0-9]+``
vintage start   ``DDMMYYYY``
vintage end     ``DDMMYYYY``
flag            additional-certification flag                     ``[0-9]``
==============  ================================================  ===============

Each transactions row is one block: its serial range, its vintage, and, when the
"Retirement/Cancellation Date" is set, its retirement (the export does not tell retirements from
cancellations; such rows are recorded as retirements with the beneficiary and reason given, which
may be empty). Rows are checked (serial fields against the row, quantity = last - first + 1, no
overlap), and rejected rows are reported by their row number (the header is row 1).

Export rebuilds every column from the registry's records; only what the registry does not model
(the serial's opaque fields, SDGs, project type, the export's spelling of the country) comes from
the import's attributes, so an import followed by an export gives the same bytes.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from reddplus.errors import OutputExistsError
from reddplus.registry.domain import OPERATOR
from reddplus.registry.errors import ImportFormatError, MalformedSerialError
from reddplus.registry.serials import check_range_and_vintage

PROJECT_COLUMNS = ["ID", "Name", "Proponent", "Project Type", "AFOLU Activities", "Methodology", "Status",
                   "Country/Area", "Estimated Annual Emission Reductions", "Region", "Project Registration Date",
                   "Crediting Period Start Date", "Crediting Period End Date"]
TRANSACTION_COLUMNS = ["Issuance Date", "Sustainable Development Goals", "Vintage Start", "Vintage End", "ID", "Name",
                       "Country/Area", "Project Type", "Methodology", "Total Vintage Quantity", "Quantity Issued",
                       "Serial Number", "Additional Certifications", "Retirement/Cancellation Date",
                       "Retirement Beneficiary", "Retirement Reason", "Retirement Details"]
SERIAL_RE = re.compile(r"^(?P<batch>[0-9]+)-(?P<first>[0-9]+)-(?P<last>[0-9]+)-(?P<program>VCS)-(?P<unit>VCU)-"
                       r"(?P<code>[0-9]+)-VER-(?P<country>[A-Z]{2})-(?P<scope>[0-9]+)-(?P<project>[0-9]+)-"
                       r"(?P<vstart>[0-9]{8})-(?P<vend>[0-9]{8})-(?P<flag>[0-9])$")
SOURCE = "verra"


@dataclass(frozen=True)
class VerraSerial:
    """A parsed Verra VCU serial (fields in the module docstring)."""

    batch: int
    first: int
    last: int
    code: str
    country: str
    scope: str
    project: str
    vintage_start: dt.date
    vintage_end: dt.date
    flag: str

    @property
    def quantity(self) -> int:
        return self.last - self.first + 1

    def __str__(self) -> str:
        return (f"{self.batch}-{self.first}-{self.last}-VCS-VCU-{self.code}-VER-{self.country}-{self.scope}-"
                f"{self.project}-{self.vintage_start:%d%m%Y}-{self.vintage_end:%d%m%Y}-{self.flag}")


def parse_verra_serial(text: str) -> VerraSerial:
    """Parse and check a Verra serial; ``ValueError`` says which field is wrong."""
    m = SERIAL_RE.match(text.strip())
    if m is None:
        raise ValueError(f"malformed Verra serial {text!r}: expected BATCH-FIRST-LAST-VCS-VCU-CODE-VER-CC-SCOPE-"
                         "PROJECT-DDMMYYYY-DDMMYYYY-FLAG")
    g = m.groupdict()
    try:
        first, last, vs, ve = check_range_and_vintage(text, g["first"], g["last"], g["vstart"], g["vend"])
    except MalformedSerialError as err:
        raise ValueError(str(err).replace("malformed serial", "malformed Verra serial")) from err
    return VerraSerial(int(g["batch"]), first, last, g["code"], g["country"], g["scope"], g["project"], vs, ve,
                       g["flag"])


def _int(text: str) -> int | None:
    """Verra's integers: ``"1,454,054"`` -> 1454054; empty -> None."""
    t = text.strip()
    if not t:
        return None
    if not re.fullmatch(r"[0-9]{1,3}(,[0-9]{3})*|[0-9]+", t):
        raise ValueError(f"not an integer: {text!r}")
    return int(t.replace(",", ""))


def _fmt_int(n: int | None) -> str:
    return "" if n is None else f"{n:,}"


def _date(text: str) -> dt.date | None:
    t = text.strip()
    return dt.date.fromisoformat(t) if t else None


#: names Verra writes that pycountry's current list spells otherwise
COUNTRY_ALIASES = {"Turkey": "TR", "Republic of Korea": "KR", "Korea, Republic of": "KR", "Democratic Republic of the Congo": "CD",
                   "Congo, The Democratic Republic of The": "CD", "Lao People's Democratic Republic": "LA",
                   "Cote d'Ivoire": "CI", "Côte d'Ivoire": "CI", "Bolivia": "BO", "Tanzania": "TZ"}


def country_code(name: str) -> str:
    """ISO 3166-1 alpha-2 code of a country name as Verra writes it (aliases, pycountry lookup, fuzzy search)."""
    import pycountry

    if name.strip() in COUNTRY_ALIASES:
        return COUNTRY_ALIASES[name.strip()]
    try:
        return pycountry.countries.lookup(name).alpha_2
    except LookupError:
        pass
    try:
        found = pycountry.countries.search_fuzzy(name)
    except LookupError as err:
        raise ValueError(f"unknown country {name!r}") from err
    return found[0].alpha_2


def country_name(code: str) -> str:
    import pycountry

    c = pycountry.countries.get(alpha_2=code)
    return getattr(c, "common_name", None) or (c.name if c else code)


def _read(path: Path, expected: list[str], what: str) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header != expected:
            raise ImportFormatError(f"{path}: not a Verra {what} export; expected the columns "
                                    f"{', '.join(expected)}; found {', '.join(header or [])}")
        return [dict(zip(expected, row)) | {"_row": str(i), "_width": str(len(row))}
                for i, row in enumerate(reader, start=2)]


@dataclass
class ImportReport:
    """What an import did: created and unchanged records, rejected rows (row number, reason),
    notes, and the reconciliation per (project, vintage)."""

    created_projects: int = 0
    unchanged_projects: int = 0
    created_issuances: int = 0
    unchanged_issuances: int = 0
    rejected: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reconciliation: list[dict] = field(default_factory=list)

    @property
    def reconciled(self) -> bool:
        return all(r["ok"] for r in self.reconciliation)

    def to_dict(self) -> dict:
        return {"created_projects": self.created_projects, "unchanged_projects": self.unchanged_projects,
                "created_issuances": self.created_issuances, "unchanged_issuances": self.unchanged_issuances,
                "rejected": self.rejected, "notes": self.notes, "reconciled": self.reconciled,
                "reconciliation": self.reconciliation}

    def summary(self) -> str:
        lines = [f"projects: {self.created_projects} created, {self.unchanged_projects} unchanged",
                 f"issuances: {self.created_issuances} created, {self.unchanged_issuances} unchanged",
                 f"reconciliation per project and vintage: {sum(r['ok'] for r in self.reconciliation)}/"
                 f"{len(self.reconciliation)} equal to the files"]
        lines += [f"rejected {r['file']} row {r['row']}: {r['reason']}" for r in self.rejected]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def _project_record(r: dict[str, str]) -> dict:
    """A projects.csv row as :meth:`RegistryService.create_project` arguments (and what export needs back)."""
    code = country_code(r["Country/Area"]) if r["Country/Area"].strip() else "XX"
    rec = {"key": r["ID"], "name": r["Name"], "country": code, "external_id": r["ID"], "proponent": r["Proponent"] or None,
           "standard": "VCS", "methodology": r["Methodology"] or None, "status": r["Status"] or None,
           "crediting_period_start": _date(r["Crediting Period Start Date"]),
           "crediting_period_end": _date(r["Crediting Period End Date"]),
           "estimated_annual_ers": _int(r["Estimated Annual Emission Reductions"]), "labels": []}
    attrs = {"source": SOURCE, "file": "projects", "row": int(r["_row"]),
             "fields": {k: r[k] for k in ("Project Type", "AFOLU Activities", "Region", "Project Registration Date")}}
    rebuilt = _project_row(rec, attrs)
    attrs["raw"] = {k: r[k] for k in PROJECT_COLUMNS if rebuilt[k] != r[k]}
    rec["attributes"] = attrs
    return rec


def _project_row(p: dict, attrs: dict) -> dict[str, str]:
    """A projects.csv row rebuilt from a project record (``p`` as stored or as planned)."""
    def d(v):
        return "" if v is None else (v if isinstance(v, str) else v.isoformat())
    row = {"ID": p.get("external_id") or "", "Name": p["name"], "Proponent": p.get("proponent") or "",
           "Methodology": p.get("methodology") or "", "Status": p.get("status") or "",
           "Country/Area": country_name(p["country"]) if p["country"] != "XX" else "",
           "Estimated Annual Emission Reductions": _fmt_int(p.get("estimated_annual_ers")),
           "Crediting Period Start Date": d(p.get("crediting_period_start")),
           "Crediting Period End Date": d(p.get("crediting_period_end"))} | attrs.get("fields", {})
    row |= attrs.get("raw", {})
    return {k: row.get(k, "") for k in PROJECT_COLUMNS}


def _transaction_plan(r: dict[str, str]) -> tuple[VerraSerial, dict]:
    """Check one transactions row; the issuance it becomes (``ValueError`` names what is wrong)."""
    if r["_width"] != str(len(TRANSACTION_COLUMNS)):
        raise ValueError(f"{r['_width']} fields, expected {len(TRANSACTION_COLUMNS)}")
    sr = parse_verra_serial(r["Serial Number"])
    qty = _int(r["Quantity Issued"])
    if qty != sr.quantity:
        raise ValueError(f"Quantity Issued {r['Quantity Issued']} disagrees with the serial range "
                         f"{sr.first}..{sr.last} ({sr.quantity:,} credits)")
    if sr.project != r["ID"].strip():
        raise ValueError(f"serial names project {sr.project}, the row project {r['ID']}")
    if (sr.vintage_start, sr.vintage_end) != (_date(r["Vintage Start"]), _date(r["Vintage End"])):
        raise ValueError("serial vintage differs from Vintage Start/End")
    row_country = country_code(r["Country/Area"]) if r["Country/Area"].strip() else sr.country
    total = _int(r["Total Vintage Quantity"])
    retired_on = _date(r["Retirement/Cancellation Date"])
    _date(r["Issuance Date"])
    attrs = {"source": SOURCE, "file": "transactions", "row": int(r["_row"]), "batch": sr.batch, "code": sr.code,
             "scope": sr.scope, "flag": sr.flag, "project": sr.project,
             "fields": {k: r[k] for k in ("Issuance Date", "Sustainable Development Goals", "Project Type",
                                          "Additional Certifications")},
             "total_vintage_quantity": total}
    if row_country != sr.country:   # grouped projects: the credits' country (serial) is not the project's
        attrs["country"] = sr.country
    it = {"project_key": r["ID"].strip(), "vintage_start": sr.vintage_start, "vintage_end": sr.vintage_end,
          "serial_start": sr.first, "serial_end": sr.last, "labels": [], "attributes": attrs,
          "retirement": None if retired_on is None else {
              "beneficiary": r["Retirement Beneficiary"], "reason": r["Retirement Reason"],
              "details": r["Retirement Details"] or None, "retired_at": retired_on.isoformat(),
              "certificate_number": f"VCS-{sr.batch}-{sr.first}"[:40]}}
    return sr, it


def _transaction_row(i: dict, prj: dict, attrs: dict, ret: dict | None) -> dict[str, str]:
    """A transactions.csv row rebuilt from the registry's issuance, project and retirement records."""
    vs, ve = dt.date.fromisoformat(i["vintage_start"]), dt.date.fromisoformat(i["vintage_end"])
    serial = VerraSerial(attrs["batch"], i["serial_start"], i["serial_end"], attrs["code"],
                         attrs.get("country", prj["country"]),
                         attrs["scope"], attrs["project"], vs, ve, attrs["flag"])
    row = {"Vintage Start": vs.isoformat(), "Vintage End": ve.isoformat(), "ID": prj.get("external_id") or "",
           "Name": prj["name"], "Country/Area": country_name(prj["country"]) if prj["country"] != "XX" else "",
           "Methodology": prj.get("methodology") or "",
           "Total Vintage Quantity": _fmt_int(attrs.get("total_vintage_quantity")),
           "Quantity Issued": _fmt_int(i["quantity"]), "Serial Number": str(serial),
           "Retirement/Cancellation Date": ret["retired_at"][:10] if ret else "",
           "Retirement Beneficiary": ret["beneficiary"] if ret else "",
           "Retirement Reason": ret["reason"] if ret else "",
           "Retirement Details": (ret["details"] or "") if ret else ""} | attrs.get("fields", {})
    row |= attrs.get("raw", {})
    return {k: row.get(k, "") for k in TRANSACTION_COLUMNS}


def row_country_of(r: dict[str, str], sr: VerraSerial) -> str:
    return country_code(r["Country/Area"]) if r["Country/Area"].strip() else sr.country


def import_verra(svc, projects_csv: Path, transactions_csv: Path) -> ImportReport:
    """Import a Verra export pair; idempotent (a second import creates nothing), rows that cannot be
    placed are reported with their row number and left out; the totals are reconciled per project
    and vintage against the files."""
    projects = _read(Path(projects_csv), PROJECT_COLUMNS, "projects")
    transactions = _read(Path(transactions_csv), TRANSACTION_COLUMNS, "transactions")
    report = ImportReport()
    done = svc.imported(SOURCE)
    known = {(p.get("standard"), p.get("external_id")): p["id"] for p, _ in done["projects"]}
    for p, a in done["projects"]:
        known.setdefault(("VCS", p.get("external_id")), p["id"])
    for it in done["issuances"]:
        known.setdefault(("VCS", it["project"].get("external_id")), it["project"]["id"])
    seen_ranges = {(x["issuance"]["serial_start"], x["issuance"]["serial_end"]) for x in done["issuances"]}
    plans_p, plans_i = [], []
    for r in projects:
        try:
            rec = _project_record(r)
        except ValueError as err:
            report.rejected.append({"file": str(projects_csv), "row": int(r["_row"]), "reason": str(err)})
            continue
        if ("VCS", rec["external_id"]) in known:
            report.unchanged_projects += 1
            continue
        known[("VCS", rec["external_id"])] = -1
        plans_p.append(rec)
    accepted: list[tuple[VerraSerial, dict, dict]] = []
    for r in transactions:
        try:
            sr, it = _transaction_plan(r)
        except ValueError as err:
            report.rejected.append({"file": str(transactions_csv), "row": int(r["_row"]), "reason": str(err)})
            continue
        accepted.append((sr, it, r))
    # overlapping ranges inside the file: every row of an overlap is refused
    order = sorted(range(len(accepted)), key=lambda k: accepted[k][0].first)
    bad = set()
    for a, b in zip(order, order[1:]):
        if accepted[b][0].first <= accepted[a][0].last:
            bad |= {a, b}
    for k, (sr, it, r) in enumerate(accepted):
        if k in bad:
            report.rejected.append({"file": str(transactions_csv), "row": int(r["_row"]),
                                    "reason": f"serial range {sr.first}..{sr.last} overlaps another row"})
            continue
        if (sr.first, sr.last) in seen_ranges:
            report.unchanged_issuances += 1
            continue
        key = it["project_key"]
        if ("VCS", key) not in known:
            code = country_code(r["Country/Area"]) if r["Country/Area"].strip() else sr.country
            rec = {"key": key, "name": r["Name"], "country": code, "external_id": key, "standard": "VCS",
                   "methodology": r["Methodology"] or None, "labels": [],
                   "attributes": {"source": SOURCE, "file": "transactions", "row": int(r["_row"])}}
            plans_p.append(rec)
            known[("VCS", key)] = -1
            report.notes.append(f"project {key} is not in {Path(projects_csv).name}; its record was made from "
                                f"{Path(transactions_csv).name} row {r['_row']}")
        rebuilt = _transaction_row(
            {"vintage_start": sr.vintage_start.isoformat(), "vintage_end": sr.vintage_end.isoformat(),
             "serial_start": sr.first, "serial_end": sr.last, "quantity": sr.quantity},
            {"country": row_country_of(r, sr), "external_id": key, "name": r["Name"], "methodology": r["Methodology"] or None},
            it["attributes"], it["retirement"])
        it["attributes"]["raw"] = {c: r[c] for c in TRANSACTION_COLUMNS if rebuilt[c] != r[c]}
        it["_names"] = {"Name": r["Name"], "Methodology": r["Methodology"]}
        plans_i.append(it)
    for it in plans_i:   # record the row's own name/methodology where the project record spells them otherwise
        prj = next((p for p in plans_p if p["key"] == it["project_key"]), None)
        names = it.pop("_names")
        if prj is None:
            prj_row = next((p for p, _ in done["projects"] if p.get("external_id") == it["project_key"]), None) or \
                next((x["project"] for x in done["issuances"] if x["project"].get("external_id") == it["project_key"]),
                     None)
        else:
            prj_row = prj
        if prj_row is not None:
            if prj_row["name"] != names["Name"]:
                it["attributes"]["raw"]["Name"] = names["Name"]
            if (prj_row.get("methodology") or "") != names["Methodology"]:
                it["attributes"]["raw"]["Methodology"] = names["Methodology"]
    for p in plans_p:
        if known.get(("VCS", p["key"]), -1) != -1:
            p["existing_id"] = known[("VCS", p["key"])]
    keys_needed = {it["project_key"] for it in plans_i}
    existing = [{"key": k, "existing_id": v} for (std, k), v in known.items() if v != -1 and k in keys_needed]
    if plans_p or plans_i:
        svc.import_records(OPERATOR, existing + plans_p, plans_i)
    report.created_projects = len(plans_p)
    report.created_issuances = len(plans_i)
    report.reconciliation = reconcile(svc, transactions, report.rejected)
    return report


def reconcile(svc, transactions: list[dict[str, str]], rejected: list[dict]) -> list[dict]:
    """Per (Verra project, vintage): issued and retired totals in the registry against the file's
    (rejected rows left out), and the file's own check that its rows stay within the Total Vintage Quantity."""
    skip = {r["row"] for r in rejected if r["file"].endswith(".csv") and "transactions" in r["file"]} | \
        {r["row"] for r in rejected}
    want: dict[tuple[str, str, str], dict] = {}
    for r in transactions:
        if int(r["_row"]) in skip:
            continue
        k = (r["ID"].strip(), r["Vintage Start"], r["Vintage End"])
        w = want.setdefault(k, {"issued": 0, "retired": 0, "total_vintage_quantity": set()})
        q = _int(r["Quantity Issued"]) or 0
        w["issued"] += q
        w["retired"] += q if r["Retirement/Cancellation Date"].strip() else 0
        w["total_vintage_quantity"].add(_int(r["Total Vintage Quantity"]))
    have: dict[tuple[str, str, str], dict] = {}
    for x in svc.imported(SOURCE)["issuances"]:
        i = x["issuance"]
        k = (x["attributes"]["project"], i["vintage_start"], i["vintage_end"])
        h = have.setdefault(k, {"issued": 0, "retired": 0})
        h["issued"] += i["quantity"]
        h["retired"] += sum(b["serial_end"] - b["serial_start"] + 1 for b in x["blocks"] if b["status"] == "retired")
    out = []
    for k in sorted(want):
        w, h = want[k], have.get(k, {"issued": 0, "retired": 0})
        tvq = w["total_vintage_quantity"]
        within = len(tvq) == 1 and None not in tvq and w["issued"] <= next(iter(tvq))
        out.append({"project": k[0], "vintage_start": k[1], "vintage_end": k[2], "issued_file": w["issued"],
                    "issued_registry": h["issued"], "retired_file": w["retired"], "retired_registry": h["retired"],
                    "within_total_vintage_quantity": within,
                    "ok": w["issued"] == h["issued"] and w["retired"] == h["retired"]})
    return out


def _write_csv_atomic(path: Path, columns: list[str], rows: list[dict[str, str]]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([r[c] for c in columns])
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        f.write(buf.getvalue())
    os.replace(tmp, path)


def export_verra(svc, out: Path, *, overwrite: bool = False) -> dict[str, Path]:
    """Write ``projects.csv`` and ``transactions.csv`` in Verra's columns (import order) into ``out``."""
    out = Path(out)
    paths = {"projects": out / "projects.csv", "transactions": out / "transactions.csv"}
    if not overwrite and any(p.exists() for p in paths.values()):
        raise OutputExistsError(f"{out}: projects.csv or transactions.csv exists (use --overwrite)")
    data = svc.imported(SOURCE)
    prows = sorted(((a["row"], _project_row(p, a)) for p, a in data["projects"] if a.get("file") == "projects"),
                   key=lambda t: t[0])
    trows = sorted(((x["attributes"]["row"], _transaction_row(x["issuance"], x["project"], x["attributes"],
                                                             x["retirement"])) for x in data["issuances"]),
                   key=lambda t: t[0])
    out.mkdir(parents=True, exist_ok=True)
    _write_csv_atomic(paths["projects"], PROJECT_COLUMNS, [r for _, r in prows])
    _write_csv_atomic(paths["transactions"], TRANSACTION_COLUMNS, [r for _, r in trows])
    return paths
