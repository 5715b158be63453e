"""Writes the PyTorch fixtures tests/ref/*.dst that the C engine's model tests compare against.

    /usr/bin/python3 tests/ref/make_fixtures.py            # write micro.dst, tiny.dst, original.dst
    /usr/bin/python3 tests/ref/make_fixtures.py --check    # self-check of model_ref, writes nothing
    /usr/bin/python3 tests/ref/make_fixtures.py micro      # only the named fixtures

What a fixture holds is described in tests/ref/README.md.
"""

import argparse
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model_ref import (  # noqa: E402
    Config,
    KerasAdam,
    RefModel,
    ds_uniform,
    ds_uniform_scalar,
    param_specs,
    pixel_shuffle_dcr,
    pixel_shuffle_dcr_nhwc,
)
import dstensor  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

SEED = 1
BATCH = 2
IDENTITY = "A"
LOSS = "mae"
ADAM_STEPS = 3
SAMPLES = 256
# Inputs: x element i = ds_uniform(SEED, X_T, i), target element i = ds_uniform(SEED, X_T + 1, i), for the
# first X_T in X_FIRST, X_FIRST + 2, ... whose forward passes keep the fixture's kink margin (FIXTURES).
X_FIRST = 1000
MAX_TRIES = 200
# decoder.mask: mask target element i = 1 if ds_uniform(SEED, MASK_T, i) >= 0.5 else 0, a hard 0/1
# mask like the landmark hull's; MASK_T lies below every candidate X_T, so it is the same for all.
MASK_T = 999


def network(size, conv, dense, bottleneck, upscale, dec):
    return {
        "input": {"size": size, "channels": 3},
        "encoder": {"conv": conv, "kernel": 5, "dense": dense, "bottleneck": bottleneck, "upscale": upscale},
        "decoder": {"upscale": dec, "out_kernel": 5},
        "decoders": ["A", "B"],
    }


# Used only while configs/*.json is missing; the file, when present, is what counts.
FALLBACK = {
    "tiny": network(64, [32, 64, 128], 128, [4, 4, 128], 64, [64, 32, 16]),
    "original": network(64, [128, 256, 512, 1024], 1024, [4, 4, 1024], 512, [256, 128, 64]),
    "lowmem": network(64, [128, 256, 512], 512, [4, 4, 1024], 512, [256, 128, 64]),
}

# name, config path, store full gradients, expected parameter count (encoder + every decoder), kink margin.
# The margin is the largest of 1e-5, 5e-6, 1e-6 that some X_T among the first MAX_TRIES meets: near 0
# the pre-activations are spread evenly, so a random input has about 0.8 * margin * (number of
# pre-activations) of them within margin * std of 0. That is ~2.6 per pass in tiny and ~14 in
# original at 1e-5, so 1e-5 is out of reach for both (README.md, "Kinks").
FIXTURES = [
    ("micro", os.path.join(HERE, "micro.json"), True, None, 1e-5),
    ("micro_mask", os.path.join(HERE, "micro_mask.json"), True, None, 1e-5),
    ("tiny", os.path.join(ROOT, "configs", "tiny.json"), False, None, 5e-6),
    ("original", os.path.join(ROOT, "configs", "original.json"), False, 82062470, 1e-6),
]


def load_config(name, path):
    if os.path.exists(path):
        return Config.load(path)
    print("warning: %s not found; using the built-in %s network" % (os.path.relpath(path, ROOT), name))
    return Config(FALLBACK[name])


def sample_indices(n):
    k = min(n, SAMPLES)
    return np.arange(k, dtype=np.int64) * n // k


def inputs(cfg, x_tensor=X_FIRST):
    """x and target, NHWC [BATCH, S, S, C], element i = ds_uniform(SEED, x_tensor or x_tensor + 1, i)."""
    shape = (BATCH, cfg.size, cfg.size, cfg.channels)
    idx = np.arange(int(np.prod(shape)), dtype=np.uint64)
    return ds_uniform(SEED, x_tensor, idx).reshape(shape), ds_uniform(SEED, x_tensor + 1, idx).reshape(shape)


