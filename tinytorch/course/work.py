"""Keep your work safe from a notebook cell: export it as a zip, restore it, reset a notebook.

In the browser course your files live only in this browser's storage; the kernel sees them
in its working folder (/drive). In a local Jupyter the working folder is the current one.
The same three functions work in both::

    from tinytorch.course import export_work, import_work, reset_notebook
    export_work()                       # writes my_work.zip: download it from the file list
    import_work("my_work.zip")          # puts every file back, all or nothing; replaced files kept as backups
    reset_notebook("02_attention")      # the course's version again; yours kept as a backup

The page's "Your work" button does the same without running any code, and its zips and
these are interchangeable. Backups are named like the button's:
``02_attention.backup-20261125-0930.ipynb``. Pure Python: no numpy needed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
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
# What an imported zip may hold (entries, unpacked bytes, name length, depth): see import_work.
LIMITS = {key: value for key, value in FORMAT["limits"].items() if key != "about"}
CHUNK = 1 << 20  # members are unpacked a MiB at a time, never whole


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
        raise ValueError(
            f"import_work: the zip holds an unsafe path {name!r}; paths must be relative with no '..' "
            "(nor a drive such as C:); nothing was changed."
        )
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


def _refused(zip_name: str, why: str, fix: str = "") -> ValueError:
    return ValueError(f"import_work: {zip_name} {why}; nothing was changed." + (f" {fix}" if fix else ""))


def _check_limits(infos: list, zip_name: str) -> None:
    """LIMITS, from the zip's central directory, before a byte of any member is read."""
    if len(infos) > LIMITS["entries"]:
        raise _refused(
            zip_name,
            f"holds {len(infos):,} entries, more than the limit of {LIMITS['entries']:,}",
            "Is it really an export of your work?",
        )
    total = sum(info.file_size for info in infos)
    if total > LIMITS["total_bytes"]:
        raise _refused(
            zip_name,
            f"would unpack to {total:,} bytes, more than the limit of {LIMITS['total_bytes']:,} "
            f"({LIMITS['total_bytes'] // 2**20} MiB)",
            "Leave big files (checkpoints, data) out of it.",
        )
    for info in infos:
        name = info.filename
        shown = name if len(name) <= 80 else name[:60] + "..." + name[-17:]
        parts = [part for part in name.replace("\\", "/").split("/") if part not in ("", ".")]
        if len(name) > LIMITS["path_chars"]:
            raise _refused(
                zip_name,
                f"holds {shown!r}, a path of {len(name):,} characters, more than the limit of {LIMITS['path_chars']:,}",
            )
        if len(parts) > LIMITS["depth"]:
            raise _refused(
                zip_name, f"holds {shown!r}, {len(parts)} folders deep, more than the limit of {LIMITS['depth']}"
            )
        for part in parts:
            if len(part.encode("utf-8", "surrogatepass")) > LIMITS["name_bytes"]:
                raise _refused(
                    zip_name,
                    f"holds {shown!r}, whose name {part[:40]!r}... is longer than the limit of "
                    f"{LIMITS['name_bytes']} bytes",
                )
        if info.flag_bits & 0x1:
            raise _refused(zip_name, f"holds {shown!r} encrypted", "Make the zip again without a password.")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):  # what both exports write
            raise _refused(
                zip_name,
                f"holds {shown!r} packed with compression method {info.compress_type}",
                "Re-zip it with normal (deflate) compression.",
            )


