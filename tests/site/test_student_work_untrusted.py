"""The page's "Your work" restore refuses untrusted zips before unpacking them, and changes
nothing: entries, unpacked size, name length and depth over work_format.json's limits (the ones
import_work uses), one path twice, a file the export's manifest does not list, a manifest of the
wrong type. Headless Chromium on the built site (TINYGPT_SITE=<folder> tests one already built).
"""

from __future__ import annotations

import json
import zipfile
from datetime import UTC
from pathlib import Path

import pytest
from test_student_work import _course_notebook, _python_export, _upload_refused, browser, redeployable, site, student  # noqa: F401 (fixtures)

LIMITS = json.loads(
    (Path(__file__).resolve().parents[2] / "tinytorch" / "course" / "work_format.json").read_text(encoding="utf-8")
)["limits"]


def _bomb(path: Path) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("zeros.bin", "w", force_zip64=True) as member:
            for _ in range(LIMITS["total_bytes"] // 2**20 + 1):
                member.write(b"\0" * 2**20)
    return path


def _plain(path: Path, members: list) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members:
            zf.writestr(zipfile.ZipInfo(name), data)
    return path


ZIPS = {
    "bomb": (lambda tmp, site: _bomb(tmp / "bomb.zip"), "would unpack to"),
    "twice": (lambda tmp, site: _plain(tmp / "twice.zip", [("notes.txt", b"a"), ("Notes.txt", b"b")]), "twice"),
    "long name": (lambda tmp, site: _plain(tmp / "long.zip", [("n" * (LIMITS["name_bytes"] + 1), b"x")]), "longer"),
    "deep": (lambda tmp, site: _plain(tmp / "deep.zip", [("d/" * (LIMITS["depth"] + 1) + "x.txt", b"x")]), "deep"),
    "many": (
        lambda tmp, site: _plain(tmp / "many.zip", [(f"f{i}", b"") for i in range(LIMITS["entries"] + 1)]),
        "entries",
    ),
    "unlisted": (lambda tmp, site: _with_extra(_python_export(tmp, site)[0]), "does not list"),
    "manifest files a list": (
        lambda tmp, site: _plain(tmp / "m.zip", [("a.txt", b"a"), (".tinygpt-work.json", b'{"files": ["a.txt"]}')]),
        "not what an export writes",
    ),
}


def _with_extra(export: Path) -> Path:
    with zipfile.ZipFile(export, "a") as zf:
        zf.writestr("added_later.txt", "not in the manifest")
    return export


@pytest.mark.filterwarnings("ignore:Duplicate name")
@pytest.mark.parametrize("case", ZIPS)
def test_an_untrusted_zip_is_refused_before_unpacking_and_changes_nothing(site, student, tmp_path, case):
    make, needle = ZIPS[case]
    zip_file = make(tmp_path, site)
    path, _, _ = _course_notebook(site)
    student.open(path)
    status = _upload_refused(student, zip_file, needle)  # asserts the storage is unchanged
    assert status.endswith("Nothing was changed."), status


def test_import_work_is_all_or_nothing_on_the_browser_drive(site, browser, redeployable):
    """import_work in Pyodide on /drive (JupyterLite's contents through DriveFS): the staging folder,
    the renames into place and their undo work there; a refused zip leaves the drive as it was."""
    from datetime import datetime

    from _notebook_driver import run_code
    from _site_helpers import stored_model, work_probe_models
    from test_student_work import Student

    if not (site / "static" / "pyodide" / "pyodide.mjs").is_file():
        pytest.skip(
            f"No self-hosted Pyodide in {site}/static/pyodide: build the site with `python -m coursetools build`."
        )
    path, _, _ = _course_notebook(site)
    student = Student(browser, redeployable, site, kernel=True)
    try:
        student.open(path)
        now = datetime.now(UTC).isoformat()
        student.put_raw(
            {
                **work_probe_models(now),
                "mine": stored_model("mine", type_="directory", now=now),
                "mine/notes.txt": stored_model("mine/notes.txt", "first notes\n", now=now),
            }
        )
        code = (
            "import os, zipfile\n"
            "from probe.course import work as w\n"
            "def tree():\n"
            "    return sorted((r, f, open(os.path.join(r, f), 'rb').read())\n"
            "                  for r, _, fs in os.walk('mine') for f in fs)\n"
            "w.export_work('exp.zip', root='mine')\n"
            "open('mine/notes.txt', 'w').write('later notes\\n')\n"
            "before = tree()\n"
            "with zipfile.ZipFile('dup.zip', 'w') as z:\n"
            "    z.writestr('a.txt', 'one'); z.writestr('A.txt', 'two')\n"
            "try:\n"
            "    w.import_work('dup.zip', root='mine')\n"
            "except ValueError as e:\n"
            "    print('REFUSED', 'twice' in str(e))\n"
            "print('UNCHANGED', tree() == before)\n"
            "r = w.import_work('mine/exp.zip', root='mine')\n"
            "print('RESTORED', open('mine/notes.txt').read().strip(), sorted(r['replaced']))\n"
            "print('STAGING', [n for n in os.listdir('mine') if n.startswith('.import-work-')])\n"
        )
        result = run_code(student.page, code, timeout_ms=360_000)
        output = result["stdout"]
        assert result["error"] is None, result
        assert "REFUSED True" in output and "UNCHANGED True" in output, output
        assert "RESTORED first notes ['notes.txt']" in output and "STAGING []" in output, output
    finally:
        student.close()
