#!/usr/bin/env bash
# Runs a test program under Oclgrind and fails if the program fails or
# Oclgrind logs any error or warning.
# usage: oclgrind_test.sh OCLGRIND LOGFILE PROGRAM [ARGS...]
set -u
oclgrind=$1
log=$2
shift 2
mkdir -p "$(dirname "$log")"
rm -f "$log"
"$oclgrind" --log "$log" --check-api --data-races --uninitialized "$@"
rc=$?
if [ -s "$log" ]; then
  echo "Oclgrind reported problems:" >&2
  cat "$log" >&2
  exit 1
fi
exit $rc
