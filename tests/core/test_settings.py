"""Settings and paths: real files on disk, every repair path, and atomic saves that fail safely."""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from keyring.backends import fail

from app.core import paths as paths_module
from app.core.paths import AppPaths
from app.core.postprocess import SuggestionMode
from app.core.sampling import RANGES, SamplingSettings, SettingError, _Range
from app.core.settings import (
    EDITOR_RANGES,
    MAX_PRESET_NAME,
    MAX_RECENT,
    RUNTIME_RANGES,
    SCHEMA_VERSION,
    SUGGESTION_RANGES,
    AppSettings,
    EditorSettings,
    LoadResult,
    RuntimeSettings,
    SettingsSaveError,
    SuggestionSettings,
    Theme,
    check_preset_name,
    load_settings,
    save_settings,
)
from tests.support.keychain import installed

SECTION_RANGES: dict[str, dict[str, _Range]] = {
    "sampling": RANGES,
    "suggestions": SUGGESTION_RANGES,
    "runtime": RUNTIME_RANGES,
    "editor": EDITOR_RANGES,
}

#: Non-default values in every section, to prove a repair never touches its neighbours.
CUSTOM = AppSettings(
    model_path="/models/gpt2-q8_0.gguf",
    sampling=SamplingSettings(temperature=1.3, top_k=7, seed=42, stop=("\n\n",)),
    suggestions=SuggestionSettings(auto_suggest=False, mode="word", max_tokens=5, debounce_ms=300),
    runtime=RuntimeSettings(n_threads=4, n_gpu_layers=-1, n_ctx=512),
    editor=EditorSettings(theme=Theme.DARK, line_wrap=False, zoom=3, font_family="Iosevka"),
    recent_files=("/docs/b.txt", "/docs/a.txt"),
    window_geometry="AdnQywADAAA=",
    window_state="AAAA/wAAAAD9",
    user_presets=(("Mine", SamplingSettings(temperature=0.4, top_k=12)),),
)


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def custom_with(section: str, key: str, value: Any) -> dict[str, Any]:
    data = CUSTOM.to_dict()
    data[section][key] = value
    return data


# --------------------------------------------------------------------------- round trips


def test_missing_file_gives_defaults_and_no_warning(tmp_path: Path) -> None:
    assert load_settings(tmp_path / "settings.json") == LoadResult(AppSettings(), ())
    assert list(tmp_path.iterdir()) == []


def test_defaults_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    save_settings(AppSettings(), path)
    assert load_settings(path) == LoadResult(AppSettings(), ())


