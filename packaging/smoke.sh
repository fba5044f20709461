#!/usr/bin/env bash
# Smoke test of the standalone app: build it (packaging/build.sh) and run the FROZEN binary,
# offscreen, with a throwaway GHOSTPEN_HOME. It checks what only a bundle can get wrong:
#   - every Qt and llama.cpp library in the bundle finds the others it links to (Linux);
#   - the data packages (app.catalog from models/, app.resources from resources/) are in it,
#     and the catalog loads through importlib.resources (`ghostpen models list`);
#   - the frozen binary runs the model probe when given its flag (no `python -m` there);
#   - `ghostpen complete` on a small generated GPT-2 prints a continuation and exits 0,
#     after probing the new file in a child process of the frozen binary;
#   - the editor starts, shows its main window, quits from its event loop and exits 0,
#     with no traceback and no Qt thread warning.
# Needs the development environment in .venv (the small model is generated with the
# project's own converter and the test suite's checkpoint writer, outside the bundle).
# SMOKE_SKIP_BUILD=1 checks an existing dist/ghostpen without installing or building.
set -euo pipefail
cd "$(dirname "$0")/.."

py=.venv/bin/python
app=dist/ghostpen/ghostpen
t_start=$SECONDS
label=smoke
# shellcheck source=packaging/smoke_lib.sh
. packaging/smoke_lib.sh  # the working folder is the repository root

if [ "${SMOKE_SKIP_BUILD:-}" != 1 ]; then
  # CI's fresh .venv has the test extra only; an environment that has PyInstaller already
  # is left as it is (reinstalling the project would pull it from under anything running).
  if ! "$py" -c "import PyInstaller" 2>/dev/null; then
    echo "smoke: installing the bundle extra (PyInstaller)"
    .venv/bin/pip install --disable-pip-version-check -q -e ".[bundle]"
  fi
  echo "smoke: building the app"
  bash packaging/build.sh || fail "the build failed (see above)"
fi
t_built=$SECONDS
[ -x "$app" ] || fail "$app is missing"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GHOSTPEN_HOME="$work/home"
export QT_QPA_PLATFORM=offscreen
unset GHOSTPEN_PROBE_CACHE LLAMA_CPP_LIB_PATH
out="$work/stdout"
err="$work/stderr"

# check WHAT ARGS...: run the frozen app (time-limited), stdout in $out, stderr in $err;
# fail unless it exits 0.
check() {
  local what=$1
  shift
  run_checked "$what" "$app" "$@"
}

# 1. Libraries: a Qt or llama.cpp library that cannot find another one it links to (a
#    plugin left without its Qt module, a missing ggml) fails here, not on a user's desk.
#    System libraries the build machine lacks (X11 helpers, GTK) are listed, not fatal.
if [ "$(uname -s)" = Linux ]; then
  internal="$PWD/dist/ghostpen/_internal"
  missing=$(
    find "$internal" -type f \( -name '*.so' -o -name '*.so.*' \) -print0 |
      LD_LIBRARY_PATH="$internal:$internal/PySide6/Qt/lib" xargs -0 -n 20 ldd 2>/dev/null |
      awk '/not found/ {print $1}' | sort -u || true
  )
  bundled=$(echo "$missing" | grep -E '^lib(Qt6|pyside6|shiboken6|llama|ggml|mtmd|python3)' || true)
  [ -z "$bundled" ] || fail "libraries that belong in the bundle are missing: $(echo "$bundled" | tr '\n' ' ')"
  [ -z "$missing" ] || echo "smoke: note: system libraries not on this machine: $(echo "$missing" | tr '\n' ' ')"
  [ -f "$internal/llama_cpp/lib/libllama.so" ] || fail "llama_cpp/lib/libllama.so is not in the bundle"
  echo "smoke: ok: libraries resolve"
fi

