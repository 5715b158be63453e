#!/usr/bin/env bash
# Data-parallel training on this machine (bench/README.md, "Data parallel"):
# the gradient all-reduce between 2 MPI ranks at the LowMem and Original
# sizes, then training samples/s of one config with 1 device, 2 PoCL devices
# in one process and 2 ranks. Timing only; tests/dist_test.sh checks results.
# usage: bench/parallel.sh BUILD_DIR [CONFIG (configs/tiny.json)] [ITERATIONS (10)]
set -eu
build=$1
root=$(cd "$(dirname "$0")/.." && pwd)
cfg=${2:-$root/configs/tiny.json}
iterations=${3:-10}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader \
  OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_pml=ob1 DSENGINE_TUNE=off
export DS_POCL_CACHE=$scratch/pocl POCL_CACHE_DIR=$scratch/pocl.0

echo "== $(date -u +%FT%TZ) $(uname -n), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -x "$build/bench/allreduce" ]; then
  mpirun -np 2 "$build/bench/allreduce" --reps 5 "$root/configs/lowmem.json" "$root/configs/original.json"
fi

"$build/tests/synth_faces" --identity 0 --count 64 --size 256 --seed 1 "$scratch/A" >/dev/null
"$build/tests/synth_faces" --identity 1 --count 64 --size 256 --seed 2 "$scratch/B" >/dev/null
train=(train --config "$cfg" --faces A="$scratch/A" --faces B="$scratch/B" --batch 16
       --iterations "$iterations" --save-every 100000 --preview-every 100000)
speed() { grep -o 'trained iterations.*' | sed 's/.*(\(.*\))/\1/'; }
# a first untimed run builds every kernel into the cache
POCL_DEVICES="pthread pthread" "$build/dsengine" "${train[@]}" --devices 0,1 --model "$scratch/warm" --iterations 1 >/dev/null
cp -a "$scratch/pocl.0" "$scratch/pocl.1"
echo "$(basename "$cfg") batch 16, $iterations iterations:"
echo "  1 device:            $(POCL_DEVICES=pthread "$build/dsengine" "${train[@]}" --device 0 --model "$scratch/one" | speed)"
echo "  2 devices, 1 process: $(POCL_DEVICES="pthread pthread" "$build/dsengine" "${train[@]}" --devices 0,1 --model "$scratch/two" | speed)"
echo "  2 ranks x 1 device:  $(POCL_DEVICES=pthread mpirun -np 2 "$root/tests/dist/rank.sh" "$build/dsengine" "${train[@]}" --model "$scratch/ranks" | speed)"
