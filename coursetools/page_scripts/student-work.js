/*
 * student-work.js: the student's work is never lost.
 *
 * Runs on every page of the JupyterLite course site (the site build injects every
 * coursetools/page_scripts/*.js). Plain JavaScript, no build step, nothing fetched from
 * another origin. It adds a small "Your work" button that
 *   1. asks the browser to keep this site's storage (navigator.storage.persist()) and says
 *      whether it agreed,
 *   2. downloads every file the student saved as one .zip, and restores such a zip
 *      (asking first, keeping a backup copy of each file it replaces),
 *   3. resets one notebook to the version the course ships (keeping a backup copy),
 *   4. reminds the student when their last download is older than a few days,
 *   5. tells them, inside the notebook, when the course published a newer version of a
 *      notebook they have saved, and offers to open it alongside without touching theirs.
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
 * What a zip of the work holds and which zips a restore refuses is student-work-format.js's
 * (window.tinygptWorkFormat, the same rules as tinytorch/course/work.py, proven by the same vectors).
 */
(function () {
  'use strict';
  if (window.__tinygptStudentWork) {
    return; // injected twice: run once
  }
  window.__tinygptStudentWork = true;

  const REMIND_AFTER_DAYS = 3;
  const LS = 'tinygpt-work:'; // localStorage key prefix
  // The zip format shared with tinytorch/course/work.py (work_format.json, inlined by the site build)
  // and its rules: student-work-format.js, loaded just before this script.
  const SPEC = window.tinygptWorkFormat;
  if (!SPEC) {
    throw new Error('student-work.js: student-work-format.js did not load first; '
      + 'build with `python -m coursetools build`.');
  }
  const FORMAT = SPEC.FORMAT;
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

  /**
   * True when a saved notebook is the shipped one with nothing of the student's in it: same
   * cells, sources and outputs (JupyterLab saves a notebook just opened, e.g. for cell ids).
   * Such a copy needs no backup.
   */
  async function isPristine(path, model) {
    if (model.type !== 'notebook') {
      return false;
    }
    const shipped = await shippedNotebook(path);
    const mine = notebookContent(model);
    if (!shipped || !Array.isArray(shipped.cells) || !mine || !Array.isArray(mine.cells)) {
      return false;
    }
    const text = (source) => (Array.isArray(source) ? source.join('') : source || '');
    const essence = (cells) =>
      JSON.stringify(cells.map((c) => [c.cell_type, text(c.source), c.outputs || [], c.attachments || {}]));
    return essence(shipped.cells) === essence(mine.cells);
  }

  // ---------------------------------------------------------------- zip (the shared format)

  const { sha256, cleanZipPath, openWorkZip, buildWorkZip, writeZip, isExportable } = SPEC;

  // ---------------------------------------------------------------- export / import

  /** Every saved file as a zip Blob plus a manifest; returns {blob, count}. */
  async function buildExport() {
    const saved = (await allSaved()).filter((item) => isExportable(item.key));
    const items = saved.map(({ key, model }) => ({
      path: key,
      type: model.type,
      bytes: model.type === 'directory' ? null : modelBytes(model),
      meta: {
        format: model.format, mimetype: model.mimetype, created: model.created, last_modified: model.last_modified,
      },
    }));
    const zip = await buildWorkZip(items, { by: 'site', site: siteRoot().href });
    return { blob: zipBlob(zip), count: saved.filter((s) => s.model.type !== 'directory').length };
  }

  function zipBlob(bytes) {
    return new Blob([bytes], { type: 'application/zip' });
  }

  function downloadBlob(blob, filename) {
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = filename;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }

  function stamp(date = new Date()) {
    const pad = (n) => String(n).padStart(2, '0');
    return `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}-${pad(date.getHours())}${pad(date.getMinutes())}`;
  }

  async function exportWork() {
    const { blob, count } = await buildExport();
    downloadBlob(blob, `tinygpt-work-${stamp()}.zip`);
    localStorage.setItem(LS + 'last-export', new Date().toISOString());
    return count;
  }

  // ---------------------------------------------------------------- hand in (nbgrader)

  // The hand-in format shared with tinytorch/course/handin.py and the instructor's grading tools:
  // work_format.json["handin"] (file name pattern, student id rule, manifest name).
  const HANDIN = FORMAT.handin;

  /** The id as typed, trimmed; throws with the rule when the grader could not file it. */
  function handInId(studentId) {
    const id = String(studentId || '').trim();
    if (!new RegExp(HANDIN.student_id).test(id)) {
      throw new Error(`"${id}" cannot be used as a student id: use ${HANDIN.student_id_help}.`);
    }
    return id;
  }

  /** The zip's name, e.g. tinygpt-handin_s12345_20261206T090503Z_course.zip (time in UTC). */
  function handInName(studentId, what, date = new Date()) {
    const stamp = date.toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '');
    return HANDIN.file_name
      .replace('{prefix}', HANDIN.prefix)
      .replace('{student_id}', handInId(studentId))
      .replace('{stamp}', stamp)
      .replace('{what}', what);
  }

  /** The course's notebooks at the top of the file list (shipped ones), sorted by path. */
  async function courseNotebookPaths() {
    const paths = new Set();
    try {
      const response = await fetch(new URL('api/contents/all.json', siteRoot()).href, { cache: 'no-cache' });
      if (response.ok) {
        for (const item of (await response.json()).content || []) {
          if (item.type === 'notebook') {
            paths.add(item.path || item.name);
          }
        }
      }
    } catch (err) {
      // offline and never cached: the saved notebooks below still count
    }
    for (const { key, model } of await allSaved()) {
      if (model.type === 'notebook' && !key.includes('/') && courseVersion(notebookContent(model))) {
        paths.add(key);
      }
    }
    return Array.from(paths).filter((p) => !p.includes(FORMAT.backup_infix) && !p.includes(' (updated v')).sort();
  }

  /**
   * A notebook's bytes as the student has it now, without saving anything: the open editor's
   * content if it has unsaved edits, else the saved copy, else the course's shipped file.
   */
  async function handInBytes(path) {
    for (const widget of openDocumentsByPath()) {
      const context = widget.context;
      if (context.path.replace(/^[^/:]+:/, '') === path && context.model && context.model.dirty) {
        return { bytes: encoder.encode(JSON.stringify(context.model.toJSON(), null, 1) + '\n'), source: 'editor' };
      }
    }
    const saved = await getSaved(path);
    if (saved && saved.type === 'notebook') {
      return { bytes: modelBytes(saved), source: 'saved' };
    }
    const url = new URL('files/' + path.split('/').map(encodeURIComponent).join('/'), siteRoot());
    const response = await fetch(url.href);
    if (!response.ok) {
      throw new Error(`${path} is neither saved in this browser nor shipped by the course.`);
    }
    return { bytes: new Uint8Array(await response.arrayBuffer()), source: 'course' };
  }

  /** {blob, filename, count}: the hand-in zip of one notebook (its path) or of the whole course (what = "course"). */
  async function buildHandIn({ studentId, name = '', what = HANDIN.whole_course, date = new Date() }) {
    const id = handInId(studentId);
    const one = what.endsWith('.ipynb') ? what : `${what}.ipynb`;
    const paths = what === HANDIN.whole_course ? await courseNotebookPaths() : [one];
    if (!paths.length) {
      throw new Error('No course notebooks found to hand in.');
    }
    const label = what === HANDIN.whole_course ? what : paths[0].replace(/\.ipynb$/, '');
    const manifest = {
      tinygpt_handin: HANDIN.version, student_id: id, student_name: String(name).trim(),
      handed_in: date.toISOString().replace(/\.\d+Z$/, 'Z'), what: label, by: 'site', site: siteRoot().href,
      notebooks: {},
    };
    const files = [];
    for (const path of paths) {
      const { bytes, source } = await handInBytes(path);
      let meta = {};
      try {
        meta = (JSON.parse(new TextDecoder().decode(bytes)).metadata || {}).tinygpt || {};
      } catch (err) {
        throw new Error(`${path} is not a readable notebook (${err.message}); restore it from a backup first.`);
      }
      manifest.notebooks[path] = {
        size: bytes.length, sha256: await sha256(bytes), course_version: meta.course_version || null,
        release: meta.release || null, from: source,
      };
      files.push({ name: path, bytes, date });
    }
    files.push({ name: HANDIN.manifest, bytes: encoder.encode(JSON.stringify(manifest, null, 1)), date });
    return { blob: zipBlob(writeZip(files)), filename: handInName(id, label, date), count: paths.length };
  }

  /** Download the hand-in zip; nothing of the student's is written. Returns {filename, count}. */
  async function handIn(options) {
    const { blob, filename, count } = await buildHandIn(options);
    downloadBlob(blob, filename);
    localStorage.setItem(LS + 'last-handin', JSON.stringify({ filename, at: new Date().toISOString() }));
    return { filename, count };
  }

  /** A path for a backup copy of `path` that is free in `taken` (a Set of keys). */
  function backupPath(path, taken) {
    const slash = path.lastIndexOf('/');
    const dir = path.slice(0, slash + 1);
    const name = path.slice(slash + 1);
    const ext = extname(name);
    const stem = ext ? name.slice(0, -ext.length) : name;
    let candidate = `${dir}${stem}${FORMAT.backup_infix}${stamp()}${ext}`;
    for (let n = 2; taken.has(candidate); n++) {
      candidate = `${dir}${stem}${FORMAT.backup_infix}${stamp()}-${n}${ext}`;
    }
    taken.add(candidate);
    return candidate;
  }

  function copyModel(model, path) {
    return Object.assign({}, model, { path, name: path.split('/').pop() });
  }

  /**
   * Plan a restore of an opened zip (SPEC.openWorkZip): which files are new, which replace a
   * different saved copy, which are already identical. Returns {puts, replaced, added, unchanged}.
   */
  async function planImport(work) {
    const config = await siteConfig();
    const saved = new Map((await allSaved()).map((item) => [item.key, item.model]));
    const taken = new Set(saved.keys());
    const puts = {};
    const replaced = [];
    const added = [];
    const unchanged = [];
    const folders = new Set(work.folders);
    const refuse = (why) => {
      throw new Error(`The zip holds ${why}. Nothing was changed.`);
    };
    for (const [path, bytes] of work.files) {
      const meta = work.listed[path] || { last_modified: new Date().toISOString() };
      if (meta.type === 'directory') {
        folders.add(path);
        continue;
      }
      const current = saved.get(path);
      if (current && current.type === 'directory') {
        refuse(`the file "${path}", but this browser has a folder of that name`);
      }
      const model = bytesToModel(path, bytes, meta, config.fileTypes);
      if (current && sameBytes(modelBytes(current), modelBytes(model))) {
        unchanged.push(path);
        continue;
      }
      if (current && !(await isPristine(path, current))) {
        const backup = backupPath(path, taken);
        puts[backup] = copyModel(current, backup);
        replaced.push({ path, backup });
      } else if (current) {
        replaced.push({ path, backup: null }); // an untouched course notebook: nothing to keep
      } else {
        added.push(path);
      }
      puts[path] = model;
    }
    for (const folder of folders) {
      const current = saved.get(folder);
      if (current && current.type !== 'directory') {
        refuse(`"${folder}" as a folder, but this browser has a file of that name`);
      }
      if (!current && !puts[folder]) {
        puts[folder] = directoryModel(folder, work.listed[folder]);
      }
    }
    return { puts, replaced, added, unchanged };
  }

  async function importWork(file) {
    const work = await openWorkZip(await file.arrayBuffer());
    await saveOpenDocuments(Array.from(work.files.keys()));
    const plan = await planImport(work);
    const total = plan.added.length + plan.replaced.length;
    if (total === 0) {
      window.alert(`Nothing to restore: all ${plan.unchanged.length} files in ${file.name} are already here, unchanged.`);
      return plan;
    }
    const list = (paths) => paths.slice(0, 8).join(', ') + (paths.length > 8 ? ` and ${paths.length - 8} more` : '');
    let message = `Restore ${total} file(s) from ${file.name}?\n\n`;
    if (plan.added.length) {
      message += `New: ${list(plan.added)}\n`;
    }
    if (plan.replaced.length) {
      message += `Replaced (your current copy is kept as a .backup file): ${list(plan.replaced.map((r) => r.path))}\n`;
    }
    if (plan.unchanged.length) {
      message += `Already identical: ${plan.unchanged.length}\n`;
    }
    if (!window.confirm(message)) {
      return null;
    }
    await writeSaved(plan.puts);
    await afterStorageChange(plan.added.concat(plan.replaced.map((r) => r.path)));
    return plan;
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

  /** Put the shipped notebook back: keep their copy as a backup, then drop the saved copy. */
  async function resetNotebook(path) {
    await saveOpenDocuments([path]);
    const current = await getSaved(path);
    if (!current) {
      window.alert(`${path} is already the course's version (you have not saved changes to it).`);
      return null;
    }
    if (!(await shippedNotebook(path))) {
      throw new Error(`The course does not ship ${path}, so there is no version to reset it to.`);
    }
    const ok = window.confirm(
      `Reset ${path} to the course's version?\n\nYour current copy will be kept as a .backup file next to it.`,
    );
    if (!ok) {
      return null;
    }
    if (await isPristine(path, current)) {
      await writeSaved({}, [path]); // nothing of theirs in it: no backup clutter
      await afterStorageChange([path]);
      return { backup: null };
    }
    const taken = new Set((await allSaved()).map((item) => item.key));
    const backup = backupPath(path, taken);
    await writeSaved({ [backup]: copyModel(current, backup) }, [path]);
    await afterStorageChange([path]);
    return { backup };
  }

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

  // ---------------------------------------------------------------- persistence & reminders

  const storageState = { persisted: null, supported: !!(navigator.storage && navigator.storage.persist) };

  async function askPersistence() {
    if (!storageState.supported) {
      storageState.persisted = false;
      return;
    }
    storageState.persisted = await navigator.storage.persisted();
    // Firefox asks the user each time: ask at most once a week when it was refused.
    const lastAsked = Number(localStorage.getItem(LS + 'persist-asked') || 0);
    if (!storageState.persisted && Date.now() - lastAsked > 7 * 864e5) {
      localStorage.setItem(LS + 'persist-asked', String(Date.now()));
      try {
        storageState.persisted = await navigator.storage.persist();
      } catch (err) {
        storageState.persisted = false;
      }
    }
  }

  function storageNote() {
    if (storageState.persisted === null) {
      return 'Checking whether this browser keeps your work…';
    }
    if (storageState.persisted) {
      return 'Storage: kept. This browser agreed not to clear this site\u2019s files on its own. Downloading your work now and then still protects it from a lost or reset device.';
    }
    return 'Storage: may be cleared. This browser did not promise to keep this site\u2019s files (it may delete them when space runs low, after some weeks without a visit, or at the end of a private window). Download your work regularly.';
  }

  function daysSince(iso) {
    return iso ? (Date.now() - Date.parse(iso)) / 864e5 : Infinity;
  }

  /** The reminder text when a download is due, else null. */
  function reminderText(hasWork) {
    const last = localStorage.getItem(LS + 'last-export');
    if (!hasWork) {
      return null;
    }
    if (!last) {
      // Count from the first time we saw saved work, so a new student is not nagged at once.
      let first = localStorage.getItem(LS + 'first-work');
      if (!first) {
        first = new Date().toISOString();
        localStorage.setItem(LS + 'first-work', first);
      }
      return daysSince(first) > REMIND_AFTER_DAYS
        ? 'You have never downloaded a copy of your work. Download it now so it cannot be lost.'
        : null;
    }
    const days = daysSince(last);
    return days > REMIND_AFTER_DAYS
      ? `Your last download of your work was ${Math.floor(days)} days ago. Download a fresh copy.`
      : null;
  }

  function whenText(iso) {
    if (!iso) {
      return 'never';
    }
    const days = daysSince(iso);
    if (days < 1) {
      return 'today';
    }
    return days < 2 ? 'yesterday' : `${Math.floor(days)} days ago`;
  }

  // ---------------------------------------------------------------- UI

  // The button sits in the page's header row (free space between the notebook's name and the
  // kernel logo): at the bottom right it covered the end of the notebook's cells. placeButton()
  // moves it left of whatever the header shows at its right (the kernel logo, a user menu).
  const CSS = `
  #tinygpt-work-button { position: fixed; right: 100px; top: 7px; z-index: 10000;
    font: 13px/1.2 system-ui, sans-serif; padding: 6px 10px; border-radius: 14px;
    border: 1px solid #888; background: #fff; color: #222; cursor: pointer; box-shadow: 0 1px 4px rgba(0,0,0,.2); }
  #tinygpt-work-button.due { border-color: #c62828; background: #fff3f0; }
  #tinygpt-work-button.compact { top: 2px; padding: 3px 10px; font-size: 12px; }
  #tinygpt-work-panel { position: fixed; right: 14px; top: 44px; z-index: 10001; width: 380px;
    max-height: 70vh; overflow: auto; font: 13px/1.4 system-ui, sans-serif; color: #222;
    background: #fff; border: 1px solid #888; border-radius: 6px; padding: 10px 12px;
    box-shadow: 0 2px 10px rgba(0,0,0,.25); }
  #tinygpt-work-panel[hidden], #tinygpt-update-notice[hidden], #tinygpt-work-reminder[hidden] { display: none; }
  #tinygpt-work-panel h2 { font-size: 15px; margin: 0 0 6px; }
  #tinygpt-work-panel button, #tinygpt-update-notice button { font: inherit; margin: 2px 4px 2px 0; cursor: pointer; }
  #tinygpt-work-panel .muted { color: #555; font-size: 12px; }
  #tinygpt-work-panel ul { padding-left: 16px; margin: 4px 0; }
  #tinygpt-work-reminder { color: #b71c1c; font-weight: 600; }
  #tinygpt-handin { border-top: 1px solid #ddd; margin-top: 8px; padding-top: 4px; }
  #tinygpt-handin h3 { font-size: 14px; margin: 4px 0; }
  #tinygpt-handin label { display: block; margin: 3px 0; }
  #tinygpt-handin input, #tinygpt-handin select { font: inherit; width: 220px; }
  #tinygpt-work-toast { position: fixed; right: 14px; top: 44px; z-index: 10000; max-width: 340px;
    font: 13px/1.4 system-ui, sans-serif; color: #222; background: #fff3f0; border: 1px solid #c62828;
    border-radius: 6px; padding: 6px 10px; box-shadow: 0 1px 6px rgba(0,0,0,.2); }
  #tinygpt-work-toast[hidden] { display: none; }
  #tinygpt-work-toast button { font: inherit; margin: 4px 4px 0 0; cursor: pointer; }
  #tinygpt-update-notice { position: fixed; top: 4px; left: 50%; transform: translateX(-50%); z-index: 10002;
    max-width: 720px; font: 13px/1.4 system-ui, sans-serif; color: #222; background: #fff8e1;
    border: 1px solid #f9a825; border-radius: 6px; padding: 6px 10px; box-shadow: 0 1px 6px rgba(0,0,0,.2); }
  `;

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (key.startsWith('on')) {
        node.addEventListener(key.slice(2), value);
      } else {
        node.setAttribute(key, value);
      }
    }
    for (const child of children) {
      node.append(child);
    }
    return node;
  }

  const ui = {};

  function say(text) {
    ui.status.textContent = text;
  }

  /** Run a UI action; any error is shown in the panel, never swallowed. */
  function action(fn) {
    return async () => {
      try {
        await fn();
      } catch (err) {
        console.error('student-work:', err);
        const message = 'Problem: ' + (err && err.message ? err.message : String(err));
        say(message);
        if (ui.panel.hidden) {
          window.alert(message); // the panel's status line is not visible: never fail silently
        }
      }
    };
  }

  function buildUi() {
    document.head.append(el('style', {}, CSS));
    ui.button = el(
      'button',
      { id: 'tinygpt-work-button', type: 'button', title: 'Download, restore or reset your work', 'aria-expanded': 'false', 'aria-controls': 'tinygpt-work-panel' },
      'Your work',
    );
    ui.status = el('div', { id: 'tinygpt-work-status', role: 'status' });
    ui.storage = el('p', { id: 'tinygpt-work-storage', class: 'muted' }, storageNote());
    ui.reminder = el('p', { id: 'tinygpt-work-reminder', hidden: '' });
    ui.lastExport = el('p', { id: 'tinygpt-work-last-export', class: 'muted' });
    ui.fileInput = el('input', { id: 'tinygpt-work-import-file', type: 'file', accept: '.zip,application/zip', hidden: '' });
    ui.notebooks = el('div', { id: 'tinygpt-work-notebooks' });
    ui.panel = el(
      'div',
      { id: 'tinygpt-work-panel', role: 'dialog', 'aria-label': 'Your work', hidden: '' },
      el('h2', { tabindex: '-1' }, 'Your work'),
      ui.storage,
      ui.reminder,
      ui.lastExport,
      el('button', { id: 'tinygpt-work-export', type: 'button', onclick: action(onExport) }, 'Download all my work (.zip)'),
      el('button', { id: 'tinygpt-work-import', type: 'button', onclick: () => ui.fileInput.click() }, 'Restore from a .zip\u2026'),
      ui.fileInput,
      ui.status,
      ui.notebooks,
      buildHandInUi(),
      el(
        'p',
        { class: 'muted' },
        'From a notebook cell: ',
        el('code', {}, 'from tinytorch.course import export_work; export_work()'),
        ' writes my_work.zip to the file list. Training interrupted by a crash or reload? Make the trainer again with the same ',
        el('code', {}, 'checkpoint_dir='),
        ' and call ',
        el('code', {}, 'trainer.resume()'),
        ': it continues from the newest checkpoint (',
        el('code', {}, 'tinytorch.training.find_latest_checkpoint'),
        '). Checkpoints are saved files too, so they are in your download.',
      ),
      el('button', { type: 'button', class: 'tinygpt-close', onclick: () => closePanel() }, 'Close'),
    );
    ui.fileInput.addEventListener(
      'change',
      action(async () => {
        const file = ui.fileInput.files[0];
        ui.fileInput.value = '';
        if (file) {
          const plan = await importWork(file);
          if (plan) {
            say(`Restored ${plan.added.length + plan.replaced.length} file(s); ${plan.replaced.length} replaced (backups kept), ${plan.unchanged.length} already identical.`);
            await refreshPanel();
          }
        }
      }),
    );
    ui.button.addEventListener(
      'click',
      action(async () => {
        if (!ui.panel.hidden) {
          closePanel();
          return;
        }
        ui.panel.hidden = false;
        ui.button.setAttribute('aria-expanded', 'true');
        // The storage note has now been read where it belongs: the button goes back to its short label.
        localStorage.setItem(LS + 'storage-note-seen', new Date().toISOString());
        ui.panel.querySelector('h2').focus();
        await refreshPanel();
      }),
    );
    ui.panel.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        event.stopPropagation(); // JupyterLab would leave edit mode on it too
        closePanel();
      }
    });
    ui.notice = el('div', { id: 'tinygpt-update-notice', role: 'status', hidden: '' });
    ui.toastText = el('span', { id: 'tinygpt-work-toast-text' });
    ui.toast = el(
      'div',
      { id: 'tinygpt-work-toast', role: 'status', hidden: '' },
      ui.toastText,
      el('br'),
      el('button', { type: 'button', onclick: action(onExport) }, 'Download my work now'),
      el('button', { type: 'button', onclick: () => {
        // Quiet for a day; the panel keeps showing the reminder.
        localStorage.setItem(LS + 'toast-snoozed', new Date().toISOString());
        ui.toast.hidden = true;
      } }, 'Later'),
    );
    document.body.append(ui.button, ui.panel, ui.toast, ui.notice);
  }

  /** The panel's "Hand in" section: id, name, what, and the button. */
  function buildHandInUi() {
    const remembered = (key) => localStorage.getItem(LS + key) || '';
    ui.handInId = el('input', {
      id: 'tinygpt-handin-id', type: 'text', autocomplete: 'off', spellcheck: 'false', value: remembered('handin-id'),
    });
    ui.handInName = el('input', {
      id: 'tinygpt-handin-name', type: 'text', autocomplete: 'name', value: remembered('handin-name'),
    });
    const everything = el('option', { value: HANDIN.whole_course }, 'Every course notebook');
    ui.handInWhat = el('select', { id: 'tinygpt-handin-what' }, everything);
    ui.handInWhat.addEventListener('change', () => (ui.handInWhat.dataset.chosen = 'yes'));
    return el(
      'section',
      { id: 'tinygpt-handin', 'aria-label': 'Hand in' },
      el('h3', {}, 'Hand in'),
      el('p', { class: 'muted' }, 'One zip for your course\u2019s grader. Upload it, with its name unchanged, '
        + 'to your course\u2019s hand-in page. Your files are not changed.'),
      el('label', {}, 'Student id ', ui.handInId),
      el('label', {}, 'Your name ', ui.handInName),
      el('label', {}, 'What ', ui.handInWhat),
      el('button', { id: 'tinygpt-handin-button', type: 'button', onclick: action(onHandIn) }, 'Hand in (.zip)'),
    );
  }

  /** Refill the "What" list with the course's notebooks; keep the choice, else pick the open notebook. */
  async function refreshHandIn() {
    const paths = await courseNotebookPaths();
    const chosen = ui.handInWhat.value;
    const options = [el('option', { value: HANDIN.whole_course }, 'Every course notebook')];
    for (const path of paths) {
      options.push(el('option', { value: path.replace(/\.ipynb$/, '') }, path));
    }
    ui.handInWhat.replaceChildren(...options);
    const open = currentNotebookPath();
    const fallback = open && paths.includes(open) ? open.replace(/\.ipynb$/, '') : HANDIN.whole_course;
    const offered = Array.from(ui.handInWhat.options).some((o) => o.value === chosen);
    const keep = ui.handInWhat.dataset.chosen === 'yes' && offered;
    ui.handInWhat.value = keep ? chosen : fallback;
  }

  async function onHandIn() {
    const studentId = ui.handInId.value;
    handInId(studentId); // a clear message before anything else
    localStorage.setItem(LS + 'handin-id', studentId.trim());
    localStorage.setItem(LS + 'handin-name', ui.handInName.value.trim());
    say('Preparing your hand-in zip\u2026');
    const { filename, count } = await handIn({ studentId, name: ui.handInName.value, what: ui.handInWhat.value });
    say(`Downloaded ${filename} (${count} notebook(s)). `
      + 'Upload this file, with this name, to your course\u2019s hand-in page.');
  }

  /**
   * Keep the button in the header's free space: left of every icon or button the header shows in
   * the button's own band at the right (JupyterLab's lab page has a 28 px menu bar: smaller button there).
   */
  function placeButton() {
    const bar = document.getElementById('top-panel') || document.getElementById('jp-top-panel');
    if (!bar || !ui.button) {
      return;
    }
    const barBox = bar.getBoundingClientRect();
    ui.button.classList.toggle('compact', barBox.height > 0 && barBox.height < 36);
    const own = ui.button.getBoundingClientRect();
    const width = document.documentElement.clientWidth || window.innerWidth;
    let left = width;
    const icons = 'img, svg, button, [role="button"], .jp-NotebookKernelLogo, '
      + '.jp-MenuBar-anonymousIcon, .jp-MenuBar-imageIcon';
    for (const node of bar.querySelectorAll(icons)) {
      const box = node.getBoundingClientRect();
      const sameBand = box.top < own.bottom && box.bottom > own.top;
      if (box.width > 0 && sameBand && box.left > width - 320 && node !== ui.button) {
        left = Math.min(left, box.left);
      }
    }
    if (left < width) {
      ui.iconLeft = left;
    } else if (ui.iconLeft !== undefined) {
      left = ui.iconLeft; // an icon redrawn (e.g. the kernel logo on a restart) is briefly 0 wide: stay clear of it
    }
    ui.button.style.right = `${Math.max(14, width - left + 8)}px`;
  }

  /**
   * Re-place the button in the frame the header changes (a kernel logo drawn late or redrawn), not
   * at the next tick. Called every tick until the header exists; watches only the header.
   */
  function watchHeader() {
    const bar = document.getElementById('top-panel') || document.getElementById('jp-top-panel');
    if (!bar || ui.headerWatched === bar) {
      return;
    }
    ui.headerWatched = bar;
    let queued = false;
    const soon = () => {
      if (!queued) {
        queued = true;
        requestAnimationFrame(() => { queued = false; placeButton(); });
      }
    };
    const resized = typeof ResizeObserver === 'function' ? new ResizeObserver(soon) : null;
    const observeIcons = () => {
      for (const node of resized ? bar.querySelectorAll('.jp-NotebookKernelLogo, img, svg') : []) {
        resized.observe(node); // observing a node twice is a no-op
      }
    };
    new MutationObserver(() => { observeIcons(); soon(); })
      .observe(bar, { childList: true, subtree: true, attributes: true });
    observeIcons();
    soon();
  }

  function closePanel() {
    ui.panel.hidden = true;
    ui.button.setAttribute('aria-expanded', 'false');
    ui.button.focus();
    refreshPanel().catch(() => undefined);
  }

  async function onExport() {
    say('Preparing your zip…');
    const count = await exportWork();
    say(`Downloaded ${count} file(s). Keep the zip somewhere safe (not only in this browser).`);
    await refreshPanel();
  }

  /** Redraw the panel: storage note, reminder, and the notebooks the student has changed. */
  async function refreshPanel() {
    const saved = (await allSaved()).filter((item) => item.model.type !== 'directory');
    ui.storage.textContent = storageNote();
    const reminder = reminderText(saved.length > 0);
    ui.reminder.hidden = !reminder;
    ui.reminder.textContent = reminder || '';
    // A browser that may clear the files is said once, on the button itself (it covers
    // nothing: a notice over the notebook hid its cells), until the panel has been opened.
    const storageUnseen = storageState.persisted === false && saved.length > 0 && !localStorage.getItem(LS + 'storage-note-seen');
    ui.button.classList.toggle('due', !!reminder || storageUnseen);
    ui.button.textContent = reminder ? 'Your work \u26a0 back it up' : storageUnseen ? 'Your work \u26a0 storage may be cleared' : 'Your work';
    // A due download is also said beside the button (the panel may never be opened), at most once a day.
    const snoozed = daysSince(localStorage.getItem(LS + 'toast-snoozed')) < 1;
    ui.toast.hidden = !reminder || snoozed || !ui.panel.hidden;
    ui.toastText.textContent = reminder || '';
    ui.lastExport.textContent = `Saved files in this browser: ${saved.length}. Last download: ${whenText(localStorage.getItem(LS + 'last-export'))}.`;
    if (ui.panel.hidden) {
      return;
    }
    await refreshHandIn();
    const notebooks = saved.filter((item) => item.model.type === 'notebook');
    const rows = [];
    for (const { key, model } of notebooks) {
      const shipped = await shippedNotebook(key);
      if (!shipped) {
        continue; // the student's own notebook: nothing to reset to
      }
      const update = await updateFor(key, model);
      const row = el('li', { 'data-path': key }, key + ' ');
      if (update) {
        row.append(
          el('em', {}, '(new course version) '),
          el('button', { type: 'button', class: 'tinygpt-open-alongside', onclick: action(() => openAlongside(update)) }, 'Open new version'),
        );
      }
      row.append(
        el(
          'button',
          {
            type: 'button',
            class: 'tinygpt-reset',
            onclick: action(async () => {
              const done = await resetNotebook(key);
              if (done) {
                say(`${key} is back to the course version` + (done.backup ? `; your copy is ${done.backup}.` : ' (you had not changed it).'));
                await refreshPanel();
              }
            }),
          },
          'Reset\u2026',
        ),
      );
      rows.push(row);
    }
    ui.notebooks.replaceChildren();
    if (rows.length) {
      ui.notebooks.append(el('p', {}, 'Course notebooks you changed:'), el('ul', {}, ...rows));
    }
  }

  // The notice inside the notebook view, for the notebook currently shown.
  let noticeKey = null;

  async function refreshNotice() {
    const path = currentNotebookPath();
    const update = path ? await updateFor(path, await getSaved(path)) : null;
    const key = update ? `${update.path}@${update.shippedVersion}` : null;
    const dismissed = key && localStorage.getItem(LS + 'dismissed:' + key);
    if (!update || dismissed) {
      ui.notice.hidden = true;
      noticeKey = null;
      return;
    }
    if (key === noticeKey && !ui.notice.hidden) {
      return;
    }
    noticeKey = key;
    ui.notice.replaceChildren(
      el('strong', {}, 'The course published a new version of this notebook. '),
      `Your copy (${update.savedVersion ? 'v' + update.savedVersion : 'older version'}) and your answers stay as they are. `,
      el('button', { id: 'tinygpt-open-alongside', type: 'button', onclick: action(async () => {
        const target = await openAlongside(update);
        ui.notice.replaceChildren(`Opened ${target}. Copy what you need from it; your notebook was not changed.`);
      }) }, `Open the new version (v${update.shippedVersion}) alongside`),
      el('button', { type: 'button', onclick: () => {
        localStorage.setItem(LS + 'dismissed:' + key, new Date().toISOString());
        ui.notice.hidden = true;
      } }, 'Not now'),
    );
    ui.notice.hidden = false;
  }

  async function main() {
    buildUi();
    await askPersistence().catch((err) => console.warn('student-work: persist()', err));
    await refreshPanel();
    // The notebook shown changes as the student opens tabs; checking is one small read.
    placeButton();
    window.addEventListener('resize', placeButton);
    const tick = () => {
      watchHeader(); // the header is drawn after this script runs
      placeButton();
      refreshNotice().catch((err) => console.warn('student-work:', err));
    };
    tick();
    setInterval(tick, 2000);
    setInterval(() => refreshPanel().catch(() => undefined), 60000);
  }

  // A small API for a notebook cell's Javascript output and for tests.
  window.tinygptWork = {
    exportWork, buildExport, handIn, buildHandIn, handInName, importWork, resetNotebook, openAlongside,
    openWorkZip, writeZip, allSaved, storageState,
  };

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', () => main());
  } else {
    main();
  }
})();
