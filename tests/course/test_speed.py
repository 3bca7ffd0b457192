"""The speed probe measures real training steps, picks a preset from the estimate, saves it; later
notebooks read it back and fall back to "browser" without it."""

import json

from tinytorch.course.speed import (
    SETTINGS_FILE,
    chosen_preset,
    estimate_training_seconds,
    load_settings,
    pick_preset,
    probe_speed,
)


def test_probe_writes_settings_that_later_notebooks_read(tmp_path, capsys):
    settings = probe_speed(seconds=0.2, folder=tmp_path)
    saved = json.loads((tmp_path / SETTINGS_FILE).read_text())
    assert saved == settings
    assert settings["preset"] in ("browser", "native")
    assert settings["seconds_per_step"] > 0 and settings["tokens_per_second"] > 0
    assert chosen_preset(tmp_path) == settings["preset"]
    assert "Chosen preset" in capsys.readouterr().out


def test_estimates_scale_with_the_measured_step():
    fast, slow = estimate_training_seconds(0.01), estimate_training_seconds(0.1)
    assert abs(slow["native"] / fast["native"] - 10) < 1e-9
    assert fast["native"] > fast["browser"]  # the native preset is more work per step


def test_pick_preset_prefers_the_biggest_that_fits():
    assert pick_preset({"browser": 100, "native": 500}, budget_seconds=600) == "native"
    assert pick_preset({"browser": 100, "native": 5000}, budget_seconds=600) == "browser"
    assert pick_preset({"browser": 9000, "native": 90000}, budget_seconds=600) == "browser"


def test_fallback_to_browser_without_or_with_a_broken_file(tmp_path):
    assert load_settings(tmp_path) == {}
    assert chosen_preset(tmp_path) == "browser"
    (tmp_path / SETTINGS_FILE).write_text("{not json")
    assert chosen_preset(tmp_path) == "browser"
    (tmp_path / SETTINGS_FILE).write_text('{"preset": "gigantic"}')
    assert chosen_preset(tmp_path) == "browser"
