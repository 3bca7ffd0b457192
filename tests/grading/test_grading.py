"""The instructor's side on real nbgrader: `python -m coursetools grade init|collect|autograde`.

One course folder (Moodle's bulk download naming) serves the module: its release is the student
build; a bulk download with a damaged zip, a notebook of another course version and an edited
test cell is collected and autograded; each is reported, nothing is silently mis-graded, and
autograding refuses to start without tinytorch in the kernel or without the corpus.
"""

import io
import json
import sys
import zipfile
from pathlib import Path

import pytest

from coursetools import grading
from coursetools.__main__ import main as coursetools_main
from coursetools.cells import nbgrader_meta
from coursetools.grading_checks import GradingRefused, read_report
from tinytorch.course.handin import hand_in, hand_in_name

pytestmark = pytest.mark.slow  # real nbgrader, notebooks in kernels


def handin_zip(notebooks: dict, student_id: str, what: str = "course", name: str = "") -> tuple[str, bytes]:
    """(file name, bytes) of a real hand-in zip of {name: notebook JSON}."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        for filename, notebook in notebooks.items():
            Path(folder, filename).write_text(json.dumps(notebook, indent=1), encoding="utf-8")
        zip_name = hand_in_name(student_id, what)
        path = hand_in(
            student_id,
            name=name,
            root=folder,
            notebook=None if what == "course" else what,
            dest=Path(folder) / zip_name,
        )
        return zip_name, path.read_bytes()


@pytest.fixture(scope="module")
def course(tmp_path_factory, nbgrader_ready):
    root = tmp_path_factory.mktemp("grading") / "course"
    grading.init(root, lms="moodle")
    return root


@pytest.fixture(scope="module")
def release(course):
    return {p.name: json.loads(p.read_text()) for p in sorted((course / "release" / "tinygpt").glob("*.ipynb"))}


def test_release_is_the_student_build_cell_for_cell(course, release):
    """init already refuses a release that differs; check it again, and that the check can fail."""
    assert grading.release_differences(course) == []
    assert sorted(release) == sorted(p.name for p in grading.CONTENT.glob("*.ipynb"))
    path = course / "release" / "tinygpt" / "02_attention.ipynb"
    original = path.read_text()
    try:
        edited = json.loads(original)
        edited["cells"][3]["source"] = "changed"
        path.write_text(json.dumps(edited))
        assert grading.release_differences(course) == ["02_attention.ipynb cell 3 differs"]
    finally:
        path.write_text(original)


def test_refuses_to_autograde_without_the_corpus(course, monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("TINYGPT_CORPUS", raising=False)
    monkeypatch.setenv("TINYGPT_CACHE", str(tmp_path))  # an empty download cache
    monkeypatch.chdir(tmp_path)
    with pytest.raises(GradingRefused, match="corpus is missing.*--corpus PATH"):
        grading.autograde(course)
    assert coursetools_main(["grade", "autograde", str(course)]) == 2
    assert "refused" in capsys.readouterr().err
    assert not (course / "autograded").exists(), "nothing may be graded"


def test_refuses_when_the_grading_kernel_cannot_import_tinytorch(course, monkeypatch, tmp_path):
    """A real kernel in which tinytorch is not importable (as in an environment without it)."""
    spec = tmp_path / "kernels" / "no-tinytorch"
    spec.mkdir(parents=True)
    hide = (
        "import sys; sys.modules['tinytorch'] = None; "
        "from ipykernel.kernelapp import launch_new_instance; launch_new_instance()"
    )
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-c", hide, "-f", "{connection_file}"],
                "display_name": "no tinytorch",
                "language": "python",
            }
        )
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    with pytest.raises(GradingRefused, match=r"cannot import tinytorch.*pip install"):
        grading.autograde(course, kernel="no-tinytorch")
    assert not (course / "autograded").exists(), "nothing may be graded"


def test_collect_and_autograde_report_damaged_zips_other_versions_and_edited_tests(course, release, tmp_path):
    stub = dict(release)
    old = json.loads(json.dumps(release))
    old["01_tokens_and_data.ipynb"]["metadata"]["tinygpt"]["course_version"] = "0123456789ab"
    tampered = json.loads(json.dumps(release))
    test_cell = next(
        c
        for c in tampered["03_transformer_block.ipynb"]["cells"]
        if nbgrader_meta(c).get("grade") and c["cell_type"] == "code"
    )
    tampered_id = test_cell["metadata"]["nbgrader"]["grade_id"]
    test_cell["source"] = "pass  # the test, removed"
    damaged_name, damaged = handin_zip(stub, "x1003")
    bulk = io.BytesIO()
    with zipfile.ZipFile(bulk, "w") as zf:  # Moodle: one folder per student, or flat names
        name, data = handin_zip(stub, "typed-id", name="Ada Stub")  # the LMS's id (1001) wins
        zf.writestr(f"Ada Stub_1001_assignsubmission_file_/{name}", data)
        name, data = handin_zip(old, "x")
        zf.writestr(f"Bo Old_1002_assignsubmission_file_{name}", data)
        zf.writestr(f"Cy Broken_1003_assignsubmission_file_{damaged_name}", damaged[: len(damaged) // 2])
        name, data = handin_zip(tampered, "x")
        zf.writestr(f"Di Tamper_1004_assignsubmission_file_/{name}", data)
        zf.writestr("Eve Renamed_1005_assignsubmission_file_my-homework.zip", handin_zip(stub, "eve")[1])
    download = tmp_path / "submissions.zip"
    download.write_bytes(bulk.getvalue())

    issues = grading.collect(course, [download])
    assert [(i.problem, i.notebook) for i in issues if i.problem != "not collected"] == [
        ("damaged zip", f"Cy Broken_1003_assignsubmission_file_{damaged_name}")
    ], issues
    renamed = {i.notebook for i in issues if i.problem == "not collected"}  # its name hides whose it is
    assert renamed == {f"Eve Renamed_1005_assignsubmission_file_my-homework/{n}" for n in release}, renamed
    assert grading.students_to_grade(course, "tinygpt") == ["1001", "1002", "1004"]

    result = grading.autograde(course, workers=2)
    found = {(i.student, i.notebook, i.problem) for i in result["issues"]}
    assert ("1002", "01_tokens_and_data.ipynb", "other course version") in found
    assert ("1004", "03_transformer_block.ipynb", "locked cell changed") in found
    assert not [i for i in result["issues"] if i.problem == "autograde error"], result["issues"]
    assert (course / "set_aside" / "1002" / "tinygpt" / "01_tokens_and_data.ipynb").is_file()
    assert {r["problem"] for r in read_report(course)} >= {"damaged zip", "other course version", "locked cell changed"}

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        assert gb.find_submission("tinygpt", "1001").code_score == 0
        ada = gb.find_student("1001")
        assert (ada.first_name, ada.last_name) == ("Ada", "Stub")  # as typed at hand-in
        grade = gb.find_grade(tampered_id, "03_transformer_block", "tinygpt", "1004")
        assert grade.needs_manual_grade, "an edited test cell must be flagged for review in formgrader"
        assert grade.auto_score == 0, "nbgrader restored the course's test: the stub still fails it"
        graded = {n.name for n in gb.find_submission("tinygpt", "1002").notebooks if n.code_score is not None}
        assert "02_attention" in graded
    log = "".join(p.read_text() for p in (course / "reports").glob("autograde-*.log"))
    assert f"Attribute 'checksum' for cell {tampered_id} has changed" in log  # nbgrader's own flag
