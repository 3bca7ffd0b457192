"""What must be true before and around nbgrader's autograde, so nothing is silently mis-graded.

- `grading_env` / `preflight`: the grading kernel imports tinytorch and finds the corpus, or
  autograding refuses to start and says what to install (instead of scoring every notebook 0).
- `check_zip`: a hand-in zip is readable, its notebooks parse and match its manifest's sha256.
- `check_submissions`: each collected notebook is the course version the release was built
  from (else it is set aside and reported, never graded against other tests), and no locked
  cell (tests, questions) was changed or deleted (nbgrader's own checksums).
Every finding is an `Issue`; `write_report` puts them in reports/integrity.csv.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import nbformat

from tinytorch.course.handin import FORMAT as HANDIN

from .cells import cell_source, nbgrader_meta

CONTENT = Path(__file__).resolve().parents[1] / "content"
GRADING_MODE = {"TINYGPT_FAST": "1", "OPENBLAS_NUM_THREADS": "1"}  # short training runs; workers share the cores


class GradingRefused(RuntimeError):
    """Autograding would give wrong scores (no tinytorch, no corpus): the message says what to do."""


@dataclass
class Issue:
    student: str
    notebook: str
    problem: str
    detail: str


# ------------------------------------------------------------------ the grading environment


def find_corpus(corpus=None) -> Path:
    """The tiny Shakespeare file to grade with: `corpus`, $TINYGPT_CORPUS or the download cache ($TINYGPT_CACHE).

    It must be the exact text the course checks against (its SHA-256), or GradingRefused.
    """
    from tinytorch import settings
    from tinytorch.text.corpus import SHAKESPEARE_FILENAME, SHAKESPEARE_SHA256

    candidates = [corpus, settings.corpus_path(), settings.cache_root() / SHAKESPEARE_FILENAME]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            path = Path(candidate).resolve()
            if hashlib.sha256(path.read_bytes()).hexdigest() != SHAKESPEARE_SHA256:
                raise GradingRefused(
                    f"{path} is not the tiny Shakespeare corpus the course's checks expect (its SHA-256 "
                    "differs): pass the right file with --corpus PATH."
                )
            return path
    raise GradingRefused(
        "the Shakespeare corpus is missing, and the notebooks need it: every submission would score 0. Download it "
        "once "
        '(python -c "from tinytorch.text import load_shakespeare; load_shakespeare()" caches it) or pass '
        "--corpus PATH / set TINYGPT_CORPUS=PATH to your tinyshakespeare.txt."
    )


def grading_env(corpus: Path) -> dict:
    """The environment of nbgrader and its kernels: grading mode, the corpus, the venv's bin/ on PATH (alembic)."""
    env = dict(os.environ, **GRADING_MODE, TINYGPT_CORPUS=str(corpus))
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


PREFLIGHT_CODE = """
import json, sys
found = {"python": sys.executable}
try:
    import tinytorch
    found["tinytorch"] = tinytorch.__version__
    from tinytorch.text import load_shakespeare
    found["corpus_chars"] = len(load_shakespeare())
except Exception as error:
    found["error"] = f"{type(error).__name__}: {error}"
print(json.dumps(found))
"""


def preflight(env: dict, kernel_name: str = "python3", timeout: float = 120.0) -> dict:
    """Start the grading kernel once and check it imports tinytorch and reads the corpus.

    Returns what it found ({"python", "tinytorch", "corpus_chars"}); raises GradingRefused naming the fix.
    """
    from jupyter_client.manager import start_new_kernel

    try:
        manager, client = start_new_kernel(kernel_name=kernel_name, startup_timeout=timeout, env=env)
    except Exception as error:
        raise GradingRefused(
            f"the grading kernel {kernel_name!r} does not start ({type(error).__name__}: {error}). "
            "Install ipykernel where tinytorch is installed, or pick a kernel with --kernel NAME "
            "(`jupyter kernelspec list`)."
        ) from None
    output = []
    try:
        client.execute_interactive(PREFLIGHT_CODE, timeout=timeout, output_hook=lambda msg: output.append(msg))
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    text = "".join(m["content"].get("text", "") for m in output if m["msg_type"] == "stream")
    found = json.loads(text.strip().splitlines()[-1]) if text.strip() else {"error": "the kernel printed nothing"}
    if "tinytorch" not in found:
        raise GradingRefused(
            f"the grading kernel {kernel_name!r} ({found.get('python')}) cannot import tinytorch "
            f"({found.get('error')}): "
            f"every submission would score 0. Install it there: {found.get('python', 'python')} -m pip install "
            "<this repository> (or the tinytorch wheel), or pick the right kernel with --kernel NAME."
        )
    if "corpus_chars" not in found:
        raise GradingRefused(f"the grading kernel cannot read the corpus ({found.get('error')}): pass --corpus PATH.")
    return found


