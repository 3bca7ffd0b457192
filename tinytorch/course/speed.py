"""How fast is this browser (or machine)? A short speed probe that picks the training preset.

Notebook 0 runs `probe_speed()`: a few real training steps of the "browser" preset's TinyGPT
on random tokens for about 5 seconds. From the measured seconds per step it estimates how long
each preset's full training would take here, picks the biggest preset that fits the time
budget, and saves the result to `tinygpt_settings.json` next to the notebooks. Later notebooks
call `chosen_preset()`, which reads that file and falls back to "browser" when it is missing.

    from tinytorch.course.speed import probe_speed, chosen_preset
    result = probe_speed()      # prints a summary and writes tinygpt_settings.json
    chosen_preset()             # "browser" or "native"
"""

import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from ..files import atomic_write

SETTINGS_FILE = "tinygpt_settings.json"
DEFAULT_PRESET = "browser"
# A preset is chosen when its full training is estimated to take at most this long here.
DEFAULT_BUDGET_SECONDS = 15 * 60


def _training_step(model, params, x, y, lr=1e-3):
    """One forward + backward + plain SGD update (the optimizer's cost is small next to these)."""
    for p in params:
        p.grad = None
    _, loss = model(x, y)
    loss.backward()
    for p in params:
        if p.grad is not None:
            p.data = p.data - lr * p.grad
    return float(loss.item())


def measure_step_seconds(preset_name: str = DEFAULT_PRESET, seconds: float = 5.0, max_steps: int = 200) -> dict:
    """Train preset `preset_name`'s model on random tokens for about `seconds`; return timings.

    Returns {"preset", "steps", "seconds_per_step", "tokens_per_second"}. The first step is a
    warm-up (allocations, caches) and is not counted.
    """
    from .. import manual_seed
    from ..models import TinyGPT, preset

    p = preset(preset_name)
    manual_seed(0)
    model = TinyGPT(p.config)
    params = list(model.parameters())
    generator = np.random.default_rng(0)
    shape = (p.batch_size, p.config.block_size)
    x = generator.integers(0, p.config.vocab_size, size=shape, dtype=np.int64)
    y = generator.integers(0, p.config.vocab_size, size=shape, dtype=np.int64)

    _training_step(model, params, x, y)  # warm-up
    steps, started = 0, time.perf_counter()
    while steps < 2 or (time.perf_counter() - started < seconds and steps < max_steps):
        _training_step(model, params, x, y)
        steps += 1
    per_step = (time.perf_counter() - started) / steps
    return {
        "preset": preset_name,
        "steps": steps,
        "seconds_per_step": per_step,
        "tokens_per_second": p.tokens_per_step / per_step,
    }


def estimate_training_seconds(seconds_per_step_here: float, measured_preset: str = DEFAULT_PRESET) -> dict:
    """Estimated full-training time here for every preset, scaled from one measured preset.

    Each preset's step time was measured on one machine, natively and in Pyodide; their ratio
    says how much more work one step of another preset is. The ratios differ (Pyodide has no BLAS
    and one thread: tinytorch's SIMD kernels and the interpreter's cost per op weigh differently), so
    in the browser the Pyodide timings are used.
    """
    from ..models import PRESETS

    def cost(p):
        if sys.platform == "emscripten" and PRESETS[measured_preset].seconds_per_step_browser > 0:
            return p.seconds_per_step_browser or p.seconds_per_step_native
        return p.seconds_per_step_native

    reference = cost(PRESETS[measured_preset])
    return {name: seconds_per_step_here * (cost(p) / reference) * p.max_steps for name, p in PRESETS.items()}


def pick_preset(estimates: dict, budget_seconds: float = DEFAULT_BUDGET_SECONDS) -> str:
    """The biggest of "native" and "browser" that fits the budget; "browser" when neither fits."""
    for name in ("native", "browser"):
        if estimates.get(name, float("inf")) <= budget_seconds:
            return name
    return DEFAULT_PRESET


def where_am_i() -> str:
    """'browser (Pyodide)' in JupyterLite, else 'native Python <version>'."""
    if sys.platform == "emscripten":
        return "browser (Pyodide)"
    return f"native Python {platform.python_version()}"


def probe_speed(
    seconds: float = 5.0, budget_seconds: float = DEFAULT_BUDGET_SECONDS, folder=".", verbose: bool = True
) -> dict:
    """Measure this machine, pick a preset, save the choice to `folder/tinygpt_settings.json`.

    Returns the saved settings: {"preset", "seconds_per_step", "estimated_seconds", "where",
    "budget_seconds", "measured_at"}.
    """
    timing = measure_step_seconds(DEFAULT_PRESET, seconds)
    estimates = estimate_training_seconds(timing["seconds_per_step"])
    chosen = pick_preset(estimates, budget_seconds)
    settings = {
        "preset": chosen,
        "where": where_am_i(),
        "measured_preset": DEFAULT_PRESET,
        "seconds_per_step": round(timing["seconds_per_step"], 6),
        "tokens_per_second": round(timing["tokens_per_second"], 1),
        "estimated_seconds": {name: round(s, 1) for name, s in estimates.items()},
        "budget_seconds": budget_seconds,
        "measured_at": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    path = Path(folder) / SETTINGS_FILE
    atomic_write(path, json.dumps(settings, indent=2) + "\n")
    if verbose:
        print(
            f"Speed probe on {settings['where']}: {timing['steps']} training steps of the "
            f"'{DEFAULT_PRESET}' model, {timing['seconds_per_step'] * 1000:.1f} ms per step "
            f"({timing['tokens_per_second']:,.0f} tokens/s)."
        )
        for name in ("browser", "native"):
            print(f"  full '{name}' training here: about {_minutes(estimates[name])}")
        print(
            f"Chosen preset: '{chosen}' (the biggest that trains within {_minutes(budget_seconds)}). Saved to {path}."
        )
    return settings


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def load_settings(folder=".") -> dict:
    """The saved probe result, or {} when notebook 0's probe has not run (or the file is unreadable)."""
    path = Path(folder) / SETTINGS_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def chosen_preset(folder=".", default: str = DEFAULT_PRESET) -> str:
    """The preset notebook 0's speed probe chose here, or `default` ("browser") without a probe."""
    from ..models import PRESETS

    name = load_settings(folder).get("preset", default)
    return name if name in PRESETS else default
