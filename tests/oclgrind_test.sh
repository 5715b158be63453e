#!/usr/bin/env bash
# Runs a test program under Oclgrind and fails if the program fails or
# Oclgrind logs any error or warning. Out-of-bounds accesses, API misuse and
# data races are always checked; uninitialised values too unless
# OCLGRIND_UNINITIALIZED=0 (Oclgrind 21.10 reports false uninitialised reads
# once buffers are released and new ones created within a run, and after a
# partial host write to a buffer; tests that create many buffers opt out).
# usage: oclgrind_test.sh OCLGRIND LOGFILE PROGRAM [ARGS...]
set -u
oclgrind=$1
log=$2
shift 2
mkdir -p "$(dirname "$log")"
rm -f "$log"
flags=(--check-api --data-races)
[ "${OCLGRIND_UNINITIALIZED:-1}" = 0 ] || flags+=(--uninitialized)
"$oclgrind" --log "$log" "${flags[@]}" "$@"
rc=$?
if [ -s "$log" ]; then
  echo "Oclgrind reported problems:" >&2
  cat "$log" >&2
  exit 1
fi
exit $rc
