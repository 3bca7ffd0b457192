"""Keep your work safe from a notebook cell: export it as a zip, restore it, reset a notebook.

In the browser course your files live only in this browser's storage; the kernel sees them
in its working folder (/drive). In a local Jupyter the working folder is the current one.
The same three functions work in both::

    from tinytorch.course import export_work, import_work, reset_notebook
    export_work()                       # writes my_work.zip: download it from the file list
    import_work("my_work.zip")          # puts every file back; replaced files are kept as backups
    reset_notebook("02_attention")      # the course's version again; yours kept as a backup

The page's "Your work" button does the same without running any code, and its zips and
these are interchangeable. Backups are named like the button's:
``02_attention.backup-20261125-0930.ipynb``. Pure Python: no numpy needed.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
import urllib.parse
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from ..files import atomic_write  # a whole file or the old one, never half (browser drive included)

__all__ = ["export_work", "import_work", "reset_notebook"]

# The zip format, shared with the page's "Your work" button (student-work.js): one home,
# work_format.json beside this file; the site build inlines it into the page script.
FORMAT = json.loads(Path(__file__).with_name("work_format.json").read_text(encoding="utf-8"))
# Folders that are never the student's work: Jupyter's own checkpoints and caches.
SKIPPED_DIRS = set(FORMAT["skipped_dirs"])
# The corpus ships with the course and comes back with it; no need to carry 1 MB around.
SHIPPED_DATA = set(FORMAT["shipped_data"])
# What an export holds (path -> size, sha256): not a file of the student's.
MANIFEST = FORMAT["manifest"]
BROWSER_MANIFEST = MANIFEST  # the name before both sides shared it


def _in_pyodide() -> bool:
    return sys.platform == "emscripten"


def _work_files(root: Path, dest: Path | None) -> list[Path]:
    """Every file under root worth saving, as paths relative to root, sorted."""
    files = []
    for folder, dirnames, filenames in os.walk(root):
        # Hidden and tool folders are skipped (edit dirnames in place so os.walk prunes them).
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            path = Path(folder) / name
            rel = path.relative_to(root)
            if name.startswith(".") or name.endswith(".zip") or rel.as_posix() in SHIPPED_DATA:
                continue
            if dest is not None and path.resolve() == dest.resolve():
                continue
            files.append(rel)
    return files


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(max(seconds, 315532800)))


def export_work(dest: str | os.PathLike = "my_work.zip", root: str | os.PathLike = ".") -> Path:
    """Zip every notebook and file you made or changed under `root` into `dest`.

    Skips Jupyter checkpoints, caches, hidden files, other zips and the shipped corpus.
    The zip also holds a manifest (each file's size and sha256), so import_work can tell
    a complete export from a damaged or cut-short one. An interrupted export leaves the
    previous `dest` as it was. In the browser course, `dest` then appears in the file list:
    right-click it and choose Download, and keep the zip somewhere outside this browser.
    Returns the zip's path.
    """
    root = Path(root)
    if not root.is_dir():
        raise NotADirectoryError(f"export_work: {root} is not a folder; pass root= the folder with your notebooks.")
    dest = Path(dest)
    if dest.suffix.lower() != ".zip":
        raise ValueError(f"export_work: dest must end in .zip (got {dest.name!r}), e.g. dest='my_work.zip'.")
    if not dest.is_absolute():
        dest = root / dest
    files = _work_files(root, dest)
    if not files:
        raise FileNotFoundError(f"export_work: no files to save under {root.resolve()}.")
    manifest = {"tinygpt_work": FORMAT["version"], "exported": _iso(time.time()), "by": "export_work", "files": {}}

    def write_zip(f):
        # strict_timestamps=False: browser storage may report 1970 dates, which zip cannot hold.
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED, strict_timestamps=False) as zf:
            for rel in files:
                path = root / rel
                data = path.read_bytes()
                info = zipfile.ZipInfo.from_file(path, rel.as_posix(), strict_timestamps=False)
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, data)
                manifest["files"][rel.as_posix()] = {
                    "type": "notebook" if rel.suffix == ".ipynb" else "file",
                    "size": len(data),
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "last_modified": _iso(path.stat().st_mtime),
                }
            zf.writestr(MANIFEST, json.dumps(manifest, indent=1, ensure_ascii=False))

    atomic_write(dest, write_zip)  # the previous zip stays until this one is complete
    size = dest.stat().st_size
    where = "the file list (right-click → Download)" if _in_pyodide() else str(dest.resolve())
    print(f"Saved {len(files)} file(s) into {dest.name} ({size / 1024:.0f} KiB). Download it from {where}.")
    return dest


def _backup_path(path: Path) -> Path:
    """A free name like name.backup-YYYYMMDD-HHMM.ext beside `path`."""
    stamp = time.strftime("%Y%m%d-%H%M")
    infix = FORMAT["backup_infix"]
    candidate = path.with_name(f"{path.stem}{infix}{stamp}{path.suffix}")
    n = 2
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}{infix}{stamp}-{n}{path.suffix}")
        n += 1
    return candidate


def _safe_member(name: str) -> PurePosixPath | None:
    """The relative path a zip member restores to; None for tool metadata; error if unsafe."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise ValueError(f"import_work: the zip holds an unsafe path {name!r}; paths must be relative with no '..'.")
    parts = [p for p in path.parts if p not in ("", ".")]
    if not parts or SKIPPED_DIRS & set(parts) or parts[-1] == MANIFEST or parts[-1] in FORMAT["skipped_files"]:
        return None
    return PurePosixPath(*parts)


def _inside(root_real: Path, target: Path, name: str) -> None:
    """Refuse a member whose real path (symlinked folders followed) leaves the target folder."""
    real = Path(os.path.realpath(target))
    if real != root_real and root_real not in real.parents:
        raise ValueError(
            f"import_work: the zip's {name!r} would be written to {real}, outside {root_real} "
            "(a symbolic link in the folder points elsewhere); nothing was changed. "
            "Restore into a folder without such links."
        )


def _read_checked(zf: zipfile.ZipFile, zip_name: str) -> tuple[list, dict]:
    """Every member's bytes, checked against the zip's CRCs and the export's manifest.

    Returns ([(info, bytes)], manifest files). Raises ValueError naming the first file
    that is damaged or missing, before anything is written.
    """
    contents = []
    for info in zf.infolist():
        try:
            contents.append((info, zf.read(info)))
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
            raise ValueError(
                f"import_work: {zip_name} is damaged: {info.filename} cannot be read ({exc}); nothing was changed. "
                "Use another copy of your zip, or export again where your work is."
            ) from None
    listed: dict = {}
    manifest = next((data for info, data in contents if info.filename == MANIFEST), None)
    if manifest is not None:
        try:
            listed = json.loads(manifest)["files"]
        except (ValueError, KeyError, TypeError):
            raise ValueError(f"import_work: {zip_name} is damaged: its {MANIFEST} cannot be read; nothing was changed.") from None
    present = {info.filename.rstrip("/"): data for info, data in contents}
    for name, meta in listed.items():
        if meta.get("type") == "directory":
            continue
        if name not in present:
            raise ValueError(
                f"import_work: {zip_name} is incomplete: {name} is listed in it but missing; nothing was changed. "
                "The export or download was probably cut short: use another copy or export again."
            )
        data = present[name]
        if "sha256" in meta and (len(data) != meta.get("size", len(data)) or hashlib.sha256(data).hexdigest() != meta["sha256"]):
            raise ValueError(
                f"import_work: {zip_name} is damaged: {name} does not match the checksum recorded at export; nothing was changed."
            )
    return contents, listed


def import_work(zip_path: str | os.PathLike, root: str | os.PathLike = ".") -> dict:
    """Restore every file from a zip made by export_work or the "Your work" button.

    Every file is checked first (zip checksums, and the export's own list of files and
    sha256 sums): a damaged or incomplete zip is refused, naming the file, and nothing is
    written. Nothing is ever written outside `root`, even through a symbolic link. A file
    that exists with different contents is first kept as a backup
    (name.backup-YYYYMMDD-HHMM.ext), so restoring never loses anything. Returns
    {"added": [...], "replaced": {path: backup}, "unchanged": [...]} with paths relative to root.
    """
    root = Path(root)
    zip_path = Path(zip_path)
    if not zip_path.is_file():
        raise FileNotFoundError(f"import_work: {zip_path} not found; upload the zip into the file list first.")
    if not zipfile.is_zipfile(zip_path):
        raise ValueError(
            f"import_work: {zip_path.name} is not a zip file (or it was cut short before its end); "
            "nothing was changed. Use the zip that export_work or the Your work button made."
        )
    root.mkdir(parents=True, exist_ok=True)
    root_real = Path(os.path.realpath(root))
    with zipfile.ZipFile(zip_path) as zf:
        contents, _ = _read_checked(zf, zip_path.name)
    plan = []
    for info, data in contents:
        rel = _safe_member(info.filename)
        if rel is None:
            continue
        target = root.joinpath(*rel.parts)
        _inside(root_real, target, info.filename)
        plan.append((info.is_dir(), rel, target, data))
    added, replaced, unchanged = [], {}, []
    for is_dir, rel, target, data in plan:
        if is_dir:
            target.mkdir(parents=True, exist_ok=True)
            continue
        if target.is_file():
            if target.read_bytes() == data:
                unchanged.append(rel.as_posix())
                continue
            backup = _backup_path(target)
            atomic_write(backup, target.read_bytes())
            replaced[rel.as_posix()] = backup.relative_to(root).as_posix()
        else:
            added.append(rel.as_posix())
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, data)
    print(
        f"Restored {len(added) + len(replaced)} file(s) from {zip_path.name}: {len(added)} new, "
        f"{len(replaced)} replaced (your previous copies kept as .backup files), {len(unchanged)} already identical."
    )
    if replaced:
        print("If one of these notebooks is open, close it without saving and open it again.")
    return {"added": added, "replaced": replaced, "unchanged": unchanged}


