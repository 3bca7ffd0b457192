/*
 * isolation.js: make an app page cross-origin isolated, so that Stop interrupts the kernel at
 * once and the kernel reads files and input() through shared memory, and say so where Stop
 * cannot work at all.
 *
 * The site's service worker adds the isolation headers (COOP/COEP) to every page it serves
 * (coursetools/service_worker.py), and only an isolated page has the SharedArrayBuffer that
 * Stop writes into (coursetools/kernel_patches.py). Without it (WebKit, which the course does
 * not isolate, or a browser that refuses), Stop goes through the service worker instead, which
 * the kernel asks a few times a second while a cell runs. A page loaded before the worker was in
 * charge (the very first visit straight to a notebook, or a visit just after a redeploy
 * replaced the worker) is not isolated: when the worker takes charge, this script reloads it,
 * once per tab, and only if nothing would be lost (no unsaved document, no cell run on this
 * page). A visit through the landing page needs no reload: the landing page installs the
 * worker, and the notebook it opens is served by it. A browser that refuses isolation, or has
 * no service workers, is never reloaded: the course works there (Stop through the service
 * worker if one is in charge, else no Stop).
 *
 * window.tinygptIsolation = {status, settled}: `settled` resolves with the final status once
 * no reload will happen (early-kernel.js waits for it: a kernel started just before a reload
 * would be wasted). Statuses: 'isolated', 'isolated after one reload', 'reloading',
 * 'not isolated: <why>' ("isolated" here means what Stop needs: a SharedArrayBuffer).
 * When the student presses Stop and neither way can reach the kernel (no service worker in
 * charge), the kernel fires the event 'tinygpt-stop-unavailable' and this script tells them
 * what to do instead.
 */
(function () {
  'use strict';
  if (window.tinygptIsolation) {
    return; // injected twice: run once
  }
  const RELOADED = 'tinygpt-isolation-reloaded'; // sessionStorage: this tab reloaded once for isolation
  const WAIT_FOR_WORKER_MS = 20000;
  const config = document.getElementById('jupyter-config-data');
  const appPage = !!config && config.dataset.jupyterLiteRoot !== '.'; // the landing page runs no kernel
  const workers = navigator.serviceWorker;
  // Stop needs the shared memory isolation brings; WebKitGTK isolates a page but gives it none.
  const sharedMemory = self.crossOriginIsolated === true && typeof SharedArrayBuffer === 'function';
  const webkit = /AppleWebKit(?!.*(Chrome|Chromium|Edg)\/)/.test(navigator.userAgent);
  let ranCode = false; // a cell was run on this page: its kernel holds the student's variables
  let resolveSettled;
  const state = { status: 'waiting', settled: new Promise((resolve) => (resolveSettled = resolve)) };
  window.tinygptIsolation = state;

  function settle(status) {
    state.status = status;
    resolveSettled(status);
  }

  function reloadedBefore() {
    try {
      return window.sessionStorage.getItem(RELOADED) !== null;
    } catch (err) {
      return true; // no storage: we could not tell a second reload from the first, so never reload
    }
  }

  /** Whether reloading now loses nothing: no unsaved document, no cell run, no kernel busy. */
  function nothingToLose() {
    const app = window.jupyterapp;
    if (!app || !app.shell) {
      return true; // the app has not even started
    }
    if (ranCode) {
      return false;
    }
    for (const widget of app.shell.widgets('main')) {
      const context = widget.context;
      const session = widget.sessionContext && widget.sessionContext.session;
      if ((context && context.model && context.model.dirty) || (session && session.kernel && session.kernel.status === 'busy')) {
        return false;
      }
    }
    return true;
  }

  function onWorkerInCharge() {
    if (self.crossOriginIsolated) {
      return; // isolated already (headers from the server itself)
    }
    if (reloadedBefore()) {
      settle('not isolated: the page was reloaded once already and this browser did not isolate it');
      return;
    }
    if (!nothingToLose()) {
      settle('not isolated: not reloaded, it would lose unsaved work or the kernel\'s variables');
      return;
    }
    try {
      window.sessionStorage.setItem(RELOADED, String(Date.now()));
    } catch (err) {
      settle('not isolated: no session storage to guard a reload');
      return;
    }
    settle('reloading');
    window.location.reload();
  }

  function watchRunCommands() {
    const wait = setInterval(() => {
      const app = window.jupyterapp;
      if (app && app.commands) {
        clearInterval(wait);
        app.commands.commandExecuted.connect((_, args) => {
          if (/^(notebook|console|runmenu):(run|restart-run)/.test(args.id)) {
            ranCode = true;
          }
        });
      }
    }, 50);
    setTimeout(() => clearInterval(wait), 60000);
  }

  // JupyterLab shows a notice's first 140 characters (the rest is in its notification list).
  const STOP_NEEDS_RELOAD =
    'Stop needs one reload of this page first (your saved work stays). To stop this cell now: Kernel menu, ' +
    'Restart Kernel (variables are lost).';
  const STOP_REFUSED =
    'This browser cannot stop a running cell. To stop it: Kernel menu, Restart Kernel (your files stay, ' +
    'variables are lost).';

  async function explainStop() {
    // No service worker in charge: one may take charge after a reload (a first visit), unless
    // this tab reloaded already or the browser has none here.
    const noWorker = !workers || !window.isSecureContext || /no service worker/.test(state.status);
    const refused = noWorker || reloadedBefore();
    const message = refused ? STOP_REFUSED : STOP_NEEDS_RELOAD;
    const app = window.jupyterapp;
    state.stopNotice = message; // for the tests
    try {
      await app.commands.execute('apputils:notify', { message, type: 'warning', options: { autoClose: false } });
    } catch (err) {
      console.warn('isolation.js: no notification for Stop:', err);
      window.alert(message); // no notification centre in this app
    }
  }

  if (!appPage) {
    settle('not isolated: not an app page');
    return;
  }
  watchRunCommands();
  window.addEventListener('tinygpt-stop-unavailable', explainStop);
  if (sharedMemory) {
    settle(reloadedBefore() ? 'isolated after one reload' : 'isolated');
    return;
  }
  if (self.crossOriginIsolated) {
    settle('not isolated: this browser isolates the page but gives it no SharedArrayBuffer');
    return;
  }
  // The service worker does not isolate WebKit (Safari, WebKitGTK): see coursetools/service_worker.py.
  if (webkit) {
    settle('not isolated: the course does not isolate pages in WebKit');
    return;
  }
  if (!workers || !window.isSecureContext) {
    settle('not isolated: this browser has no service workers here');
    return;
  }
  // A worker taking charge later (first visit, or a new worker after a redeploy) may isolate the page.
  workers.addEventListener('controllerchange', onWorkerInCharge, { once: true });
  if (workers.controller) {
    settle(reloadedBefore()
      ? 'not isolated: the page was reloaded once already and this browser did not isolate it'
      : 'not isolated: the service worker in charge did not isolate this page');
    return; // a newer worker may still take charge: onWorkerInCharge decides then
  }
  setTimeout(() => settle('not isolated: no service worker took charge'), WAIT_FOR_WORKER_MS);
})();
