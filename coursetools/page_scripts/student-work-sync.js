/*
 * student-work-sync.js: keeps the app and the course's shipped notebooks in step with the store,
 * for the "Your work" button (student-work.js). The app object is optional (exposeAppInBrowser):
 * without it a change to the store reloads the page. The shipped notebook is files/<path>; its
 * metadata.tinygpt.course_version says when the course published a newer one.
 *
 * Shares window.tinygptWorkParts (the load order is in student-work-store.js).
 * Provides (.sync): openDocumentsByPath, saveOpenDocuments, afterStorageChange,
 *   currentNotebookPath, shippedNotebook, courseVersion, updateFor, openAlongside.
 * Needs (.store): encoder, siteRoot, getSaved, writeSaved, notebookContent, extname, bytesToModel.
 */
(function () {
  'use strict';
  const parts = window.tinygptWorkParts || {};
  if (!parts.store) {
    throw new Error('student-work-sync.js: student-work-store.js did not load first; '
      + 'build with `python -m coursetools build`.');
  }
  if (parts.sync) {
    return; // injected twice: run once
  }
  const { encoder, siteRoot, getSaved, writeSaved, notebookContent, extname, bytesToModel } = parts.store;

  // ---------------------------------------------------------------- talking to the app

  /** The JupyterLab app object, when the site sets exposeAppInBrowser (optional). */
  function app() {
    return window.jupyterapp || null;
  }

  function openDocumentsByPath() {
    const a = app();
    const found = [];
    if (!a || !a.shell || !a.shell.widgets) {
      return found;
    }
    for (const widget of a.shell.widgets('main')) {
      if (widget && widget.context && widget.context.path) {
        found.push(widget);
      }
    }
    return found;
  }

  /** Save open editors of these files first, so their unsaved edits land in the backups. */
  async function saveOpenDocuments(paths) {
    for (const widget of openDocumentsByPath()) {
      const context = widget.context;
      if (paths.includes(context.path) && context.model && context.model.dirty) {
        await context.save();
      }
    }
  }

  /**
   * After writing to storage behind JupyterLite's back: open editors of changed files reload
   * from storage (so a stale editor never saves over restored work), the file list refreshes.
   * Without the app object, reload the page, which does both.
   */
  async function afterStorageChange(changedPaths) {
    const a = app();
    if (!a) {
      if (changedPaths.length) {
        window.location.reload();
      }
      return;
    }
    for (const widget of openDocumentsByPath()) {
      if (changedPaths.includes(widget.context.path)) {
        try {
          await widget.context.revert();
        } catch (err) {
          console.warn('student-work: could not reload', widget.context.path, err);
        }
      }
    }
    if (a.commands.hasCommand('filebrowser:refresh')) {
      a.commands.execute('filebrowser:refresh').catch(() => undefined);
    }
  }

  async function openDocument(path) {
    const a = app();
    if (a && a.commands.hasCommand('docmanager:open')) {
      await a.commands.execute('docmanager:open', { path });
      return;
    }
    const url = new URL('notebooks/index.html', siteRoot());
    url.searchParams.set('path', path);
    window.open(url.href, '_blank');
  }

  /** The notebook shown on this page, if any. */
  function currentNotebookPath() {
    const a = app();
    const widget = a && a.shell && a.shell.currentWidget;
    if (widget && widget.context && widget.context.path) {
      return widget.context.path.replace(/^[^/:]+:/, ''); // drop a drive prefix
    }
    const path = new URLSearchParams(window.location.search).get('path');
    return path && path.endsWith('.ipynb') ? path.replace(/^\//, '') : null;
  }

  // ---------------------------------------------------------------- shipped course files

  const shippedCache = new Map();

  /**
   * The notebook as the course ships it (files/<path>), or null; fetched once per page.
   * With the offline service worker on, the first load after a redeploy still gets the
   * cached old copy (the worker refreshes it in the background), so a course update is
   * noticed from the next page load on. A cache-busting query would notice it at once but
   * would leave one more cached copy per notebook per visit.
   */
  function shippedNotebook(path) {
    if (!shippedCache.has(path)) {
      shippedCache.set(
        path,
        (async () => {
          const url = new URL('files/' + path.split('/').map(encodeURIComponent).join('/'), siteRoot());
          try {
            const response = await fetch(url.href, { cache: 'no-cache' });
            return response.ok ? await response.json() : null;
          } catch (err) {
            return null; // offline and never cached, or not JSON: nothing to compare with
          }
        })(),
      );
    }
    return shippedCache.get(path);
  }

  function courseVersion(notebook) {
    const meta = (notebook && notebook.metadata && notebook.metadata.tinygpt) || {};
    return meta.course_version || null;
  }

  /** {path, savedVersion, shippedVersion, shipped} when the saved copy differs from the shipped one. */
  async function updateFor(path, savedModel) {
    if (!savedModel || savedModel.type !== 'notebook') {
      return null;
    }
    const shipped = await shippedNotebook(path);
    const shippedVersion = courseVersion(shipped);
    if (!shippedVersion) {
      return null; // not a course notebook
    }
    const savedVersion = courseVersion(notebookContent(savedModel));
    if (savedVersion === shippedVersion) {
      return null;
    }
    return { path, savedVersion, shippedVersion, shipped };
  }

  function alongsidePath(path, version) {
    const ext = extname(path);
    return `${path.slice(0, path.length - ext.length)} (updated v${version})${ext}`;
  }

  /** Write the shipped notebook beside the student's copy (never over it) and open it. */
  async function openAlongside(update) {
    const target = alongsidePath(update.path, update.shippedVersion);
    if (!(await getSaved(target))) {
      const bytes = encoder.encode(JSON.stringify(update.shipped));
      const model = bytesToModel(target, bytes, null, null);
      await writeSaved({ [target]: model });
    }
    await afterStorageChange([]);
    await openDocument(target);
    return target;
  }

  parts.sync = {
    openDocumentsByPath, saveOpenDocuments, afterStorageChange, currentNotebookPath, shippedNotebook,
    courseVersion, updateFor, openAlongside,
  };
})();
