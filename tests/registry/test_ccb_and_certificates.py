"""The CCB label (issue 14.4: CCB v3.1 verification record, 409 without one, kept through split,
transfer and retire, on blocks, pages and CSV, journalled) and retirement certificates (HTML, PDF
read back with pdftotext, verification against the journal)."""

import csv
import io
import json
import shutil
import subprocess

import pytest

V = "/api/v1"


@pytest.fixture
def ccb(api):
    """A VCS + CCB project with a 2021 and a 2023 issuance held by alice."""
    c = api.client
    prj = c.post(f"{V}/projects", headers=api.admin, json={
        "name": "Madre de Dios REDD+", "country": "PE", "standard": "VCS", "methodology": "VM0048",
        "labels": ["CCB"], "proponent": "Example SAC", "crediting_period_start": "2021-01-01",
        "crediting_period_end": "2050-12-31", "estimated_annual_ers": 1234567,
        "boundary": {"type": "Polygon", "coordinates": [[[-70.1, -12.5], [-69.6, -12.5], [-69.6, -12.1],
                                                         [-70.1, -12.1], [-70.1, -12.5]]]}})
    assert prj.status_code == 201, prj.text
    p = prj.json()
    assert (p["standard"], p["methodology"], p["labels"]) == ("VCS", "VM0048", ["CCB"])
    iss = {}
    for year in (2021, 2023):
        r = c.post(f"{V}/projects/{p['id']}/issuances", headers=api.admin, json={
            "vintage_start": f"{year}-01-01", "vintage_end": f"{year}-12-31", "quantity": 1000, "buffer_percent": 10,
            "account_id": api.alice_id})
        iss[year] = r.json()
    return p, iss


