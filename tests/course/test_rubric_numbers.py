"""A number in the course's prose, rubrics and model answers is read from code, never typed: no
markdown cell states a value derived from a preset (they change), and every model answer that
points to `rubric_numbers("<grade id>")` points to an entry that exists and computes."""

import json
import re

import pytest
from _runner import CONTENT

from tinytorch.course.rubric import NUMBERS, rubric_numbers
from tinytorch.models import PRESETS, TinyGPT


def _markdown():
    """[(notebook, cell index, text)] of every markdown cell, prompts, model answers and rubrics included."""
    cells = []
    for path in sorted(CONTENT.glob("*.ipynb")):
        for index, cell in enumerate(json.loads(path.read_text())["cells"]):
            if cell["cell_type"] == "markdown":
                cells.append((path.name, index, "".join(cell["source"])))
    return cells


#: numbers the prose states about other models, which a preset's derived values can equal by chance
#: (GPT-3's width C = 12288 equals 2 T C of the browser preset, T = 64 and C = 96)
OTHER_MODELS = {"12288"}

FIELDS = {"B": "batch_size", "T": "block_size", "C": "n_embd", "H": "n_head", "L": "n_layer", "r": "mlp_ratio"}


def _derived(name):
    """Strings a typed preset-derived number would appear as: values from 1,000 up (parameters, bytes,
    products; small ones such as 32 or 64 also mean many other things), with and without units."""
    p = PRESETS[name]
    c = p.config
    values = {p.max_steps, TinyGPT(c).num_parameters(), c.block_size * c.n_embd}
    for entry in NUMBERS.values():
        values |= {v for v in entry(p).values() if isinstance(v, int)}
    strings = set()
    for v in (v for v in values if v >= 1000):
        strings |= {f"{v:,}", str(v)}
        for unit, scale in (("KB", 1e3), ("MB", 1e6), ("KiB", 1024), ("MiB", 1024 ** 2)):
            if v >= scale:
                strings |= {f"{v / scale:.0f} {unit}", f"{v / scale:.1f} {unit}", f"{v / scale:.2f} {unit}"}
    return strings


@pytest.mark.parametrize("preset_name", ["browser", "native"])
def test_no_markdown_types_a_number_derived_from_a_preset(preset_name):
    derived, typed = _derived(preset_name), []
    for notebook, index, text in _markdown():
        numbers = set(re.findall(r"(?<![\w.,])(\d[\d,]*\d(?:\.\d+)?(?: (?:KB|MB|KiB|MiB)\b)?|\d)", text))
        numbers |= {n.split(" ")[0] for n in numbers}
        numbers -= OTHER_MODELS
        typed += [f"{notebook} cell {index}: {n!r}" for n in sorted(numbers & derived)]
    assert not typed, (f"markdown states numbers derived from the {preset_name} preset (they go stale when it "
                       "changes): print them from preset(...) in a code cell, or point to rubric_numbers(...): "
                       f"{typed}")


def test_no_markdown_about_the_browser_preset_types_its_fields():
    """'B = 32, T = 24' in a cell about the browser preset is a copy of today's preset: it must be printed."""
    p = PRESETS["browser"]
    values = {**{f: getattr(p.config, f) for f in ("block_size", "n_embd", "n_head", "n_layer", "mlp_ratio")},
              "batch_size": p.batch_size}
    typed = []
    for notebook, index, text in _markdown():
        if "browser" not in text.lower():
            continue
        for name, number in re.findall(r"\b(B|T|C|H|L|r|block_size|n_embd|batch_size|n_layer|n_head|mlp_ratio)"
                                       r"\s*=\s*(\d+)\b", text):
            if values[FIELDS.get(name, name)] == int(number):
                typed.append(f"{notebook} cell {index}: {name} = {number}")
    assert not typed, f"markdown types the browser preset's fields (print them from preset('browser')): {typed}"


def test_every_rubric_numbers_reference_exists_and_computes(capsys):
    named = set()
    for _, _, text in _markdown():
        named |= set(re.findall(r'rubric_numbers\("([a-z0-9_]+)"\)', text))
    assert named, "no model answer points to rubric_numbers"
    assert named <= set(NUMBERS), f"unknown rubric entries: {named - set(NUMBERS)}"
    for grade_id in named:
        values = rubric_numbers(grade_id)
        assert values and all(isinstance(v, (int, float)) for v in values.values())
    assert "kv_cache_bytes_browser" in capsys.readouterr().out


def test_rubric_numbers_follow_the_preset():
    p = PRESETS["browser"]
    kv = rubric_numbers("nb5_q2_kv_cache", show=False)["kv_cache_bytes_browser"]
    assert kv == 2 * p.config.n_layer * p.config.block_size * p.config.n_embd * 4
    assert rubric_numbers("nb3_q3_positions", show=False)["learned_position_parameters"] == \
        TinyGPT(p.config).position_embedding.weight.data.size
