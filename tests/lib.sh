# Shared helpers of the shell tests (sourced): counters, running a command
# with its output captured, expectations. Each test sets $scratch first.
passed=0
failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAILED: $*" >&2; }

# run CMD...: sets rc, out (stdout), err (stderr)
run() {
  out=$("$@" 2>"$scratch/stderr")
  rc=$?
  err=$(cat "$scratch/stderr")
}
expect_rc() { [ "$rc" = "$1" ] && ok || bad "$2: exit $rc, wanted $1 (stderr: $err; stdout: $out)"; }
expect_in() { case "$1" in *"$2"*) ok ;; *) bad "$3: '$2' not in: $1" ;; esac; }
expect_one_line() { [ "$(printf '%s\n' "$1" | wc -l)" = 1 ] && ok || bad "$2: not one line: $1"; }

# prints the closing "N passed, N failed" line and gives the exit status
finish() {
  echo "$1: $passed passed, $failed failed"
  [ "$failed" = 0 ]
}
