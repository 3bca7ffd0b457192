"""What students must never get, in one home: the student build, its CLI and the site scan all ask here.

Three kinds of instructor-only material:

- **Solution and hidden-test markers.** nbgrader's rule is exact ("BEGIN SOLUTION" anywhere in a
  cell, prose included); ours is lenient on top of it, because a near miss (`### begin solution`,
  `BEGIN_SOLUTION`, `End  Hidden-Tests`) is a mistake whose region nbgrader would ship. In a
  notebook cell a marker anywhere in any of its text (source, outputs, metadata, attachments)
  counts. In any other file of the site (Pyodide's and JupyterLite's own files included) only a
  line that *is* a marker counts (comment signs and quotes around it allowed): prose that
  mentions the marker, as the package's README does, is not a leak.
- **Instructor-only cells**: a tag starting with "instructor", in any case and spelling
  (`Instructor-Only`, `INSTRUCTOR`, `instructor_notes`).
- **The reference solutions' own text**: every distinctive line of a solution region in the
  sources (`solution_snippets`), found in any file as a whole line, also inside JSON strings.

The student build refuses a source with hidden tests, an instructor-only cell, or solution
markers that do not pair up (an orphan END, a nested or unclosed BEGIN), naming file and cell;
it drops a solution cell's attachments, outputs and metadata nbgrader does not need; and it
checks what it built with `notebook_leaks`, the very check the site scan runs on every notebook
of the site. So `python -m coursetools.notebooks ... --version student` fails exactly when the
site build would.
"""

from __future__ import annotations

import base64
import binascii
import json
import operator
import re
from pathlib import Path

from .cells import cell_source, nbgrader_meta

CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
TEXT_STUB = "YOUR ANSWER HERE"

# Spaces (not line breaks), underscores and hyphens between the words of a marker, or none.
_SEP = r"(?:[^\S\r\n]|[_\-])*"
#: nbgrader's exact markers, anywhere; or a lenient spelling not glued to a word before it
#: ("append solution" is not "END SOLUTION").
MARKER = re.compile(
    r"(?P<exact>(?:BEGIN|END) (?:SOLUTION|HIDDEN TESTS))"
    rf"|(?<![A-Za-z])(?P<edge>(?i:begin|end)){_SEP}(?P<kind>(?i:solution|hidden{_SEP}tests?))"
)
#: A line that is nothing but a marker, in any file: comment signs, quotes and spaces around it.
_AROUND = " \t\r#/*<>!;%\"'`-"
_MARKER_LINE = re.compile(rf"(?i)(?:begin|end){_SEP}(?:solution|hidden{_SEP}tests?)")
#: A solution line shorter than this (`return x`, `)`) says nothing about the solution.
MIN_SNIPPET = 20
#: Metadata a student's solution cell keeps; anything else (an instructor's notes) is dropped.
SOLUTION_CELL_METADATA = ("nbgrader", "deletable", "editable", "tags", "trusted")


class LeakError(ValueError, RuntimeError):
    """Instructor-only material would reach students. A ValueError (the content is wrong) and a
    RuntimeError (the build failed), so callers of either the notebook build or the site build catch it."""


# ----------------------------------------------------------------------------- markers


def marker_kind(match: re.Match) -> tuple[str, str]:
    """("begin" | "end", "solution" | "hidden tests") of a MARKER match."""
    if match.group("exact"):
        edge, kind = match.group("exact").split(" ", 1)
    else:
        edge, kind = match.group("edge"), match.group("kind")
    kind = "solution" if kind.lower().startswith("s") else "hidden tests"
    return edge.lower(), kind


def markers(text: str) -> list[str]:
    """Every marker (as written) in `text`."""
    return [m.group(0) for m in MARKER.finditer(text)]


def is_marker_line(line: str) -> bool:
    """True for a line that is only a marker, e.g. `### BEGIN SOLUTION`, `<!-- end_solution -->`."""
    return bool(_MARKER_LINE.fullmatch(line.strip(_AROUND)))


def solution_regions(source: str, where: str) -> list[tuple[int, int]]:
    """[(begin line, end line)] of every solution region in `source` (line numbers from 0).

    Raises LeakError naming `where` for markers that do not pair up: an END without a BEGIN, a
    BEGIN inside a region, a BEGIN never closed, or two markers on one line. Hidden-test markers
    are not regions here (see check_source_cell).
    """
    regions, begin = [], None
    for number, line in enumerate(source.split("\n")):
        found = [marker_kind(m) for m in MARKER.finditer(line)]
        found = [edge for edge, kind in found if kind == "solution"]
        if len(found) > 1:
            raise LeakError(f"{where}, line {number + 1}: two solution markers on one line: {line.strip()!r}")
        if not found:
            continue
        if found[0] == "begin":
            if begin is not None:
                raise LeakError(
                    f"{where}, line {number + 1}: a second BEGIN SOLUTION inside the region opened on "
                    f"line {begin + 1} (regions cannot nest): close the first one with END SOLUTION"
                )
            begin = number
        else:
            if begin is None:
                raise LeakError(
                    f"{where}, line {number + 1}: END SOLUTION without a BEGIN SOLUTION before it "
                    f"({line.strip()!r}): add the BEGIN line or remove this one"
                )
            regions.append((begin, number))
            begin = None
    if begin is not None:
        raise LeakError(f"{where}, line {begin + 1}: BEGIN SOLUTION without a matching END SOLUTION")
    return regions