def mask_targets(cfg):
    """[BATCH, S, S] float32 0/1 (decoder.mask only), element i = ds_uniform(SEED, MASK_T, i) >= 0.5."""
    shape = (BATCH, cfg.size, cfg.size)
    u = ds_uniform(SEED, MASK_T, np.arange(int(np.prod(shape)), dtype=np.uint64)).reshape(shape)
    return (u >= np.float32(0.5)).astype(np.float32)


def lrelu_layers(cfg):
    """The layers whose LeakyReLU inputs forward(trace=...) records, in trace order."""
    return (["encoder.conv%d" % i for i in range(len(cfg.conv))] + ["encoder.upscale0"]
            + ["decoder.%s.upscale%d" % (IDENTITY, i) for i in range(len(cfg.dec_upscale))])


def kink_margins(cfg, trace, y, target):
    """How far one forward pass stays from the kinks of the loss, in float64.

    For each LeakyReLU layer min |z| / std(z) over its whole input z (both samples), and
    min |y - t| for the MAE (y the image; the mask's MSE has no kink). Returns [(value, where)],
    one per layer, then the MAE's.
    """
    layers = lrelu_layers(cfg)
    assert len(trace) == len(layers) + 1, (len(trace), layers)
    out = [((z.abs().min() / z.std()).item(), nm) for nm, z in zip(layers, trace[:-1])]
    return out + [((y - target).abs().min().item(), "|y - t|")]


def train_steps(model, cfg, x, target, margin, mask_target=None):
    """The fixture's ADAM_STEPS Adam steps from the initial weights, forward pass s at the
    weights after step s - 1; each forward pass is checked with kink_margins first.

    Returns (objective, image loss, image, mask, mask MSE, grads) of the first pass and the
    margins of every pass, or None and the margins so far when a pass comes within margin of a
    kink. The ops are those of model.loss_and_grads, so the numbers are the same.
    """
    names = model.names(IDENTITY)
    a = cfg.adam
    opt = KerasAdam(model.params, a["lr"], a["beta1"], a["beta2"], a["epsilon"])
    first, margins = None, []
    for _ in range(ADAM_STEPS):
        trace = []
        loss, image_loss, y, mask, mse = model.loss(x, target, IDENTITY, LOSS, trace, mask_target)
        margins.append(kink_margins(cfg, trace, y.detach(), target))
        if min(margins[-1])[0] < margin:
            return None, margins
        grads = dict(zip(names, torch.autograd.grad(loss, [model.params[nm] for nm in names])))
        if first is None:
            first = (loss.detach(), image_loss.detach(), y.detach(),
                     None if mask is None else mask.detach(), None if mse is None else mse.detach(), grads)
        opt.step(grads)
    return first, margins


def choose_inputs(name, model, cfg, init32, margin, mask_target=None):
    """Tries X_T = X_FIRST, X_FIRST + 2, ... and keeps the first whose every forward pass
    (at the initial weights and after Adam steps 1 and 2) has all its LeakyReLU inputs at
    least margin * std of their layer from 0 and every |y - t| at least margin.

    Leaves the model at the weights after the last step. Returns X_T, x, target (float32)
    and train_steps' results.
    """
    names = model.names(IDENTITY)
    rejected = {}
    for k in range(MAX_TRIES):
        xt = X_FIRST + 2 * k
        if k:
            with torch.no_grad():
                for nm in names:
                    model.params[nm].copy_(torch.from_numpy(init32[nm]))
        x32, t32 = inputs(cfg, xt)
        x, target = torch.tensor(x32, dtype=torch.float64), torch.tensor(t32, dtype=torch.float64)
        first, margins = train_steps(model, cfg, x, target, margin, mask_target)
        if first is not None:
            break
        where = min(margins[-1])[1]
        key = "pass %d %s" % (len(margins), where)
        rejected[key] = rejected.get(key, 0) + 1
    else:
        raise SystemExit("%s: none of X_T = %d, %d, ..., %d keeps every forward pass %.0e from a kink; rejected: %s"
                         % (name, X_FIRST, X_FIRST + 2, X_FIRST + 2 * (MAX_TRIES - 1), margin,
                            ", ".join("%s x%d" % kv for kv in sorted(rejected.items()))))
    print("%-9s X_T = %d, the first of %d candidates with kink margin >= %.0e%s"
          % (name, xt, k + 1, margin, "" if not rejected else " (rejected: %s)"
             % ", ".join("%s x%d" % kv for kv in sorted(rejected.items()))))
    for s, m in enumerate(margins, start=1):
        z = min(m[:-1])
        print("%-9s   pass %d: min |z|/std %.2e (%s), min |y - t| %.2e" % ("", s, z[0], z[1], m[-1][0]))
    return xt, x32, t32, first


