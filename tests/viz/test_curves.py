"""Loss curves (static SVG) and LiveLossCurve (one output updated in place in a real
Jupyter kernel; plain text without IPython)."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from _viz_helpers import assert_self_contained, assert_valid_html, by_class, parse_svg

from tinytorch.viz import LiveLossCurve, loss_curves


def _history(n=50, every=10, elapsed=True):
    rows = []
    for s in range(1, n + 1):
        rows.append(
            {
                "step": s,
                "train_loss": 4.0 * np.exp(-s / 20) + 1.5,
                "lr": 1e-3,
                "tokens_per_sec": 1e4,
                "val_loss": 4.0 * np.exp(-s / 20) + 1.6 if s % every == 0 else None,
                "elapsed": 0.25 * s if elapsed else None,
            }
        )
    return rows


def _points(polyline):
    return np.array([[float(v) for v in p.split(",")] for p in polyline.get("points").split()])


def test_train_and_val_curves_against_step_and_time():
    view = loss_curves(_history(), ladder={"uniform": 4.17, "bigram": 2.5})
    root = parse_svg(view.svg)
    panels = by_class(root, "tt-curve-panel")
    assert [p.get("data-x") for p in panels] == ["step", "elapsed"]
    for panel in panels:
        train = _points(by_class(panel, "tt-train")[0])
        val = _points(by_class(panel, "tt-val")[0])
        assert len(train) == 50 and len(val) == 5
        assert np.all(np.diff(train[:, 0]) > 0)  # x grows with step/time
        assert np.all(np.diff(train[:, 1]) > 0)  # falling loss = growing SVG y (y points down)
        assert len(panel.findall("circle")) == 5  # one marker per validation
        ladder = by_class(panel, "tt-ladder")
        assert len(ladder) == 2
        assert ["".join(g.itertext()) for g in ladder] == ["uniform 4.17", "bigram 2.5"]
    assert "elapsed time (s)" in view.svg and "step 50" in view.summary and "val 1.928" in view.summary
    assert_valid_html(view.html)
    assert_self_contained(view.html)


def test_ladder_lines_sit_at_their_loss():
    root = parse_svg(loss_curves(_history(), ladder={"bigram": 2.5}).svg)
    panel = by_class(root, "tt-curve-panel")[0]
    train = _points(by_class(panel, "tt-train")[0])
    ys = {s: y for s, y in zip(range(1, 51), train[:, 1])}
    y_ladder = float(by_class(panel, "tt-ladder")[0].find("line").get("y1"))
    # 4 exp(-s/20) + 1.5 crosses 2.5 at s = 20 ln 4 ~ 27.7: the line lies between those steps' points.
    assert ys[27] < y_ladder < ys[28]


def test_without_elapsed_only_the_step_panel_and_long_runs_are_thinned():
    view = loss_curves(_history(elapsed=False))
    assert parse_svg(view.svg).get("data-panels") == "1"
    long = loss_curves(_history(n=5000, every=500))
    train = _points(by_class(parse_svg(long.svg), "tt-train")[0])
    assert len(train) <= 601
    assert "elapsed time (min)" in long.svg  # 1250 s is shown in minutes


def test_empty_history_and_trainer_object():
    assert "no steps logged yet" in loss_curves([]).svg

    class Trainer:
        history = _history(5, every=5)

    assert "step 5" in loss_curves(Trainer()).summary
    with pytest.raises(TypeError, match="list of dicts"):
        loss_curves({"step": 1})
    with pytest.raises(TypeError, match="ladder must be a dict"):
        loss_curves([], ladder=[2.5])


def test_live_curve_prints_text_without_ipython():
    code = textwrap.dedent("""
        import sys
        sys.modules["IPython"] = None  # as if IPython were not installed
        from tinytorch.viz import LiveLossCurve
        live = LiveLossCurve(ladder={"bigram": 2.5})
        hist = [{"step": s, "train_loss": 3.0 - s / 100, "val_loss": None, "elapsed": s / 10} for s in range(1, 11)]
        live.update(hist[:5]); live.update(hist[:5]); live.update(hist)
        print("HTML" if "tt-loss-curves" in live.html else "no html")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = [[part.split() for part in line.split("|")] for line in out.stdout.strip().splitlines()]
    assert lines == [
        [["step", "5"], ["train", "2.9500"], ["0.5", "s"]],
        [["step", "10"], ["train", "2.9000"], ["1.0", "s"]],
        [["HTML"]],
    ]


def test_live_curve_updates_one_output_in_a_real_kernel():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    source = textwrap.dedent("""
        from tinytorch.viz import LiveLossCurve
        live = LiveLossCurve(ladder={"bigram": 2.5})
        hist = []
        for s in range(1, 31):
            hist.append({"step": s, "train_loss": 3.0 - s / 100, "val_loss": None, "elapsed": s / 10})
            if s % 10 == 0:
                live.update(hist)
    """)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    outputs = nb.cells[0].outputs
    assert len(outputs) == 1, [o.get("output_type") for o in outputs]  # updated in place, not appended
    html = outputs[0]["data"]["text/html"]
    assert "step 30" in html and "tt-loss-curves" in html and "bigram 2.5" in html


def test_live_curve_keeps_its_own_ladder():
    """The notebook adds ladder["TinyGPT"] after a chunk; that must not become a stale line."""
    ladder = {"uniform": 4.17, "bigram": 2.48}
    live = LiveLossCurve(ladder=ladder)
    ladder["TinyGPT"] = 2.43
    live.update(_history())
    names = ["".join(g.itertext()) for g in by_class(parse_svg(live.view.svg), "tt-ladder")]
    assert names == ["uniform 4.17", "bigram 2.48"] * 2


def test_close_reference_labels_do_not_overlap():
    root = parse_svg(loss_curves(_history(), ladder={"uniform": 4.17, "bigram": 2.48, "TinyGPT": 2.43}).svg)
    panel = by_class(root, "tt-curve-panel")[0]
    ys = sorted(float(g.find("text").get("y")) for g in by_class(panel, "tt-ladder"))
    assert min(np.diff(ys)) >= 12 - 1e-6, ys
    lines = {"".join(g.itertext()): float(g.find("line").get("y1")) for g in by_class(panel, "tt-ladder")}
    assert lines["TinyGPT 2.43"] > lines["bigram 2.48"]  # the lines themselves stay at their loss
