"""The numbers a written answer's model answer and rubric depend on, computed from the presets.

Markdown cannot compute, and the presets change (a faster machine, a retuned browser preset), so
the model answers give formulas and name the entry here that holds their current values:

    from tinytorch.course.rubric import rubric_numbers
    rubric_numbers("nb5_q2_kv_cache")      # prints and returns {"kv_cache_bytes_browser": 18432, ...}

tests/course/test_rubric_numbers.py checks that every model answer that names an entry names one
that exists, and that no model answer or rubric types a number derived from a preset.
"""

from ..models import TinyGPT, preset

GPT3 = dict(n_layer=96, n_head=96, n_embd=12288, block_size=2048, vocab_size=50257)


def _browser():
    return preset("browser")


def _attention_memory(p=None):
    p = p or _browser()
    c = p.config
    per_layer = p.batch_size * c.n_head * c.block_size**2 * 4
    return {
        "B": p.batch_size,
        "H": c.n_head,
        "T": c.block_size,
        "n_layer": c.n_layer,
        "attention_weights_bytes_per_layer": per_layer,
        "attention_weights_bytes": per_layer * c.n_layer,
    }


def _multiply_adds(p=None):
    c = (p or _browser()).config
    C, T, r = c.n_embd, c.block_size, c.mlp_ratio
    return {
        "C": C,
        "T": T,
        "r": r,
        "attention_projections": 4 * C * C,
        "attention_scores_and_sum": 2 * T * C,
        "mlp": 2 * r * C * C,
        "T_share_of_block": 2 * T * C / (4 * C * C + 2 * T * C + 2 * r * C * C),
    }


def _positions(p=None):
    c = (p or _browser()).config
    return {"block_size": c.block_size, "n_embd": c.n_embd, "learned_position_parameters": c.block_size * c.n_embd}


def _checkpoint(p=None):
    p = p or _browser()
    n = TinyGPT(p.config).num_parameters()
    return {"parameters": n, "checkpoint_bytes": n * 4 * 3, "seconds_per_step_browser": p.seconds_per_step_browser}


def _kv_cache(p=None):
    c = (p or _browser()).config
    per_sequence = 2 * c.n_layer * c.block_size * c.n_embd * 4
    gpt3 = 2 * GPT3["n_layer"] * GPT3["block_size"] * GPT3["n_embd"] * 2
    return {
        "kv_cache_bytes_browser": per_sequence,
        "kv_cache_bytes_browser_1000_users": 1000 * per_sequence,
        "kv_cache_bytes_gpt3_per_sequence": gpt3,
        "kv_cache_bytes_gpt3_32_sequences": 32 * gpt3,
    }


def _time_budget(p=None):
    p = p or _browser()
    return {
        "max_steps": p.max_steps,
        "seconds_per_step_browser": p.seconds_per_step_browser,
        "training_seconds_browser": p.max_steps * p.seconds_per_step_browser,
    }


def _ladder(p=None):
    p = p or _browser()
    return {"expected_val_loss": p.expected_val_loss, "steps_to_val_2": p.steps_to_val_2}


NUMBERS = {
    "nb0_q2_time_budget": _time_budget,
    "nb2_q1_quadratic_memory": _attention_memory,
    "nb3_q2_mlp_params": _multiply_adds,
    "nb3_q3_positions": _positions,
    "nb4_q1_ladder": _ladder,
    "nb4_q3_checkpoints": _checkpoint,
    "nb5_q2_kv_cache": _kv_cache,
    "nb5_q4_deployment": _kv_cache,
}


def rubric_numbers(grade_id: str, preset_name: str = "browser", show: bool = True) -> dict:
    """The current values behind the model answer of written question `grade_id` (for the named preset)."""
    if grade_id not in NUMBERS:
        raise KeyError(f"no rubric numbers for {grade_id!r}; known: {', '.join(NUMBERS)}")
    values = NUMBERS[grade_id](preset(preset_name))
    if show:
        for name, value in values.items():
            shown = f"{value:,}" if isinstance(value, int) else f"{value:.4g}"
            print(f"{name:36s} {shown}")
    return values
