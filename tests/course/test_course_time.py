"""Each notebook's stated time is the walkthrough's (benchmarks/course_walkthrough.py): its running time
measured in Pyodide plus what the notebook asks, counted from it at stated allowances. The stored counts
must still describe the notebooks, the minutes must follow from counts, measurement and allowances, and
the notebooks' Time lines and metadata (the landing page's source) must state those minutes."""

import json

import pytest
from conftest import NOTEBOOKS

from benchmarks import course_walkthrough as walk
from coursetools.cells import cell_source
from tinytorch.course.walkthrough import course_time, walkthrough

RECOUNT = "the notebook changed since the walkthrough: run python benchmarks/course_walkthrough.py --count-only"
#: prose and given code may drift this much (a sentence edited) before the stored counts must be renewed
DRIFT = 0.10


def test_the_walkthrough_covers_every_notebook_with_the_scripts_allowances():
    data = walkthrough()
    assert list(data["notebooks"]) == NOTEBOOKS
    assert data["assumptions"] == walk.ASSUMPTIONS and data["round_to_minutes"] == walk.ROUND
    for name, entry in data["notebooks"].items():
        run = entry["run"]
        assert run["cells_seconds"] > 0 and run["kernel_start_seconds"] > 0, f"{name}: no measured running time"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_stored_counts_still_describe_the_notebook(name, builds):
    stored = walkthrough()["notebooks"][name]["counts"]
    now = walk.count(next(p for p in builds["student"] if p.stem == name))
    assert set(now) == set(stored), RECOUNT
    for key, value in now.items():
        if key in ("prose_words", "code_lines"):
            assert abs(value - stored[key]) <= DRIFT * stored[key], f"{name}: {key} {stored[key]} -> {value}; {RECOUNT}"
        else:
            assert value == stored[key], f"{name}: {key} {stored[key]} -> {value}; {RECOUNT}"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_minutes_follow_from_the_counts_and_the_measured_running_time(name):
    data = walkthrough()
    entry = data["notebooks"][name]
    compute = entry["run"]["kernel_start_seconds"] + entry["run"]["cells_seconds"]
    assert walk.estimate(entry["counts"], compute, data["assumptions"]) == entry["minutes"]


def test_more_work_means_more_minutes():
    """The estimate is monotone in what it counts (a typo in its formula would show here)."""
    counts = walkthrough()["notebooks"]["04_train_tinygpt"]["counts"]
    base = walk.estimate(counts, 600)
    heavier = walk.estimate({**counts, "code_points": counts["code_points"] + 4}, 600)
    slower = walk.estimate(counts, 600 + 60 * walk.ROUND)
    longer = walk.estimate({**counts, "answer_words": counts["answer_words"] + 300}, 600)
    assert heavier["hands_on"] > base["hands_on"] and slower["hands_on"] == base["hands_on"] + walk.ROUND
    assert longer["written"] > base["written"] and longer["hands_on"] == base["hands_on"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_notebook_states_the_walkthrough_minutes(name):
    minutes = walkthrough()["notebooks"][name]["minutes"]
    nb = json.loads((walk.CONTENT / f"{name}.ipynb").read_text(encoding="utf-8"))
    assert nb["metadata"]["tinygpt"]["minutes"] == {"hands_on": minutes["hands_on"], "written": minutes["written"]}
    top = cell_source(nb["cells"][0])
    assert walk.time_line(minutes) in top, f"{name}: its Time line is not the walkthrough's"


def test_course_time_prints_every_notebook_and_the_allowances():
    text = course_time()
    data = walkthrough()
    for name in data["notebooks"]:
        assert name in text
    total = sum(e["minutes"]["hands_on"] for e in data["notebooks"].values())
    assert f"{total:8d} m" in text.splitlines()[len(NOTEBOOKS) + 1]
    assert f"{data['assumptions']['reading_words_per_minute']} words" in text
    assert repr(text) == str(text)  # a notebook shows the table, not a quoted string
