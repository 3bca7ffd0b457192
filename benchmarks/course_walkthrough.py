"""How long each notebook takes, the nearest real thing to a timed walkthrough: every cell of the
instructor notebook run top to bottom in real Pyodide, plus the reading and writing the notebook asks
for, counted from the notebook itself at the allowances stated below.

    export TINYGPT_NUMPY_WHEEL=<Pyodide's numpy wheel> TINYGPT_CORPUS=<tinyshakespeare.txt>
    python benchmarks/course_walkthrough.py                      # measure every notebook, write the result
    python benchmarks/course_walkthrough.py --notebooks 04_train_tinygpt   # measure some, keep the others
    python benchmarks/course_walkthrough.py --count-only         # recount after editing prose, keep the compute

The result goes to `tinytorch/course/walkthrough.json` (shipped with the course: notebook 0 prints it
with `course_time()`), and each notebook's "**Time:**" line and `metadata["tinygpt"]["minutes"]` (which
the landing page shows) are rewritten from it; `tests/course/test_course_time.py` fails when they disagree
or when a notebook's counts have moved away from the file's.

Compute: each instructor notebook (reference solutions in its exercises) runs in a fresh Pyodide under
Node (benchmarks/pyodide_run.mjs: the browser's interpreter, numpy wheel and tinytorch's WebAssembly
kernels, V8 as in Chromium), without TINYGPT_FAST, the six in course order in one shared folder (notebook
0's speed probe chooses the preset the later ones train; passed exercises carry over as in the course).
A cell that asks to be run again until training is done (REPEAT_WHILE) is run again until it is. A
cell's last expression is rendered as the notebook would (`_repr_html_`); drawing it on the page is not
counted. Kernel start is Pyodide's start plus loading numpy in that process. Measured on this project's
shared 2-core machine; a laptop's browser tab is usually no slower (benchmarks/README.md).

Reading and writing, from the student build of each notebook (ASSUMPTIONS below, in minutes):
prose words at a reading speed; lines of given code (not the exercises) at a reading speed; each
code exercise by its points (they are sized 2-4 by the work they ask); each prediction; each experiment
(a cell tagged "experiment": reading what it printed, its running time counted in compute); each
written answer by the middle of its word guide at a writing speed that includes thinking.
Hands-on time is all of it but the written answers; each is rounded to ROUND minutes.
"""

import argparse
import ast
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))  # coursetools is not installed: it is read from this checkout

from coursetools.cells import cell_source, nbgrader_meta  # noqa: E402

CONTENT = REPO / "content"
RESULT = REPO / "tinytorch" / "course" / "walkthrough.json"
RUNNER = HERE / "pyodide_run.mjs"

#: The allowances (stated, not measured): minutes a student spends on what the notebook asks.
ASSUMPTIONS = {
    "reading_words_per_minute": 150,  # technical prose with formulas, read to be used (light prose: 200-250)
    "code_lines_per_minute": 15,  # given code read before running it (comment-only and blank lines not counted)
    "minutes_per_exercise_point": 5,  # a 2-point exercise 10 minutes, a 4-point one 20: prompt, code, a failed check
    "minutes_per_prediction": 2,  # think, write a number or a choice
    "minutes_per_experiment": 3,  # read the curves or table it printed, on top of its running time
    "writing_words_per_minute": 15,  # drafting an answer, thinking and checking numbers included
}
ROUND = 5  # minutes: a stated time is "about N minutes"

#: A cell that says "run this cell again" is run again while this holds (evaluated in the notebook's
#: namespace): what a student does who follows the prose. Other such cells are run once.
REPEAT_WHILE = {"04_train_tinygpt": "trainer.step < p.max_steps"}
RUN_AGAIN = "run this cell again"


# ----------------------------------------------------------------------------- counting (native)


