"""The interactive views in a real headless Chromium: the head view redraws when the head
or layer changes and hovering a token keeps only its lines; the heatmap's hover read-out
shows the right weight; the time-lapse slider switches frames; views inserted the way
JupyterLab inserts outputs still start, independently of each other; nothing is fetched."""

from __future__ import annotations

import numpy as np
import pytest
from _browsers import CHROMIUM, CHROMIUM_HELP
from _browsers import CHROMIUM_ARGS as ARGS
from _viz_helpers import causal_attention

from tinytorch.viz import attention_heatmap, attention_timelapse, head_view

if CHROMIUM is None:
    pytest.skip(CHROMIUM_HELP, allow_module_level=True)
sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="browser tests need Playwright for Python "
    "(pip install playwright; the browser itself comes from apt, never playwright install)",
)

TEXT = "First Citizen:\nBefore we proceed any further, hear me <speak> & 'all'.\nFirst"[:64]


@pytest.fixture(scope="module")
def browser(tmp_path_factory, playwright_session):
    context = playwright_session.chromium.launch_persistent_context(
        str(tmp_path_factory.mktemp("chromium-profile")),
        executable_path=CHROMIUM,
        args=ARGS,
        headless=True,
        viewport={"width": 1200, "height": 1000},
    )
    yield context
    context.close()


@pytest.fixture
def open_page(browser, tmp_path):
    """open_page(html) -> page; fails the test on any JS error or any non-local request."""
    pages = []

    def _open(markup: str):
        page = browser.new_page()
        page.errors, page.requests = [], []
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
        page.on("request", lambda r: page.requests.append(r.url))
        path = tmp_path / f"view{len(pages)}.html"
        path.write_text(
            f'<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>{markup}</body></html>', encoding="utf-8"
        )
        page.goto(path.as_uri())
        pages.append(page)
        return page

    yield _open
    for page in pages:
        assert page.errors == [], page.errors
        assert all(u.startswith(("file:", "data:")) for u in page.requests), page.requests
        page.close()


def _expected_lines(w: np.ndarray, threshold: float) -> set[tuple[int, int]]:
    """(i, j) pairs the head view should draw: the JS sees weights as (round(sqrt(w)*255)/255)^2."""
    q = (np.round(np.sqrt(np.clip(w, 0, 1)) * 255) / 255) ** 2
    T = w.shape[-1]
    keep = (q >= threshold) & np.tril(np.ones((T, T), dtype=bool))
    return {(int(i), int(j)) for i, j in zip(*np.nonzero(keep))}


def _drawn(page, root="") -> list[tuple[int, int, int, bool]]:
    return [
        tuple(x)
        for x in page.evaluate(
            """sel => [...document.querySelectorAll(sel + ' line.tt-line')].map(
             e => [+e.dataset.h, +e.dataset.i, +e.dataset.j, e.style.display !== 'none'])""",
            root,
        )
    ]


def test_head_view_follows_head_layer_and_hover(open_page):
    w = causal_attention(4, 4, 64, seed=3)
    page = open_page(head_view(w, TEXT, threshold=0.02).html)
    root = page.locator("[data-tt-root]")
    assert page.inner_text(".tt-info").startswith("hover a token")  # the script replaced the no-JS note

    lines = _drawn(page)
    assert {(i, j) for h, i, j, _ in lines} == _expected_lines(w[0, 0], 0.02)
    assert {h for h, *_ in lines} == {0}

    page.select_option("select.tt-head", "2")
    lines = _drawn(page)
    assert {h for h, *_ in lines} == {2}
    assert {(i, j) for h, i, j, _ in lines} == _expected_lines(w[0, 2], 0.02)
    assert root.get_attribute("data-head") == "2"

    page.select_option("select.tt-layer", "3")
    lines = _drawn(page)
    assert {(i, j) for h, i, j, _ in lines} == _expected_lines(w[3, 2], 0.02)
    assert root.get_attribute("data-layer") == "3"

    # Hover query token 40: only its lines stay, and the key column shows its weights.
    page.hover("g.tt-q[data-i='40']")
    visible = [(i, j) for h, i, j, on in _drawn(page) if on]
    assert visible and {i for i, _ in visible} == {40}
    assert {j for _, j in visible} == {j for i, j in _expected_lines(w[3, 2], 0.02) if i == 40}
    shown = page.evaluate("[...document.querySelectorAll('text.tt-kval')].map(e => e.textContent)")
    for j in range(41):
        if w[3, 2, 40, j] >= 0.01:
            assert float(shown[j]) == pytest.approx(w[3, 2, 40, j], abs=0.006)
    assert "query 40" in page.inner_text(".tt-info")

    # Hover key token 5: the queries that attend to it.
    page.hover("g.tt-k[data-i='5']")
    visible = [(i, j) for h, i, j, on in _drawn(page) if on]
    assert visible and {j for _, j in visible} == {5}

    page.mouse.move(1, 1)  # leave: everything visible again
    assert all(on for *_, on in _drawn(page))

    page.select_option("select.tt-head", "all")
    lines = _drawn(page)
    assert {h for h, *_ in lines} == {0, 1, 2, 3}
    assert len(lines) == sum(len(_expected_lines(w[3, h], 0.02)) for h in range(4))
    strokes = page.evaluate(
        "new Set([...document.querySelectorAll('line.tt-line')].map(e => e.getAttribute('stroke'))).size"
    )
    assert strokes == 4  # one colour per head


