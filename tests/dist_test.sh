#!/usr/bin/env bash
# dsengine train on several devices and MPI ranks, end to end on synthetic
# faces with the micro network (tests/data/train_micro.json, global batch 16):
# every iteration's loss against one device x 16 (1e-5 relative), a run
# resumed with another rank count, a config mismatch between ranks, a rank
# killed mid-run, SLURM_NTASKS without a launcher.
# usage: dist_test.sh DSENGINE SYNTH_FACES REPO_ROOT SCRATCH [MPIEXEC]
# (no MPIEXEC: the build has no MPI; the one-process parts run)
set -u
bin=$1
synth=$2
root=$3
scratch=$4
mpiexec=${5:-}
rm -rf "$scratch"
mkdir -p "$scratch"
. "$(dirname "$0")/lib.sh"
rank=$root/tests/dist/rank.sh
py=/usr/bin/python3
compare() { $py "$root/tests/dist/compare_losses.py" "$scratch/ref/model.json" "$1/model.json" 5 >"$scratch/cmp" 2>&1 && ok || bad "$2: $(cat "$scratch/cmp")"; }
no_drift() { case "$1" in *drifted*) bad "$2: replicas drifted apart: $1" ;; *) ok ;; esac; }

"$synth" --identity 0 --count 24 --size 256 --seed 1 "$scratch/A" >/dev/null || bad "synth A"
"$synth" --identity 1 --count 24 --size 256 --seed 2 "$scratch/B" >/dev/null || bad "synth B"
common=(train --config "$root/tests/data/train_micro.json" --faces A="$scratch/A" --faces B="$scratch/B"
        --batch 16 --seed 7 --save-every 1 --preview-every 1000)
export POCL_DEVICES="pthread pthread"

# one device x 16: the reference
run "$bin" "${common[@]}" --device 0 --model "$scratch/ref" --iterations 5
expect_rc 0 "one device"

# two devices x 8 in one process
run "$bin" "${common[@]}" --devices 0,1 --model "$scratch/dev2" --iterations 5
expect_rc 0 "two devices"
expect_in "$out" "2 replicas" "two devices named"
no_drift "$out" "two devices"
compare "$scratch/dev2" "two devices"

# a batch smaller than the replicas, two lists at once
run "$bin" "${common[@]}" --devices 0,1 --batch 1 --model "$scratch/x" --iterations 1
expect_rc 2 "batch below replicas"
expect_in "$err" "smaller than the 2 replicas" "batch below replicas message"
run "$bin" "${common[@]}" --devices 0,0 --model "$scratch/x" --iterations 1
expect_rc 2 "a device twice"

# Slurm with several tasks but no launcher: each would train alone
run env SLURM_NTASKS=2 "$bin" "${common[@]}" --model "$scratch/x" --iterations 1
expect_rc 2 "SLURM_NTASKS without MPI"
expect_one_line "$err" "SLURM_NTASKS refusal"
expect_in "$err" "SLURM_NTASKS" "SLURM_NTASKS named"

if [ -z "$mpiexec" ]; then
  skip_part "the multi-rank parts: built without MPI (configure with -DDSENGINE_MPI=on; apt-get install libopenmpi-dev openmpi-bin)"
  finish dist
  exit
fi
mpi=("$mpiexec" -n 2 "$rank")

# two ranks x 8 (iterations 1-3 here, 4-5 below; tests/test_parallel.c
# covers 2 ranks x 2 devices), resumed across rank counts: 2 ranks for 3
# iterations then 1 process for 2, and 1 process then 2 ranks; each against
# one device x 16 at every iteration
run env POCL_DEVICES=pthread "${mpi[@]}" "$bin" "${common[@]}" --devices auto --model "$scratch/r21" --iterations 3
expect_rc 0 "two ranks, first part"
expect_in "$out" "2 replicas" "two ranks named"
no_drift "$out" "two ranks"
run "$bin" "${common[@]}" --device 0 --model "$scratch/r21" --iterations 2
expect_rc 0 "one process resumes two ranks' run"
compare "$scratch/r21" "2 ranks then 1"
run "$bin" "${common[@]}" --device 0 --model "$scratch/r12" --iterations 3
expect_rc 0 "one process, first part"
run env POCL_DEVICES=pthread "${mpi[@]}" "$bin" "${common[@]}" --model "$scratch/r12" --iterations 2
expect_rc 0 "two ranks resume one process's run"
no_drift "$out" "two ranks, resumed"
compare "$scratch/r12" "1 then 2 ranks"

# rank 1 with another seed: both fail within a minute, naming the key
run env POCL_DEVICES=pthread DS_RANK1_ARGS="--seed 8" timeout 60 "${mpi[@]}" "$bin" "${common[@]}" \
  --model "$scratch/mis" --iterations 2
[ "$rc" != 0 ] && [ "$rc" != 124 ] && ok || bad "mismatch: exit $rc (124: a hang)"
expect_in "$err" "'seed' differs between rank 0 and rank 1" "mismatch names the key"

# rank 1 killed mid-run: rank 0 exits non-zero with one line naming it, and
# the checkpoint loads. The launcher is told not to end the job itself.
mkdir -p "$scratch/pids"
keep=(env OMPI_MCA_orte_enable_recovery=1 "${mpi[@]}") # Open MPI
"$mpiexec" --version 2>&1 | grep -q HYDRA && keep=("$mpiexec" -disable-auto-cleanup -n 2 "$rank") # MPICH
DS_PID_DIR="$scratch/pids" DSENGINE_RANK_TIMEOUT=8 POCL_DEVICES=pthread \
  timeout 90 "${keep[@]}" "$bin" "${common[@]}" --save-every 3 --model "$scratch/kill" --iterations 100000 \
  >"$scratch/kill.out" 2>"$scratch/kill.err" &
job=$!
for _ in $(seq 1 600); do [ -f "$scratch/kill/model.json" ] && [ -f "$scratch/pids/rank.1.pid" ] && break; sleep 0.1; done
kill -9 "$(cat "$scratch/pids/rank.1.pid")"
wait $job
jobrc=$?
# MPICH's Hydra ends rank 0's wrapper as soon as rank 0 leaves without
# MPI_Finalize, before it can write the status: then the launcher's counts
rc0=$(cat "$scratch/pids/rank.0.rc" 2>/dev/null || echo "none (launcher: $jobrc)")
case "$rc0" in
  0 | "none (launcher: 0)" | "none (launcher: 124)") bad "rank 0 exit status after losing rank 1: $rc0" ;;
  *) ok ;;
esac
lines=$(grep '^dsengine:' "$scratch/kill.err")
expect_one_line "$lines" "lost rank"
expect_in "$lines" "lost rank 1" "the lost rank named"
run "$bin" "${common[@]}" --device 0 --model "$scratch/kill" --iterations 1
expect_rc 0 "the checkpoint after a lost rank loads"
expect_in "$out" "resuming $scratch/kill from iteration" "resumed"

finish dist
