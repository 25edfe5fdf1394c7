"""Use cases of the registry: each one is one transaction (unit of work) and one or two journal lines.

The service composes the layers and owns no rule itself:

* :mod:`~reddplus.registry.domain` decides (authorisation, validation, plans of spend/split/reversal);
* :mod:`~reddplus.registry.repository` locks and writes (one writer per database, never commits);
* :mod:`~reddplus.registry.readmodels` reads (one snapshot per view, one block serialisation);
* :mod:`~reddplus.registry.auth`, :mod:`~reddplus.registry.idempotency` and
  :mod:`~reddplus.registry.journal` hold tokens/sessions, stored responses and verification.

Each write method opens one :class:`~reddplus.registry.db.UnitOfWork`, and commits it once,
together with the stored idempotent response when there is one.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Callable, Iterable, Mapping

from sqlalchemy import func, select

from reddplus.registry import journal, ledger
from reddplus.registry.auth import Authenticator, RateLimit, hash_token  # noqa: F401  (re-exported)
from reddplus.registry.db import Database, UnitOfWork
from reddplus.registry.domain import (LABELS, MAX_QUANTITY, OPERATOR, PUBLIC, BlockRow, CcbVerification,  # noqa: F401
                                      Principal, buffer_quantity, check_account_name, check_buffer_percent,
                                      check_ccb_outcome, check_ccb_verification_date, check_country, check_details,
                                      check_id, check_int, check_monitoring_cap, check_period, check_quantity,
                                      check_sha256, check_text, check_unverified_total, check_vintage_ended,
                                      covering_verification,
                                      plan_issuance, plan_reversal, plan_spend, require_admin, require_owner)
from reddplus.registry.errors import (InvalidInputError, LabelNotCoveredError, LedgerError, NotFoundError,
                                      OverlappingPeriodError)
from reddplus.registry.idempotency import (IdempotencyHandle, IdempotencyStore, StoredResponse,  # noqa: F401
                                           mark_done)
from reddplus.registry.models import (BUFFER_ACCOUNT_ID, SYSTEM_ACCOUNT_ID, Account, Block, CcbVerification as CcbRow, Issuance,
                                      MonitoringPeriod, Project)
from reddplus.registry.readmodels import ReadModels, block_view, to_csv
from reddplus.registry.repository import RecordSpec, Ref, effects, now_iso, row_dict, writer_for  # noqa: F401
from reddplus.registry.serials import parse_serial

#: default bound on the credits issued without a verified monitoring period, per project and vintage [tCO2e]
DEFAULT_MAX_UNVERIFIED_ISSUANCE = 100_000_000
_LABEL_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 -_.+")


def restore_journal(db: Database, lines: list[Mapping[str, Any]]) -> ledger.LedgerState:
    """Restore a journal backup into a fresh (migrated, empty) database (see :func:`journal.restore`)."""
    return journal.restore(db, lines)


def _labels(values: Iterable[Any] | None, name: str = "labels") -> list[str]:
    out = []
    for v in values or ():
        if not isinstance(v, str) or not 1 <= len(v) <= 40 or not set(v) <= _LABEL_CHARS:
            raise InvalidInputError(f"{name}: a label is 1-40 letters, digits, spaces or -_.+, got {v!r}")
        out.append(v)
    return sorted(set(out))


def _unverified_issued(s, project_id: int, start: dt.date, end: dt.date) -> int:
    """Credits [tCO2e] issued to the project without a monitoring period, for vintages overlapping start..end."""
    return int(s.execute(select(func.coalesce(func.sum(Issuance.quantity), 0)).where(
        Issuance.project_id == project_id, Issuance.monitoring_period_id.is_(None),
        Issuance.vintage_start <= end, Issuance.vintage_end >= start)).scalar_one())


def _opt_date(value: Any, name: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError) as err:
        raise InvalidInputError(f"{name} must be a date YYYY-MM-DD, got {value!r}") from err


def _boundary(value: Any) -> str | None:
    """A GeoJSON Polygon/MultiPolygon (geometry or Feature) in lon/lat, checked with shapely."""
    if value is None:
        return None
    geom = value.get("geometry") if isinstance(value, dict) and value.get("type") == "Feature" else value
    if not isinstance(geom, dict) or geom.get("type") not in ("Polygon", "MultiPolygon"):
        raise InvalidInputError("boundary must be a GeoJSON Polygon or MultiPolygon (or a Feature of one)")
    try:
        from shapely.geometry import shape

        g = shape(geom)
    except Exception as err:   # shapely raises several types on malformed coordinates
        raise InvalidInputError(f"boundary is not valid GeoJSON: {err}") from err
    minx, miny, maxx, maxy = g.bounds
    if g.is_empty or not g.is_valid or minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        raise InvalidInputError("boundary must be a valid, non-empty polygon in longitude/latitude degrees")
    return ledger.canonical_json(geom)


class RegistryService:
    """The registry's use cases over one :class:`~reddplus.registry.db.Database`.

    ``max_unverified_issuance`` bounds the credits issued without a verified monitoring period, in total
    per project over overlapping vintages [tCO2e];
    ``batch_spends`` sends transfers, splits, retirements and cancellations through one writer thread
    that commits several per transaction (group commit, :mod:`~reddplus.registry.batching`);
    ``idempotency_ttl_hours`` is how long a stored response is replayed; ``rate_limit`` bounds bad
    tokens and failed logins per client address.
    """

    def __init__(self, db: Database, *, program: str = "RDDP", unit_type: str = "VCU", secret_key: str = "",
                 max_unverified_issuance: int = DEFAULT_MAX_UNVERIFIED_ISSUANCE,
                 idempotency_ttl_hours: float = 24.0, rate_limit: RateLimit = RateLimit(),
                 session_hours: float = 8.0, batch_spends: bool = False, idempotency_pending_timeout_s: float = 30.0):
        self.db = db
        self.program = program
        self.unit_type = unit_type
        self.secret_key = secret_key
        self.max_unverified_issuance = max_unverified_issuance
        self.auth = Authenticator(db, secret_key, rate_limit, session_hours)
        self.idempotency = IdempotencyStore(db, idempotency_ttl_hours, idempotency_pending_timeout_s)
        self.batcher = None
        if batch_spends:
            from reddplus.registry.batching import SpendBatcher
            self.batcher = SpendBatcher(db, program=program)

    def close(self) -> None:
        """Stop the spend batcher (if any) and dispose of the database engines."""
        if self.batcher is not None:
            self.batcher.close()
        self.db.dispose()

    # ------------------------------------------------------------------ plumbing
    def _write(self, fn: Callable, *, idem: IdempotencyHandle | None = None, status: int = 201):
        """Run ``fn(session, writer)`` in one transaction and commit once (with the idempotent response)."""
        with UnitOfWork(self.db) as uow:
            body = fn(uow.session, writer_for(uow.session, self.db.dialect))
            mark_done(uow.session, idem, status, body)
            uow.commit()
        return body

    def _read(self, fn: Callable[[ReadModels], Any]):
        with UnitOfWork(self.db, read_only=True) as uow:
            return fn(ReadModels(uow.session, program=self.program, unit_type=self.unit_type))

    def _view(self, b: Mapping[str, Any], row: BlockRow) -> dict:
        return block_view(b, program=self.program, unit_type=self.unit_type, country=row.country,
                          project_id=row.project_id, vintage_start=row.vintage_start, vintage_end=row.vintage_end,
                          labels=row.labels)

    # ------------------------------------------------------------------ tokens and sessions
    def create_token(self, role: str, account_name: str | None = None, *, account_id: int | None = None,
                     expires_at: dt.datetime | None = None) -> str:
        """A new API token (returned once, stored hashed). A holder token names its account by id or by
        name; a missing name is created as a holding account. An admin token names no account."""
        if role == "admin" and (account_name or account_id is not None):
            raise InvalidInputError("an admin token belongs to no holding account")
        if role == "holder" and account_id is None:
            if not account_name:
                raise InvalidInputError("a holder token needs --account NAME or --account-id ID")
            found = self._read(lambda r: r.s.execute(select(Account.id).where(Account.name == account_name))
                               .scalar_one_or_none())
            account_id = found if found is not None else self.create_account(OPERATOR, account_name)["id"]
        return self.auth.create_token(role, account_id, expires_at=expires_at)[0]

    def create_token_info(self, role: str, account_name: str | None = None, *, account_id: int | None = None,
                          expires_at: dt.datetime | None = None) -> dict:
        """Like :meth:`create_token`, with the listing row (id, prefix, expiry) beside the token."""
        token = self.create_token(role, account_name, account_id=account_id, expires_at=expires_at)
        info = [t for t in self.auth.list_tokens() if t["prefix"] == token[:len(t["prefix"] or "")]][-1]
        return info | {"token": token}

    def list_tokens(self) -> list[dict]:
        return self.auth.list_tokens()

    def revoke_token(self, *, token_id: int | None = None, prefix: str | None = None) -> dict:
        return self.auth.revoke_token(token_id=token_id, prefix=prefix)

    def authenticate(self, token: str | None, client: str | None = None) -> Principal:
        return self.auth.authenticate(token, client)

    # ------------------------------------------------------------------ idempotency (HTTP layer)
    def idempotency_begin(self, principal: Principal, key: str, request_hash: str):
        return self.idempotency.begin(principal, key, request_hash)

    def idempotency_fail(self, handle: IdempotencyHandle, status_code: int | None, body: Any) -> None:
        self.idempotency.fail(handle, status_code, body)

    # ------------------------------------------------------------------ reference data
    def create_project(self, p: Principal, name: str = "", country: str = "XX", external_id: str | None = None, *,
                       proponent: str | None = None, standard: str | None = None, methodology: str | None = None,
                       status: str | None = None, crediting_period_start: Any = None,
                       crediting_period_end: Any = None, estimated_annual_ers: int | None = None,
                       labels: Iterable[str] | None = None, boundary: Any = None,
                       attributes: Mapping[str, Any] | None = None, idem: IdempotencyHandle | None = None) -> dict:
        """Register a project record (Verra registry fields); ``country`` is ISO 3166-1 alpha-2 (``XX``, the
        default, when not stated; an empty string is refused, :func:`check_country`)."""
        require_admin(p)
        name = check_text(name, "name", max_length=500, required=False) or "unnamed project"
        if not name.strip():
            name = "unnamed project"
        country = check_country(country)     # an empty code is refused; "XX" (not stated) is said explicitly
        for v, n, m in ((external_id, "external_id", 100), (proponent, "proponent", 500), (standard, "standard", 40),
                        (methodology, "methodology", 200), (status, "status", 60)):
            check_text(v, n, max_length=m, required=False)
        cps, cpe = _opt_date(crediting_period_start, "crediting_period_start"), \
            _opt_date(crediting_period_end, "crediting_period_end")
        if cps and cpe:
            check_period(cps, cpe, "crediting period")
        if estimated_annual_ers is not None:
            check_int(estimated_annual_ers, "estimated_annual_ers", minimum=0)
        values = dict(name=name, country=country, external_id=external_id, proponent=proponent, standard=standard,
                      methodology=methodology, status=status, crediting_period_start=cps, crediting_period_end=cpe,
                      estimated_annual_ers=estimated_annual_ers, labels=ledger.canonical_json(_labels(labels)),
                      boundary=_boundary(boundary), attributes=ledger.canonical_json(dict(attributes or {})))

        def uc(s, w):
            prj = Project(**values)
            s.add(prj)
            s.flush()
            w.append(w.lock_state(), "project", effects({"name": name}, [prj]), now_iso())
            from reddplus.registry.readmodels import project_out
            return project_out(prj)
        return self._write(uc, idem=idem)

    def create_account(self, p: Principal, name: str, *, idem: IdempotencyHandle | None = None) -> dict:
        """A holding account; names are unique, one line of printable text, "buffer pool" is reserved."""
        require_admin(p)
        check_account_name(name)

        def uc(s, w):
            state = w.lock_state()
            if s.execute(select(Account.id).where(Account.name == name)).first() is not None:
                raise LedgerError(f"an account named {name!r} exists", code="duplicate_account")
            acc = Account(name=name, kind="holding")
            s.add(acc)
            s.flush()
            w.append(state, "account", effects({"name": name}, [acc]), now_iso())
            return {"id": acc.id, "name": acc.name, "kind": acc.kind}
        return self._write(uc, idem=idem)

    def create_monitoring_period(self, p: Principal, project_id: int, start: dt.date, end: dt.date,
                                 verified_quantity: int, *, idem: IdempotencyHandle | None = None) -> dict:
        """A verified monitoring period: issuance against it never exceeds ``verified_quantity`` [tCO2e]."""
        require_admin(p)
        check_id(project_id, "project_id")
        check_period(start, end, "monitoring period")
        check_int(verified_quantity, "verified_quantity", minimum=0)

        def uc(s, w):
            state = w.lock_state()
            if s.get(Project, project_id) is None:
                raise NotFoundError(f"project {project_id} not found")
            clash = s.execute(select(MonitoringPeriod.id).where(
                MonitoringPeriod.project_id == project_id, MonitoringPeriod.period_start <= end,
                MonitoringPeriod.period_end >= start)).first()
            if clash is not None:
                raise OverlappingPeriodError(f"monitoring period overlaps period {clash[0]} of project {project_id}")
            mp = MonitoringPeriod(project_id=project_id, period_start=start, period_end=end,
                                  verified_quantity=verified_quantity, issued_quantity=0)
            s.add(mp)
            s.flush()
            w.append(state, "monitoring_period", effects({"project_id": project_id}, [mp]), now_iso())
            return row_dict(mp)
        return self._write(uc, idem=idem)

    # ------------------------------------------------------------------ issuance
    def issue(self, p: Principal, project_id: int, vintage_start: dt.date, vintage_end: dt.date, quantity: int,
              buffer_percent: Any, account_id: int, monitoring_period_id: int | None = None,
              manifest_sha256: str | None = None, *, idem: IdempotencyHandle | None = None) -> dict:
        """Issue ``quantity`` credits [tCO2e]: a holder block and a buffer-pool block (``buffer_percent`` [%]).

        Without a monitoring period the credits of the project's overlapping vintages are bounded, in
        total, by ``max_unverified_issuance``; the credits issued for a monitoring period (linked, or
        unverified with an overlapping vintage) never exceed its verified quantity; the vintage has ended.
        """
        require_admin(p)
        check_id(project_id, "project_id")
        check_id(account_id, "account_id")
        if monitoring_period_id is not None:
            check_id(monitoring_period_id, "monitoring_period_id")
            check_quantity(quantity)
        else:
            check_quantity(quantity, maximum=self.max_unverified_issuance)
        pct = check_buffer_percent(buffer_percent)
        check_period(vintage_start, vintage_end, "the vintage")
        check_vintage_ended(vintage_end, dt.datetime.now(dt.timezone.utc).date())
        check_sha256(manifest_sha256)

        def uc(s, w):
            state = w.lock_state()
            if s.get(Project, project_id) is None:
                raise NotFoundError(f"project {project_id} not found")
            acc = s.get(Account, account_id)
            if acc is None:
                raise NotFoundError(f"account {account_id} not found")
            if acc.kind != "holding":
                raise InvalidInputError(f"account {account_id} is a {acc.kind} account, not a holding account")
            updated = []
            if monitoring_period_id is not None:
                mp = s.get(MonitoringPeriod, monitoring_period_id, with_for_update=True)
                if mp is None or mp.project_id != project_id:
                    raise NotFoundError(f"monitoring period {monitoring_period_id} of project {project_id} not found")
                if vintage_start < mp.period_start or vintage_end > mp.period_end:
                    raise InvalidInputError("the vintage lies outside the monitoring period")
                check_monitoring_cap(mp.verified_quantity, mp.issued_quantity + _unverified_issued(
                    s, project_id, mp.period_start, mp.period_end), quantity, mp.id)
                mp.issued_quantity += quantity
                updated.append(mp)
            else:
                check_unverified_total(_unverified_issued(s, project_id, vintage_start, vintage_end), quantity,
                                       self.max_unverified_issuance, project_id, vintage_start, vintage_end)
                for mp in s.execute(select(MonitoringPeriod).where(
                        MonitoringPeriod.project_id == project_id, MonitoringPeriod.period_start <= vintage_end,
                        MonitoringPeriod.period_end >= vintage_start)).scalars():
                    check_monitoring_cap(mp.verified_quantity, mp.issued_quantity + _unverified_issued(
                        s, project_id, mp.period_start, mp.period_end), quantity, mp.id)
            plan = plan_issuance(state.next_serial, quantity, pct)
            iss = Issuance(project_id=project_id, monitoring_period_id=monitoring_period_id,
                           vintage_start=vintage_start, vintage_end=vintage_end, quantity=quantity,
                           buffer_quantity=plan.buffer_quantity, buffer_percent=str(pct), serial_start=plan.first,
                           serial_end=plan.last, manifest_sha256=manifest_sha256, labels="[]", attributes="{}")
            state.next_serial = plan.last + 1
            s.add(iss)
            s.flush()
            holder = buf = None
            if plan.holder:
                holder = Block(issuance_id=iss.id, serial_start=plan.holder[0], serial_end=plan.holder[1],
                               status="active", account_id=account_id)
                s.add(holder)
            if plan.buffer:
                buf = Block(issuance_id=iss.id, serial_start=plan.buffer[0], serial_end=plan.buffer[1],
                            status="active", account_id=BUFFER_ACCOUNT_ID)
                s.add(buf)
            s.flush()
            now = now_iso()
            args = {"project_id": project_id, "quantity": quantity, "buffer_percent": str(pct),
                    "account_id": account_id}
            w.append(state, "issue", effects(args, [iss] + ([holder] if holder else []), updated), now)
            if buf is not None:
                w.append(state, "buffer_contribution",
                         effects({"issuance_id": iss.id, "quantity": plan.buffer_quantity}, [buf]), now)
            from reddplus.registry.readmodels import issuance_out
            out = issuance_out(iss)
            out["blocks"] = [self._block_out(s, b) for b in (holder, buf) if b is not None]
            return out
        return self._write(uc, idem=idem)

    def _block_out(self, s, b: Block) -> dict:
        iss = s.get(Issuance, b.issuance_id)
        prj = s.get(Project, iss.project_id)
        return block_view(row_dict(b), program=self.program, unit_type=self.unit_type, country=prj.country,
                          project_id=prj.id, vintage_start=iss.vintage_start, vintage_end=iss.vintage_end,
                          labels=json.loads(iss.labels or "[]"))

    # ------------------------------------------------------------------ spending blocks
    def _spend(self, p: Principal, kind: str, block_id: int, quantity: int, *, to_account_id: int | None = None,
               record: dict | None = None, idem: IdempotencyHandle | None = None) -> dict:
        check_quantity(quantity)
        check_id(block_id, "block_id")
        if kind == "transfer":
            check_id(to_account_id, "to_account_id")

        def respond(moved_row: dict, parent: BlockRow, rows: list[dict], rec: dict | None, seq: int) -> dict:
            blocks = [self._view(x, parent) for x in rows]
            moved = self._view(moved_row, parent)
            if kind == "transfer":
                return {"id": seq, "block_id": block_id, "quantity": quantity, "to_account_id": to_account_id,
                        "transferred_block": moved, "blocks": blocks}
            if kind == "split":
                return {"id": seq, "block_id": block_id, "blocks": blocks}
            extra = {"certificate_url": f"/certificates/{rec['id']}"} if kind == "retire" else {}
            return rec | {"serial": moved["serial"], "labels": moved["labels"], "source_block_id": block_id,
                          "blocks": blocks} | extra

        if self.batcher is not None:
            from reddplus.registry.batching import SpendRequest
            return self.batcher.submit(SpendRequest(p, kind, block_id, quantity, to_account_id, record, idem,
                                                    respond=lambda res: respond(*res)))

        def uc(s, w):
            b = w.lock_block(block_id)
            if b is None:
                raise NotFoundError(f"block {block_id} not found")
            plan = plan_spend(p, kind, b, quantity, buffer_account_id=BUFFER_ACCOUNT_ID, to_account_id=to_account_id,
                              to_account_kind=w.account_kind(to_account_id) if kind == "transfer" else None)
            args = {"block_id": block_id, "quantity": quantity}
            if kind == "transfer":
                args["to_account_id"] = to_account_id
            table = {"retire": "retirements", "cancel": "cancellations"}.get(kind)
            records = [RecordSpec(table, dict(record or {}), plan=0)] if table else []
            out = w.spend(kind, args, [plan], records, program=self.program)
            return respond(out.moved[0], b, out.created or out.updated, out.records[0][1] if records else None,
                           out.seq)
        return self._write(uc, idem=idem)

    def transfer(self, p: Principal, block_id: int, quantity: int, to_account_id: int,
                 *, idem: IdempotencyHandle | None = None) -> dict:
        """Move ``quantity`` credits [tCO2e] of a block to another holding account (splitting when partial)."""
        return self._spend(p, "transfer", block_id, quantity, to_account_id=to_account_id, idem=idem)

    def split(self, p: Principal, block_id: int, quantity: int, *, idem: IdempotencyHandle | None = None) -> dict:
        """Split a block into its first ``quantity`` credits and the rest (same account)."""
        return self._spend(p, "split", block_id, quantity, idem=idem)

    def retire(self, p: Principal, block_id: int, quantity: int, beneficiary: str, reason: str,
               details: str | None = None, *, idem: IdempotencyHandle | None = None) -> dict:
        """Retire ``quantity`` credits of a block for ``beneficiary``; returns the certificate."""
        check_quantity(quantity)
        check_text(beneficiary, "beneficiary", max_length=300)
        check_text(reason, "reason", max_length=1000)
        check_details(details)
        return self._spend(p, "retire", block_id, quantity, idem=idem,
                           record={"quantity": quantity, "beneficiary": beneficiary, "reason": reason,
                                   "details": details})

    def cancel(self, p: Principal, block_id: int, quantity: int, reason: str,
               *, idem: IdempotencyHandle | None = None) -> dict:
        """Cancel ``quantity`` credits of a block (terminal), with a reason."""
        check_quantity(quantity)
        check_text(reason, "reason", max_length=1000)
        return self._spend(p, "cancel", block_id, quantity, idem=idem,
                           record={"quantity": quantity, "reason": reason, "reversal_id": None})

    def reversal(self, p: Principal, project_id: int, quantity: int, description: str,
                 *, monitoring_period_id: int | None = None, idem: IdempotencyHandle | None = None) -> dict:
        """Record a reversal: cancel ``quantity`` buffer credits [tCO2e] of the project (never more than held).

        VCS Standard v4.5 section 3.2.26: a negative net GHG benefit in a monitoring period (or a loss
        event) is a reversal, compensated by cancelling buffer-pool credits. ``monitoring_period_id``
        names the period whose negative net benefit is compensated, when there is one.
        """
        require_admin(p)
        check_id(project_id, "project_id")
        check_quantity(quantity)
        check_text(description, "description", max_length=2000)
        if monitoring_period_id is not None:
            check_id(monitoring_period_id, "monitoring_period_id")

        def uc(s, w):
            if s.get(Project, project_id) is None:
                raise NotFoundError(f"project {project_id} not found")
            if monitoring_period_id is not None:
                mp = s.get(MonitoringPeriod, monitoring_period_id)
                if mp is None or mp.project_id != project_id:
                    raise NotFoundError(f"monitoring period {monitoring_period_id} of project {project_id} not found")
            blocks = w.lock_buffer_blocks(project_id)
            plan = plan_reversal(blocks, quantity, project_id)
            spends = plan.spends()
            safe = description[:960].replace("{", "{{").replace("}", "}}")
            records = [RecordSpec("reversals", {"project_id": project_id, "quantity": quantity,
                                                "description": description,
                                                "monitoring_period_id": monitoring_period_id})]
            records += [RecordSpec("cancellations", {"quantity": sp.quantity, "reason": Ref(0, "reversal {}: " + safe),
                                                     "reversal_id": Ref(0)}, plan=i) for i, sp in enumerate(spends)]
            args = {"project_id": project_id, "quantity": quantity}
            if monitoring_period_id is not None:
                args["monitoring_period_id"] = monitoring_period_id
            out = w.spend("reversal", args, spends, records, program=self.program)
            rev = out.records[0][1]
            by_block = {sp.block.id: sp.block for sp in spends}
            parents = [by_block[sp.block.id] for sp in spends]
            return rev | {"cancelled_blocks": [self._view(m, parents[i]) for i, m in enumerate(out.moved)]}
        return self._write(uc, idem=idem)

    def record_reversal(self, p: Principal, project_id: int, monitoring_period_id: int | None, quantity: int,
                        description: str) -> dict:
        """The crediting chain's entry point: a reversal for a project and monitoring period (see :meth:`reversal`)."""
        return self.reversal(p, project_id, quantity, description, monitoring_period_id=monitoring_period_id)

    # ------------------------------------------------------------------ CCB label (CCB v3.1)
    def add_ccb_verification(self, p: Principal, project_id: int, period_start: Any, period_end: Any, body: str,
                             date: Any, outcome: str, gold_levels: Iterable[str] | None = None,
                             *, idem: IdempotencyHandle | None = None) -> dict:
        """Record a CCB verification (period covered, verification body, date, APPROVED or GOLD with levels)."""
        require_admin(p)
        check_id(project_id, "project_id")
        ps, pe = _opt_date(period_start, "period_start"), _opt_date(period_end, "period_end")
        d = _opt_date(date, "date")
        if ps is None or pe is None or d is None:
            raise InvalidInputError("period_start, period_end and date are required")
        check_period(ps, pe, "the CCB verification period")
        check_ccb_verification_date(d, pe)
        check_text(body, "body", max_length=300)
        outcome, levels = check_ccb_outcome(outcome, gold_levels)

        def uc(s, w):
            state = w.lock_state()
            if s.get(Project, project_id) is None:
                raise NotFoundError(f"project {project_id} not found")
            v = CcbRow(project_id=project_id, period_start=ps, period_end=pe, body=body, date=d, outcome=outcome,
                       gold_levels=ledger.canonical_json(list(levels)))
            s.add(v)
            s.flush()
            w.append(state, "ccb_verification", effects({"project_id": project_id}, [v]), now_iso())
            from reddplus.registry.readmodels import ccb_out
            return ccb_out(v)
        return self._write(uc, idem=idem)

    def label_issuance(self, p: Principal, issuance_id: int, label: str,
                       *, idem: IdempotencyHandle | None = None) -> dict:
        """Put ``label`` (``CCB``) on every credit of an issuance, retired ones included (retroactive).

        The CCB label needs a CCB verification whose period covers the whole vintage; otherwise
        :class:`LabelNotCoveredError` (409, ``no_covering_ccb_verification``).
        """
        require_admin(p)
        check_id(issuance_id, "issuance_id")
        if label not in LABELS:
            raise InvalidInputError(f"label must be one of {', '.join(LABELS)}, got {label!r}")

        def uc(s, w):
            state = w.lock_state()
            iss = s.get(Issuance, issuance_id, with_for_update=True)
            if iss is None:
                raise NotFoundError(f"issuance {issuance_id} not found")
            vs = [CcbVerification(v.period_start, v.period_end, v.outcome, tuple(json.loads(v.gold_levels)))
                  for v in s.execute(select(CcbRow).where(CcbRow.project_id == iss.project_id)).scalars()]
            cover = covering_verification(vs, iss.vintage_start, iss.vintage_end)
            if cover is None:
                raise LabelNotCoveredError(f"no CCB verification of project {iss.project_id} covers the vintage "
                                           f"{iss.vintage_start}..{iss.vintage_end} of issuance {issuance_id}")
            labels = json.loads(iss.labels or "[]")
            if label not in labels:
                iss.labels = ledger.canonical_json(sorted(labels + [label]))
                s.flush()
                w.append(state, "label", effects({"issuance_id": issuance_id, "label": label}, updated=[iss]),
                         now_iso())
            from reddplus.registry.readmodels import issuance_out
            return issuance_out(iss)
        return self._write(uc, idem=idem)

    # ------------------------------------------------------------------ reads
    def project_totals(self, project_id: int) -> dict:
        """Issued, retired, cancelled, buffer and available credits [tCO2e] of a project (one snapshot)."""
        check_id(project_id, "project_id")
        return self._read(lambda r: r.project_totals(project_id))

    def overall_totals(self) -> dict:
        return self._read(lambda r: r.totals())

    def list_blocks(self, project_id: int | None = None, account_id: int | None = None,
                    include_superseded: bool = False) -> list[dict]:
        return self._read(lambda r: r.blocks(project_id=project_id, account_id=account_id,
                                             include_superseded=include_superseded, order_by_serial=True))

    def blocks_page(self, project_id: int | None = None, cursor: str | None = None, limit: int | None = None) -> dict:
        return self._read(lambda r: r.blocks_page(project_id=project_id, cursor=cursor, limit=limit))

    def account_view(self, p: Principal, account_id: int) -> dict:
        """An account and its blocks: the owner or the admin only. Whether the account exists is told to
        the admin alone (others get 401/403 either way, so ids cannot be enumerated)."""
        require_owner(p, account_id)
        check_id(account_id, "account_id")
        return self._read(lambda r: r.account(account_id))

    def project_page(self, project_id: int) -> dict:
        check_id(project_id, "project_id")
        return self._read(lambda r: r.project_page(project_id))

    def project(self, project_id: int) -> dict:
        check_id(project_id, "project_id")
        return self._read(lambda r: r.project(project_id))

    def list_projects(self, **filters) -> list[dict]:
        return self._read(lambda r: r.projects(**filters))

    def projects_page(self, cursor: str | None = None, limit: int | None = None, **filters) -> dict:
        return self._read(lambda r: r.projects_page(cursor=cursor, limit=limit, **filters))

    def retirement(self, retirement_id: int) -> dict:
        check_id(retirement_id, "retirement_id")
        return self._read(lambda r: r.retirement(retirement_id))

    def lookup_serial(self, serial: str) -> dict:
        """Blocks holding any serial of a (parsed, validated) serial string."""
        sr = parse_serial(serial)
        return self._read(lambda r: r.serial(sr))

    def journal_lines(self, after: int = 0, limit: int | None = None) -> list[dict]:
        return self._read(lambda r: r.journal_lines(after, limit))

    def published_head(self) -> dict:
        """The published chain head ``{"length", "head"}`` (stored with every append)."""
        return self._read(lambda r: r.head())

    def snapshot(self) -> ledger.LedgerState:
        """The stored derived tables as a :class:`~reddplus.registry.ledger.LedgerState`."""
        with UnitOfWork(self.db, read_only=True) as uow:
            return journal.stored_state(uow.session)

    def verify_journal(self) -> dict:
        """Verify the hash chain, the published head and that replay reproduces the stored state.

        Returns ``{"ok", "length", "head", "bad_line", "message", "invariant_violations"}``.
        """
        return journal.verify_full(self.db)

    def verify_public(self) -> dict:
        """``{"ok", "length", "head"}`` from the lines after the last verified checkpoint (cheap)."""
        return journal.verify_incremental(self.db)

    def invariants(self) -> dict:
        v = ledger.check_invariants(self.snapshot())
        return {"ok": not v, "violations": v}

    EXPORTS = ("blocks", "issuances", "retirements", "projects")

    def export_csv(self, what: str, project_id: int | None = None, *, cursor: str | None = None,
                   limit: int | None = None) -> tuple[str, str | None]:
        """CSV text of one page of public data (``blocks``, ``issuances``, ``retirements``, ``projects``)
        and the cursor of the next page (``None`` on the last); the header row is always written."""
        if what not in self.EXPORTS:
            raise NotFoundError(f"no export named {what!r}")
        from reddplus.registry.readmodels import _limit, decode_cursor, encode_cursor, export_fields

        n, after = _limit(limit), decode_cursor(cursor)

        def q(r: ReadModels):
            if what == "blocks":
                return r.blocks(project_id=project_id, after=after, limit=n + 1)
            if what == "issuances":
                return r.issuances(project_id, after=after, limit=n + 1)
            if what == "projects":
                return [x | {"boundary": None} for x in r.projects(after=after, limit=n + 1)]
            return r.retirements(project_id, after=after, limit=n + 1)
        rows = self._read(q)
        more, rows = len(rows) > n, rows[:n]
        return to_csv(rows, export_fields(what)), (encode_cursor(rows[-1]["id"]) if more and rows else None)

    # ------------------------------------------------------------------ imports from other registries
    def import_records(self, p: Principal, projects: list[dict], issuances: list[dict]) -> dict:
        """Write imported project records and issuances in one transaction (one journal line each).

        ``projects``: keyword arguments of :meth:`create_project` plus ``key`` (the source's id).
        ``issuances``: ``{"project_key", "vintage_start", "vintage_end", "serial_start", "serial_end",
        "attributes", "labels", "retirement": None | {"beneficiary", "reason", "details", "retired_at",
        "certificate_number"}, "cancellation": None | {"reason"}}``. Serial ranges keep the source's
        numbers and may not overlap an existing issuance; the serial counter moves past them.
        Returns ``{"project_ids": {key: id}, "issuance_ids": [...]}``.
        """
        require_admin(p)

        def uc(s, w):
            state = w.lock_state()
            ids: dict[str, int] = {}
            for kw in projects:
                kw = dict(kw)
                key = kw.pop("key")
                existing = kw.pop("existing_id", None)
                if existing is not None:
                    ids[key] = existing
                    continue
                prj = Project(name=kw["name"], country=check_country(kw.get("country") or "XX"),
                              external_id=kw.get("external_id"), proponent=kw.get("proponent"),
                              standard=kw.get("standard"), methodology=kw.get("methodology"), status=kw.get("status"),
                              crediting_period_start=kw.get("crediting_period_start"),
                              crediting_period_end=kw.get("crediting_period_end"),
                              estimated_annual_ers=kw.get("estimated_annual_ers"),
                              labels=ledger.canonical_json(_labels(kw.get("labels"))), boundary=None,
                              attributes=ledger.canonical_json(kw.get("attributes") or {}))
                s.add(prj)
                s.flush()
                w.append(state, "import_project", effects({"source_key": key}, [prj]), now_iso())
                ids[key] = prj.id
            from reddplus.registry.models import Cancellation, Retirement
            out_iss = []
            for it in issuances:
                check_quantity(it["serial_end"] - it["serial_start"] + 1)
                clash = s.execute(select(Issuance.id).where(Issuance.serial_start <= it["serial_end"],
                                                            Issuance.serial_end >= it["serial_start"])).first()
                if clash is not None:
                    raise InvalidInputError(f"serials {it['serial_start']}..{it['serial_end']} overlap issuance "
                                            f"{clash[0]}", code="overlapping_serials")
                iss = Issuance(project_id=ids[it["project_key"]], monitoring_period_id=None,
                               vintage_start=it["vintage_start"], vintage_end=it["vintage_end"],
                               quantity=it["serial_end"] - it["serial_start"] + 1, buffer_quantity=0,
                               buffer_percent="0", serial_start=it["serial_start"], serial_end=it["serial_end"],
                               manifest_sha256=None, labels=ledger.canonical_json(_labels(it.get("labels"))),
                               attributes=ledger.canonical_json(it.get("attributes") or {}))
                s.add(iss)
                s.flush()
                status = "retired" if it.get("retirement") else ("cancelled" if it.get("cancellation") else "active")
                # imported credits sit in the system account (id 1): the source registry's holders are not known
                blk = Block(issuance_id=iss.id, serial_start=iss.serial_start, serial_end=iss.serial_end,
                            status=status, account_id=SYSTEM_ACCOUNT_ID)
                s.add(blk)
                s.flush()
                created = [iss, blk]
                seq = state.journal_length + 1
                if it.get("retirement"):
                    r = it["retirement"]
                    created.append(Retirement(block_id=blk.id, certificate_number=r["certificate_number"],
                                              quantity=iss.quantity, beneficiary=r.get("beneficiary") or "",
                                              reason=r.get("reason") or "", details=r.get("details"),
                                              retired_at=r["retired_at"], journal_seq=seq))
                elif it.get("cancellation"):
                    created.append(Cancellation(block_id=blk.id, quantity=iss.quantity,
                                                reason=it["cancellation"].get("reason") or "cancelled",
                                                reversal_id=None, journal_seq=seq))
                s.add_all(created[2:])
                s.flush()
                w.append(state, "import_issuance", effects({"project_id": iss.project_id}, created), now_iso())
                state.next_serial = max(state.next_serial, iss.serial_end + 1)
                out_iss.append(iss.id)
            return {"project_ids": ids, "issuance_ids": out_iss}
        return self._write(uc)

    def imported(self, source: str) -> dict:
        """Imported records of ``source`` (``verra``, ``art``): projects and issuances with their attributes,
        blocks' status and retirement/cancellation rows, in the source's row order."""
        from reddplus.registry.models import Cancellation, Retirement

        def q(r: ReadModels):
            s = r.s
            prjs = []
            for p in s.execute(select(Project).order_by(Project.id)).scalars():
                a = json.loads(p.attributes or "{}")
                if a.get("source") == source:
                    prjs.append((row_dict(p), a))
            iss = []
            for i in s.execute(select(Issuance).order_by(Issuance.id)).scalars():
                a = json.loads(i.attributes or "{}")
                if a.get("source") != source:
                    continue
                blocks = s.execute(select(Block).where(Block.issuance_id == i.id, Block.status != "superseded")
                                   .order_by(Block.serial_start)).scalars().all()
                ret = can = None
                if len(blocks) == 1 and blocks[0].status == "retired":
                    ret = row_dict(s.execute(select(Retirement).where(Retirement.block_id == blocks[0].id)).scalar_one())
                if len(blocks) == 1 and blocks[0].status == "cancelled":
                    can = row_dict(s.execute(select(Cancellation).where(
                        Cancellation.block_id == blocks[0].id)).scalar_one())
                iss.append({"issuance": row_dict(i), "attributes": a, "project": row_dict(s.get(Project, i.project_id)),
                            "blocks": [row_dict(b) for b in blocks], "retirement": ret, "cancellation": can})
            return {"projects": prjs, "issuances": iss}
        return self._read(q)
