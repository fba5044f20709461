#!/usr/bin/env bash
# Smoke test of the wheel as a user installs it: build the sdist and, from it, the wheel
# (what `python -m build` does), install the wheel NON-editable into a fresh virtual
# environment and run the installed `ghostpen` from a folder outside the source tree, so
# nothing can be imported from the checkout. An editable install (the test suite's) reads
# the tree and hides a package or a data file that the wheel leaves out; this does not:
#   - every module of the tree's app/ imports from the installed wheel (app.bench was once
#     missing from it; the commands import their packages lazily, so --help cannot tell);
#   - `ghostpen --version`, `ghostpen bench --help`: the entry point and its parser;
#   - `ghostpen models list`: the catalog data (app.catalog, from models/);
#   - `ghostpen complete` on a small generated GPT-2: llama.cpp, the probe in a child
#     process of the installed app, a continuation printed;
#   - a short `ghostpen bench` on that model: the bench package types into the editor;
#   - `ghostpen gui --quit-after-shown`: the editor starts with its icon, themes and
#     translations (app.resources, from resources/) and quits from its event loop.
# Needs the development environment in .venv (it builds without build isolation, with the
# setuptools of the test extra, and writes the small model with the test suite's helpers).
# The installed wheel's dependencies come from pip's cache where it has them (llama-cpp-
# python's wheel, built by the README's install, is reused: no second compile).
set -euo pipefail
cd "$(dirname "$0")/.."

py=${PYTHON:-.venv/bin/python}
case $py in /*) ;; *) py=$PWD/$py ;; esac
t_start=$SECONDS
label="wheel smoke"
# shellcheck source=packaging/smoke_lib.sh
. packaging/smoke_lib.sh  # the working folder is the repository root
[ -x "$py" ] || fail "$py is missing: create .venv with the README's install command"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/dist" "$work/run"

# 1. The sdist, then the wheel from it, with no build isolation (nothing downloaded). The
#    sdist is built from a copy of the tree without its build outputs: setuptools would add
#    the files a stale ghostpen.egg-info/SOURCES.txt lists, and a stale build/lib's.
mkdir "$work/src"
tar -c --exclude=./.git --exclude=./.venv --exclude=./build --exclude=./dist \
  --exclude='*.egg-info' --exclude=__pycache__ --exclude='*.gguf' . | tar -x -C "$work/src"
sdist=$(cd "$work/src" && "$py" -c \
  "import sys; from setuptools import build_meta as b; print(b.build_sdist(sys.argv[1]))" \
  "$work/dist" | tail -n 1) || fail "the sdist did not build"
"$py" -m pip wheel --disable-pip-version-check -q --no-deps --no-build-isolation \
  -w "$work/dist" "$work/dist/$sdist" || fail "the wheel did not build from $sdist"
wheel=$(find "$work/dist" -name 'ghostpen-*.whl' | head -n 1)
[ -n "$wheel" ] || fail "no wheel in $work/dist"
echo "wheel smoke: built $sdist and $(basename "$wheel") in $((SECONDS - t_start)) s"

# 2. A fresh environment with the wheel and its dependencies (the README's CMAKE_ARGS, in
#    case llama-cpp-python is not in pip's cache and has to be compiled).
t_install=$SECONDS
python3 -m venv "$work/venv"
CMAKE_ARGS="-DLLAVA_BUILD=OFF" "$work/venv/bin/pip" install --disable-pip-version-check -q \
  "$wheel" || fail "the wheel did not install"
echo "wheel smoke: installed into a fresh venv in $((SECONDS - t_install)) s"

# 3. The small model, written by the development environment (the wheel has no test helpers).
PYTHONPATH="$PWD" "$py" packaging/smoke_model.py "$work/model" >/dev/null ||
  fail "could not generate the test model"
model="$work/model/tiny-q8_0.gguf"
# Every module of the tree, by name (app/__main__.py runs the command line: not imported).
modules=$(find app -name '*.py' -not -name '__main__.py' | sed -e 's|/__init__\.py$||' \
  -e 's|\.py$||' -e 's|/|.|g' | sort | tr '\n' ' ')

# 4. The installed app, from a folder outside the tree, with a throwaway home.
cd "$work/run"
unset PYTHONPATH GHOSTPEN_PROBE_CACHE LLAMA_CPP_LIB_PATH
export GHOSTPEN_HOME="$work/home" QT_QPA_PLATFORM=offscreen
bin="$work/venv/bin"
out="$work/stdout"
err="$work/stderr"
check() { run_checked "$@"; }  # check WHAT CMD...

check "import app" "$bin/python" -c "import app, app.catalog, app.resources; print(app.__file__)"
case "$(cat "$out")" in
  "$work/venv/"*) echo "wheel smoke: ok: app imports from $(cat "$out")" ;;
  *) fail "app was imported from $(cat "$out"), not from the installed wheel" ;;
esac
check "importing every module of app/" "$bin/python" -c \
  "import importlib, sys; [importlib.import_module(m) for m in sys.argv[1:]]" $modules
echo "wheel smoke: ok: all $(echo "$modules" | wc -w) modules of app/ import from the wheel"
check "ghostpen --version" "$bin/ghostpen" --version
grep -q "^ghostpen " "$out" || { show; fail "ghostpen --version printed no version"; }
echo "wheel smoke: ok: $(cat "$out")"
check "ghostpen bench --help" "$bin/ghostpen" bench --help
grep -q "usage: ghostpen bench" "$out" || { show; fail "ghostpen bench --help printed no usage"; }
echo "wheel smoke: ok: ghostpen bench --help"
check "ghostpen models list" "$bin/ghostpen" models list
grep -q "gpt2" "$out" || { show; fail "ghostpen models list shows no catalog"; }
echo "wheel smoke: ok: the catalog loads (app.catalog)"
check "ghostpen complete" "$bin/ghostpen" complete --model "$model" --seed 1 --max-tokens 16 \
  "The quick brown fox"
[ -s "$out" ] || { show; fail "ghostpen complete printed nothing"; }
grep -q '"ms"' "$GHOSTPEN_HOME/cache/model-probe.json" 2>/dev/null ||
  { show; fail "complete ran no probe (no pass in $GHOSTPEN_HOME/cache/model-probe.json)"; }
echo "wheel smoke: ok: complete printed $(wc -c <"$out") bytes, after a probe in a child process"
check "ghostpen bench (short)" "$bin/ghostpen" bench --model "$model" --chars 20 --intervals 60 \
  --no-offline --no-throughput --startup-runs 1 --json "$work/bench.json"
[ -s "$work/bench.json" ] || { show; fail "ghostpen bench wrote no figures"; }
echo "wheel smoke: ok: a short ghostpen bench ran"
check "the editor (gui --quit-after-shown)" "$bin/ghostpen" gui --quit-after-shown --model "$model"
grep -q "the main window was shown" "$err" || { show; fail "the editor never showed its window"; }
if grep -E "Traceback|QThread|still running|Leaked|Segmentation|Aborted" "$err" >&2; then
  show
  fail "the editor reported the errors above"
fi
echo "wheel smoke: ok: the editor started and quit"

echo "wheel smoke: all green in $((SECONDS - t_start)) s"
