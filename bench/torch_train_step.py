#!/usr/bin/python3
"""Training-step throughput of the dsengine models in PyTorch on the CPU, the yardstick for
bench/train_step (bench/compare_train_step.sh runs both).

The network is the one of engine/model/MODEL.md, built from configs/<model>.json through
tests/ref/model_ref.py's Config and helpers, but in float32 with torch's own layers, autograd
and a plain torch.optim.Adam, as a PyTorch user would write it. One step: forward through the
encoder and decoder A, MAE loss, backward, Adam over the encoder and decoder A.

Run with Debian's interpreter, which has torch: /usr/bin/python3 bench/torch_train_step.py
"""

import argparse
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "ref"))
from model_ref import LRELU_SLOPE, Config, conv_out, pixel_shuffle_dcr, same_pad_stride2  # noqa: E402


class TorchModel(nn.Module):
    """Encoder plus one decoder per identity; NCHW inside, as torch prefers."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        size, cin = cfg.size, cfg.channels
        self.enc_conv = nn.ModuleList()
        self.enc_pads = []
        for cout in cfg.conv:
            before, after = same_pad_stride2(size, cfg.kernel)
            self.enc_pads.append((before, after, before, after))
            self.enc_conv.append(nn.Conv2d(cin, cout, cfg.kernel, stride=2))
            size, cin = conv_out(size), cout
        bh, bw, bc = cfg.bottleneck
        self.dense0 = nn.Linear(size * size * cin, cfg.dense)
        self.dense1 = nn.Linear(cfg.dense, bh * bw * bc)
        self.upscale0 = nn.Conv2d(bc, 4 * cfg.enc_upscale, 3, padding=1)
        self.decoders = nn.ModuleDict()
        for name in cfg.decoders:
            layers, c = nn.ModuleList(), cfg.enc_upscale
            for f in cfg.dec_upscale:
                layers.append(nn.Conv2d(c, 4 * f, 3, padding=1))
                c = f
            layers.append(nn.Conv2d(c, cfg.channels, cfg.out_kernel, padding=cfg.out_kernel // 2))
            self.decoders[name] = layers

    def parameters_of(self, identity):
        return list(self.enc_conv.parameters()) + list(self.dense0.parameters()) + \
            list(self.dense1.parameters()) + list(self.upscale0.parameters()) + \
            list(self.decoders[identity].parameters())

    def forward(self, x, identity):
        cfg, n = self.cfg, x.shape[0]
        h = x
        for conv, pad in zip(self.enc_conv, self.enc_pads):
            h = F.leaky_relu(conv(F.pad(h, pad)), LRELU_SLOPE)
        h = h.permute(0, 2, 3, 1).reshape(n, -1)  # Keras flattens in (h, w, c) order
        h = self.dense1(self.dense0(h))
        bh, bw, bc = cfg.bottleneck
        h = h.reshape(n, bh, bw, bc).permute(0, 3, 1, 2)
        h = pixel_shuffle_dcr(F.leaky_relu(self.upscale0(h), LRELU_SLOPE), cfg.enc_upscale)
        layers = self.decoders[identity]
        for conv, f in zip(layers[:-1], cfg.dec_upscale):
            h = pixel_shuffle_dcr(F.leaky_relu(conv(h), LRELU_SLOPE), f)
        return torch.sigmoid(layers[-1](h))


def forward_flop(cfg, n):
    """2 x multiply-adds of the forward pass, counted as bench/train_step.c counts them."""
    flop, size, cin = 0, cfg.size, cfg.channels
    for cout in cfg.conv:
        size2 = conv_out(size)
        flop += 2 * n * size2 * size2 * cout * cfg.kernel ** 2 * cin
        size, cin = size2, cout
    bh, bw, bc = cfg.bottleneck
    flop += 2 * n * size * size * cin * cfg.dense + 2 * n * cfg.dense * bh * bw * bc
    size, c = bh, bc
    for f in [cfg.enc_upscale] + cfg.dec_upscale:
        flop += 2 * n * size * size * 4 * f * 9 * c
        size, c = 2 * size, f
    flop += 2 * n * size * size * cfg.channels * cfg.out_kernel ** 2 * c
    return flop


def cpu_jiffies():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return sum(v) - v[3] - v[4], sum(v)


def quiet_wait(max_wait, threshold=0.2):
    """Waits up to max_wait s for the CPUs to be < threshold busy; returns (busy, load, waited)."""
    start, busy = time.monotonic(), -1.0
    while True:
        try:
            b0, t0 = cpu_jiffies()
            time.sleep(0.25)
            b1, t1 = cpu_jiffies()
            busy = (b1 - b0) / max(t1 - t0, 1)
        except OSError:
            busy = -1.0
        waited = time.monotonic() - start
        if busy < threshold or waited >= max_wait:
            break
    try:
        with open("/proc/loadavg") as f:
            load = [float(x) for x in f.read().split()[:3]]
    except OSError:
        load = [0.0, 0.0, 0.0]
    return busy, load, waited


def bench(cfg, batch, iters, memory_format, quiet_s):
    torch.manual_seed(1)
    model = TorchModel(cfg).to(memory_format=memory_format)
    ident = "A" if "A" in cfg.decoders else cfg.decoders[0]
    params = model.parameters_of(ident)
    a = cfg.adam
    opt = torch.optim.Adam(params, lr=a["lr"], betas=(a["beta1"], a["beta2"]), eps=a["epsilon"])
    shape = (batch, cfg.channels, cfg.size, cfg.size)
    x = torch.rand(shape).contiguous(memory_format=memory_format)
    t = torch.rand(shape).contiguous(memory_format=memory_format)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = (model(x, ident) - t).abs().mean()
        loss.backward()
        opt.step()
        return loss.item()

    t0 = time.perf_counter()
    step()  # first call: allocations and oneDNN primitive creation
    warmup = time.perf_counter() - t0
    busy, load, waited = quiet_wait(quiet_s)
    times, loss = [], 0.0
    for _ in range(iters):
        t0 = time.perf_counter()
        loss = step()
        times.append(time.perf_counter() - t0)
    times.sort()
    median = statistics.median(times)
    flop = 3 * forward_flop(cfg, batch)
    return {
        "model": cfg.name, "batch": batch, "iters": iters,
        "params": sum(p.numel() for p in params),
        "memory_format": "channels_last" if memory_format == torch.channels_last else "contiguous",
        "threads": torch.get_num_threads(), "torch": torch.__version__,
        "load": load, "cpu_busy": busy, "quiet": 0 <= busy < 0.2, "waited_s": waited,
        "warmup_s": warmup, "step_best_s": times[0], "step_median_s": median,
        "samples_per_s": batch / times[0], "samples_per_s_median": batch / median,
        "step_gflop": flop * 1e-9, "gflops": flop / times[0] * 1e-9, "loss": loss,
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="tiny,lowmem",
                   help="comma-separated names in configs/ or config paths, or 'all' (tiny, "
                        "lowmem, original; original at batch > 16 only when named)")
    p.add_argument("--batch", default="16", help="comma-separated batch sizes, e.g. 16,64")
    p.add_argument("--iters", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--memory-format", choices=["channels_last", "contiguous"],
                   default="channels_last")
    p.add_argument("--quiet-wait", type=float, default=10.0)
    p.add_argument("--configs", default=os.path.join(ROOT, "configs"))
    p.add_argument("--json", help="write the numbers to this file")
    args = p.parse_args()
    if args.iters < 1:
        p.error("--iters must be at least 1")

    torch.set_num_threads(args.threads)
    fmt = torch.channels_last if args.memory_format == "channels_last" else torch.contiguous_format
    named = args.model != "all"
    models = args.model if named else "tiny,lowmem,original"
    batches = [int(b) for b in args.batch.split(",") if b]
    print("pytorch %s, %d threads, %s, float32" % (torch.__version__, torch.get_num_threads(),
                                                   args.memory_format))
    runs = []
    for m in models.split(","):
        path = m if ("/" in m or m.endswith(".json")) else os.path.join(args.configs, m + ".json")
        cfg = Config.load(path)
        cfg.name = cfg.name or m
        for b in batches:
            if not named and m == "original" and b > 16:
                print("(original at batch %d skipped: name it with --model original to run it)" % b)
                continue
            r = bench(cfg, b, args.iters, fmt, args.quiet_wait)
            runs.append(r)
            print("pytorch %-8s batch %3d: best %8.1f ms, median %8.1f ms of %d -> %8.2f samples/s "
                  "(median %.2f); %.2f GFLOP/step -> %.1f GFLOP/s; load %.2f %.2f %.2f, CPUs %.0f %% "
                  "busy%s" % (r["model"], b, r["step_best_s"] * 1e3, r["step_median_s"] * 1e3,
                              r["iters"], r["samples_per_s"], r["samples_per_s_median"],
                              r["step_gflop"], r["gflops"], *r["load"], 100 * max(r["cpu_busy"], 0),
                              "" if r["quiet"] else " (NOT quiet)"), flush=True)
            if not math.isfinite(r["loss"]):
                sys.exit("torch_train_step: error: %s at batch %d: loss %r" % (m, b, r["loss"]))
    if args.json:
        tmp = args.json + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"runs": runs}, f, indent=1)
        os.replace(tmp, args.json)


if __name__ == "__main__":
    main()
