"""Bytecode for what a kernel start imports, so the browser does not compile it on every start.

Pyodide ships its standard library and the kernel's packages (IPython, prompt_toolkit, pygments,
traitlets, ...) as `.py` source, and its file system lives in memory: every kernel start compiled
about 850 modules again, in wasm. Measured in Pyodide under Node, `import IPython` took 3.7 s
from source and 0.7-0.9 s from bytecode; Pyodide itself started in 2.9 s instead of 1.2 s.

The build starts the site's own Pyodide in Node (`bytecode.mjs`) with the packages the kernel
preloads, imports what the kernel and `import tinytorch` import, and adds a `.pyc` beside each
of those modules' sources, in the archive it came from:

- `python_stdlib.zip`: `name.pyc` next to `name.py` (zipimport's layout);
- pure-Python wheels: `__pycache__/name.cpython-3XX.pyc` (the import system's layout), RECORD
  updated, and the lock's sha256 rewritten to the new file.

The `.py` files stay, so tracebacks and `inspect.getsource` show source. The bytecode is
"unchecked-hash" (PEP 552): imported without reading the source, written by the very
interpreter that reads it, beside the very source it was compiled from (the browser unpacks
both together at every start, so it cannot go stale). Bytecode from another Python would be
ignored (another magic number) and the source compiled: slower, never wrong.

Binary wheels (numpy, whose hash Pyodide's official lock pins) stay byte for byte. Their
bytecode goes into a wheel of its own (`numpy_bytecode-<version>`, bytecode only, listed in the
lock as needing numpy; whatever else needs numpy, tinytorch, needs it too): unpacked into the
same site-packages, each `.pyc` lands beside its source. `import numpy` took 0.75-0.93 s from
source in Pyodide under Node and 0.17-0.20 s with it (0.8 MB, downloaded once).

Only modules a start imports get bytecode (about 750 of 1,500 sources): the archives grow from
10.0 to 16.1 MB, downloaded once.

The part below the line runs inside Pyodide (imported there as a top-level module), so it uses
the standard library only.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

RUNNER = Path(__file__).with_name("bytecode.mjs")
STDLIB_ARCHIVE = "python_stdlib.zip"
#: The kernel's own wheels: installed from its extension's folder after Pyodide starts, with
#: hashes in that folder's index. They stay source (about 15 small modules); the build only
#: loads them, to import what they import.
KERNEL_OWN = ("piplite", "pyodide_kernel", "ipykernel")


class NoBytecode(RuntimeError):
    """The build could not add bytecode: the site works, its kernels start slower."""


def shipped_here(lock: dict, packages: list[str]) -> list[str]:
    """The packages the lock lists as files of this site, with all they depend on.

    A package the lock loads from another origin (numpy with --numpy-from-cdn), or one that
    needs it, is left out: the build may be offline, and that bytecode would not ship anyway.
    """
    from .pyodide_lock import dependency_closure, from_another_origin, normalize

    remote = {key for key, entry in lock["packages"].items() if from_another_origin(entry["file_name"])}
    listed = {normalize(key) for key in lock["packages"]}
    return [
        name for name in packages if normalize(name) in listed and not set(dependency_closure(lock, [name])) & remote
    ]


def add_bytecode(pyodide_dir: Path, packages: list[str], kernel_wheel_dir: Path) -> dict:
    """Add bytecode to a built site's `static/pyodide/` archives; returns the in-Pyodide report.

    packages: what the kernel preloads (`loadPyodideOptions.packages` of the built config);
    kernel_wheel_dir: the kernel extension's own wheels (KERNEL_OWN are loaded from there).
    """
    from .pyodide_lock import LOCK, sha256_file

    lock_path = Path(pyodide_dir) / LOCK
    lock = json.loads(lock_path.read_text())
    packages = shipped_here(lock, packages)
    kernel_wheels = sorted(p for p in Path(kernel_wheel_dir).glob("*.whl") if p.name.split("-")[0] in KERNEL_OWN)
    node = shutil.which("node")
    if node is None:
        raise NoBytecode(
            "Node.js is not installed, so the build cannot run Pyodide to compile the kernel's "
            "modules: the site works, but every kernel start compiles them again (~4 s). "
            "Install Node.js (apt-get install nodejs) and rebuild."
        )
    run = subprocess.run(
        [node, str(RUNNER), str(pyodide_dir), json.dumps(list(packages)), *map(str, kernel_wheels)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if run.returncode != 0:
        raise RuntimeError(
            f"compiling the kernel's modules in Pyodide failed (node {RUNNER.name}, exit "
            f"{run.returncode}):\n{run.stderr[-3000:]}"
        )
    report = json.loads(run.stdout.strip().splitlines()[-1])
    for entry in lock["packages"].values():
        if entry["file_name"] in report["archives"]:
            entry["sha256"] = sha256_file(Path(pyodide_dir) / entry["file_name"])
    lock_path.write_text(json.dumps(lock, indent=1, sort_keys=True))
    for package, wheel in report["bytecode_wheels"].items():
        list_bytecode_wheel(Path(pyodide_dir), package, wheel)
    return report


def list_bytecode_wheel(pyodide_dir: Path, package: str, wheel: str) -> None:
    """Put a bytecode wheel in the lock (it needs `package`), and make every entry that needs
    `package`, apart from `package` itself, need the bytecode too. The package's own entry is
    left as Pyodide wrote it."""
    from .pyodide_lock import LOCK, add_wheel, normalize

    add_wheel(pyodide_dir, pyodide_dir / wheel, depends=[package], imports=[])
    lock_path = pyodide_dir / LOCK
    lock = json.loads(lock_path.read_text())
    name = normalize(wheel.split("-")[0])
    for key, entry in lock["packages"].items():
        if key not in (package, name) and package in entry["depends"] and name not in entry["depends"]:
            entry["depends"].append(name)
    lock_path.write_text(json.dumps(lock, indent=1, sort_keys=True))


# ----------------------------------------------------------------------------- inside Pyodide


def start_like_the_kernel() -> None:
    """Import what a kernel start and the course's `import tinytorch` import."""
    import importlib
    import pkgutil

    import piplite.piplite  # noqa: F401  the kernel's package manager
    import pyodide_kernel  # noqa: F401  IPython, the shell, the display machinery

    try:
        import tinytorch
    except ImportError:  # a site that loads numpy from the CDN: nothing of ours is preloaded
        return
    for module in pkgutil.walk_packages(tinytorch.__path__, "tinytorch."):
        try:
            importlib.import_module(module.name)
        except ImportError:  # a view that needs an optional package the site does not ship
            pass


