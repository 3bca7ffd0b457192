"""`python -m coursetools grade ...`: the instructor's side of hand-in, on stock nbgrader.

One path, each step a real nbgrader command; this module only adds what nbgrader cannot know:

    grade init COURSE        course folder: source/ (the instructor build of content/), nbgrader_config.py,
                             `nbgrader generate_assignment`, and a check that the release is the student build
    grade collect COURSE DL  LMS bulk downloads (zips, zips of zips, folders) -> downloaded/<assignment>/archive/,
                             damaged zips set aside and reported, then `nbgrader zip_collect`
    grade autograde COURSE   refuses without tinytorch or the corpus; sets aside other course versions and
                             reports edited locked cells; then `nbgrader autograde` in grading mode
                             (TINYGPT_FAST=1, a time limit per cell) in parallel workers on disjoint students
Then, in COURSE, stock nbgrader: formgrader (`jupyter lab`, the model answer and rubric sit under each
written answer), `nbgrader generate_feedback tinygpt`, `nbgrader export --to grades.csv`.
Findings of every step: COURSE/reports/integrity.csv.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from tinytorch.course.handin import FORMAT as HANDIN

from . import grading_checks as checks
from .cells import cell_source
from .grading_checks import Issue

REPO = Path(__file__).resolve().parents[1]
CONTENT = REPO / "content"
ASSIGNMENT = "tinygpt"
CELL_TIMEOUT = 120  # seconds per cell in grading mode (the longest takes a few seconds); a hung cell scores 0
# The hand-in zip's own name, and the names LMS bulk downloads give it (Canvas: name_[late_]userid_
# submissionid_file; Moodle: Full Name_id_assignsubmission_file_file). The LMS's id is the one to trust.
_TAIL = "(?P<timestamp>" + HANDIN["named_regexp"].split("(?P<timestamp>", 1)[1]  # time, then folder/notebook
NAMED_REGEXPS = {
    "handin": HANDIN["named_regexp"],
    "canvas": r".*/[^/]*?_(?:late_|LATE_)?(?P<student_id>[0-9]+)_[0-9]+_tinygpt-handin_[^_/]+_" + _TAIL,
    "moodle": r".*/[^/]*_(?P<student_id>[0-9]+)_assignsubmission_file_tinygpt-handin_[^_/]+_" + _TAIL,
}

CONFIG = """# Written by `python -m coursetools grade init`; nbgrader reads it from this folder.
import sys
sys.path.insert(0, {repo!r})  # coursetools' rubric preprocessors
from nbgrader.preprocessors import GetGrades
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from coursetools.grading_rubrics import AddRubrics, RemoveRubrics