def _kind(value) -> str:
    """A JSON value's kind in JSON's words (string, number, null...), as the page's side says it too."""
    return {dict: "mapping", list: "list", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


def _manifest_files(zf: zipfile.ZipFile, infos: list, zip_name: str) -> dict | None:
    """The manifest's {path: meta} (None for a zip without one), checked to be what an export writes."""
    found = [info for info in infos if info.filename == MANIFEST]
    if not found:
        return None
    if len(found) > 1:
        raise _refused(zip_name, f"holds its {MANIFEST} twice")
    damaged = _refused(zip_name, f"is damaged: its {MANIFEST} cannot be read")
    try:
        with zf.open(found[0]) as f:
            text = f.read(LIMITS["total_bytes"] + 1)
        manifest = json.loads(text)
    except (ValueError, zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError):
        raise damaged from None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    wrong = None
    if not isinstance(manifest, dict):
        wrong = f"it is a {_kind(manifest)}, not a mapping"
    elif not isinstance(files, dict):
        wrong = (
            "'files' is missing" if "files" not in manifest else f"'files' is a {_kind(files)}, not a mapping of paths"
        )
    else:
        for name, meta in files.items():
            if not isinstance(meta, dict):
                wrong = f"the entry for {name!r} is a {_kind(meta)}, not a mapping"
            elif "size" in meta and not (type(meta["size"]) is int and meta["size"] >= 0):  # bool is not a size
                wrong = f"the size of {name!r} is {meta['size']!r}, not a byte count"
            elif "sha256" in meta and not (isinstance(meta["sha256"], str) and len(meta["sha256"]) == 64):
                wrong = f"the sha256 of {name!r} is {meta['sha256']!r}, not 64 hex digits"
            elif not isinstance(meta.get("type", ""), str):
                wrong = f"the type of {name!r} is {meta['type']!r}, not a string"
            if wrong:
                break
    if wrong:
        raise _refused(zip_name, f"is damaged: its {MANIFEST} is not what an export writes ({wrong})")
    return files


def _plan(infos: list, zip_name: str) -> tuple[dict, set]:
    """({path: info} of the files to restore, {folders}): duplicates and file/folder clashes refused."""
    files, folders, seen = {}, set(), {}
    for info in infos:
        rel = _safe_member(info.filename)
        if rel is None:
            continue
        key = rel.as_posix()
        if info.is_dir():
            folders.add(key)
            continue
        if key.casefold() in seen:
            raise _refused(
                zip_name,
                f"holds {key!r} twice (as {seen[key.casefold()]!r} and {info.filename!r})",
                "Which copy is yours cannot be told: make the zip again with each file once.",
            )
        seen[key.casefold()] = info.filename
        files[key] = info
    for key in files:
        parts = key.split("/")
        folders.update("/".join(parts[:i]) for i in range(1, len(parts)))
    clashes = sorted(folders & files.keys())
    if clashes:
        raise _refused(zip_name, f"holds {clashes[0]!r} both as a file and as a folder of other files")
    return files, folders


def _stream(zf: zipfile.ZipFile, info, dest: Path, zip_name: str, budget: int) -> tuple[int, str]:
    """Copy one member into dest in chunks, never past its declared size or the budget: (size, sha256)."""
    digest, size = hashlib.sha256(), 0
    try:
        with zf.open(info) as src, open(dest, "xb") as out:
            while True:
                chunk = src.read(CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > info.file_size or size > budget:
                    raise _refused(
                        zip_name,
                        f"is damaged: {info.filename} unpacks to more than the {info.file_size:,} "
                        f"bytes its directory declares (or past the "
                        f"{LIMITS['total_bytes']:,}-byte limit)",
                    )
                digest.update(chunk)
                out.write(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise ValueError(
            f"import_work: {zip_name} is damaged: {info.filename} cannot be read ({exc}); nothing was changed. "
            "Use another copy of your zip, or export again where your work is."
        ) from None
    if size != info.file_size:  # zipfile stops at the end of the packed bytes: a shorter entry reads "fine"
        raise _refused(
            zip_name,
            f"is damaged: {info.filename} unpacks to {size:,} bytes, not the {info.file_size:,} its directory declares",
        )
    return size, digest.hexdigest()


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _verify(staged: dict, listed: dict | None, zip_name: str) -> None:
    """The staged files against the export's manifest: every listed file there, with its size and
    sha256, and nothing the manifest does not list."""
    if listed is None:
        return
    for name, meta in listed.items():
        if meta.get("type") == "directory" or _safe_member(name) is None:
            continue
        if name not in staged:
            raise ValueError(
                f"import_work: {zip_name} is incomplete: {name} is listed in it but missing; nothing was changed. "
                "The export or download was probably cut short: use another copy or export again."
            )
        _, size, sha = staged[name]
        if ("size" in meta and size != meta["size"]) or ("sha256" in meta and sha != meta["sha256"]):
            raise ValueError(
                f"import_work: {zip_name} is damaged: {name} does not match the checksum recorded at export; "
                "nothing was changed."
            )
    unlisted = sorted(set(staged) - set(listed))
    if unlisted:
        raise _refused(
            zip_name,
            f"holds {unlisted[0]!r}, which its {MANIFEST} does not list (the zip was changed after the export)",
            f"To restore it anyway, delete {MANIFEST} from the zip.",
        )


def _commit(root: Path, staged: dict, folders: set, zip_name: str) -> tuple[list, dict, list]:
    """Move the staged files into root, keeping replaced files as backups; undone on any error."""
    added, replaced, unchanged, undo = [], {}, [], []
    key = None
    try:
        for folder in sorted(folders, key=lambda f: f.count("/")):
            target = root.joinpath(*folder.split("/"))
            if not target.is_dir():
                target.mkdir()
                undo.append(lambda t=target: t.rmdir())
        for key, (path, size, sha) in staged.items():  # noqa: B007 (key names the file in errors)
            target = root.joinpath(*key.split("/"))
            if target.is_file():
                if target.stat().st_size == size and _sha256_of(target) == sha:
                    unchanged.append(key)
                    continue
                backup = _backup_path(target)
                os.replace(target, backup)  # the student's copy, kept under a new name
                undo.append(lambda b=backup, t=target: os.replace(b, t))
                replaced[key] = backup.relative_to(root).as_posix()
            else:
                added.append(key)
            os.replace(path, target)
            undo.append(lambda t=target: t.unlink())
    except BaseException as error:
        for step in reversed(undo):
            try:
                step()
            except OSError:
                pass  # keep undoing the rest: every earlier step is still reversible
        if isinstance(error, OSError):
            raise OSError(
                error.errno,
                f"import_work: {zip_name}: putting {key or 'a folder'} in place failed "
                f"({error.strerror or error}); nothing was changed",
            ) from error
        raise
    return added, replaced, unchanged


def import_work(zip_path: str | os.PathLike, root: str | os.PathLike = ".") -> dict:
    """Restore every file from a zip made by export_work or the "Your work" button: all or nothing.

    The zip is checked before anything changes: its directory against LIMITS (entries, unpacked
    size, name length and depth), duplicates, and a file that another member needs as a folder.
    Every member is then unpacked into a hidden staging folder inside `root` (the same file
    system), never past its declared size, and checked against the export's own list of files
    and sha256 sums; only then are the files moved into place. A damaged, incomplete, oversized
    or altered zip is refused naming the file and the limit, and `root` is left exactly as it was.
    Nothing is ever written outside `root`, even through a symbolic link. A file that exists with
    different contents is kept as a backup (name.backup-YYYYMMDD-HHMM.ext), so restoring never
    loses anything. Returns {"added": [...], "replaced": {path: backup}, "unchanged": [...]}.
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
    name = zip_path.name
    with zipfile.ZipFile(zip_path) as zf:
        infos = zf.infolist()
        _check_limits(infos, name)
        listed = _manifest_files(zf, infos, name)
        files, folders = _plan(infos, name)
        made_root = not root.exists()
        root.mkdir(parents=True, exist_ok=True)
        root_real = Path(os.path.realpath(root))
        staging = Path(tempfile.mkdtemp(prefix=".import-work-", dir=root))
        try:
            for key in sorted(files) + sorted(folders):  # files first: errors name the member
                target = root.joinpath(*key.split("/"))
                _inside(root_real, target, files[key].filename if key in files else key)
                try:
                    is_dir, is_other = target.is_dir(), target.exists() or target.is_symlink()
                except OSError as exc:  # e.g. a name too long for this file system
                    raise _refused(
                        name, f"holds {key!r}, which cannot be written here ({exc.strerror or exc})"
                    ) from None
                if key in files and is_dir:
                    raise _refused(name, f"holds the file {key!r}, but this folder has a folder of that name")
                if key in folders and is_other and not is_dir:
                    raise _refused(name, f"needs {key!r} as a folder, but this folder has a file of that name")
            staged, budget = {}, LIMITS["total_bytes"]
            for key, info in files.items():
                dest = staging.joinpath(*key.split("/"))
                try:
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    size, sha = _stream(zf, info, dest, name, budget)
                except OSError as exc:
                    raise _refused(
                        name, f"holds {key!r}, which cannot be written here ({exc.strerror or exc})"
                    ) from None
                budget -= size
                staged[key] = (dest, size, sha)
            _verify(staged, listed, name)
            added, replaced, unchanged = _commit(root, staged, folders, name)
        except BaseException:
            if made_root:
                shutil.rmtree(staging, ignore_errors=True)
                shutil.rmtree(root, ignore_errors=True)
            raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    print(
        f"Restored {len(added) + len(replaced)} file(s) from {name}: {len(added)} new, "
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


def reset_notebook(name: str, root: str | os.PathLike = ".", shipped: str | os.PathLike | bytes | None = None) -> Path:
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
        raise FileNotFoundError(
            f"reset_notebook: {name} not found in {root.resolve()}; check the name in the file list."
        )
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
        raise ValueError(
            f"reset_notebook: the original {name} is not valid notebook JSON ({exc}); nothing was changed."
        ) from exc
    backup = _backup_path(current)
    atomic_write(backup, current.read_bytes())
    atomic_write(current, original)
    print(
        f"{name} is the course's version again; your copy is {backup.name}. "
        "If it is open, close it without saving and open it again."
    )
    return backup
