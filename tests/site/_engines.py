"""Firefox and WebKit (Safari's engine) for the engine tests: one small driver for both.

Both browsers come from Debian (`apt-get install firefox-esr webkit2gtk-driver xvfb`), none is
downloaded; tests/_browsers.py finds them (TINYGPT_FIREFOX, TINYGPT_WEBKIT_DRIVER,
TINYGPT_WEBKIT_BROWSER, else PATH).

`Page` is the little the tests need from a browser tab: go to a URL, run JavaScript, type keys,
take a screenshot. It also answers the three Playwright calls the shared notebook driver
(_notebook_driver.py) makes, `goto`, `evaluate` and `wait_for_function`, so the course is driven
by the same code in all three engines. Firefox is driven by puppeteer-core over WebDriver BiDi
from a Node process (firefox_driver.mjs); WebKitGTK by Selenium through WebKitWebDriver, in an
Xvfb display.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from _browsers import FIREFOX, WEBKIT_BROWSER, WEBKIT_DRIVER

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SESSION_START_TIMEOUT = 120  # seconds


def missing(engine: str) -> str | None:
    """Why `engine` cannot run here (a message naming the fix), or None when it can."""
    if engine == "firefox":
        if not FIREFOX:
            return "no Firefox: apt-get install firefox-esr, or set TINYGPT_FIREFOX"
        if not shutil.which("node") or not (REPO / "node_modules" / "puppeteer-core").is_dir():
            return "Firefox is driven by puppeteer-core: install node and run `PUPPETEER_SKIP_DOWNLOAD=1 npm ci`"
        return None
    if engine == "webkit":
        if not WEBKIT_DRIVER or not WEBKIT_BROWSER:
            return (
                "no WebKitGTK: apt-get install webkit2gtk-driver, "
                "or set TINYGPT_WEBKIT_DRIVER and TINYGPT_WEBKIT_BROWSER"
            )
        try:
            import selenium  # noqa: F401
        except ImportError:
            return "WebKit is driven by Selenium: pip install -e '.[dev]'"
        if not os.environ.get("DISPLAY") and not shutil.which("Xvfb"):
            return "WebKitGTK needs a display: apt-get install xvfb"
        return None
    raise ValueError(f"unknown engine {engine!r}: 'firefox' or 'webkit'")


class Page:
    """One browser tab. Subclasses provide the primitives; `wait` is shared."""

    engine = "?"

    def goto(self, url: str) -> None: ...
    def reload(self) -> None: ...
    def js(self, source: str, arg=None):
        """Call the JavaScript function `source` (may be async) in the page with `arg`; its JSON result."""

    def click(self, selector: str) -> None:
        """A real mouse click in the middle of the first element matching the CSS `selector`."""

    def type(self, text: str) -> None: ...
    def press(self, combo: str) -> None:
        """A key or a chord, e.g. "Escape", "Control+s"."""

    def screenshot(self, path: Path) -> None: ...
    def close(self) -> None: ...

    # What _notebook_driver.py calls on a Playwright page.
    def evaluate(self, source: str, arg=None):
        return self.js(source, arg)

    def wait_for_function(self, source: str, timeout: float = 30_000) -> None:
        self.wait(source, timeout=timeout / 1000, what=f"true from {source[:80]!r}")

    def wait(self, source: str, arg=None, timeout: float = 60, what: str = "the page") -> object:
        """Poll the JavaScript function `source` until it returns something truthy; return that.

        On timeout the error names the engine and points at a screenshot.
        """
        deadline = time.monotonic() + timeout
        while True:
            value = self.js(source, arg)
            if value:
                return value
            if time.monotonic() > deadline:
                shot = Path(tempfile.mkdtemp(prefix=f"tinygpt-{self.engine}-")) / "timeout.png"
                try:
                    self.screenshot(shot)
                except Exception as error:  # the tab may be what broke
                    shot = f"none ({error})"
                raise AssertionError(f"{self.engine}: no {what} after {timeout:.0f} s (screenshot: {shot})")
            time.sleep(0.25)


class FirefoxPage(Page):
    """Firefox ESR through firefox_driver.mjs (one JSON line per command and per answer)."""

    engine = "firefox"

    def __init__(self):
        self._stderr = tempfile.TemporaryFile(mode="w+")
        self._proc = subprocess.Popen(
            ["node", str(HERE / "firefox_driver.mjs"), FIREFOX],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env={**os.environ, "PUPPETEER_SKIP_DOWNLOAD": "1"},
        )
        self._next = 0

    def _call(self, op: str, *args):
        self._next += 1
        try:
            self._proc.stdin.write(json.dumps({"id": self._next, "op": op, "args": list(args)}) + "\n")
            self._proc.stdin.flush()
            line = self._proc.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:
            self._stderr.seek(0)
            raise RuntimeError(f"firefox: the driver process ended: {self._stderr.read()[-2000:]}")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"firefox: {op} failed: {reply['error']}")
        return reply["value"]

    def goto(self, url):
        self._call("goto", url)

    def reload(self):
        self._call("reload")

    def js(self, source, arg=None):
        return self._call("js", source, arg)

    def click(self, selector):
        self._call("click", selector)

    def type(self, text):
        self._call("type", text)

    def press(self, combo):
        self._call("press", combo)

    def screenshot(self, path):
        self._call("screenshot", str(path))

    def close(self):
        if self._proc.poll() is None:
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._stderr.close()


class WebKitPage(Page):
    """WebKitGTK's MiniBrowser through WebKitWebDriver (Selenium), in Xvfb when there is no display."""

    engine = "webkit"

    def __init__(self, log_path: Path):
        from selenium import webdriver
        from selenium.webdriver.webkitgtk.service import Service

        self._xvfb = None
        display = os.environ.get("DISPLAY")
        if not display:
            self._xvfb, display = _start_xvfb()
        # Without a GPU, WebKit's accelerated compositing falls back to software rendering that
        # starves everything else on the machine (the kernel included).
        env = {**os.environ, "DISPLAY": display, "WEBKIT_DISABLE_COMPOSITING_MODE": "1"}
        options = webdriver.WebKitGTKOptions()
        options.binary_location = WEBKIT_BROWSER
        options.add_argument("--automation")
        # WebKitWebDriver's messages, for when the session does not start. (MiniBrowser's
        # --enable-write-console-messages-to-stdout does not apply to automation windows.)
        self._log = open(log_path, "w")
        service = Service(WEBKIT_DRIVER, log_output=self._log, env=env)
        # WebKitWebDriver waits forever for a browser that never comes up: give it 120 s, then
        # stop it (which ends the pending request).
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            started = pool.submit(webdriver.WebKitGTK, options=options, service=service)
            try:
                self.driver = started.result(timeout=SESSION_START_TIMEOUT)
            except Exception as error:
                service.stop()
                self._log.close()
                self._stop_xvfb()
                why = (
                    f"no session after {SESSION_START_TIMEOUT} s"
                    if isinstance(error, concurrent.futures.TimeoutError)
                    else error
                )
                raise RuntimeError(
                    f"webkit: {WEBKIT_BROWSER} did not start through {WEBKIT_DRIVER} (log: {log_path}): {why}"
                ) from error
        self.driver.set_window_size(1100, 900)
        self.driver.set_script_timeout(1200)  # Run All waits in one script
        self.driver.set_page_load_timeout(120)

    def goto(self, url):
        self.driver.get(url)

    def reload(self):
        self.driver.refresh()

    def js(self, source, arg=None):
        result = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            f"Promise.resolve(({source})(arguments[0])).then("
            "  (value) => done({value: value === undefined ? null : value}),"
            "  (error) => done({error: String(error && error.stack ? error.stack : error)}));",
            arg,
        )
        if "error" in result:
            raise RuntimeError(f"webkit: script failed: {result['error']}")
        return result["value"]

    def click(self, selector):
        from selenium.webdriver.common.by import By

        self.driver.find_element(By.CSS_SELECTOR, selector).click()

    def type(self, text):
        from selenium.webdriver import ActionChains

        ActionChains(self.driver).send_keys(text).perform()

    def press(self, combo):
        from selenium.webdriver import ActionChains, Keys

        *modifiers, key = combo.split("+")
        named = {
            "Control": Keys.CONTROL,
            "Shift": Keys.SHIFT,
            "Alt": Keys.ALT,
            "Meta": Keys.META,
            "Escape": Keys.ESCAPE,
            "Enter": Keys.ENTER,
            "Home": Keys.HOME,
            "End": Keys.END,
        }
        chain = ActionChains(self.driver)
        for modifier in modifiers:
            chain.key_down(named[modifier])
        chain.send_keys(named.get(key, key))
        for modifier in reversed(modifiers):
            chain.key_up(named[modifier])
        chain.perform()

    def screenshot(self, path):
        self.driver.save_screenshot(str(path))

    def close(self):
        try:
            self.driver.quit()
        finally:
            self._log.close()
            self._stop_xvfb()

    def _stop_xvfb(self):
        if self._xvfb is not None:
            self._xvfb.terminate()
            self._xvfb.wait(timeout=10)
            self._xvfb = None


def _start_xvfb() -> tuple[subprocess.Popen, str]:
    """An Xvfb on a free display number (Xvfb picks it and writes it to a pipe)."""
    read, write = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    if not number:
        proc.kill()
        raise RuntimeError("webkit: Xvfb did not start (no display number)")
    return proc, f":{number}"


def open_page(engine: str, log_dir: Path) -> Page:
    """A fresh browser profile with one tab, for `engine` ("firefox" or "webkit")."""
    if engine == "firefox":
        return FirefoxPage()
    return WebKitPage(Path(log_dir) / "webkit.log")