def f32(t):
    return t.detach().numpy().astype(np.float32) if torch.is_tensor(t) else np.asarray(t, np.float32)


def make_fixture(name, cfg, path, full_grads, expect_count, margin):
    t0 = time.time()
    model = RefModel(cfg)
    count = model.param_count()
    if expect_count is not None:
        assert count == expect_count, "%s: %d parameters, expected %d" % (name, count, expect_count)
    init32 = model.init(SEED)
    m32 = mask_targets(cfg) if cfg.mask else None
    mt = None if m32 is None else torch.tensor(m32, dtype=torch.float64)
    xt, x32, t32, (_, loss, y, mask, mse, grads) = choose_inputs(name, model, cfg, init32, margin, mt)
    out = {"x": x32, "target": t32, "output": f32(y), "loss": f32([loss.item()])}
    if cfg.mask:
        out.update({"mask_target": m32, "mask": f32(mask), "mask_loss": f32([mse.item()])})
    names = model.names(IDENTITY)
    for nm in names:
        idx = sample_indices(model.params[nm].numel())
        g = grads[nm].reshape(-1)
        out["init." + nm] = init32[nm].reshape(-1)[idx]
        out["grad." + nm] = f32(g[idx])
        out["grad_abs_sum." + nm] = f32([g.abs().sum().item()])
        if full_grads:
            out["grad_full." + nm] = f32(grads[nm])

    for nm in names:  # choose_inputs left the weights after ADAM_STEPS steps
        idx = sample_indices(model.params[nm].numel())
        delta = model.params[nm].detach().reshape(-1)[idx] - torch.tensor(init32[nm].reshape(-1)[idx], dtype=torch.float64)
        out["adam3_delta." + nm] = f32(delta)
    out["meta.batch"] = f32([BATCH])
    out["meta.seed"] = f32([SEED])
    out["meta.x_tensor"] = f32([xt])
    if cfg.mask:
        out["meta.mask_tensor"] = f32([MASK_T])
        out["meta.mask_weight"] = f32([cfg.mask_weight])

    dstensor.write(path, out)
    back = dstensor.read(path)
    assert set(back) == set(out) and all(np.array_equal(back[k], out[k]) for k in out)
    print(
        "%-9s %-28s %6d tensors %9d bytes  %d params  loss %.9g%s  %.1f s"
        % (name, os.path.relpath(path, ROOT), len(out), os.path.getsize(path), count, loss.item(),
           "" if mse is None else "  mask loss %.9g" % mse.item(), time.time() - t0)
    )


# ---------------------------------------------------------------- self-check

def naive_conv_nhwc(x, w, b, stride, pad_before, pad_after):
    """Direct NHWC x HWIO convolution in NumPy: sum over kernel taps of shifted slices."""
    kh, kw, cin, cout = w.shape
    xp = np.pad(x, ((0, 0), (pad_before, pad_after), (pad_before, pad_after), (0, 0)))
    oh = (xp.shape[1] - kh) // stride + 1
    ow = (xp.shape[2] - kw) // stride + 1
    y = np.zeros((x.shape[0], oh, ow, cout)) + b
    for dy in range(kh):
        for dx in range(kw):
            patch = xp[:, dy : dy + stride * (oh - 1) + 1 : stride, dx : dx + stride * (ow - 1) + 1 : stride, :]
            y += patch @ w[dy, dx]
    return y


def naive_shuffle(x, f):
    n, h, w, _ = x.shape
    y = np.zeros((n, 2 * h, 2 * w, f))
    for i in range(2):
        for j in range(2):
            y[:, i::2, j::2, :] = x[..., (2 * i + j) * f : (2 * i + j + 1) * f]
    return y