def test_ccb_label_needs_a_covering_verification(api, ccb):
    c, (p, iss) = api.client, ccb
    head = c.get(f"{V}/journal/head").json()
    r = c.post(f"{V}/issuances/{iss[2021]['id']}/labels", headers=api.admin, json={"label": "CCB"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "no_covering_ccb_verification"
    assert c.get(f"{V}/journal/head").json() == head
    bad = c.post(f"{V}/projects/{p['id']}/ccb-verifications", headers=api.admin, json={
        "period_start": "2021-01-01", "period_end": "2022-12-31", "body": "SCS Global Services", "date": "2023-04-01",
        "outcome": "GOLD", "gold_levels": []})
    assert bad.status_code == 422
    v = c.post(f"{V}/projects/{p['id']}/ccb-verifications", headers=api.admin, json={
        "period_start": "2021-01-01", "period_end": "2022-12-31", "body": "SCS Global Services", "date": "2023-04-01",
        "outcome": "GOLD", "gold_levels": ["GL3", "GL1"]})
    assert v.status_code == 201 and v.json()["gold_levels"] == ["GL1", "GL3"]
    assert c.post(f"{V}/projects/{p['id']}/ccb-verifications", headers=api.alice, json={
        "period_start": "2021-01-01", "period_end": "2022-12-31", "body": "x", "date": "2023-04-01",
        "outcome": "APPROVED"}).status_code == 403
    # 2023 lies outside the verified period
    r = c.post(f"{V}/issuances/{iss[2023]['id']}/labels", headers=api.admin, json={"label": "CCB"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "no_covering_ccb_verification"
    assert c.post(f"{V}/issuances/{iss[2021]['id']}/labels", headers=api.admin,
                  json={"label": "GOLD"}).status_code == 422


def test_label_is_retroactive_and_stays_with_the_credits(api, ccb):
    c, (p, iss) = api.client, ccb
    holder = iss[2021]["blocks"][0]
    # spend first (split, transfer, retire), label afterwards
    t = c.post(f"{V}/transfers", headers=api.alice, json={"block_id": holder["id"], "quantity": 300,
                                                          "to_account_id": api.bob_id}).json()
    moved = t["transferred_block"]
    ret = c.post(f"{V}/retirements", headers=api.bob, json={"block_id": moved["id"], "quantity": 100,
                                                            "beneficiary": "Acme", "reason": "2024"}).json()
    assert ret["labels"] == []
    c.post(f"{V}/projects/{p['id']}/ccb-verifications", headers=api.admin, json={
        "period_start": "2020-01-01", "period_end": "2022-12-31", "body": "SCS Global Services", "date": "2023-04-01",
        "outcome": "APPROVED", "gold_levels": []})
    r = c.post(f"{V}/issuances/{iss[2021]['id']}/labels", headers=api.admin, json={"label": "CCB"})
    assert r.status_code == 201 and r.json()["labels"] == ["CCB"]
    line = api.svc.journal_lines(after=api.svc.published_head()["length"] - 1)[0]
    assert line["kind"] == "label" and json.loads(line["payload"])["args"] == {"issuance_id": iss[2021]["id"],
                                                                             "label": "CCB"}
    blocks = c.get(f"{V}/public/blocks", params={"project_id": p["id"]}).json()
    by_iss = {b["issuance_id"]: set() for b in blocks}
    for b in blocks:
        by_iss[b["issuance_id"]].add(tuple(b["labels"]))
    assert by_iss == {iss[2021]["id"]: {("CCB",)}, iss[2023]["id"]: {()}}
    # later spends keep it
    rest = [b for b in t["blocks"] if b["account_id"] == api.alice_id][0]
    s = c.post(f"{V}/splits", headers=api.alice, json={"block_id": rest["id"], "quantity": 7}).json()
    assert all(b["labels"] == ["CCB"] for b in s["blocks"])
    ret2 = c.post(f"{V}/retirements", headers=api.alice, json={"block_id": s["blocks"][0]["id"], "quantity": 7,
                                                               "beneficiary": "B", "reason": "r"}).json()
    assert ret2["labels"] == ["CCB"]
    rows = list(csv.DictReader(io.StringIO(c.get(f"{V}/public/export/retirements.csv",
                                                 params={"project_id": p["id"]}).text)))
    assert [r["labels"] for r in rows] == ["CCB", "CCB"]           # the early retirement is labelled too
    rows = list(csv.DictReader(io.StringIO(c.get(f"{V}/public/export/blocks.csv",
                                                 params={"project_id": p["id"]}).text)))
    assert {r["labels"] for r in rows} == {"CCB", ""}
    page = c.get(f"/projects/{p['id']}").text
    assert 'class="labels">CCB<' in page and "SCS Global Services" in page and "1,234,567" in page
    assert c.get(f"{V}/journal/verify/full", headers=api.admin).json()["ok"]
    assert c.get(f"{V}/invariants").json()["ok"]


def test_certificate_html_pdf_and_verification(api, ccb, tmp_path):
    c, (_, iss) = api.client, ccb
    r = c.post(f"{V}/retirements", headers=api.alice, json={
        "block_id": iss[2021]["blocks"][0]["id"], "quantity": 2500 // 5, "beneficiary": "Municipalidad de Tambopata",
        "reason": "2024 emissions", "details": "scope 1"}).json()
    assert r["certificate_url"] == f"/certificates/{r['id']}"
    html = c.get(r["certificate_url"])
    assert html.status_code == 200
    line = api.svc.journal_lines(after=r["journal_seq"] - 1, limit=1)[0]
    for text in ("Municipalidad de Tambopata", "2024 emissions", "500 tCO2e", r["serial"], line["hash"],
                 "Madre de Dios REDD+", "2021-01-01 to 2021-12-31", "CONFIRMED"):
        assert text in html.text, text
    check = c.get(f"{V}/public/certificates/{r['id']}/verify").json()
    assert check["ok"] and check["journal_hash"] == line["hash"]
    pdf = c.get(f"/certificates/{r['id']}.pdf")
    assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler's pdftotext is not installed")
    (tmp_path / "c.pdf").write_bytes(pdf.content)
    out = subprocess.run(["pdftotext", "-layout", str(tmp_path / "c.pdf"), "-"], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    flat = " ".join(out.split())
    for text in (r["certificate_number"], "Municipalidad de Tambopata", "500 tCO2e", "2024 emissions",
                 "Madre de Dios REDD+"):
        assert text in flat, text
    # the serial and hash may wrap across lines in the PDF: compare without spaces
    assert r["serial"] in flat.replace(" ", "") and line["hash"] in flat.replace(" ", "")
    assert f"/api/v1/public/certificates/{r['id']}/verify" in flat.replace(" ", "")
    png = subprocess.run(["pdftoppm", "-r", "40", "-png", "-singlefile", str(tmp_path / "c.pdf"),
                          str(tmp_path / "c")], capture_output=True, timeout=60)
    assert png.returncode == 0 and (tmp_path / "c.png").stat().st_size > 1000


def test_certificate_of_a_missing_retirement_is_404(api):
    for path in ("/certificates/999", "/certificates/999.pdf", f"{V}/public/certificates/999/verify"):
        r = api.client.get(path)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", path


def test_tampered_retirement_fails_certificate_verification(api):
    from sqlalchemy import text

    r = api.client.post(f"{V}/retirements", headers=api.alice, json={
        "block_id": api.issuance["blocks"][0]["id"], "quantity": 5, "beneficiary": "Real buyer", "reason": "r"}).json()
    with api.svc.db.write_engine.begin() as conn:
        conn.execute(text("UPDATE retirements SET beneficiary = 'Someone else' WHERE id = :i"), {"i": r["id"]})
    check = api.client.get(f"{V}/public/certificates/{r['id']}/verify").json()
    assert check["ok"] is False and "differs" in check["message"]