# ------------------------------------------------------------------ hand-in zips


def check_zip(path: Path) -> str | None:
    """None if `path` is a readable hand-in zip, else what is wrong with it (one sentence)."""
    try:
        with zipfile.ZipFile(path) as zf:
            contents = {info.filename: zf.read(info) for info in zf.infolist() if not info.is_dir()}
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, ValueError) as error:
        return f"not a readable zip ({type(error).__name__}: {error})"
    notebooks = [name for name in contents if name.endswith(".ipynb")]
    if not notebooks:
        return "holds no notebook"
    for name in notebooks:
        try:
            json.loads(contents[name])["cells"]
        except (ValueError, KeyError, TypeError):
            return f"{name} in it is not a readable notebook"
    manifest = contents.get(HANDIN["manifest"])
    if manifest is not None:
        try:
            listed = json.loads(manifest)["notebooks"]
        except (ValueError, KeyError, TypeError):
            return f"its {HANDIN['manifest']} cannot be read"
        for name, meta in listed.items():
            data = contents.get(name)
            if data is None:
                return f"{name} is listed in its manifest but missing (an upload cut short?)"
            if meta.get("sha256") and hashlib.sha256(data).hexdigest() != meta["sha256"]:
                return f"{name} does not match the sha256 recorded when it was handed in"
    return None


def handin_names(archive: Path, named_regexp: str) -> dict:
    """{student id: name as typed at hand-in} for the hand-in zips in `archive`; the id is the one
    zip_collect files the zip under (`named_regexp` on its extracted path), not the one typed."""
    names = {}
    for path in sorted(archive.glob("*.zip")):
        try:
            with zipfile.ZipFile(path) as zf:
                manifest = json.loads(zf.read(HANDIN["manifest"]))
        except (KeyError, ValueError, zipfile.BadZipFile, OSError):
            continue
        for notebook in manifest.get("notebooks", {}):
            match = re.match(named_regexp, f"/extracted/{path.stem}/{notebook}")
            if match and manifest.get("student_name"):
                names[match.group("student_id")] = manifest["student_name"]
                break
    return names


# ------------------------------------------------------------------ collected submissions


def _graded_cells(notebook: dict) -> dict:
    """{grade_id: cell} of the cells nbgrader protects with a checksum (tests, locked questions)."""
    found = {}
    for cell in notebook["cells"]:
        meta = nbgrader_meta(cell)
        locked = meta.get("locked") or (meta.get("grade") and not meta.get("solution"))
        if meta.get("grade_id") and locked:
            found[meta["grade_id"]] = cell
    return found


def _checksum(cell: dict) -> str:
    from nbformat import from_dict
    from nbgrader.utils import compute_checksum

    cell = from_dict(cell)
    cell.source = cell_source(cell)
    return compute_checksum(cell)


def _version(notebook: dict):
    return notebook.get("metadata", {}).get("tinygpt", {}).get("course_version")


