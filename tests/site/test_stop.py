"""Stop works and a reload is always safe, in Chromium, Firefox and WebKit (Safari's engine).

The site is served as GitHub Pages would serve it: a plain static server (no COOP/COEP
headers) under a sub-path, /course/. Per engine, one fresh browser profile whose first visit
goes straight to a notebook (no landing page):
  1. the first visit reloads itself once and is then cross-origin isolated (isolation.js; the
     headers come from the service worker), and the kernel sees the student's files at /drive;
  2. Stop ends an endless loop in a student's function with KeyboardInterrupt within 1 s, and
     the kernel keeps its variables;
  3. training stopped with Stop and continued equals training never stopped (same losses,
     same weights: the trainer rewinds to the last finished step);
  4. `input()` in a cell gets what the student types;
  5. reloading again and again, also while the kernel is still starting (every engine), always gives a
     kernel with /drive.
WebKit is not isolated (coursetools/service_worker.py says why): there Stop goes through the
service worker (kernel_patches.POLLED_BUFFER), and must meet the same second.
Then, in Chromium, a browser that does not isolate the page at all (the same site with a
worker that adds no headers): the course works, /drive and input() included, and Stop works
through the service worker; and a browser with no service worker at all: the course runs, and
Stop tells the student what to do instead of doing nothing.
"""

from __future__ import annotations

import json
import shutil
import time

import pytest
from _engines import Page, missing, open_page
from _notebook_driver import KERNEL_TIMEOUT_MS
from _site_helpers import LocalServer

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:setting remote_server_addr:DeprecationWarning"),
]

NOTEBOOK = "01_tokens_and_data.ipynb"
STOP_WITHIN_S = 1.0
RELOADS = 5

# The page's state, read as soon as the page answers (it may be reloading).
STATE = """() => ({isolated: self.crossOriginIsolated === true,
    isolation: window.tinygptIsolation ? window.tinygptIsolation.status : null,
    app: !!window.jupyterapp})"""
KERNEL_IDLE = """() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
    return !!k && k.status === 'idle'; }"""
# Run code in the notebook's kernel; optionally press Stop (kernel.interrupt, as the toolbar's
# Stop button does) `stopAfterMs` after sending it, and answer an input() prompt with `answer`.
# Returns the reply's status and error, the output, and the seconds from Stop to the reply.
RUN = """async ({code, stopAfterMs, answer, timeoutMs}) => {
  const w = window.jupyterapp.shell.currentWidget;
  const started = Date.now();
  while (!(w.sessionContext.session && w.sessionContext.session.kernel)) {
    if (Date.now() - started > timeoutMs) throw new Error('no kernel after ' + timeoutMs + ' ms');
    await new Promise((r) => setTimeout(r, 100));
  }
  const kernel = w.sessionContext.session.kernel;
  const out = {stdout: '', ename: null, prompt: null, stopSeconds: null};
  const future = kernel.requestExecute({code, store_history: false});
  future.onIOPub = (msg) => {
    const c = msg.content;
    if (msg.header.msg_type === 'stream') out.stdout += c.text;
    if (msg.header.msg_type === 'error') out.ename = c.ename;
  };
  future.onStdin = (msg) => {
    out.prompt = msg.content.prompt;
    kernel.sendInputReply({status: 'ok', value: answer}, msg.header);
  };
  let stoppedAt = null;
  if (stopAfterMs !== null) {
    setTimeout(() => { stoppedAt = performance.now(); kernel.interrupt(); }, stopAfterMs);
  }
  const late = new Promise((_, reject) =>
    setTimeout(() => reject(new Error('no reply after ' + timeoutMs + ' ms')), timeoutMs));
  const reply = await Promise.race([future.done, late]);
  if (stoppedAt !== null) out.stopSeconds = (performance.now() - stoppedAt) / 1000;
  out.status = reply.content.status;
  return out;
}"""
DRIVE = "import os\nprint('DRIVE', os.getcwd(), sorted(n for n in os.listdir('.') if n.endswith('.ipynb')))"

