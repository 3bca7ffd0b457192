"""Student work is never lost: headless Chromium against the built course site.

Each test uses a fresh browser profile (its own IndexedDB), so "clear storage" is a new
profile. Most tests need no kernel: Pyodide's files are blocked so that none waits on or pays
for a kernel start; one test runs work.py in the Pyodide kernel. Every scenario counts the
written answers it checks and how many were lost; the totals print at the end (`pytest -s`).

The site is the session's real build (conftest.py `site_dir`); TINYGPT_SITE=<folder> tests an
already built site instead (quicker while developing).
"""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from _notebook_driver import run_code
from _site_fixtures import SiteServer, new_context
from _site_helpers import IDB_REQUEST, site_under_test, wait_for_notebook, work_probe_models, write_cell

from coursetools.cells import cell_source, nbgrader_meta

# Every test needs a built site; the `site` fixture builds one through getfixturevalue (unless
# TINYGPT_SITE names one), which the conftest's fixture-name rule cannot see.
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SCRIPT_NAME = "student-work.js"
# The "Your work" scripts in the order each needs the ones before it (student-work-store.js lists what each provides).
SCRIPTS_IN_ORDER = [
    "student-work-format.js",
    "student-work-store.js",
    "student-work-sync.js",
    "student-work-transfer.js",
    "student-work-ui.js",
    SCRIPT_NAME,
]

TALLY = {"scenarios": 0, "answers_checked": 0, "answers_lost": 0}


# ------------------------------------------------------------------ the built site


