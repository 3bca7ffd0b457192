"""Fixtures every test folder may use.

Playwright's sync API allows one running instance per thread, so the browser tests of all
folders (site, viz) share this one session-wide instance instead of starting their own.
Chromium is found in one place, tests/_browsers.py.

Tiers: a test that drives a real browser is marked `browser`; one that builds the course site,
starts a browser, or runs notebooks in a kernel is marked `slow` (modules that do so without
these fixtures say `pytestmark = pytest.mark.slow`). `python -m pytest -m "not slow"` is the
quick loop; CI runs everything.
"""

import pytest
from _browsers import CHROMIUM, CHROMIUM_HELP


@pytest.fixture(scope="session")
def playwright_session():
    """One started Playwright for the whole test session (skips without Playwright or Chromium)."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="pip install playwright (the dev extra); the browser comes from apt"
    )
    if CHROMIUM is None:
        pytest.skip(CHROMIUM_HELP)
    with sync_api.sync_playwright() as playwright:
        yield playwright


def pytest_collection_modifyitems(items):
    for item in items:
        uses = set(item.fixturenames)  # fixtures used directly or through other fixtures
        if "playwright_session" in uses:
            item.add_marker(pytest.mark.browser)
        if item.get_closest_marker("browser") or "built_site" in uses:
            item.add_marker(pytest.mark.slow)
