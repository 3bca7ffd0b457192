/*
 * notebook-page.js: what the scripts that help a notebook page start share.
 *
 * The site build loads it before the other page scripts (page_script_injection.PAGE_SCRIPTS_FIRST), so
 * early-kernel.js and open-notebook.js find it as window.tinygptNotebookPage.
 * A notebook page is notebooks/index.html?path=X.ipynb. Each helper script runs one task on
 * such a page, once, and keeps its status in a window property for the browser tests:
 * 'not a notebook page', 'waiting', then what the task returned or why it failed.
 */
(function () {
  'use strict';
  if (window.tinygptNotebookPage) {
    return; // injected twice: run once
  }
  const WAIT_FOR_APP_MS = 60000;
  const url = new URL(window.location.href);
  const param = url.searchParams.get('path');
  const path = param && param.endsWith('.ipynb') && /\/notebooks\/(index\.html)?$/.test(url.pathname) ? param : null;

  function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  /** The JupyterLab app (the site sets exposeAppInBrowser), once every plugin is active. */
  async function startedApp() {
    const waiting = Date.now();
    while (!window.jupyterapp) {
      if (Date.now() - waiting > WAIT_FOR_APP_MS) {
        throw new Error('no window.jupyterapp');
      }
      await sleep(25);
    }
    await window.jupyterapp.started;
    return window.jupyterapp;
  }

  /** Whether the page's notebook exists (the student's saved copy or the course's). */
  async function notebookExists(app) {
    try {
      await app.serviceManager.contents.get(path, { content: false });
      return true;
    } catch (err) {
      return false;
    }
  }

  /**
   * Run `task(path)` once, on a notebook page only, keeping its status in window[statusName].
   * A task that throws leaves `failedPrefix + the error` there: the page goes on without it.
   */
  function onNotebookPage(statusName, failedPrefix, task) {
    if (window[statusName]) {
      return; // injected twice: run once
    }
    if (!path) {
      window[statusName] = 'not a notebook page';
      return;
    }
    window[statusName] = 'waiting';
    task(path).then(
      (status) => {
        window[statusName] = status;
      },
      (err) => {
        window[statusName] = failedPrefix + err;
        console.warn(statusName + ':', err);
      },
    );
  }

  window.tinygptNotebookPage = { WAIT_FOR_APP_MS, sleep, startedApp, notebookExists, onNotebookPage };
})();
