"""Fixtures every test folder may use.

Playwright's sync API allows one running instance per thread, so the browser tests of all
folders (site, viz) share this one session-wide instance instead of starting their own.
"""

import os

import pytest

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def playwright_session():
    """One started Playwright for the whole test session (skips without Playwright or Chromium)."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="pip install playwright (the dev extra); the browser comes from apt"
    )
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} not found: apt-get install chromium")
    with sync_api.sync_playwright() as playwright:
        yield playwright