def _shipped_from_site(name: str) -> bytes:
    """The course's own copy of a notebook, fetched from the site (browser course only)."""
    import js  # Pyodide only
    from pyodide.http import open_url

    # The kernel runs in a worker under <site>/extensions/...; the course files are <site>/files/.
    href = str(js.location.href)
    site = href.split("/extensions/")[0] + "/"
    url = urllib.parse.urljoin(site, "files/" + urllib.parse.quote(name))
    try:
        return open_url(url).read().encode("utf-8")
    except Exception as exc:  # the browser reports a missing file as an OSError of its own
        raise FileNotFoundError(f"reset_notebook: the course does not ship {name} ({url}: {exc}).") from exc


def reset_notebook(
    name: str, root: str | os.PathLike = ".", shipped: str | os.PathLike | bytes | None = None
) -> Path:
    """Put the course's version of notebook `name` back, keeping yours as a backup copy.

    `name` may omit ".ipynb". In the browser course the original comes from the site; in a
    local Jupyter pass `shipped=` the original notebook's path (or its bytes). Returns the
    backup's path. Close the notebook first if it is open, or reopen it without saving.
    """
    root = Path(root)
    if not name.endswith(".ipynb"):
        name += ".ipynb"
    current = root / name
    if not current.is_file():
        raise FileNotFoundError(f"reset_notebook: {name} not found in {root.resolve()}; check the name in the file list.")
    if isinstance(shipped, bytes):
        original = shipped
    elif shipped is not None:
        original = Path(shipped).read_bytes()
    elif _in_pyodide():
        original = _shipped_from_site(name)
    else:
        raise ValueError(
            "reset_notebook: outside the browser course, pass shipped='path/to/original.ipynb' "
            "(for example the course repository's site/files/" + name + ")."
        )
    import json

    try:
        json.loads(original)
    except ValueError as exc:
        raise ValueError(f"reset_notebook: the original {name} is not valid notebook JSON ({exc}); nothing was changed.") from exc
    backup = _backup_path(current)
    atomic_write(backup, current.read_bytes())
    atomic_write(current, original)
    print(
        f"{name} is the course's version again; your copy is {backup.name}. "
        "If it is open, close it without saving and open it again."
    )
    return backup
