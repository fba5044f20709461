#!/usr/bin/env bash
# Build the standalone app with PyInstaller: dist/ghostpen/ (a one-folder app; on macOS also
# dist/Ghostpen.app). Run from anywhere; uses .venv/bin/python when it exists, else $PYTHON
# or python3, which must have the project and the bundle extra installed:
#     pip install -e ".[bundle]"
# Every build starts clean (no cache from an earlier build): what CI builds is what ships.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${PYTHON:-}" ]; then
  py=$PYTHON
elif [ -x .venv/bin/python ]; then
  py=.venv/bin/python
elif [ -x .venv/Scripts/python.exe ]; then
  py=.venv/Scripts/python.exe
else
  py=python3
fi

if ! "$py" -c "import PyInstaller" 2>/dev/null; then
  echo "build: PyInstaller is missing in $py: pip install -e \".[bundle]\"" >&2
  exit 1
fi

rm -rf build/pyinstaller dist/ghostpen dist/Ghostpen.app
echo "build: $("$py" -m PyInstaller --version | sed 's/^/PyInstaller /') with $("$py" -V)"
"$py" -m PyInstaller --noconfirm --clean --log-level "${PYI_LOG_LEVEL:-WARN}" \
  --distpath dist --workpath build/pyinstaller packaging/ghostpen.spec

case "$(uname -s)" in
  MINGW* | MSYS* | CYGWIN*) exe=dist/ghostpen/ghostpen.exe ;;
  *) exe=dist/ghostpen/ghostpen ;;
esac
if [ ! -x "$exe" ]; then
  echo "build: PyInstaller finished but $exe is missing" >&2
  exit 1
fi
echo "build: $exe ($(du -sh dist/ghostpen | cut -f1) in dist/ghostpen)"