TRAINER = """
import numpy as np, tinytorch
from tinytorch.models import TinyGPT, TinyGPTConfig
from tinytorch.training import LanguageModelTrainer

def make_trainer():
    tinytorch.manual_seed(0)
    data = np.random.default_rng(0).integers(0, 40, 4000)
    model = TinyGPT(TinyGPTConfig(vocab_size=40, block_size=16, n_layer=1, n_head=2, n_embd=32))
    optimizer = tinytorch.optim.AdamW(model.parameters(), lr=1e-3)
    return LanguageModelTrainer(model, optimizer, data[:3600], data[3600:], block_size=16, batch_size=4,
                                eval_interval=5, eval_batches=2, progress=None)

def summary(trainer):
    return {"step": trainer.step, "losses": [r.train_loss for r in trainer.history],
            "weights": [p.data.tolist() for p in trainer.model.parameters()]}

stopped = make_trainer()
print('ready')
"""
CONTINUE_AND_COMPARE = """
import json
total = stopped.step + 7
stopped.fit(7)
never_stopped = make_trainer()
never_stopped.fit(total)
print('RESULT', json.dumps({"stopped_at": total - 7, "total": total,
                            "same": summary(stopped) == summary(never_stopped)}))
"""


class ChromiumPage(Page):
    """A Playwright page with the engine tests' Page interface."""

    engine = "chromium"

    def __init__(self, context):
        self._context, self._page = context, context.new_page()

    def goto(self, url):
        self._page.goto(url)

    def reload(self):
        self._page.reload()

    def js(self, source, arg=None):
        return self._page.evaluate(source, arg)

    def screenshot(self, path):
        self._page.screenshot(path=str(path))

    def close(self):
        self._context.close()


def wait_for(page: Page, source: str, timeout: float = 120, what: str = "the page"):
    """Poll `source` until truthy, tolerating the moments a reloading page cannot answer."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = page.js(source)
        except Exception:  # the page is navigating (the isolation reload, or ours)
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{page.engine}: no {what} after {timeout:.0f} s; state {page.js(STATE)}")
        time.sleep(0.25)


def run(page: Page, code: str, stop_after_ms=None, answer="", timeout_ms=KERNEL_TIMEOUT_MS) -> dict:
    return page.js(RUN, {"code": code, "stopAfterMs": stop_after_ms, "answer": answer, "timeoutMs": timeout_ms})


def open_ready(page: Page, url: str) -> None:
    """Open the notebook (or reload it) and wait until its kernel is idle, whatever reloads happen on the way."""
    if url:
        page.goto(url)
    wait_for(
        page,
        "() => { const s = window.tinygptIsolation; "
        "return !!s && s.status !== 'waiting' && s.status !== 'reloading'; }",
        what="a settled isolation status",
    )
    wait_for(page, KERNEL_IDLE, timeout=KERNEL_TIMEOUT_MS / 1000, what="an idle kernel")


def course_server(site, tmp_path_factory, name="course"):
    """The site under /<name>/ on a plain static server (no COOP/COEP headers)."""
    root = tmp_path_factory.mktemp("pages")
    (root / "index.html").write_text("<p>another site on the same host</p>")
    (root / name).symlink_to(site, target_is_directory=True)
    server = LocalServer(root)
    return server, f"{server.url}{name}/"


ISOLATED = {"chromium": True, "firefox": True, "webkit": False}


@pytest.fixture(scope="module", params=sorted(ISOLATED))
def student(request, site_dir, tmp_path_factory):
    """One engine's fresh profile, whose first visit goes straight to a notebook under /course/."""
    engine = request.param
    if engine == "chromium":
        browser = request.getfixturevalue("chromium_browser")
        page = ChromiumPage(browser.new_context(viewport={"width": 1100, "height": 900}))
    else:
        reason = missing(engine)
        if reason:
            pytest.skip(f"{engine}: {reason}")
        page = open_page(engine, tmp_path_factory.mktemp(f"{engine}-logs"))
    server, base = course_server(site_dir, tmp_path_factory)
    state = {"engine": engine, "page": page, "url": f"{base}notebooks/index.html?path={NOTEBOOK}", "numbers": {}}
    try:
        started = time.perf_counter()
        open_ready(page, state["url"])
        state["numbers"]["first visit: kernel idle (s)"] = round(time.perf_counter() - started, 1)
        state["first"] = page.js(STATE)
        yield state
    finally:
        print(f"\n{engine}: " + json.dumps(state["numbers"]))
        page.close()
        server.stop()


