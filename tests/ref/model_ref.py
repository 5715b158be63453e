"""PyTorch reference of the dsengine model, as engine/model/MODEL.md defines it.

Parameters are held in MODEL.md's layouts (conv weight [kh, kw, cin, cout], dense weight
[in, out], bias [cout]) and computed in float64, so the reference is more accurate than the
float32 engine it checks. Activations run NCHW inside forward(); inputs and outputs are NHWC.
With decoder.mask the out conv has C + 1 channels: the image is channels 0 .. C-1, the learned
mask channel C, and the objective adds train.mask_weight x the mask's mean squared error.

Run with Debian's interpreter, which has torch: /usr/bin/python3.
"""

import json
import math

import numpy as np
import torch
import torch.nn.functional as F

GOLDEN = 0x9E3779B97F4A7C15
MASK64 = 0xFFFFFFFFFFFFFFFF
LRELU_SLOPE = 0.1
ADAM_DEFAULTS = {"lr": 5e-5, "beta1": 0.5, "beta2": 0.999, "epsilon": 1e-7}


# ---------------------------------------------------------------- counter-based init

def ds_uniform(seed, t, i):
    """u = ds_uniform(seed, t, i) of MODEL.md for an array of element indices i, as float32."""
    i = np.asarray(i, dtype=np.uint64)
    with np.errstate(over="ignore"):
        g = np.uint64(GOLDEN)
        z = np.uint64(seed) ^ (g * np.uint64(t + 1))
        z = z + g * (i + np.uint64(1))
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    # 24 bits, so both the conversion and the scaling are exact in float32.
    return (z >> np.uint64(40)).astype(np.float32) * np.float32(2.0**-24)


def ds_uniform_scalar(seed, t, i):
    """The same in plain Python integers, to check the vectorised version bit for bit."""
    z = (seed ^ (GOLDEN * (t + 1))) & MASK64
    z = (z + GOLDEN * (i + 1)) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    z = z ^ (z >> 31)
    return (z >> 40) * 2.0**-24


def glorot_uniform(seed, t, shape, fan_in, fan_out):
    """Element i of tensor t is (2u - 1) * limit, every step rounded to float32.

    limit is sqrt(6 / (fan_in + fan_out)) computed in double and rounded to float32 once;
    2u - 1 is exact in float32, so the only other rounding is that of the product.
    """
    n = int(np.prod(shape))
    u = ds_uniform(seed, t, np.arange(n, dtype=np.uint64))
    limit = np.float32(math.sqrt(6.0 / (fan_in + fan_out)))
    return ((np.float32(2.0) * u - np.float32(1.0)) * limit).reshape(shape)


# ---------------------------------------------------------------- config and parameters

class Config:
    """The keys of configs/*.json that shape the network and the optimiser."""

    def __init__(self, d):
        self.name = d.get("name", "")
        self.size = int(d["input"]["size"])
        self.channels = int(d["input"]["channels"])
        enc, dec = d["encoder"], d["decoder"]
        self.conv = [int(c) for c in enc["conv"]]
        self.kernel = int(enc["kernel"])
        self.dense = int(enc["dense"])
        self.bottleneck = [int(b) for b in enc["bottleneck"]]
        self.enc_upscale = int(enc["upscale"])
        self.dec_upscale = [int(u) for u in dec["upscale"]]
        self.out_kernel = int(dec["out_kernel"])
        self.decoders = list(d["decoders"])
        self.mask = bool(dec.get("mask", False))
        train = d.get("train", {})
        self.mask_weight = float(train.get("mask_weight", 1.0))
        assert self.mask or "mask_weight" not in train, "train.mask_weight needs decoder.mask"
        adam = dict(ADAM_DEFAULTS)
        adam.update(train.get("optimizer", {}))
        self.adam = {k: float(adam[k]) for k in ADAM_DEFAULTS}

    @staticmethod
    def load(path):
        with open(path) as f:
            return Config(json.load(f))


def conv_out(size):
    """TF 'same' with stride 2: out = ceil(in / 2)."""
    return (size + 1) // 2


class ParamSpec:
    def __init__(self, name, shape, owner, fan=None):
        self.name, self.shape, self.owner, self.fan = name, tuple(shape), owner, fan

    @property
    def numel(self):
        return int(np.prod(self.shape))


