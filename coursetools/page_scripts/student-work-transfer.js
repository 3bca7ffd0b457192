/*
 * student-work-transfer.js: the student's work in and out of the browser as zips, for the "Your
 * work" button (student-work.js): export (every saved file), hand-in (for the course's grader),
 * import (restore a zip), reset (one notebook back to the course's version). Nothing is lost: a
 * restore or a reset keeps the student's current copy as a .backup file first.
 *
 * What a zip of the work holds and which zips a restore refuses is student-work-format.js's
 * (window.tinygptWorkFormat, the same rules as tinytorch/course/work.py, proven by the same vectors).
 *
 * Shares window.tinygptWorkParts (the load order is in student-work-store.js).
 * Provides (.transfer): HANDIN, exportWork, buildExport, handInId, handInName, courseNotebookPaths,
 *   buildHandIn, handIn, importWork, resetNotebook, openWorkZip, writeZip.
 * Needs: window.tinygptWorkFormat; .store (LS, encoder, siteRoot, siteConfig, allSaved, getSaved,
 *   writeSaved, modelBytes, notebookContent, extname, bytesToModel, directoryModel, sameBytes);
 *   .sync (openDocumentsByPath, saveOpenDocuments, afterStorageChange, shippedNotebook, courseVersion).
 */
(function () {
  'use strict';
  const parts = window.tinygptWorkParts || {};
  for (const needed of ['store', 'sync']) {
    if (!parts[needed]) {
      throw new Error(`student-work-transfer.js: student-work-${needed}.js did not load first; `
        + 'build with `python -m coursetools build`.');
    }
  }
  if (parts.transfer) {
    return; // injected twice: run once
  }
  // The zip format shared with tinytorch/course/work.py (work_format.json, inlined by the site build)
  // and its rules: student-work-format.js, loaded before this script.
  const SPEC = window.tinygptWorkFormat;
  if (!SPEC) {
    throw new Error('student-work-transfer.js: student-work-format.js did not load first; '
      + 'build with `python -m coursetools build`.');
  }
  const FORMAT = SPEC.FORMAT;
  const {
    LS, encoder, siteRoot, siteConfig, allSaved, getSaved, writeSaved, modelBytes, notebookContent, extname,
    bytesToModel, directoryModel, sameBytes,
  } = parts.store;
  const { openDocumentsByPath, saveOpenDocuments, afterStorageChange, shippedNotebook, courseVersion } = parts.sync;

  // ---------------------------------------------------------------- zip (the shared format)

  const { sha256, cleanZipPath, openWorkZip, buildWorkZip, writeZip, isExportable } = SPEC;

  // ---------------------------------------------------------------- export

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

  // ---------------------------------------------------------------- restore and reset (backups kept)

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

  parts.transfer = {
    HANDIN, exportWork, buildExport, handInId, handInName, courseNotebookPaths, buildHandIn, handIn, importWork,
    resetNotebook, openWorkZip, writeZip,
  };
})();
