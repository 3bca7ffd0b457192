"""`python -m coursetools grade init|collect|autograde`: the command line of coursetools/grading.py."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .grading import ASSIGNMENT, CELL_TIMEOUT, CONTENT, NAMED_REGEXPS, autograde, collect, init, students_to_grade
from .grading_checks import GradingRefused


def add_commands(commands) -> None:
    """The `grade` subcommand of `python -m coursetools`."""
    grade = commands.add_parser("grade", help="hand-in to gradebook with nbgrader (init, collect, autograde)")
    steps = grade.add_subparsers(dest="step", required=True)
    p = steps.add_parser("init", help="make an nbgrader course folder whose release is the student build")
    p.add_argument("course", type=Path)
    p.add_argument("--content", type=Path, default=CONTENT, help="the course sources (default: content/)")
    p.add_argument(
        "--lms",
        choices=sorted(NAMED_REGEXPS),
        default="handin",
        help="whose zip is whose: the LMS's renamed bulk download (canvas, moodle) or the hand-in names",
    )
    p.add_argument("--timeout", type=int, default=CELL_TIMEOUT, help=f"seconds per cell (default {CELL_TIMEOUT})")
    p = steps.add_parser("collect", help="LMS downloads -> nbgrader submitted/ (damaged zips reported)")
    p.add_argument("course", type=Path)
    p.add_argument("downloads", type=Path, nargs="+", help="bulk download zips, folders or hand-in zips")
    p = steps.add_parser("autograde", help="check the kernel and submissions, then nbgrader autograde in parallel")
    p.add_argument("course", type=Path)
    p.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="parallel nbgrader processes (default: cores)"
    )
    p.add_argument(
        "--corpus", type=Path, default=None, help="tinyshakespeare.txt (default: $TINYGPT_CORPUS or the cache)"
    )
    p.add_argument("--kernel", default="python3", help="the kernel that grades (default python3)")
    p.add_argument("--force", action="store_true", help="grade again students already autograded")
    for sub in steps.choices.values():
        sub.add_argument("--assignment", default=ASSIGNMENT, help=f"nbgrader assignment id (default {ASSIGNMENT})")


def run(args) -> int:
    try:
        if args.step == "init":
            release = init(args.course, args.content, args.assignment, args.lms, args.timeout)
            print(f"{release}: the student build, released by nbgrader. Next: grade collect {args.course} DOWNLOADS...")
            return 0
        if args.step == "collect":
            issues = collect(args.course, args.downloads, args.assignment)
            collected = students_to_grade(Path(args.course).resolve(), args.assignment)
            print(f"collected {len(collected)} student(s) into {args.course}/submitted/")
        else:
            result = autograde(args.course, args.assignment, args.workers, args.corpus, args.kernel, args.force)
            issues = result["issues"]
            print(
                f"autograded {result['students']} student(s), {result['notebooks']} notebook(s) in "
                f"{result['seconds']:.0f} s with {result['workers']} worker(s) (kernel: {result['kernel']['python']})"
            )
    except GradingRefused as error:
        print(f"grade {args.step} refused: {error}", file=sys.stderr)
        return 2
    except (RuntimeError, FileNotFoundError, ValueError) as error:
        print(f"grade {args.step} failed: {error}", file=sys.stderr)
        return 1
    for issue in issues:
        print(f"ATTENTION {issue.student or '-'} {issue.notebook or '-'}: {issue.problem}: {issue.detail}")
    if issues:
        print(f"{len(issues)} finding(s) in {args.course}/reports/integrity.csv")
    return 0
