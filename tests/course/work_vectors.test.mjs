// The student-work zip format's vectors (work_vectors.py) against the page's side of it:
// coursetools/page_scripts/student-work-format.js with fflate, in Node, no browser.
//   WORK_VECTORS=<folder written by work_vectors.py> node --test tests/course/work_vectors.test.mjs
// WORK_VECTORS_OUT=<folder>: also write the page's export of the vectors' work there, for Python to restore.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';

const require = createRequire(import.meta.url);
const REPO = new URL('../../', import.meta.url).pathname;
const fflate = require(join(REPO, 'node_modules', 'fflate'));
const format = JSON.parse(readFileSync(join(REPO, 'tinytorch', 'course', 'work_format.json'), 'utf-8'));
const spec = require(join(REPO, 'coursetools', 'page_scripts', 'student-work-format.js')).create(format, () => fflate);

const folder = process.env.WORK_VECTORS;
assert.ok(folder, 'set WORK_VECTORS to a folder written by tests/course/work_vectors.py');
const { cases, export: work } = JSON.parse(readFileSync(join(folder, 'cases.json'), 'utf-8'));
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

for (const [name, { zip, expect }] of Object.entries(cases)) {
  test(name, async () => {
    const bytes = readFileSync(join(folder, zip));
    if (expect.refused) {
      await assert.rejects(spec.openWorkZip(bytes), (err) => {
        assert.ok(err.message.includes(expect.refused), `"${expect.refused}" not in: ${err.message}`);
        assert.ok(err.message.endsWith('Nothing was changed.'), err.message);
        return true;
      });
      return;
    }
    const opened = await spec.openWorkZip(bytes);
    const got = Object.fromEntries(Array.from(opened.files, ([path, data]) => [path, sha256(data)]));
    assert.deepEqual(got, expect.files);
  });
}

test('an export lists each file with its type, size and sha256, and restores to the same files', async () => {
  const items = Object.entries(work.files).map(([path, b64]) => ({
    path, type: path.endsWith('.ipynb') ? 'notebook' : 'file', bytes: new Uint8Array(Buffer.from(b64, 'base64')),
  }));
  const zip = await spec.buildWorkZip(items, { by: 'work_vectors.test.mjs' });
  const manifest = JSON.parse(new TextDecoder().decode(fflate.unzipSync(zip)[format.manifest]));
  assert.equal(manifest.tinygpt_work, format.version);
  const listed = Object.fromEntries(Object.entries(manifest.files)
    .map(([path, meta]) => [path, { type: meta.type, size: meta.size, sha256: meta.sha256 }]));
  assert.deepEqual(listed, work.listing);
  const opened = await spec.openWorkZip(zip);
  assert.deepEqual(Object.fromEntries(Array.from(opened.files, ([p, d]) => [p, sha256(d)])),
    Object.fromEntries(Object.entries(work.listing).map(([p, meta]) => [p, meta.sha256])));
  if (process.env.WORK_VECTORS_OUT) {
    writeFileSync(join(process.env.WORK_VECTORS_OUT, 'page_export.zip'), zip);
  }
});
