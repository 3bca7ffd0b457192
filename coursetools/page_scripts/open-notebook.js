/*
 * open-notebook.js: make sure a notebook page opens its notebook.
 *
 * Runs on every page of the course site (the site build injects every
 * coursetools/page_scripts/*.js); acts only on a notebook page, notebooks/index.html?path=X.ipynb.
 * JupyterLite opens X when its URL router runs the `router:tree` command after the app has
 * started. In WebKit (Safari's engine), on an offline visit served by the service worker, that
 * command sometimes never runs: the app starts, its menus show, and the page stays empty
 * for good (3 of 28 offline visits on a loaded 2-core machine; every other part of the app
 * answered, and running `router:tree` by hand opened the notebook at once).
 * So: if no document is open a while after the app has started, run the command the router
 * should have run. It opens X, or only shows it if it is open already.
 */
(function () {
  'use strict';
  if (window.__tinygptOpenNotebook) {
    return; // injected twice: run once
  }
  const url = new URL(window.location.href);
  const path = url.searchParams.get('path');
  if (!path || !/\/notebooks\/(index\.html)?$/.test(url.pathname)) {
    window.__tinygptOpenNotebook = 'not a notebook page';
    return;
  }
  // what happened, for the browser tests: waiting, "opened by the router", "opened here: ..." or "not opened: ..."
  window.__tinygptOpenNotebook = 'waiting';
  const WAIT_FOR_APP_MS = 60000;
  // how long the router gets after `started` before this script opens the notebook itself
  const ROUTER_GRACE_MS = 8000;

  function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  async function appObject() {
    const started = Date.now();
    while (!window.jupyterapp) {
      if (Date.now() - started > WAIT_FOR_APP_MS) {
        throw new Error('no window.jupyterapp');
      }
      await sleep(25);
    }
    return window.jupyterapp;
  }

  function documentOpen(app) {
    return app.shell.currentWidget !== null && app.shell.currentWidget !== undefined;
  }

  async function openIfTheRouterDidNot() {
    const app = await appObject();
    await app.started;
    const started = Date.now();
    while (Date.now() - started < ROUTER_GRACE_MS) {
      if (documentOpen(app)) {
        return 'opened by the router';
      }
      await sleep(100);
    }
    try {
      await app.serviceManager.contents.get(path, { content: false });
    } catch (err) {
      return 'not opened: no notebook at ' + path; // the router has already said so
    }
    const here = window.location;
    await app.commands.execute('router:tree', {
      request: here.pathname + here.search + here.hash,
      path: here.pathname,
      search: here.search,
      hash: here.hash,
    });
    return 'opened here: the router had not opened it after ' + ROUTER_GRACE_MS / 1000 + ' s';
  }

  openIfTheRouterDidNot()
    .then((status) => {
      window.__tinygptOpenNotebook = status;
    })
    .catch((err) => {
      window.__tinygptOpenNotebook = 'failed: ' + err;
      console.warn('open-notebook.js:', err);
    });
})();
