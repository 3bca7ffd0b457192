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
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = "01_tokens_and_data.ipynb"
SETTLED = """() => { const s = window.tinygptIsolation;
    return !!window.jupyterapp && (!s || (s.status !== 'waiting' && s.status !== 'reloading')); }"""
KERNEL_IDLE = """() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
    return !!k && k.status === 'idle'; }"""
RUN = """async (code) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  let out = '';
  const future = kernel.requestExecute({code, store_history: false});
  future.onIOPub = (msg) => { if (msg.header.msg_type === 'stream') out += msg.content.text; };
  await future.done;
  return out;
}"""


def use_the_tests_helpers() -> None:
    """Import the tests' browser and server helpers (and coursetools, which the wheel does not hold)."""
    for folder in (REPO, REPO / "tests", REPO / "tests" / "site"):
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))


@contextmanager
def course_kernel(site: Path):
    """A notebook of the built `site`, served under /course/ by a plain static server, open in headless
    Chromium with its kernel idle: yields the page."""
    use_the_tests_helpers()
    from _browsers import CHROMIUM, CHROMIUM_ARGS
    from _site_helpers import LocalServer
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as root:
        (Path(root) / "index.html").write_text("<p>another site on the same host</p>")
        (Path(root) / "course").symlink_to(site.resolve(), target_is_directory=True)
        server = LocalServer(Path(root))
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                page = browser.new_context().new_page()
                page.goto(f"{server.url}course/notebooks/?path={NOTEBOOK}")
                wait_for(page, SETTLED)
                wait_for(page, KERNEL_IDLE)
                yield page
                browser.close()
        finally:
            server.stop()


def wait_for(page, source: str, timeout: float = 300.0):
    """Poll `source` until truthy, tolerating a page that is navigating (the isolation reload)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if page.evaluate(source):
                return
        except Exception:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"not true after {timeout:.0f} s: {source}")


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
    from _site_helpers import LocalServer
    from playwright.sync_api import sync_playwright

    visits = {name: {"first": [], "repeat": []} for name in sites}
    with sync_playwright() as pw, tempfile.TemporaryDirectory() as pages:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        for round_ in range(args.rounds):
            for name, site in sites.items():
                root = Path(pages) / f"{name}-{round_}"
                root.mkdir()
                (root / "index.html").write_text("<p>another site on the same host</p>")
                (root / "course").symlink_to(site.resolve(), target_is_directory=True)
                server = LocalServer(root)
                context = browser.new_context(viewport={"width": 1100, "height": 900})  # a fresh profile
                try:
                    for kind in ("first", "repeat"):
                        visits[name][kind].append(visit(context, f"{server.url}course/notebooks/?path={NOTEBOOK}"))
                finally:
                    context.close()
                    server.stop()
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
