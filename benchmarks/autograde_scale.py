"""How long nbgrader takes to autograde a class: N hand-ins of the whole course, 1..W workers.

Builds a real nbgrader course folder (`python -m coursetools grade init`), hands in N students'
work with `tinytorch.course.hand_in` (half the reference solutions with answers written, half
untouched stubs: the two ends of a class), collects the zips with `nbgrader zip_collect` and
autogrades them with `python -m coursetools grade autograde --workers W` (grading mode: short
training, a per-cell time limit), once per worker count. Reports seconds per student and the
projection to 200 students x 6 notebooks (the issue's target: <= 30 minutes on 2 cores).

    python benchmarks/autograde_scale.py                       # 8 students, 1 and 2 workers
    python benchmarks/autograde_scale.py --students 20 --workers 1 2 4
    python benchmarks/autograde_scale.py --json results/autograde_scale.json

Each worker is one `nbgrader autograde` process on its own share of the students; every
notebook runs in its own kernel, so the work is CPU-bound and scales with cores until the
gradebook (one SQLite file) is the bottleneck.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TARGET_STUDENTS, TARGET_MINUTES = 200, 30


def solved(release: dict, source: dict) -> dict:
    """The release notebook with every answer filled in from the instructor source (markers removed)."""
    answers = {c["metadata"]["nbgrader"]["grade_id"]: c for c in source["cells"] if c["metadata"].get("nbgrader")}
    notebook = json.loads(json.dumps(release))
    for cell in notebook["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if meta.get("solution"):
            text = answers[meta["grade_id"]]["source"]
            text = "".join(text) if isinstance(text, list) else text
            cell["source"] = "\n".join(line for line in text.split("\n") if "SOLUTION" not in line)
    return notebook


def hand_in_class(course: Path, students: int, downloads: Path) -> None:
    """N whole-course hand-in zips in `downloads`: even students solved everything, odd ones nothing."""
    from tinytorch.course.handin import hand_in, hand_in_name

    release = {p.name: json.loads(p.read_text()) for p in sorted((course / "release" / "tinygpt").glob("*.ipynb"))}
    source = {name: json.loads((course / "source" / "tinygpt" / name).read_text()) for name in release}
    for n in range(students):
        with tempfile.TemporaryDirectory() as folder:
            for name, notebook in release.items():
                work = solved(notebook, source[name]) if n % 2 == 0 else notebook
                Path(folder, name).write_text(json.dumps(work, indent=1))
            student = f"s{n:04d}"
            hand_in(student, name=f"Student {n}", root=folder, dest=downloads / hand_in_name(student, "course"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=8)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--corpus", default=None, help="tinyshakespeare.txt (default: $TINYGPT_CORPUS or the cache)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)

    from coursetools import grading

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        course, downloads = Path(tmp, "course"), Path(tmp, "downloads")
        downloads.mkdir()
        grading.init(course)
        hand_in_class(course, args.students, downloads)
        grading.collect(course, [downloads])
        for workers in args.workers:
            result = grading.autograde(course, workers=workers, corpus=args.corpus, force=True)
            per_student = result["seconds"] / result["students"]
            cpu_per_student = result["cpu_seconds"] / result["students"]
            projected = per_student * TARGET_STUDENTS / 60
            # On a machine nobody else uses: the CPU work spread over min(workers, cores) cores.
            quiet = cpu_per_student * TARGET_STUDENTS / min(result["workers"], os.cpu_count() or 1) / 60
            rows.append(
                {
                    "workers": result["workers"],
                    "students": result["students"],
                    "notebooks": result["notebooks"],
                    "seconds": round(result["seconds"], 1),
                    "seconds_per_student": round(per_student, 2),
                    "cpu_seconds_per_student": round(cpu_per_student, 2),
                    f"projected_minutes_{TARGET_STUDENTS}": round(projected, 1),
                    f"projected_minutes_{TARGET_STUDENTS}_from_cpu": round(quiet, 1),
                    "load_average_1min": round(os.getloadavg()[0], 1),
                }
            )
            print(
                f"{result['workers']} worker(s): {result['students']} students ({result['notebooks']} notebooks) in "
                f"{result['seconds']:.0f} s = {per_student:.1f} s/student wall, {cpu_per_student:.1f} s CPU -> "
                f"{TARGET_STUDENTS} students in {projected:.1f} min as measured, {quiet:.1f} min from the CPU time "
                f"alone (target {TARGET_MINUTES}; load average {os.getloadavg()[0]:.1f})",
                flush=True,
            )
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
            scores = sorted({gb.find_submission("tinygpt", s.id).code_score for s in gb.students})
    print(f"automatic points seen: {scores} (solved students get all, untouched stubs 0)")
    report = {
        "when": time.strftime("%Y-%m-%d %H:%M"),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_1min": os.getloadavg()[0],
        "rows": rows,
        "code_scores": scores,
    }
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
