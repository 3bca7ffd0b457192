"""The site's service worker: JupyterLite's stock `service-worker.js`, patched after the build.

The stock worker (JupyterLite 0.8.6) only caches after its *first* activation saw
?enableCache=true, skips every /api/ path (the notebook listing), serves the cache first, and
sends pages as the server sent them. Patched (SW_PATCHES, exact strings, so an upgrade that
moves the code fails the build instead of silently breaking the site):

- offline: cache from the start, include /api/ GETs (the drive and stdin calls are answered by
  the page before this check), go to the network first for pages, JSON and files (a redeploy
  shows at once when online) with the cache as fallback, and precache in the background once
  the worker is active (the landing page, every notebook, the corpus, the wheels
  `import tinytorch` loads);
- Stop without shared memory: the kernel's worker asks, and Stop tells, the service worker at
  <...>/tinygpt-interrupt/<kernel id> (kernel_patches.STOP_PATH); the answer lives in the
  worker's memory (a Stop is wanted for a few hundred milliseconds, not across restarts);
- cross-origin isolation: every same-origin page and worker script it serves carries
  `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy: require-corp`,
  the headers a static host such as GitHub Pages cannot send. A page the worker serves is then
  cross-origin isolated: `SharedArrayBuffer` exists, so Stop can interrupt the kernel and the
  kernel reads the student's files and `input()` through `Atomics.wait` (see kernel_patches.py).
  `require-corp`, not `credentialless`: WebKit (Safari) isolates with the first only, and
  everything the course loads is same-origin, where `require-corp` asks nothing more. A page
  loaded before the worker controlled it is not isolated: page_scripts/isolation.js reloads it
  once.
"""

from __future__ import annotations

import json
from pathlib import Path

from . import pyodide_lock
from .kernel_patches import STOP_PATH

# Added to every same-origin page and worker script on its way out of the worker, whether it came
# from the network or the cache.
ISOLATION_HEADERS = {"Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp"}

#: A WebKit browser that is not Chromium-based (Safari, WebKitGTK): not isolated (see SW_PATCHES).
WEBKIT_ONLY = r"/AppleWebKit(?!.*(Chrome|Chromium|Edg)\/)/"
_WITH_ISOLATION = (
    'function withIsolation(r){if(0===r.status||"opaqueredirect"===r.type)return r;'  # a redirect stays one
    "let h=new Headers(r.headers);"
    + "".join(f"h.set({json.dumps(k)},{json.dumps(v)});" for k, v in ISOLATION_HEADERS.items())
    + "return new Response(r.body,{status:r.status,statusText:r.statusText,headers:h})}"
)

# Stop without shared memory (kernel_patches.POLLED_BUFFER): POST marks the kernel's Stop with the
# time; the worker's GET ?since=<its cell's start> takes it ("2": SIGINT) when it came after that.
_STOP_CALLS = (
    "const STOPS=new Map;function stopCall(t,a){"
    f'let k=a.pathname.split("/{STOP_PATH}")[1];'
    'if("POST"===t.method)return STOPS.set(k,Date.now()),new Response(null,{status:204});'
    'let s=STOPS.get(k);if(void 0!==s&&s>=(+a.searchParams.get("since")||0))return STOPS.delete(k),new Response("2");'
    'return new Response("0")}'
)

