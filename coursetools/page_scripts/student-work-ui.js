/*
 * student-work-ui.js: the pieces the "Your work" button and panel (student-work.js) are built
 * from: whether this browser keeps the site's storage (navigator.storage.persist()) and when a
 * download is due, the styles, a small element builder, the status line and error reporting, and
 * the button's place in the page's header.
 *
 * Shares window.tinygptWorkParts (the load order is in student-work-store.js).
 * Provides (.ui): storageState, askPersistence, storageNote, daysSince, reminderText, whenText, CSS,
 *   el, ui (the panel's elements, filled in by student-work.js), say, action, placeButton, watchHeader.
 * Needs (.store): LS.
 */
(function () {
  'use strict';
  const parts = window.tinygptWorkParts || {};
  if (!parts.store) {
    throw new Error('student-work-ui.js: student-work-store.js did not load first; '
      + 'build with `python -m coursetools build`.');
  }
  if (parts.ui) {
    return; // injected twice: run once
  }
  const REMIND_AFTER_DAYS = 3;
  const { LS } = parts.store;

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

  // ---------------------------------------------------------------- styles, elements, status line, the button's place

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

  parts.ui = {
    storageState, askPersistence, storageNote, daysSince, reminderText, whenText, CSS, el, ui, say, action, placeButton,
    watchHeader,
  };
})();