def count(student_notebook: Path) -> dict:
    """What a notebook asks of a student, counted from its student build."""
    from tinytorch.course.answers import is_answer_cell, read_answers, word_guide

    cells = json.loads(Path(student_notebook).read_text(encoding="utf-8"))["cells"]
    counts = dict.fromkeys(("prose_words", "code_lines", "exercises", "code_points", "predictions", "experiments"), 0)
    for cell in cells:
        meta, text = nbgrader_meta(cell), cell_source(cell)
        if cell["cell_type"] == "markdown" and not is_answer_cell(cell):
            counts["prose_words"] += sum(1 for word in text.split() if re.search(r"\w", word))
        elif cell["cell_type"] == "code":
            if meta.get("solution"):
                counts["exercises"] += 1
            else:
                counts["code_lines"] += sum(
                    1 for line in text.splitlines() if line.strip() and not line.strip().startswith("#")
                )
            if meta.get("grade") and not meta.get("solution"):
                counts["code_points"] += int(meta.get("points", 0))
            if re.match(r"predicted_\w+ = None", text):
                counts["predictions"] += 1
            if "experiment" in (cell.get("metadata", {}).get("tags") or []):
                counts["experiments"] += 1
    answers = read_answers(student_notebook)
    counts["questions"] = len(answers)
    counts["written_points"] = sum(int(a["points"] or 0) for a in answers)
    counts["answer_words"] = sum(sum(word_guide(a["question"])) // 2 for a in answers)  # each guide's middle
    return counts


def estimate(counts: dict, compute_seconds: float, assumptions: dict = ASSUMPTIONS) -> dict:
    """{"hands_on", "written"} minutes, each rounded to ROUND, and the unrounded parts."""
    a = assumptions
    parts = {
        "reading": counts["prose_words"] / a["reading_words_per_minute"],
        "code_reading": counts["code_lines"] / a["code_lines_per_minute"],
        "exercises": counts["code_points"] * a["minutes_per_exercise_point"],
        "predictions": counts["predictions"] * a["minutes_per_prediction"],
        "experiments": counts["experiments"] * a["minutes_per_experiment"],
        "compute": compute_seconds / 60,
        "written": counts["answer_words"] / a["writing_words_per_minute"],
    }
    hands_on = sum(v for k, v in parts.items() if k != "written")

    def rounded(minutes):
        return max(ROUND, int(ROUND * round(minutes / ROUND)))

    return {
        "hands_on": rounded(hands_on),
        "written": rounded(parts["written"]),
        "parts": {k: round(v, 1) for k, v in parts.items()},
    }


TIME_LINE = re.compile(r"\*\*Time:\*\* about \d+ minutes hands-on \+ \d+ minutes of written answers\.")


def time_line(minutes: dict) -> str:
    return f"**Time:** about {minutes['hands_on']} minutes hands-on + {minutes['written']} minutes of written answers."


def write_notebooks(result: dict) -> None:
    """Each notebook's Time line (first cell) and metadata["tinygpt"]["minutes"] from `result`."""
    import nbformat

    for name, entry in result["notebooks"].items():
        path = CONTENT / f"{name}.ipynb"
        nb = nbformat.read(path, as_version=4)
        minutes = {"hands_on": entry["minutes"]["hands_on"], "written": entry["minutes"]["written"]}
        nb.metadata["tinygpt"]["minutes"] = minutes
        assert TIME_LINE.search(nb.cells[0].source), f"{name}: no Time line in the first cell"
        nb.cells[0].source = TIME_LINE.sub(time_line(minutes), nb.cells[0].source)
        path.write_text(nbformat.writes(nb).rstrip("\n"), encoding="utf-8")  # as the notebooks are kept


# ----------------------------------------------------------------------------- running (inside Pyodide)


def _show(value) -> None:
    """What the notebook's display does with a value, short of drawing it: make its markup."""
    if value is None:
        return
    for method in ("_repr_html_", "_repr_svg_", "_repr_markdown_"):
        render = getattr(value, method, None)
        if callable(render):
            render()
            return
    repr(value)


def _execute(source: str, namespace: dict) -> None:
    tree = ast.parse(source)
    last = tree.body[-1] if tree.body else None
    shown = isinstance(last, ast.Expr) and not source.rstrip().endswith(";")
    if shown:
        tree.body = tree.body[:-1]
    exec(compile(tree, "<cell>", "exec"), namespace)
    if shown:
        _show(eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace))


