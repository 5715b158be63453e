#!/usr/bin/env bash
# Crash safety end to end. dsengine train on the micro config is killed with
# SIGKILL 20 times, at random moments and (every third kill) while a checkpoint
# file or a preview is being written (previews every 2 iterations, saves every
# 3), and restarted each time: after every kill model.json
# and the files it names agree (iteration, CRC-32 recorded = CRC-32 stored =
# CRC-32 of the bytes), the restart says it resumes from exactly that
# iteration with no warning, and at most one save interval is lost (the
# checkpoint holds at least the last save the killed run announced). Then
# SIGINT three times: a save, exit 0 or 130, and the next run resumes from the
# iteration the message named. preview.png, whenever it exists, is a whole
# PNG. The final run completes and leaves no temporary file of any kind (one
# scheme, <name>.tmp-<pid>, for every file the engine writes:
# core/atomic_file.h). Last, dsengine convert killed with SIGKILL part-way leaves
# an mp4 that decodes to its end: fragments of 1 s carry their own index, so
# what is lost is the open fragment (up to 30 frames at 30 fps), x264's
# lookahead (40 frames at its default preset) and the frames in the frame
# queue; the test allows 90 fewer than the last progress line (every 50
# frames) reported. Measured: 150 frames on file after "frame 200".
# DS_KILL_SEED=N replays a schedule (the seed is printed; the moments are
# times, so a replay is close, not identical). About 1.5 minutes on 2 cores.
# usage: kill_test.sh DSENGINE SYNTH_FACES SYNTH_CLIP VIDEO_PROBE REPO_ROOT SCRATCH
set -u
bin=$1
synth=$2
synth_clip=$3
probe=$4
root=$5
scratch=$6
rm -rf "$scratch"
mkdir -p "$scratch"
. "$(dirname "$0")/lib.sh"

seed=${DS_KILL_SEED:-$(($(date +%s) % 32768))}
RANDOM=$seed
echo "kill: seed $seed (DS_KILL_SEED=$seed replays the schedule)"

"$synth" --identity 0 --count 24 --size 64 --seed 1 "$scratch/A" >/dev/null || bad "synth A"
"$synth" --identity 1 --count 24 --size 64 --seed 2 "$scratch/B" >/dev/null || bad "synth B"
every=3
model=$scratch/m
train=("$bin" train --config "$root/tests/data/train_micro.json" --faces A="$scratch/A"
  --faces B="$scratch/B" --batch 8 --model "$model" --save-every $every --preview-every 2)

# prints model.json's iteration ("none" without one); fails when it and the
# files it names disagree in any way
check_checkpoint() {
  "$py" - "$1" <<'PY'
import json, os, struct, sys, zlib
d = sys.argv[1]
p = os.path.join(d, "model.json")
if not os.path.exists(p):
    print("none")
    sys.exit(0)
m = json.load(open(p))
it = m["iteration"]
for kind in ("weights", "optimizer"):
    name = m[kind]
    assert name == "%s-%08d.bin" % (kind, it), ("file name vs iteration", name, it)
    b = open(os.path.join(d, name), "rb").read()
    stored = struct.unpack("<I", b[-4:])[0]
    assert zlib.crc32(b[:-4]) == stored == m[kind + "_crc"], (name, "CRC", zlib.crc32(b[:-4]), stored, m[kind + "_crc"])
print(it)
PY
}

# a whole PNG or none: the signature, then chunks up to IEND with nothing after
check_preview() {
  "$py" - "$1/preview.png" <<'PY'
import os, struct, sys
p = sys.argv[1]
if not os.path.exists(p):
    sys.exit(0)
b = open(p, "rb").read()
assert b[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
i = 8
while True:
    n, kind = struct.unpack(">I4s", b[i:i + 8])
    i += 12 + n
    if kind == b"IEND":
        break
assert i == len(b), "cut or trailing bytes"
PY
}

# kill_in_save DIR PID SKIP DELAY_MS: SIGKILL PID DELAY_MS after the (SKIP+1)th
# temporary file of PID appears in DIR (a tensor file or model.json being
# written); prints the file's name. Gives up after 30 s.
kill_in_save() {
  "$py" - "$@" <<'PY'
import os, signal, sys, time
d, pid, skip, delay = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]) / 1000
suffix, seen, end = ".tmp-%d" % pid, set(), time.time() + 30
while time.time() < end:
    try:
        names = [n for n in os.listdir(d) if n.endswith(suffix)]
    except FileNotFoundError:
        names = []
    new = [n for n in names if n not in seen]
    seen.update(new)
    if new and len(seen) > skip:
        time.sleep(delay)
        os.kill(pid, signal.SIGKILL)
        print(new[0])
        sys.exit(0)
    time.sleep(0.0003)
os.kill(pid, signal.SIGKILL)
print("timeout")
PY
}

last_saved() { sed -n 's/^saved .* at iteration \([0-9]*\)$/\1/p' "$1" | tail -1; }

