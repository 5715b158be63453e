#!/usr/bin/env bash
# The dsengine command line as a user meets it: exit codes, one-line errors,
# the device table, JSON, --check and a kernel that does not build.
# A device that exists nowhere is named by a spec no device matches
# ("no-such-device"), so the test passes on machines with any GPU.
# usage: cli_test.sh DSENGINE SCRATCH_DIR CL_SOURCE_DIR
set -u
bin=$1
scratch=$2
cl_dir=$3
mkdir -p "$scratch"
. "$(dirname "$0")/lib.sh"

run "$bin" --version
expect_rc 0 "--version"
expect_in "$out" "dsengine " "--version"

run "$bin" --help
expect_rc 0 "--help"
expect_in "$out" "devices" "--help lists commands"

run "$bin" devices --help
expect_rc 0 "devices --help"
expect_in "$out" "--device SPEC" "devices --help"

run "$bin"
expect_rc 2 "no command"

run "$bin" frobnicate
expect_rc 2 "unknown command"
expect_one_line "$err" "unknown command"
expect_in "$err" "frobnicate" "unknown command named"

run "$bin" devices --bogus
expect_rc 2 "unknown option"
expect_in "$err" "--bogus" "unknown option named"

run "$bin" devices --device
expect_rc 2 "--device without a value"

run env -u DSENGINE_DEVICE "$bin" devices
expect_rc 0 "devices"
chosen=$(printf '%s\n' "$out" | grep '^\*' | head -1)
[ -n "$chosen" ] && ok || bad "no device marked chosen: $out"
expect_in "$out" "chosen by --device auto" "devices names the choice"

nodev=no-such-device
run env DSENGINE_DEVICE=$nodev "$bin" devices
expect_rc 2 "DSENGINE_DEVICE=$nodev"
expect_one_line "$err" "DSENGINE_DEVICE=$nodev"
expect_in "$err" "DSENGINE_DEVICE=$nodev" "names what was asked"
expect_in "$err" "found: #0" "lists what exists"
[ -z "$out" ] && ok || bad "DSENGINE_DEVICE=$nodev printed a table: $out"

run env DSENGINE_DEVICE=$nodev "$bin" devices --device cpu
expect_rc 0 "--device overrides DSENGINE_DEVICE"

run "$bin" devices --device $nodev
expect_rc 2 "--device $nodev"
expect_in "$err" "--device $nodev" "names the flag"

run "$bin" devices --device 99
expect_rc 2 "--device 99"
expect_in "$err" "index 99" "names the index"

run "$bin" devices --device 0
expect_rc 0 "--device 0"

run "$bin" devices --device all
expect_rc 2 "--device all without --check"

run "$bin" devices --json
expect_rc 0 "--json"
if printf '%s' "$out" | "$py" -c '
import json, sys
d = json.load(sys.stdin)
c = d["chosen"]
assert [x["index"] for x in d["devices"] if x["chosen"]] == [c], "one device marked chosen"
assert d["devices"][c]["compute_units"] > 0 and d["devices"][c]["global_mem_bytes"] > 0
assert d["devices"][c]["type"] == "CPU" or sys.argv[1] != "cpu", "DSENGINE_DEVICE=cpu chose " + d["devices"][c]["type"]
' "${DSENGINE_DEVICE:-}" 2>"$scratch/py"; then ok; else bad "--json: $(cat "$scratch/py")"; fi

run env DSENGINE_CACHE_DIR="$scratch/cache" "$bin" devices --check
expect_rc 0 "--check"
expect_in "$out" "match the C reference: ok" "--check result"

run env DSENGINE_CACHE_DIR="$scratch/cache" "$bin" devices --check --device all
expect_rc 0 "--check --device all"
expect_in "$out" "0 compiled" "second check is served from the cache"

# A kernel source with a syntax error: exit 1, the device and the build log.
rm -rf "$scratch/broken"
cp -r "$cl_dir" "$scratch/broken"
printf 'kernel void fill_f32(global float *x) { x[0] = not_declared_anywhere; }\n' >"$scratch/broken/core/vector.cl"
run env DSENGINE_KERNEL_DIR="$scratch/broken" DSENGINE_CACHE_DIR=off "$bin" devices --check
expect_rc 1 "broken kernel"
expect_in "$err" "failed to build" "build failure message"
expect_in "$err" "not_declared_anywhere" "build log printed"

# dsengine bench on every device, as small as it goes: it runs, prints its tables and
# writes JSON with each part (no timing is judged here; timing lives in bench/).
run "$bin" bench --help
expect_rc 0 "bench --help"
expect_in "$out" "--device all" "bench --help"
run "$bin" bench --device all --model tiny --batch 2 --iters 1 --gemm 48x40x24t,64 --reps 1 \
  --quiet-wait 0 --profile --json "$scratch/bench.json"
expect_rc 0 "bench --device all"
expect_in "$out" "samples/s" "bench summary"
expect_in "$out" "by kernel" "bench --profile"
if "$py" -c '
import json, sys
d = json.load(open(sys.argv[1]))
dev = d["devices"][0]
assert dev["peak_gflops"] > 0 and dev["copy_gbs"] > 0
assert [(g["m"], g["n"], g["k"], g["a_transposed"]) for g in dev["gemm"]] == [(48, 40, 24, True), (64, 64, 64, False)]
assert all(g["max_err"] <= 1e-5 for g in dev["gemm"])
r = dev["runs"][0]
assert r["model"] == "tiny" and r["batch"] == 2
assert r["train"]["samples_per_s"] > 0 and r["infer"]["faces_per_s"] > 0
assert len(r["layers"]) > 5 and r["step_kernels"]
' "$scratch/bench.json" 2>"$scratch/py"; then ok; else bad "bench --json: $(cat "$scratch/py")"; fi
run "$bin" bench --device all --model nosuch --only train --quiet-wait 0
expect_rc 2 "bench --model nosuch"
expect_in "$err" "nosuch" "names the model"
run "$bin" bench --gemm 12x0 --quiet-wait 0
expect_rc 2 "bench --gemm 12x0"
expect_one_line "$err" "bench --gemm 12x0"
run "$bin" bench --only speed
expect_rc 2 "bench --only speed"
expect_in "$err" "speed" "names the part"
run "$bin" bench --device $nodev --only peak
expect_rc 2 "bench --device $nodev"
expect_in "$err" "--device $nodev" "bench names the flag"

# No OpenCL platform at all: an empty ICD folder.
mkdir -p "$scratch/no-icds"
run env OCL_ICD_VENDORS="$scratch/no-icds" OCL_ICD_FILENAMES= "$bin" devices
expect_rc 2 "no platform"
expect_one_line "$err" "no platform"
expect_in "$err" "no OpenCL platform" "no platform message"

finish cli
