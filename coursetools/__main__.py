"""`python -m coursetools build|serve`: build the course site, serve it on 127.0.0.1."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv=None) -> int:
    from .site import DEFAULT_CACHE, DEFAULT_OUT

    parser = argparse.ArgumentParser(prog="python -m coursetools", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    def build_options(p):
        p.add_argument("--pyodide", metavar="DIST", default=None,
                       help="full Pyodide release to self-host numpy from: folder, .tar.bz2 or URL "
                            "(default: $TINYGPT_PYODIDE_DIST; without it numpy comes from the Pyodide CDN)")
        p.add_argument("--corpus", metavar="PATH", default=None,
                       help="local tinyshakespeare.txt (default: $TINYGPT_CORPUS, else download it, SHA-256 checked)")
        p.add_argument("--out", metavar="DIR", type=Path, default=DEFAULT_OUT, help="output folder (default: site/)")
        p.add_argument("--sourcemaps", dest="sourcemaps", action="store_true", help="keep JavaScript source maps (about +45 MB)")
        p.add_argument("--no-sourcemaps", dest="sourcemaps", action="store_false", help="drop source maps (the default)")
        p.add_argument("--cache", metavar="DIR", type=Path, default=DEFAULT_CACHE, help="download cache (default: .cache/)")
        p.set_defaults(sourcemaps=False)

    build = commands.add_parser("build", help="build the site")
    build_options(build)
    serve = commands.add_parser("serve", help="serve the site on 127.0.0.1")
    build_options(serve)
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--build", action="store_true", help="build the site first")
    args = parser.parse_args(argv)

    if args.command == "build" or args.build:
        from .site import build_site

        try:
            build_site(out=args.out, pyodide=args.pyodide, corpus=args.corpus, sourcemaps=args.sourcemaps, cache_dir=args.cache)
        except (RuntimeError, FileNotFoundError, KeyError, OSError) as error:
            print(f"build failed: {error}", file=sys.stderr)
            return 1
    if args.command == "serve":
        from .serve import serve as serve_site

        serve_site(args.out, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
