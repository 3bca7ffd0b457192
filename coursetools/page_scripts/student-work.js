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
 *      notebook they have saved, and offers to open it alongside without touching theirs,
 *   6. hands in the course's notebooks as one zip for the course's grader.
 *
 * This file is the button, the panel, the update notice, main() and window.tinygptWork; the jobs
 * behind them are in student-work-*.js, loaded before it (window.tinygptWorkParts; the load order
 * and what each file provides are in student-work-store.js).
 * Needs: .store (LS, allSaved, getSaved); .sync (currentNotebookPath, shippedNotebook, updateFor,
 *   openAlongside); .transfer (HANDIN, exportWork, buildExport, handInId, handInName,
 *   courseNotebookPaths, buildHandIn, handIn, importWork, resetNotebook, openWorkZip, writeZip);
 *   .ui (storageState, askPersistence, storageNote, daysSince, reminderText, whenText, CSS, el, ui,
 *   say, action, placeButton, watchHeader).
 */
(function () {
  'use strict';
  if (window.__tinygptStudentWork) {
    return; // injected twice: run once
  }
  window.__tinygptStudentWork = true;

  const parts = window.tinygptWorkParts || {};
  for (const needed of ['store', 'sync', 'transfer', 'ui']) {
    if (!parts[needed]) {
      throw new Error(`student-work.js: student-work-${needed}.js did not load first; `
        + 'build with `python -m coursetools build`.');
    }
  }
  const { LS, allSaved, getSaved } = parts.store;
  const { currentNotebookPath, shippedNotebook, updateFor, openAlongside } = parts.sync;
  const {
    HANDIN, exportWork, buildExport, handInId, handInName, courseNotebookPaths, buildHandIn, handIn, importWork,
    resetNotebook, openWorkZip, writeZip,
  } = parts.transfer;
  const {
    storageState, askPersistence, storageNote, daysSince, reminderText, whenText, CSS, el, ui, say, action, placeButton,
    watchHeader,
  } = parts.ui;

  // ---------------------------------------------------------------- the button and the panel

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