def replace_solution_regions(source: str, stub: str, where: str = "a cell") -> tuple[str, bool]:
    """(new_source, replaced?) with every solution region replaced by `stub`, indented like its
    BEGIN line: nbgrader's ClearSolutions, with markers matched leniently and checked to pair up."""
    lines = source.split("\n")
    regions = solution_regions(source, where)
    out, last = [], 0
    for begin, end in regions:
        out.extend(lines[last:begin])
        indent = re.match(r"\s*", lines[begin]).group(0)
        out.extend(indent + stub_line for stub_line in stub.split("\n"))
        last = end + 1
    out.extend(lines[last:])
    return "\n".join(out), bool(regions)


# ----------------------------------------------------------------------------- cells


def is_solution_cell(cell) -> bool:
    return bool(nbgrader_meta(cell).get("solution"))


def instructor_tags(cell) -> list[str]:
    """The cell's tags that mean "instructors only", in any case or spelling."""
    tags = (cell.get("metadata") or {}).get("tags") or []
    if isinstance(tags, str):
        tags = [tags]
    return [str(t) for t in tags if re.sub(r"[\s_]+", "-", str(t).strip().lower()).startswith("instructor")]


def check_source_cell(cell, where: str) -> None:
    """Refuse what the student build must not turn into a student cell (LeakError naming `where`)."""
    tags = instructor_tags(cell)
    if tags:
        raise LeakError(
            f"{where}: a cell tagged {tags} (instructor only) cannot go to students: "
            "move it to an instructor notebook outside content/"
        )
    source = cell_source(cell)
    hidden = [m.group(0) for m in MARKER.finditer(source) if marker_kind(m)[1] == "hidden tests"]
    if hidden:
        raise LeakError(
            f"{where}: the marker {hidden[0]!r}: this course ships no hidden tests "
            "(its checks live in tinytorch.course.exercises); remove the region"
        )
    regions = solution_regions(source, where)
    if regions and not is_solution_cell(cell):
        raise LeakError(
            f"{where}: a solution region in a cell that is not an nbgrader solution cell "
            "(nbgrader would ship it): add solution metadata or remove the markers"
        )


def strip_solution_cell(cell) -> None:
    """What a student's solution cell must not carry: attachments (a pasted model answer),
    outputs, and metadata beyond what nbgrader and the notebook need."""
    cell.pop("attachments", None)
    if cell.get("cell_type") == "code":
        cell["outputs"] = []
        cell["execution_count"] = None
    metadata = cell.get("metadata") or {}
    for key in list(metadata):
        if key not in SOLUTION_CELL_METADATA:
            del metadata[key]


# ----------------------------------------------------------------------------- solution text


_norm = operator.methodcaller("strip", b" \t\r\"',`")  # C speed: a site has millions of lines


def _lines(data: bytes) -> set[bytes]:
    """Every line of `data`, normalised; also the lines of JSON-escaped text (`\\n` inside strings)."""
    found = set(map(_norm, data.split(b"\n")))
    if b"\\n" in data:
        unescaped = data.replace(b"\\\\", b"\0").replace(b"\\n", b"\n").replace(b'\\"', b'"').replace(b"\0", b"\\")
        found |= set(map(_norm, unescaped.split(b"\n")))
    return found


class Snippets(dict):
    """{solution line: source notebook}; `.keys_bytes` is the normalised form the scan matches."""

    def __init__(self, items=()):
        super().__init__(items)
        self.keys_bytes = {_norm(line.encode("utf-8")): name for line, name in self.items()}

    def found_in(self, data: bytes) -> list[tuple[str, str]]:
        """[(line, notebook)] of every solution line that is a whole line of `data`."""
        hits = _lines(data) & self.keys_bytes.keys()
        return sorted((line.decode("utf-8", "replace"), self.keys_bytes[line]) for line in hits)


NO_SNIPPETS = Snippets()


def solution_text(cell) -> str:
    """The reference-solution part of a source cell ('' for other cells)."""
    if not is_solution_cell(cell):
        return ""
    source = cell_source(cell)
    if cell.get("cell_type") == "markdown":
        return "" if source.strip() == TEXT_STUB else source
    lines = source.split("\n")
    try:
        regions = solution_regions(source, "")
    except LeakError:
        return source  # markers that do not pair up: treat the whole cell as secret
    if not regions:
        return source
    return "\n".join("\n".join(lines[begin + 1 : end]) for begin, end in regions)