def test_first_visit_reloads_once_and_is_isolated(student):
    engine, page = student["engine"], student["page"]
    expected = (
        "isolated after one reload" if ISOLATED[engine] else "not isolated: the course does not isolate pages in WebKit"
    )
    assert student["first"]["isolated"] == ISOLATED[engine] and student["first"]["isolation"] == expected, (
        f"{engine}: {student['first']}"
    )
    drive = run(page, DRIVE)
    assert drive["status"] == "ok" and "DRIVE /drive [" in drive["stdout"] and NOTEBOOK in drive["stdout"], (
        f"{engine}: {drive}"
    )


def test_stop_ends_an_endless_loop_within_a_second_and_keeps_the_variables(student):
    student["numbers"]["Stop -> KeyboardInterrupt (s)"] = stop_an_endless_loop(student["page"])


def stop_an_endless_loop(page: Page) -> float:
    """Stop a student's endless function 2 s in: KeyboardInterrupt within STOP_WITHIN_S, variables kept."""
    engine = page.engine
    assert run(page, "kept = 6 * 7\ndef spin():\n    n = 0\n    while True:\n        n += 1\n")["status"] == "ok"
    stopped = run(page, "spin()", stop_after_ms=2000)
    assert stopped["status"] == "error" and "KeyboardInterrupt" in stopped["ename"], f"{engine}: {stopped}"
    assert stopped["stopSeconds"] <= STOP_WITHIN_S, f"{engine}: Stop took {stopped['stopSeconds']:.2f} s"
    after = run(page, "print('kept', kept)")
    assert after["status"] == "ok" and "kept 42" in after["stdout"], f"{engine}: the kernel lost its variables: {after}"
    # A Stop pressed while nothing runs does not interrupt the next cell.
    page.js("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.interrupt()")
    time.sleep(0.5)
    later = run(page, "import time\nt = time.time()\nwhile time.time() - t < 1: pass\nprint('ran to its end')")
    assert later["status"] == "ok" and "ran to its end" in later["stdout"], f"{engine}: an old Stop hit: {later}"
    return round(stopped["stopSeconds"], 3)


def test_training_stopped_and_continued_equals_never_stopped(student):
    engine, page = student["engine"], student["page"]
    ready = run(page, TRAINER)
    assert ready["status"] == "ok" and "ready" in ready["stdout"], f"{engine}: {ready}"
    stopped = run(page, "stopped.fit(100_000)", stop_after_ms=3000)
    student["numbers"]["Stop during fit -> back (s)"] = round(stopped["stopSeconds"], 3)
    # The trainer catches the KeyboardInterrupt, goes back to its last finished step and says so.
    assert stopped["status"] == "ok" and "Stopped at step" in stopped["stdout"], f"{engine}: {stopped}"
    assert stopped["stopSeconds"] <= STOP_WITHIN_S, f"{engine}: Stop took {stopped['stopSeconds']:.2f} s"
    compared = run(page, CONTINUE_AND_COMPARE)
    assert compared["status"] == "ok", f"{engine}: {compared}"
    result = json.loads(compared["stdout"].split("RESULT ", 1)[1])
    assert result["stopped_at"] > 0 and result["same"], (
        f"{engine}: stopped and continued differs from never stopped: {result}"
    )


def test_input_reads_what_the_student_types(student):
    engine, page = student["engine"], student["page"]
    asked = run(page, "name = input('Your name? ')\nprint('hello', name)", answer="Ada")
    assert asked["prompt"] == "Your name? " and asked["status"] == "ok" and "hello Ada" in asked["stdout"], (
        f"{engine}: {asked}"
    )