c = get_config()
c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = {assignment!r}
# The notebooks name JupyterLite's kernel ("python"); grade in this machine's Python 3 kernel.
c.Execute.kernel_name = "python3"
c.Execute.timeout = {timeout}  # seconds per cell: every notebook ends
# Hand-in zips: whose and when, from the file name ({lms}); newest hand-in wins; backups are not notebooks.
c.FileNameCollectorPlugin.named_regexp = {regexp!r}
c.ZipCollectApp.strict = True
c.OverwriteCells.add_missing_cells = True  # a deleted test cell comes back and is graded
# The model answer and rubric under each written answer for formgrader; never in the students' feedback.
from nbgrader.converters import Autograde
c.Autograde.autograde_preprocessors = Autograde.class_traits()["autograde_preprocessors"].default() + [AddRubrics]
c.GenerateFeedback.preprocessors = [RemoveRubrics, GetGrades, CSSHTMLHeaderPreprocessor]
"""


def init(root, content=CONTENT, assignment: str = ASSIGNMENT, lms: str = "handin", timeout: int = CELL_TIMEOUT) -> Path:
    """Make (or refresh) an nbgrader course folder whose release is the course's student build."""
    from .notebooks import build_notebooks

    root = Path(root).resolve()
    if lms not in NAMED_REGEXPS:
        raise ValueError(f"--lms must be one of {sorted(NAMED_REGEXPS)}, got {lms!r}")
    source = root / "source" / assignment
    if source.exists():
        shutil.rmtree(source)
    build_notebooks(content, source, version="instructor")
    (root / "nbgrader_config.py").write_text(
        CONFIG.format(
            repo=str(REPO),
            root=str(root),
            assignment=assignment,
            timeout=int(timeout),
            lms=lms,
            regexp=NAMED_REGEXPS[lms],
        ),
        encoding="utf-8",
    )
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    result = checks.run_nbgrader(
        ["generate_assignment", assignment, "--force"], root, env, root / "reports" / "init.log"
    )
    if result.returncode != 0 or "Exception while loading config file" in result.stdout + result.stderr:
        raise RuntimeError(
            f"nbgrader generate_assignment failed (reports/init.log):\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    differences = release_differences(root, content, assignment)
    if differences:
        raise RuntimeError(
            "the nbgrader release differs from the course's student build: " + "; ".join(differences[:5])
        )
    return root / "release" / assignment


def release_differences(root: Path, content=CONTENT, assignment: str = ASSIGNMENT) -> list[str]:
    """Where nbgrader's release differs from the student build (cells, nbgrader metadata, course version)."""
    import tempfile

    from .notebooks import build_notebooks

    found = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in build_notebooks(content, tmp, version="student"):
            ours = json.loads(path.read_text(encoding="utf-8"))
            release = root / "release" / assignment / path.name
            if not release.is_file():
                found.append(f"{path.name} is not in the release")
                continue
            theirs = json.loads(release.read_text(encoding="utf-8"))
            if ours["metadata"]["tinygpt"]["course_version"] != theirs["metadata"].get("tinygpt", {}).get(
                "course_version"
            ):
                found.append(f"{path.name}: course version differs")
            if len(ours["cells"]) != len(theirs["cells"]):
                found.append(
                    f"{path.name}: {len(ours['cells'])} cells in the student build, {len(theirs['cells'])} released"
                )
                continue
            for i, (a, b) in enumerate(zip(ours["cells"], theirs["cells"])):
                if (a["cell_type"], cell_source(a), a["metadata"].get("nbgrader")) != (
                    b["cell_type"],
                    cell_source(b),
                    b["metadata"].get("nbgrader"),
                ):
                    found.append(f"{path.name} cell {i} differs")
    return found


# ------------------------------------------------------------------ collect


def _flat_name(relative: str) -> str:
    """A zip's path inside a bulk download as one file name: Moodle's per-student folder keeps its id."""
    return relative.replace("\\", "/").replace("/", "")


def _gather(download: Path, archive: Path) -> list[Path]:
    """Copy the hand-in zips of one LMS download (a zip, a zip of zips, a folder) into archive/."""
    placed = []
    if download.is_dir():
        for path in sorted(download.rglob("*.zip")):
            target = archive / _flat_name(path.relative_to(download).as_posix())
            shutil.copyfile(path, target)
            placed.append(target)
        return placed
    try:
        with zipfile.ZipFile(download) as zf:
            inner = [i for i in zf.infolist() if i.filename.lower().endswith(".zip") and not i.is_dir()]
            if inner:  # a bulk download: every student's zip inside one
                for info in inner:
                    target = archive / _flat_name(info.filename)
                    target.write_bytes(zf.read(info))
                    placed.append(target)
                return placed
    except (zipfile.BadZipFile, OSError, EOFError):
        pass  # a damaged single hand-in: copied, then reported by check_zip
    target = archive / download.name
    shutil.copyfile(download, target)
    return [target]


def collect(root, downloads, assignment: str = ASSIGNMENT) -> list[Issue]:
    """Put the LMS downloads into nbgrader's archive folder, set damaged zips aside, run zip_collect."""
    root = Path(root).resolve()
    base = root / "downloaded" / assignment
    archive, damaged = base / "archive", base / "damaged"
    archive.mkdir(parents=True, exist_ok=True)
    issues = []
    for download in downloads:
        download = Path(download)
        if not download.exists():
            raise FileNotFoundError(
                f"{download} not found: pass the LMS's bulk download (zip or folder) or hand-in zips"
            )
        _gather(download, archive)
    for path in sorted(archive.glob("*.zip")):
        problem = checks.check_zip(path)
        if problem:
            damaged.mkdir(parents=True, exist_ok=True)
            shutil.move(str(path), str(damaged / path.name))
            issues.append(
                Issue(
                    "",
                    path.name,
                    "damaged zip",
                    f"{problem}; set aside in downloaded/{assignment}/damaged/, "
                    "the others were collected. Ask the student to hand in again.",
                )
            )
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    result = checks.run_nbgrader(["zip_collect", assignment, "--force"], root, env, root / "reports" / "collect.log")
    log = result.stdout + result.stderr
    if result.returncode != 0:
        raise RuntimeError(f"nbgrader zip_collect failed (reports/collect.log):\n{log[-3000:]}")
    for line in log.splitlines():  # a zip renamed out of the pattern, a notebook the course does not have
        match = re.search(r"(?:Skipped .*?|did not match anything in): (\S.*)$|invalid name '(.+)'", line)
        path = match and (match.group(1) or match.group(2))
        if path and path.endswith(".ipynb"):
            issues.append(Issue("", path.split("/extracted/")[-1], "not collected", line.split("]")[-1].strip()))
    _name_students(root, archive)
    checks.write_report(root, "collect", issues)
    return issues


def _name_students(root: Path, archive: Path) -> None:
    """Students' names as they typed them at hand-in, into the gradebook (only where it has none)."""
    from nbgrader.api import Gradebook

    config = (root / "nbgrader_config.py").read_text(encoding="utf-8")
    regexp = ast.literal_eval(re.search(r"^c\.FileNameCollectorPlugin\.named_regexp = (.+)$", config, re.M).group(1))
    names = checks.handin_names(archive, regexp)
    submitted = {p.parent.name for p in (root / "submitted").glob("*/*")}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for student_id in sorted(submitted & set(names)):
            first, _, last = names[student_id].rpartition(" ")
            student = gb.update_or_create_student(student_id)
            if not (student.first_name or student.last_name) and names[student_id]:
                gb.update_or_create_student(student_id, first_name=first or None, last_name=last)


# ------------------------------------------------------------------ autograde


def students_to_grade(root: Path, assignment: str) -> list[str]:
    return sorted(p.parent.name for p in (root / "submitted").glob(f"*/{assignment}") if any(p.glob("*.ipynb")))


def autograde(
    root,
    assignment: str = ASSIGNMENT,
    workers: int = 2,
    corpus=None,
    kernel: str = "python3",
    force: bool = False,
    timeout: int | None = None,
) -> dict:
    """Check the grading kernel, check the submissions, then `nbgrader autograde` in `workers` processes.

    Returns {"students", "notebooks", "seconds", "cpu_seconds", "workers", "issues", "kernel"}. Raises GradingRefused
    before grading anything when the kernel lacks tinytorch or the corpus is missing.
    """
    root = Path(root).resolve()
    env = checks.grading_env(checks.find_corpus(corpus))
    kernel_info = checks.preflight(env, kernel)
    issues = checks.check_submissions(root, assignment)
    students = students_to_grade(root, assignment)
    if not students:
        raise FileNotFoundError(f"no submissions in {root / 'submitted'}: run `grade collect` first")
    workers = max(1, min(workers, len(students)))
    groups = [students[i::workers] for i in range(workers)]
    extra = [f"--Execute.kernel_name={kernel}"] + ([f"--Execute.timeout={int(timeout)}"] if timeout else [])
    extra += ["--force"] if force else []
    started, cpu_before = time.perf_counter(), _children_cpu()
    running = []
    for n, group in enumerate(groups):
        others = ",".join(s for s in students if s not in set(group))
        log = root / "reports" / f"autograde-{n + 1}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        args = [
            checks.nbgrader_exe(),
            "autograde",
            assignment,
            f"--CourseDirectory.student_id_exclude={others}",
            *extra,
        ]
        handle = log.open("w", encoding="utf-8")
        running.append(
            (subprocess.Popen(args, cwd=root, env=env, stdout=handle, stderr=subprocess.STDOUT), handle, log)
        )
    for process, handle, log in running:
        process.wait()
        handle.close()
        if process.returncode != 0:
            errors = [line for line in log.read_text(encoding="utf-8").splitlines() if "ERROR" in line]
            issues.append(
                Issue(
                    "",
                    "",
                    "autograde error",
                    f"nbgrader autograde exited {process.returncode}; see "
                    f"reports/{log.name}: " + " | ".join(errors[-3:]),
                )
            )
    seconds, cpu_seconds = time.perf_counter() - started, _children_cpu() - cpu_before
    _flag_in_gradebook(root, assignment, issues)
    checks.write_report(root, "autograde", issues)
    notebooks = sum(len(list((root / "submitted" / s / assignment).glob("*.ipynb"))) for s in students)
    return {
        "students": len(students),
        "notebooks": notebooks,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "workers": workers,
        "issues": issues,
        "kernel": kernel_info,
    }


def _children_cpu() -> float:
    """CPU seconds of finished child processes (nbgrader and, through it, the kernels it waited for)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _flag_in_gradebook(root: Path, assignment: str, issues: list[Issue]) -> None:
    """An edited locked test cell: its grade is marked for review, so formgrader lists the submission."""
    from nbgrader.api import Gradebook, MissingEntry

    flagged = [i for i in issues if i.problem in ("locked cell changed", "locked cell deleted")]
    if not flagged or not (root / "gradebook.db").is_file():
        return
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for issue in flagged:
            grade_id = issue.detail.split(":", 1)[0]
            try:
                grade = gb.find_grade(grade_id, Path(issue.notebook).stem, assignment, issue.student)
            except MissingEntry:
                continue  # a locked markdown cell has no grade
            grade.needs_manual_grade = True
        gb.db.commit()
