"""Fixtures for the grading tests: real nbgrader course folders, and the site tests' built site
and Chromium (imported from tests/site/conftest.py, so one build serves both folders)."""

import importlib.util
import os
import shutil
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS / "site"))  # the site fixtures' helpers (_site_helpers, _site_fixtures)
sys.path.insert(0, str(TESTS / "course"))  # _runner (the course folder)

_spec = importlib.util.spec_from_file_location("site_conftest", TESTS / "site" / "conftest.py")
_site = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_site)
built_site, site_dir, chromium_browser = _site.built_site, _site.site_dir, _site.chromium_browser  # noqa: F401


@pytest.fixture(scope="session")
def nbgrader_ready():
    """Skip without nbgrader; fail without the corpus (autograding refuses without it, by design)."""
    pytest.importorskip("nbgrader", reason="pip install -e '.[dev]' (it pins nbgrader==0.9.6)")
    if not shutil.which("nbgrader", path=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")):
        pytest.skip("the nbgrader command is not installed")
    from coursetools.grading_checks import GradingRefused, find_corpus

    try:
        return find_corpus()
    except GradingRefused as error:
        pytest.fail(f"the grading tests need the tiny Shakespeare corpus: {error}", pytrace=False)
