"""Carry a student's passing pieces from one notebook to the next.

In JupyterLite every notebook has its own kernel, so what notebook 2 defined is gone in notebook 4.
When a test cell passes an exercise whose piece the GPT is built from (the causal mask, multi-head
attention, LayerNorm, GELU, the block), `keep` writes that definition, as the student wrote it in
the exercise cell, to `my_tinygpt/exercise_<id>.py` beside the notebooks (the browser's `/drive`,
saved with the student's files). `definitions()` reads them back into one namespace, in exercise
order, so that later pieces find earlier ones (the attention uses the student's mask).

The source comes from the cell itself (IPython keeps every cell's text for tracebacks): the
top-level imports and definitions of the cell that defines the answer (its helpers come along;
other top-level statements, such as a test call, do not run again). Code that was not
typed into a notebook cell has no such source and is simply not carried (nothing is written).
"""

import ast
import linecache
from pathlib import Path

from ..files import atomic_write

FOLDER = "my_tinygpt"
# Names the exercise cells rely on without importing them in the same cell (each notebook's setup cell).
PRELUDE = "import numpy as np\nimport tinytorch as tt\nfrom tinytorch.nn import Linear, Module\n"


def _cell_code(obj):
    """The code object that tells which cell defined `obj` (a function, or any method of a class)."""
    code = getattr(obj, "__code__", None)
    if code is None and isinstance(obj, type):
        for value in vars(obj).values():
            code = getattr(getattr(value, "__func__", value), "__code__", None)
            if code is not None:
                break
    return code


def definition(obj):
    """(imports, source) of the cell definition of `obj`, or None when it was not typed in a cell."""
    name, code = getattr(obj, "__name__", None), _cell_code(obj)
    if not name or code is None:
        return None
    text = "".join(linecache.getlines(code.co_filename))
    if not text:
        return None
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    definitions = [node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))]
    if not any(node.name == name for node in definitions):
        return None
    # Every definition of the cell comes along: the student's helpers beside the answer (a name defined
    # twice keeps its last definition, as running the cell does).
    lines = text.splitlines()
    parts = [
        "\n".join(lines[min([n.lineno] + [d.lineno for d in n.decorator_list]) - 1 : n.end_lineno]) for n in definitions
    ]
    imports = [ast.get_source_segment(text, n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    return imports, "\n\n\n".join(parts)


def path_for(exercise_id: str, folder=FOLDER) -> Path:
    return Path(folder) / f"exercise_{exercise_id.replace('.', '_')}.py"


def keep(exercise_id: str, answers, folder=FOLDER) -> bool:
    """Write the cell definitions of `answers` for later notebooks; False (nothing written) without a source."""
    parts = [definition(answer) for answer in answers]
    if not parts or any(part is None for part in parts):
        return False
    imports = list(dict.fromkeys(line for part in parts for line in part[0]))
    body = "\n\n\n".join(dict.fromkeys(part[1] for part in parts))  # two answers of one cell: once
    text = (
        f'"""Your Exercise {exercise_id}, saved when its test cell passed: later notebooks build your GPT '
        f'from it."""\n' + "\n".join(imports) + ("\n\n\n" if imports else "\n") + body + "\n"
    )
    path = path_for(exercise_id, folder)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, text.encode("utf-8"))
    except OSError:
        return False  # a read-only folder must not fail a passing test cell
    print(f"  (saved to {path}: notebook 4 builds your GPT from it)")
    return True


def definitions(exercise_ids, namespace: dict, folder=FOLDER) -> dict:
    """Run the saved files of `exercise_ids` (in order) in `namespace`; returns {id: error or ''} for those found."""
    results = {}
    exec(compile(PRELUDE, "<prelude>", "exec"), namespace)
    for exercise_id in exercise_ids:
        path = path_for(exercise_id, folder)
        if not path.is_file():
            continue
        try:
            exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)
            results[exercise_id] = ""
        except Exception as error:  # a saved file that no longer runs: the library's piece is used instead
            results[exercise_id] = f"{path} does not run ({type(error).__name__}: {error})"
    return results