def param_specs(cfg):
    """Every parameter tensor in MODEL.md order; the list index is the tensor index t."""
    specs = []

    def conv(layer, owner, k, cin, cout):
        specs.append(ParamSpec(layer + ".weight", (k, k, cin, cout), owner, (k * k * cin, k * k * cout)))
        specs.append(ParamSpec(layer + ".bias", (cout,), owner))

    def dense(layer, owner, nin, nout):
        specs.append(ParamSpec(layer + ".weight", (nin, nout), owner, (nin, nout)))
        specs.append(ParamSpec(layer + ".bias", (nout,), owner))

    size, cin = cfg.size, cfg.channels
    for i, cout in enumerate(cfg.conv):
        conv("encoder.conv%d" % i, "encoder", cfg.kernel, cin, cout)
        size, cin = conv_out(size), cout
    bh, bw, bc = cfg.bottleneck
    dense("encoder.dense0", "encoder", size * size * cin, cfg.dense)
    dense("encoder.dense1", "encoder", cfg.dense, bh * bw * bc)
    conv("encoder.upscale0", "encoder", 3, bc, 4 * cfg.enc_upscale)
    for x in cfg.decoders:
        cin = cfg.enc_upscale
        for i, f in enumerate(cfg.dec_upscale):
            conv("decoder.%s.upscale%d" % (x, i), x, 3, cin, 4 * f)
            cin = f
        conv("decoder.%s.out" % x, x, cfg.out_kernel, cin, cfg.channels + (1 if cfg.mask else 0))
    return specs


# ---------------------------------------------------------------- layers (NCHW inside)

def pixel_shuffle_dcr(h, f):
    """TF depth_to_space, NCHW: out[n, c, 2y+i, 2x+j] = in[n, (2i + j) f + c, y, x]."""
    n, c4, hh, ww = h.shape
    assert c4 == 4 * f
    h = h.reshape(n, 2, 2, f, hh, ww).permute(0, 3, 4, 1, 5, 2)
    return h.reshape(n, f, 2 * hh, 2 * ww)


def pixel_shuffle_dcr_nhwc(h, f):
    """The same on NHWC data: out[n, 2y+i, 2x+j, c] = in[n, y, x, (2i + j) f + c]."""
    n, hh, ww, c4 = h.shape
    assert c4 == 4 * f
    h = h.reshape(n, hh, ww, 2, 2, f).permute(0, 1, 3, 2, 4, 5)
    return h.reshape(n, 2 * hh, 2 * ww, f)


def conv2d_hwio(h, w, b, stride, pad):
    """pad = (top, bottom, left, right); w is [kh, kw, cin, cout]."""
    top, bottom, left, right = pad
    h = F.pad(h, (left, right, top, bottom))
    return F.conv2d(h, w.permute(3, 2, 0, 1), b, stride=stride)


def same_pad_stride2(size, k):
    """TF 'same', stride 2: total = max((out-1)*2 + k - in, 0), the smaller half before."""
    total = max((conv_out(size) - 1) * 2 + k - size, 0)
    return total // 2, total - total // 2


def lrelu(h, trace):
    if trace is not None:
        trace.append(h.detach())
    return F.leaky_relu(h, LRELU_SLOPE)


