"""One leak policy (coursetools/leak_policy.py) for the student build, its CLI and the site scan.

Generated cases, one class each: marker spellings, unpaired markers, instructor tags, what a
solution cell carries (attachments, outputs, metadata), and the CLI failing exactly when the
site build would. Each asserts that nothing secret is in the output, that nothing was written
on failure, and that the message names the file and the cell.
"""

import base64
import itertools
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from coursetools import leak_policy, site_check, site_inputs
from coursetools.leak_policy import LeakError
from coursetools.notebooks import build_notebooks, main

REPO = Path(__file__).resolve().parents[2]
SECRET = "answer = the_reference_solution_line(42)"  # long enough to be a solution snippet
NB = "07_leaks.ipynb"

EDGES = {"begin": ["BEGIN", "begin", "Begin", "bEgIn"], "end": ["END", "end", "End", "eNd"]}
SEPARATORS = [" ", "  ", "_", "-", "", "\t", " _ ", "\u00a0", "- "]
KINDS = ["SOLUTION", "solution", "Solution"]
PREFIXES = ["### ", "#", "# ", "//", ""]


def spellings(edge: str, kinds=KINDS, limit=None) -> list[str]:
    found = [
        f"{prefix}{e}{sep}{kind}"
        for prefix, e, sep, kind in itertools.product(PREFIXES, EDGES[edge], SEPARATORS, kinds)
    ]
    return found[:: max(1, len(found) // limit)] if limit else found


def _cell(kind: str, source: str, **nbgrader):
    cell = nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
    if nbgrader:
        defaults = {"schema_version": 3, "locked": False, "grade": False, "solution": False}
        cell.metadata["nbgrader"] = {**defaults, **nbgrader}
    return cell


def _tagged(tag: str, kind: str = "markdown"):
    cell = _cell(kind, "Grading notes: full marks only for the vectorised version.")
    cell.metadata["tags"] = ["keep", tag]
    return cell


def _content(tmp_path: Path, exercise: str, extra=()) -> Path:
    """A course of one notebook: an exercise cell with `exercise` as its source, its test cell, `extra` cells."""
    content = tmp_path / "content"
    content.mkdir(exist_ok=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        _cell("markdown", "# Leaks\nA notebook for the leak tests."),
        _cell("code", exercise, solution=True, grade_id="leak_ex"),
        _cell("code", "assert answer() == 42", grade=True, locked=True, points=1, grade_id="leak_ex_test"),
        *extra,
    ]
    nbformat.write(nb, content / NB)
    return content


def _exercise(begin: str = "### BEGIN SOLUTION", end: str = "### END SOLUTION") -> str:
    return f"def answer():\n    {begin}\n    {SECRET}\n    return answer\n    {end}\n"


def _refused(content: Path, tmp_path: Path, *needles: str) -> str:
    """Build the students' notebooks from `content`: it must fail naming NB and the cell, writing nothing."""
    out = tmp_path / "out"
    with pytest.raises(LeakError) as error:
        build_notebooks(content, out, version="student")
    message = str(error.value)
    assert NB in message and " cell " in message, message
    for needle in needles:
        assert needle in message, message
    assert not out.exists() or not any(out.iterdir()), "a failed build wrote files"
    return message


# ----------------------------------------------------------------------------- marker spellings


@pytest.mark.parametrize("begin", spellings("begin", limit=120))
def test_every_spelling_of_begin_opens_a_region_the_student_never_sees(tmp_path, begin):
    built = build_notebooks(_content(tmp_path, _exercise(begin=begin)), tmp_path / "out")[0]
    text = built.read_text(encoding="utf-8")
    assert SECRET not in text and "return answer" not in text
    assert "raise NotImplementedError()" in text


@pytest.mark.parametrize("end", spellings("end", limit=40))
def test_every_spelling_of_end_closes_it(tmp_path, end):
    built = build_notebooks(_content(tmp_path, _exercise(end=end)), tmp_path / "out")[0]
    text = built.read_text(encoding="utf-8")
    assert SECRET not in text and leak_policy.markers(text) == []


@pytest.mark.parametrize(
    "marker",
    [
        f"{p}{e}{s}{k}"
        for p, e, s, k in itertools.product(
            ["### ", "# ", ""],
            ["BEGIN", "End", "begin"],
            [" ", "_", "-", ""],
            ["HIDDEN TESTS", "hidden_tests", "Hidden-Test"],
        )
    ],
)
def test_hidden_tests_in_any_spelling_are_refused(tmp_path, marker):
    tests = _cell(
        "code",
        f"assert answer() == 42\n{marker}\nassert answer() > 0\n",
        grade=True,
        locked=True,
        points=1,
        grade_id="leak_hidden",
    )
    _refused(_content(tmp_path, _exercise(), [tests]), tmp_path, "cell 3", "hidden tests")


@pytest.mark.parametrize(
    "prose",
    [
        f"To finish, see the {e}{s}{k} below."
        for e, s, k in itertools.product(["BEGIN", "begin", "END", "End"], [" ", "_", "-"], ["SOLUTION", "solution"])
    ],
)
def test_a_marker_in_prose_is_a_marker_as_for_nbgrader(tmp_path, prose):
    _refused(_content(tmp_path, _exercise(), [_cell("markdown", prose)]), tmp_path, "cell 3")


@pytest.mark.parametrize(
    "prose",
    [
        "We append solution files here.",
        "the legend solution",
        "weekend-solutions",
        "a hidden test of patience",
        "Solutions begin below",
        "extend_solution()",
    ],
)
def test_words_that_only_contain_a_marker_are_not_one(tmp_path, prose):
    built = build_notebooks(_content(tmp_path, _exercise(), [_cell("markdown", prose)]), tmp_path / "out")[0]
    assert prose in built.read_text(encoding="utf-8")


# ----------------------------------------------------------------------------- unpaired markers


UNPAIRED = {
    "orphan END": "def answer():\n    {secret}\n    {end}\n",
    "END before BEGIN": "def answer():\n    {end}\n    {begin}\n    {secret}\n",
    "nested BEGIN": "def answer():\n    {begin}\n    {begin}\n    {secret}\n    {end}\n    {end}\n",
    "unclosed BEGIN": "def answer():\n    {begin}\n    {secret}\n",
    "two on a line": "def answer():\n    {begin} {end}\n    {secret}\n",
}


@pytest.mark.parametrize("shape", UNPAIRED)
@pytest.mark.parametrize("begin, end", list(zip(spellings("begin", limit=6), spellings("end", limit=6))))
def test_unpaired_markers_fail_naming_file_cell_and_line(tmp_path, shape, begin, end):
    source = UNPAIRED[shape].format(begin=begin, end=end, secret=SECRET)
    message = _refused(_content(tmp_path, source), tmp_path, "cell 1", "line ")
    assert SECRET not in message


def test_an_orphan_end_in_a_cell_that_is_not_a_solution_cell_fails_too(tmp_path):
    _refused(_content(tmp_path, _exercise(), [_cell("code", "x = 1\n# END SOLUTION\n")]), tmp_path, "cell 3")


# ----------------------------------------------------------------------------- instructor tags


TAGS = [
    "instructor",
    "Instructor-Only",
    "INSTRUCTOR",
    "instructor_only",
    "Instructor Notes",
    "instructors-only",
    "  instructor  ",
    "INSTRUCTOR_ONLY",
    "Instructor-notes",
]


@pytest.mark.parametrize("tag", TAGS)
@pytest.mark.parametrize("kind", ["code", "markdown"])
def test_instructor_only_cells_in_any_case_are_refused(tmp_path, tag, kind):
    _refused(_content(tmp_path, _exercise(), [_tagged(tag, kind)]), tmp_path, "cell 3", "instructor only", tag)


@pytest.mark.parametrize("tag", ["instruction", "constructor", "instructive", "notes", "solution-check"])
def test_tags_that_are_not_instructor_tags_pass(tmp_path, tag):
    cell = _cell("markdown", "A tagged cell.")
    cell.metadata["tags"] = [tag]
    build_notebooks(_content(tmp_path, _exercise(), [cell]), tmp_path / "out")


# ----------------------------------------------------------------------------- what a solution cell carries


def _attachment(text: str) -> dict:
    return {"answer.svg": {"image/svg+xml": base64.b64encode(f"<svg><text>{text}</text></svg>".encode()).decode()}}


CARRIERS = {
    "attachment": lambda c: c.__setitem__("attachments", _attachment("model answer: 42")),
    "metadata": lambda c: c.metadata.__setitem__("instructor_notes", "model answer: 42"),
    "nested metadata": lambda c: c.metadata.__setitem__("rubric", {"full": ["model answer: 42"]}),
    "output": lambda c: c.__setitem__("outputs", [nbformat.v4.new_output("stream", text="model answer: 42\n")]),
}


@pytest.mark.parametrize(
    "carrier, kind", [(c, k) for c in CARRIERS for k in ("code", "markdown") if not (c == "output" and k == "markdown")]
)  # markdown has no outputs
def test_a_solution_cell_ships_without_what_it_carries(tmp_path, carrier, kind):
    if kind == "code":
        cell = _cell("code", _exercise(), solution=True, grade_id="leak_carrier")
    else:
        cell = _cell(
            "markdown", "The model answer is 42.", solution=True, grade=True, points=2, grade_id="leak_carrier"
        )
    CARRIERS[carrier](cell)
    built = build_notebooks(_content(tmp_path, _exercise(), [cell]), tmp_path / "out")[0]
    text = built.read_text(encoding="utf-8")
    nb = json.loads(text)
    assert "model answer" not in text and SECRET not in text and "attachments" not in nb["cells"][3]
    assert nb["cells"][3]["metadata"]["nbgrader"]["grade_id"] == "leak_carrier"


@pytest.mark.parametrize("where", ["source", "output", "metadata", "attachment", "notebook metadata"])
@pytest.mark.parametrize("secret", ["### BEGIN SOLUTION", "begin_solution", "END HIDDEN TESTS", SECRET])
def test_the_scan_reads_every_part_of_a_notebook(tmp_path, where, secret):
    snippets = leak_policy.Snippets({SECRET: NB})
    nb = nbformat.v4.new_notebook()
    cell = _cell("code", "x = 1")
    nb.cells = [_cell("markdown", "intro"), cell]
    if where == "source":
        cell.source = f"x = 1\n{secret}\n"
    elif where == "output":
        cell.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": f"'{secret}'\n"}, execution_count=1)]
    elif where == "metadata":
        cell.metadata["notes"] = {"hint": secret}
    elif where == "attachment":
        cell["attachments"] = {"a.txt": {"text/plain": base64.b64encode(f"x\n{secret}\n".encode()).decode()}}
    else:
        nb.metadata["instructor"] = secret
    leaks = leak_policy.notebook_leaks(nb, snippets, NB)
    assert leaks and all(leak.startswith(NB) for leak in leaks), leaks
    if where != "notebook metadata":
        assert all(leak.startswith(f"{NB} cell 1") for leak in leaks), leaks


# ----------------------------------------------------------------------------- the CLI and the site build agree


def _site_step(content: Path, dest: Path):
    """What the site build does with content/ before anything else: student notebooks, then the scan."""
    site_inputs.student_notebooks(content, dest)
    site_inputs.fail_on_leaks(dest, content, "the student notebooks")


LEAKY = {
    "hidden tests": lambda tmp: _content(
        tmp,
        _exercise(),
        [
            _cell(
                "code",
                "### BEGIN HIDDEN TESTS\nassert 1\n### END HIDDEN TESTS\n",
                grade=True,
                locked=True,
                points=1,
                grade_id="h",
            )
        ],
    ),
    "instructor tag": lambda tmp: _content(tmp, _exercise(), [_tagged("Instructor-Only")]),
    "orphan end": lambda tmp: _content(tmp, f"def answer():\n    {SECRET}\n    ### END SOLUTION\n"),
    "near-miss marker": lambda tmp: _content(tmp, _exercise(begin="### begin_solution")),
    "clean": lambda tmp: _content(tmp, _exercise()),
}


FAILING = {"hidden tests", "instructor tag", "orphan end"}


@pytest.mark.parametrize("case", LEAKY)
def test_the_cli_fails_exactly_when_the_site_build_would(tmp_path, case, capsys):
    content = LEAKY[case](tmp_path)
    try:
        _site_step(content, tmp_path / "site-files")
        site_fails = False
    except RuntimeError:
        site_fails = True
    code = main([str(content), str(tmp_path / "cli"), "--version", "student"])
    err = capsys.readouterr().err
    assert (code == 1) == site_fails
    if site_fails:
        assert NB in err and " cell " in err, err
        assert not (tmp_path / "cli").exists() or not any((tmp_path / "cli").iterdir())
    assert site_fails == (case in FAILING), case
    if not site_fails:  # the near miss is a region like any other: stripped, both ways
        for built in (tmp_path / "cli" / NB, tmp_path / "site-files" / NB):
            assert SECRET not in built.read_text(encoding="utf-8")


def test_the_documented_command_exits_1_on_hidden_tests(tmp_path):
    content = LEAKY["hidden tests"](tmp_path)
    run = subprocess.run(
        [sys.executable, "-m", "coursetools.notebooks", str(content), str(tmp_path / "out"), "--version", "student"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert run.returncode == 1 and NB in run.stderr and "HIDDEN TESTS" in run.stderr, run.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_the_course_itself_builds_clean_and_its_scan_agrees(tmp_path):
    written = build_notebooks(REPO / "content", tmp_path / "files")
    assert written and site_check.find_leaks(tmp_path, REPO / "content") == []
