# Shared by packaging/smoke.sh (the frozen app) and packaging/wheel_smoke.sh (the installed
# wheel); sourced, not run. The caller sets $label, $out and $err before it uses these.

fail() {
  echo "$label: FAIL: $*" >&2
  exit 1
}

show() {
  echo "--- stdout (end):" >&2
  tail -n 20 "$out" >&2
  echo "--- stderr (end):" >&2
  tail -n 30 "$err" >&2
}

# run_checked WHAT CMD...: run CMD (time-limited), stdout in $out, stderr in $err; fail
# unless it exits 0.
run_checked() {
  local what=$1 rc=0
  shift
  timeout 180 "$@" >"$out" 2>"$err" || rc=$?
  if [ "$rc" -ne 0 ]; then
    show
    [ "$rc" -eq 124 ] && fail "$what did not finish in 180 s"
    fail "$what exited $rc"
  fi
}
