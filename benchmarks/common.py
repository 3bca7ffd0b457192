"""Timing helpers shared by the benchmark scripts.

The benchmark machine is shared and noisy, so every comparison here is made *in the same
process, interleaved*: run A once, run B once, repeat, then take each side's median. A slow
patch caused by another process then hits both sides instead of one.
"""

import json
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np


def interleaved_medians(fns: dict, repeats: int, warmup: int = 2) -> dict:
    """Call every fn in `fns` (name -> zero-argument callable) round-robin.

    `warmup` rounds are discarded, then `repeats` rounds are timed.
    Returns name -> {"median": s, "min": s, "times": [s, ...]}.
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: {"median": statistics.median(ts), "min": min(ts), "times": ts} for name, ts in times.items()}


def peak_traced_bytes(fn) -> int:
    """Peak bytes allocated through Python/numpy while `fn()` runs (tracemalloc).

    numpy reports its array buffers to tracemalloc, so this is the step's peak working set
    of arrays on top of what was alive before the call (parameters, optimizer state).
    """
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - before


def max_rss_bytes() -> int:
    """The process's peak resident set size so far (ru_maxrss), or -1 where unavailable."""
    try:
        import resource
    except ImportError:  # Windows, Pyodide
        return -1
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024  # Linux reports KiB


def minor_faults() -> int:
    """Minor page faults of this process so far (0 where unavailable).

    A step that touches freshly mapped memory pays one fault per 4 KiB page. glibc returns
    freed heap memory to the OS when more than M_TRIM_THRESHOLD is free at the top of the
    heap, so an allocation pattern can pay tens of thousands of faults every step.
    """
    try:
        import resource
    except ImportError:
        return 0
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def counting_faults(fn, counts: dict, key: str):
    """Wrap fn so each call adds its minor page faults to counts[key]."""
    counts.setdefault(key, 0)

    def wrapped():
        before = minor_faults()
        result = fn()
        counts[key] += minor_faults() - before
        return result

    return wrapped


def numpy_description() -> dict:
    """numpy version, whether it has BLAS, and the BLAS thread setting of this process."""
    try:
        blas = np.__config__.CONFIG["Build Dependencies"]["blas"]
        blas_name = str(blas.get("name")) if blas.get("found") else "none"
    except (AttributeError, KeyError, TypeError):
        blas_name = "unknown"
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": blas_name,
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
        "cpus": os.cpu_count(),
    }


def fmt_ms(seconds: float) -> str:
    return f"{1e3 * seconds:8.1f} ms"


def fmt_mib(nbytes: int) -> str:
    return "n/a" if nbytes < 0 else f"{nbytes / 2**20:.1f} MiB"


# ----------------------------------------------------------------------------- worlds to compare

REPO = Path(__file__).resolve().parent.parent

#: A Python whose numpy was built without BLAS (the stand-in for Pyodide): $TINYGPT_NOBLAS_PYTHON.
NOBLAS_PYTHON = Path(os.environ.get("TINYGPT_NOBLAS_PYTHON", "no-BLAS python not configured"))
ENVIRONMENTS = {
    "blas1": ("this numpy, OpenBLAS 1 thread", sys.executable, {"OPENBLAS_NUM_THREADS": "1"}),
    "blas": ("this numpy, OpenBLAS default threads", sys.executable, {}),
    "noblas": ("no-BLAS numpy (browser proxy)", str(NOBLAS_PYTHON), {}),
}


def spawn(script, env_name, args, extra_env=None):
    """Run `script --worker ARGS` under one environment's Python; return its last JSON line.

    Thread counts are set here, in the child's environment, never inside the library.
    """
    _, python, env_vars = ENVIRONMENTS[env_name]
    env = {
        k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "TINYGPT_MATMUL", "TINYTORCH_MATMUL")
    }
    env.update(env_vars)
    env.update(extra_env or {})
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    done = subprocess.run([python, str(script), "--worker", *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{env_name} worker {args} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def noblas_ready() -> str:
    """Empty string when the no-BLAS numpy can be used, else why not."""
    if not NOBLAS_PYTHON.is_file():
        return (
            "set TINYGPT_NOBLAS_PYTHON to the python of a venv whose numpy has no BLAS "
            "(how to build one: benchmarks/README.md)"
        )
    return ""
