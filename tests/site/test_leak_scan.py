"""The site scan reads every file, whatever its name: planted leaks are found, Pyodide's and
JupyterLite's own files are not mistaken for one.

Generated cases: every payload (a source notebook, a marker line, a line of a reference
solution) in files of many suffixes, encodings and archive shapes; then the real built site,
whose files of every kind are each changed by one planted line.
"""

from __future__ import annotations

import gzip
import io
import itertools
import json
import zipfile
from pathlib import Path

import pytest

from coursetools import site_check
from coursetools.leak_policy import solution_snippets

REPO = Path(__file__).resolve().parents[2]
CONTENT = REPO / "content"
SNIPPETS = solution_snippets(CONTENT)
SOURCE = sorted(CONTENT.glob("*.ipynb"))[1]
LINE = next(line for line, where in sorted(SNIPPETS.items()) if where == SOURCE.name)

SUFFIXES = [
    ".IPYNB",
    ".ipynb",
    ".rst",
    ".tex",
    ".yml",
    ".htm",
    ".bak",
    "",
    ".js",
    ".css",
    ".map",
    ".txt",
    ".JSON",
    ".py",
    ".pyc",
    ".wasm",
    ".data",
    ".md~",
]
MARKER_LINES = [
    "### BEGIN SOLUTION",
    "# end_solution",
    "<!-- Begin Solution -->",
    "% END-HIDDEN-TESTS",
    "    ### begin hidden tests",
    "// BEGIN SOLUTION",
    '"### END SOLUTION\\n",',
]


def _payloads() -> dict[str, bytes]:
    return {
        "source notebook": SOURCE.read_bytes(),
        "solution line": f"x = 1\n    {LINE}\ny = 2\n".encode(),
        "solution line, CRLF": f"x = 1\r\n    {LINE}\r\ny = 2\r\n".encode(),
        "solution line in JSON text": json.dumps({"code": f"def f():\n    {LINE}\n"}).encode(),
        "solution line in a JS string": f'var s="def f():\\n    {LINE}\\n";'.encode(),
        "solution line among binary": b"\x00\x01\xff\xfe" * 50 + f"\n{LINE}\n".encode() + b"\x00\x80" * 50,
        "solution line, UTF-16": f"x = 1\n    {LINE}\n".encode("utf-16"),
        "solution line, gzip": gzip.compress(f"x = 1\n    {LINE}\n".encode()),
        "source notebook, gzip": gzip.compress(SOURCE.read_bytes()),
        **{f"marker {m!r}": f"intro\n{m}\nbody\n".encode() for m in MARKER_LINES},
    }


PAYLOADS = _payloads()


def _scan(root: Path) -> list[str]:
    return site_check.find_leaks(root, CONTENT)


@pytest.mark.parametrize("suffix, payload", list(itertools.product(SUFFIXES, PAYLOADS)))
def test_a_planted_leak_is_found_whatever_the_suffix(tmp_path, suffix, payload):
    target = tmp_path / "files" / "deep" / f"planted{suffix}"
    target.parent.mkdir(parents=True)
    target.write_bytes(PAYLOADS[payload])
    leaks = _scan(tmp_path)
    assert leaks and all(leak.startswith(f"files/deep/planted{suffix}") for leak in leaks), leaks


ARCHIVES = {
    "zip of a notebook": ("work.zip", "my_work/02_attention.ipynb", "source notebook"),
    "zip of a .py": ("backup.zip", "twin.py", "solution line"),
    "wheel with a marker": ("other-1.0-py3-none-any.whl", "other/notes.txt", "marker '### BEGIN SOLUTION'"),
    "wheel with a solution line": ("other-1.0-py3-none-any.whl", "other/mod.py", "solution line"),
    "framework wheel, a notebook inside": (
        "tinytorch-0.1.0-py3-none-any.whl",
        "tinytorch/data/x.ipynb",
        "source notebook",
    ),
    "framework wheel, a marker": ("tinytorch-0.1.0-py3-none-any.whl", "tinytorch/mod.py", "marker '# end_solution'"),
    "framework wheel, outside the package": ("tinytorch-0.1.0-py3-none-any.whl", "extra/mod.py", "solution line"),
    "no suffix": ("blob", "a/b/c.txt", "solution line in JSON text"),
}


