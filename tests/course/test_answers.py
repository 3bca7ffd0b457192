"""Exporting written answers: word counts against the 150-300 guide, Markdown + JSON beside the notebook."""

import json
import shutil

import nbformat
import pytest
from _runner import CONTENT

from coursetools.cells import nbgrader_meta
from tinytorch.course.answers import count_words, export_answers, read_answers, word_guide


def _write_answers(path, texts):
    nb = nbformat.read(path, as_version=4)
    answer_cells = [c for c in nb.cells if c.cell_type == "markdown" and nbgrader_meta(c).get("solution")]
    for cell, text in zip(answer_cells, texts):
        cell.source = text
    nbformat.write(nb, path)


def test_count_words_ignores_placeholder_and_markdown():
    assert count_words("YOUR ANSWER HERE") == 0
    assert count_words("**Attention** is quadratic: it's twice the tokens, 4x the work.") == 10
    assert count_words("# Heading\n\n- one\n- two-three, *four*") == 4


def _student(builds, name):
    return next(p for p in builds["student"] if p.name == name)


def test_export_writes_markdown_and_json_with_word_counts(builds, tmp_path, capsys):
    notebook = tmp_path / "02_attention.ipynb"
    shutil.copy(_student(builds, notebook.name), notebook)
    short = "The attention weights grow with the square of the context. " * 5  # 50 words
    good = " ".join(["memory"] * 200)
    _write_answers(notebook, [short, good])  # the third stays unanswered

    result = export_answers(notebook)
    out = capsys.readouterr().out
    assert "save the notebook" in out.lower()  # the student is told the export reads the saved file

    data = json.loads((tmp_path / "02_attention_answers.json").read_text())
    assert [a["words"] for a in data["answers"]] == [50, 200, 0]
    assert [a["grade_id"] for a in data["answers"]] == ["nb2_q1_quadratic_memory", "nb2_q2_scaling", "nb2_q3_heads"]
    assert data["answers"][0]["status"].startswith("short") and data["answers"][1]["status"] == "within the guide"
    assert data["answers"][2]["status"] == "not answered yet" and data["answers"][2]["answer"] == ""
    assert "(B, H, T, T)" in data["answers"][0]["question"]
    md = (tmp_path / "02_attention_answers.md").read_text()
    assert good in md and "200 words" in md and "Question 3" in md
    assert result["markdown"].name == "02_attention_answers.md"


def test_export_finds_the_only_notebook_in_the_folder(builds, tmp_path, monkeypatch):
    shutil.copy(_student(builds, "05_ml_systems.ipynb"), tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    result = export_answers(verbose=False)
    assert result["notebook"].name == "05_ml_systems.ipynb"
    assert len(read_answers(tmp_path / "05_ml_systems.ipynb")) == 4


def test_each_question_states_its_own_word_guide(builds, tmp_path):
    """A question's "*Guide: 80-150 words*" is what its answer is counted against."""
    notebook = tmp_path / "00_welcome.ipynb"
    shutil.copy(_student(builds, notebook.name), notebook)
    _write_answers(notebook, [" ".join(["gradient"] * 100)])
    first, second = read_answers(notebook)
    assert first["guide"] == [80, 150] and first["status"] == "within the guide"
    assert second["status"] == "not answered yet"
    assert word_guide("no guide here") == (150, 300)


def test_export_names_the_problem(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="export_answers"):
        export_answers(tmp_path / "missing.ipynb")
    shutil.copy(CONTENT / "00_welcome.ipynb", tmp_path)
    shutil.copy(CONTENT / "01_tokens_and_data.ipynb", tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    with pytest.raises(ValueError, match="Which notebook"):
        export_answers()