class RefModel:
    def __init__(self, cfg):
        self.cfg = cfg
        self.specs = param_specs(cfg)
        self.params = {}

    def param_count(self):
        return sum(s.numel for s in self.specs)

    def names(self, identity):
        """The tensors a step for identity updates: the encoder and decoder identity."""
        return [s.name for s in self.specs if s.owner in ("encoder", identity)]

    def init(self, seed):
        """Glorot-uniform weights from ds_uniform, zero biases; returns the float32 arrays."""
        init32 = {}
        for t, s in enumerate(self.specs):
            if s.fan is None:
                init32[s.name] = np.zeros(s.shape, np.float32)
            else:
                init32[s.name] = glorot_uniform(seed, t, s.shape, *s.fan)
            self.params[s.name] = torch.tensor(init32[s.name], dtype=torch.float64, requires_grad=True)
        return init32

    def upscale(self, h, layer, f, trace):
        p = self.params
        h = lrelu(conv2d_hwio(h, p[layer + ".weight"], p[layer + ".bias"], 1, (1, 1, 1, 1)), trace)
        return pixel_shuffle_dcr(h, f)

    def forward(self, x, identity, trace=None):
        """x: NHWC float64 tensor; returns the NHWC sigmoid output of encoder + decoder identity
        (C + 1 channels with decoder.mask: the image, then the mask).

        trace, when a list, receives every LeakyReLU input and the pre-sigmoid output.
        """
        cfg, p = self.cfg, self.params
        n = x.shape[0]
        h = x.permute(0, 3, 1, 2)
        for i in range(len(cfg.conv)):
            layer = "encoder.conv%d" % i
            before, after = same_pad_stride2(h.shape[2], cfg.kernel)
            pad = (before, after, before, after)
            h = lrelu(conv2d_hwio(h, p[layer + ".weight"], p[layer + ".bias"], 2, pad), trace)
        h = h.permute(0, 2, 3, 1).reshape(n, -1)  # flatten in (h, w, c) order
        h = h @ p["encoder.dense0.weight"] + p["encoder.dense0.bias"]
        h = h @ p["encoder.dense1.weight"] + p["encoder.dense1.bias"]
        bh, bw, bc = cfg.bottleneck
        h = h.reshape(n, bh, bw, bc).permute(0, 3, 1, 2)
        h = self.upscale(h, "encoder.upscale0", cfg.enc_upscale, trace)
        for i, f in enumerate(cfg.dec_upscale):
            h = self.upscale(h, "decoder.%s.upscale%d" % (identity, i), f, trace)
        layer = "decoder.%s.out" % identity
        k = cfg.out_kernel // 2
        h = conv2d_hwio(h, p[layer + ".weight"], p[layer + ".bias"], 1, (k, k, k, k))
        if trace is not None:
            trace.append(h.detach())
        return torch.sigmoid(h).permute(0, 2, 3, 1)

    def loss(self, x, target, identity, kind="mae", trace=None, mask_target=None):
        """Returns (objective, image loss, image, mask, mask MSE). The objective is the image
        loss; with decoder.mask it adds mask_weight x the mask MSE over n S S (mask_target
        [n, S, S]). Without the mask, mask and mask MSE are None and the objective is the
        image loss itself."""
        y = self.forward(x, identity, trace)
        mask = mse = None
        if self.cfg.mask:
            c = self.cfg.channels
            y, mask = y[..., :c], y[..., c]
        assert y.shape == target.shape, (tuple(y.shape), tuple(target.shape))
        if kind == "mae":
            loss = (y - target).abs().mean()
        elif kind == "mse":
            loss = ((y - target) ** 2).mean()
        else:
            raise ValueError("unknown loss " + kind)
        objective = loss
        if mask is not None:
            assert mask_target is not None and mask.shape == mask_target.shape
            mse = ((mask - mask_target) ** 2).mean()
            objective = loss + self.cfg.mask_weight * mse
        return objective, loss, y, mask, mse

    def loss_and_grads(self, x, target, identity, kind="mae", mask_target=None):
        """Objective, image output and dObjective/dP for every P of the encoder and decoder identity."""
        names = self.names(identity)
        loss, _, y, _, _ = self.loss(x, target, identity, kind, mask_target=mask_target)
        grads = torch.autograd.grad(loss, [self.params[nm] for nm in names])
        return loss.detach(), y.detach(), dict(zip(names, grads))


# ---------------------------------------------------------------- Adam (Keras semantics)

class KerasAdam:
    """One (m, v) pair per parameter, one step counter shared by every identity's steps.

    Keras adds epsilon to sqrt(v) with the bias corrections folded into lr, which is not
    where torch.optim.Adam puts it, hence a hand-written step.
    """

    def __init__(self, params, lr, beta1, beta2, epsilon):
        self.params = params
        self.lr, self.beta1, self.beta2, self.epsilon = lr, beta1, beta2, epsilon
        self.m, self.v, self.steps = {}, {}, 0

    def step(self, grads):
        """Update only the tensors named in grads (the encoder and one decoder)."""
        self.steps += 1
        s = self.steps
        lr_s = self.lr * math.sqrt(1.0 - self.beta2**s) / (1.0 - self.beta1**s)
        with torch.no_grad():
            for name, g in grads.items():
                m = self.m.setdefault(name, torch.zeros_like(g))
                v = self.v.setdefault(name, torch.zeros_like(g))
                m.mul_(self.beta1).add_((1.0 - self.beta1) * g)
                v.mul_(self.beta2).add_((1.0 - self.beta2) * g * g)
                self.params[name].sub_(lr_s * m / (v.sqrt() + self.epsilon))
