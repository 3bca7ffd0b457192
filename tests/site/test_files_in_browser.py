"""tinytorch.files.atomic_write on the student's real browser storage: JupyterLite's /drive in
the Pyodide kernel (DriveFS over the contents API, stored in IndexedDB). It protects the claim
its docstring makes: a rename onto an existing file works there, the stored file holds the new
bytes, with the media type of its own name, and no temporary file is left in the file list.

Runs files.py's source as a file the student uploaded (it needs only the standard library), so
no numpy is needed in Pyodide.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from _notebook_driver import run_code
from test_student_work import REPO, Student, browser, redeployable, site  # noqa: F401  (fixtures)

CODE = """
import os, files_probe as f
open('raw.txt', 'w').write('a'); open('raw2.txt', 'w').write('b')
os.replace('raw2.txt', 'raw.txt')
f.atomic_write('probe.json', '{"v": 1}')
f.atomic_write('probe.json', '{"v": 2}')
f.atomic_write('sub/probe.bin', bytes(range(256)))
f.atomic_write('sub/probe.bin', bytes(range(255, -1, -1)))
print('DONE', os.getcwd(), open('raw.txt').read(), open('probe.json').read(),
      sorted(n for n in os.listdir('.') if 'probe' in n or 'raw' in n), os.listdir('sub'))
"""


def test_atomic_write_replaces_files_in_the_browser_drive(site, browser, redeployable):
    notebooks = sorted(p.name for p in (site / "files").glob("*.ipynb"))
    student = Student(browser, redeployable, site, kernel=True)
    try:
        source = (REPO / "tinytorch" / "files.py").read_text(encoding="utf-8")
        now = datetime.now(UTC).isoformat()
        student.open(notebooks[0])
        student.put_raw(
            {
                "files_probe.py": {
                    "name": "files_probe.py",
                    "path": "files_probe.py",
                    "type": "file",
                    "format": "text",
                    "mimetype": "text/x-python",
                    "content": source,
                    "size": len(source.encode()),
                    "writable": True,
                    "created": now,
                    "last_modified": now,
                }
            }
        )
        result = run_code(student.page, CODE)
        output = result["stdout"]
        assert result["error"] is None, result
        # In the kernel: os.replace onto an existing file worked; atomic_write replaced twice; no temporary files.
        assert """DONE /drive b {"v": 2} ['files_probe.py', 'probe.json', 'raw.txt'] ['probe.bin']""" in output, output

        saved = student.wait_saved(lambda s: "probe.json" in s and "sub/probe.bin" in s, "the probe files in storage")
        assert base64.b64decode(saved["probe.json"]["content"]) == b'{"v": 2}'
        assert saved["probe.json"]["mimetype"] == "application/json"  # the temporary name kept the suffix
        assert base64.b64decode(saved["sub/probe.bin"]["content"]) == bytes(range(255, -1, -1))
        assert "raw2.txt" not in saved and not any(".tmp" in name for name in saved), sorted(saved)
    finally:
        student.close()