def test_saved_json_is_pretty_sorted_and_stable(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    save_settings(CUSTOM, path)
    first = path.read_bytes()
    text = first.decode("utf-8")
    assert text.endswith("}\n")
    assert '\n  "editor": {\n' in text
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"
    assert json.loads(text)["schema_version"] == SCHEMA_VERSION
    save_settings(load_settings(path).settings, path)
    assert path.read_bytes() == first


def test_to_dict_has_every_field_of_every_section() -> None:
    """A field added to a dataclass but forgotten in to_dict would silently never be saved."""
    data = AppSettings().to_dict()
    assert set(data) == {f.name for f in fields(AppSettings)}
    for section in SECTION_RANGES:
        section_fields = {f.name for f in fields(getattr(AppSettings(), section))}
        assert set(data[section]) == section_fields
    assert json.loads(json.dumps(data)) == data  # plain JSON types only


def from_range(rule: _Range) -> st.SearchStrategy[Any]:
    base: st.SearchStrategy[Any] = (
        st.integers(int(rule.low), int(rule.high))
        if rule.integer
        else st.floats(rule.low, rule.high, allow_nan=False)
    )
    return st.none() | base if rule.allow_none else base


def section(cls: type, ranges: dict[str, _Range], **others: Any) -> st.SearchStrategy[Any]:
    return st.builds(cls, **{name: from_range(rule) for name, rule in ranges.items()}, **others)


text = st.text(min_size=1, max_size=20)
optional_text = st.none() | text


def _preset_name(name: str) -> str:
    try:
        return check_preset_name(name)
    except SettingError:
        return ""


preset_names = st.text(min_size=1, max_size=MAX_PRESET_NAME).map(_preset_name).filter(bool)

valid_settings = st.builds(
    AppSettings,
    model_path=optional_text,
    sampling=section(SamplingSettings, RANGES, stop=st.lists(text, max_size=3).map(tuple)),
    suggestions=section(
        SuggestionSettings,
        SUGGESTION_RANGES,
        auto_suggest=st.booleans(),
        mode=st.sampled_from([m.value for m in SuggestionMode]),
    ),
    runtime=section(RuntimeSettings, RUNTIME_RANGES),
    editor=section(
        EditorSettings,
        EDITOR_RANGES,
        theme=st.sampled_from(Theme),
        line_wrap=st.booleans(),
        font_family=optional_text,
    ),
    recent_files=st.lists(text, max_size=MAX_RECENT, unique=True).map(tuple),
    window_geometry=st.none() | st.text(max_size=40),
    window_state=st.none() | st.text(max_size=40),
    user_presets=st.lists(
        st.tuples(preset_names, section(SamplingSettings, RANGES)),
        max_size=3,
        unique_by=lambda pair: pair[0].casefold(),
    ).map(tuple),
)


@settings(max_examples=60, deadline=None)
@given(valid_settings)
def test_every_field_round_trips(original: AppSettings) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "settings.json"
        save_settings(original, path)
        assert load_settings(path) == LoadResult(original, ())


def test_undecodable_path_and_non_ascii_round_trip(tmp_path: Path) -> None:
    """Linux hands undecodable file names over as lone surrogates; UTF-8 cannot hold them."""
    path = tmp_path / "settings.json"
    readable = replace(CUSTOM, recent_files=("/docs/naïve café.txt",))
    save_settings(readable, path)
    assert "naïve café" in path.read_text(encoding="utf-8")  # left readable for hand edits
    odd = replace(CUSTOM, recent_files=("/docs/bad-\udcff.txt", "/docs/naïve café.txt"))
    save_settings(odd, path)
    assert load_settings(path) == LoadResult(odd, ())


# --------------------------------------------------------------------------- corrupt files


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b'{"sampling": {"temperature": 0.5', "not valid JSON"),
        (b"", "not valid JSON"),
        (b"[1, 2, 3]", "not an object"),
        (b'"just a string"', "not an object"),
        (b'{"model_path": "caf\xe9"}', "not UTF-8"),
        (b"[" * 100_000, "not valid JSON"),
    ],
    ids=["truncated", "empty", "list", "string", "latin-1", "too-deep"],
)
def test_corrupt_file_gives_defaults_and_is_kept_aside(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    path = tmp_path / "settings.json"
    path.write_bytes(content)
    result = load_settings(path)
    assert result.settings == AppSettings()
    assert len(result.warnings) == 1
    warning = result.warnings[0]
    assert str(path) in warning
    assert problem in warning
    kept = list(tmp_path.glob("settings.json.corrupt-*"))
    assert len(kept) == 1
    assert kept[0].name in warning
    assert kept[0].read_bytes() == content
    assert not path.exists()  # the next save cannot overwrite what the user had


def test_unreadable_settings_path_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.mkdir()
    (path / "inside").write_text("keep me")
    result = load_settings(path)
    assert result.settings == AppSettings()
    assert len(result.warnings) == 1
    assert "cannot be read" in result.warnings[0]
    (kept,) = tmp_path.glob("settings.json.corrupt-*")
    assert (kept / "inside").read_text() == "keep me"


def test_two_corrupt_files_in_a_row_both_survive(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text("first {")
    load_settings(path)
    path.write_text("second {")
    load_settings(path)
    kept = sorted(p.read_text() for p in tmp_path.glob("settings.json.corrupt-*"))
    assert kept == ["first {", "second {"]


def test_a_BOM_from_a_windows_editor_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(CUSTOM.to_dict()).encode())
    assert load_settings(path) == LoadResult(CUSTOM, ())


# --------------------------------------------------------------------------- bad values


def test_one_out_of_range_value_is_clamped_and_keeps_the_rest(tmp_path: Path) -> None:
    path = write_json(tmp_path / "settings.json", custom_with("sampling", "temperature", 99))
    result = load_settings(path)
    assert result.settings == replace(
        CUSTOM, sampling=CUSTOM.sampling.with_changes(temperature=5.0)
    )
    (warning,) = result.warnings
    assert "'sampling.temperature'" in warning
    assert "99" in warning
    assert "from 0 to 5" in warning
    assert "clamped to 5.0" in warning


@pytest.mark.parametrize(
    ("section", "key", "rule"),
    [(s, k, r) for s, ranges in SECTION_RANGES.items() for k, r in ranges.items() if k != "seed"],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_every_range_clamps_at_both_ends(
    tmp_path: Path, section: str, key: str, rule: _Range
) -> None:
    for bad, bound in ((rule.high + 1, rule.high), (rule.low - 1, rule.low)):
        path = write_json(tmp_path / "settings.json", custom_with(section, key, bad))
        result = load_settings(path)
        expected = replace(CUSTOM, **{section: replace(getattr(CUSTOM, section), **{key: bound})})
        assert result.settings == expected
        (warning,) = result.warnings
        assert f"'{section}.{key}'" in warning
        assert rule.describe() in warning


@pytest.mark.parametrize(
    ("section", "key", "bad", "default"),
    [
        ("sampling", "top_k", "forty", 40),
        ("sampling", "top_k", 2.5, 40),  # a fraction for an integer is a wrong type
        ("sampling", "temperature", float("nan"), 0.7),
        ("sampling", "temperature", True, 0.7),
        ("sampling", "seed", -1, None),  # a seed is a label: never clamped
        ("sampling", "stop", "\n", ()),
        ("sampling", "stop", ["", "x"], ()),
        ("suggestions", "auto_suggest", "yes", True),
        ("suggestions", "mode", "novel", "sentence"),
        ("suggestions", "max_tokens", None, 24),
        ("runtime", "n_threads", "auto", None),
        ("runtime", "n_gpu_layers", [1], 0),
        ("editor", "theme", "blue", Theme.SYSTEM),
        ("editor", "line_wrap", 1, True),
        ("editor", "font_family", "", None),
        ("editor", "font_size", "12pt", None),
    ],
)
def test_wrongly_typed_value_falls_back_to_its_default(
    tmp_path: Path, section: str, key: str, bad: Any, default: Any
) -> None:
    path = write_json(tmp_path / "settings.json", custom_with(section, key, bad))
    result = load_settings(path)
    expected = replace(CUSTOM, **{section: replace(getattr(CUSTOM, section), **{key: default})})
    assert result.settings == expected
    (warning,) = result.warnings
    assert f"'{section}.{key}'" in warning
    assert repr(bad) in warning
    assert "must be" in warning
    assert "using the default" in warning


@pytest.mark.parametrize(
    ("key", "bad"),
    [("model_path", 5), ("model_path", ""), ("window_geometry", 12), ("window_state", [])],
)
def test_wrong_top_level_value_falls_back_to_its_default(
    tmp_path: Path, key: str, bad: Any
) -> None:
    data = CUSTOM.to_dict()
    data[key] = bad
    result = load_settings(write_json(tmp_path / "settings.json", data))
    cleared: dict[str, Any] = {key: None}  # each of these fields is optional
    assert result.settings == replace(CUSTOM, **cleared)
    (warning,) = result.warnings
    assert f"'{key}'" in warning
    assert repr(bad) in warning


def test_warning_stays_short_and_states_the_rule_once(tmp_path: Path) -> None:
    data = custom_with("suggestions", "mode", "chapter, got it" + "x" * 10_000)
    (warning,) = load_settings(write_json(tmp_path / "settings.json", data)).warnings
    assert len(warning) < len(str(tmp_path)) + 300
    assert warning.count("must be one of word, phrase, sentence, line, paragraph;") == 1
    assert "'chapter, got itxxx" in warning
    assert warning.endswith("using the default 'sentence'")


def test_section_that_is_not_an_object_gets_its_defaults(tmp_path: Path) -> None:
    data = CUSTOM.to_dict()
    data["runtime"] = [4, -1]
    result = load_settings(write_json(tmp_path / "settings.json", data))
    assert result.settings == replace(CUSTOM, runtime=RuntimeSettings())
    (warning,) = result.warnings
    assert "'runtime'" in warning
    assert "must be an object" in warning


def test_several_bad_values_each_get_a_warning(tmp_path: Path) -> None:
    data = custom_with("sampling", "top_p", 7)
    data["editor"]["zoom"] = -100
    data["suggestions"]["mode"] = 3
    result = load_settings(write_json(tmp_path / "settings.json", data))
    assert result.settings.sampling.top_p == 1.0
    assert result.settings.editor.zoom == -8
    assert result.settings.suggestions.mode == "sentence"
    assert result.settings.suggestions.max_tokens == CUSTOM.suggestions.max_tokens
    assert len(result.warnings) == 3


def test_unknown_keys_are_dropped_with_a_warning_each(tmp_path: Path) -> None:
    data = custom_with("suggestions", "foo", 1)
    data["telemetry"] = True
    data["editor"]["minimap"] = "yes"
    result = load_settings(write_json(tmp_path / "settings.json", data))
    assert result.settings == CUSTOM
    assert len(result.warnings) == 3
    joined = "\n".join(result.warnings)
    assert "unknown setting 'suggestions.foo' ignored" in joined
    assert "unknown setting 'telemetry' ignored" in joined
    assert "unknown setting 'editor.minimap' ignored" in joined
    assert all(w.startswith(str(tmp_path)) for w in result.warnings)


def test_newer_schema_loads_what_it_understands(tmp_path: Path) -> None:
    data = custom_with("sampling", "mirostat", 2)
    data["schema_version"] = SCHEMA_VERSION + 1
    result = load_settings(write_json(tmp_path / "settings.json", data))
    assert result.settings == CUSTOM
    assert result.settings.schema_version == SCHEMA_VERSION
    assert len(result.warnings) == 2
    assert "newer Ghostpen" in result.warnings[0]
    assert f"schema version {SCHEMA_VERSION + 1}" in result.warnings[0]
    assert "'sampling.mirostat'" in result.warnings[1]


@pytest.mark.parametrize("bad", ["1", 0, None, 1.5, True])
def test_bad_schema_version_is_read_as_ours(tmp_path: Path, bad: Any) -> None:
    data = CUSTOM.to_dict()
    data["schema_version"] = bad
    result = load_settings(write_json(tmp_path / "settings.json", data))
    assert result.settings == CUSTOM
    (warning,) = result.warnings
    assert "'schema_version'" in warning


def test_missing_keys_take_their_defaults_silently(tmp_path: Path) -> None:
    path = write_json(tmp_path / "settings.json", {"sampling": {"top_k": 5}, "editor": {}})
    result = load_settings(path)
    assert result == LoadResult(replace(AppSettings(), sampling=SamplingSettings(top_k=5)), ())


# --------------------------------------------------------------------------- value objects


# Some values below have the wrong type on purpose (a settings file can hold anything);
# those lines carry an arg-type ignore.
@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: RuntimeSettings(n_threads=0), "runtime.n_threads must be an integer from 1 to 64"),
        (lambda: RuntimeSettings(n_ctx=8), "runtime.n_ctx must be an integer from 16 to 32768"),
        (lambda: SuggestionSettings(n_alternatives=9), "suggestions.n_alternatives must be an"),
        (lambda: SuggestionSettings(mode="chapter"), "word, phrase, sentence, line, paragraph"),
        (lambda: SuggestionSettings(auto_suggest=1), "suggestions.auto_suggest must be true or"),  # type: ignore[arg-type]
        (lambda: EditorSettings(font_size=100.0), "editor.font_size must be a number from 6 to 72"),
        (lambda: EditorSettings(theme="blue"), "editor.theme must be one of system, light, dark"),  # type: ignore[arg-type]
        (lambda: AppSettings(schema_version=2), "schema_version must be an integer from 1 to 1"),
        (lambda: AppSettings(recent_files=("a",) * 2), "at most 10 distinct paths"),
        (lambda: AppSettings(recent_files="abc"), "recent_files must be a list"),  # type: ignore[arg-type]
        (lambda: AppSettings(runtime={"n_threads": 2}), "runtime must be a RuntimeSettings"),  # type: ignore[arg-type]
        (lambda: AppSettings(user_presets=(("balanced", SamplingSettings()),)), "built-in"),
        (lambda: AppSettings(user_presets={"a": SamplingSettings()}), "user_presets must be a"),  # type: ignore[arg-type]
    ],
)
def test_value_objects_reject_bad_values(make: Any, message: str) -> None:
    with pytest.raises(SettingError, match=message):
        make()


