"""The tiny Shakespeare corpus (Karpathy's char-rnn): where to find it, and checking it.

`load_shakespeare()` looks, in order, at:
    1. the `path` you pass;
    2. the file named by the environment variable TINYGPT_CORPUS (tinytorch.settings);
    3. the copy shipped with the browser course (/drive/data/tinyshakespeare.txt) or a
       `data/tinyshakespeare.txt` in this folder or its parent;
    4. the download cache (tinytorch.settings.cache_root(): TINYGPT_CACHE, else ~/.cache/tinytorch);
    5. the internet: SHAKESPEARE_URL, checked against SHAKESPEARE_SHA256, saved to the cache.
"""

import hashlib
import sys
from pathlib import Path

from .. import settings
from ..files import atomic_write

SHAKESPEARE_URL = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
SHAKESPEARE_FILENAME = "tinyshakespeare.txt"

# Where the browser course ships the corpus (JupyterLite's file system), then local checkouts.
SHIPPED_LOCATIONS = (
    Path("/drive/data") / SHAKESPEARE_FILENAME,
    Path("data") / SHAKESPEARE_FILENAME,
    Path("..") / "data" / SHAKESPEARE_FILENAME,
)


def sha256_of(data: bytes) -> str:
    """Hex SHA-256 of some bytes."""
    return hashlib.sha256(data).hexdigest()


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    if not data:
        raise ValueError(f"the corpus file {str(path)!r} is empty: pass the path of the real text file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"the corpus file {str(path)!r} is not UTF-8 text ({error})") from None


def _check_found_file(path: Path, data: bytes, sha256) -> None:
    """A corpus found at an automatic location must have the expected SHA-256, or a clear error."""
    got = sha256_of(data)
    if sha256 is not None and got != sha256:
        raise ValueError(
            f"found a corpus at {str(path)!r}, but its SHA-256 is {got}, not the expected {sha256} "
            f"({len(data)} bytes): it is damaged or a different text. Replace or delete it, or pass it "
            "explicitly to use it anyway: load_shakespeare(path)"
        )


def load_shakespeare(path=None, cache_dir=None, url=SHAKESPEARE_URL, sha256=SHAKESPEARE_SHA256) -> str:
    """The tiny Shakespeare text (about 1.1 million characters) as one str.

    path:      a local file to read (skips every other place).
    cache_dir: where a download is kept (default: tinytorch.settings.cache_root()).
    url, sha256: where to download from and the hash it must have (tests point these at a
               local server; the defaults are the canonical char-rnn file).
    """
    if path is not None:
        path = Path(path).expanduser()
        if not path.is_file():
            raise FileNotFoundError(
                f"no corpus file at {str(path)!r}: check the path, or call load_shakespeare() "
                "without a path to use the shipped or downloaded copy"
            )
        return _read_text(path)

    env_path = settings.corpus_path()
    if env_path is not None:
        if not env_path.is_file():
            raise FileNotFoundError(
                f"TINYGPT_CORPUS is set to {str(env_path)!r} but there is no file there: fix or unset the variable"
            )
        return _read_text(env_path)

    # Files found by looking around are used only if they are the text we expect: a truncated
    # copy or another file with the same name must never train a model silently.
    for shipped in SHIPPED_LOCATIONS:
        if shipped.is_file():
            data = shipped.read_bytes()
            _check_found_file(shipped, data, sha256)
            return _read_text(shipped)

    cache = Path(cache_dir).expanduser() if cache_dir is not None else settings.cache_root()
    cached = cache / SHAKESPEARE_FILENAME
    damaged = ""
    if cached.is_file():
        data = cached.read_bytes()
        if sha256 is None or sha256_of(data) == sha256:
            return data.decode("utf-8")
        # A damaged cache (an interrupted copy, an edited file): fetch a fresh one.
        damaged = f"The cached copy {str(cached)!r} failed its SHA-256 check and was not used. "

    try:
        download_shakespeare(cached, url=url, sha256=sha256)
    except ValueError:
        raise  # a hash mismatch: its message already says what was expected and what came
    except Exception as error:  # no network (URLError is an OSError), or no sockets (Pyodide)
        in_browser = sys.platform == "emscripten"
        where = (
            f"The browser course ships it as {SHIPPED_LOCATIONS[0]}: open the course page "
            "online once so it is stored, or upload the file there. "
            if in_browser
            else ""
        )
        raise FileNotFoundError(
            f"could not find the Shakespeare corpus locally and could not download it from "
            f"{url} ({type(error).__name__}: {error}). {damaged}{where}Download tinyshakespeare.txt "
            "yourself (or copy it from the course) and pass its path: "
            "load_shakespeare('path/to/tinyshakespeare.txt'), or set the environment variable "
            "TINYGPT_CORPUS to that path."
        ) from None
    return _read_text(cached)


def download_shakespeare(dest, url=SHAKESPEARE_URL, sha256=SHAKESPEARE_SHA256, timeout=60.0) -> Path:
    """Download the corpus to `dest`, check its SHA-256, and write it atomically. Returns dest.

    Used by load_shakespeare's cache and by the site build. A hash mismatch raises ValueError
    (naming the expected and received hashes) and leaves nothing at `dest`.
    """
    import urllib.request  # only when downloading: Pyodide reads the shipped file instead

    dest = Path(dest).expanduser()
    with urllib.request.urlopen(url, timeout=timeout) as response:
        data = response.read()
    got = sha256_of(data)
    if sha256 is not None and got != sha256:
        raise ValueError(
            f"the file downloaded from {url} has SHA-256 {got}, expected {sha256} "
            f"({len(data)} bytes). The download was damaged or the file changed; nothing was "
            "saved. Try again, or pass the path of a copy you trust."
        )
    return atomic_write(dest, data)  # a crash never leaves half a corpus in the cache


if __name__ == "__main__":  # python -m tinytorch.text.corpus site/files/data/tinyshakespeare.txt
    if len(sys.argv) != 2:
        sys.exit("usage: python -m tinytorch.text.corpus DEST  (downloads and checks the corpus)")
    print(f"saved {download_shakespeare(sys.argv[1])} (SHA-256 {SHAKESPEARE_SHA256})")
