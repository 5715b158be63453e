#!/bin/bash
# One prepared GPU run (issue 14): finds the vendor's OpenCL library, runs the kernel reference
# tests on the device, `dsengine devices --check`, and `dsengine bench` of the training step with
# a kernel profile, then writes OUTDIR/gpu.md and OUTDIR/gpu.json. Built to run once on a machine
# with a GPU and no network in under 8 minutes; `--device cpu` runs the same on PoCL.
#
#   bench/gpu.sh OUTDIR [--device SPEC (gpu)] [--build DIR (build)]
#                [--model tiny,lowmem,original] [--batch 16,64] [--iters 3] [--gemm 1024,4096]
#                [--quick]
#
# --quick: a smoke run (tiny at batch 2, one iteration, GEMM 256, model_ref on micro and
# tiny only), for checking the script on a CPU; its figures mean nothing.
# Every step has a time limit; a step that fails is recorded and the others still run. The
# exit status is 1 when any step failed, 2 on a bad request.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
out=
device=gpu
build=$root/build
model=tiny,lowmem,original
batch=16,64
iters=3
gemm=1024,4096
ref_models="micro tiny original"

die() { echo "gpu.sh: error: $*" >&2; exit 2; }
[ $# -ge 1 ] || die "usage: bench/gpu.sh OUTDIR [--device SPEC] [--build DIR] [--quick] (see --help)"
case $1 in -h|--help) sed -n '2,14p' "$0"; exit 0 ;; esac
out=$1
shift
while [ $# -gt 0 ]; do
  case $1 in
    --device|--build|--model|--batch|--iters|--gemm)
      [ $# -ge 2 ] || die "$1 needs a value"
      case $1 in
        --device) device=$2 ;; --build) build=$2 ;; --model) model=$2 ;; --batch) batch=$2 ;;
        --iters) iters=$2 ;; --gemm) gemm=$2 ;;
      esac
      shift 2 ;;
    --quick) model=tiny; batch=2; iters=1; gemm=256; ref_models="micro tiny"; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
bin=$build/dsengine
[ -x "$bin" ] || die "$bin not found; build first (cmake --build build) or pass --build DIR"
for t in test_nn test_gemm_gpu test_model_ref test_convert_io test_mask test_color; do
  [ -x "$build/tests/$t" ] || die "$build/tests/$t not found; build the tests first"
done
python=$(command -v python3 || true)
[ -n "$python" ] || die "python3 not found (it writes gpu.json)"
mkdir -p "$out/logs" || die "cannot create $out"
out=$(cd "$out" && pwd)

