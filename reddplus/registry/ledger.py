"""The journal as a pure data structure: hashing, chain verification, replay and invariants.

No database here. A journal line is ``(seq, kind, created_at, payload, prev_hash, hash)`` where
``payload`` is canonical JSON (sorted keys, no spaces) holding the *effects* of the transaction:
``{"args": {...}, "created": {table: [rows]}, "updated": {table: [rows]}}`` (full rows after the
change). Replaying the effects from the seeded state reproduces every derived table.

Hash chain (as in certificate-transparency style append-only logs):

.. math:: h_i = \\mathrm{SHA256}(i \\,|\\, kind_i \\,|\\, t_i \\,|\\, payload_i \\,|\\, h_{i-1}),\\quad h_0 = 0^{64}

The head :math:`(n, h_n)` is published (``GET /api/v1/journal/verify``); changing any line changes
its hash and breaks the link to the next line, so verification names the first bad line.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

GENESIS_HASH = "0" * 64
TABLES = ("projects", "accounts", "monitoring_periods", "issuances", "blocks", "retirements",
          "cancellations", "reversals", "ccb_verifications")
#: columns added after the first schema: journal lines written before them replay with these values
ROW_DEFAULTS = {
    "projects": {"proponent": None, "standard": None, "methodology": None, "status": None,
                 "crediting_period_start": None, "crediting_period_end": None, "estimated_annual_ers": None,
                 "labels": "[]", "boundary": None, "attributes": "{}"},
    "issuances": {"labels": "[]", "attributes": "{}"},
    "reversals": {"monitoring_period_id": None},
}
#: the state every registry starts from (seeded by the migration)
SEED_ACCOUNTS = {1: {"id": 1, "name": "system", "kind": "system"},
                 2: {"id": 2, "name": "buffer pool", "kind": "buffer"}}
_ALLOWED = {"active": {"active", "retired", "cancelled", "superseded"}}


def canonical_json(obj: Any) -> str:
    """Deterministic JSON text (sorted keys, compact, UTF-8) of a payload."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def line_hash(seq: int, kind: str, created_at: str, payload: str, prev_hash: str) -> str:
    """SHA-256 of one journal line, chained to the previous line's hash (equation above)."""
    text = f"{seq}|{kind}|{created_at}|{payload}|{prev_hash}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainVerification:
    """Result of :func:`verify_chain`: ``bad_line`` is the seq of the first failing line."""

    ok: bool
    length: int
    head: str
    bad_line: int | None = None
    message: str = ""


def verify_chain(lines: Iterable[Mapping[str, Any]]) -> ChainVerification:
    """Check sequence numbers, links and hashes of journal lines in ``seq`` order."""
    prev = GENESIS_HASH
    n = 0
    for expected_seq, line in enumerate(lines, start=1):
        seq = int(line["seq"])
        if seq != expected_seq:
            return ChainVerification(False, n, prev, expected_seq, f"line {expected_seq} is missing (found {seq})")
        if line["prev_hash"] != prev:
            return ChainVerification(False, n, prev, seq, f"line {seq}: prev_hash does not match line {seq - 1}")
        h = line_hash(seq, line["kind"], line["created_at"], line["payload"], line["prev_hash"])
        if h != line["hash"]:
            return ChainVerification(False, n, prev, seq, f"line {seq}: content does not match its hash")
        prev, n = h, seq
    return ChainVerification(True, n, prev)


class ReplayError(ValueError):
    """A journal line cannot be applied (unknown row, illegal state transition)."""

    def __init__(self, seq: int, message: str):
        self.seq = seq
        super().__init__(f"journal line {seq}: {message}")


