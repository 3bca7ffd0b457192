/*
 * early-kernel.js: start a notebook's kernel while JupyterLab is still drawing the notebook.
 *
 * The site build injects it into every page of the course site; it acts only on a notebook
 * page, notebooks/index.html?path=X.ipynb (notebook-page.js: which pages, run once, status).
 * JupyterLab asks for a kernel only once the notebook widget exists, about two seconds after the
 * app has started, and Pyodide then takes several more seconds to start. This script starts
 * the session for X as soon as the app has started. When the notebook's SessionContext
 * initialises, it looks for a running session with its path, finds this one and connects to
 * it instead of starting another (JupyterLab's SessionContext.initialize).
 * So the kernel starts alongside the page's drawing, not after it.
 *
 * The session is started as JupyterLab would start it (same path, name and default kernel),
 * only for a notebook that exists, never on a page about to reload for cross-origin isolation
 * (isolation.js), and shut down again if the notebook ends up with another.
 * If anything here fails, the notebook starts its kernel the usual way.
 */
(function () {
  'use strict';
  const { WAIT_FOR_APP_MS, sleep, startedApp, notebookExists, onNotebookPage } = window.tinygptNotebookPage;

  async function startKernel(path) {
    const app = await startedApp(); // every plugin is active, the Pyodide kernel's factory among them
    const isolation = window.tinygptIsolation;
    if (isolation && (await isolation.settled) === 'reloading') {
      return 'not started: the page reloads to be cross-origin isolated';
    }
    if (!(self.crossOriginIsolated && typeof SharedArrayBuffer === 'function')) {
      await serviceWorkerInCharge(); // isolated, the kernel reads the files without the worker
    }
    const { sessions, kernelspecs } = app.serviceManager;
    await Promise.all([sessions.ready, kernelspecs.ready]);
    if (Array.from(sessions.running()).some((model) => model.path === path)) {
      return 'not started: the notebook was quicker';
    }
    if (!(await notebookExists(app))) {
      return 'not started: no notebook at ' + path; // a mistyped link must not leave a kernel running
    }
    const name = path.split('/').pop();
    const session = await sessions.startNew({ path, name, type: 'notebook', kernel: { name: kernelspecs.specs.default } });
    const id = session.id;
    session.dispose(); // this page's connection only: the session and its kernel keep running for the notebook
    // Had the notebook looked for a session while this one was still being made, it would have
    // started its own: then this one is nobody's, and its Pyodide would only take memory and CPU.
    const used = await notebookSessionId(app, path);
    if (used && used !== id) {
      await sessions.shutdown(id);
      return 'not started: the notebook started its own kernel meanwhile (the early one was shut down)';
    }
    return 'started';
  }

  /**
   * Resolves once a service worker controls this page, at once in a browser without them.
   * The kernel mounts the student's files at /drive only if JupyterLite's service worker is
   * registered when the kernel is made, and the drive's requests pass through it. On a first
   * visit that takes a moment: a kernel made earlier would not see the course's files.
   */
  function serviceWorkerInCharge() {
    const workers = navigator.serviceWorker;
    if (!workers || workers.controller) {
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      workers.addEventListener('controllerchange', () => resolve(), { once: true });
      setTimeout(() => reject(new Error('no service worker took charge of this page')), WAIT_FOR_APP_MS);
    });
  }

  /** The id of the session the notebook's widget connects to (null if it never shows one). */
  async function notebookSessionId(app, path) {
    const started = Date.now();
    while (Date.now() - started < WAIT_FOR_APP_MS) {
      const widget = app.shell.currentWidget;
      const session = widget && widget.sessionContext && widget.sessionContext.session;
      if (session && widget.context && widget.context.path === path) {
        return session.id;
      }
      await sleep(100);
    }
    return null;
  }

  // waiting, started, or "not started: <why>"; if anything fails, the notebook starts its own kernel
  onNotebookPage('__tinygptEarlyKernel', 'not started: ', startKernel);
})();