# The vendor's OpenCL library. NVIDIA's driver ships libnvidia-opencl.so.1 but a container
# often lacks /etc/OpenCL/vendors/nvidia.icd: an ICD file in a folder named by
# OCL_ICD_VENDORS finds it (the loader then reads only that folder, so the system's ICD
# files, PoCL's among them, are copied beside it).
if [ -z "${OCL_ICD_VENDORS:-}" ]; then
  nv=$( (ldconfig -p 2>/dev/null | awk '/libnvidia-opencl\.so\.1/ {print $NF; exit}') || true)
  for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /usr/local/nvidia/lib64; do
    [ -z "$nv" ] && [ -e "$d/libnvidia-opencl.so.1" ] && nv=$d/libnvidia-opencl.so.1
  done
  if [ -n "$nv" ]; then
    mkdir -p "$out/icd"
    cp /etc/OpenCL/vendors/*.icd "$out/icd/" 2>/dev/null
    echo "$nv" >"$out/icd/nvidia.icd"
    export OCL_ICD_VENDORS=$out/icd
    echo "gpu.sh: NVIDIA OpenCL: $nv (OCL_ICD_VENDORS=$OCL_ICD_VENDORS)"
  fi
fi

# Caches inside OUTDIR: the first bench run is a first run (kernel builds and GEMM tuning),
# as a new user's would be.
export POCL_CACHE_DIR=$out/pocl-cache
export DSENGINE_CACHE_DIR=$out/cache
export DSENGINE_DEVICE=$device

steps=$out/steps.tsv
: >"$steps"
failed=0
# run NAME LIMIT_S CMD...: output to logs/NAME.log; name, status, seconds and the last line
# to steps.tsv
run() {
  local name=$1 limit=$2
  shift 2
  local t0 rc last
  t0=$(date +%s.%N)
  echo "== $name: $*"
  timeout "$limit" "$@" >"$out/logs/$name.log" 2>&1
  rc=$?
  [ $rc -eq 124 ] && echo "gpu.sh: $name ran past its ${limit} s" >>"$out/logs/$name.log"
  [ $rc -eq 0 ] || failed=1
  last=$(grep -v '^[[:space:]]*$' "$out/logs/$name.log" | tail -n 1 | tr '\t' ' ')
  printf '%s\t%d\t%s\t%s\n' "$name" "$rc" \
    "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')" "$last" >>"$steps"
  echo "   rc $rc: $last"
}

t_start=$(date +%s)
run devices 60 "$bin" devices --device "$device"
# the kernel reference tests on the device (tuning off: the vendor profile's kernels; test_nn
# and test_gemm_gpu also force every other candidate the tuner may pick)
run test_nn 120 env DSENGINE_TUNE=off "$build/tests/test_nn"
run test_gemm_gpu 120 env DSENGINE_TUNE=off "$build/tests/test_gemm_gpu"
# shellcheck disable=SC2086
run test_model_ref 150 env DSENGINE_TUNE=off "$build/tests/test_model_ref" "$root" $ref_models
run test_convert_io 60 env DSENGINE_TUNE=off "$build/tests/test_convert_io"
run test_mask 60 env DSENGINE_TUNE=off "$build/tests/test_mask"
run test_color 60 env DSENGINE_TUNE=off "$build/tests/test_color"
run devices_check 120 "$bin" devices --check --device "$device"
run bench 330 "$bin" bench --device "$device" --model "$model" --batch "$batch" --iters "$iters" \
  --gemm "$gemm" --profile --quiet-wait 0 --budget 20 --json "$out/bench.json"
t_total=$(($(date +%s) - t_start))

"$python" - "$out" "$device" "$t_total" <<'EOF'
import json, os, platform, sys, time
out, device, total = sys.argv[1], sys.argv[2], int(sys.argv[3])
steps = []
for line in open(os.path.join(out, "steps.tsv")):
    name, rc, secs, last = (line.rstrip("\n").split("\t") + [""])[:4]
    steps.append({"step": name, "rc": int(rc), "seconds": float(secs), "last_line": last})
bench = None
bp = os.path.join(out, "bench.json")
if os.path.exists(bp):
    try:
        bench = json.load(open(bp))
    except ValueError:
        bench = None
doc = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "host": platform.node(), "device": device,
       "ocl_icd_vendors": os.environ.get("OCL_ICD_VENDORS", ""), "total_seconds": total,
       "steps": steps, "bench": bench}
json.dump(doc, open(os.path.join(out, "gpu.json"), "w"), indent=1)
with open(os.path.join(out, "gpu.md"), "w") as md:
    md.write("# bench/gpu.sh, device %s\n\n%s on %s, %d s in all; OCL_ICD_VENDORS=%s\n\n"
             % (device, doc["date"], doc["host"], total, doc["ocl_icd_vendors"] or "(unset)"))
    md.write("| step | status | s | last line |\n| --- | --- | ---: | --- |\n")
    for s in steps:
        md.write("| %s | %s | %.1f | %s |\n" % (s["step"], "ok" if s["rc"] == 0 else
                 "FAILED (%d)" % s["rc"], s["seconds"], s["last_line"].replace("|", "/")))
    for name in ("devices", "devices_check", "bench"):
        p = os.path.join(out, "logs", name + ".log")
        if os.path.exists(p):
            md.write("\n## %s\n\n```\n%s```\n" % (name, open(p, errors="replace").read()))
print("gpu.sh: wrote %s and %s" % (os.path.join(out, "gpu.md"), os.path.join(out, "gpu.json")))
EOF
[ $failed -eq 0 ] || { echo "gpu.sh: some steps failed (see $out/gpu.md)" >&2; exit 1; }
exit 0