@pytest.mark.parametrize("shape", ARCHIVES)
@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_archives_are_opened_and_the_member_named(tmp_path, shape, compression):
    name, member, payload = ARCHIVES[shape]
    path = tmp_path / "static" / name
    path.parent.mkdir(parents=True)
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        archive.writestr("README.txt", "nothing here")
        archive.writestr(member, PAYLOADS[payload])
    leaks = _scan(tmp_path)
    assert leaks and all(leak.startswith(f"static/{name}!{member}") for leak in leaks), leaks


def test_the_framework_wheel_may_hold_the_library_pieces_students_rebuild(tmp_path):
    """tinytorch's own code repeats solution lines by design (students rebuild its pieces)."""
    path = tmp_path / "pypi" / "tinytorch-0.1.0-py3-none-any.whl"
    path.parent.mkdir()
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("tinytorch/nn/attention.py", PAYLOADS["solution line"])
        archive.writestr(
            "tinytorch-0.1.0.dist-info/METADATA",
            "reference solutions between `### BEGIN SOLUTION` /\n`### END SOLUTION`; the build ships the student",
        )
    assert _scan(tmp_path) == []


@pytest.mark.parametrize(
    "prose",
    [
        "Solutions sit between `### BEGIN SOLUTION` and `### END SOLUTION` in the sources.",
        "var hidden=true; function endSolutionStep(){}",
        "the legend solution of the puzzle",
        'x.begin(); solution = "hidden"',
    ],
)
@pytest.mark.parametrize("suffix", [".js", ".md", ".html", ""])
def test_prose_about_markers_outside_notebooks_is_not_a_leak(tmp_path, prose, suffix):
    (tmp_path / f"doc{suffix}").write_text(f"intro\n{prose}\nend\n", encoding="utf-8")
    assert _scan(tmp_path) == []


def test_a_listing_names_the_notebook_and_cell(tmp_path):
    nb = json.loads(SOURCE.read_text(encoding="utf-8"))
    listing = tmp_path / "api" / "contents" / "all.json"
    listing.parent.mkdir(parents=True)
    listing.write_text(json.dumps({"content": [{"name": SOURCE.name, "path": SOURCE.name, "content": nb}]}))
    leaks = _scan(tmp_path)
    assert any(leak.startswith(f"api/contents/all.json ({SOURCE.name}) cell ") for leak in leaks), leaks[:5]


# ----------------------------------------------------------------------------- the real site


def test_the_real_site_is_clean_and_every_kind_of_its_files_is_read(site_dir, tmp_path):
    """No false positive in Pyodide's and JupyterLite's files; one planted line in a real file of
    each kind (by suffix, archives included) is found."""
    assert site_check.find_leaks(site_dir, CONTENT) == []
    by_suffix = {}
    for path in sorted(p for p in site_dir.rglob("*") if p.is_file()):
        by_suffix.setdefault(path.suffix.lower(), path)
    assert {".js", ".json", ".html", ".whl", ".wasm", ".ipynb", ".zip"} <= by_suffix.keys(), sorted(by_suffix)
    for suffix, path in by_suffix.items():
        data = path.read_bytes()
        rel = path.relative_to(site_dir).as_posix()
        if data[:4] == b"PK\x03\x04":
            buffer = io.BytesIO(data)
            with zipfile.ZipFile(buffer, "a") as archive:
                archive.writestr("planted/notes.md", PAYLOADS["marker '### BEGIN SOLUTION'"])
            changed, expected = buffer.getvalue(), f"{rel}!planted/notes.md"
        elif b"\n" not in data:  # minified: the line goes at the end
            changed, expected = data + f"\n{LINE}\n".encode(), rel
        else:
            middle = len(data) // 2
            changed, expected = data[:middle] + f"\n{LINE}\n".encode() + data[middle:], rel
        leaks = site_check.file_leaks(changed, SNIPPETS, rel)
        assert leaks and all(leak.startswith(expected) for leak in leaks), (suffix, leaks[:3])
