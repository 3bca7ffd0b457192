"""Kernel start on a first and a repeat visit, for one or more built sites, in headless Chromium.

    python benchmarks/kernel_start.py --rounds 3 after=site before=/tmp/site-before

What a student waits for: from opening a notebook's address (a fresh browser profile, then the
same profile again) to the reply of a first cell, whatever reloads happen on the way (a first
visit reloads once to become cross-origin isolated, coursetools/page_scripts/isolation.js).
The sites are served the way GitHub Pages serves them (a plain static server under /course/)
and alternated round by round, so a machine whose load drifts treats them alike: compare the
medians of one run, not runs of different hours. Also printed: the isolation each visit ended
with, and `import tinytorch` in that kernel.
"""

import argparse
import json
import statistics
import time
from pathlib import Path

from course_page import KERNEL_IDLE, NOTEBOOK, RUN, SETTLED, served_under_course, use_the_tests_helpers, wait_for


def visit(context, url: str) -> dict:
    page = context.new_page()
    started = time.perf_counter()
    page.goto(url)
    wait_for(page, SETTLED)
    wait_for(page, KERNEL_IDLE)
    reply = page.evaluate(RUN, "print(6 * 7)")
    ready = time.perf_counter() - started
    assert "42" in reply, reply
    imported = page.evaluate(
        RUN, "import time as _t\n_s = _t.perf_counter()\nimport tinytorch\nprint(_t.perf_counter() - _s)"
    )
    isolation = page.evaluate("() => window.tinygptIsolation ? window.tinygptIsolation.status : 'no isolation.js'")
    page.close()
    return {"kernel_ready_s": round(ready, 2), "import_s": round(float(imported), 3), "isolation": isolation}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sites", nargs="+", metavar="NAME=FOLDER", help="built sites to compare")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write every visit here")
    args = parser.parse_args()
    sites = {name: Path(folder) for name, folder in (s.split("=", 1) for s in args.sites)}
    use_the_tests_helpers()
    from _browsers import CHROMIUM, CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    visits = {name: {"first": [], "repeat": []} for name in sites}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        for round_ in range(args.rounds):
            for name, site in sites.items():
                # a new server (a new origin) and a fresh profile each round: no worker, no cache
                with served_under_course(site) as base:
                    context = browser.new_context(viewport={"width": 1100, "height": 900})
                    try:
                        for kind in ("first", "repeat"):
                            visits[name][kind].append(visit(context, f"{base}notebooks/?path={NOTEBOOK}"))
                    finally:
                        context.close()
                print(f"round {round_ + 1} {name}: " + json.dumps({k: v[-1] for k, v in visits[name].items()}))
        browser.close()
    print(f"\nkernel ready (page open -> a first cell's reply), median of {args.rounds} rounds, Chromium:")
    for name, kinds in visits.items():
        cells = []
        for kind, runs in kinds.items():
            times = [v["kernel_ready_s"] for v in runs]
            cells.append(f"{kind} visit {statistics.median(times):.1f} s ({', '.join(f'{t:.1f}' for t in times)})")
        print(f"  {name}: " + "; ".join(cells) + f"; isolation: {kinds['repeat'][-1]['isolation']}")
    if args.json:
        args.json.write_text(json.dumps(visits, indent=1))


if __name__ == "__main__":
    main()
