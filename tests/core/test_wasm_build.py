"""kernels.wasm is what its source builds, and it brings nothing into the memory it shares.

The module runs inside Pyodide's own heap, so a data section, a memory of its own or a stack
would write over numpy's arrays. The shipped file is checked for that here on every machine;
with clang and lld installed it is rebuilt from tinytorch/wasm/kernels.c and must match
byte for byte.
"""

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "tinytorch" / "wasm" / "kernels.wasm"


def _build_module():
    spec = importlib.util.spec_from_file_location("wasm_build", REPO / "tinytorch" / "wasm" / "source" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _build_module()


def test_shipped_module_imports_only_pyodides_memory_and_has_no_data():
    binary = SHIPPED.read_bytes()
    build.check_module(binary)
    assert build.imports(binary) == [("env", "memory", 2)]


def test_the_check_refuses_a_module_with_data():
    data_section = bytes([build.DATA, 1, 0])  # a data section with no segments is already refused
    with pytest.raises(ValueError, match="data section"):
        build.check_module(SHIPPED.read_bytes() + data_section)


def test_shipped_module_is_exactly_what_its_source_builds():
    major = build.clang_major()
    if major is None:
        pytest.skip("clang and lld are not installed (apt-get install clang lld): cannot rebuild kernels.wasm")
    if major != build.CLANG_MAJOR:
        pytest.skip(
            f"clang {major} here; the shipped kernels.wasm is clang {build.CLANG_MAJOR}'s output, and "
            "other versions emit other (valid) bytes"
        )
    assert build.compile_module() == SHIPPED.read_bytes(), (
        "kernels.wasm is stale: run python tinytorch/wasm/source/build.py and commit the result"
    )


def test_the_helper_threads_copy_imports_a_shared_memory_and_is_otherwise_the_same():
    from tinytorch.wasm.threads import MAX_PAGES, shared_variant

    binary = SHIPPED.read_bytes()
    shared = shared_variant(binary)
    import_payload = build.sections(shared)[build.IMPORT]
    assert import_payload.endswith(b"memory\x02\x03" + bytes([2]) + b"\x80\x80\x02") and MAX_PAGES == 32768
    assert {k: v for k, v in build.sections(shared).items() if k != build.IMPORT} == {
        k: v for k, v in build.sections(binary).items() if k != build.IMPORT
    }


def test_the_wheel_ships_the_module_but_not_its_source():
    text = (REPO / "pyproject.toml").read_text()
    assert '"tinytorch.wasm" = ["kernels.wasm", "threads.js"]' in text
    assert 'exclude = ["tinytorch.wasm.source"]' in text
