"""`import tinytorch` without numpy: one short explanation, not a traceback.

In the browser this happens on a first visit offline or on a site deployed without numpy.
The kernel there is IPython's: an exception with `_render_traceback_()` is shown as exactly
those lines. Here a real IPython shell runs the import with numpy blocked (a meta-path finder
that refuses it), in a subprocess so this test session's numpy stays loaded. The browser shows
the same message (tests/site/test_course_in_browser.py checks the offline reload path).
"""

import subprocess
import sys

from _site_helpers import REPO

BLOCK_NUMPY_AND_RUN = r"""
import sys
class NoNumpy:
    def find_spec(self, name, path=None, target=None):
        if name == "numpy" or name.startswith("numpy."):
            raise ModuleNotFoundError("No module named 'numpy'", name="numpy")
sys.meta_path.insert(0, NUMPY_FINDER())
sys.platform = PLATFORM
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance(colors="nocolor")
result = shell.run_cell("import tinytorch")
print("RESULT", type(result.error_in_exec).__name__, isinstance(result.error_in_exec, ImportError))
"""


# What the browser gets when numpy's wheel is refused but numpy_bytecode (its bytecode, in a
# wheel of its own) unpacked: a numpy/ folder with only __pycache__/ in it, which Python imports
# as an empty namespace package.
FOLDER_WITHOUT_NUMPY = r"""
import importlib.machinery, tempfile
class FolderWithoutNumpy:
    def find_spec(self, name, path=None, target=None):
        if name == "numpy":
            spec = importlib.machinery.ModuleSpec("numpy", None, is_package=True)
            spec.submodule_search_locations = [tempfile.mkdtemp()]
            return spec
"""


def _run(platform: str, finder: str = "NoNumpy") -> str:
    code = BLOCK_NUMPY_AND_RUN.replace("PLATFORM", repr(platform)).replace("NUMPY_FINDER", finder)
    if finder == "FolderWithoutNumpy":
        code = FOLDER_WITHOUT_NUMPY + code
    run = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
    return run.stdout + run.stderr


def test_native_import_without_numpy_says_pip_install_numpy():
    out = _run("linux")
    assert "RESULT NumpyUnavailableError True" in out, out  # still an ImportError for code that catches one
    assert "tinytorch needs numpy" in out and "pip install numpy" in out, out
    assert "Traceback" not in out and 'File "' not in out, f"a traceback was shown:\n{out}"
    assert len(out.strip().splitlines()) <= 4, out


def test_browser_import_without_numpy_says_what_to_do():
    out = _run("emscripten")
    assert "RESULT NumpyUnavailableError True" in out, out
    assert "did not load in this browser tab" in out and "reload the page" in out and "instructor" in out, out
    assert "pip install" not in out, out
    assert "Traceback" not in out and 'File "' not in out, f"a traceback was shown:\n{out}"


def test_a_numpy_folder_without_numpy_in_it_is_explained_the_same_way():
    out = _run("emscripten", finder="FolderWithoutNumpy")
    assert "RESULT NumpyUnavailableError True" in out, out
    assert "did not load in this browser tab" in out and "empty namespace package" in out, out
    assert "Traceback" not in out and 'File "' not in out, f"a traceback was shown:\n{out}"
