"""Hypothesis stateful test: issue, transfer, split, retire, cancel and reversal in any order, with
invariants 1-5 checked after every step (and the totals compared with a plain model). Attempts to
move buffer-pool credits other than by a reversal are refused (invariant 5: buffer credits leave
the pool only by cancellation in a reversal)."""

import datetime as dt
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from reddplus.registry.db import connect, migrate
from reddplus.registry.errors import LedgerError
from reddplus.registry.service import OPERATOR, Principal, RegistryService

_TEMPLATE: dict[str, Path] = {}


def _template() -> Path:
    if "path" not in _TEMPLATE:
        d = Path(tempfile.mkdtemp(prefix="reddplus-stateful-"))
        db = connect(f"sqlite:///{d / 'template.sqlite'}")
        migrate(db)
        db.dispose()
        _TEMPLATE["path"] = d / "template.sqlite"
    return _TEMPLATE["path"]


class RegistryMachine(RuleBasedStateMachine):
    @initialize()
    def setup(self):
        self.dir = Path(tempfile.mkdtemp(prefix="reddplus-sm-"))
        shutil.copy(_template(), self.dir / "r.sqlite")
        self.svc = RegistryService(connect(f"sqlite:///{self.dir / 'r.sqlite'}"), secret_key="s" * 40)
        self.project = self.svc.create_project(OPERATOR, "sm", "BR")["id"]
        self.accounts = [self.svc.create_account(OPERATOR, n)["id"] for n in ("a", "b", "c")]
        # plain model of the totals
        self.issued = self.retired = self.cancelled = self.buffer_in = self.reversed = 0

    def teardown(self):
        if hasattr(self, "svc"):
            self.svc.db.dispose()
            shutil.rmtree(self.dir, ignore_errors=True)

    def _active(self, holding=True):
        return [b for b in self.svc.list_blocks(project_id=self.project)
                if b["status"] == "active" and (b["account_id"] != 2) == holding]

    @rule(q=st.integers(1, 500), pct=st.sampled_from([0, 5, 12.5, 20, 100]), acct=st.integers(0, 2))
    def issue(self, q, pct, acct):
        out = self.svc.issue(OPERATOR, self.project, dt.date(2021, 1, 1), dt.date(2021, 12, 31), q, pct,
                             self.accounts[acct])
        self.issued += q
        self.buffer_in += out["buffer_quantity"]

    @precondition(lambda self: hasattr(self, "svc") and self.issued > 0)
    @rule(data=st.data(), op=st.sampled_from(["transfer", "split", "retire", "cancel"]))
    def spend(self, data, op):
        blocks = self._active()
        if not blocks:
            return
        b = data.draw(st.sampled_from(blocks))
        q = data.draw(st.integers(1, b["quantity"] + 1))           # sometimes one too many
        who = Principal("holder", b["account_id"])
        try:
            if op == "transfer":
                to = data.draw(st.sampled_from([a for a in self.accounts if a != b["account_id"]]))
                self.svc.transfer(who, b["id"], q, to)
            elif op == "split":
                self.svc.split(who, b["id"], q)
            elif op == "retire":
                self.svc.retire(who, b["id"], q, "beneficiary", "reason")
                self.retired += q
            else:
                self.svc.cancel(who, b["id"], q, "reason")
                self.cancelled += q
        except LedgerError as err:
            assert q > b["quantity"] and err.code == "insufficient_quantity" or \
                op == "split" and q == b["quantity"] and err.code == "invalid_input", err

    @precondition(lambda self: hasattr(self, "svc") and self.issued > 0)
    @rule(q=st.integers(1, 200))
    def reversal(self, q):
        held = sum(b["quantity"] for b in self._active(holding=False))
        try:
            self.svc.reversal(OPERATOR, self.project, q, "loss event")
            assert q <= held
            self.cancelled += q
            self.reversed += q
        except LedgerError as err:
            assert q > held and err.code == "insufficient_quantity"

    @precondition(lambda self: hasattr(self, "svc") and self.buffer_in > 0)
    @rule(data=st.data(), op=st.sampled_from(["transfer", "split", "retire", "cancel"]))
    def buffer_credits_stay_in_the_pool(self, data, op):
        blocks = self._active(holding=False)
        if not blocks:
            return
        b = data.draw(st.sampled_from(blocks))
        q = data.draw(st.integers(1, b["quantity"]))
        with pytest.raises(LedgerError) as err:
            if op == "transfer":
                self.svc.transfer(OPERATOR, b["id"], q, self.accounts[0])
            elif op == "split":
                self.svc.split(OPERATOR, b["id"], q)
            elif op == "retire":
                self.svc.retire(OPERATOR, b["id"], q, "beneficiary", "reason")
            else:
                self.svc.cancel(OPERATOR, b["id"], q, "reason")
        assert err.value.code == "buffer_pool_locked", err.value

    @precondition(lambda self: hasattr(self, "svc"))
    @rule(data=st.data())
    def terminal_blocks_stay_terminal(self, data):
        done = [b for b in self.svc.list_blocks(project_id=self.project) if b["status"] in ("retired", "cancelled")]
        if not done:
            return
        b = data.draw(st.sampled_from(done))
        with pytest.raises(LedgerError) as err:
            self.svc.retire(OPERATOR, b["id"], 1, "again", "again")
        assert err.value.code in ("already_retired", "already_cancelled")

    @invariant()
    def invariants_hold(self):
        if not hasattr(self, "svc"):
            return
        assert self.svc.invariants() == {"ok": True, "violations": []}
        t = self.svc.project_totals(self.project)
        assert t["issued"] == self.issued and t["retired"] == self.retired and t["cancelled"] == self.cancelled
        assert t["issued"] == t["retired"] + t["cancelled"] + t["buffer"] + t["available"]
        assert t["buffer"] == self.buffer_in - self.reversed       # invariant 5, in the totals
        assert min(t.values()) >= 0


RegistryMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=25, deadline=None,
                                             suppress_health_check=[HealthCheck.too_slow])
TestRegistryMachine = RegistryMachine.TestCase


def test_replay_after_random_history():
    """After a random history the journal still verifies (chain + replay = state)."""
    m = RegistryMachine()
    m.setup()
    try:
        import random
        rng = random.Random(7)
        for _ in range(15):
            m.issue(rng.randint(1, 300), rng.choice([0, 10, 20]), rng.randint(0, 2))
        v = m.svc.verify_journal()
        assert v["ok"] and v["length"] == 4 + 15 + sum(1 for i in m.svc.snapshot().tables["issuances"].values()
                                                        if i["buffer_quantity"] > 0)
    finally:
        m.teardown()
