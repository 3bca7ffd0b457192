"""A hand-in of an older course version is traced to the commit of content/ it was built from, so
the instructor can grade it against its own version (`grade init --content` from that commit)."""

import subprocess

import nbformat
import pytest

from coursetools.grading_checks import CONTENT, version_commit
from coursetools.notebooks import course_version


def test_an_older_version_is_traced_to_its_commit():
    name = "02_attention.ipynb"
    log = subprocess.run(["git", "-C", str(CONTENT), "log", "--format=%h", "--", name], capture_output=True, text=True)
    commits = log.stdout.split()
    if log.returncode != 0 or len(commits) < 2:
        pytest.skip("needs a git checkout with the notebook's history")
    older = nbformat.reads(
        subprocess.run(
            ["git", "-C", str(CONTENT), "show", f"{commits[-1]}:./{name}"], capture_output=True, text=True, check=True
        ).stdout,
        as_version=4,
    )
    found = version_commit(name, course_version(older))
    assert found is not None and found.split()[0] in commits, found
    assert version_commit(name, "0123456789ab") is None
