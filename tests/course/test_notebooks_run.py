"""Every instructor notebook runs top to bottom (TINYGPT_FAST=1) in a real kernel, and every
exercise's test cell fails on the student stub with a hint and passes on the reference solution.

One kernel per notebook: the runner executes the cells in order and, at each exercise, runs the
student stub + test cell (must fail), then the solution + test cell (must pass).
"""

import json
import shutil

import nbformat
import pytest
from _runner import is_test, nbgrader_meta, run_notebook, run_student_notebook
from conftest import NOTEBOOKS

pytestmark = pytest.mark.slow  # runs notebooks in real kernels

# Python run in the kernel after the notebook: prints one JSON line of values to check.
PROBES = {
    "00_welcome": """
import json
from tinytorch.models import PRESETS
print(json.dumps({"preset": settings["preset"], "known": settings["preset"] in PRESETS,
                  "file": json.load(open("tinygpt_settings.json"))["preset"]}))
""",
    "01_tokens_and_data": """
import json
print(json.dumps({"bigram_val": bigram_val, "trained_val": trainer.history[-1]["val_loss"],
                  "uniform": uniform_loss}))
""",
    "02_attention": """
import json
print(json.dumps({"val": [h["val_loss"] for h in trainer.history if h["val_loss"] is not None][-1],
                  "weights_shape": list(small.blocks[0].attn.attention_weights.shape)}))
""",
    "03_transformer_block": """
import json
print(json.dumps({"badges": badges.all_passed, "n_badges": len(badges.results)}))
""",
    "04_train_tinygpt": """
import json
print(json.dumps({"last_val": last_val, "target": FAST_TARGET, "sample": sample, "step": trainer.step,
                  "resumed_step": trainer_again.step, "bigram": ladder["bigram"],
                  "snapshots": len(trainer.attention_snapshots)}))
""",
    "05_ml_systems": """
import json
print(json.dumps({"kv_speedup": kv_speedup, "same": bool(same), "gpt3": count_parameters(gpt3),
                  "measured": measured, "estimate": {k: estimate[k] for k in measured},
                  "times": [s for _, s in rows]}))
""",
}


def check_outputs(name, run):
    p = run.probes
    html = "\n".join(run.html_outputs())
    text = run.all_output()
    if name == "00_welcome":
        assert p["known"] and p["file"] == p["preset"]
        assert "Speed probe on" in text and "Chosen preset" in text
    elif name == "01_tokens_and_data":
        assert 2.3 < p["bigram_val"] < 2.6, p  # the bigram rung of the ladder
        assert p["trained_val"] < 2.8, p  # the trained bigram approaches it even in fast mode
        assert "<svg" in html and "tt-loss" in html  # the loss curve
    elif name == "02_attention":
        assert p["val"] < 3.4, p
        B, H, T, T2 = p["weights_shape"]
        assert H == 2 and T == T2 > 1, p  # the tiny preset has 2 heads
        assert "tt-attention" in html, "no attention heatmap in the outputs"
        assert "head" in html.lower() and "<script" in html, "no interactive head view in the outputs"
    elif name == "03_transformer_block":
        assert p["badges"] and p["n_badges"] == 3, p
        assert "tinygpt-badges" in html and "tt-positional" in html
        assert "residual=False" in text
    elif name == "04_train_tinygpt":
        assert p["last_val"] < p["target"], f"fast-mode validation loss {p['last_val']} not below {p['target']}"
        assert p["last_val"] < 4.0 and p["step"] == 200
        assert p["sample"].startswith("ROMEO:\n") and len(p["sample"]) > 100
        assert p["resumed_step"] == p["step"], "resume() did not find the last checkpoint"
        assert p["snapshots"] >= 5
        assert "saved and reloaded: identical samples" in text
        assert "tt-loss" in html and "tt-positional" in html and "<input" in html  # curve, positions, time-lapse slider
        assert "Target reached" in text
    elif name == "05_ml_systems":
        assert p["same"] and p["kv_speedup"] > 1.5, p
        assert abs(p["gpt3"] - 175e9) / 175e9 < 0.01, p
        assert p["measured"] == p["estimate"], p
        assert p["times"][-1] > p["times"][0], p  # attention at the longest T costs more than at the shortest


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_and_exercises_check(name, builds, tmp_path):
    built = next(p for p in builds["instructor"] if p.stem == name)
    student = next(p for p in builds["student"] if p.stem == name)
    instructor = tmp_path / built.name  # the kernel runs beside its saved notebook, as in Jupyter
    shutil.copy(built, instructor)
    run = run_notebook(instructor, student, tmp_path, probe_code=PROBES[name])

    assert run.exercises, f"{name} has no exercises"
    for grade_id, stub_error, pass_error, pass_text in run.exercises:
        assert stub_error, f"{grade_id}: the test cell passed on the student stub"
        assert stub_error["ename"] == "ExerciseFailed", (grade_id, stub_error["ename"], stub_error["evalue"])
        assert "not implemented yet" in stub_error["evalue"] and "Hint:" in stub_error["evalue"], stub_error["evalue"]
        assert not pass_error, f"{grade_id}: the test cell fails on the reference solution: {pass_error.get('evalue')}"
        assert "all checks passed" in pass_text

    check_outputs(name, run)

    # The notebook's last code cell exported the (empty) answers next to it.
    exported = json.loads((tmp_path / f"{name}_answers.json").read_text())
    questions = [c for c in run.notebook.cells if c.cell_type == "markdown" and is_answer(c)]
    assert len(exported["answers"]) == len(questions) >= 2
    assert (tmp_path / f"{name}_answers.md").is_file()


def is_answer(cell):
    return bool(nbgrader_meta(cell).get("solution"))


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_student_notebook_runs_with_every_exercise_unsolved(name, builds, tmp_path):
    """One unsolved exercise never blocks the rest: run the student version as shipped (every
    exercise a stub); only the graded test cells may fail, each with its "not implemented" verdict,
    and the cells that need an exercise say they use the library's version instead."""
    built = next(p for p in builds["student"] if p.stem == name)
    student = tmp_path / built.name
    shutil.copy(built, student)
    failed = run_student_notebook(student, tmp_path)
    for index, cell, error in failed:
        assert is_test(cell), (
            f"{name} cell {index} failed with every exercise unsolved: {error.get('ename')}: "
            f"{error.get('evalue')}\n{cell.source}"
        )
        assert "not implemented yet" in error.get("evalue", ""), error.get("evalue")
    tests = [c for c in nbformat.read(student, as_version=4).cells if is_test(c)]
    assert len(failed) == len(tests)
