"""Every view passes an axe-core audit (WCAG 2.1 AA + best practices) with no serious or critical
violation, in real Chromium: text alternatives for the SVG figures, colour contrast, and the
head view's selectors and the time-lapse slider usable from the keyboard."""

from __future__ import annotations

import numpy as np
import pytest
from _axe import axe_violations, describe
from _browsers import CHROMIUM, CHROMIUM_ARGS, CHROMIUM_HELP
from _viz_helpers import causal_attention

from tinytorch.viz import (
    LiveLossCurve,
    attention_heatmap,
    attention_timelapse,
    head_view,
    loss_curves,
    next_token_view,
    positional_view,
    timelapse_small_multiples,
)

TEXT = "First Citizen:\nBefore we proceed any further, hear me <speak> & 'all'.\nFirst"[:32]


def _history(n=60):
    return [
        {
            "step": s,
            "train_loss": 4.0 * np.exp(-s / 20) + 1.5,
            "val_loss": 4.0 * np.exp(-s / 20) + 1.6 if s % 10 == 0 else None,
            "elapsed": 0.25 * s,
            "lr": 1e-3,
            "tokens_per_sec": 1e4,
        }
        for s in range(1, n + 1)
    ]


def _live():
    live = LiveLossCurve(ladder={"uniform": 4.17, "bigram": 2.48})
    return live.update(_history()).view


VIEWS = {
    "heatmap": lambda: attention_heatmap(causal_attention(1, 1, 32)[0, 0], TEXT),
    "heatmap grid": lambda: attention_heatmap(causal_attention(2, 2, 32), TEXT),
    "head view": lambda: head_view(causal_attention(2, 4, 32), TEXT),
    "time-lapse": lambda: attention_timelapse([(100 * k, causal_attention(2, 2, 32, seed=k)) for k in range(4)], TEXT),
    "time-lapse small multiples": lambda: timelapse_small_multiples(
        [(100 * k, causal_attention(2, 2, 32, seed=k)) for k in range(4)], TEXT
    ),
    "loss curves": lambda: loss_curves(_history(), ladder={"uniform": 4.17, "bigram": 2.48}),
    "live loss curve": _live,
    "positional": lambda: positional_view(T=32, d_model=32),
    "next-token": lambda: next_token_view(
        np.linspace(-2, 3, 11), prompt="hello", labels="\n !&<>abcde", k=5, temperature=[0.5, 1.0, 2.0]
    ),
}


@pytest.fixture(scope="module")
def browser(playwright_session):
    if CHROMIUM is None:
        pytest.skip(CHROMIUM_HELP)
    browser = playwright_session.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


def _page(browser, tmp_path, markup: str):
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    path = tmp_path / "view.html"
    # A plain accessible page (language, title, a main landmark) so that only the view is judged.
    path.write_text(
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>view</title></head>'
        f"<body><main>{markup}</main></body></html>",
        encoding="utf-8",
    )
    page.goto(path.as_uri())
    page.wait_for_function("() => [...document.querySelectorAll('[data-tt-root]')].every((r) => r.dataset.ttReady)")
    page.errors = errors
    return page


@pytest.mark.parametrize("name", list(VIEWS))
def test_view_has_no_serious_accessibility_violation(browser, tmp_path, name):
    page = _page(browser, tmp_path, VIEWS[name]().html)
    violations = axe_violations(page)
    assert not violations, f"{name}:\n{describe(violations)}"
    assert page.errors == []
    page.close()


@pytest.mark.parametrize("name", list(VIEWS))
def test_every_figure_has_a_text_alternative(name):
    """Each top-level <svg> is an image with a name: role="img" and an <title> / aria-label."""
    import re

    markup = VIEWS[name]().html
    svgs = re.findall(r"<svg\b[^>]*>", markup)
    assert svgs, f"{name} has no SVG"
    for tag in svgs[:1]:
        assert 'role="img"' in tag or 'role="group"' in tag, f"{name}: {tag[:120]}"
        assert "aria-label=" in tag or "aria-labelledby=" in tag, f"{name}: {tag[:120]}"


def _tab_to(page, selector: str, limit: int = 40):
    """Press Tab until `selector` has the keyboard focus (fails if it is not reachable)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} cannot be reached with the Tab key")


def test_head_view_works_from_the_keyboard(browser, tmp_path):
    page = _page(browser, tmp_path, head_view(causal_attention(2, 4, 32), TEXT).html)
    root = page.locator("[data-tt-root]")
    _tab_to(page, "select.tt-layer")
    page.keyboard.press("ArrowDown")
    assert root.get_attribute("data-layer") == "1", "the layer selector does not answer the keyboard"
    _tab_to(page, "select.tt-head")
    page.keyboard.press("ArrowDown")
    assert root.get_attribute("data-head") == "1"
    # The legend's buttons say which colour is which head, and show that head alone.
    _tab_to(page, 'button.tt-legend-head[data-h="3"]')
    page.keyboard.press("Enter")
    assert root.get_attribute("data-head") == "3"
    # The figure itself: arrows pick a token, left/right switch side, Enter pins, Escape clears.
    _tab_to(page, "svg.tt-headview-svg")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    info = page.locator(".tt-info")
    assert info.inner_text().startswith("query 1 ")
    assert int(root.get_attribute("data-shown")) == 2  # query 1 attends to keys 0 and 1 (causal)
    page.keyboard.press("ArrowRight")
    assert info.inner_text().startswith("queries attending to key 1 ")
    page.keyboard.press("Enter")
    assert "[pinned" in info.inner_text()
    page.keyboard.press("Escape")
    assert info.inner_text().startswith("hover a token")
    assert page.errors == []
    page.close()


def test_time_lapse_slider_works_from_the_keyboard(browser, tmp_path):
    view = attention_timelapse([(100 * k, causal_attention(2, 2, 32, seed=k)) for k in range(4)], TEXT)
    page = _page(browser, tmp_path, view.html)
    root = page.locator("[data-tt-root]")
    _tab_to(page, "input.tt-step")
    assert root.get_attribute("data-frame") == "3"
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    assert root.get_attribute("data-frame") == "1"
    assert page.locator("input.tt-step").get_attribute("aria-valuetext") == "step 100"
    assert page.locator("g.tt-frame").nth(1).is_visible() and not page.locator("g.tt-frame").nth(3).is_visible()
    page.close()


def _luminance(colour: str) -> float:
    if len(colour) == 4:  # #abc -> #aabbcc
        colour = "#" + "".join(c * 2 for c in colour[1:])
    rgb = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


@pytest.mark.parametrize("name", list(VIEWS))
def test_svg_text_contrast(name):
    """axe does not measure text inside SVG: every text colour on the white figure is >= 4.5:1."""
    import re

    markup = VIEWS[name]().html
    fills = set(re.findall(r'<(?:text|g)\b[^>]*\bfill="(#[0-9a-fA-F]{3}(?:[0-9a-fA-F]{3})?)"[^>]*>(?=[^<]*\S)', markup))
    fills |= set(re.findall(r'<g\b[^>]*\bfill="(#[0-9a-fA-F]{3}(?:[0-9a-fA-F]{3})?)"[^>]*>\s*<text', markup))
    assert fills, f"{name}: no text colours found"
    for fill in fills:
        ratio = 1.05 / (_luminance(fill) + 0.05)
        assert ratio >= 4.5, f"{name}: text colour {fill} on white has contrast {ratio:.2f}:1 (< 4.5:1)"
