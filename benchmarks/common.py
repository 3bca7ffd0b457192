"""Timing helpers shared by the benchmark scripts.

The benchmark machine is shared and noisy, so every comparison here is made *in the same
process, interleaved*: run A once, run B once, repeat, then take each side's median. A slow
patch caused by another process then hits both sides instead of one.
"""

import os
import platform
import statistics
import sys
import time
import tracemalloc

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
    return {
        name: {"median": statistics.median(ts), "min": min(ts), "times": ts}
        for name, ts in times.items()
    }


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
