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
