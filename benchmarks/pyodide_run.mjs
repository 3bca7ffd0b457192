// Run a Python script of this repo inside real Pyodide (wasm) under Node: the browser's
// numpy and the browser's interpreter, without a browser.
//
//   TINYGPT_NUMPY_WHEEL=<Pyodide's numpy wheel> node benchmarks/pyodide_run.mjs SCRIPT.py [ARGS...]
//   TINYGPT_NUMPY_WHEEL=... node benchmarks/pyodide_run.mjs -c "python code"
//
// The repo is mounted read-write at /repo (NODEFS) and put first on sys.path, so the script
// imports this worktree's tinytorch; the current directory becomes /repo. With
// TINYGPT_TINYTORCH_WHEEL=<a tinytorch wheel> that wheel is installed instead and /repo is not
// on sys.path (the script still runs from /repo): what a browser that installs the wheel gets.
// TINYGPT_CORPUS is mounted at /corpus/<name> and passed on in the environment, TINYGPT_WORKDIR
// (a folder) at /workdir. stdout/stderr go straight through.
import { loadPyodide } from "pyodide";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const [script, ...args] = process.argv.slice(2);
if (!script) {
  console.error("usage: node benchmarks/pyodide_run.mjs SCRIPT.py [ARGS...] | -c CODE");
  process.exit(2);
}
const wheel = process.env.TINYGPT_NUMPY_WHEEL;
if (!wheel) {
  console.error("set TINYGPT_NUMPY_WHEEL to Pyodide's numpy wheel (the numpy entry of pyodide-lock.json)");
  process.exit(2);
}

const t0 = performance.now();
const pyodide = await loadPyodide({
  indexURL: path.dirname(require.resolve("pyodide/pyodide.mjs")),
  stdout: (s) => process.stdout.write(s + "\n"),
  stderr: (s) => process.stderr.write(s + "\n"),
});
const tLoad = performance.now();
const tinytorchWheel = process.env.TINYGPT_TINYTORCH_WHEEL;
await pyodide.loadPackage(tinytorchWheel ? [wheel, path.resolve(tinytorchWheel)] : [wheel], { messageCallback: () => {} });
const tNumpy = performance.now();

pyodide.FS.mkdirTree("/repo");
pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: repo }, "/repo");
const env = { PYODIDE_LOAD_MS: String(tLoad - t0), PYODIDE_NUMPY_MS: String(tNumpy - tLoad) };
const corpus = process.env.TINYGPT_CORPUS;
if (corpus) {
  pyodide.FS.mkdirTree("/corpus");
  pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: path.dirname(path.resolve(corpus)) }, "/corpus");
  env.TINYGPT_CORPUS = "/corpus/" + path.basename(corpus);
}
const workdir = process.env.TINYGPT_WORKDIR; // a host folder at /workdir: files that outlive this run
if (workdir) {
  pyodide.FS.mkdirTree("/workdir");
  pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: path.resolve(workdir) }, "/workdir");
  env.TINYGPT_WORKDIR = "/workdir";
}
for (const [k, v] of Object.entries(process.env)) {
  if (k === "TINYGPT_MATMUL" || k === "TINYGPT_THREADS" || k.startsWith("TINYTORCH_") || k.startsWith("BENCH_")) env[k] = v;
}
pyodide.globals.set("_env", pyodide.toPy(env));
pyodide.globals.set("_from_repo", !tinytorchWheel);
const inline = script === "-c";
pyodide.globals.set("_code", inline ? args[0] : "");
pyodide.globals.set("_argv", pyodide.toPy(inline ? ["-c", ...args.slice(1)] : [path.posix.join("/repo", script), ...args]));
let code = 0;
try {
  await pyodide.runPythonAsync(`
import os, sys, runpy
os.environ.update(_env)
os.chdir("/repo")
if _from_repo:
    sys.path.insert(0, "/repo")
else:  # the current directory (/repo) must not shadow the installed wheel
    sys.path[:] = [p for p in sys.path if p not in ("", ".", "/repo")]
sys.path.insert(1, "/repo/benchmarks")
sys.argv, _source = list(_argv), _code
del _env, _argv, _code, _from_repo
try:
    if sys.argv[0] == "-c":
        exec(compile(_source, "<-c>", "exec"), {"__name__": "__main__"})
    else:
        runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit as e:
    if e.code not in (None, 0):
        raise
`);
} catch (err) {
  console.error(String(err));
  code = 1;
}
process.exit(code);
