"""Fixtures every test folder may use.

Playwright's sync API allows one running instance per thread, so the browser tests of all
folders (site, viz) share this one session-wide instance instead of starting their own.
Chromium is found in one place, tests/_browsers.py.
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
