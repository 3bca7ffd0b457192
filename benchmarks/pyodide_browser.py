"""Run a Python script inside Pyodide in a headless browser's worker, as the course's kernel runs.

    python benchmarks/pyodide_browser.py benchmarks/simd_speed.py --steps 12
    python benchmarks/pyodide_browser.py tests/core/wasm_checks.py
    python benchmarks/pyodide_browser.py --browser firefox benchmarks/simd_speed.py     # or webkit
    python benchmarks/pyodide_browser.py --isolated benchmarks/simd_speed.py --threads  # cross-origin isolated

The same job as pyodide_run.mjs, in a browser: a static server gives a page whose module Worker
(the JupyterLite kernel is a worker too) loads Pyodide from node_modules/pyodide, Pyodide's
numpy wheel ($TINYGPT_NUMPY_WHEEL) and a tinytorch wheel built from this tree, writes the
benchmarks/*.py files and the script into /bench (and $TINYGPT_CORPUS as /bench/corpus.txt), and
runs the script; its output is printed here line by line, and the exit code is the script's.
Needs npm ci and the tests' browsers (tests/_browsers.py): Chromium through playwright, Firefox
through npm puppeteer-core, WebKitGTK through the site tests' Selenium driver (tests/site/_engines.py).
"""

import functools
import http.server
import json
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

WORKER = """
import { loadPyodide } from "./pyodide/pyodide.mjs";
const say = (line) => postMessage({ line });
try {
  const config = await (await fetch("run.json")).json();
  const pyodide = await loadPyodide({ indexURL: new URL("./pyodide/", location.href).href, stdout: say, stderr: say });
  await pyodide.loadPackage(config.wheels.map((w) => new URL(w, location.href).href), { messageCallback: () => {} });
  for (const [name, text] of Object.entries(config.files)) {
    pyodide.FS.mkdirTree("/bench");
    pyodide.FS.writeFile("/bench/" + name, text);
  }
  if (config.corpus) {  // $TINYGPT_CORPUS, served beside the page
    pyodide.FS.writeFile("/bench/corpus.txt", new Uint8Array(await (await fetch(config.corpus)).arrayBuffer()));
  }
  pyodide.globals.set("_argv", pyodide.toPy(config.argv));
  pyodide.globals.set("_corpus", config.corpus ? "/bench/corpus.txt" : "");
  await pyodide.runPythonAsync(`
import os, sys, runpy
if _corpus:
    os.environ["TINYGPT_CORPUS"] = _corpus
sys.path.insert(0, "/bench")
sys.argv = list(_argv)
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit as e:
    if e.code not in (None, 0):
        raise
`);
  postMessage({ done: 0 });
} catch (error) {
  say(String(error));
  postMessage({ done: 1 });
}
"""

PAGE = """<!doctype html><meta charset="utf-8"><title>pyodide benchmark</title>
<script>
const worker = new Worker("worker.mjs", { type: "module" });
window.__lines = [];
worker.onmessage = (e) => {
  if ("line" in e.data) { console.log(e.data.line); window.__lines.push(e.data.line); }
  if ("done" in e.data) window.__done = e.data.done;
};
</script>
"""


def serve(folder: Path):
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".mjs": "text/javascript",
        ".wasm": "application/wasm",
    }
    isolated = False  # --isolated: COOP/COEP headers, so the page may use SharedArrayBuffer (threads)

    def end_headers(self):
        if self.isolated:
            self.send_header("Cross-Origin-Opener-Policy", "same-origin")
            self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        super().end_headers()

    def log_message(self, *args):
        pass


