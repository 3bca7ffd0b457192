"""benchmarks/profile_step.py: the profile the benchmark notes quote must group time correctly."""

import os
import subprocess
import sys
from pathlib import Path

from benchmarks.profile_step import kind_of

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def test_matrix_products_are_the_kernels_and_the_product_calls():
    assert kind_of("/repo/tinytorch/kernels.py", "matmul_nt").startswith("matrix products")
    assert kind_of("~", "<built-in method numpy._core._multiarray_umath.c_einsum>").startswith("matrix products")
    assert kind_of("~", "<method 'reduce' of 'numpy.ufunc' objects>").startswith("numpy calls")
    assert kind_of("/repo/tinytorch/nn/functional.py", "gelu").startswith("ops' own lines")


def test_profile_of_a_real_step_adds_up():
    env = {**os.environ, "PYTHONPATH": str(BENCHMARKS.parent), "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "profile_step.py"), "--preset", "tiny", "--steps", "2"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    shares = [
        float(line.rsplit(None, 1)[1].rstrip("%"))
        for line in done.stdout.splitlines()
        if line.startswith("  ") and line.rstrip().endswith("%")
    ]
    assert len(shares) == 3 and abs(sum(shares) - 100) < 0.5, done.stdout
    assert "matrix products (tinytorch/kernels.py)" in done.stdout
    assert "calls/step" in done.stdout