def solution_snippets(content_dir) -> Snippets:
    """{line: source notebook} for every distinctive line of a reference solution in content_dir.

    Distinctive: long enough, and not also written outside the solutions (a line a test cell or
    the prose repeats is not a leak).
    """

    def lines(text):
        return {line.strip() for line in text.splitlines() if line.strip()}

    snippets = {}
    for path in sorted(Path(content_dir).glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        solution = set().union(*(lines(solution_text(c)) for c in cells))
        elsewhere = set().union(*(lines(cell_source(c)) for c in cells if not solution_text(c)))
        for cell in cells:  # a solution cell's own non-solution lines (the def line) are not secret
            if solution_text(cell):
                elsewhere |= lines(cell_source(cell)) - lines(solution_text(cell))
        for line in solution - elsewhere:
            if len(_norm(line.encode("utf-8"))) >= MIN_SNIPPET and line != TEXT_STUB and not is_marker_line(line):
                snippets[line] = path.name
    return Snippets(snippets)


# ----------------------------------------------------------------------------- what a student gets


def _strings(value) -> list[str]:
    """Every string inside a parsed JSON value (keys included: metadata keys can hold text too)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (str(k), *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _attachment_bytes(cell) -> list[tuple[str, bytes]]:
    """[(name, decoded bytes)] of a cell's attachments (base64 in the notebook)."""
    found = []
    for name, bundle in (cell.get("attachments") or {}).items():
        for mime, data in (bundle or {}).items() if isinstance(bundle, dict) else ():
            text = "".join(data) if isinstance(data, list) else str(data)
            try:
                found.append((f"{name} ({mime})", base64.b64decode(text, validate=False)))
            except (binascii.Error, ValueError):
                found.append((f"{name} ({mime})", text.encode("utf-8", "replace")))
    return found


#: A cheap first look for marker lines (in lower-cased bytes): most files have nothing like one.
_MAYBE_MARKER = re.compile(rb"(?:begin|end)[^\n]{0,12}(?:solution|hidden)")


def text_leaks(data: bytes, snippets: Snippets, where: str) -> list[str]:
    """Leaks in any file that is not a notebook: marker lines and reference-solution lines."""
    found = []
    low = data.lower()
    if (b"solution" in low or b"hidden" in low) and _MAYBE_MARKER.search(low):
        for line in _lines(data):
            if len(line) < 80 and is_marker_line(line.decode("utf-8", "replace")):
                found.append(f"{where}: the marker line {line.decode('utf-8', 'replace')!r}")
    for line, notebook in snippets.found_in(data):
        found.append(f"{where}: a line of the reference solution in {notebook}: {line[:80]!r}")
    return sorted(found)


def _text_problems(text: str, snippets: Snippets, where: str) -> list[str]:
    found = [f"{where}: the marker {marker!r}" for marker in dict.fromkeys(markers(text))]
    for line, notebook in snippets.found_in(text.encode("utf-8", "surrogatepass")):
        found.append(f"{where}: a line of the reference solution in {notebook}: {line[:80]!r}")
    return found


def notebook_leaks(notebook: dict, snippets: Snippets, where: str) -> list[str]:
    """What in a notebook students must not see; [] when nothing leaks. `where` names the file.

    Every cell's text counts (source, outputs, metadata, and attachments decoded), and so does
    the notebook's own metadata. A solution cell may carry neither outputs nor attachments (a
    pasted model answer is an image no scan can read).
    """
    found = []
    for index, cell in enumerate(notebook.get("cells") or []):
        if not isinstance(cell, dict):
            continue
        at = f"{where} cell {index}"
        tags = instructor_tags(cell)
        if tags:
            found.append(f"{at}: a cell tagged {tags} (instructor only)")
        if is_solution_cell(cell) and cell.get("attachments"):
            found.append(f"{at}: a solution cell with attachments {sorted(cell['attachments'])} (a model answer?)")
        if is_solution_cell(cell) and cell.get("outputs"):
            found.append(f"{at}: a solution cell with outputs (the reference solution's results)")
        without = {k: v for k, v in cell.items() if k != "attachments"}
        found += _text_problems("\n".join(_strings(without)), snippets, at)
        for name, data in _attachment_bytes(cell):
            found += [
                f"{at}: attachment {name}: {problem.split(': ', 1)[1]}"
                for problem in _text_problems(data.decode("utf-8", "replace"), snippets, at)
            ]
    found += _text_problems("\n".join(_strings(notebook.get("metadata") or {})), snippets, f"{where} metadata")
    return found


def is_notebook(value) -> bool:
    return isinstance(value, dict) and isinstance(value.get("cells"), list)
