#!/bin/sh
# Runs one MPI rank with its own PoCL kernel cache (PoCL's cache is not safe
# for two processes writing it at once): $DS_POCL_CACHE.<rank>.
rank=${OMPI_COMM_WORLD_RANK:-${PMI_RANK:-${PMIX_RANK:-0}}}
if [ -n "${DS_POCL_CACHE:-}" ]; then
  export POCL_CACHE_DIR="$DS_POCL_CACHE.$rank"
fi
# the kill test: each rank's process id and exit status land in
# $DS_PID_DIR, since mpirun's own status does not tell which rank failed
if [ -n "${DS_PID_DIR:-}" ]; then
  "$@" &
  echo $! >"$DS_PID_DIR/rank.$rank.pid"
  wait $!
  status=$?
  echo $status >"$DS_PID_DIR/rank.$rank.rc"
  exit $status
fi
# a test may give one rank extra arguments (the mismatch test)
if [ "$rank" = 1 ] && [ -n "${DS_RANK1_ARGS:-}" ]; then
  exec "$@" $DS_RANK1_ARGS
fi
exec "$@"
