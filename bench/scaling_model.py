"""Data-parallel step time and efficiency for 1-64 GPUs (bench/README.md,
"Scaling model"): a measured single-GPU step, host staging of the gradient
over PCIe (device -> host -> device), and a ring all-reduce
2(p-1)/p * S / B + 2(p-1) * alpha per bucket, overlapped with the backward
pass bucket by bucket. Prints markdown tables.
usage: /usr/bin/python3 bench/scaling_model.py"""

# Measured inputs. Single-GPU identity steps: H100 80GB through NVIDIA's
# OpenCL, `dsengine bench --only train` (bench/README.md, "On a GPU"):
# batch / (samples/s). Gradient per identity step (encoder + one decoder,
# float32): bench/allreduce on this machine.
STEP_S = {("original", 16): 16 / 112, ("original", 64): 64 / 148,
          ("lowmem", 16): 16 / 124, ("lowmem", 64): 64 / 169}
GRAD_BYTES = {"original": 303.5e6, "lowmem": 217.5e6}
# Assumed, not measured (no GPU in this session): PCIe 4.0 x16 effective,
# each way; MPI latency per message step.
PCIE = 20e9
ALPHA = 10e-6
BUCKET = 25e6
BWD_SHARE = 2 / 3  # backward = 2x forward
LINKS = {"25 Gb/s": 25e9 / 8, "100 Gb/s": 100e9 / 8, "400 Gb/s": 400e9 / 8}
GPUS = [1, 2, 4, 8, 16, 32, 64]


def step(t1, s, p, link):
    """As engine/train/parallel.c does it: each bucket's read-back sits in
    the device's in-order queue (it delays the kernels behind it) and the
    write-back follows the backward pass, so the staging 2 S / PCIe shows
    in full; the all-reduce of a bucket runs on the host while the backward
    pass goes on, so only what outlasts it shows (at least the last
    bucket's share)."""
    if p == 1:
        return t1  # the plain path: no staging, no all-reduce
    nb = max(1, round(s / BUCKET))
    ring = 2 * (p - 1) / p * s / link + 2 * (p - 1) * ALPHA * nb
    hidden = BWD_SHARE * t1 * (nb - 1) / nb
    return t1 + 2 * s / PCIE + max(ring / nb, ring - hidden)


def table(model, b):
    t1 = STEP_S[(model, b)]
    s = GRAD_BYTES[model]
    print(f"\n{model}, {b} samples per GPU (one GPU: {t1 * 1e3:.0f} ms per identity step, "
          f"gradient {s / 1e6:.0f} MB)\n")
    print("| link | " + " | ".join(f"p={p}" for p in GPUS) + " |")
    print("| --- | " + " | ".join("---" for _ in GPUS) + " |")
    for name, link in LINKS.items():
        cells = []
        for p in GPUS:
            t = step(t1, s, p, link)
            cells.append(f"{t * 1e3:.0f} ms, {t1 / t:.0%}")
        print(f"| {name} | " + " | ".join(cells) + " |")


for model in ("original", "lowmem"):
    for b in (16, 64):
        table(model, b)

print("\nKernels 10x faster than measured (the H100 runs at 2-3 % of its peak), "
      "original, 64 per GPU, efficiency at p=64:")
for name, link in LINKS.items():
    t1 = STEP_S[("original", 64)] / 10
    print(f"- {name}: {t1 / step(t1, GRAD_BYTES['original'], 64, link):.0%}")