def test_value_objects_normalise_equivalent_inputs() -> None:
    assert SuggestionSettings(mode=SuggestionMode.WORD).mode == "word"
    assert type(SuggestionSettings(mode=SuggestionMode.WORD).mode) is str
    assert SuggestionSettings(mode="line").suggestion_mode is SuggestionMode.LINE
    # A str theme, a float thread count and a list of files are taken (ignore[arg-type]: on
    # purpose, as a settings file or a caller may give them).
    assert EditorSettings(theme="dark").theme is Theme.DARK  # type: ignore[arg-type]
    assert EditorSettings(font_size=12).font_size == 12.0
    assert RuntimeSettings(n_threads=8.0).n_threads == 8  # type: ignore[arg-type]
    assert AppSettings(recent_files=["a", "b"]).recent_files == ("a", "b")  # type: ignore[arg-type]
    assert math.isclose(SamplingSettings().temperature, AppSettings().sampling.temperature)


# --------------------------------------------------------------------------- recent files


def test_recent_files_most_recent_first_and_moved_on_reopen(tmp_path: Path) -> None:
    a, b, c = (str(tmp_path / name) for name in ("a.txt", "b.txt", "c.txt"))
    s = AppSettings().with_recent_file(a).with_recent_file(b).with_recent_file(c)
    assert s.recent_files == (c, b, a)
    assert s.with_recent_file(a).recent_files == (a, c, b)
    assert s.with_recent_file(c).recent_files == (c, b, a)


