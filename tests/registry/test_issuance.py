"""A run's ex-post vintages into its registry: buffer blocks, and a reversal larger than the project's buffer."""

from types import SimpleNamespace

import pytest

from reddplus.errors import collect_warnings
from reddplus.registry.errors import InvalidBufferPercentError
from reddplus.registry.issuance import ReversalBeyondBufferWarning, issue_vintages


def _row(year, issuance):
    return SimpleNamespace(year=year, issuance=issuance)


def test_reversal_cancels_the_project_buffer_and_reports_the_rest(tmp_path):
    """20 % of 1,000 + 20 % of 500 = 300 buffer credits; a reversal of 450 in the second period cancels the
    300 and reports 150 beyond them (pooled buffer account, VCS Standard v4.5 section 3.2.26)."""
    with collect_warnings() as caught:
        res = issue_vintages(tmp_path / "r.sqlite", project_name="p", country="PE", project_id="VCS-1",
                             monitoring_periods=[(2021, 2021), (2022, 2023)],
                             rows=[_row(2021, 1000), _row(2022, 500), _row(2023, 0)], buffer_percent=20.0,
                             manifest_sha256="0" * 64, reversals=[SimpleNamespace(year=2023, reversal_tco2e=450)])
    assert [(i.vintage, i.holder_vcus, i.buffer_credits) for i in res.issuances] == [(2021, 800, 200),
                                                                                     (2022, 400, 100)]
    (rv,) = res.reversals
    assert (rv.vintage, rv.quantity, rv.beyond_project_buffer) == (2023, 300, 150)
    assert any(isinstance(w, ReversalBeyondBufferWarning) for w in caught.warnings)


def test_reversal_within_the_buffer_is_cancelled_whole(tmp_path):
    res = issue_vintages(tmp_path / "r.sqlite", project_name="p", country="PE", project_id="VCS-1",
                         monitoring_periods=[(2021, 2022)], rows=[_row(2021, 1000), _row(2022, 0)],
                         buffer_percent=20.0, manifest_sha256="0" * 64,
                         reversals=[SimpleNamespace(year=2022, reversal_tco2e=120)])
    (rv,) = res.reversals
    assert (rv.quantity, rv.beyond_project_buffer) == (120, 0)
    with pytest.raises(InvalidBufferPercentError):
        issue_vintages(tmp_path / "r2.sqlite", project_name="p", country="PE", project_id="VCS-1",
                       monitoring_periods=[(2021, 2021)], rows=[_row(2021, 10)], buffer_percent=200.0,
                       manifest_sha256="0" * 64)
