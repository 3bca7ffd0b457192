"""Shared fixtures for the course tests: the student and instructor builds of content/."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for _runner

from _runner import CONTENT  # noqa: E402

NOTEBOOKS = sorted(p.stem for p in CONTENT.glob("*.ipynb"))


@pytest.fixture(scope="session")
def builds(tmp_path_factory):
    """{"student": [paths], "instructor": [paths]} built once per test session."""
    from coursetools.notebooks import build_notebooks

    root = tmp_path_factory.mktemp("course_build")
    return {version: build_notebooks(CONTENT, root / version, version) for version in ("student", "instructor")}
