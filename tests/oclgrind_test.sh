#!/usr/bin/env bash
# Runs a test program under Oclgrind and fails if the program fails or
# Oclgrind logs any error or warning. Out-of-bounds accesses, API misuse and
# data races are always checked; uninitialised values too unless
# OCLGRIND_UNINITIALIZED=0 (Oclgrind 21.10 reports false uninitialised reads
# once buffers are released and new ones created within a run, and after a
# partial host write to a buffer; tests that create many buffers opt out).
# OCLGRIND_UNINITIALIZED_IGNORE="kernel ..." drops the uninitialised-value
# reports of those kernels only (third-party kernels such as clFFT's, which
# the project cannot change); their other reports, and every report of the
# project's own kernels, still fail the test.
# usage: oclgrind_test.sh OCLGRIND LOGFILE PROGRAM [ARGS...]
set -u
oclgrind=$1
log=$2
shift 2
mkdir -p "$(dirname "$log")"
rm -f "$log"
flags=(--check-api --data-races)
[ "${OCLGRIND_UNINITIALIZED:-1}" = 0 ] || flags+=(--uninitialized)
ignore=${OCLGRIND_UNINITIALIZED_IGNORE:-}
# ignored reports must not use up Oclgrind's default cap of 1000
[ -z "$ignore" ] || flags+=(--max-errors 100000000)
"$oclgrind" --log "$log" "${flags[@]}" "$@"
rc=$?
if [ -n "$ignore" ] && [ -s "$log" ]; then
  # one report per blank-line separated paragraph
  awk -v ignore="$ignore" '
    BEGIN { RS = ""; n = split(ignore, k, " "); for (i = 1; i <= n; i++) skip[k[i]] = 1 }
    {
      if ($0 ~ /^Uninitialized value/ && match($0, /Kernel: [A-Za-z0-9_]+/) &&
          (substr($0, RSTART + 8, RLENGTH - 8) in skip)) { dropped++; next }
      print; print ""
    }
    END { if (dropped) printf "(%d uninitialised-value reports of %s ignored)\n", dropped, ignore > "/dev/stderr" }
  ' "$log" >"$log.kept"
  mv "$log.kept" "$log"
fi
if [ -s "$log" ]; then
  echo "Oclgrind reported problems:" >&2
  cat "$log" >&2
  exit 1
fi
exit $rc