def test_recent_files_dedup_by_resolved_path(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    real = tmp_path / "notes.txt"
    real.write_text("x")
    s = AppSettings().with_recent_file(real)
    assert s.with_recent_file(tmp_path / "sub" / ".." / "notes.txt").recent_files == (str(real),)
    if hasattr(os, "symlink"):
        link = tmp_path / "link.txt"
        try:
            link.symlink_to(real)
        except OSError:  # Windows without the symlink privilege
            return
        assert s.with_recent_file(link).recent_files == (str(real.resolve()),)


def test_recent_files_resolves_relative_paths(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    s = AppSettings().with_recent_file("draft.md")
    assert s.recent_files == (str((tmp_path / "draft.md").resolve()),)
    assert Path(s.recent_files[0]).is_absolute()


def test_recent_files_capped_dropping_the_oldest(tmp_path: Path) -> None:
    s = AppSettings()
    names = [str(tmp_path / f"{i}.txt") for i in range(MAX_RECENT + 3)]
    for name in names:
        s = s.with_recent_file(name)
    assert len(s.recent_files) == MAX_RECENT
    assert s.recent_files == tuple(reversed(names))[:MAX_RECENT]
    assert s.with_recent_file(names[5]).recent_files[0] == names[5]
    assert len(s.with_recent_file(names[5]).recent_files) == MAX_RECENT


def test_recent_files_in_file_are_repaired_keeping_order(tmp_path: Path) -> None:
    listed = ["/d/a", "/d/b", "/d/a", 7, "", *(f"/d/{i}" for i in range(12))]
    data = CUSTOM.to_dict()
    data["recent_files"] = listed
    result = load_settings(write_json(tmp_path / "settings.json", data))
    expected = ("/d/a", "/d/b", *(f"/d/{i}" for i in range(8)))
    assert result.settings == replace(CUSTOM, recent_files=expected)
    (warning,) = result.warnings
    assert "'recent_files'" in warning
    assert "kept 10 of 17" in warning


def test_recent_files_not_a_list_is_cleared(tmp_path: Path) -> None:
    data = CUSTOM.to_dict()
    data["recent_files"] = "/d/a"
    result = load_settings(write_json(tmp_path / "settings.json", data))
    assert result.settings == replace(CUSTOM, recent_files=())
    assert len(result.warnings) == 1


# --------------------------------------------------------------------------- paths


def test_app_paths_under_ghostpen_home(tmp_path: Path, monkeypatch: Any) -> None:
    home = tmp_path / "portable"
    monkeypatch.setenv("GHOSTPEN_HOME", str(home))
    paths = AppPaths.default()
    assert paths == AppPaths(home / "config", home / "data", home / "cache", home / "state")
    assert paths.settings_file == home / "config" / "settings.json"
    assert paths.models_dir == home / "data" / "models"
    assert not home.exists()  # default() only computes; ensure() creates
    paths.ensure()
    paths.ensure()  # idempotent
    assert sorted(p.name for p in home.iterdir()) == ["cache", "config", "data", "state"]


def test_relative_ghostpen_home_is_fixed_at_lookup(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GHOSTPEN_HOME", "portable")
    paths = AppPaths.default()
    assert paths.config_dir == (tmp_path / "portable" / "config").resolve()
    assert paths.config_dir.is_absolute()


@pytest.mark.parametrize("value", [None, ""])
def test_app_paths_from_platformdirs(monkeypatch: Any, value: str | None) -> None:
    if value is None:
        monkeypatch.delenv("GHOSTPEN_HOME", raising=False)
    else:
        monkeypatch.setenv("GHOSTPEN_HOME", value)  # empty counts as unset
    paths = AppPaths.default()
    code_dir = Path(paths_module.__file__).resolve().parents[2]
    for folder in (paths.config_dir, paths.data_dir, paths.cache_dir, paths.state_dir):
        assert folder.is_absolute()
        assert "ghostpen" in str(folder).lower()
        assert code_dir not in folder.parents  # nothing is ever written beside the code


# --------------------------------------------------------------------------- atomic saves


def test_save_creates_the_folder_and_leaves_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "settings.json"
    save_settings(CUSTOM, path)
    save_settings(AppSettings(), path)
    assert os.listdir(path.parent) == ["settings.json"]
    assert load_settings(path) == LoadResult(AppSettings(), ())


def _fail(*args: Any, **kwargs: Any) -> None:
    raise OSError(28, "No space left on device")


@pytest.mark.parametrize("step", ["fsync", "replace"])
def test_failed_save_raises_and_keeps_the_previous_file(
    tmp_path: Path, monkeypatch: Any, step: str
) -> None:
    path = tmp_path / "settings.json"
    save_settings(CUSTOM, path)
    before = path.read_bytes()
    monkeypatch.setattr(paths_module.os, step, _fail)
    with pytest.raises(SettingsSaveError, match=r"could not save settings to .*No space left") as e:
        save_settings(AppSettings(), path)
    monkeypatch.undo()
    assert isinstance(e.value, OSError)
    assert e.value.errno == 28
    assert str(path) in str(e.value)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["settings.json"]
    assert load_settings(path).settings == CUSTOM


def test_save_under_a_file_raises_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "config"
    blocker.write_text("i am a file")
    with pytest.raises(SettingsSaveError, match="could not save settings to") as e:
        save_settings(AppSettings(), blocker / "settings.json")
    assert str(e.value).endswith(f": {blocker}")  # names the folder that is really a file
    assert blocker.read_text() == "i am a file"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
def test_save_keeps_the_file_mode(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    save_settings(AppSettings(), path)
    assert path.stat().st_mode & 0o777 == 0o600  # new file: private to the user
    path.chmod(0o640)
    save_settings(CUSTOM, path)
    assert path.stat().st_mode & 0o777 == 0o640


def test_save_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "ghostpen.json"
    real.parent.mkdir()
    save_settings(AppSettings(), real)
    link = tmp_path / "config" / "settings.json"
    link.parent.mkdir()
    try:
        link.symlink_to(real)
    except OSError:
        pytest.skip("symlinks are not available")
    save_settings(CUSTOM, link)
    assert link.is_symlink()
    assert load_settings(real) == LoadResult(CUSTOM, ())
    assert os.listdir(link.parent) == ["settings.json"]


def test_remote_backend_settings_round_trip_and_bad_values_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    runtime = RuntimeSettings(
        backend="remote", remote_url="http://10.0.0.5:8080", remote_api_key="sk-1"
    )
    with installed(fail.Keyring()):  # no keychain: the key stays in the file
        save_settings(AppSettings(runtime=runtime), path)
        loaded = load_settings(path)
    assert loaded.settings.runtime == runtime
    assert not loaded.warnings
    assert json.loads(path.read_text(encoding="utf-8"))["runtime"]["remote_api_key"] == "sk-1"
    assert oct(path.stat().st_mode & 0o777) == "0o600"  # the key is not world-readable
    path.write_text(json.dumps({"runtime": {"backend": "cloud", "remote_url": "ftp://x"}}))
    loaded = load_settings(path)
    assert loaded.settings.runtime == RuntimeSettings()
    text = " ".join(loaded.warnings)
    assert "runtime.backend" in text
    assert "runtime.remote_url" in text