def test_head_view_click_pins_the_selection(open_page):
    w = causal_attention(1, 2, 16, seed=1)
    page = open_page(head_view(w, "To be, or not to", threshold=0.0).html)
    page.click("g.tt-q[data-i='9']")
    page.hover("g.tt-q[data-i='3']")  # pinned: hovering elsewhere changes nothing
    assert {i for h, i, j, on in _drawn(page) if on} == {9}
    page.click("g.tt-q[data-i='9']")
    page.mouse.move(1, 1)
    assert all(on for *_, on in _drawn(page))


def test_heatmap_hover_reads_out_the_weight(open_page):
    w = causal_attention(2, 3, 32, seed=2)
    page = open_page(attention_heatmap(w, TEXT[:32]).html)
    assert page.evaluate("document.querySelector('.tt-readout').textContent") == "hover a cell to read its weight"
    panel = page.locator("image[data-layer='1'][data-head='2']")
    box = panel.bounding_box()
    i, j = 20, 7
    page.mouse.move(box["x"] + (j + 0.5) / 32 * box["width"], box["y"] + (i + 0.5) / 32 * box["height"])
    text = page.evaluate("document.querySelector('.tt-readout').textContent")
    assert "layer 1 \u00b7 head 2" in text and f"query {i}" in text and f"key {j}" in text
    assert float(text.rsplit(":", 1)[1]) == pytest.approx(w[1, 2, i, j], abs=0.003)
    page.mouse.move(box["x"] + (25 + 0.5) / 32 * box["width"], box["y"] + (3 + 0.5) / 32 * box["height"])
    assert "masked (future)" in page.evaluate("document.querySelector('.tt-readout').textContent")


def test_timelapse_slider_and_play(open_page):
    snaps = [(50 * k, causal_attention(2, 2, 16, seed=k)) for k in range(4)]
    page = open_page(attention_timelapse(snaps, "To be, or not to", ms_per_frame=40).html)

    def visible_steps():
        return page.evaluate(
            "[...document.querySelectorAll('g.tt-frame')].filter(g => g.style.display !== 'none')"
            ".map(g => +g.dataset.step)"
        )

    assert visible_steps() == [150]
    page.locator("input.tt-step").evaluate("e => { e.value = 1; e.dispatchEvent(new Event('input')); }")
    assert visible_steps() == [50]
    assert "step 50" in page.inner_text(".tt-step-label")
    page.click("button.tt-play")
    page.wait_for_function("document.querySelector('[data-tt-root]').dataset.frame === '3'", timeout=5000)
    assert visible_steps() == [150]


def test_views_start_when_inserted_like_jupyterlab_does(open_page):
    """JupyterLab sets innerHTML on an output node and then re-creates each <script> so it
    runs; two head views on one page must each drive their own drawing."""
    a = head_view(causal_attention(1, 2, 8, seed=5), "abcdefgh", threshold=0.0)
    b = head_view(causal_attention(1, 2, 8, seed=6), "ijklmnop", threshold=0.0)
    page = open_page("")
    page.evaluate(
        """htmls => { for (const h of htmls) {
        const host = document.createElement('div'); host.className = 'output'; host.innerHTML = h;
        document.body.appendChild(host);
        for (const s of [...host.querySelectorAll('script')]) {
          const c = document.createElement('script');
          for (const a of s.attributes) c.setAttribute(a.name, a.value);
          c.textContent = s.textContent; s.parentNode.replaceChild(c, s);
        } } }""",
        [a.html, b.html],
    )
    page.wait_for_function("document.querySelectorAll('[data-tt-root][data-tt-ready]').length === 2")
    roots = page.locator("[data-tt-root]")
    assert roots.nth(0).get_attribute("data-lines") == "36" and roots.nth(1).get_attribute("data-lines") == "36"
    roots.nth(1).locator("select.tt-head").select_option("1")
    assert roots.nth(0).get_attribute("data-head") == "0" and roots.nth(1).get_attribute("data-head") == "1"