SW_PATCHES = (
    ("let enableCache=!1", "let enableCache=!0"),
    (
        'if("/api/service-worker-heartbeat"===a.pathname)return void e.respondWith(new Response("ok"));',
        'if("/api/service-worker-heartbeat"===a.pathname)return void e.respondWith(new Response("ok"));'
        f'if(a.origin===location.origin&&a.pathname.includes("/{STOP_PATH}"))return void e.respondWith(stopCall(t,a));',
    ),
    ('self.addEventListener("install",onInstall)', _STOP_CALLS + 'self.addEventListener("install",onInstall)'),
    # precache after taking control, in the background: installing stays instant (a page that
    # navigates right away is already served, and cached, by the worker) and a failed precache
    # fetch cannot stop the worker from installing
    ("function onInstall(e){self.skipWaiting(),e.waitUntil(cacheAll())}", "function onInstall(e){self.skipWaiting()}"),
    (
        "e.waitUntil(self.clients.claim())}",
        "e.waitUntil(self.clients.claim().then(()=>{cacheAll().catch(console.warn)}))}",
    ),
    ('enableCache="true"===new URL(location.href).searchParams.get("enableCache"),', ""),
    ('||t.pathname.includes("/api/")}', "}"),
    (
        "async function maybeFromCache(e){let{request:t}=e;if(!enableCache)return await fetch(t);",
        "function isMutable(u){return /(\\/|\\.html|\\.json|\\.ipynb|\\.txt)$/.test(u.pathname)"
        '||u.pathname.includes("/api/")||u.pathname.includes("/files/")}'
        "async function networkFirst(e){let{request:t}=e;"
        "try{let a=await fetch(t);return a.ok&&e.waitUntil(updateCache(t,a.clone())),a}"
        # offline: the same page with another ?path= (another notebook) is the same app page
        "catch(n){let a=await fromCache(t)||await (await openCache()).match(t,{ignoreSearch:!0});"
        "if(a)return a;throw n}}"
        "async function maybeFromCache(e){let{request:t}=e;if(!enableCache)return await fetch(t);"
        "if(isMutable(new URL(t.url)))return await networkFirst(e);",
    ),
    # cross-origin isolation: `t` is the request, `a` its URL, `n` the response the worker will give.
    # Only pages and worker scripts need the headers (what they load from their own origin is
    # allowed anyway); every other response passes as it came, its body never re-wrapped.
    (
        "n&&e.respondWith(n)}",
        "n&&e.respondWith(ISOLATE&&a.origin===location.origin&&ISOLATED_DESTINATIONS.test(t.destination)?n.then(withIsolation):n)}"
        "const ISOLATED_DESTINATIONS=/^(document|iframe|frame|worker|sharedworker)$/;"
        # Not in WebKit: WebKitGTK isolates but gives no SharedArrayBuffer, and with shared memory
        # switched on, reloading an isolated page made the next kernel start stall there.
        f"const ISOLATE=!({WEBKIT_ONLY}).test(navigator.userAgent);" + _WITH_ISOLATION,
    ),
)

PRECACHE_HOOK = "return await e.addAll([])"


def precache_list(site: Path) -> list[str]:
    """What the worker fetches once it is active (on the landing page), beyond what a visit loads.

    The landing page (loaded before the worker existed), every course notebook and the listing
    that names them, the corpus, and the wheels `import tinytorch` loads: so a student who
    opened one notebook online can open any other offline. About 1.5 MB + numpy (~3 MB) and its
    bytecode (0.8 MB).
    Pyodide's core and the app's JavaScript are cached by the first notebook visit.
    """
    urls = ["./", "./index.html", "./jupyter-lite.json"]
    for app in ("notebooks", "tree", "lab", "edit"):  # app pages: offline, any ?path= is served from these
        urls += [f"./{app}/index.html", f"./{app}/jupyter-lite.json"]
    urls += sorted("./" + p.relative_to(site).as_posix() for p in (site / "api" / "contents").rglob("all.json"))
    urls += sorted("./" + p.relative_to(site).as_posix() for p in (site / "files").rglob("*") if p.is_file())
    lock = json.loads((site / "static" / "pyodide" / "pyodide-lock.json").read_text())
    course = pyodide_lock.dependency_closure(lock, ["tinytorch"]) if "tinytorch" in lock["packages"] else []
    for key in course:  # tinytorch, numpy and numpy's bytecode
        file_name = lock["packages"][key]["file_name"]
        if not pyodide_lock.from_another_origin(file_name):
            urls.append(f"./static/pyodide/{file_name}")
    return [u for u in urls if u in ("./",) or (site / u[2:]).is_file()]


def patch_service_worker(site: Path) -> list[str]:
    """Apply SW_PATCHES (and the precache list) to every service-worker.js of the build.

    Fails loudly if a patch no longer matches: an unpatched worker would silently break offline
    use, or Stop.
    """
    patched = []
    precache = json.dumps(precache_list(site), separators=(",", ":"))
    for sw in [site / "service-worker.js", site / "build" / "service-worker.js"]:
        if not sw.is_file():
            continue
        text = sw.read_text(encoding="utf-8")
        for old, new in (*SW_PATCHES, (PRECACHE_HOOK, f"return await e.addAll({precache})")):
            if old not in text:
                raise RuntimeError(
                    f"cannot patch {sw.relative_to(site)}: {old!r} not found (JupyterLite changed its "
                    f"service worker; update SW_PATCHES in {__file__})"
                )
            text = text.replace(old, new, 1)
        sw.write_text(text, encoding="utf-8")
        patched.append(sw.relative_to(site).as_posix())
    if not patched:
        raise RuntimeError("the build has no service-worker.js: offline use and Stop would not work")
    return patched
