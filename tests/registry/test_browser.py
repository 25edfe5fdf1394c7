"""Browser test: Playwright driving Debian's Chromium against uvicorn on loopback. Issue credits,
retire part of them through the account holder's dashboard form, and see the public page update."""

from pathlib import Path

import pytest

from reddplus.registry.service import OPERATOR

from .conftest import ServerThread, make_app

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.mark.chromium
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed (make system-deps)")
def test_retire_through_the_dashboard(sqlite_url):
    from playwright.sync_api import sync_playwright

    app = make_app(sqlite_url)
    svc = app.state.service
    token = svc.create_token("holder", "Municipality of Example")
    holder = svc.authenticate(token)
    prj = svc.create_project(OPERATOR, "Browser project", "BR")["id"]
    import datetime as dt
    iss = svc.issue(OPERATOR, prj, dt.date(2022, 1, 1), dt.date(2022, 12, 31), 1000, 20, holder.account_id)
    block = iss["blocks"][0]
    with ServerThread(app) as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            page = browser.new_page()
            page.set_default_timeout(15000)
            page.goto(f"{server.url}/projects/{prj}")
            assert page.inner_text("#issued") == "1,000" and page.inner_text("#retired") == "0"
            assert page.inner_text("#available") == "800" and page.inner_text("#buffer") == "200"

            page.goto(f"{server.url}/login")
            page.fill("#token", token)
            page.click("#signin")
            page.wait_for_url(f"{server.url}/account")
            assert page.inner_text("#balance") == "800"
            page.select_option("#block_id", str(block["id"]))
            page.fill("#quantity", "150")
            page.fill("#beneficiary", "Schools of Example")
            page.fill("#reason", "2023 emissions")
            page.click("#retire")
            page.wait_for_selector("#message")
            assert "RDDP-RET-" in page.inner_text("#message")
            assert page.inner_text("#balance") == "650"

            page.goto(f"{server.url}/projects/{prj}")
            assert page.inner_text("#retired") == "150" and page.inner_text("#available") == "650"
            assert "Schools of Example" in page.inner_text("#retirements")

            page.goto(f"{server.url}/journal")
            assert page.inner_text("#verdict").startswith("VERIFIED")
            assert page.inner_text("#head") == svc.published_head()["head"]
        finally:
            browser.close()
    assert svc.project_totals(prj)["retired"] == 150
    svc.db.dispose()


DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.chromium
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed (make system-deps)")
def test_buyer_pages_search_pagination_map_and_certificate(sqlite_url, shared, tmp_path):
    """A buyer searches the real Verra sample (imported), pages through it with the cursor, opens a
    project page with its boundary map and totals, and a retirement certificate. Screenshots of the
    main pages go to tmp_path, or to docs/ for the README with REDDPLUS_SCREENSHOTS=1."""
    import os
    from playwright.sync_api import sync_playwright

    from reddplus.registry.interop import verra

    app = make_app(sqlite_url)
    svc = app.state.service
    verra.import_verra(svc, shared("registry_offsetsdb_samples", "verra", "projects.csv"),
                       shared("registry_offsetsdb_samples", "verra", "transactions.csv"))
    import datetime as dt
    prj = svc.create_project(OPERATOR, "Madre de Dios REDD+ (example)", "PE", proponent="Example SAC",
                             standard="VCS", methodology="VM0048", labels=["CCB"], status="Registered",
                             crediting_period_start="2021-01-01", crediting_period_end="2050-12-31",
                             estimated_annual_ers=1234567,
                             boundary={"type": "Polygon", "coordinates": [[[-69.95, -12.55], [-69.55, -12.6],
                                                                          [-69.4, -12.3], [-69.7, -12.1],
                                                                          [-69.95, -12.55]]]})["id"]
    acc = svc.create_account(OPERATOR, "Example SAC")["id"]
    iss = svc.issue(OPERATOR, prj, dt.date(2021, 1, 1), dt.date(2021, 12, 31), 1250000, 12, acc)
    svc.add_ccb_verification(OPERATOR, prj, "2021-01-01", "2022-12-31", "SCS Global Services", "2023-04-01", "GOLD",
                             ["GL3"])
    svc.label_issuance(OPERATOR, iss["id"], "CCB")
    ret = svc.retire(OPERATOR, iss["blocks"][0]["id"], 25000, "Municipalidad de Tambopata", "2024 emissions")
    totals = svc.project_totals(prj)
    shots = DOCS if os.environ.get("REDDPLUS_SCREENSHOTS") == "1" else tmp_path
    shots.mkdir(exist_ok=True)
    with ServerThread(app) as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(15000)
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{server.url}/")
            rows = page.locator("#projects tr").count() - 1
            assert rows == 25 and page.locator("#next-page").count() == 1
            seen = set(page.locator("#projects td:first-child").all_inner_texts())
            page.click("#next-page")
            more = set(page.locator("#projects td:first-child").all_inner_texts())
            assert seen.isdisjoint(more) and len(more) == 25
            page.fill("#country", "BR")
            page.fill("#q", "")
            page.click("#search-button")
            countries = page.locator("#projects tr td:nth-child(4)").all_inner_texts()
            assert countries and set(countries) == {"BR"}
            page.goto(f"{server.url}/?methodology=VM0048&label=CCB")
            assert page.locator("#projects td:nth-child(2)").all_inner_texts() == ["Madre de Dios REDD+ (example)"]
            page.screenshot(path=str(shots / "registry-search.png"), full_page=False)

            page.goto(f"{server.url}/projects/{prj}")
            page.wait_for_selector("#map[data-ready='1']")
            assert page.locator("#map path.leaflet-interactive").count() == 1      # the boundary polygon
            assert page.inner_text("#issued") == "1,250,000" and page.inner_text("#retired") == "25,000"
            assert page.inner_text("#annual-ers") == "1,234,567 tCO2e/yr"
            parts = [int(page.inner_text(f"#{k}").replace(",", "")) for k in ("retired", "cancelled", "buffer",
                                                                              "available")]
            assert sum(parts) == totals["issued"] == 1250000
            assert "Municipalidad de Tambopata" in page.inner_text("#retirements")
            assert "CCB" in page.inner_text("#issuances") and "GL3" in page.inner_text("#ccb")
            page.screenshot(path=str(shots / "registry-project.png"), full_page=True)

            page.click(f"text={ret['certificate_number']}")
            page.wait_for_selector("#certificate-number")
            assert page.inner_text("#quantity") == "25,000 tCO2e" and page.inner_text("#labels") == "CCB"
            assert page.inner_text("#check").startswith("CONFIRMED")
            page.screenshot(path=str(shots / "registry-certificate.png"), full_page=False)
            assert errors == [], errors
        finally:
            browser.close()
    svc.db.dispose()
