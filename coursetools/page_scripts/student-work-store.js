/*
 * student-work-store.js: where the student's work lives, for the "Your work" button (student-work.js).
 *
 * How JupyterLite 0.8 stores files (read from @jupyterlite/services BrowserStorageDrive):
 * localforage over IndexedDB, database `contentsStorageName` (default
 * "JupyterLite Storage - <baseUrl>"), object store "files"; key = the file's path
 * ("sub/dir/name.ipynb", no leading slash), value = the Jupyter contents model
 * {name, path, type, format, mimetype, content, size, created, last_modified, writable}.
 * Notebooks are stored parsed (format "json"), text as a string, binary as base64.
 * Files the course ships are not in that store: they are served from files/<path> and
 * listed in api/contents/<dir>/all.json; a saved copy in the store hides the shipped one.
 * So: the store holds exactly the student's work; deleting a key shows the shipped file again.
 *
 * The "Your work" scripts share one object, window.tinygptWorkParts, one key per file, loaded in
 * this order (the build loads page scripts in name order; each file checks the ones it needs):
 *   student-work-format.js    window.tinygptWorkFormat: the zip format's rules (also run in Node)
 *   student-work-store.js     .store: site config, the IndexedDB files store, models <-> bytes
 *   student-work-sync.js      .sync: talking to the app, the course's shipped notebooks and updates
 *   student-work-transfer.js  .transfer: export, hand-in, import, reset (backups kept)
 *   student-work-ui.js        .ui: persistence and reminder texts, styles, el/say/action, button placement
 *   student-work.js           the button, the panel, the update notice, main(), window.tinygptWork
 *
 * Provides (.store): LS, encoder, siteRoot, siteConfig, allSaved, getSaved, writeSaved, modelBytes,
 *   notebookContent, extname, bytesToModel, directoryModel, sameBytes.
 * Needs: nothing (it is the first of them).
 */