def run_inside(name: str) -> None:
    """Run notebook `name` from $TINYGPT_WORKDIR cell by cell; print one WALKTHROUGH line of timings."""
    import builtins

    os.chdir(os.environ["TINYGPT_WORKDIR"])
    builtins.display = lambda *values, **_: [_show(v) for v in values] and None
    cells = json.loads(Path(f"{name}.ipynb").read_text(encoding="utf-8"))["cells"]
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    timings, error = [], None
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "code" or not cell_source(cell).strip():
            continue
        source, runs, seconds = cell_source(cell), 0, 0.0
        try:
            while True:
                started = time.perf_counter()
                _execute(source, namespace)
                seconds += time.perf_counter() - started
                runs += 1
                again = REPEAT_WHILE.get(name) if RUN_AGAIN in source else None
                if not (again and eval(again, namespace)):
                    break
        except BaseException as exc:  # noqa: BLE001 - reported, and the walkthrough fails
            error = f"cell {index}: {type(exc).__name__}: {exc}"
        exercise = nbgrader_meta(cell).get("solution")  # its code stays in the notebook (the file ships)
        first = "(an exercise)" if exercise else source.splitlines()[0][:70]
        timings.append({"cell": index, "seconds": round(seconds, 3), "runs": runs, "first": first})
        if error:
            break
    from tinytorch import kernels
    from tinytorch.wasm import threads

    report = {
        "cells": timings,
        "error": error,
        "kernels": kernels.backend(),
        "threads": threads.reason(),
        "kernel_start_seconds": (float(os.environ["PYODIDE_LOAD_MS"]) + float(os.environ["PYODIDE_NUMPY_MS"])) / 1000,
    }
    print("WALKTHROUGH " + json.dumps(report), flush=True)


def measure(names: list, log) -> dict:
    """Run the instructor notebooks in Pyodide (Node), in course order, in one shared folder."""
    from coursetools.notebooks import build_notebooks

    if not os.environ.get("TINYGPT_NUMPY_WHEEL"):
        sys.exit("set TINYGPT_NUMPY_WHEEL to Pyodide's numpy wheel (benchmarks/pyodide_run.mjs)")
    measured = {}
    with tempfile.TemporaryDirectory() as tmp:
        drive = Path(tmp) / "drive"
        build_notebooks(CONTENT, drive, version="instructor")  # named as the students' are
        env = dict(os.environ, TINYGPT_WORKDIR=str(drive))
        env.pop("TINYGPT_FAST", None)
        course = sorted(p.stem for p in CONTENT.glob("*.ipynb"))
        for name in course[: max(course.index(n) for n in names) + 1]:  # those before set the stage
            started, load_before = time.perf_counter(), os.getloadavg()[0]
            done = subprocess.run(
                ["node", str(RUNNER), str(Path(__file__).relative_to(REPO)), "--inside", name],
                cwd=REPO,
                env=env,
                capture_output=True,
                text=True,
            )
            log.write(f"===== {name}\n{done.stdout}\n{done.stderr}\n")
            line = next((s for s in done.stdout.splitlines() if s.startswith("WALKTHROUGH ")), None)
            if line is None:
                sys.exit(f"{name}: the Pyodide run gave no result (exit {done.returncode}): {done.stderr[-2000:]}")
            report = json.loads(line[len("WALKTHROUGH ") :])
            if report["error"]:
                sys.exit(f"{name}: {report['error']}")
            report["wall_seconds"] = round(time.perf_counter() - started, 1)
            report["load_average"] = [round(load_before, 1), round(os.getloadavg()[0], 1)]  # the machine is shared
            if name in names:
                measured[name] = report
            compute = sum(c["seconds"] for c in report["cells"])
            print(
                f"  {name}: {compute:.0f} s of cells, kernel start {report['kernel_start_seconds']:.1f} s", flush=True
            )
    return measured


