/*
 * open-notebook.js: make sure a notebook page opens its notebook.
 *
 * The site build injects it into every page of the course site; it acts only on a notebook
 * page, notebooks/index.html?path=X.ipynb (notebook-page.js: which pages, run once, status).
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
  const { sleep, startedApp, notebookExists, onNotebookPage } = window.tinygptNotebookPage;
  // how long the router gets after `started` before this script opens the notebook itself
  const ROUTER_GRACE_MS = 8000;

  function documentOpen(app) {
    return app.shell.currentWidget !== null && app.shell.currentWidget !== undefined;
  }

  async function openIfTheRouterDidNot(path) {
    const app = await startedApp();
    const started = Date.now();
    while (Date.now() - started < ROUTER_GRACE_MS) {
      if (documentOpen(app)) {
        return 'opened by the router';
      }
      await sleep(100);
    }
    if (!(await notebookExists(app))) {
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

  // waiting, "opened by the router", "opened here: ..." or "not opened: ..."
  onNotebookPage('__tinygptOpenNotebook', 'failed: ', openIfTheRouterDidNot);
})();
