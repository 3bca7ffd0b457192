"""Patches to the built Pyodide kernel (jupyterlite-pyodide-kernel 0.8.6) and to the one JupyterLite
function Stop goes through, applied after `jupyter lite build`.

Each patch is a regex over minified JavaScript with a name and the scripts it must match: the
kernel's two workers (comlink when the page is not cross-origin isolated, coincident when it
is; both must take it), the extension's page-side chunks, or the app's own build/. A patch
that matches nothing fails the build and names itself: an upgrade that moves the code must not
silently bring a slow start back, or take Stop away (tests/site/test_build_failures.py applies
every patch to the stock files).

Stop. The stock kernel cannot interrupt running Python: JupyterLite's "interrupt" only cancels
the cells still waiting, and the kernel never calls Pyodide's `setInterruptBuffer`. Where the
page is cross-origin isolated (service_worker.py), the kernel now makes a `SharedArrayBuffer`
of one Int32 beside its worker and posts it there; the worker hands it to Pyodide, and Stop
writes 2 (SIGINT) into it, which Python raises as KeyboardInterrupt at its next bytecode
check. Where the page has no shared memory (WebKit, or a browser that refuses isolation), the
worker gets a stand-in buffer instead (POLLED_BUFFER): Pyodide reads its element 0 every 50
bytecode checks, and every 8th read at least 200 ms after the last one asks the site's service
worker, with a synchronous request, whether Stop was pressed since the cell started; Stop posts
to the same address (STOP_PATH, answered by service_worker.py). Where no service worker answers
either, Stop fires the window event STOP_UNAVAILABLE_EVENT, and page_scripts/isolation.js tells
the student why and what to do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

KERNEL_EXTENSION_STATIC = "extensions/@jupyterlite/pyodide-kernel-extension/static"
APP_BUILD = "build"
STOP_UNAVAILABLE_EVENT = "tinygpt-stop-unavailable"
# The kernel's interrupt buffer, a property of the kernel object on the page and of the worker's global.
_BUFFER = "tinygptInterrupt"
# Without shared memory: the address Stop posts to and the worker polls, on the page-side kernel object.
_STOP_URL = "tinygptStopUrl"
#: Where the service worker answers Stop without shared memory: <worker script folder>/STOP_PATH<kernel's id>.
STOP_PATH = "tinygpt-interrupt/"
# The worker's stand-in for the shared buffer (url: the kernel's stop address). Pyodide reads
# element 0 at every 50th bytecode check (and writes 0 after); asking the service worker costs
# ~1 ms, so it asks at most every 200 ms, and looks at the clock only every 8th read. `since` is
# when the running cell started: a Stop pressed before it does not count. A non-200 answer means
# no service worker answers here: stop asking.
POLLED_BUFFER = (
    "(u=>{let n=0,t=0;return{since:Date.now(),set 0(v){},get 0(){"
    "if(!u||++n<8)return 0;n=0;let k=performance.now();if(k-t<200)return 0;t=k;"
    'try{let x=new XMLHttpRequest;x.open("GET",u+"?since="+this.since,!1);x.send();'
    "if(200===x.status)return+x.responseText||0;u=null}catch(e){}return 0}}})"
)
# What the kernel needs from an isolated page: the shared memory itself. WebKitGTK isolates a page
# (crossOriginIsolated is true) but gives it no SharedArrayBuffer; the stock kernel then picks
# its isolated worker, which cannot work there. Every choice the patches make reads this instead
# (the site does not isolate WebKit pages now, but a host that sends the headers itself could).
SHARED_MEMORY = '(self.crossOriginIsolated&&"function"==typeof SharedArrayBuffer)'
# coincident 1.x (the page <-> isolated-worker calls) marks its messages with this id.
COINCIDENT_ID = "64e10b34-2bf7-4616-9668-f99de5aa046e"


@dataclass(frozen=True)
class Patch:
    """One regex replacement in the built JavaScript.

    where: "workers" (every kernel worker script must take it), "kernel" (one page-side chunk of
    the kernel extension), "coincident" (both copies of coincident: the page's and the isolated
    worker's) or "app" (one script of JupyterLite's build/).
    """

    where: str
    pattern: re.Pattern
    replacement: str


KERNEL_PATCHES = {
    # The worker starts Pyodide, mounts the student's files at /drive and makes it the working
    # folder, then imports micropip, piplite, IPython and the kernel. Pyodide puts '' (the working
    # folder) first on sys.path, so each top-level import of that start first asked /drive: a
    # request through the service worker, ~7 ms each, ~130 of them. Dropping Pyodide's '' before
    # the mount lets IPython's own `init_path` put it back where every IPython has it (after the
    # standard library, before site-packages): a student's module still imports, and a student's
    # `random.py` can no longer hide the standard library's. (Measured: kernel ready ~1 s sooner.)
    "sys.path": Patch(
        "workers",
        re.compile(r"await this\.initRuntime\((\w+)\),await this\.initFilesystem\(\1\)"),
        r"await this.initRuntime(\1),"
        r'this._pyodide.runPython("import sys\\nif sys.path[:1] == [\\"\\"]: del sys.path[0]"),'
        r"await this.initFilesystem(\1)",
    ),
    # The kernel installs jedi at every start, only for tab completion: 1,957 files to unpack
    # (half of all a start unpacks, ~0.7 s in Chromium) and 2.4 MB with parso. Without it,
    # IPython's own completer answers from the live objects (`np.ze` -> zeros, `model.` -> its
    # attributes) in ~1 ms, where jedi's first answers took 0.1-2.7 s. The site does not ship
    # jedi (pyodide_dist.KERNEL_PACKAGES); the kernel forces `use_jedi = True`, which without
    # jedi would answer nothing, so it is turned off once the kernel exists.
    "no jedi": Patch(
        "workers",
        re.compile(r'"pyodide-kernel","jedi","ipython"\]\)(.{0,200}?)(\w+)\.push\("import pyodide_kernel"\)'),
        r'"pyodide-kernel","ipython"])\1\2.push("import pyodide_kernel",'
        r'"pyodide_kernel.ipython_shell.Completer.use_jedi = False")',
    ),
    # The page-side kernel picks its worker (and how it talks to it) from crossOriginIsolated alone.
    "isolated means shared memory": Patch(
        "kernel",
        re.compile(r"(?<![\w.&])crossOriginIsolated\?"),
        SHARED_MEMORY + "?",
    ),
    # Stop, 1/5 (page): an isolated page makes the interrupt buffer with the worker and posts it
    # there first, before any call of the kernel's (messages arrive in order); a page without
    # shared memory posts the kernel's stop address instead.
    "interrupt buffer": Patch(
        "kernel",
        re.compile(r'initWorker\((\w+)\)\{let (\w+)=(\w+)=>new Worker\(\3,\{type:"module"\}\);'),
        r'initWorker(\1){let \2=\3=>{let w=new Worker(\3,{type:"module"});if(' + SHARED_MEMORY + "){"
        rf"this.{_BUFFER}=new Int32Array(new SharedArrayBuffer(4)),w.postMessage({{{_BUFFER}:this.{_BUFFER}}})"
        rf'}}else{{this.{_STOP_URL}=new URL("{STOP_PATH}"+Math.random().toString(36).slice(2),\3).href,'
        rf"w.postMessage({{{_STOP_URL}:this.{_STOP_URL}}})"
        r"}return w};",
    ),
    # Stop, 2/5 (worker): keep the buffer (or make the polled one) when it arrives (the kernel
    # object is made when the worker script runs, so its constructor listens before any message
    # is delivered).
    "interrupt receive": Patch(
        "workers",
        re.compile(r"constructor\(\)\{this\._options=null,"),
        rf'constructor(){{self.addEventListener("message",e=>{{let d=e.data||{{}},b=d.{_BUFFER};'
        rf"b instanceof Int32Array&&(self.{_BUFFER}=b);"
        rf'"string"==typeof d.{_STOP_URL}&&(self.{_BUFFER}={POLLED_BUFFER}(d.{_STOP_URL}))}}),this._options=null,',
    ),
    # Stop, 3/5 (worker): give it to Pyodide as soon as Pyodide exists.
    "interrupt install": Patch(
        "workers",
        re.compile(r"\}\),this\._pyodide\._api\.on_fatal="),
        rf"}}),self.{_BUFFER}&&this._pyodide.setInterruptBuffer(self.{_BUFFER}),this._pyodide._api.on_fatal=",
    ),
    # Stop, 4/5 (worker): a Stop that came after its cell had finished must not interrupt the next one.
    "interrupt clear": Patch(
        "workers",
        re.compile(r"async execute\((\w+),(\w+)\)\{await this\.setup\(\2\);"),
        rf"async execute(\1,\2){{self.{_BUFFER}&&(self.{_BUFFER} instanceof Int32Array"
        rf"?Atomics.store(self.{_BUFFER},0,0):self.{_BUFFER}.since=Date.now());await this.setup(\2);",
    ),
    # Stop, 5/5 (app): JupyterLite's interrupt (cancel the waiting cells) also raises
    # KeyboardInterrupt in the running one, or says why it cannot.
    "interrupt": Patch(
        "app",
        re.compile(
            r"(async interrupt\((\w+)\)\{let (\w+)=this\._kernels\.get\(\2\);"
            r"if\(!\3\)throw Error\(`Kernel \$\{\2\} does not exist`\);)(await \3\.ready;)"
        ),
        rf"\1\3.{_BUFFER}?Atomics.store(\3.{_BUFFER},0,2):\3.{_STOP_URL}?"
        rf'fetch(\3.{_STOP_URL},{{method:"POST"}}).then(r=>{{if(204!==r.status)throw Error(r.status)}})'
        rf'.catch(()=>dispatchEvent(new CustomEvent("{STOP_UNAVAILABLE_EVENT}"))):'
        rf'dispatchEvent(new CustomEvent("{STOP_UNAVAILABLE_EVENT}"));\4',
    ),
    # Isolated, the page and the kernel's worker call each other through coincident: the caller
    # posts the call with a SharedArrayBuffer and waits on it (Atomics.wait in the worker,
    # Atomics.waitAsync on the page) for the answer's length, then for the answer itself, which
    # the callee copies into a second buffer. Two races in coincident 1.x hung or killed 2 of 8
    # kernel starts on this 2-core machine; both are closed here, in both copies:
    # - waitAsync answers at once, with the string "not-equal" instead of a promise, when the
    #   callee was quicker ("A(...).value.then is not a function": the call is lost, the kernel
    #   stays busy for good);
    # - the caller's wait ends as soon as the first two characters are in, so a descheduled
    #   caller could read a half-copied answer (Pyodide's fatal "Bad control character in
    #   string literal in JSON"): the callee now writes those two characters last, atomically.
    "coincident: an answer at once": Patch(
        "coincident",
        re.compile(r"(\w+)=\((\w+),(\w+)\)=>\2\?(\w+)\(\3,0\):"),
        r'\1=(\2,\3)=>\2?(r=>"string"==typeof r.value?{value:Promise.resolve()}:r)(\4(\3,0)):',
    ),
    "coincident: a whole answer": Patch(
        "coincident",
        re.compile(
            r"for\(let (\w+)=new (\w+)\((\w+)\.buffer\),(\w+)=0;\4<(\w+)\.length;\4\+\+\)"
            r"\1\[\4\]=\5\.charCodeAt\(\4\)\}"
        ),
        r"for(let \1=new \2(\3.buffer),\4=2;\4<\5.length;\4++)\1[\4]=\5.charCodeAt(\4);"
        r"Atomics.store(\3,0,(\5.charCodeAt(0)|0)|(\5.charCodeAt(1)|0)<<16)}",
    ),
    # A kernel sees the student's files at /drive only if it is made with `mountDrive`; the stock
    # factory decides that from whether JupyterLite's service-worker manager has a registration
    # *at that moment*. A kernel made early on a (re)loaded page could find none yet (no /drive),
    # or be made while no worker controlled the page (its file requests then reach the static
    # server, not the page). Isolated, the drive needs no service worker (its requests go to the
    # page through Atomics.wait) and mounts at once. Otherwise the factory now waits, up to 10 s
    # each, for the registration and for a worker in charge of the page.
    "drive mounted": Patch(
        "kernel",
        re.compile(r"(\w+)=!!\(\(null==(\w+)\?void 0:\2\.enabled\)\|\|crossOriginIsolated\)"),
        r"\1=!!(" + SHARED_MEMORY + r"||await (async m=>{let s=navigator.serviceWorker;if(!m||!s)return!1;"
        r"let w=(p,t)=>Promise.race([p,new Promise(r=>setTimeout(r,t))]);await w(m.ready.catch(()=>{}),1e4);"
        r's.controller||await w(new Promise(r=>s.addEventListener("controllerchange",r,{once:!0})),1e4);'
        r"return m.enabled&&!!s.controller})(\2))",
    ),
}


def targets(site: Path, where: str) -> list[Path]:
    """The scripts a patch for `where` applies to (see Patch)."""
    if where == "app":
        return sorted((site / APP_BUILD).glob("*.js"))
    scripts = sorted((site / KERNEL_EXTENSION_STATIC).glob("*.js"))
    if where == "coincident":
        return [s for s in scripts if COINCIDENT_ID in s.read_text(encoding="utf-8")]
    workers = [s for s in scripts if ".worker." in s.name]
    return workers if where == "workers" else [s for s in scripts if s not in workers]


def patch_kernel(site: Path) -> list[str]:
    """Apply KERNEL_PATCHES to the built site; the scripts changed. Fails loudly if a patch misses."""
    texts: dict[Path, str] = {}
    problems = []
    for name, patch in KERNEL_PATCHES.items():
        hits = 0
        scripts = targets(site, patch.where)
        for script in scripts:
            text = texts.get(script)
            if text is None:
                text = script.read_text(encoding="utf-8")
            text, count = patch.pattern.subn(patch.replacement, text)
            if count:
                texts[script] = text
                hits += 1
        wanted = len(scripts) if patch.where in ("workers", "coincident") else 1
        if hits != wanted or not scripts or (patch.where == "coincident" and len(scripts) < 2):
            problems.append(f"{name} ({hits} of the {wanted} {patch.where} scripts it must match took it)")
    if problems:
        raise RuntimeError(
            f"cannot patch the Pyodide kernel: {'; '.join(problems)} (jupyterlite-pyodide-kernel or JupyterLite "
            f"changed; update KERNEL_PATCHES in {__file__})"
        )
    for script, text in texts.items():
        script.write_text(text, encoding="utf-8")
    return sorted(script.relative_to(site).as_posix() for script in texts)