# 2. Data packages: every file of models/ and resources/ is in the bundle.
internal_dir=$(dirname "$(find dist/ghostpen -path '*/app/catalog/catalog.json' | head -n 1)")
[ -n "$internal_dir" ] && [ "$internal_dir" != . ] || fail "app/catalog/catalog.json is not in the bundle"
internal_dir=$(dirname "$internal_dir")
for pair in models:catalog resources:resources; do
  src=${pair%%:*}
  dst="$internal_dir/${pair#*:}"
  while IFS= read -r -d '' file; do
    rel=${file#"$src"/}
    [ -f "$dst/$rel" ] || fail "$src/$rel is not in the bundle (expected $dst/$rel)"
  done < <(find "$src" -type f -not -path '*/__pycache__/*' -not -name '*.pyc' -print0)
done
echo "smoke: ok: data packages"

check "ghostpen --version" --version
echo "smoke: ok: $(cat "$out")"
check "ghostpen models list" models list
grep -q "gpt2" "$out" || { show; fail "ghostpen models list shows no catalog"; }
echo "smoke: ok: the catalog loads (app.catalog)"

# 3. A small model, written by the development environment (not the bundle).
PYTHONPATH="$PWD" "$py" packaging/smoke_model.py "$work/model" >/dev/null ||
  fail "could not generate the test model"
model="$work/model/tiny-q8_0.gguf"

# 4. The probe's entry in the frozen binary (what model_probe starts as its child).
check "the probe entry" --ghostpen-model-probe "$model"
grep -q '^GHOSTPEN-PROBE {"ok": true' "$out" || { show; fail "the probe entry reported no pass"; }
echo "smoke: ok: the probe entry loads the model"

# 5. complete: the new file is probed in a child process (the probe cache of the fresh home
#    records the pass; the entry above writes none), then loaded; a continuation comes out.
check "ghostpen complete" complete --model "$model" --seed 1 --max-tokens 16 "The quick brown fox"
[ -s "$out" ] || { show; fail "ghostpen complete printed nothing"; }
grep -q '"ms"' "$GHOSTPEN_HOME/cache/model-probe.json" 2>/dev/null ||
  { show; fail "complete ran no probe (no pass in $GHOSTPEN_HOME/cache/model-probe.json)"; }
echo "smoke: ok: complete printed $(wc -c <"$out") bytes, after a probe in a child process"

# 5b. The import order (docs/architecture.md, "Native libraries before numpy"): in the
#     frozen app too, llama.cpp's library is loaded before numpy's. `convert` imports numpy
#     and never llama_cpp by itself, so only the preload in app/__init__ can put it first.
if [ "$(uname)" = Linux ]; then
  LD_DEBUG=files timeout 180 "$app" convert "$work/no-such-checkpoint" "$work/out.gguf" >/dev/null 2>"$err" || true
  llama_at=$(grep -n "file=.*libllama\.so.*dynamically loaded" "$err" | head -1 | cut -d: -f1)
  numpy_at=$(grep -n "file=.*_multiarray_umath.*dynamically loaded" "$err" | head -1 | cut -d: -f1)
  [ -n "$numpy_at" ] || fail "convert loaded no numpy: the import order check saw nothing"
  if [ -z "$llama_at" ] || [ "$numpy_at" -lt "$llama_at" ]; then
    fail "the frozen app loaded numpy (line ${numpy_at:-none}) before libllama (line ${llama_at:-none})"
  fi
  echo "smoke: ok: libllama loads before numpy"
fi

# 6. The editor: starts with the model, shows its window, quits from its event loop.
check "the editor (gui --quit-after-shown)" gui --quit-after-shown --model "$model"
grep -q "the main window was shown" "$err" || { show; fail "the editor never showed its window"; }
if grep -E "Traceback|QThread|still running|Leaked|Segmentation|Aborted" "$err" >&2; then
  show
  fail "the editor reported the errors above"
fi
echo "smoke: ok: $(grep "the main window was shown" "$err" | sed 's/^ghostpen: //')"

echo "smoke: all green: build $((t_built - t_start)) s, checks $((SECONDS - t_built)) s;" \
  "bundle $(du -sh dist/ghostpen | cut -f1)"
