"""Verra registry exports in and out, on the real sample of ../shared/data/registry_offsetsdb_samples
(CarbonPlan OffsetsDB test data: 50 Verra projects, 200 VCU transactions with serial ranges)."""

import csv
import shutil

import pytest
from click.testing import CliRunner

from reddplus.cli.main import cli
from reddplus.registry.errors import ImportFormatError
from reddplus.registry.interop import verra

from .conftest import SECRET, make_service


@pytest.fixture
def files(shared):
    return shared("registry_offsetsdb_samples", "verra", "projects.csv"), \
        shared("registry_offsetsdb_samples", "verra", "transactions.csv")


def test_parse_a_real_verra_serial():
    """Serial of Bale Mountains (VCS 1340), vintage 2020, from the sample's first transaction row."""
    s = verra.parse_verra_serial("19385-941467007-941467431-VCS-VCU-1507-VER-ET-14-1340-01012020-31122020-1")
    assert (s.batch, s.first, s.last, s.quantity, s.country, s.scope, s.project) == (
        19385, 941467007, 941467431, 425, "ET", "14", "1340")
    assert str(s) == "19385-941467007-941467431-VCS-VCU-1507-VER-ET-14-1340-01012020-31122020-1"
    for bad in ("19385-941467007-941467431-VCS-VCU-1507-VER-ET-14-1340-01012020-31122020",
                "19385-941467431-941467007-VCS-VCU-1507-VER-ET-14-1340-01012020-31122020-1",
                "19385-941467007-941467431-VCS-VCU-1507-VER-ET-14-1340-31122020-01012020-1"):
        with pytest.raises(ValueError):
            verra.parse_verra_serial(bad)


def test_import_reconciles_is_idempotent_and_round_trips(files, sqlite_url, tmp_path):
    svc = make_service(sqlite_url)
    try:
        report = verra.import_verra(svc, *files)
        assert report.rejected == [] and report.created_issuances == 200
        assert report.reconciled and len(report.reconciliation) > 50
        # the totals per project and vintage equal the CSV's (computed here independently)
        rows = list(csv.DictReader(open(files[1], newline="", encoding="utf-8")))
        issued = sum(int(r["Quantity Issued"].replace(",", "")) for r in rows)
        retired = sum(int(r["Quantity Issued"].replace(",", "")) for r in rows if r["Retirement/Cancellation Date"])
        t = svc.overall_totals()
        assert (t["issued"], t["retired"]) == (issued, retired)
        bale = [x for x in report.reconciliation if x["project"] == "1340" and x["vintage_start"] == "2020-01-01"]
        assert bale and bale[0]["issued_registry"] == bale[0]["issued_file"]
        head = svc.published_head()
        again = verra.import_verra(svc, *files)
        assert (again.created_projects, again.created_issuances, again.unchanged_issuances) == (0, 0, 200)
        assert svc.published_head() == head                       # nothing written the second time
        out = verra.export_verra(svc, tmp_path / "out")
        assert out["projects"].read_bytes() == files[0].read_bytes()
        assert out["transactions"].read_bytes() == files[1].read_bytes()
        v = svc.verify_journal()
        assert v["ok"], v
        # a retired Verra block is findable by our serial lookup and carries its beneficiary
        lindblad = [r for r in svc.project_page(svc.list_projects(q="Tongxu")[0]["id"])["retirements"]
                    if r["beneficiary"].startswith("Lindblad")]
        assert lindblad and lindblad[0]["quantity"] == 28571
    finally:
        svc.db.dispose()


def _edit(src, dest, edit):
    rows = list(csv.reader(open(src, newline="", encoding="utf-8")))
    edit(rows)
    with open(dest, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    return dest


def test_bad_rows_are_reported_by_row_and_left_out(files, sqlite_url, tmp_path):
    col = verra.TRANSACTION_COLUMNS.index

    def edit(rows):
        rows[1][col("Serial Number")] = "19385-941467007-VCS-VCU"                       # row 2: malformed
        rows[2][col("Quantity Issued")] = "188"                                       # row 3: 187 in the range
        rows[4][col("Serial Number")] = rows[5][col("Serial Number")]                  # rows 5 and 6 overlap
        rows[4][col("Quantity Issued")] = rows[5][col("Quantity Issued")]
    bad = _edit(files[1], tmp_path / "transactions.csv", edit)
    svc = make_service(sqlite_url)
    try:
        report = verra.import_verra(svc, files[0], bad)
        rejected = {r["row"]: r["reason"] for r in report.rejected}
        assert set(rejected) == {2, 3, 5, 6}
        assert "malformed Verra serial" in rejected[2] and "disagrees with the serial range" in rejected[3]
        assert "overlaps" in rejected[5] and "overlaps" in rejected[6]
        assert report.created_issuances == 196 and report.reconciled
        assert svc.verify_journal()["ok"]
    finally:
        svc.db.dispose()


def test_other_formats_are_refused(files, sqlite_url, shared):
    svc = make_service(sqlite_url)
    try:
        art = shared("registry_offsetsdb_samples", "art-trees", "issuances.csv")
        with pytest.raises(ImportFormatError, match="expected the columns Issuance Date"):
            verra.import_verra(svc, files[0], art)
        with pytest.raises(ImportFormatError, match="not a Verra projects export"):
            verra.import_verra(svc, files[1], files[1])
        assert svc.published_head()["length"] == 0
    finally:
        svc.db.dispose()


def test_cli_import_and_export(files, tmp_path, monkeypatch):
    monkeypatch.setenv("REDDPLUS_REGISTRY_SECRET_KEY", SECRET)
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    r = CliRunner().invoke(cli, ["registry", "import", "verra", str(files[0]), str(files[1]), "--database-url", url,
                                 "--json"])
    assert r.exit_code == 0, r.output
    import json
    assert json.loads(r.output)["created_issuances"] == 200
    r = CliRunner().invoke(cli, ["registry", "export", "verra", "--out", str(tmp_path / "x"), "--database-url", url])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "x" / "transactions.csv").read_bytes() == files[1].read_bytes()
    r = CliRunner().invoke(cli, ["registry", "export", "verra", "--out", str(tmp_path / "x"), "--database-url", url])
    assert r.exit_code != 0 and "exists" in r.output
    shutil.rmtree(tmp_path / "x")
