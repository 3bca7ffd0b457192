"""Shared fixtures for the site tests: one site build per test session, a local server, Chromium.

The site is built once (`built_site`, session scope) into a temporary folder with the real
build command. The corpus is $TINYGPT_CORPUS (CI passes the real Shakespeare) or a small text
made here. numpy is always self-hosted, as in every build: Pyodide's numpy wheel comes from
$TINYGPT_NUMPY_WHEEL (CI passes it), the download cache or a download. Without any of them
the fixture FAILS, naming the fix: no browser test quietly skips the course for lack of numpy.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from _site_helpers import CHROMIUM, CHROMIUM_ARGS, NUMPY_WHEEL_HELP, REPO, LocalServer  # noqa: F401


def _small_corpus(folder: Path) -> Path:
    """A few kB of play-like text: enough for the build and a tokenizer, not Shakespeare."""
    lines = []
    for act in range(1, 4):
        lines.append(f"ACT {act}.\n")
        for n in range(30):
            lines.append(f"FIRST CITIZEN:\nSpeak, speak: we are resolved rather to die than to famish, {n} times.\n\n")
            lines.append(f"SECOND CITIZEN:\nWould you proceed especially against Caius Marcius? Scene {act}.{n}\n\n")
    path = folder / "tinyshakespeare.txt"
    path.write_text("".join(lines), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def built_site(tmp_path_factory):
    """(site folder, BuildResult) of one real build, shared by every site test in the session."""
    from coursetools.pyodide_fetch import NumpyWheelMissing
    from coursetools.site import build_site

    root = tmp_path_factory.mktemp("course-site")
    corpus = os.environ.get("TINYGPT_CORPUS") or str(_small_corpus(root))
    try:
        result = build_site(out=root / "site", corpus=corpus, pyodide=os.environ.get("TINYGPT_PYODIDE_DIST") or None)
    except NumpyWheelMissing as error:
        pytest.fail(f"{NUMPY_WHEEL_HELP}\n{error}", pytrace=False)
    return result.out, result


@pytest.fixture(scope="session")
def site_dir(built_site) -> Path:
    return built_site[0]


@pytest.fixture(scope="session")
def server(site_dir):
    srv = LocalServer(site_dir)
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def chromium_browser(playwright_session):
    browser = playwright_session.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()
