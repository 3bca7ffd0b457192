"""What the stock `jupyter lite build` is given: the student notebooks (never the sources),
the Shakespeare corpus, the course's lite_config/ with only the course's kernel extension.

Also the build's log line and where the repository's inputs are, for the other build modules.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from tinytorch import settings  # the environment variables' one home (TINYGPT_ prefix)

from . import site_check

REPO = Path(__file__).resolve().parents[1]
CONTENT = REPO / "content"
LITE_CONFIG = REPO / "lite_config"
CORPUS_NAME = "tinyshakespeare.txt"


def log(message: str) -> None:
    print(f"[site] {message}", flush=True)


def student_notebooks(content_dir: Path, dest: Path) -> list[Path]:
    """Student versions of the course notebooks (solutions stripped) written into dest.

    No fallback: if the builder cannot run, there is no site (copying the sources would ship
    the solutions).
    """
    from .notebooks import build_notebooks

    return [Path(p) for p in build_notebooks(content_dir, dest, version="student")]


CDN_NOTE = (
    "**Internet needed once:** this copy of the course loads numpy from the Pyodide CDN, so the "
    "first `import tinytorch` needs the internet (after that it works offline)."
)


def add_cdn_note(notebook: Path) -> None:
    """Put CDN_NOTE at the top of a notebook (builds with --numpy-from-cdn)."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    cell = {"cell_type": "markdown", "metadata": {"editable": False, "deletable": False}, "source": CDN_NOTE}
    if (nb.get("nbformat"), nb.get("nbformat_minor", 0)) >= (4, 5):
        cell["id"] = "numpy-from-cdn-note"
    nb["cells"].insert(0, cell)
    notebook.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def fail_on_leaks(site: Path, content_dir: Path, what: str) -> None:
    """Raise if anything for instructors only (solutions, hidden tests) is in `site`."""
    leaks = site_check.find_leaks(site, content_dir)
    if leaks:
        raise RuntimeError(
            f"{what} would show students what only instructors may see:\n  "
            + "\n  ".join(leaks[:20])
            + ("\n  ..." if len(leaks) > 20 else "")
        )


def find_corpus(corpus: str | os.PathLike | None, cache_dir: Path) -> Path:
    """The Shakespeare text to ship: --corpus, else $TINYGPT_CORPUS, else the cache, else download it."""
    from tinytorch.text.corpus import SHAKESPEARE_SHA256, SHAKESPEARE_URL, download_shakespeare, sha256_of

    chosen = corpus or settings.corpus_path()
    if chosen:
        path = Path(chosen).expanduser()
        if not path.is_file():
            raise FileNotFoundError(
                f"corpus {path} not found (from {'--corpus' if corpus else 'TINYGPT_CORPUS'}): "
                "give the path of tinyshakespeare.txt"
            )
        if sha256_of(path.read_bytes()) != SHAKESPEARE_SHA256:
            log(f"note: {path} is not the pinned tinyshakespeare.txt (SHA-256 differs); shipping it anyway")
        return path
    cached = cache_dir / CORPUS_NAME  # where load_shakespeare() keeps it too: one download serves both
    if not cached.is_file():
        log(f"downloading the Shakespeare corpus from {SHAKESPEARE_URL} (pinned SHA-256)")
        try:
            download_shakespeare(cached)
        except (OSError, ValueError) as error:  # no network (URLError is an OSError), or a damaged file
            raise RuntimeError(
                f"could not download the Shakespeare corpus from {SHAKESPEARE_URL} ({error}). "
                f"Download tinyshakespeare.txt yourself and pass it: --corpus PATH, or TINYGPT_CORPUS=PATH."
            ) from None
    return cached


def copy_config(lite: Path) -> None:
    """lite_config/ into the lite dir, with what only the build knows filled in."""
    for name in ("jupyter-lite.json", "overrides.json"):
        shutil.copy2(LITE_CONFIG / name, lite / name)
    config = json.loads((LITE_CONFIG / "jupyter_lite_config.json").read_text())
    build = config.setdefault("LiteBuildConfig", {})
    # Only the extensions the course needs, whatever else this Python has installed
    # (nbgrader's or jupytext's lab extensions must not appear in the students' site).
    build["federated_extensions"] = [str(kernel_extension_dir())]
    (lite / "jupyter_lite_config.json").write_text(json.dumps(config, indent=2))


def kernel_extension_dir() -> Path:
    """The installed @jupyterlite/pyodide-kernel-extension folder (from jupyterlite-pyodide-kernel)."""
    from jupyter_core.paths import jupyter_path

    for root in jupyter_path("labextensions"):
        candidate = Path(root) / "@jupyterlite" / "pyodide-kernel-extension"
        if (candidate / "package.json").is_file():
            return candidate
    raise FileNotFoundError("the Pyodide kernel extension is not installed: pip install -e '.[site]'")