@dataclass
class LedgerState:
    """Derived tables as ``{table: {id: row}}`` (rows are JSON-like dicts)."""

    tables: dict[str, dict[int, dict]] = field(default_factory=lambda: {t: {} for t in TABLES})

    @classmethod
    def seeded(cls) -> "LedgerState":
        st = cls()
        st.tables["accounts"] = copy.deepcopy(SEED_ACCOUNTS)
        return st

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LedgerState) and self.tables == other.tables

    def diff(self, other: "LedgerState", limit: int = 10) -> list[str]:
        """Human-readable differences (first ``limit``)."""
        out = []
        for t in TABLES:
            a, b = self.tables[t], other.tables[t]
            for k in sorted(set(a) | set(b)):
                if a.get(k) != b.get(k):
                    out.append(f"{t}[{k}]: {a.get(k)} != {b.get(k)}")
                    if len(out) >= limit:
                        return out
        return out


def apply_line(state: LedgerState, seq: int, payload: Mapping[str, Any]) -> None:
    """Apply one line's effects to ``state`` in place (checks terminal block states, invariant 3)."""
    for table, rows in payload.get("created", {}).items():
        for row in rows:
            if row["id"] in state.tables[table]:
                raise ReplayError(seq, f"{table} {row['id']} created twice")
            state.tables[table][row["id"]] = ROW_DEFAULTS.get(table, {}) | dict(row)
    for table, rows in payload.get("updated", {}).items():
        for row in rows:
            old = state.tables[table].get(row["id"])
            if old is None:
                raise ReplayError(seq, f"{table} {row['id']} updated before it exists")
            if table == "blocks":
                if row["status"] not in _ALLOWED.get(old["status"], set()):
                    raise ReplayError(seq, f"block {row['id']} changed from terminal state {old['status']!r}")
                if (row["serial_start"], row["serial_end"], row["issuance_id"]) != (
                        old["serial_start"], old["serial_end"], old["issuance_id"]):
                    raise ReplayError(seq, f"block {row['id']} serial range changed")
            state.tables[table][row["id"]] = ROW_DEFAULTS.get(table, {}) | dict(row)


def replay(lines: Iterable[Mapping[str, Any]]) -> LedgerState:
    """Replay journal lines (``seq`` order) from the seeded state."""
    state = LedgerState.seeded()
    for line in lines:
        apply_line(state, int(line["seq"]), json.loads(line["payload"]))
    return state