FIREFOX_DRIVER = """
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
const [repo, executablePath, url] = process.argv.slice(2);
const found = createRequire(repo + "/package.json").resolve("puppeteer-core");  // the repo's node_modules
const { default: puppeteer } = await import(pathToFileURL(found).href);
const browser = await puppeteer.launch({
  browser: "firefox", executablePath, headless: true, protocolTimeout: 3_600_000,
});
const page = await browser.newPage();
page.on("console", (message) => console.log(message.text()));
await page.goto(url);
await page.waitForFunction("window.__done !== undefined", { timeout: 3_600_000, polling: 500 });
const code = await page.evaluate("window.__done");
await browser.close();
process.exit(code);
"""


def run_chromium(url: str) -> int:
    from _browsers import CHROMIUM, CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page()
        page.on("console", lambda message: print(message.text, flush=True))
        page.goto(url)
        page.wait_for_function("window.__done !== undefined", timeout=3_600_000, polling=500)
        code = page.evaluate("window.__done")
        browser.close()
    return code


def run_firefox(url: str, folder: Path) -> int:
    import subprocess

    from _browsers import FIREFOX

    driver = folder / "firefox_driver.mjs"
    driver.write_text(FIREFOX_DRIVER)
    return subprocess.run(["node", str(driver), str(REPO), FIREFOX, url]).returncode


def run_webkit(url: str, folder: Path) -> int:
    """WebKitGTK through the site tests' own driver (tests/site/_engines.py); output polled from the page."""
    import time

    sys.path.insert(0, str(REPO / "tests" / "site"))
    from _engines import open_page

    page = open_page("webkit", folder)
    try:
        page.goto(url)
        while True:
            state = page.js("() => ({lines: window.__lines.splice(0), done: window.__done ?? null})")
            for line in state["lines"]:
                print(line, flush=True)
            if state["done"] is not None:
                return state["done"]
            time.sleep(1)
    finally:
        page.close()


def main() -> int:
    argv = sys.argv[1:]
    browser = "chromium"
    while argv[:1] in (["--browser"], ["--isolated"]):
        if argv[0] == "--isolated":
            _QuietHandler.isolated, argv = True, argv[1:]
        else:
            browser, argv = argv[1], argv[2:]
    if not argv or browser not in ("chromium", "firefox", "webkit"):
        print(__doc__)
        return 2
    script, args = Path(argv[0]), argv[1:]
    numpy_wheel = Path(os.environ.get("TINYGPT_NUMPY_WHEEL", ""))
    if not numpy_wheel.is_file():
        print("set TINYGPT_NUMPY_WHEEL to Pyodide's numpy wheel", file=sys.stderr)
        return 2
    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(REPO / "tests"))

    from coursetools.wheel import build_wheel

    with tempfile.TemporaryDirectory(prefix="pyodide-chromium-") as tmp:
        root = Path(tmp)
        (root / "pyodide").symlink_to(REPO / "node_modules" / "pyodide")
        tinytorch_wheel = build_wheel(root / "wheels")
        shutil.copy2(numpy_wheel, root / "wheels" / numpy_wheel.name)
        files = {p.name: p.read_text() for p in (REPO / "benchmarks").glob("*.py")}
        files[script.name] = script.read_text()
        config = {
            "wheels": [f"wheels/{numpy_wheel.name}", f"wheels/{tinytorch_wheel.name}"],
            "files": files,
            "argv": [f"/bench/{script.name}", *args],
            "corpus": None,
        }
        corpus = os.environ.get("TINYGPT_CORPUS")
        if corpus and Path(corpus).is_file():
            shutil.copy2(corpus, root / "corpus.txt")
            config["corpus"] = "corpus.txt"
        (root / "run.json").write_text(json.dumps(config))
        (root / "worker.mjs").write_text(WORKER)
        (root / "index.html").write_text(PAGE)
        server = serve(root)
        url = f"http://127.0.0.1:{server.server_port}/index.html"
        try:
            if browser == "webkit":
                return run_webkit(url, root)
            return run_firefox(url, root) if browser == "firefox" else run_chromium(url)
        finally:
            server.shutdown()


if __name__ == "__main__":
    sys.exit(main())
