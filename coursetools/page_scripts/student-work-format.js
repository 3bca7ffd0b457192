/*
 * student-work-format.js: the student-work zip format's rules, for the page and for Node.
 *
 * What a zip of the student's work holds and which zips a restore refuses: the same rules as
 * tinytorch/course/work.py (export_work, import_work), with the numbers and names from
 * work_format.json (inlined by the site build). Both sides are proven by the same test vectors
 * (tests/course/work_vectors.py). No DOM, no storage: bytes in, files or an Error out.
 *
 * On the page it is window.tinygptWorkFormat, used by student-work-transfer.js (the build loads the
 * page scripts in name order, and "student-work-format.js" sorts before the other student-work*.js).
 * In Node: require('.../student-work-format.js').create(format, fflate).
 */
(function (root) {
  'use strict';

  /** The format's functions for `FORMAT` (work_format.json) and `getZip()` (returns fflate). */
  function create(FORMAT, getZip) {
    const encoder = new TextEncoder();
    const LIMITS = FORMAT.limits;
    const DONE = ' Nothing was changed.';

    function refuse(why) {
      throw new Error(`${why}.${DONE}`);
    }

    function zipLibrary() {
      const zip = getZip();
      if (!zip) {
        throw new Error('The zip library (fflate.js) did not load; reload the page (online once) and try again.');
      }
      return zip;
    }

    /** Hex SHA-256 of bytes, or null where there is no digest (a page not served over https). */
    async function sha256(bytes) {
      const subtle = root.crypto && root.crypto.subtle;
      if (!subtle) {
        return null;
      }
      const digest = new Uint8Array(await subtle.digest('SHA-256', bytes));
      return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
    }

    // fflate checks no CRC-32: the page checks each unpacked entry against its directory's, as
    // Python's zipfile does, so a zip damaged inside an entry is refused even without a manifest.
    const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
      let c = n;
      for (let k = 0; k < 8; k++) {
        c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      }
      return c >>> 0;
    });

    function crc32(bytes) {
      let c = 0xffffffff;
      for (let i = 0; i < bytes.length; i++) {
        c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
      }
      return (c ^ 0xffffffff) >>> 0;
    }

    /**
     * [{crc, flags}] of the central directory's entries in order: the two fields fflate does not
     * report (the CRC-32 above; flag bit 0 = encrypted). Null when the directory cannot be found.
     */
    function directoryExtras(bytes) {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      let end = bytes.length - 22;
      while (end >= 0 && view.getUint32(end, true) !== 0x06054b50) {
        end--;
      }
      if (end < 0) {
        return null;
      }
      let count = view.getUint16(end + 10, true);
      let offset = view.getUint32(end + 16, true);
      if ((count === 0xffff || offset === 0xffffffff) && end >= 20 && view.getUint32(end - 20, true) === 0x07064b50) {
        const zip64End = Number(view.getBigUint64(end - 12, true)); // ZIP64: the real numbers are there
        count = Number(view.getBigUint64(zip64End + 32, true));
        offset = Number(view.getBigUint64(zip64End + 48, true));
      }
      const extras = [];
      for (let i = 0; i < count; i++) {
        if (offset + 46 > bytes.length || view.getUint32(offset, true) !== 0x02014b50) {
          return null;
        }
        extras.push({ flags: view.getUint16(offset + 8, true), crc: view.getUint32(offset + 16, true) });
        offset += 46 + view.getUint16(offset + 28, true) + view.getUint16(offset + 30, true)
          + view.getUint16(offset + 32, true);
      }
      return extras;
    }

    /** A name's path parts, '\' read as '/', empty and '.' parts dropped. */
    function nameParts(name) {
      return name.replace(/\\/g, '/').split('/').filter((part) => part !== '' && part !== '.');
    }

    /** The key two names clash on: case folded ("Notes.txt" = "notes.txt", "STRASSE" = "straße"). */
    function foldKey(path) {
      return path.toUpperCase().toLowerCase();
    }

    /**
     * The relative path a zip entry restores to; null for the manifest and zip tools' metadata.
     * Throws for an unsafe name: absolute, with '..', or a drive or scheme ("C:", "x:") first.
     */
    function cleanZipPath(name) {
      const path = name.replace(/\\/g, '/');
      const parts = nameParts(path);
      if (path.startsWith('/') || parts.includes('..') || (parts.length && parts[0].includes(':'))) {
        throw new Error(`The zip holds an unsafe path "${name}"; paths must be relative with no "..".${DONE}`);
      }
      const last = parts[parts.length - 1];
      if (!parts.length || parts.some((part) => FORMAT.skipped_dirs.includes(part))
        || FORMAT.skipped_files.includes(last) || last === FORMAT.manifest) {
        return null;
      }
      return parts.join('/');
    }

    function shorten(name) {
      return name.length > 80 ? name.slice(0, 60) + '...' + name.slice(-17) : name;
    }

    /**
     * Refuse, from the zip's directory and before anything is unpacked, what must not be unpacked:
     * more entries, unpacked bytes, longer names or deeper folders than FORMAT.limits allow, an
     * entry neither stored nor deflated, or an encrypted one. fflate unpacks each entry into a
     * buffer of the size the directory declares, so these bound the memory it takes.
     */
    function checkDirectory(infos) {
      if (infos.length > LIMITS.entries) {
        refuse(`The zip holds ${infos.length} entries, more than the limit of ${LIMITS.entries}`);
      }
      const total = infos.reduce((sum, info) => sum + info.originalSize, 0);
      if (total > LIMITS.total_bytes) {
        refuse(`The zip would unpack to ${total} bytes, more than the limit of ${LIMITS.total_bytes}`);
      }
      for (const info of infos) {
        const parts = nameParts(info.name);
        const shown = shorten(info.name);
        const chars = Array.from(info.name).length; // code points, as Python counts them
        if (chars > LIMITS.path_chars) {
          refuse(`The zip holds "${shown}", a path of ${chars} characters, `
            + `more than the limit of ${LIMITS.path_chars}`);
        }
        if (parts.length > LIMITS.depth) {
          refuse(`The zip holds "${shown}", ${parts.length} folders deep, more than the limit of ${LIMITS.depth}`);
        }
        if (parts.some((part) => encoder.encode(part).length > LIMITS.name_bytes)) {
          refuse(`The zip holds "${shown}", with a name longer than the limit of ${LIMITS.name_bytes} bytes`);
        }
        if (info.encrypted) {
          refuse(`The zip holds "${shown}" encrypted; make the zip again without a password`);
        }
        if (info.compression !== 0 && info.compression !== 8) {
          refuse(`The zip holds "${shown}" packed with compression method ${info.compression}; `
            + 're-zip it with normal (deflate) compression');
        }
      }
    }

    /**
     * {files: Map(path -> entry), folders: Set}: where each entry goes, after refusing a manifest
     * or a path twice (case folded) and a path that is both a file and a folder of other files.
     */
    function planEntries(infos) {
      const files = new Map();
      const folders = new Set();
      const seen = new Map();
      let manifests = 0;
      for (const info of infos) {
        manifests += info.name === FORMAT.manifest ? 1 : 0;
        const path = cleanZipPath(info.name);
        if (path === null) {
          continue;
        }
        if (info.name.endsWith('/')) {
          folders.add(path);
          continue;
        }
        const key = foldKey(path);
        if (seen.has(key)) {
          refuse(`The zip holds "${path}" twice (as "${seen.get(key)}" and "${info.name}"): `
            + 'which copy is yours cannot be told');
        }
        seen.set(key, info.name);
        files.set(path, info);
      }
      if (manifests > 1) {
        refuse(`The zip holds its ${FORMAT.manifest} twice`);
      }
      for (const path of files.keys()) {
        const parts = path.split('/');
        for (let i = 1; i < parts.length; i++) {
          folders.add(parts.slice(0, i).join('/'));
        }
      }
      const clash = Array.from(folders).sort().find((folder) => files.has(folder));
      if (clash) {
        refuse(`The zip holds "${clash}" both as a file and as a folder of other files`);
      }
      return { files, folders };
    }

    /** One entry's bytes, checked against the size and CRC-32 its directory declares. */
    function unpack(bytes, info) {
      let data;
      try {
        data = zipLibrary().unzipSync(bytes, { filter: (f) => f.name === info.name })[info.name];
      } catch (err) {
        throw new Error(`The zip is damaged: ${info.name} cannot be read (${err.message}).${DONE}`);
      }
      if (!data || data.length !== info.originalSize) {
        refuse(`The zip is damaged: ${info.name} does not unpack to the ${info.originalSize} bytes `
          + 'its directory declares');
      }
      if (info.crc !== undefined && crc32(data) !== info.crc) {
        refuse(`The zip is damaged: ${info.name} does not match its CRC-32 (its bytes were changed)`);
      }
      return data;
    }

    /** The manifest's {path: meta}, checked to be what an export writes; null for a zip without one. */
    function manifestFiles(text) {
      if (text === null) {
        return null;
      }
      let manifest;
      try {
        manifest = JSON.parse(text);
      } catch (err) {
        refuse(`The zip is damaged: its ${FORMAT.manifest} cannot be read`);
      }
      const mapping = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);
      const kind = (value) => (value === null ? 'null' : Array.isArray(value) ? 'list' : typeof value);
      const files = mapping(manifest) ? manifest.files : undefined;
      let wrong = null;
      if (!mapping(manifest)) {
        wrong = `it is a ${kind(manifest)}, not a mapping`;
      } else if (!mapping(files)) {
        wrong = files === undefined ? "'files' is missing" : `'files' is a ${kind(files)}, not a mapping of paths`;
      } else {
        for (const [name, meta] of Object.entries(files)) {
          if (!mapping(meta)) {
            wrong = `the entry for "${name}" is a ${kind(meta)}, not a mapping`;
          } else if ('size' in meta && !(Number.isInteger(meta.size) && meta.size >= 0)) {
            wrong = `the size of "${name}" is ${JSON.stringify(meta.size)}, not a byte count`;
          } else if ('sha256' in meta && !(typeof meta.sha256 === 'string' && meta.sha256.length === 64)) {
            wrong = `the sha256 of "${name}" is ${JSON.stringify(meta.sha256)}, not 64 hex digits`;
          } else if ('type' in meta && typeof meta.type !== 'string') {
            wrong = `the type of "${name}" is ${JSON.stringify(meta.type)}, not a string`;
          }
          if (wrong) {
            break;
          }
        }
      }
      if (wrong) {
        refuse(`The zip is damaged: its ${FORMAT.manifest} is not what an export writes (${wrong})`);
      }
      return files;
    }

    /** The unpacked files against the manifest: each listed one there with its size and sha256, none unlisted. */
    async function verify(files, listed) {
      if (listed === null) {
        return;
      }
      for (const [name, meta] of Object.entries(listed)) {
        if (meta.type === 'directory' || cleanZipPath(name) === null) {
          continue;
        }
        const data = files.get(name);
        if (!data) {
          refuse(`The zip is incomplete: ${name} is listed in it but missing (an export or download cut short?)`);
        }
        const sum = meta.sha256 ? await sha256(data) : null;
        if (('size' in meta && meta.size !== data.length) || (sum && sum !== meta.sha256)) {
          refuse(`The zip is damaged: ${name} does not match the checksum recorded at export`);
        }
      }
      const unlisted = Array.from(files.keys()).sort().find((path) => !Object.hasOwn(listed, path));
      if (unlisted) {
        refuse(`The zip holds ${unlisted}, which its ${FORMAT.manifest} does not list (was the zip changed after `
          + `the export?). To restore it anyway, delete ${FORMAT.manifest} from the zip`);
      }
    }

    /**
     * Open a zip of the student's work: {files: Map(path -> bytes), folders: Set(path),
     * listed: {path: meta} (the manifest's, {} without one)}. Throws an Error saying what is wrong
     * (and that nothing was changed) for any zip tinytorch.course.work.import_work refuses.
     */
    async function openWorkZip(buffer) {
      const bytes = new Uint8Array(buffer);
      const infos = [];
      let extras = null;
      try {
        zipLibrary().unzipSync(bytes, { filter: (info) => (infos.push(info), false) });
        extras = directoryExtras(bytes);
      } catch (err) {
        refuse(`This file is not a zip file, or it is cut short (${err.message})`);
      }
      if (!extras || extras.length !== infos.length) {
        refuse('This file is not a zip file, or it is cut short (its directory cannot be read)');
      }
      infos.forEach((info, i) => Object.assign(info, { crc: extras[i].crc, encrypted: (extras[i].flags & 1) === 1 }));
      checkDirectory(infos);
      const manifestInfo = infos.find((info) => info.name === FORMAT.manifest);
      const { files: entries, folders } = planEntries(infos);
      const listed = manifestFiles(manifestInfo ? new TextDecoder().decode(unpack(bytes, manifestInfo)) : null);
      const files = new Map();
      for (const [path, info] of entries) {
        files.set(path, unpack(bytes, info));
      }
      await verify(files, listed);
      return { files, folders, listed: listed || {} };
    }

    /** A zip (Uint8Array) of [{name, bytes, date}] (deflated, UTF-8 names); names ending in "/" are folders. */
    function writeZip(files) {
      const entries = {};
      for (const file of files) {
        const date = file.date && file.date.getFullYear() >= 1980 ? file.date : new Date(1980, 0, 1);
        entries[file.name] = [file.bytes || new Uint8Array(0), { mtime: date, level: file.name.endsWith('/') ? 0 : 6 }];
      }
      return zipLibrary().zipSync(entries);
    }

    /**
     * An export of [{path, type, bytes, meta}] (type "directory" for a folder, whose bytes are
     * ignored; meta: more to record per file, e.g. format, last_modified): the zip (Uint8Array),
     * with the manifest listing each file's type, size and sha256.
     */
    async function buildWorkZip(items, about = {}) {
      const manifest = Object.assign({ tinygpt_work: FORMAT.version, exported: new Date().toISOString() }, about,
        { files: {} });
      const entries = [];
      for (const { path, type, bytes, meta } of items) {
        const record = Object.assign({ type }, meta || {});
        manifest.files[path] = record;
        const date = new Date((meta && meta.last_modified) || Date.now());
        if (type === 'directory') {
          entries.push({ name: path + '/', bytes: new Uint8Array(0), date });
          continue;
        }
        record.size = bytes.length;
        const sum = await sha256(bytes);
        if (sum) {
          record.sha256 = sum;
        }
        entries.push({ name: path, bytes, date });
      }
      const listing = encoder.encode(JSON.stringify(manifest, null, 1));
      entries.push({ name: FORMAT.manifest, bytes: listing, date: new Date() });
      return writeZip(entries);
    }

    /** False for a path JupyterLite never stores but a student's upload could be (tool folders). */
    function isExportable(path) {
      return !path.split('/').some((part) => FORMAT.skipped_dirs.includes(part));
    }

    return { FORMAT, sha256, cleanZipPath, openWorkZip, buildWorkZip, writeZip, isExportable };
  }

  const inlined = /* WORK_FORMAT */ null;
  if (typeof module === 'object' && module.exports) {
    module.exports = { create };
  } else {
    if (!inlined) {
      throw new Error('student-work-format.js: the site build did not inline work_format.json; '
        + 'build with `python -m coursetools build`.');
    }
    root.tinygptWorkFormat = create(inlined, () => root.fflate);
  }
})(typeof window !== 'undefined' ? window : globalThis);
