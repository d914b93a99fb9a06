"""The Airflow UI in headless Chromium: log in, trigger from the form, watch the run succeed.

Drives Debian's ``/usr/bin/chromium`` with Playwright; no browser is downloaded.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright

from stack import airflow_ui
from stack.settings import REPO, Settings
from tests.ui.airflow_api import DAG_ID, AirflowApi

pytestmark = [pytest.mark.stack, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO / "tests" / "artifacts"
SCREENSHOT = ARTIFACTS / "grid.png"
BATCH_SIZE = 30
RUN_TIMEOUT_MS = 480_000
UI_TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def browser() -> Iterator[BrowserContext]:
    """A headless Chromium with a fresh profile."""
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: run make system (apt-get install chromium)"
    with (
        tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile,
        sync_playwright() as playwright,
    ):
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1500, "height": 900},
        )
        context.set_default_timeout(UI_TIMEOUT_MS)
        # expect() has its own 5 s default, too short for an api-server on a busy 2-core box.
        expect.set_options(timeout=UI_TIMEOUT_MS)
        yield context
        context.close()


@pytest.fixture
def page(browser: BrowserContext, airflow_ui_settings: Settings) -> Iterator[Page]:
    """A browser tab logged in to the Airflow UI as the admin user."""
    base = airflow_ui.base_url(airflow_ui_settings)
    user = airflow_ui.login(airflow_ui_settings)
    tab = browser.new_page()
    tab.goto(f"{base}/")
    expect(tab).to_have_url(re.compile(r"/auth/login"))
    tab.locator("input[name=username]").fill(user.username)
    tab.locator("input[name=password]").fill(user.password)
    tab.get_by_role("button", name="Sign in").click()
    expect(tab).to_have_url(f"{base}/")
    yield tab
    tab.close()


def test_trigger_from_the_form_and_watch_the_run_succeed(
    page: Page, api: AirflowApi, airflow_ui_settings: Settings
) -> None:
    base = airflow_ui.base_url(airflow_ui_settings)
    page.goto(f"{base}/dags/{DAG_ID}")
    page.get_by_role("button", name="Trigger Dag").click()
    form = page.get_by_role("dialog")
    expect(form).to_contain_text("Run Parameters")
    batch_size = form.locator("input[name=element_batch_size]")
    batch_size.fill(str(BATCH_SIZE))
    form.get_by_role("button", name="Trigger", exact=True).click()
    expect(page.get_by_text("Dag run has been successfully triggered.").first).to_be_visible()

    expect(page).to_have_url(re.compile(rf"/dags/{DAG_ID}/runs/"))
    run_id = unquote(page.url.split("/runs/", 1)[1].split("/")[0].split("?")[0])
    run = api.run(run_id)
    assert run["run_type"] == "manual"
    assert run["conf"]["batch_size"] == BATCH_SIZE, run["conf"]

    header = page.get_by_role("heading", name=run_id, exact=True).locator("xpath=..")
    badge = header.get_by_test_id("state-badge")
    expect(badge).to_have_text(re.compile("Success|Failed"), timeout=RUN_TIMEOUT_MS)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))
    assert badge.inner_text().strip() == "Success", api.explain(api.wait_for_run(run_id, 0))
    final = api.run(run_id)
    assert final["state"] == "success"
    assert final["conf"]["batch_size"] == BATCH_SIZE
    assert SCREENSHOT.stat().st_size > 10_000
