"""How long each notebook takes, and where that number comes from (notebook 0 prints it).

    course_time()      # a table: per notebook, what it asks, its measured running time, its minutes

The numbers are walkthrough.json, written by benchmarks/course_walkthrough.py: each notebook run top
to bottom in Pyodide (its running time), plus its reading, exercises, predictions, experiments and
written answers counted from the notebook at the allowances stored beside them. Each notebook's
"Time:" line states the same minutes (tests/course/test_course_time.py).
"""

import json
from pathlib import Path

FILE = Path(__file__).resolve().parent / "walkthrough.json"


def walkthrough() -> dict:
    """The stored walkthrough: {"assumptions", "round_to_minutes", "notebooks": {name: {counts, run, minutes}}}."""
    return json.loads(FILE.read_text(encoding="utf-8"))


class CourseTime(str):
    """The table as text; a notebook shows it as is."""

    def __repr__(self) -> str:
        return str(self)


def course_time() -> CourseTime:
    """Per notebook: exercises, experiments, predictions, points (code + written), its measured running
    time in Pyodide, and the minutes hands-on and written; then the allowances behind them."""
    data = walkthrough()
    rows = [
        f"{'notebook':24s}{'exercises':>10s}{'experiments':>12s}{'predictions':>12s}{'points':>8s}"
        f"{'running':>9s}{'hands-on':>10s}{'written':>9s}"
    ]
    total = {"hands_on": 0, "written": 0}
    for name, entry in data["notebooks"].items():
        c, run, m = entry["counts"], entry["run"], entry["minutes"]
        running = (run["kernel_start_seconds"] + run["cells_seconds"]) / 60
        points = f"{c['code_points']}+{c['written_points']}"
        rows.append(
            f"{name:24s}{c['exercises']:10d}{c['experiments']:12d}{c['predictions']:12d}{points:>8s}"
            f"{running:7.1f} m{m['hands_on']:8d} m{m['written']:7d} m"
        )
        total["hands_on"] += m["hands_on"]
        total["written"] += m["written"]
    rows.append(f"{'the course':24s}{'':51s}{total['hands_on']:8d} m{total['written']:7d} m")
    a = data["assumptions"]
    rows += [
        "",
        "running: every cell of the notebook (reference solutions, full training) in Pyodide on the course's test "
        "machine, kernel start included.",
        f"hands-on adds reading at {a['reading_words_per_minute']} words and {a['code_lines_per_minute']} lines of "
        f"given code a minute, {a['minutes_per_exercise_point']} min per exercise point, "
        f"{a['minutes_per_prediction']} per prediction, {a['minutes_per_experiment']} per experiment;",
        f"written: each answer's word guide (its middle) at {a['writing_words_per_minute']} words a minute. "
        f"Each rounded to {data['round_to_minutes']} minutes.",
    ]
    return CourseTime("\n".join(rows))
