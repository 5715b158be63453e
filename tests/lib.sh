# Shared helpers of the shell tests (sourced): counters, running a command
# with its output captured, expectations. Each test sets $scratch first.
passed=0
failed=0
skipped=()
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAILED: $*" >&2; }
# skip_part REASON: a part of the test that cannot run here; the test still
# runs the rest, then exits 77 (ctest's SKIP_RETURN_CODE) so the skip shows,
# and CI fails on it (.ci/run)
skip_part() {
  skipped+=("$*")
  echo "SKIPPED: $*"
}
# Debian's Python, which has numpy (tests/ref); DSENGINE_PYTHON overrides. Without
# it a shell test cannot check its files: the whole test is skipped, visibly.
py=${DSENGINE_PYTHON:-/usr/bin/python3}
if ! "$py" -c 'import json, zlib' 2>/dev/null; then
  echo "SKIPPED: $py not found (apt-get install python3, or set DSENGINE_PYTHON)"
  exit 77
fi

# run CMD...: sets rc, out (stdout), err (stderr)
run() {
  out=$("$@" 2>"$scratch/stderr")
  rc=$?
  err=$(cat "$scratch/stderr")
}
expect_rc() { [ "$rc" = "$1" ] && ok || bad "$2: exit $rc, wanted $1 (stderr: $err; stdout: $out)"; }
expect_in() { case "$1" in *"$2"*) ok ;; *) bad "$3: '$2' not in: $1" ;; esac; }
expect_one_line() { [ "$(printf '%s\n' "$1" | wc -l)" = 1 ] && ok || bad "$2: not one line: $1"; }

# prints the closing "N passed, N failed" line and gives the exit status:
# 1 on any failure, else 77 when a part was skipped, else 0
finish() {
  if [ ${#skipped[@]} -gt 0 ]; then
    echo "$1: $passed passed, $failed failed, ${#skipped[@]} skipped"
    printf '  skipped: %s\n' "${skipped[@]}"
  else
    echo "$1: $passed passed, $failed failed"
  fi
  [ "$failed" = 0 ] || return 1
  [ ${#skipped[@]} = 0 ] || return 77
}
