"""Export a notebook's written answers: word counts against the guide, a Markdown and a JSON file.

Written answers live in markdown cells that nbgrader marks as graded solution cells
(metadata {"nbgrader": {"solution": true, "grade": true, ...}}). `export_answers` reads the
notebook *as last saved* (the kernel cannot see unsaved edits: save with Ctrl+S first),
reports each answer's word count against the question's word guide (150-300 unless the
question states its own) and writes

    <notebook>_answers.md     the questions and answers, readable and printable
    <notebook>_answers.json   the same, for tools (grade_id, points, words, answer)

next to the notebook. In JupyterLite the kernel's working directory is the notebook's folder
in the browser's storage, so both files appear in the file browser, ready to download.

    from tinytorch.course.answers import export_answers
    export_answers("02_attention.ipynb")
"""

import json
import os
import re
import time
from pathlib import Path

from ..files import atomic_write  # a student's export is whole or not there

PLACEHOLDER = "YOUR ANSWER HERE"
WORD_GUIDE = (150, 300)
_WORD = re.compile(r"[A-Za-z0-9\u00C0-\u024F]+(?:['’\-][A-Za-z0-9\u00C0-\u024F]+)*")


def count_words(text: str) -> int:
    """Words in an answer, ignoring the placeholder and Markdown/LaTeX symbols (`**`, `#`, `$`)."""
    text = text.replace(PLACEHOLDER, " ")
    return len(_WORD.findall(text))


def _cell_source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def is_answer_cell(cell) -> bool:
    """A written answer: a markdown cell nbgrader grades and the student writes."""
    meta = _nbgrader(cell)
    return cell.get("cell_type") == "markdown" and bool(meta.get("solution")) and bool(meta.get("grade"))


def _question_text(cells, index) -> str:
    """The nearest markdown cell above the answer that is not itself an answer."""
    for cell in reversed(cells[:index]):
        if cell.get("cell_type") == "markdown" and not is_answer_cell(cell):
            return _cell_source(cell).strip()
    return ""


_GUIDE = re.compile(r"Guide:\s*(\d+)\s*[-–]\s*(\d+)\s*words")


def word_guide(question: str) -> tuple:
    """The (low, high) word guide a question states ("*Guide: 80-150 words*"), else WORD_GUIDE."""
    match = _GUIDE.search(question)
    return (int(match.group(1)), int(match.group(2))) if match else WORD_GUIDE


def _status(words: int, guide=WORD_GUIDE) -> str:
    low, high = guide
    if words == 0:
        return "not answered yet"
    if words < low:
        return f"short: {low - words} words below the {low}-{high} guide"
    if words > high:
        return f"long: {words - high} words above the {low}-{high} guide"
    return "within the guide"


def read_answers(notebook_path) -> list:
    """[{grade_id, points, question, answer, words, status}] for every answer cell, in order."""
    path = Path(notebook_path)
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        here = sorted(p.name for p in path.parent.glob("*.ipynb"))
        raise FileNotFoundError(
            f"{path} does not exist (renamed or copied notebook?): give the notebook's "
            f"file name, e.g. export_answers('01_tokens_and_data.ipynb'). Notebooks in "
            f"this folder: {', '.join(here) or 'none'}"
        ) from None
    except ValueError as error:
        raise ValueError(f"{path} is not a readable notebook ({error})") from None
    cells = notebook.get("cells", [])
    answers = []
    for index, cell in enumerate(cells):
        if not is_answer_cell(cell):
            continue
        meta = _nbgrader(cell)
        text = _cell_source(cell).strip()
        answer = "" if text in ("", PLACEHOLDER) else text
        words = count_words(answer)
        question = _question_text(cells, index)
        guide = word_guide(question)
        answers.append(
            {
                "grade_id": meta.get("grade_id", f"cell_{index}"),
                "points": meta.get("points"),
                "question": question,
                "answer": answer,
                "words": words,
                "guide": list(guide),
                "status": _status(words, guide),
            }
        )
    return answers


def find_notebook(notebook_path=None, folder=".") -> Path:
    """The notebook to export: the path given, this kernel's session notebook, or the only one here."""
    if notebook_path:
        return Path(notebook_path)
    session = os.environ.get("JPY_SESSION_NAME")  # local Jupyter Server sets this for the kernel
    if session and session.endswith(".ipynb") and Path(session).exists():
        return Path(session)
    candidates = []
    for path in sorted(Path(folder).glob("*.ipynb")):
        try:
            if read_answers(path):
                candidates.append(path)
        except (OSError, ValueError):
            continue
    if len(candidates) == 1:
        return candidates[0]
    names = ", ".join(p.name for p in candidates) or "none found"
    raise ValueError(
        f"Which notebook? Pass its file name, e.g. export_answers('02_attention.ipynb') "
        f"(notebooks with answers here: {names})"
    )


def _markdown(notebook: Path, answers: list, exported_at: str) -> str:
    lines = [f"# Written answers: {notebook.stem}", "", f"Exported {exported_at} from `{notebook.name}`.", ""]
    for number, item in enumerate(answers, 1):
        question = item["question"] or f"Question {number}"
        lines += [
            f"## Question {number} ({item['grade_id']}, {item['points']} points)",
            "",
            "> " + question.replace("\n", "\n> "),
            "",
            item["answer"] or f"_{PLACEHOLDER}_",
            "",
            f"_{item['words']} words: {item['status']}_",
            "",
        ]
    return "\n".join(lines)


def export_answers(notebook_path=None, folder=None, verbose: bool = True) -> dict:
    """Write the answers of `notebook_path` to <stem>_answers.md and <stem>_answers.json beside it.

    Reads the notebook as last SAVED: save it first (Ctrl+S / Cmd+S). Returns
    {"notebook", "markdown", "json", "answers"} with the paths written and the answers read.
    """
    notebook = find_notebook(notebook_path, folder or ".")
    answers = read_answers(notebook)
    if not answers:
        raise ValueError(
            f"{notebook.name} has no written-answer cells (markdown cells with nbgrader "
            "solution+grade metadata): is this the right notebook?"
        )
    out_dir = Path(folder) if folder else notebook.parent
    exported_at = time.strftime("%Y-%m-%d %H:%M:%S")
    saved_at = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(notebook.stat().st_mtime))
    md_path = out_dir / f"{notebook.stem}_answers.md"
    json_path = out_dir / f"{notebook.stem}_answers.json"
    atomic_write(md_path, _markdown(notebook, answers, exported_at))
    atomic_write(
        json_path,
        json.dumps(
            {
                "notebook": notebook.name,
                "exported_at": exported_at,
                "notebook_saved_at": saved_at,
                "word_guide": list(WORD_GUIDE),
                "answers": answers,
            },
            indent=2,
            ensure_ascii=False,
        )
        + "\n",
    )

    if verbose:
        print(
            f"Read {notebook.name} as last saved at {saved_at}. Unsaved edits are NOT included: "
            "save the notebook (Ctrl+S) and run this cell again if you changed an answer since."
        )
        for number, item in enumerate(answers, 1):
            print(f"  Q{number} [{item['grade_id']}]: {item['words']:4d} words  ({item['status']})")
        print(
            f"Wrote {md_path} and {json_path}. Download them from the file browser "
            "(right click > Download) to keep a copy outside this browser."
        )
    return {"notebook": notebook, "markdown": md_path, "json": json_path, "answers": answers}