def assemble(names: list, measured: dict, old: dict, unmeasured: bool = False) -> dict:
    """The walkthrough: per notebook its counts (now), its run (`measured`, else the `old` file's) and minutes."""
    from coursetools.notebooks import build_notebooks

    result = {
        "how": "benchmarks/course_walkthrough.py: compute measured in Pyodide (Node), the rest counted",
        "assumptions": ASSUMPTIONS,
        "round_to_minutes": ROUND,
        "notebooks": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        students = {p.stem: p for p in build_notebooks(CONTENT, Path(tmp), version="student")}
        for name in names:
            previous = old["notebooks"].get(name, {})
            if name in measured:
                report = measured[name]
                run = {
                    "kernel_start_seconds": round(report["kernel_start_seconds"], 1),
                    "cells_seconds": round(sum(c["seconds"] for c in report["cells"]), 1),
                    "slowest_cells": sorted(report["cells"], key=lambda c: -c["seconds"])[:3],
                    "kernels": report["kernels"],
                    "load_average": report["load_average"],
                    "measured": time.strftime("%Y-%m-%d", time.gmtime()),
                }
            elif "run" in previous:
                run = previous["run"]
            elif unmeasured:
                run = {"kernel_start_seconds": 0.0, "cells_seconds": 0.0}
            else:
                sys.exit(f"{name}: never measured; run without --count-only")
            counts = count(students[name])
            minutes = estimate(counts, run["kernel_start_seconds"] + run["cells_seconds"])
            result["notebooks"][name] = {"counts": counts, "run": run, "minutes": minutes}
    return result


# ----------------------------------------------------------------------------- main


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inside", help=argparse.SUPPRESS)  # run one notebook (in Pyodide)
    parser.add_argument("--notebooks", default=None, help="comma list of names to measure (default: all)")
    parser.add_argument("--count-only", action="store_true", help="recount; keep the measured compute")
    parser.add_argument("--log", type=Path, default=None, help="the notebooks' own output (default: discarded)")
    args = parser.parse_args()
    if args.inside:
        return run_inside(args.inside)

    names = sorted(p.stem for p in CONTENT.glob("*.ipynb"))
    old = json.loads(RESULT.read_text(encoding="utf-8")) if RESULT.exists() else {"notebooks": {}}
    measured = {}
    if not args.count_only:
        if not old["notebooks"]:  # notebook 0 prints the file: give its first run one to read
            RESULT.write_text(json.dumps(assemble(names, {}, old, unmeasured=True)), encoding="utf-8")
        wanted = args.notebooks.split(",") if args.notebooks else names
        with open(args.log or os.devnull, "w", encoding="utf-8") as log:
            measured = measure(wanted, log)
    result = assemble(names, measured, old)
    RESULT.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    write_notebooks(result)

    print(
        f"\n{'notebook':22s} {'exercises':>9s} {'experiments':>11s} {'predictions':>11s} {'points':>10s} "
        f"{'compute':>8s} {'hands-on':>8s} {'written':>7s}"
    )
    for name, entry in result["notebooks"].items():
        c, m, r = entry["counts"], entry["minutes"], entry["run"]
        points = f"{c['code_points']}+{c['written_points']}"
        compute = r["kernel_start_seconds"] + r["cells_seconds"]
        print(
            f"{name:22s} {c['exercises']:9d} {c['experiments']:11d} {c['predictions']:11d} {points:>10s} "
            f"{compute / 60:7.1f}m {m['hands_on']:7d}m {m['written']:6d}m"
        )
    print(f"written to {RESULT.relative_to(REPO)} and the notebooks' Time lines")


if __name__ == "__main__":
    main()