def _course_notebook(site: Path):
    """(path, notebook JSON, answer cell index) of the first shipped course notebook with an answer cell."""
    for path in sorted((site / "files").glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        if not nb.get("metadata", {}).get("tinygpt", {}).get("course_version"):
            continue
        solutions = [i for i, c in enumerate(nb["cells"]) if nbgrader_meta(c).get("solution")]
        written = [i for i in solutions if nb["cells"][i]["cell_type"] == "markdown"]
        if written or solutions:
            return path.relative_to(site / "files").as_posix(), nb, (written or solutions)[0]
    pytest.fail(f"No notebook in {site / 'files'} has metadata.tinygpt.course_version and an nbgrader answer cell.")


def _storage_name(site: Path) -> str:
    config = json.loads((site / "jupyter-lite.json").read_text())["jupyter-config-data"]
    return config.get("contentsStorageName") or "JupyterLite Storage - /"


@pytest.fixture(scope="module")
def site(request) -> Path:
    site = site_under_test(request)
    pages = [p for p in site.glob("*/index.html") if SCRIPT_NAME in p.read_text(encoding="utf-8")]
    assert pages, f"no app page of {site} loads {SCRIPT_NAME}: the build must inject coursetools/page_scripts/*.js"
    return site


@pytest.fixture(scope="module")
def browser(chromium_browser):
    yield chromium_browser
    print(
        f"\nstudent-work: scenarios {TALLY['scenarios']}, answers checked {TALLY['answers_checked']}, "
        f"answers lost {TALLY['answers_lost']}"
    )


@pytest.fixture()
def redeployable(site):
    """A server of its own per test: a test may "redeploy" files without touching the build."""
    with SiteServer(site) as server:
        yield server


class Student:
    """One student in one browser profile: opens pages, writes answers, reads their storage."""

    def __init__(self, browser, server, site, kernel: bool = False):
        self.outside: list[str] = []
        self.kernel_requests: list[str] = []
        self.dialogs: list[str] = []
        self.context = new_context(browser, self.outside)
        if not kernel:
            # Most tests need no kernel: cut Pyodide off so none waits on or pays for one.
            self.context.route("**/static/pyodide/**", self._no_kernel)
        self.server = server
        self.storage_name = _storage_name(site)
        self.page = None

    def _no_kernel(self, route):
        self.kernel_requests.append(route.request.url)
        route.abort()

    def _on_dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.accept()

    def open(self, path: str):
        """Open a notebook in the notebook app and wait for its cells and the Your-work button."""
        if self.page is None:
            self.page = self.context.new_page()
            self.page.on("dialog", self._on_dialog)
        self.page.goto(self.server.url + "notebooks/index.html?path=" + path)
        wait_for_notebook(self.page)
        return self.page

    def reload(self):
        self.page.reload()
        wait_for_notebook(self.page)

    def write_answer(self, cell_index: int, text: str):
        """Type into one cell like a student (edit mode, select all, type), then save with Ctrl+S."""
        write_cell(self.page, cell_index, text)

    def saved(self) -> dict:
        """{path: contents model} read straight from IndexedDB (independent of the page script)."""
        return self.page.evaluate(
            """async (name) => {
                """
            + IDB_REQUEST
            + """
                const dbs = await indexedDB.databases();
                if (!dbs.some((d) => d.name === name)) return {};
                const db = await req(indexedDB.open(name));
                if (!db.objectStoreNames.contains('files')) { db.close(); return {}; }
                const store = db.transaction('files').objectStore('files');
                const [keys, values] = await Promise.all([req(store.getAllKeys()), req(store.getAll())]);
                db.close();
                // As JSON, like JupyterLite's own download: a stored `undefined` is no value at all.
                return JSON.parse(JSON.stringify(Object.fromEntries(keys.map((k, i) => [k, values[i]]))));
            }""",
            self.storage_name,
        )

    def put_raw(self, models: dict):
        """Store files the way JupyterLite's drive does (as if the student had uploaded them)."""
        self.page.evaluate(
            """async ([name, models]) => {
                """
            + IDB_REQUEST
            + """
                const db = await req(indexedDB.open(name));
                const tx = db.transaction('files', 'readwrite');
                for (const [key, model] of Object.entries(models)) tx.objectStore('files').put(model, key);
                await new Promise((ok, bad) => { tx.oncomplete = ok; tx.onerror = () => bad(tx.error); });
                db.close();
            }""",
            [self.storage_name, models],
        )

    def wait_saved(self, predicate, what: str, timeout: float = 20.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            saved = self.saved()
            if predicate(saved):
                return saved
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; stored keys: {sorted(saved)}")
            time.sleep(0.3)

    def act_and_settle(self, act):
        """Do something that rewrites storage. Without the app object (exposeAppInBrowser) the
        page script reloads the page afterwards; wait for that reload instead of racing it."""
        if self.page.evaluate("!!window.jupyterapp"):
            act()
            return
        with self.page.expect_navigation(timeout=30_000):
            act()
        wait_for_notebook(self.page)

    def open_panel(self):
        self.page.click("#tinygpt-work-button")
        self.page.wait_for_selector("#tinygpt-work-panel:not([hidden])")

    def export_zip(self) -> bytes:
        with self.page.expect_download() as info:
            self.page.click("#tinygpt-work-export")
        path = info.value.path()
        return Path(path).read_bytes()

    def close(self):
        assert not self.outside, f"requests left 127.0.0.1: {self.outside}"
        self.context.close()


@pytest.fixture()
def student(browser, redeployable, site):
    s = Student(browser, redeployable, site)
    TALLY["scenarios"] += 1
    yield s
    s.close()


def notebook_json(model: dict) -> dict:
    """A stored notebook's JSON: the editor stores it parsed, a kernel-written one as base64."""
    content = model["content"]
    if isinstance(content, str):
        import base64

        content = json.loads(base64.b64decode(content) if model["format"] == "base64" else content)
    return content


def saved_cell_source(model: dict, index: int) -> str:
    """The source of cell `index` of a notebook as the browser saved it (a contents model)."""
    return cell_source(notebook_json(model)["cells"][index])


def check_answer(saved: dict, path: str, index: int, answer: str):
    TALLY["answers_checked"] += 1
    ok = path in saved and answer in saved_cell_source(saved[path], index)
    if not ok:
        TALLY["answers_lost"] += 1
    assert ok, f"the answer written in {path} cell {index} is gone; stored: {sorted(saved)}"


def cell_text(page, index: int) -> str:
    """The text the notebook view shows for one cell (scrolled into view: long notebooks
    render only the cells near the viewport)."""
    page.wait_for_function(
        "(i) => document.querySelectorAll('.jp-Notebook .jp-Cell').length > i", arg=index, timeout=30_000
    )
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    cell.scroll_into_view_if_needed()
    page.wait_for_function(
        "(i) => document.querySelectorAll('.jp-Notebook .jp-Cell')[i].innerText.trim().length > 0",
        arg=index,
        timeout=10_000,
    )
    return cell.inner_text()


# ------------------------------------------------------------------ scenarios


def test_answer_survives_reload(site, student):
    path, _, index = _course_notebook(site)
    answer = "Attention mixes earlier characters, weighted by similarity (reload test)."
    student.open(path)
    student.write_answer(index, answer)
    student.wait_saved(lambda s: path in s and answer in saved_cell_source(s[path], index), "the saved answer")
    student.reload()
    check_answer(student.saved(), path, index, answer)
    assert answer in cell_text(student.page, index), "the answer is stored but the reopened notebook does not show it"


def test_redeploy_keeps_answer_and_offers_update(site, redeployable, student):
    server = redeployable
    path, shipped, index = _course_notebook(site)
    answer = "My answer survives a course update."
    student.open(path)
    student.write_answer(index, answer)
    before = student.wait_saved(
        lambda s: path in s and answer in saved_cell_source(s[path], index), "the saved answer"
    )[path]
    assert not student.page.locator("#tinygpt-update-notice").is_visible(), "update notice shown before any update"

    # The instructor edits the notebook and republishes: new cell, new course_version.
    new_version = "feedbeef"
    updated = json.loads(json.dumps(shipped))
    updated["metadata"]["tinygpt"]["course_version"] = new_version
    updated["cells"].insert(
        0, {"cell_type": "markdown", "id": "new-intro", "metadata": {}, "source": "NEW IN THIS VERSION: a fixed hint."}
    )
    body = json.dumps(updated, indent=1).encode()
    server.deploy("files/" + path, body)
    listing = json.loads(server.read("api/contents/all.json"))
    for entry in listing["content"]:
        if entry["path"] == path:
            entry["size"] = len(body)
            entry["last_modified"] = datetime.now(UTC).isoformat()
    server.deploy("api/contents/all.json", json.dumps(listing).encode())

    # With the offline service worker on, the first load after a redeploy may still get the
    # cached old files (refreshed in the background): the notice shows from the next load.
    notice = student.page.locator("#tinygpt-update-notice")
    for _ in range(3):
        student.reload()
        try:
            notice.wait_for(state="visible", timeout=8_000)
            break
        except Exception:
            continue
    assert notice.is_visible(), "no update notice after the course was redeployed (3 reloads)"
    saved = student.saved()
    check_answer(saved, path, index, answer)
    assert saved[path]["content"] == before["content"], "the student's copy changed during the update"
    assert answer in cell_text(student.page, index)
    assert "NEW IN THIS VERSION" not in cell_text(student.page, 0), "the update overwrote the student's view"

    student.page.click("#tinygpt-open-alongside")
    alongside = path[: -len(".ipynb")] + f" (updated v{new_version}).ipynb"
    saved = student.wait_saved(lambda s: alongside in s, "the new version written alongside")
    assert saved[alongside]["content"]["cells"][0]["source"].startswith("NEW IN THIS VERSION")
    assert saved[alongside]["content"]["metadata"]["tinygpt"]["course_version"] == new_version
    assert saved[path]["content"] == before["content"], "opening the new version touched the student's copy"
    check_answer(saved, path, index, answer)


# Files a student might have besides notebooks: UTF-8 text with CRLF, arbitrary bytes,
# JSON, nested folders and an empty folder.
BINARY = bytes(range(256)) * 3


def _extra_files() -> dict:
    import base64

    now = "2026-11-20T10:00:00.000Z"

    def model(path, type_, format_, mimetype, content, size):
        return {
            "name": path.split("/")[-1],
            "path": path,
            "type": type_,
            "format": format_,
            "mimetype": mimetype,
            "content": content,
            "size": size,
            "writable": True,
            "created": now,
            "last_modified": now,
        }

    text = "naïve café: ünïcödé ✓ 注意\r\nsecond line\n"
    return {
        "notes.txt": model("notes.txt", "file", "text", "text/plain", text, len(text.encode())),
        "weights.bin": model(
            "weights.bin", "file", "base64", "application/octet-stream", base64.b64encode(BINARY).decode(), len(BINARY)
        ),
        "results.json": model(
            "results.json", "file", "json", "application/json", {"loss": [4.17, 2.5], "ok": True, "note": "ü"}, 40
        ),
        "project": model("project", "directory", "json", "", None, 0),
        "project/deep": model("project/deep", "directory", "json", "", None, 0),
        "project/deep/ideas.md": model(
            "project/deep/ideas.md", "file", "text", "text/markdown", "# Ideas\n\n- tie weights?\n", 24
        ),
        "empty folder": model("empty folder", "directory", "json", "", None, 0),
    }


COMPARED = ("type", "format", "mimetype", "content")


def test_export_clear_import_restores_every_byte(site, browser, redeployable, student, tmp_path):
    path, _, index = _course_notebook(site)
    answer = "Export me: every byte must come back ✓."
    student.open(path)
    student.write_answer(index, answer)
    student.wait_saved(lambda s: path in s and answer in saved_cell_source(s[path], index), "the saved answer")
    student.put_raw(_extra_files())
    original = student.saved()

    student.open_panel()
    data = student.export_zip()
    assert student.page.evaluate("localStorage.getItem('tinygpt-work:last-export')"), "export time not recorded"

    # The zip is a normal zip: Python reads it, checksums match, files have their real bytes.
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        names = set(zf.namelist())
        assert {path, "notes.txt", "weights.bin", "results.json", "project/deep/ideas.md", "empty folder/"} <= names
        assert zf.read("weights.bin") == BINARY
        assert zf.read("notes.txt") == _extra_files()["notes.txt"]["content"].encode()
        assert answer in cell_source(json.loads(zf.read(path))["cells"][index])
        # It records what it holds: every file with its size and SHA-256 (the page's digest).
        listed = json.loads(zf.read(".tinygpt-work.json"))["files"]
        import hashlib

        assert listed["weights.bin"]["sha256"] == hashlib.sha256(BINARY).hexdigest()
        assert listed["weights.bin"]["size"] == len(BINARY)

    # The kernel's import_work checks the page's manifest and restores the same bytes.
    from tinytorch.course.work import import_work

    (tmp_path / "page_export.zip").write_bytes(data)
    restored_here = tmp_path / "restored"
    result = import_work(tmp_path / "page_export.zip", root=restored_here)
    assert {"notes.txt", "weights.bin", "project/deep/ideas.md", path} <= set(result["added"])
    assert (restored_here / "weights.bin").read_bytes() == BINARY

    # "Clear storage": a new browser profile has none of it.
    TALLY["scenarios"] += 1
    fresh = Student(browser, redeployable, site)
    try:
        fresh.open(path)
        assert path not in fresh.saved()
        zip_file = tmp_path / "tinygpt-work.zip"
        zip_file.write_bytes(data)
        fresh.open_panel()
        fresh.act_and_settle(lambda: fresh.page.set_input_files("#tinygpt-work-import-file", str(zip_file)))
        restored = fresh.wait_saved(lambda s: set(original) <= set(s), "every exported file restored")
        for key, model in original.items():
            for field in COMPARED:
                assert restored[key][field] == model[field], f"{key}: {field} differs after export → import"
        assert set(restored) == set(original), f"import added unexpected files: {set(restored) - set(original)}"
        check_answer(restored, path, index, answer)
        fresh.reload()
        assert answer in cell_text(fresh.page, index), "restored answer is stored but not shown"

        # Importing over newer work keeps that work as a backup instead of losing it.
        newer = "A newer answer written after the export."
        fresh.write_answer(index, newer)
        fresh.wait_saved(lambda s: newer in saved_cell_source(s[path], index), "the newer answer")
        fresh.open_panel()
        fresh.act_and_settle(lambda: fresh.page.set_input_files("#tinygpt-work-import-file", str(zip_file)))
        stem = path[: -len(".ipynb")]
        after = fresh.wait_saved(
            lambda s: any(k.startswith(stem + ".backup-") for k in s), "a backup of the replaced notebook"
        )
        backup = next(k for k in after if k.startswith(stem + ".backup-"))
        check_answer(after, backup, index, newer)
        check_answer(after, path, index, answer)
        assert any("Replaced" in message for message in fresh.dialogs), (
            f"no confirmation before replacing: {fresh.dialogs}"
        )

        # A file that is not a zip: a clear message, and nothing in storage changes.
        not_zip = tmp_path / "homework.zip"
        not_zip.write_text("this is not a zip")
        kept = fresh.saved()
        if fresh.page.locator("#tinygpt-work-panel").is_hidden():
            fresh.open_panel()
        fresh.page.set_input_files("#tinygpt-work-import-file", str(not_zip))
        fresh.page.wait_for_function(
            "() => /not a zip file/.test(document.getElementById('tinygpt-work-status').textContent)", timeout=10_000
        )
        assert fresh.saved() == kept
    finally:
        fresh.close()


def test_reset_notebook_keeps_backup(site, student):
    path, shipped, index = _course_notebook(site)
    answer = "This answer must survive a reset as a backup."
    student.open(path)
    student.write_answer(index, answer)
    student.wait_saved(lambda s: path in s and answer in saved_cell_source(s[path], index), "the saved answer")

    student.open_panel()
    reset = student.page.locator(f'#tinygpt-work-notebooks li[data-path="{path}"] .tinygpt-reset')
    student.act_and_settle(reset.click)
    stem = path[: -len(".ipynb")]
    saved = student.wait_saved(
        lambda s: path not in s and any(k.startswith(stem + ".backup-") for k in s), "reset with a backup"
    )
    assert any("Reset" in message for message in student.dialogs), "reset did not ask first"
    backup = next(k for k in saved if k.startswith(stem + ".backup-"))
    assert backup.endswith(".ipynb")
    check_answer(saved, backup, index, answer)
    student.open(path)
    shown = cell_text(student.page, index)
    assert answer not in shown, "the reset notebook still shows the student's answer"
    shipped_text = cell_source(shipped["cells"][index]).strip().splitlines()[0]
    assert shipped_text in shown, "the reset notebook is not the shipped version"


def test_persistence_status_and_export_reminder(site, student):
    path, _, index = _course_notebook(site)
    student.open(path)
    page = student.page
    persisted = page.evaluate("navigator.storage.persisted()")
    asked = page.evaluate("localStorage.getItem('tinygpt-work:persist-asked')")
    assert asked or persisted, "navigator.storage.persist() was never asked"
    student.open_panel()
    note = page.locator("#tinygpt-work-storage").inner_text()
    assert note.startswith("Storage: kept" if persisted else "Storage: may be cleared"), note

    # Saved work, last download five days ago: the reminder shows beside the button.
    student.write_answer(index, "Some work worth backing up.")
    student.wait_saved(lambda s: path in s, "the saved answer")
    five_days_ago = (datetime.now(UTC) - timedelta(days=5)).isoformat()
    page.evaluate("(t) => localStorage.setItem('tinygpt-work:last-export', t)", five_days_ago)
    student.reload()
    toast = page.locator("#tinygpt-work-toast")
    toast.wait_for(state="visible", timeout=10_000)
    assert "5 days ago" in toast.inner_text()
    with page.expect_download():
        toast.get_by_role("button", name="Download my work now").click()
    page.wait_for_function("!document.getElementById('tinygpt-work-reminder').textContent", timeout=10_000)
    assert not toast.is_visible() or "days ago" not in toast.inner_text()


def test_zip_from_a_notebook_cell_restores_in_the_browser(site, student, tmp_path):
    """export_work() (kernel side, deflate-compressed) and the page's restore understand each other."""
    from tinytorch.course.work import export_work

    path, shipped, index = _course_notebook(site)
    answer = "Written in a local Jupyter, restored in the browser."
    work = tmp_path / "work"
    (work / "runs").mkdir(parents=True)
    notebook = json.loads(json.dumps(shipped))
    notebook["cells"][index]["source"] = answer
    (work / path).write_text(json.dumps(notebook, indent=1))
    (work / "runs" / "step_000400.npz").write_bytes(BINARY)
    (work / "notes.txt").write_text("plain notes ✓\n", encoding="utf-8")
    zip_path = export_work(tmp_path / "my_work.zip", root=work)

    student.open(path)
    student.open_panel()
    student.act_and_settle(lambda: student.page.set_input_files("#tinygpt-work-import-file", str(zip_path)))
    saved = student.wait_saved(lambda s: "runs/step_000400.npz" in s, "the kernel export restored")
    check_answer(saved, path, index, answer)
    assert saved["runs/step_000400.npz"]["format"] == "base64"
    import base64

    assert base64.b64decode(saved["runs/step_000400.npz"]["content"]) == BINARY
    assert saved["notes.txt"]["content"] == "plain notes ✓\n" and saved["notes.txt"]["format"] == "text"
    assert saved["runs"]["type"] == "directory", "the folder of a restored file is missing from the file list"


def test_work_py_in_the_browser_kernel(site, browser, redeployable):
    """export_work and reset_notebook from a cell, in Pyodide, on the student's /drive.

    Runs work.py (with tinytorch.files.atomic_write: a rename on JupyterLite's drive) as a
    package the student uploaded (importing the tinytorch wheel would need numpy in Pyodide,
    which these tests do not require).
    """
    if not (site / "static" / "pyodide" / "pyodide.mjs").is_file():
        pytest.skip(
            f"No self-hosted Pyodide in {site}/static/pyodide: build the site with `python -m coursetools build`."
        )
    import base64

    notebooks = sorted(p.name for p in (site / "files").glob("*.ipynb"))
    path, shipped, index = _course_notebook(site)
    other = next(n for n in notebooks if n != path)
    answer = "Answer saved before a kernel-side export and reset."
    TALLY["scenarios"] += 1
    student = Student(browser, redeployable, site, kernel=True)
    try:
        student.open(path)
        student.write_answer(index, answer)
        student.wait_saved(lambda s: path in s and answer in saved_cell_source(s[path], index), "the saved answer")
        # work.py and what it reads as an uploaded package "probe" (no numpy needed).
        student.put_raw(work_probe_models(datetime.now(UTC).isoformat()))

        # Run the cell in another notebook, so the one being reset is not open in an editor.
        student.open(other)
        code = (
            "from probe.course import work as w\n"
            "w.export_work()\n"
            f"b = w.reset_notebook({path[: -len('.ipynb')]!r})\n"
            "print('BACKUP', b.name)"
        )
        result = run_code(student.page, code, timeout_ms=360_000)  # a busy machine: kernel start plus the cell
        output = result["stdout"]
        assert "BACKUP" in output and result["error"] is None, result
        saved = student.wait_saved(lambda s: "my_work.zip" in s, "my_work.zip written by the kernel")

        zip_model = saved["my_work.zip"]
        data = (
            base64.b64decode(zip_model["content"])
            if zip_model["format"] == "base64"
            else zip_model["content"].encode("latin-1")
        )
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            assert zf.testzip() is None
            names = set(zf.namelist())
            assert {path, "probe/course/work.py", ".tinygpt-work.json"} <= names, names
            assert not any(".ipynb_checkpoints" in n or n.endswith(".zip") for n in names), names
            TALLY["answers_checked"] += 1
            exported = cell_source(json.loads(zf.read(path))["cells"][index])
            if answer not in exported:
                TALLY["answers_lost"] += 1
            assert answer in exported, "the kernel's export lost the answer"

        stem = path[: -len(".ipynb")]
        backup = next((k for k in saved if k.startswith(stem + ".backup-")), None)
        assert backup, f"reset_notebook kept no backup; stored: {sorted(saved)}"
        check_answer(saved, backup, index, answer)
        shipped_sources = [cell_source(c) for c in shipped["cells"]]
        reset = notebook_json(saved[path])
        assert [saved_cell_source(saved[path], i) for i in range(len(reset["cells"]))] == shipped_sources

        # Both files the kernel wrote open in the notebook view: the backup shows the answer.
        student.open(path)
        assert answer not in cell_text(student.page, index)
        student.open(backup)
        assert answer in cell_text(student.page, index), "the kernel-written backup does not open with the answer"
    finally:
        student.close()


# ------------------------------------------------------------------ damaged zips, the zip library


def _python_export(tmp_path: Path, site: Path) -> tuple[Path, str]:
    from tinytorch.course.work import export_work

    path, shipped, _ = _course_notebook(site)
    work = tmp_path / "work"
    (work / "runs").mkdir(parents=True)
    (work / path).write_text(json.dumps(shipped, indent=1))
    (work / "runs" / "step_000400.npz").write_bytes(BINARY * 8)
    return export_work(tmp_path / "my_work.zip", root=work), path


def _upload_refused(student: Student, zip_file: Path, pattern: str):
    kept = student.saved()
    student.open_panel()
    student.page.set_input_files("#tinygpt-work-import-file", str(zip_file))
    student.page.wait_for_function(
        "(p) => new RegExp(p).test(document.getElementById('tinygpt-work-status').textContent)",
        arg=pattern,
        timeout=15_000,
    )
    assert student.saved() == kept, "a refused zip changed the student's storage"
    return student.page.locator("#tinygpt-work-status").inner_text()


def test_incomplete_zip_is_refused_naming_the_missing_file(site, student, tmp_path):
    full, path = _python_export(tmp_path, site)
    partial = tmp_path / "partial.zip"
    with zipfile.ZipFile(full) as zin, zipfile.ZipFile(partial, "w") as zout:
        for info in zin.infolist():
            if info.filename != "runs/step_000400.npz":
                zout.writestr(info, zin.read(info))
    student.open(path)
    status = _upload_refused(student, partial, "incomplete")
    assert status == (
        "Problem: The zip is incomplete: runs/step_000400.npz is listed in it but missing "
        "(an export or download cut short?). Nothing was changed."
    )


def test_damaged_zip_is_refused_naming_the_damaged_file(site, student, tmp_path):
    full, path = _python_export(tmp_path, site)
    data = bytearray(full.read_bytes())
    with zipfile.ZipFile(full) as zf:
        info = zf.getinfo("runs/step_000400.npz")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start + 4, start + info.compress_size - 4):
        data[i] ^= 0x5A
    damaged = tmp_path / "damaged.zip"
    damaged.write_bytes(bytes(data))
    student.open(path)
    status = _upload_refused(student, damaged, "damaged")
    assert status.startswith("Problem: The zip is damaged: runs/step_000400.npz "), status
    assert status.endswith("Nothing was changed.")


def test_the_zip_library_is_fflate_copied_with_its_licence(site):
    course = site / "static" / "course"
    npm = REPO / "node_modules" / "fflate"
    assert (course / "fflate.js").read_bytes() == (npm / "umd" / "index.js").read_bytes()
    assert (course / "fflate.LICENSE.txt").read_bytes() == (npm / "LICENSE").read_bytes()
    for name in SCRIPTS_IN_ORDER[1:]:
        script = (course / name).read_text(encoding="utf-8")
        for hand_written in ("0x04034b50", "0x02014b50", "CRC_TABLE", "DecompressionStream"):
            assert hand_written not in script, f"{name} still has its own zip code ({hand_written})"
    # The zip format is the one JSON tinytorch.course.work reads, inlined by the build into the format's
    # rules (student-work-format.js, tested against the same vectors as import_work: tests/course/test_work_vectors.py).
    shared = json.loads((REPO / "tinytorch" / "course" / "work_format.json").read_text(encoding="utf-8"))
    rules = (course / "student-work-format.js").read_text(encoding="utf-8")
    assert f"const inlined = {json.dumps(shared)};" in rules
    for page in site.glob("*/index.html"):
        text = page.read_text(encoding="utf-8")
        if SCRIPT_NAME in text:
            loaded = [s for s in re.findall(r'static/course/([^"?]+)\?v=', text) if s.startswith("student-work")]
            assert loaded == SCRIPTS_IN_ORDER, f"{page}: the student-work scripts load as {loaded}"
            assert text.index("fflate.js") < text.index("student-work-format.js"), f"{page}: fflate must load first"


def test_build_without_npm_ci_says_so(tmp_path, monkeypatch):
    from coursetools import page_script_injection

    monkeypatch.setattr(page_script_injection, "REPO", tmp_path)
    with pytest.raises(RuntimeError, match=r"node_modules/fflate/umd/index\.js is missing: run `npm ci` in "):
        page_script_injection.copy_page_libraries(tmp_path)