def _runtime_homes() -> dict[str, str]:
    """{folder a module's __file__ starts with: "stdlib" (the zip) or "wheels" (site-packages)}."""
    homes = {p + "/": "stdlib" for p in sys.path if p.endswith(".zip")}
    homes.update({p + "/": "wheels" for p in sys.path if p.endswith("site-packages")})
    return homes


def _wheel_owners(pyodide_dir: str) -> dict[str, str]:
    """{member path: wheel file name} for the pure-Python wheels we may rewrite."""
    owners = {}
    for name in sorted(os.listdir(pyodide_dir)):
        if name.endswith("-none-any.whl"):  # binary wheels (numpy) stay byte for byte official
            with zipfile.ZipFile(os.path.join(pyodide_dir, name)) as wheel:
                for member in wheel.namelist():
                    owners.setdefault(member, name)
    return owners


def _binary_packages(pyodide_dir: str) -> set[str]:
    """The top-level packages of this site's binary wheels (numpy), which must stay as shipped."""
    packages = set()
    for name in os.listdir(pyodide_dir):
        if name.endswith(".whl") and not name.endswith("-none-any.whl"):
            with zipfile.ZipFile(os.path.join(pyodide_dir, name)) as wheel:
                packages.update(m.split("/")[0] for m in wheel.namelist() if ".dist-info/" not in m)
    return packages


def _pyc(source: bytes, runtime_path: str) -> bytes:
    """Unchecked-hash bytecode for source, as importing runtime_path would compile it."""
    import importlib.util
    from importlib._bootstrap_external import _code_to_hash_pyc

    code = compile(source, runtime_path, "exec", dont_inherit=True)
    return bytes(_code_to_hash_pyc(code, importlib.util.source_hash(source), checked=False))


def _pyc_member(member: str, zipimport_layout: bool) -> str:
    if zipimport_layout:
        return member + "c"
    folder, _, file = member.rpartition("/")
    return f"{folder + '/' if folder else ''}__pycache__/{file[:-3]}.{sys.implementation.cache_tag}.pyc"


def _record_line(member: str, data: bytes) -> str:
    import base64
    import hashlib

    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{member},sha256={digest},{len(data)}"


