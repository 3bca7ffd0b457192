"""Drive a notebook of the built site in Chromium through JupyterLite's own objects.

The site sets `exposeAppInBrowser`, so the page has `window.jupyterapp`: these helpers wait
for the open notebook and its kernel, run code in that kernel without touching the notebook
(`kernel.requestExecute`), run all cells with the app's own "Run All" command, and read every
cell's outputs back from the notebook model (JupyterLab renders long notebooks lazily, so the
DOM does not hold them all).
"""

from __future__ import annotations

import json
import time

KERNEL_TIMEOUT_MS = 300_000  # a cold Pyodide start on a busy 2-core machine

_WAIT_FOR_NOTEBOOK = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  return !!(w && w.sessionContext && w.content && w.content.model && w.context && w.context.isReady);
}"""

_RUN_CODE = """async ([code, timeoutMs]) => {
  const w = window.jupyterapp.shell.currentWidget;
  const started = Date.now();
  while (!(w.sessionContext.session && w.sessionContext.session.kernel)) {
    if (Date.now() - started > timeoutMs) throw new Error('no kernel after ' + timeoutMs + ' ms');
    await new Promise(r => setTimeout(r, 200));
  }
  const kernel = w.sessionContext.session.kernel;
  const out = {stdout: '', stderr: '', error: null, status: null};
  const future = kernel.requestExecute({code, store_history: false});
  future.onIOPub = msg => {
    const t = msg.header.msg_type, c = msg.content;
    if (t === 'stream') out[c.name === 'stderr' ? 'stderr' : 'stdout'] += c.text;
    else if (t === 'error') out.error = {ename: c.ename, evalue: c.evalue, traceback: c.traceback};
    else if (t === 'execute_result' || t === 'display_data') out.stdout += (c.data['text/plain'] || '');
  };
  const timeout = new Promise((_, reject) =>
    setTimeout(() => reject(new Error('no reply after ' + timeoutMs + ' ms')), timeoutMs));
  const reply = await Promise.race([future.done, timeout]);
  out.status = reply.content.status;
  return out;
}"""

_RUN_ALL = """async (timeoutMs) => {
  const app = window.jupyterapp, w = app.shell.currentWidget;
  const timeout = new Promise((_, reject) =>
    setTimeout(() => reject(new Error('Run All did not finish in ' + timeoutMs + ' ms')), timeoutMs));
  const ok = await Promise.race([app.commands.execute('notebook:run-all-cells'), timeout]);
  const cells = [];
  const model = w.content.model;
  for (let i = 0; i < model.cells.length; i++) {
    const c = model.cells.get(i);
    cells.push({
      type: c.type,
      source: c.sharedModel.getSource(),
      execution_count: c.type === 'code' ? c.executionCount : null,
      outputs: c.type === 'code' ? c.outputs.toJSON() : [],
    });
  }
  return {ok, cells};
}"""

_SAVE_NOTEBOOK = """async ([path, content]) => {
  await window.jupyterapp.serviceManager.contents.save(path, {type: 'notebook', format: 'json', content});
  return path;
}"""


def open_notebook(page, base_url: str, path: str) -> None:
    """Open `path` in the Notebook app and wait until its model is loaded."""
    page.goto(f"{base_url}notebooks/index.html?path={path}")
    page.wait_for_function(_WAIT_FOR_NOTEBOOK, timeout=120_000)


def run_code(page, code: str, timeout_ms: int = KERNEL_TIMEOUT_MS) -> dict:
    """Run code in the open notebook's kernel (starting it if needed): {stdout, stderr, error, status, seconds}."""
    started = time.perf_counter()
    result = page.evaluate(_RUN_CODE, [code, timeout_ms])
    result["seconds"] = time.perf_counter() - started
    return result


def run_all(page, timeout_ms: int = 900_000) -> dict:
    """Run All in the open notebook; {ok, cells: [{type, source, execution_count, outputs}], seconds}."""
    started = time.perf_counter()
    result = page.evaluate(_RUN_ALL, timeout_ms)
    result["seconds"] = time.perf_counter() - started
    return result


def save_notebook(page, path: str, notebook: dict) -> None:
    """Write a notebook into the student's files (the browser's storage) through the app."""
    page.evaluate(_SAVE_NOTEBOOK, [path, notebook])


def errors(cells: list) -> list:
    """[(cell index, error output)] for every cell that ended in an error."""
    return [(i, o) for i, c in enumerate(cells) for o in c["outputs"] if o.get("output_type") == "error"]


def error_text(output: dict) -> str:
    import re

    text = f"{output.get('ename')}: {output.get('evalue')}\n" + "\n".join(output.get("traceback", []))
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def describe(cells: list, index: int) -> str:
    """A cell and its error, for assertion messages."""
    cell = cells[index]
    found = [error_text(o) for o in cell["outputs"] if o.get("output_type") == "error"]
    return f"cell {index}:\n{cell['source'][:600]}\n--- error:\n" + (
        "\n".join(found)[-2500:] or json.dumps(cell["outputs"])[:800]
    )
