"""tinytorch.viz stays out of the way: `import tinytorch` loads neither it nor IPython, and
the SVG views load neither IPython nor matplotlib (the browser has neither by default)."""

import subprocess
import sys
import textwrap


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_import_tinytorch_does_not_load_viz_or_ipython():
    assert (
        _run("""
        import sys, tinytorch
        print(sorted(m for m in ("tinytorch.viz", "IPython", "matplotlib") if m in sys.modules))
    """)
        == "[]"
    )


def test_views_render_without_ipython_or_matplotlib():
    assert (
        _run("""
        import sys
        import numpy as np
        import tinytorch.viz as viz
        w = np.tril(np.ones((4, 4))) / np.arange(1, 5)[:, None]
        for view in (viz.attention_heatmap(w, "ab c"), viz.head_view(w, "ab c"), viz.loss_curves([]),
                     viz.positional_view(T=8, d_model=4), viz.next_token_view(np.zeros(3), labels="abc"),
                     viz.attention_timelapse([(0, w), (1, w)], "ab c")):
            assert view._repr_html_()
        print(sorted(m for m in ("IPython", "matplotlib") if m in sys.modules))
    """)
        == "[]"
    )


def test_mpl_module_loads_only_when_asked_for():
    assert (
        _run("""
        import sys
        import tinytorch.viz as viz
        before = "matplotlib" in sys.modules
        viz.mpl.attention_heatmap
        print(before, "matplotlib" in sys.modules)
    """)
        == "False True"
    )