def naive_forward(cfg, w, x, identity):
    """An independent NumPy forward pass straight from MODEL.md, NHWC throughout."""
    lrelu = lambda v: np.where(v > 0, v, 0.1 * v)  # noqa: E731
    h = x
    for i in range(len(cfg.conv)):
        k, size = cfg.kernel, h.shape[1]
        total = max((math.ceil(size / 2) - 1) * 2 + k - size, 0)
        h = lrelu(naive_conv_nhwc(h, w["encoder.conv%d.weight" % i], w["encoder.conv%d.bias" % i], 2, total // 2, total - total // 2))
    h = h.reshape(h.shape[0], -1)
    h = h @ w["encoder.dense0.weight"] + w["encoder.dense0.bias"]
    h = h @ w["encoder.dense1.weight"] + w["encoder.dense1.bias"]
    h = h.reshape(h.shape[0], *cfg.bottleneck)
    layers = [("encoder.upscale0", cfg.enc_upscale)]
    layers += [("decoder.%s.upscale%d" % (identity, i), f) for i, f in enumerate(cfg.dec_upscale)]
    for layer, f in layers:
        h = naive_shuffle(lrelu(naive_conv_nhwc(h, w[layer + ".weight"], w[layer + ".bias"], 1, 1, 1)), f)
    k = cfg.out_kernel // 2
    layer = "decoder.%s.out" % identity
    return 1.0 / (1.0 + np.exp(-naive_conv_nhwc(h, w[layer + ".weight"], w[layer + ".bias"], 1, k, k)))


def check_ds_uniform():
    cases = [(1, 0, 0), (1, 0, 1), (1, 0, 2), (1, 1000, 0), (1, 1001, 24575), (0, 0, 0), (42, 17, 123456789),
             (2**64 - 1, 5, 2**40 + 3), (0xDEADBEEF, 2**20, 2**63 - 1)]
    for seed, t, i in cases:
        v = ds_uniform(seed, t, np.array([i], dtype=np.uint64))[0]
        s = ds_uniform_scalar(seed, t, i)
        assert float(v) == s and v.dtype == np.float32, (seed, t, i, v, s)
    idx = np.arange(5000, dtype=np.uint64)
    vec = ds_uniform(7, 3, idx)
    assert all(float(vec[i]) == ds_uniform_scalar(7, 3, i) for i in range(5000))
    print("ok   ds_uniform: vectorised == scalar on %d values; ds_uniform(1, 0, 0..3) = %s"
          % (len(cases) + 5000, ", ".join(repr(float(v)) for v in ds_uniform(1, 0, np.arange(4, dtype=np.uint64)))))


def check_pixel_shuffle():
    f = 2
    x = np.arange(8, dtype=np.float64).reshape(1, 1, 1, 8)
    want = np.array([[[[0, 1], [2, 3]], [[4, 5], [6, 7]]]], dtype=np.float64)  # out[0, i, j, c] = (2i + j) f + c
    got = pixel_shuffle_dcr_nhwc(torch.tensor(x), f).numpy()
    assert np.array_equal(got, want), got
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 5, 4 * 3))
    a = pixel_shuffle_dcr_nhwc(torch.tensor(x), 3).numpy()
    b = pixel_shuffle_dcr(torch.tensor(x).permute(0, 3, 1, 2), 3).permute(0, 2, 3, 1).numpy()
    c = naive_shuffle(x, 3)
    assert np.array_equal(a, c) and np.array_equal(b, c)
    torch_order = torch.nn.PixelShuffle(2)(torch.tensor(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()
    assert not np.array_equal(torch_order, c)  # nn.PixelShuffle is CRD, not DCR
    print("ok   pixel shuffle: DCR order on the hand-built example; NCHW == NHWC == loops; differs from nn.PixelShuffle")


def check_param_counts():
    counts = {}
    for name in ("original", "lowmem"):
        specs = param_specs(Config(FALLBACK[name]))
        enc = sum(s.numel for s in specs if s.owner == "encoder")
        dec = sum(s.numel for s in specs if s.owner == "A")
        counts[name] = (enc, dec, sum(s.numel for s in specs))
    assert counts["original"] == (69662976, 6199747, 82062470), counts
    assert counts["lowmem"] == (48165632, 6199747, 60565126), counts
    print("ok   parameter counts: original %d, lowmem %d (as original-model.md 1.4)"
          % (counts["original"][2], counts["lowmem"][2]))


def check_forward(model, init32, x32):
    w = {k: v.astype(np.float64) for k, v in init32.items()}
    want = naive_forward(model.cfg, w, x32.astype(np.float64), IDENTITY)
    with torch.no_grad():
        got = model.forward(torch.tensor(x32, dtype=torch.float64), IDENTITY).numpy()
    err = np.abs(got - want).max()
    assert err < 1e-12, err
    print("ok   forward: torch model == independent NumPy NHWC/HWIO forward (max abs diff %.1e)" % err)


def check_gradients(model, x, target, per_tensor=6, mask_target=None):
    """Central differences on random elements of every tensor of the encoder and decoder A.

    The loss is smooth between kinks (LeakyReLU at 0, |y - t| at y = t), so the step is the
    largest of STEPS whose +-h evaluations keep the sign of every LeakyReLU input and of
    every y - t; an element with a kink inside every step is replaced by another. With the
    signs s of y - t fixed, L(+h) - L(-h) = mean(s * (y(+h) - y(-h))), which rounds some 20x
    less than the difference of two rounded losses (about 1e-19 / h observed). The test is
    |fd - g| <= 1e-6 max(|fd|, |g|) + ROUNDING / h: relative 1e-6, except for gradients so
    small (below about 1e-8) that the difference quotient itself cannot resolve them.
    With decoder.mask the objective adds w mean((m - mt)^2), whose difference is formed the
    same way, as w mean((m(+h) - m(-h)) (m(+h) + m(-h) - 2 mt)).
    """
    steps = (1e-3, 3e-4, 1e-4, 3e-5, 1e-5)
    rounding = 1e-17
    _, _, grads = model.loss_and_grads(x, target, IDENTITY, LOSS, mask_target)
    rng = np.random.default_rng(1234)
    w = model.cfg.mask_weight

    def evaluate():
        trace = []
        with torch.no_grad():
            _, _, y, m, _ = model.loss(x, target, IDENTITY, LOSS, trace, mask_target)
        return y, m, [torch.sign(v) for v in trace[:-1]] + [torch.sign(y - target)]

    def central_difference(flat, idx):
        p0 = flat[idx].item()
        try:
            for h in steps:
                flat[idx] = p0 + h
                yp, mp, sp = evaluate()
                flat[idx] = p0 - h
                ym, mm, sm = evaluate()
                if all(torch.equal(a, b) for a, b in zip(sp, sm)):
                    d = (sp[-1] * (yp - ym)).mean()
                    if mp is not None:
                        d = d + w * ((mp - mm) * (mp + mm - 2.0 * mask_target)).mean()
                    return d.item() / (2 * h), h
            return None, None
        finally:
            flat[idx] = p0

    worst, worst_tiny, checked, tiny, skipped = 0.0, 0.0, 0, 0, 0
    for nm in model.names(IDENTITY):
        flat = model.params[nm].data.view(-1)
        done = 0
        for idx in rng.permutation(flat.numel()):
            if done == per_tensor:
                break
            fd, h = central_difference(flat, int(idx))
            if fd is None:
                skipped += 1
                continue
            an = grads[nm].reshape(-1)[idx].item()
            err, size = abs(fd - an), max(abs(fd), abs(an))
            assert err <= 1e-6 * size + rounding / h, (nm, int(idx), fd, an, h)
            worst = max(worst, err / size if err <= 1e-6 * size else 0.0)
            if err > 1e-6 * size:
                tiny += 1
                worst_tiny = max(worst_tiny, err)
            done += 1
            checked += 1
    print("ok   gradients: %d elements over %d tensors, worst relative error %.2e, except %d gradients too "
          "small for the quotient (abs error at most %.1e); %d picks with a kink replaced"
          % (checked, len(model.names(IDENTITY)), worst, tiny, worst_tiny, skipped))


def check_train_steps(model, init32, x, target, mask_target=None):
    """train_steps (with its traces and margin checks) gives loss_and_grads' numbers bit for bit."""
    loss, y, grads = model.loss_and_grads(x, target, IDENTITY, LOSS, mask_target)
    (loss2, _, y2, _, _, grads2), margins = train_steps(model, model.cfg, x, target, 0.0, mask_target)
    with torch.no_grad():
        for nm, v in init32.items():
            model.params[nm].copy_(torch.from_numpy(v))
    assert torch.equal(loss, loss2) and torch.equal(y, y2)
    assert set(grads) == set(grads2) and all(torch.equal(grads[k], grads2[k]) for k in grads)
    assert len(margins) == ADAM_STEPS and all(len(m) == len(lrelu_layers(model.cfg)) + 1 for m in margins)
    print("ok   train_steps: loss, output and gradients == loss_and_grads bit for bit; %d passes checked for kinks"
          % len(margins))


def check_adam():
    lr, b1, b2, eps = 1e-3, 0.5, 0.999, 1e-7
    rng = np.random.default_rng(5)
    p0 = {k: rng.standard_normal(6) for k in ("enc", "decA", "decB")}
    params = {k: torch.tensor(v) for k, v in p0.items()}
    opt = KerasAdam(params, lr, b1, b2, eps)
    owners = {"A": ("enc", "decA"), "B": ("enc", "decB")}
    plan = ["A", "B", "A", "A"]
    gs = []
    for who in plan:
        g = {k: rng.standard_normal(6) * 10.0 ** rng.integers(-9, 1, 6) for k in owners[who]}
        g["enc"][0] = 0.0
        gs.append(g)
    for who, g in zip(plan, gs):
        before_other = {k: params[k].clone() for k in params if k not in owners[who]}
        opt.step({k: torch.tensor(v) for k, v in g.items()})
        assert all(torch.equal(params[k], before_other[k]) for k in before_other)
    # Direct formula, element by element in plain Python: the step counter counts every step.
    worst = 0.0
    for k in p0:
        for e in range(6):
            p, m, v = p0[k][e], 0.0, 0.0
            for s, (who, g) in enumerate(zip(plan, gs), start=1):
                if k not in owners[who]:
                    continue
                gv = g[k][e]
                m = b1 * m + (1 - b1) * gv
                v = b2 * v + (1 - b2) * gv * gv
                p -= lr * math.sqrt(1 - b2**s) / (1 - b1**s) * m / (math.sqrt(v) + eps)
            err = abs(p - params[k][e].item())
            worst = max(worst, err)
            assert err < 1e-15, (k, e, p, params[k][e].item())
    # Closed form for a constant gradient g over 3 steps from zero moments:
    # m_s = (1 - b1^s) g, v_s = (1 - b2^s) g^2, so each step moves by lr sqrt(1-b2^s) g / (sqrt(1-b2^s)|g| + eps).
    g = torch.tensor([1e-3, -2e-6, 3e-9, 0.0, -0.5], dtype=torch.float64)
    q = {"w": torch.zeros(5, dtype=torch.float64)}
    opt = KerasAdam(q, lr, b1, b2, eps)
    for _ in range(3):
        opt.step({"w": g})
    want = -sum(lr * math.sqrt(1 - b2**s) * g / (math.sqrt(1 - b2**s) * g.abs() + eps) for s in (1, 2, 3))
    err2 = ((q["w"] - want).abs().max() / want.abs().max()).item()
    assert err2 < 1e-13, err2
    print("ok   Adam: hand-written step == direct formula (max abs err %.1e), == closed form for a constant gradient "
          "(rel err %.1e); other decoders untouched, counter shared" % (worst, err2))


def check_mask_split(model, init32, x32, mask_target):
    """decoder.mask: the image is channels 0 .. C-1 of the out conv and the mask channel C.
    A maskless model given the same weights, the out conv cut to its first C outputs, gives
    the same image bit for bit, and the objective is image loss + mask_weight x mean((m - t)^2)
    with the mask taken from channel C of the independent NumPy forward pass."""
    cfg = model.cfg
    plain_cfg = Config.__new__(Config)
    plain_cfg.__dict__.update(cfg.__dict__, mask=False, mask_weight=1.0)
    plain = RefModel(plain_cfg)
    plain.init(SEED)
    with torch.no_grad():
        for nm, v in init32.items():  # every decoder's out conv has the mask channel
            v = v[..., : cfg.channels] if nm.endswith((".out.weight", ".out.bias")) else v
            plain.params[nm].copy_(torch.from_numpy(np.ascontiguousarray(v)))
    x = torch.tensor(x32, dtype=torch.float64)
    _, t32 = inputs(cfg)
    t = torch.tensor(t32, dtype=torch.float64)
    with torch.no_grad():
        objective, image_loss, y, m, mse = model.loss(x, t, IDENTITY, LOSS, mask_target=mask_target)
        plain_loss, _, plain_y, plain_m, _ = plain.loss(x, t, IDENTITY, LOSS)
    assert plain_m is None and torch.equal(y, plain_y) and torch.equal(image_loss, plain_loss)
    w = {k: v.astype(np.float64) for k, v in init32.items()}
    want_m = naive_forward(cfg, w, x32.astype(np.float64), IDENTITY)[..., cfg.channels]
    want_mse = ((want_m - mask_target.numpy()) ** 2).mean()
    assert abs(mse.item() - want_mse) < 1e-12 and np.abs(m.numpy() - want_m).max() < 1e-12
    assert abs(objective.item() - (image_loss.item() + cfg.mask_weight * want_mse)) < 1e-12
    print("ok   mask: image == the maskless model's with the out conv cut to C outputs (bit for bit); "
          "objective == image loss + %g x mask MSE (%.9g, from the NumPy forward pass's channel C)"
          % (cfg.mask_weight, want_mse))


def self_check():
    t0 = time.time()
    check_ds_uniform()
    check_pixel_shuffle()
    check_param_counts()
    check_adam()
    cfg = Config.load(os.path.join(HERE, "micro.json"))
    model = RefModel(cfg)
    init32 = model.init(SEED)
    x32, t32 = inputs(cfg)
    check_forward(model, init32, x32)
    check_train_steps(model, init32, torch.tensor(x32, dtype=torch.float64), torch.tensor(t32, dtype=torch.float64))
    check_gradients(model, torch.tensor(x32, dtype=torch.float64), torch.tensor(t32, dtype=torch.float64))
    # the same with decoder.mask (micro_mask.json): C + 1 outputs, the mask term in the objective
    cfg = Config.load(os.path.join(HERE, "micro_mask.json"))
    assert cfg.mask and cfg.mask_weight != 1.0, "micro_mask.json should check a mask weight other than 1"
    model = RefModel(cfg)
    init32 = model.init(SEED)
    x32, t32 = inputs(cfg)
    mt = torch.tensor(mask_targets(cfg), dtype=torch.float64)
    x, t = torch.tensor(x32, dtype=torch.float64), torch.tensor(t32, dtype=torch.float64)
    print("     micro_mask (decoder.mask, mask_weight %g):" % cfg.mask_weight)
    check_forward(model, init32, x32)
    check_mask_split(model, init32, x32, mt)
    check_train_steps(model, init32, x, t, mt)
    check_gradients(model, x, t, mask_target=mt)
    print("self-check passed in %.1f s" % (time.time() - t0))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="run the self-check of model_ref and write nothing")
    ap.add_argument("--out-dir", default=HERE, help="where to write the .dst files (default: tests/ref)")
    ap.add_argument("--margin", type=float, help="kink margin for every fixture named (to experiment; default: FIXTURES' own)")
    ap.add_argument("only", nargs="*", help="fixture names to write (default: all)")
    args = ap.parse_args()
    if args.check:
        self_check()
        return
    known = [f[0] for f in FIXTURES]
    for n in args.only:
        if n not in known:
            ap.error("unknown fixture %s (have %s)" % (n, ", ".join(known)))
    print("torch %s, numpy %s, %d threads" % (torch.__version__, np.__version__, torch.get_num_threads()))
    t0 = time.time()
    for name, cfg_path, full_grads, expect, margin in FIXTURES:
        if args.only and name not in args.only:
            continue
        cfg = load_config(name, cfg_path)
        make_fixture(name, cfg, os.path.join(args.out_dir, name + ".dst"), full_grads, expect,
                     margin if args.margin is None else args.margin)
    print("done in %.1f s" % (time.time() - t0))


if __name__ == "__main__":
    main()
