"""The wheel and the sdist hold what the tree holds.

An editable install imports straight from the tree, so the test suite cannot see a package
or a data file that the wheel leaves out (``app.bench`` once was). Here both are built with
setuptools' own build hooks (what ``pip wheel`` and ``python -m build`` call) from a copy of
the tree, and their file lists are compared with the tree's: every file under ``app/``,
``models/`` (``app.catalog``) and ``resources/`` (``app.resources``) is in the wheel, and
nothing else is; the sdist holds the sources, tests and docs, and a wheel built from the
sdist is the same as one built from the tree. No build isolation, so nothing is downloaded:
the build runs on this environment's setuptools (the test extra requires the build-system's).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Where each installed package's files come from in the tree (setup.py maps the data ones).
WHEEL_SOURCES = {"app": "app", "models": "app/catalog", "resources": "app/resources"}
# What the sdist must hold besides setuptools' own files (PKG-INFO, setup.cfg, egg-info).
SDIST_DIRS = ("app", "models", "resources", "tests", "docs", "packaging", "scripts")
SDIST_FILES = ("README.md", "CHANGELOG.md", "pyproject.toml", "setup.py", "MANIFEST.in")
# Never source: caches and build outputs, left out of the copy and of both archives.
NOT_SOURCE = ("__pycache__", "*.pyc", "*.pyo", "*.gguf", "*.egg-info", ".*_cache", ".hypothesis")


def _files(folder: Path) -> set[str]:
    """Every file under ``folder`` (relative, POSIX), caches and build outputs left out."""
    return {
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.is_file()
        and not any(part == "__pycache__" for part in path.parts)
        and path.suffix not in (".pyc", ".pyo", ".gguf")
    }


def _expected_wheel() -> set[str]:
    return {
        f"{target}/{name}"
        for source, target in WHEEL_SOURCES.items()
        for name in _files(ROOT / source)
    }


def _expected_sdist() -> set[str]:
    names = {f"{folder}/{name}" for folder in SDIST_DIRS for name in _files(ROOT / folder)}
    return names | set(SDIST_FILES)


def _build(hook: str, source: Path, out: Path) -> Path:
    """Run one PEP 517 hook of setuptools in a child process, as a build frontend does."""
    out.mkdir(parents=True, exist_ok=True)
    code = f"from setuptools import build_meta\nprint(build_meta.{hook}({str(out)!r}))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=source, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, (
        f"{hook} failed (the build uses this environment's setuptools; the test extra "
        f"installs the one the build-system requires):\n{result.stdout}\n{result.stderr}"
    )
    return out / result.stdout.strip().splitlines()[-1]


def _wheel_files(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return {
            name
            for name in archive.namelist()
            if not name.endswith("/") and ".dist-info/" not in name
        }


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The wheel from a copy of the tree, the sdist, and a wheel built from the sdist.

    A copy, because setuptools writes ``build/`` and ``*.egg-info`` next to the sources, and
    a stale ``build/lib`` would slip files that the tree no longer has into the wheel.
    """
    work = tmp_path_factory.mktemp("packaging")
    tree = work / "tree"
    shutil.copytree(
        ROOT,
        tree,
        ignore=shutil.ignore_patterns(".git", ".venv", "build", "dist", *NOT_SOURCE),
    )
    sdist = _build("build_sdist", tree, work / "sdist")
    with tarfile.open(sdist) as archive:
        # The "data" filter (no links out, no odd modes) exists from Python 3.11.4 on.
        if hasattr(tarfile, "data_filter"):
            archive.extractall(work / "unpacked", filter="data")
        else:
            archive.extractall(work / "unpacked")
    (unpacked,) = (work / "unpacked").iterdir()
    return {
        "wheel": _build("build_wheel", tree, work / "wheel"),
        "sdist": sdist,
        "wheel_from_sdist": _build("build_wheel", unpacked, work / "wheel-from-sdist"),
    }


def test_the_wheel_holds_every_module_and_data_file_and_nothing_else(
    built: dict[str, Path],
) -> None:
    expected = _expected_wheel()
    assert {"app/bench/__init__.py", "app/catalog/catalog.json"} <= expected
    found = _wheel_files(built["wheel"])
    missing, extra = sorted(expected - found), sorted(found - expected)
    assert not missing, f"files of the tree missing from the wheel: {missing}"
    assert not extra, f"files in the wheel that are not the app's: {extra}"


def test_the_wheel_installs_the_ghostpen_command(built: dict[str, Path]) -> None:
    with zipfile.ZipFile(built["wheel"]) as archive:
        (entry_points,) = [n for n in archive.namelist() if n.endswith("/entry_points.txt")]
        text = archive.read(entry_points).decode()
    assert "[console_scripts]" in text
    assert "ghostpen = app.cli:main" in text


def test_the_sdist_holds_the_sources_tests_and_docs(built: dict[str, Path]) -> None:
    top = built["sdist"].name.removesuffix(".tar.gz")
    with tarfile.open(built["sdist"]) as archive:
        members = archive.getmembers()
    assert {m.name.split("/")[0] for m in members} == {top}
    found = {m.name.removeprefix(f"{top}/") for m in members if m.isfile()}
    expected = _expected_sdist()
    assert {"tests/conftest.py", "README.md", "pyproject.toml"} <= expected
    missing = sorted(expected - found)
    assert not missing, f"files of the tree missing from the sdist: {missing}"
    extra = sorted(
        name
        for name in found - expected
        if name not in ("PKG-INFO", "setup.cfg") and not name.startswith("ghostpen.egg-info/")
    )
    assert not extra, f"files in the sdist that are not sources: {extra}"


def test_a_wheel_built_from_the_sdist_is_the_same(built: dict[str, Path]) -> None:
    assert _wheel_files(built["wheel_from_sdist"]) == _wheel_files(built["wheel"])
