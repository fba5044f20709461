"""Sampling presets: the built-ins, the writer's own presets, and how they live in the file."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from app.core.sampling import PRESET_DESCRIPTIONS, PRESETS, SamplingSettings, SettingError, preset
from app.core.settings import (
    MAX_PRESET_NAME,
    AppSettings,
    LoadResult,
    check_preset_name,
    delete_preset,
    load_settings,
    rename_preset,
    save_preset,
    save_settings,
)

COLD = SamplingSettings(temperature=0.2, top_k=10, seed=7, max_tokens=40, stop=("\n\n",))
WARM = SamplingSettings(temperature=1.2, min_p=0.0, repeat_penalty=1.3)
HOT = SamplingSettings(temperature=2.0, top_p=1.0)

#: Non-default settings around the presets, to prove preset repairs touch nothing else.
BASE = AppSettings(
    model_path="/models/gpt2.gguf",
    sampling=SamplingSettings(temperature=0.9, top_k=5),
    recent_files=("/docs/a.txt",),
)
MINE = replace(BASE, user_presets=(("Dialogue — cold", COLD), ("warm", WARM), ("Alpha", HOT)))


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def names(settings: AppSettings) -> list[str]:
    return [name for name, _ in settings.user_presets]


# --------------------------------------------------------------------------- built-ins


def test_built_in_presets_are_the_documented_values() -> None:
    assert list(PRESETS) == ["precise", "balanced", "creative"]  # the order menus show
    assert PRESETS["balanced"] == SamplingSettings()
    assert PRESETS["precise"] == SamplingSettings(
        temperature=0.3, top_k=20, top_p=0.9, min_p=0.1, repeat_penalty=1.15
    )
    assert PRESETS["creative"] == SamplingSettings(
        temperature=1.0, top_k=100, top_p=0.98, min_p=0.02, repeat_penalty=1.05
    )
    # From precise to creative every knob loosens: a writer can rely on the order.
    precise, balanced, creative = PRESETS.values()
    assert precise.temperature < balanced.temperature < creative.temperature
    assert precise.top_k < balanced.top_k < creative.top_k
    assert precise.min_p > balanced.min_p > creative.min_p
    assert precise.repeat_penalty > balanced.repeat_penalty > creative.repeat_penalty


@pytest.mark.parametrize("name", list(PRESETS))
def test_built_in_presets_are_valid_and_leave_the_request_alone(name: str) -> None:
    p = PRESETS[name]
    assert SamplingSettings.from_dict(p.to_dict()) == p  # passes every range check
    assert not p.greedy
    assert (p.seed, p.stop, p.max_tokens) == (None, (), SamplingSettings().max_tokens)
    assert PRESET_DESCRIPTIONS[name]
    assert preset(name) is p


def test_preset_lookup_ignores_case_and_spaces() -> None:
    assert preset("Creative") is PRESETS["creative"]
    assert preset("  PRECISE ") is PRESETS["precise"]


@pytest.mark.parametrize("bad", ["loud", "", "precise!", None, 3])
def test_unknown_preset_lists_the_valid_names(bad: Any) -> None:
    with pytest.raises(SettingError) as error:
        preset(bad)
    assert str(error.value) == (
        f"unknown preset {bad!r}; the presets are precise, balanced, creative"
    )


# --------------------------------------------------------------------------- names


def test_preset_name_is_stripped_and_checked() -> None:
    assert check_preset_name("  Dialogue ") == "Dialogue"
    assert check_preset_name("x" * MAX_PRESET_NAME) == "x" * MAX_PRESET_NAME
    assert check_preset_name("Précis 👩‍💻") == "Précis 👩‍💻"  # a joined emoji is fine


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        ("x" * (MAX_PRESET_NAME + 1), f"at most {MAX_PRESET_NAME} characters, got 41"),
        ("two\nlines", "one line of text"),
        ("tab\there", "one line of text"),
        (None, "must be text, got None"),
        (7, "must be text, got 7"),
        ("Balanced", "'Balanced' is the name of the built-in preset 'balanced'"),
        (" CREATIVE", "'CREATIVE' is the name of the built-in preset 'creative'"),
    ],
)
def test_bad_preset_names_are_refused_with_the_reason(bad: Any, message: str) -> None:
    with pytest.raises(SettingError, match=message):
        check_preset_name(bad)
    with pytest.raises(SettingError, match=message):
        save_preset(AppSettings(), bad, COLD)


@pytest.mark.parametrize(
    ("presets", "message"),
    [
        ((("a", COLD), ("A", WARM)), "distinct names \\(ignoring case\\): 'a' and 'A'"),
        ((("Straße", COLD), ("STRASSE", WARM)), "distinct names"),  # casefold, not lower
        ((("precise", COLD),), "built-in preset 'precise'"),
        ((("", COLD),), "must not be empty"),
        ((("a", {"temperature": 1}),), "user preset 'a' must hold a SamplingSettings"),
        ((("a", COLD, "extra"),), "must hold \\(name, sampling\\) pairs"),
        (("a",), "must hold \\(name, sampling\\) pairs"),
        ("a", "must be a list of \\(name, sampling\\) pairs"),
    ],
)
def test_app_settings_refuse_bad_user_presets(presets: Any, message: str) -> None:
    with pytest.raises(SettingError, match=message):
        AppSettings(user_presets=presets)


def test_app_settings_normalise_user_presets() -> None:
    # Lists, as a settings file gives them (hence the ignore): taken as tuples.
    settings = AppSettings(user_presets=[[" a ", COLD], ("b", WARM)])  # type: ignore[arg-type]
    assert settings.user_presets == (("a", COLD), ("b", WARM))


# --------------------------------------------------------------------------- helpers


def test_save_preset_appends_in_order_and_keeps_the_original() -> None:
    one = save_preset(BASE, "Zebra", COLD)
    two = save_preset(one, " alpha ", WARM)
    assert two.user_presets == (("Zebra", COLD), ("alpha", WARM))  # made order, not sorted
    assert one.user_presets == (("Zebra", COLD),)
    assert BASE.user_presets == ()
    assert replace(two, user_presets=()) == BASE  # nothing else changed


def test_save_preset_overwrites_in_place_ignoring_case() -> None:
    saved = save_preset(MINE, "WARM", HOT)
    assert saved.user_presets == (("Dialogue — cold", COLD), ("WARM", HOT), ("Alpha", HOT))


def test_save_preset_refuses_what_is_not_sampling() -> None:
    with pytest.raises(SettingError, match="must hold a SamplingSettings"):
        save_preset(BASE, "mine", {"temperature": 1.0})  # type: ignore[arg-type]  # the point


def test_rename_preset_keeps_place_and_values() -> None:
    renamed = rename_preset(MINE, "warm", "Toasty")
    assert renamed.user_presets == (("Dialogue — cold", COLD), ("Toasty", WARM), ("Alpha", HOT))
    assert names(rename_preset(MINE, "ALPHA", "alpha")) == ["Dialogue — cold", "warm", "alpha"]
    assert names(MINE) == ["Dialogue — cold", "warm", "Alpha"]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("nope", "x", "there is no preset of yours called 'nope'"),
        ("Creative", "x", "'creative' is a built-in preset; it cannot be renamed"),
        ("warm", "ALPHA", "a preset called 'Alpha' already exists"),
        ("warm", "Precise", "the name of the built-in preset 'precise'"),
        ("warm", " ", "must not be empty"),
        ("warm", "y" * 41, "at most 40 characters"),
    ],
)
def test_rename_preset_refusals(old: str, new: str, message: str) -> None:
    with pytest.raises(SettingError, match=message):
        rename_preset(MINE, old, new)


def test_delete_preset_ignores_case_and_keeps_the_order() -> None:
    assert names(delete_preset(MINE, "WARM")) == ["Dialogue — cold", "Alpha"]
    assert names(delete_preset(delete_preset(MINE, "alpha"), "dialogue — cold")) == ["warm"]
    with pytest.raises(SettingError, match="there is no preset of yours called 'gone'"):
        delete_preset(MINE, "gone")
    with pytest.raises(SettingError, match="'balanced' is a built-in preset; it cannot be deleted"):
        delete_preset(MINE, "balanced")


# --------------------------------------------------------------------------- the file


def test_user_presets_round_trip_in_order(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    save_settings(MINE, path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert [p["name"] for p in data["user_presets"]] == ["Dialogue — cold", "warm", "Alpha"]
    assert data["user_presets"][0]["sampling"] == COLD.to_dict()
    assert load_settings(path) == LoadResult(MINE, ())


def test_file_without_user_presets_loads_silently(tmp_path: Path) -> None:
    data = BASE.to_dict()
    del data["user_presets"]
    assert load_settings(write_json(tmp_path / "settings.json", data)) == LoadResult(BASE, ())


def entry(name: Any, **sampling: Any) -> dict[str, Any]:
    return {"name": name, "sampling": sampling}


@pytest.mark.parametrize(
    ("bad", "kept", "fragment"),
    [
        ("hot", None, "'user_presets[1]' must be an object with a name and sampling, got 'hot'"),
        (["x", {}], None, "must be an object with a name and sampling"),
        (entry(""), None, "'user_presets[1].name': a preset name must not be empty"),
        (entry(None), None, "a preset name must be text, got None; preset dropped"),
        (entry("a\nb"), None, "one line of text"),
        (entry("n" * 41), None, "at most 40 characters"),
        ({"name": "bare"}, None, "'user_presets[1].sampling' must be an object, got None"),
        ({"name": "odd", "sampling": [1]}, None, "preset 'odd' dropped"),
        (
            entry("scorching", temperature=99, top_k=40),
            ("scorching", SamplingSettings(temperature=5.0)),
            "'user_presets[1].sampling.temperature' is 99 but must be a number from 0 to 5; "
            "clamped to 5.0",
        ),
        (
            entry("counted", top_k="many"),
            ("counted", SamplingSettings()),
            "'user_presets[1].sampling.top_k' is 'many' but must be an integer",
        ),
        (
            entry("lucky", seed=-1, min_p=0.5),
            ("lucky", SamplingSettings(min_p=0.5)),
            "'user_presets[1].sampling.seed' is -1",  # a seed is a label: never clamped
        ),
        (
            entry("newer", mirostat=2, top_k=3),
            ("newer", SamplingSettings(top_k=3)),
            "unknown setting 'user_presets[1].sampling.mirostat' ignored",
        ),
        (
            {**entry("coloured", top_k=3), "colour": "red"},
            ("coloured", SamplingSettings(top_k=3)),
            "unknown setting 'user_presets[1].colour' ignored",
        ),
        (
            entry("Creative", temperature=1.5),
            ("Creative 2", SamplingSettings(temperature=1.5)),
            "'user_presets[1].name' is 'Creative', the name of the built-in preset 'creative'; "
            "renamed to 'Creative 2'",
        ),
        (
            entry("DIALOGUE — COLD", top_k=3),
            ("DIALOGUE — COLD 2", SamplingSettings(top_k=3)),
            "is 'DIALOGUE — COLD', already the name of an earlier preset (ignoring case); "
            "renamed to 'DIALOGUE — COLD 2'",
        ),
    ],
)
def test_one_bad_preset_entry_costs_only_itself(
    tmp_path: Path, bad: Any, kept: tuple[str, SamplingSettings] | None, fragment: str
) -> None:
    data = MINE.to_dict()
    data["user_presets"].insert(1, bad)
    result = load_settings(write_json(tmp_path / "settings.json", data))
    first, *rest = MINE.user_presets
    expected = (first, *([kept] if kept else []), *rest)
    assert result.settings == replace(MINE, user_presets=expected)
    (warning,) = result.warnings
    assert warning.startswith(str(tmp_path / "settings.json"))
    assert fragment in warning


def test_names_clashing_at_the_length_limit_stay_within_it(tmp_path: Path) -> None:
    long = "L" * MAX_PRESET_NAME
    data = BASE.to_dict()
    data["user_presets"] = [entry(long), entry(long.lower()), entry(long), entry("L" * 38 + " 2")]
    result = load_settings(write_json(tmp_path / "settings.json", data))
    assert names(result.settings) == [long, "l" * 38 + " 2", "L" * 38 + " 3", "L" * 38 + " 4"]
    assert len(result.warnings) == 3
    save_settings(result.settings, tmp_path / "again.json")
    assert load_settings(tmp_path / "again.json") == LoadResult(result.settings, ())


def test_user_presets_not_a_list_are_cleared(tmp_path: Path) -> None:
    data = MINE.to_dict()
    data["user_presets"] = {"warm": WARM.to_dict()}
    result = load_settings(write_json(tmp_path / "settings.json", data))
    assert result.settings == BASE
    (warning,) = result.warnings
    assert "'user_presets' must be a list of presets" in warning
    assert "cleared" in warning


def test_several_bad_entries_each_warn_and_the_good_ones_survive(tmp_path: Path) -> None:
    data = MINE.to_dict()
    data["user_presets"] = [
        7,
        *data["user_presets"],
        entry("alpha"),
        entry(""),
        entry("hot", temperature=-3),
    ]
    result = load_settings(write_json(tmp_path / "settings.json", data))
    assert result.settings.user_presets == (
        *MINE.user_presets,
        ("alpha 2", SamplingSettings()),
        ("hot", SamplingSettings(temperature=0.0)),
    )
    assert len(result.warnings) == 4
    assert result.settings.sampling == MINE.sampling
