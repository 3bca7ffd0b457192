// Start the site's own Pyodide in Node, as the kernel starts it, and add bytecode to the
// archives it imported from. Run by coursetools/bytecode.py (see its docstring for why):
//
//   node coursetools/bytecode.mjs PYODIDE_DIR PACKAGES_JSON [WHEEL ...]
//
// PYODIDE_DIR: a built site's static/pyodide/ (its pyodide.mjs, wasm, stdlib, lock and wheels).
// PACKAGES_JSON: the kernel's loadPyodideOptions.packages. WHEEL: the kernel's own wheels, which
// it installs after Pyodide starts (piplite, pyodide_kernel, ipykernel). Prints a JSON report.
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const [dir, packagesJson, ...kernelWheels] = process.argv.slice(2);
if (!dir || !packagesJson) {
  console.error("usage: node coursetools/bytecode.mjs PYODIDE_DIR PACKAGES_JSON [WHEEL ...]");
  process.exit(2);
}
const indexURL = path.resolve(dir) + path.sep;
const here = path.dirname(fileURLToPath(import.meta.url));
// The interpreter that will read the bytecode is the one that writes it: the site's own copy.
const { loadPyodide } = await import(pathToFileURL(path.join(indexURL, "pyodide.mjs")).href);
const pyodide = await loadPyodide({
  indexURL,
  packages: JSON.parse(packagesJson),
  stdout: (s) => process.stderr.write(s + "\n"),
  stderr: (s) => process.stderr.write(s + "\n"),
});
await pyodide.loadPackage(kernelWheels.map((w) => path.resolve(w)), { messageCallback: () => {} });
for (const [mount, root] of [["/site-pyodide", indexURL], ["/coursetools", here]]) {
  pyodide.FS.mkdirTree(mount);
  pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root }, mount);
}
try {
  const report = await pyodide.runPythonAsync(`
import sys
sys.path.insert(0, "/coursetools")
import bytecode
bytecode.compile_what_a_start_imports("/site-pyodide")
`);
  process.stdout.write(report + "\n");
} catch (err) {
  console.error(String(err));
  process.exit(1);
}