(function () {
  'use strict';
  if (window.tinygptWorkParts) {
    return; // injected twice: run once
  }

  const LS = 'tinygpt-work:'; // localStorage key prefix
  const FILES_STORE = 'files';
  const encoder = new TextEncoder();

  // ---------------------------------------------------------------- site config

  /** The site root URL (ends in "/"), from the config element every app page carries. */
  function siteRoot() {
    const el = document.getElementById('jupyter-config-data');
    let rel = (el && el.getAttribute('data-jupyter-lite-root')) || '.';
    if (!rel.endsWith('/')) {
      rel += '/';
    }
    return new URL(rel, window.location.href);
  }

  function pageConfig() {
    const el = document.getElementById('jupyter-config-data');
    try {
      return el ? JSON.parse(el.textContent || '{}') : {};
    } catch (err) {
      return {};
    }
  }

  let configPromise = null;

  /** Merged jupyter-config-data: the site's jupyter-lite.json, then this page's element. */
  function siteConfig() {
    if (!configPromise) {
      configPromise = (async () => {
        const root = siteRoot();
        let data = {};
        try {
          const response = await fetch(new URL('jupyter-lite.json', root));
          if (response.ok) {
            data = (await response.json())['jupyter-config-data'] || {};
          }
        } catch (err) {
          // offline with nothing cached: fall back on the page's own config below
        }
        data = Object.assign({}, data, pageConfig());
        // The drive's default name uses the resolved baseUrl (the site root's path).
        const baseUrl = data.baseUrl && data.baseUrl.startsWith('/') ? data.baseUrl : root.pathname;
        data.storageName = data.contentsStorageName || `JupyterLite Storage - ${baseUrl}`;
        return data;
      })();
    }
    return configPromise;
  }

  // ---------------------------------------------------------------- IndexedDB store

  /** Open the contents database, or null when JupyterLite has not created it yet. */
  function openDb(name) {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(name);
      let isNew = false;
      request.onupgradeneeded = (event) => {
        if (event.oldVersion === 0) {
          // Never create JupyterLite's database ourselves: localforage owns its layout.
          isNew = true;
          request.transaction.abort();
        }
      };
      request.onsuccess = () => {
        const db = request.result;
        // localforage adds stores with a version upgrade: never block it.
        db.onversionchange = () => db.close();
        resolve(db);
      };
      request.onerror = (event) => {
        if (isNew) {
          event.preventDefault();
          resolve(null);
        } else {
          reject(request.error);
        }
      };
      request.onblocked = () => reject(new Error('The course storage is busy; reload the page.'));
    });
  }

  /** Run fn(objectStore) in one transaction on the files store; resolves with its result. */
  async function withFiles(mode, fn) {
    const { storageName } = await siteConfig();
    const db = await openDb(storageName);
    if (!db || !db.objectStoreNames.contains(FILES_STORE)) {
      if (db) {
        db.close();
      }
      if (mode === 'readonly') {
        return fn(null);
      }
      throw new Error(
        'The course storage is not set up yet in this browser. Open the file list once, then try again.',
      );
    }
    try {
      return await new Promise((resolve, reject) => {
        const tx = db.transaction(FILES_STORE, mode);
        let result;
        Promise.resolve(fn(tx.objectStore(FILES_STORE))).then((r) => (result = r), reject);
        tx.oncomplete = () => resolve(result);
        tx.onerror = () => reject(tx.error);
        tx.onabort = () => reject(tx.error || new Error('storage transaction aborted'));
      });
    } finally {
      db.close();
    }
  }

  function requestValue(request) {
    return new Promise((resolve, reject) => {
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  /** Every saved model, as [{key, model}], sorted by path. */
  async function allSaved() {
    return withFiles('readonly', async (store) => {
      if (!store) {
        return [];
      }
      const [keys, values] = await Promise.all([
        requestValue(store.getAllKeys()),
        requestValue(store.getAll()),
      ]);
      return keys
        .map((key, i) => ({ key: String(key), model: values[i] }))
        .filter((item) => item.model)
        .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    });
  }

  async function getSaved(path) {
    return withFiles('readonly', (store) => (store ? requestValue(store.get(path)) : null));
  }

  /** Write models ({key: model}) and delete keys in one transaction: all or nothing. */
  async function writeSaved(puts, deletes = []) {
    return withFiles('readwrite', (store) => {
      for (const [key, model] of Object.entries(puts)) {
        store.put(model, key);
      }
      for (const key of deletes) {
        store.delete(key);
      }
    });
  }

  // ---------------------------------------------------------------- models <-> bytes

  function base64ToBytes(text) {
    const binary = atob(text || '');
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) {
      bytes[i] = binary.charCodeAt(i);
    }
    return bytes;
  }

  function bytesToBase64(bytes) {
    let binary = '';
    const chunk = 0x8000; // String.fromCharCode has an argument limit
    for (let i = 0; i < bytes.length; i += chunk) {
      binary += String.fromCharCode.apply(null, bytes.subarray(i, i + chunk));
    }
    return btoa(binary);
  }

  /** The bytes a file would have on disk. Notebooks use nbformat's one-space indent. */
  function modelBytes(model) {
    const content = model.content;
    if (content === null || content === undefined) {
      return new Uint8Array(0);
    }
    if (model.format === 'base64') {
      return base64ToBytes(content);
    }
    if (model.format === 'json' || typeof content !== 'string') {
      return encoder.encode(JSON.stringify(content, null, model.type === 'notebook' ? 1 : 2) + '\n');
    }
    return encoder.encode(content);
  }

  /**
   * A saved notebook's JSON, whatever the format it was stored in: the notebook editor stores
   * it parsed ("json"), a file the kernel wrote into /drive arrives as "base64". Null if unreadable.
   */
  function notebookContent(model) {
    if (!model || model.type !== 'notebook' || model.content === null || model.content === undefined) {
      return null;
    }
    if (typeof model.content !== 'string') {
      return model.content;
    }
    try {
      const text = model.format === 'base64' ? new TextDecoder().decode(base64ToBytes(model.content)) : model.content;
      return JSON.parse(text);
    } catch (err) {
      return null;
    }
  }

  const TEXT_EXTENSIONS = ['.py', '.txt', '.md', '.csv', '.tsv', '.yaml', '.yml', '.toml', '.html', '.css', '.js', '.svg', '.xml', '.log'];

  function extname(path) {
    const name = path.split('/').pop();
    const dot = name.lastIndexOf('.');
    return dot > 0 ? name.slice(dot).toLowerCase() : '';
  }

  /** Guess a file's contents format the way JupyterLite does (its fileTypes config first). */
  function guessFormat(path, bytes, fileTypes) {
    const ext = extname(path);
    if (ext === '.ipynb') {
      return { type: 'notebook', format: 'json', mimetype: 'application/x-ipynb+json' };
    }
    for (const ft of Object.values(fileTypes || {})) {
      if ((ft.extensions || []).includes(ext) && ft.fileFormat) {
        return { type: 'file', format: ft.fileFormat, mimetype: (ft.mimeTypes || [])[0] || 'text/plain' };
      }
    }
    if (TEXT_EXTENSIONS.includes(ext)) {
      return { type: 'file', format: 'text', mimetype: 'text/plain' };
    }
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      if (!bytes.includes(0)) {
        return { type: 'file', format: 'text', mimetype: 'text/plain' };
      }
    } catch (err) {
      // not UTF-8: binary
    }
    return { type: 'file', format: 'base64', mimetype: 'application/octet-stream' };
  }

  /** Build the contents model JupyterLite stores for `path` from file bytes. */
  function bytesToModel(path, bytes, meta, fileTypes) {
    const now = new Date().toISOString();
    const kind = meta && meta.format ? meta : guessFormat(path, bytes, fileTypes);
    let content;
    let format = kind.format;
    if (format === 'json') {
      try {
        content = JSON.parse(new TextDecoder().decode(bytes));
      } catch (err) {
        if (kind.type === 'notebook') {
          throw new Error(`${path} is not a valid notebook (its JSON does not parse): ${err.message}`);
        }
        format = 'text'; // keep the bytes rather than refuse the file
      }
    }
    if (format === 'text') {
      content = new TextDecoder().decode(bytes);
    } else if (format === 'base64') {
      content = bytesToBase64(bytes);
    }
    return {
      name: path.split('/').pop(),
      path,
      type: kind.type || 'file',
      format,
      mimetype: kind.mimetype || (format === 'json' ? 'application/json' : 'text/plain'),
      content,
      size: bytes.length,
      writable: true,
      created: (meta && meta.created) || now,
      last_modified: (meta && meta.last_modified) || now,
    };
  }

  function directoryModel(path, meta) {
    const now = new Date().toISOString();
    return {
      name: path.split('/').pop(),
      path,
      type: 'directory',
      format: 'json',
      mimetype: '',
      content: null,
      size: 0,
      writable: true,
      created: (meta && meta.created) || now,
      last_modified: (meta && meta.last_modified) || now,
    };
  }

  function sameBytes(a, b) {
    if (a.length !== b.length) {
      return false;
    }
    for (let i = 0; i < a.length; i++) {
      if (a[i] !== b[i]) {
        return false;
      }
    }
    return true;
  }

  window.tinygptWorkParts = {
    store: {
      LS, encoder, siteRoot, siteConfig, allSaved, getSaved, writeSaved, modelBytes, notebookContent, extname,
      bytesToModel, directoryModel, sameBytes,
    },
  };
})();
