"""The zip_collect patterns `grade init --lms` writes: whose hand-in, when, which notebook, from the
path of a notebook extracted from an LMS's renamed download (the LMS's id wins over the typed one)."""

import re
from pathlib import Path

import pytest

from coursetools.grading import NAMED_REGEXPS

EXTRACTED = "/course/downloaded/tinygpt/extracted/"
HANDIN = "tinygpt-handin_s9_20261206T090503Z_01_tokens_and_data"


@pytest.mark.parametrize(
    "lms, folder, student",
    [
        ("handin", HANDIN, "s9"),
        ("canvas", f"lovelaceada_12345_67890_{HANDIN}", "12345"),
        ("canvas", f"lovelaceada_late_12345_67890_{HANDIN}-1", "12345"),
        ("moodle", f"Ada Lovelace_12345_assignsubmission_file_{HANDIN}", "12345"),
    ],
)
def test_each_pattern_reads_student_time_and_notebook(lms, folder, student):
    found = re.match(NAMED_REGEXPS[lms], f"{EXTRACTED}{folder}/01_tokens_and_data.ipynb")
    assert found is not None, (lms, folder)
    assert found.groupdict() == {
        "student_id": student,
        "timestamp": "20261206T090503Z",
        "file_id": "01_tokens_and_data.ipynb",
    }


@pytest.mark.parametrize("lms", ["canvas", "moodle"])
def test_lms_patterns_skip_what_is_not_a_hand_in(lms):
    assert re.match(NAMED_REGEXPS[lms], f"{EXTRACTED}lovelaceada_12345_67890_homework/01_tokens_and_data.ipynb") is None
    assert re.match(NAMED_REGEXPS[lms], f"{EXTRACTED}x_12345_67890_{HANDIN}/tinygpt-handin.json") is None


def test_the_readme_shows_the_patterns_grade_init_writes():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    shown = re.findall(r'named_regexp = \(  # --lms (\w+)\n\s+r"(.+)"\n\s+r"(.+)"\s*\)', readme)
    assert {lms: first + second for lms, first, second in shown} == {k: NAMED_REGEXPS[k] for k in ("canvas", "moodle")}
