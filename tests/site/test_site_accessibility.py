"""The landing page and the "Your work" panel pass an axe-core audit (WCAG 2.1 AA + best
practices) with no serious or critical violation, in Chromium against the built site; and the
storage notice is said without covering the notebook.

JupyterLab's own interface is not ours to fix: on notebook pages only the elements
student-work.js adds are audited.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _axe import axe_violations, describe
from _site_fixtures import SiteServer, new_context
from _site_helpers import site_under_test

WORK_UI = ["#tinygpt-work-button", "#tinygpt-work-panel", "#tinygpt-work-toast", "#tinygpt-update-notice"]


@pytest.fixture(scope="module")
def site(request) -> Path:
    return site_under_test(request)


@pytest.fixture()
def page(chromium_browser, site):
    outside: list[str] = []
    with SiteServer(site) as server:
        context = new_context(chromium_browser, outside, viewport={"width": 1100, "height": 750})
        context.route("**/static/pyodide/**", lambda route: route.abort())  # no kernel needed
        page = context.new_page()
        page.server = server
        yield page
        context.close()
    assert not outside, outside


def _open_notebook(page, name: str = "02_attention.ipynb"):
    page.goto(page.server.url + "notebooks/index.html?path=" + name)
    page.wait_for_function("() => document.querySelectorAll('.jp-Notebook .jp-Cell').length > 1", timeout=90_000)
    page.wait_for_selector("#tinygpt-work-button", timeout=30_000)


def test_landing_page_has_no_serious_accessibility_violation(page):
    page.goto(page.server.url)
    page.wait_for_selector("main, h1")
    violations = axe_violations(page)
    assert not violations, describe(violations)


def test_your_work_panel_has_no_serious_accessibility_violation(page):
    _open_notebook(page)
    page.keyboard.press("Control+s")  # some saved work, so the panel lists a notebook
    page.wait_for_function("() => document.title.length > 0")
    page.click("#tinygpt-work-button")
    page.wait_for_selector("#tinygpt-work-panel:not([hidden])")
    page.wait_for_function("() => document.getElementById('tinygpt-work-last-export').textContent.length > 0")
    violations = axe_violations(page, include=WORK_UI)
    assert not violations, describe(violations)


def test_your_work_panel_works_from_the_keyboard(page):
    _open_notebook(page)
    button = page.locator("#tinygpt-work-button")
    button.focus()
    page.keyboard.press("Enter")
    panel = page.locator("#tinygpt-work-panel")
    panel.wait_for(state="visible")
    # The panel takes the focus (a dialog), and Escape closes it and gives the focus back.
    assert page.evaluate("document.getElementById('tinygpt-work-panel').contains(document.activeElement)")
    page.keyboard.press("Escape")
    panel.wait_for(state="hidden")
    assert page.evaluate("document.activeElement && document.activeElement.id") == "tinygpt-work-button"


def _covered_cells(page) -> int:
    """How many notebook cells an element of student-work.js overlaps on screen."""
    return page.evaluate(
        """(ids) => {
            const boxes = ids.map((id) => document.querySelector(id)).filter((e) => e && e.offsetParent !== null)
                             .map((e) => e.getBoundingClientRect());
            const cells = [...document.querySelectorAll('.jp-Notebook .jp-Cell')].map((c) => c.getBoundingClientRect());
            const hit = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
            return cells.filter((c) => boxes.some((b) => hit(b, c))).length;
        }""",
        ["#tinygpt-work-button", "#tinygpt-work-toast", "#tinygpt-update-notice"],
    )


def test_storage_notice_is_said_once_and_hides_nothing(page):
    _open_notebook(page)
    if page.evaluate("navigator.storage.persisted()"):
        pytest.skip("this browser kept the site's storage: there is no notice to give")
    # Save as Ctrl+S does, but wait until the copy is stored: the notice is about saved work.
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.reload()
    page.wait_for_function("() => document.querySelectorAll('.jp-Notebook .jp-Cell').length > 1", timeout=90_000)
    button = page.locator("#tinygpt-work-button")
    page.wait_for_function(
        "() => /storage/i.test(document.getElementById('tinygpt-work-button').textContent)", timeout=15_000
    )
    assert _covered_cells(page) == 0, "a notice covers the notebook"
    assert not page.locator("#tinygpt-work-toast").is_visible()
    # Said in the panel; once seen, the button goes back to its short label.
    button.click()
    assert page.locator("#tinygpt-work-storage").inner_text().startswith("Storage: may be cleared")
    page.click("#tinygpt-work-panel button.tinygpt-close")
    page.reload()
    page.wait_for_function("() => document.querySelectorAll('.jp-Notebook .jp-Cell').length > 1", timeout=90_000)
    page.wait_for_function(
        "() => document.getElementById('tinygpt-work-last-export').textContent.length > 0", timeout=15_000
    )
    assert button.inner_text() == "Your work"
    assert _covered_cells(page) == 0