def rewrite_archive(path: str, compile_members: dict[str, str], zipimport_layout: bool) -> int:
    """Rewrite the zip at path with bytecode beside each member in compile_members
    ({member: the path it has at run time}); returns how many were added."""
    added, records = 0, []
    tmp = path + ".part"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        names = set(src.namelist())
        record = next((n for n in names if n.endswith(".dist-info/RECORD")), None)
        for info in src.infolist():
            if info.filename == record:
                continue  # written last, with the bytecode listed
            data = src.read(info)
            dst.writestr(info, data)
            runtime_path = compile_members.get(info.filename)
            pyc_name = _pyc_member(info.filename, zipimport_layout) if runtime_path else None
            if runtime_path is None or pyc_name in names:
                continue
            try:
                pyc = _pyc(data, runtime_path)
            except (SyntaxError, ValueError):  # a file Python would not import either: leave it
                continue
            entry = zipfile.ZipInfo(pyc_name, date_time=info.date_time)
            entry.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(entry, pyc)
            records.append(_record_line(pyc_name, pyc))
            added += 1
        if record is not None:
            lines = src.read(record).decode("utf-8").rstrip("\n").split("\n") + records
            dst.writestr(src.getinfo(record), "\n".join(lines) + "\n")
    os.replace(tmp, path)
    return added


def write_bytecode_wheel(pyodide_dir: str, package: str, members: dict[str, str]) -> str:
    """A wheel holding only bytecode for `package`'s modules in members ({member: path at run
    time}), for a package whose own wheel must stay byte for byte (numpy: Pyodide's lock pins
    its hash). Unpacked into the same site-packages, each `.pyc` lands in the `__pycache__/`
    beside its source. Returns the wheel's file name."""
    from importlib.metadata import version

    name, release = f"{package}_bytecode", version(package)
    dist_info = f"{name}-{release}.dist-info"
    file_name = f"{name}-{release}-py3-none-any.whl"
    records = []
    with zipfile.ZipFile(os.path.join(pyodide_dir, file_name), "w", zipfile.ZIP_DEFLATED) as wheel:

        def add(member: str, data: bytes) -> None:
            entry = zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0))  # the same bytes every build
            entry.compress_type = zipfile.ZIP_DEFLATED
            wheel.writestr(entry, data)
            records.append(_record_line(member, data))

        for member, runtime_path in sorted(members.items()):
            with open(runtime_path, "rb") as f:
                try:
                    pyc = _pyc(f.read(), runtime_path)
                except (SyntaxError, ValueError):
                    continue
            add(_pyc_member(member, zipimport_layout=False), pyc)
        add(
            f"{dist_info}/METADATA",
            (
                f"Metadata-Version: 2.1\nName: {name}\nVersion: {release}\n"
                f"Summary: bytecode for the modules of {package} {release} a kernel start imports\n"
            ).encode(),
        )
        add(
            f"{dist_info}/WHEEL",
            b"Wheel-Version: 1.0\nGenerator: coursetools/bytecode.py\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        records.append(f"{dist_info}/RECORD,,")
        entry = zipfile.ZipInfo(f"{dist_info}/RECORD", date_time=(1980, 1, 1, 0, 0, 0))
        wheel.writestr(entry, "\n".join(records) + "\n")
    return file_name


def compile_what_a_start_imports(pyodide_dir: str) -> str:
    """Start like the kernel, then add bytecode for every module that start imported. JSON report."""
    started = time.perf_counter()
    start_like_the_kernel()
    imported = sorted(
        {
            m.__file__
            for m in list(sys.modules.values())
            if isinstance(getattr(m, "__file__", None), str) and m.__file__.endswith(".py")
        }
    )
    homes, owners, binary_packages = _runtime_homes(), _wheel_owners(pyodide_dir), _binary_packages(pyodide_dir)
    plan: dict[tuple[str, bool], dict[str, str]] = {}
    binary: dict[str, dict[str, str]] = {}
    left = set()
    for runtime_path in imported:
        home = next((h for h in homes if runtime_path.startswith(h)), None)
        member = runtime_path[len(home) :] if home else None
        if home and homes[home] == "stdlib":
            plan.setdefault((STDLIB_ARCHIVE, True), {})[member] = runtime_path
        elif member in owners:
            plan.setdefault((owners[member], False), {})[member] = runtime_path
        elif home and member.split("/")[0] in binary_packages:  # numpy: a wheel of its own
            binary.setdefault(member.split("/")[0], {})[member] = runtime_path
        elif home:  # KERNEL_OWN: installed from the kernel extension's folder, not this one
            left.add(member.split("/")[0])
    archives = {}
    for (name, zipimport_layout), members in sorted(plan.items()):
        archives[name] = rewrite_archive(os.path.join(pyodide_dir, name), members, zipimport_layout)
    return json.dumps(
        {
            "modules": len(imported),
            "archives": archives,
            "bytecode_wheels": {
                package: write_bytecode_wheel(pyodide_dir, package, members)
                for package, members in sorted(binary.items())
            },
            "left_as_source": sorted(left),
            "seconds": round(time.perf_counter() - started, 1),
        }
    )
