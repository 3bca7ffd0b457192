"""The one place browser tests find their browsers (Chromium, Firefox, WebKit) and Chromium's flags.

Each is its environment variable if set, else found on PATH. Chromium is $TINYGPT_CHROMIUM,
else the first of chromium, chromium-browser, google-chrome (Debian/Ubuntu: `apt-get install
chromium`). Tests import this module (tests/ is on sys.path through tests/conftest.py); none
names a machine path itself.
"""

from __future__ import annotations

import os
import shutil

CHROMIUM_ENV = "TINYGPT_CHROMIUM"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
#: Headless on a small shared machine, and nothing that phones home (the tests count requests).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CHROMIUM_HELP = (
    f"the browser tests need Chromium: apt-get install chromium (or set {CHROMIUM_ENV} to a Chromium/Chrome executable)"
)

# Firefox and WebKit (Safari's engine) are for tests/site/test_engines.py. Debian packages:
# firefox-esr (driven by npm puppeteer-core) and webkit2gtk-driver (WebKitWebDriver + MiniBrowser).
FIREFOX_ENV = "TINYGPT_FIREFOX"
WEBKIT_DRIVER_ENV = "TINYGPT_WEBKIT_DRIVER"
WEBKIT_BROWSER_ENV = "TINYGPT_WEBKIT_BROWSER"


def _find(env: str, names, fallback_glob: str | None = None) -> str | None:
    """$env if set (an error when it is not an executable), else the first of `names` on PATH, else the glob."""
    configured = os.environ.get(env)
    if configured:
        found = shutil.which(configured)
        if not found:
            raise FileNotFoundError(f"{env}={configured!r} is not an executable: fix or unset it")
        return found
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    if fallback_glob:
        import glob

        matches = sorted(glob.glob(fallback_glob))
        return matches[-1] if matches else None
    return None


CHROMIUM = _find(CHROMIUM_ENV, CHROMIUM_NAMES)
FIREFOX = _find(FIREFOX_ENV, ("firefox-esr", "firefox"))
WEBKIT_DRIVER = _find(WEBKIT_DRIVER_ENV, ("WebKitWebDriver",))
#: WebKitGTK's MiniBrowser is not on PATH: Debian keeps it beside the library.
WEBKIT_BROWSER = _find(WEBKIT_BROWSER_ENV, ("MiniBrowser",), "/usr/lib/*/webkit2gtk-4.*/MiniBrowser")
