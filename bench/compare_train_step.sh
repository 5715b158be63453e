#!/bin/sh
# Training-step throughput of dsengine (dsengine bench) and of PyTorch on the CPU
# (bench/torch_train_step.py) for the same models and batches, one after the other (never
# at once: they would share the 2 cores), then the ratio dsengine / PyTorch per model and
# batch. > 1 means dsengine trains faster.
#
#   bench/compare_train_step.sh [--model tiny,lowmem] [--batch 16] [--iters 3]
#                               [--build DIR (build)] [--device SPEC] [--threads 2]
#                               [--layers] [--json FILE]
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build
model=tiny,lowmem
batch=16
iters=3
device=
threads=2
only=train
json=
python=/usr/bin/python3 # Debian's, which has torch

die() { echo "compare_train_step: error: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --model|--batch|--iters|--build|--device|--threads|--json)
      [ $# -ge 2 ] || die "$1 needs a value"
      case $1 in
        --model) model=$2 ;; --batch) batch=$2 ;; --iters) iters=$2 ;; --build) build=$2 ;;
        --device) device=$2 ;; --threads) threads=$2 ;; --json) json=$2 ;;
      esac
      shift 2 ;;
    --layers) only=train,layers; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[ -x "$build/dsengine" ] ||
  die "$build/dsengine not found; build first (cmake --build $build) or pass --build DIR"
[ -x "$python" ] || die "$python not found; install python3-torch"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

echo "== dsengine: $build/dsengine bench"
set -- --only "peak,$only" --model "$model" --batch "$batch" --iters "$iters" \
  --json "$tmp/dsengine.json"
[ -n "$device" ] && set -- "$@" --device "$device"
"$build/dsengine" bench "$@"

echo
echo "== pytorch: bench/torch_train_step.py"
"$python" "$root/bench/torch_train_step.py" --model "$model" --batch "$batch" --iters "$iters" \
  --threads "$threads" --json "$tmp/torch.json"

echo
"$python" - "$tmp/dsengine.json" "$tmp/torch.json" "${json:-}" <<'EOF'
import json, sys
ds = json.load(open(sys.argv[1]))["devices"][0]
pt = json.load(open(sys.argv[2]))
torch_runs = {(r["model"], r["batch"]): r for r in pt["runs"]}
print("dsengine on %s (peak %.1f GFLOP/s); pytorch %s on the CPU, %d threads"
      % (ds["device"], ds["peak_gflops"],
         pt["runs"][0]["torch"] if pt["runs"] else "?", pt["runs"][0]["threads"] if pt["runs"] else 0))
print("%-10s %5s %18s %18s %8s   %s" % ("model", "batch", "dsengine samples/s", "pytorch samples/s",
                                        "ratio", "load (dsengine | pytorch)"))
rows = []
for r in ds.get("runs", []):
    t = torch_runs.get((r["model"], r["batch"]))
    if t is None:
        continue
    sps, load, quiet = r["train"]["samples_per_s"], r["machine"]["load"], r["machine"]["quiet"]
    ratio = sps / t["samples_per_s"]
    rows.append({"model": r["model"], "batch": r["batch"], "dsengine_samples_per_s": sps,
                 "pytorch_samples_per_s": t["samples_per_s"], "ratio": ratio,
                 "dsengine_peak_ratio": r["train"]["peak_ratio"], "dsengine_load": load,
                 "pytorch_load": t["load"]})
    print("%-10s %5d %18.2f %18.2f %8.3f   %.2f%s | %.2f%s"
          % (r["model"], r["batch"], sps, t["samples_per_s"], ratio,
             load[0], "" if quiet else " busy", t["load"][0], "" if t["quiet"] else " busy"))
if sys.argv[3]:
    with open(sys.argv[3] + ".tmp", "w") as f:
        json.dump({"dsengine": ds, "pytorch": pt, "compare": rows}, f, indent=1)
    import os
    os.replace(sys.argv[3] + ".tmp", sys.argv[3])
EOF