def check_invariants(state: LedgerState) -> list[str]:
    """Violations of invariants 1-4 in ``state`` (empty list when all hold).

    1. non-superseded blocks of an issuance cover its serial range exactly; issuances never overlap;
    2. active + retired + cancelled = issued per issuance (and so overall); quantities positive;
    3. each retired (cancelled) block has exactly one retirement (cancellation) of its quantity;
    4. issued <= verified per monitoring period, which do not overlap within a project;
    5. buffer-pool credits leave the pool only by cancellation in a reversal: the last
       ``buffer_quantity`` serials of every issuance lie in blocks of the buffer account that are
       active, superseded or cancelled by a reversal (never retired, transferred or cancelled otherwise).
    """
    t = state.tables
    v: list[str] = []
    by_issuance: dict[int, list[dict]] = {}
    for b in t["blocks"].values():
        if b["serial_end"] < b["serial_start"]:
            v.append(f"block {b['id']}: empty or negative range")
        if b["status"] != "superseded":
            by_issuance.setdefault(b["issuance_id"], []).append(b)
    ranges = sorted((i["serial_start"], i["serial_end"], i["id"]) for i in t["issuances"].values())
    for (s0, e0, i0), (s1, e1, i1) in zip(ranges, ranges[1:]):
        if s1 <= e0:
            v.append(f"issuances {i0} and {i1}: serial ranges overlap")
    for iss in t["issuances"].values():
        blocks = sorted(by_issuance.get(iss["id"], []), key=lambda b: b["serial_start"])
        cursor = iss["serial_start"]
        for b in blocks:
            if b["serial_start"] != cursor:
                kind = "gap" if b["serial_start"] > cursor else "overlap"
                v.append(f"issuance {iss['id']}: {kind} at serial {min(cursor, b['serial_start'])} (block {b['id']})")
            cursor = max(cursor, b["serial_end"] + 1)
        if cursor != iss["serial_end"] + 1:
            v.append(f"issuance {iss['id']}: blocks end at {cursor - 1}, range ends at {iss['serial_end']}")
        total = sum(b["serial_end"] - b["serial_start"] + 1 for b in blocks)
        if total != iss["quantity"]:
            v.append(f"issuance {iss['id']}: active+retired+cancelled = {total} != issued {iss['quantity']}")
    for table, status in (("retirements", "retired"), ("cancellations", "cancelled")):
        seen: dict[int, int] = {}
        for r in t[table].values():
            seen[r["block_id"]] = seen.get(r["block_id"], 0) + 1
            b = t["blocks"].get(r["block_id"])
            if b is None or b["status"] != status:
                v.append(f"{table[:-1]} {r['id']}: block {r['block_id']} is not {status}")
            elif r["quantity"] != b["serial_end"] - b["serial_start"] + 1:
                v.append(f"{table[:-1]} {r['id']}: quantity differs from block {b['id']}")
        for b in t["blocks"].values():
            if b["status"] == status and seen.get(b["id"], 0) != 1:
                v.append(f"block {b['id']}: {status} {seen.get(b['id'], 0)} times")
    buffer_accounts = {a for a, row in t["accounts"].items() if row["kind"] == "buffer"}
    reversal_cancels = {c["block_id"] for c in t["cancellations"].values() if c.get("reversal_id") is not None}
    for iss in t["issuances"].values():
        if not iss.get("buffer_quantity"):
            continue
        first = iss["serial_end"] - iss["buffer_quantity"] + 1
        for b in by_issuance.get(iss["id"], []):
            if b["serial_end"] < first:
                continue
            if b["account_id"] not in buffer_accounts:
                v.append(f"block {b['id']}: buffer serials of issuance {iss['id']} left the buffer pool")
            elif b["status"] == "retired" or (b["status"] == "cancelled" and b["id"] not in reversal_cancels):
                v.append(f"block {b['id']}: buffer credits {b['status']} outside a reversal")
    issued_per_mp: dict[int, int] = {}
    for iss in t["issuances"].values():
        if iss.get("monitoring_period_id") is not None:
            issued_per_mp[iss["monitoring_period_id"]] = issued_per_mp.get(iss["monitoring_period_id"], 0) + iss["quantity"]
    per_project: dict[int, list[dict]] = {}
    for mp in t["monitoring_periods"].values():
        if issued_per_mp.get(mp["id"], 0) != mp["issued_quantity"]:
            v.append(f"monitoring period {mp['id']}: issued_quantity {mp['issued_quantity']} != "
                     f"sum of issuances {issued_per_mp.get(mp['id'], 0)}")
        if mp["issued_quantity"] > mp["verified_quantity"]:
            v.append(f"monitoring period {mp['id']}: issued {mp['issued_quantity']} > verified {mp['verified_quantity']}")
        per_project.setdefault(mp["project_id"], []).append(mp)
    for pid, mps in per_project.items():
        mps = sorted(mps, key=lambda m: m["period_start"])
        for a, b in zip(mps, mps[1:]):
            if b["period_start"] <= a["period_end"]:
                v.append(f"project {pid}: monitoring periods {a['id']} and {b['id']} overlap")
    return v


def project_totals(state: LedgerState, project_id: int) -> dict[str, int]:
    """Issued, retired, cancelled, buffer (active in the buffer pool) and available credits [tCO2e].

    .. math:: issued = retired + cancelled + buffer + available
    """
    issuances = {i for i, row in state.tables["issuances"].items() if row["project_id"] == project_id}
    out = {"issued": sum(state.tables["issuances"][i]["quantity"] for i in issuances),
           "retired": 0, "cancelled": 0, "buffer": 0, "available": 0}
    buffer_accounts = {a for a, row in state.tables["accounts"].items() if row["kind"] == "buffer"}
    for b in state.tables["blocks"].values():
        if b["issuance_id"] not in issuances or b["status"] == "superseded":
            continue
        q = b["serial_end"] - b["serial_start"] + 1
        if b["status"] == "active":
            out["buffer" if b["account_id"] in buffer_accounts else "available"] += q
        else:
            out[b["status"]] += q
    return out