def test_every_reload_gives_a_kernel_with_the_drive(student):
    """Reload while the kernel still starts (every other time) and as soon as it is idle: /drive is always there."""
    engine, page = student["engine"], student["page"]
    seen = []
    for i in range(RELOADS):
        page.reload()
        if i % 2 == 0:
            wait_for(page, "() => !!window.jupyterapp", what="the app after a reload")
            continue  # reload again while this page's kernel is starting
        open_ready(page, None)
        drive = run(page, DRIVE)
        seen.append(drive["stdout"].strip())
        assert drive["status"] == "ok" and "DRIVE /drive [" in drive["stdout"], f"{engine}: reload {i + 1}: {drive}"
    open_ready(page, None)
    drive = run(page, DRIVE)
    assert "DRIVE /drive [" in drive["stdout"] and NOTEBOOK in drive["stdout"], (
        f"{engine}: after {RELOADS} reloads: {drive}"
    )
    assert page.js(STATE)["isolation"] == student["first"]["isolation"], (
        f"{engine}: after the reloads the page is {page.js(STATE)}, first it was {student['first']}"
    )


# ----------------------------------------------------------------------------- not isolated


@pytest.fixture(scope="module")
def unisolated_site(site_dir, tmp_path_factory):
    """The site with a service worker that adds no isolation headers: a browser that refuses isolation."""
    copy = tmp_path_factory.mktemp("unisolated") / "site"
    shutil.copytree(site_dir, copy, symlinks=True)
    for worker in (copy / "service-worker.js", copy / "build" / "service-worker.js"):
        if worker.is_file():
            text = worker.read_text(encoding="utf-8")
            assert "const ISOLATE=!(" in text, "the isolation patch changed: update this fixture"
            worker.write_text(text.replace("const ISOLATE=!(", "const ISOLATE=!1&&!("), encoding="utf-8")
    return copy


def test_without_isolation_the_course_works_and_stop_too(unisolated_site, chromium_browser, tmp_path_factory):
    server, base = course_server(unisolated_site, tmp_path_factory)
    page = ChromiumPage(chromium_browser.new_context(viewport={"width": 1100, "height": 900}))
    try:
        open_ready(page, f"{base}notebooks/index.html?path={NOTEBOOK}")
        state = page.js(STATE)
        assert not state["isolated"] and state["isolation"].startswith("not isolated"), state
        assert "reloaded once already" in state["isolation"], f"it should have tried one reload: {state}"
        drive = run(page, DRIVE)
        assert drive["status"] == "ok" and "DRIVE /drive [" in drive["stdout"], drive
        asked = run(page, "print('hello', input('Your name? '))", answer="Ada")
        assert asked["status"] == "ok" and "hello Ada" in asked["stdout"], asked
        print(f"\nnot isolated: Stop -> KeyboardInterrupt {stop_an_endless_loop(page)} s (through the service worker)")
    finally:
        page.close()
        server.stop()


def test_without_a_service_worker_the_course_runs_and_stop_says_what_to_do(
    site_dir, chromium_browser, tmp_path_factory
):
    server, base = course_server(site_dir, tmp_path_factory)
    context = chromium_browser.new_context(viewport={"width": 1100, "height": 900}, service_workers="block")
    page = ChromiumPage(context)
    try:
        open_ready(page, f"{base}notebooks/index.html?path={NOTEBOOK}")
        state = page.js(STATE)
        assert not state["isolated"] and "no service worker" in state["isolation"], state
        # Stop cannot interrupt: the cell runs on (to its end here), and the student is told what to do.
        slow = run(
            page,
            "import time\nt = time.time()\nwhile time.time() - t < 6: pass\nprint('ran to its end')",
            stop_after_ms=1000,
        )
        assert slow["status"] == "ok" and "ran to its end" in slow["stdout"], slow
        notice = wait_for(
            page,
            "() => [...document.querySelectorAll('.jp-toast-message, .Toastify__toast')]"
            ".map(e => e.textContent).find(t => t.includes('Restart Kernel'))",
            timeout=30,
            what="the notice that Stop cannot interrupt here",
        )
        told = page.js("() => window.tinygptIsolation.stopNotice")
        assert told.startswith("This browser cannot stop a running cell.") and told[:40] in notice, (told, notice)
        print(f"\nno service worker: Stop said: {notice}")
    finally:
        page.close()
        server.stop()
