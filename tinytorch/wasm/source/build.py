"""Build tinytorch/wasm/kernels.wasm from kernels.c, and check the module can only touch what it is given.

    python tinytorch/wasm/source/build.py            # rebuild tinytorch/wasm/kernels.wasm
    python tinytorch/wasm/source/build.py --check    # rebuild in memory, compare with the shipped file

This folder is not a package: the source and this script stay in the repository, only the
.wasm ships in the wheel (pyproject.toml, package-data).
Needs clang and lld (Debian: `apt-get install clang lld`). The shipped .wasm was built with
clang CLANG_MAJOR; another major version may emit different (equally valid) bytes, so
tests/core/test_wasm_build.py compares byte for byte only under that version.

The module shares Pyodide's memory, so it must not bring anything of its own into it:
`check_module` refuses a data section (it would be copied over Pyodide's heap at load), a
memory of its own, any import but env.memory, and any use of a global (the C stack pointer:
a function that spilled to the stack would write below an arbitrary address).
"""

import argparse
import importlib.util
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parent / "kernels.c"  # beside the module it builds (not in the wheel: only .wasm is package data)
TARGET = HERE.parent / "kernels.wasm"
CLANG_MAJOR = 14
FLAGS = [
    "--target=wasm32",
    "-msimd128",
    "-O3",
    "-ffreestanding",
    "-fno-builtin",
    "-nostdlib",
    "-Wl,--no-entry",
    "-Wl,--import-memory",
    "-Wl,--strip-all",
]


def _load_leb128():
    """tinytorch/wasm/leb128.py, loaded by its path: this folder is not a package, and the reader
    of the binary format's numbers has one home, beside the module that ships."""
    spec = importlib.util.spec_from_file_location("tinytorch_wasm_leb128", HERE.parent / "leb128.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


read_leb = _load_leb128().read_leb

# section ids of the WebAssembly binary format
IMPORT, MEMORY, START, CODE, DATA, DATA_COUNT = 2, 5, 8, 10, 11, 12


def clang_major(clang: str = "clang"):
    """The major version of `clang`, or None when it (or lld) is not installed."""
    if not (shutil.which(clang) and (shutil.which("wasm-ld") or shutil.which("lld"))):
        return None
    out = subprocess.run([clang, "--version"], capture_output=True, text=True).stdout
    words = out.split("version", 1)[-1].split()
    return int(words[0].split(".")[0]) if words else None


def compile_module(clang: str = "clang") -> bytes:
    """kernels.c compiled and linked; raises with clang's message when it fails."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "kernels.wasm"
        # relative source path, run from its folder: the bytes must not depend on where the repo lives
        done = subprocess.run(
            [clang, *FLAGS, "-o", str(out), SOURCE.name], cwd=SOURCE.parent, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(f"building {SOURCE.name} failed:\n{done.stderr}")
        binary = out.read_bytes()
    check_module(binary)
    check_no_globals_used(binary)
    return binary


def sections(binary: bytes) -> dict:
    """{section id: payload bytes} of a WebAssembly binary (custom sections, id 0, skipped)."""
    if binary[:8] != b"\0asm\x01\0\0\0":
        raise ValueError("not a WebAssembly 1.0 binary")
    out, i = {}, 8
    while i < len(binary):
        sid = binary[i]
        size, i = read_leb(binary, i + 1)
        if sid:
            out[sid] = binary[i : i + size]
        i += size
    return out


def imports(binary: bytes) -> list:
    """[(module, name, kind)] imported by the binary (kind 2 = memory)."""
    payload = sections(binary).get(IMPORT, b"")
    if not payload:
        return []
    count, i = read_leb(payload, 0)
    found = []
    for _ in range(count):
        names = []
        for _ in range(2):
            n, i = read_leb(payload, i)
            names.append(payload[i : i + n].decode())
            i += n
        kind = payload[i]
        i += 1
        if kind == 2:  # memory: limits flag, min, [max]
            flag = payload[i]
            _, i = read_leb(payload, i + 1)
            if flag & 1:
                _, i = read_leb(payload, i)
        else:
            raise ValueError(f"unexpected import {names} of kind {kind}: the kernels import only env.memory")
        found.append((names[0], names[1], kind))
    return found


def check_module(binary: bytes) -> None:
    """Raise unless the module brings no memory, data or start function and imports only env.memory."""
    present = sections(binary)
    for sid, what in (
        (DATA, "a data section"),
        (DATA_COUNT, "a data count section"),
        (MEMORY, "a memory of its own"),
        (START, "a start function"),
    ):
        if sid in present:
            raise ValueError(f"kernels.wasm has {what}: it shares Pyodide's memory and must bring nothing into it")
    if imports(binary) != [("env", "memory", 2)]:
        raise ValueError(f"kernels.wasm must import exactly env.memory, it imports {imports(binary)}")


def check_no_globals_used(binary: bytes) -> None:
    """Raise if any function reads or writes a global (the stack pointer); needs llvm-objdump."""
    objdump = shutil.which("llvm-objdump") or shutil.which(f"llvm-objdump-{CLANG_MAJOR}")
    if not objdump:
        raise RuntimeError("llvm-objdump is needed to check that no kernel uses the C stack (install llvm)")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "kernels.wasm"
        path.write_bytes(binary)
        listing = subprocess.run([objdump, "-d", str(path)], capture_output=True, text=True, check=True).stdout
    used = [line.strip() for line in listing.splitlines() if "global.get" in line or "global.set" in line]
    if used:
        raise ValueError(
            f"a kernel uses the C stack (a global): {used[:3]}: keep kernels free of local arrays "
            "that cannot live in registers"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare a fresh build with the shipped kernels.wasm")
    parser.add_argument("--clang", default="clang")
    args = parser.parse_args()
    major = clang_major(args.clang)
    if major is None:
        print("clang and lld are needed (apt-get install clang lld)", file=sys.stderr)
        return 2
    if major != CLANG_MAJOR:
        print(f"warning: clang {major}, the shipped module was built with clang {CLANG_MAJOR}", file=sys.stderr)
    binary = compile_module(args.clang)
    if args.check:
        same = TARGET.is_file() and TARGET.read_bytes() == binary
        print(f"{TARGET.name}: {'matches' if same else 'DIFFERS from'} {SOURCE.name} ({len(binary)} bytes built)")
        return 0 if same else 1
    TARGET.write_bytes(binary)
    print(f"wrote {TARGET} ({len(binary)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