prev=none
in_save=0
trained=0
for k in $(seq 1 20); do
  log=$scratch/kill$k.log
  "${train[@]}" --iterations 1000000 >"$log" 2>&1 &
  pid=$!
  if [ $((k % 3)) = 0 ]; then
    what=$(kill_in_save "$model" $pid $((RANDOM % 4)) $((RANDOM % 8)))
    case "$what" in *.tmp-*) in_save=$((in_save + 1)) ;; *) bad "kill $k: no save seen" ;; esac
  else
    # 0.2 to 4 s: start-up (device, kernels, faces), loading, training, saving
    what=$(printf '%d.%03d s' $((RANDOM % 4)) $((200 + RANDOM % 800)))
    sleep "${what% s}"
    kill -KILL $pid 2>/dev/null
  fi
  wait $pid 2>/dev/null
  rc=$?
  [ "$rc" = 137 ] && ok || bad "kill $k: exit $rc, not 137 (SIGKILL): $(tail -3 "$log")"
  check_preview "$model" 2>"$scratch/preview.err" && ok ||
    bad "kill $k ($what): preview.png is not whole: $(cat "$scratch/preview.err")"
  if it=$(check_checkpoint "$model" 2>"$scratch/check.err"); then ok; else
    bad "kill $k ($what): inconsistent checkpoint: $(cat "$scratch/check.err")"
    it=$prev
  fi
  # the run resumed from exactly the checkpoint it found, with no warning
  if [ "$prev" != none ] && grep -q "^resuming\|^training" "$log"; then
    grep -qx "resuming $model from iteration $prev" "$log" && ok ||
      bad "kill $k: did not say it resumes from $prev: $(head -2 "$log")"
  fi
  grep -q "^warning" "$log" && bad "kill $k: $(grep "^warning" "$log")" || ok
  # at most one save interval lost: what the run announced last is on disk
  # (or the save it was killed in: one interval later)
  saved=$(last_saved "$log")
  [ -n "$saved" ] || saved=$prev
  if [ "$saved" = none ]; then
    { [ "$it" = none ] || [ "$it" = $every ]; } && ok || bad "kill $k: checkpoint $it, none saved"
  else
    { [ "$it" != none ] && [ "$it" -ge "$saved" ] && [ "$it" -le $((saved + every)) ]; } && ok ||
      bad "kill $k: checkpoint at $it after the run saved $saved"
  fi
  grep -q "samples/s\|^saved" "$log" && trained=$((trained + 1))
  echo "kill $k at $what: checkpoint $prev -> $it"
  prev=$it
done
echo "20 kills: $in_save during a save, $trained after a save or progress line"
[ "$in_save" -ge 5 ] && ok || bad "only $in_save kills during a save"

# SIGINT: a save, exit 0 or 130, and the next run resumes from that iteration
for k in 1 2 3; do
  log=$scratch/int$k.log
  "${train[@]}" --iterations 1000000 >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 300); do grep -q "samples/s\|^saved" "$log" && break; sleep 0.05; done
  sleep "0.$((RANDOM % 10))"
  kill -INT $pid
  wait $pid
  rc=$?
  { [ "$rc" = 130 ] || [ "$rc" = 0 ]; } && ok || bad "SIGINT $k: exit $rc: $(tail -3 "$log")"
  n=$(sed -n 's/.*interrupted at iteration \([0-9]*\).*/\1/p' "$log")
  it=$(check_checkpoint "$model") && [ -n "$n" ] && [ "$it" = "$n" ] && ok ||
    bad "SIGINT $k: interrupted at '$n', checkpoint at $it: $(tail -3 "$log")"
  grep -q "^resuming $model from iteration $prev$" "$log" && ok || bad "SIGINT $k: resume from $prev"
  echo "SIGINT $k: exit $rc, checkpoint $prev -> $it"
  prev=$it
done

run "${train[@]}" --iterations 6
expect_rc 0 "final run"
expect_in "$out" "resuming $model from iteration $prev" "final resume"
expect_in "$out" "trained iterations $((prev + 1))..$((prev + 6))" "final run completes"
[ "$(check_checkpoint "$model")" = $((prev + 6)) ] && ok || bad "final checkpoint"
tmp=$(ls "$model" | grep '\.tmp-')
[ -z "$tmp" ] && ok || bad "temporary files left after a save: $tmp"
[ -f "$model/preview.png" ] && check_preview "$model" && ok || bad "final preview.png"

# convert killed part-way: the frames done, less the open fragment, play
clip=$scratch/clip.mp4
run "$synth_clip" --identity 0 --frames 240 --width 320 --height 240 --seed 7 --out "$clip" \
  --alignments "$scratch/al.json"
expect_rc 0 "synth_clip"
log=$scratch/convert.log
"$bin" convert --model "$model" --swap A:B "$clip" --alignments "$scratch/al.json" \
  --out "$scratch/killed.mp4" >"$log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do grep -q "^frame 100" "$log" && break; sleep 0.05; done
sleep "0.$((RANDOM % 10))"
kill -KILL $pid
wait $pid 2>/dev/null
done_frames=$(sed -n 's/^frame \([0-9]*\).*/\1/p' "$log" | tail -1)
info=$("$probe" "$scratch/killed.mp4" 2>&1)
probe_rc=$?
[ "$probe_rc" = 0 ] && ok || bad "killed convert: the output does not decode (exit $probe_rc): $info"
got=$(printf '%s\n' "$info" | sed -n 's/^frames=\([0-9]*\) .*/\1/p')
{ [ -n "$got" ] && [ -n "$done_frames" ] && [ "$got" -ge $((done_frames - 90)) ]; } && ok ||
  bad "killed convert: $done_frames frames done, the file holds '$info'"
echo "convert killed after frame ${done_frames:-?} (progress every 50): $info"

finish kill
