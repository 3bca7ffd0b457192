"""`python -m coursetools build|serve|check|grade`: build the course site, serve it on 127.0.0.1, check a built site,
grade hand-ins with nbgrader (coursetools/grading.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv=None) -> int:
    from .site import DEFAULT_OUT

    parser = argparse.ArgumentParser(prog="python -m coursetools", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    def build_options(p):
        p.add_argument(
            "--numpy-wheel",
            metavar="PATH|URL",
            default=None,
            help="Pyodide's numpy wheel to self-host, checked against the official Pyodide lock "
            "(default: $TINYGPT_NUMPY_WHEEL, else the download cache, else Pyodide's CDN)",
        )
        p.add_argument(
            "--numpy-from-cdn",
            action="store_true",
            help="ship no numpy: students' first `import tinytorch` then needs the internet (the notebooks say so)",
        )
        p.add_argument(
            "--pyodide",
            metavar="DIST",
            default=None,
            help="a full Pyodide release to self-host instead of the npm core: folder, .tar.bz2 or URL "
            "(default: $TINYGPT_PYODIDE_DIST)",
        )
        p.add_argument(
            "--corpus",
            metavar="PATH",
            default=None,
            help="local tinyshakespeare.txt (default: $TINYGPT_CORPUS, else download it, SHA-256 checked)",
        )
        p.add_argument("--out", metavar="DIR", type=Path, default=DEFAULT_OUT, help="output folder (default: site/)")
        p.add_argument(
            "--sourcemaps", dest="sourcemaps", action="store_true", help="keep JavaScript source maps (about +45 MB)"
        )
        p.add_argument(
            "--no-sourcemaps", dest="sourcemaps", action="store_false", help="drop source maps (the default)"
        )
        p.add_argument(
            "--cache",
            metavar="DIR",
            type=Path,
            default=None,
            help="download cache (default: $TINYGPT_CACHE, else ~/.cache/tinytorch)",
        )
        p.set_defaults(sourcemaps=False)

    build = commands.add_parser("build", help="build the site")
    build_options(build)
    serve = commands.add_parser("serve", help="serve the site on 127.0.0.1")
    build_options(serve)
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--build", action="store_true", help="build the site first")
    check = commands.add_parser("check", help="check a built site: numpy self-hosted, no solution shipped")
    check.add_argument("site", type=Path, nargs="?", default=DEFAULT_OUT, help="the built site (default: site/)")
    check.add_argument("--numpy-from-cdn", action="store_true", help="accept a site built with --numpy-from-cdn")
    from .grading_cli import add_commands as add_grading

    add_grading(commands)
    args = parser.parse_args(argv)

    if args.command == "grade":
        from .grading_cli import run as run_grading

        return run_grading(args)

    if args.command == "check":
        from .site_check import check_site
        from .site_inputs import CONTENT

        problems = check_site(args.site, CONTENT, allow_numpy_from_cdn=args.numpy_from_cdn)
        for problem in problems:
            print(f"check failed: {problem}", file=sys.stderr)
        if not problems:
            print(f"{args.site}: numpy self-hosted, no solutions or hidden tests shipped")
        return 1 if problems else 0
    if args.command == "build" or args.build:
        from .site import build_site

        try:
            build_site(
                out=args.out,
                pyodide=args.pyodide,
                corpus=args.corpus,
                sourcemaps=args.sourcemaps,
                cache_dir=args.cache,
                numpy_wheel=args.numpy_wheel,
                numpy_from_cdn=args.numpy_from_cdn,
            )
        except (RuntimeError, FileNotFoundError, KeyError, OSError) as error:
            print(f"build failed: {error}", file=sys.stderr)
            return 1
    if args.command == "serve":
        from .serve import serve as serve_site

        try:
            serve_site(args.out, port=args.port)
        except FileNotFoundError as error:
            print(f"serve failed: {error}", file=sys.stderr)
            return 1
        except OSError as error:  # EADDRINUSE and friends
            print(
                f"serve failed: port {args.port} on 127.0.0.1 is not available ({error.strerror or error}); "
                f"another server (an earlier `serve`?) may be using it: stop it, or pick another port with --port N",
                file=sys.stderr,
            )
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