def check_submissions(root: Path, assignment: str, set_aside: bool = True) -> list[Issue]:
    """Compare every collected notebook with the release: course version, locked cells.

    A notebook of another course version (or unreadable) is moved to set_aside/<student>/<assignment>/
    so autograde never scores it against tests it was not written for; it is reported instead.
    """
    release = {
        p.name: json.loads(p.read_text(encoding="utf-8")) for p in (root / "release" / assignment).glob("*.ipynb")
    }
    issues = []
    for folder in sorted((root / "submitted").glob(f"*/{assignment}")):
        student = folder.parent.name
        for path in sorted(folder.glob("*.ipynb")):
            reference = release.get(path.name)
            if reference is None:
                continue  # not a course notebook: nbgrader skips it too
            try:
                submitted = json.loads(path.read_text(encoding="utf-8"))
                submitted["cells"]
            except (ValueError, KeyError, UnicodeDecodeError):
                issues.append(
                    Issue(student, path.name, "unreadable notebook", "set aside; ask the student to hand in again")
                )
                _set_aside(root, path, student, assignment, set_aside)
                continue
            theirs, ours = _version(submitted), _version(reference)
            if theirs and ours and theirs != ours:
                commit = version_commit(path.name, theirs)
                where = (
                    f"content/ at commit {commit}"
                    if commit
                    else f"the content/ of that version (git log -- content/{path.name})"
                )
                issues.append(
                    Issue(
                        student,
                        path.name,
                        "other course version",
                        f"handed in version {theirs}, the release is {ours}: set aside, not graded. "
                        f"Grade it in a course folder made from {where} (grade init --content), or ask "
                        "the student to move their answers into the current notebook.",
                    )
                )
                _set_aside(root, path, student, assignment, set_aside)
                continue
            if not theirs:
                issues.append(
                    Issue(student, path.name, "no course version", "graded; check it is this course's notebook")
                )
            mine = _graded_cells(submitted)
            for grade_id, cell in _graded_cells(reference).items():
                if grade_id not in mine:
                    issues.append(
                        Issue(
                            student,
                            path.name,
                            "locked cell deleted",
                            f"{grade_id}: nbgrader puts the course's cell back before grading",
                        )
                    )
                elif _checksum(mine[grade_id]) != cell["metadata"]["nbgrader"]["checksum"]:
                    issues.append(
                        Issue(
                            student,
                            path.name,
                            "locked cell changed",
                            f"{grade_id}: its nbgrader checksum differs; nbgrader restores the course's "
                            "cell before grading: look at what the student changed",
                        )
                    )
    return issues


_VERSIONS: dict = {}


def version_commit(name: str, version: str, content: Path = CONTENT) -> str | None:
    """The newest commit (short hash and date) whose content/<name> has this course version, if git knows one."""
    from .notebooks import course_version

    if (name, version) not in _VERSIONS:
        _VERSIONS[(name, version)] = None
        try:
            log = subprocess.run(
                ["git", "-C", str(content), "log", "--format=%h %cs", "--", name],
                capture_output=True,
                text=True,
                timeout=60,
            ).stdout.split("\n")
            for line in filter(None, log):
                commit = line.split()[0]
                shown = subprocess.run(
                    ["git", "-C", str(content), "show", f"{commit}:./{name}"],
                    capture_output=True,
                    text=True,
                    timeout=60,
                )
                if shown.returncode == 0 and course_version(nbformat.reads(shown.stdout, as_version=4)) == version:
                    _VERSIONS[(name, version)] = line
                    break
        except (OSError, subprocess.SubprocessError, ValueError):
            pass  # no git, or not a checkout: the report says how to look
    return _VERSIONS[(name, version)]


def _set_aside(root: Path, path: Path, student: str, assignment: str, move: bool) -> None:
    if move:
        target = root / "set_aside" / student / assignment / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(path), str(target))


REPORT_FIELDS = ["step", "student_id", "notebook", "problem", "detail"]


def write_report(root: Path, step: str, issues: list[Issue]) -> Path:
    """reports/integrity.csv: one row per finding; this step's earlier rows are replaced, other steps' kept."""
    path = root / "reports" / "integrity.csv"
    rows = [r for r in read_report(root) if r["step"] != step]
    rows += [
        {"step": step, "student_id": i.student, "notebook": i.notebook, "problem": i.problem, "detail": i.detail}
        for i in issues
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=REPORT_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def read_report(root: Path) -> list[dict]:
    """The rows of reports/integrity.csv (dicts with REPORT_FIELDS), [] before any step ran."""
    path = root / "reports" / "integrity.csv"
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def nbgrader_exe() -> str:
    """The nbgrader command of this Python's environment."""
    exe = shutil.which("nbgrader", path=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    if exe is None:
        raise GradingRefused("nbgrader is not installed: pip install -e '.[dev]' (it pins nbgrader==0.9.6).")
    return exe


def run_nbgrader(args: list, root: Path, env: dict, log: Path | None = None) -> subprocess.CompletedProcess:
    """Run one nbgrader command in the course folder; its output also goes to `log`."""
    result = subprocess.run([nbgrader_exe(), *args], cwd=root, env=env, capture_output=True, text=True)
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(result.stdout + result.stderr, encoding="utf-8")
    return result
