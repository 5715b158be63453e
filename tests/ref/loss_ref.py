"""The loss terms of engine/nn/loss_set.h in PyTorch (float64, autograd), and the fixture
tests/ref/loss.dst the C test test_loss_ref compares the engine against.

    /usr/bin/python3 tests/ref/loss_ref.py            # writes tests/ref/loss.dst
    /usr/bin/python3 tests/ref/loss_ref.py --check    # gradcheck of every term, writes nothing

Written independently of the C and OpenCL code: the windows are depthwise conv2d over NCHW.
For each case the fixture holds `<case>.y`, `<case>.t` (NHWC float32, the prediction and the
target) and for each term `<case>.<term>.loss` ([1], float64 rounded to float32) and
`<case>.<term>.grad` (dLoss/dy, NHWC). Terms have weight 1; the C side checks weights and sums.
"""

import argparse
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dstensor  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

C1, C2 = 0.01**2, 0.03**2  # SSIM constants for data range 1 (Wang et al. 2004)
GMS_K = 0.0026  # GMSD's c = 170 for 8-bit images (Xue et al. 2014), scaled to [0, 1]
GM_EPS = SD_EPS = 1e-12  # keep sqrt differentiable at 0 (engine/nn/gmsd.h)

# (name, shape NHWC, seed): the model's 64 x 64 crop (3 MS-SSIM scales), an odd shape (1 scale),
# and one of 2 scales with an odd side
CASES = [("face", (1, 64, 64, 3), 1), ("odd", (3, 13, 17, 2), 2), ("two", (2, 24, 23, 1), 3)]


def nchw(x):
    return x.permute(0, 3, 1, 2)


def depthwise(x, k):
    """'valid' correlation of every channel of NCHW x with the 2-D kernel k."""
    c = x.shape[1]
    return F.conv2d(x, k.expand(c, 1, *k.shape).contiguous(), groups=c)


def gaussian(size=11, sigma=1.5):
    r = torch.arange(size, dtype=torch.float64) - size // 2
    g = torch.exp(-(r**2) / (2 * sigma**2))
    g = g / g.sum()
    return torch.outer(g, g)


def mae(y, t):
    return (y - t).abs().mean()


def mse(y, t):
    return ((y - t) ** 2).mean()


def ssim_maps(y, t):
    """The SSIM and contrast-structure maps of NCHW y, t."""
    k = gaussian()
    my, mt = depthwise(y, k), depthwise(t, k)
    vy = depthwise(y * y, k) - my**2
    vt = depthwise(t * t, k) - mt**2
    cyt = depthwise(y * t, k) - my * mt
    cs = (2 * cyt + C2) / (vy + vt + C2)
    return (2 * my * mt + C1) / (my**2 + mt**2 + C1) * cs, cs


def dssim(y, t):
    s, _ = ssim_maps(nchw(y), nchw(t))
    return (1 - s.mean()) / 2


MS_WEIGHTS = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333]  # Wang et al. 2003
MS_FLOOR = 1e-6


def ms_ssim(y, t):
    """(1 - MS-SSIM) / 2 over the scales that keep an 11-pixel window, the weights renormalised."""
    y, t = nchw(y), nchw(t)
    h, w = y.shape[2], y.shape[3]
    m = 1
    while m < 5 and h >> m >= 11 and w >> m >= 11:
        m += 1
    wts = torch.tensor(MS_WEIGHTS[:m], dtype=torch.float64)
    wts = wts / wts.sum()
    value = 1.0
    for j in range(m):
        s, cs = ssim_maps(y, t)
        mean = (s if j == m - 1 else cs).mean(dim=(2, 3))
        value = value * torch.clamp(mean, min=MS_FLOOR) ** wts[j]
        y, t = F.avg_pool2d(y, 2), F.avg_pool2d(t, 2)
    return (1 - value.mean()) / 2


def gmsd(y, t):
    y, t = nchw(y), nchw(t)
    kx = torch.tensor([[1.0, 0.0, -1.0]] * 3, dtype=torch.float64) / 3
    ky = kx.t().contiguous()

    def magnitude(x):
        return torch.sqrt(depthwise(x, kx) ** 2 + depthwise(x, ky) ** 2 + GM_EPS)

    my, mt = magnitude(y), magnitude(t)
    gms = (2 * my * mt + GMS_K) / (my**2 + mt**2 + GMS_K)
    var = gms.var(dim=(2, 3), unbiased=False)
    return torch.sqrt(var + SD_EPS).mean()


TERMS = {"mae": mae, "mse": mse, "ssim": dssim, "gmsd": gmsd, "ms_ssim": ms_ssim}


def inputs(shape, seed):
    """A smooth target and a prediction near it, both in (0, 1), as a decoder's sigmoid gives."""
    g = np.random.default_rng(seed)
    n, h, w, c = shape
    t = g.random(shape)
    for _ in range(2):  # a little smoothing, so the images have structure at several scales
        t = (t + np.roll(t, 1, axis=1) + np.roll(t, 1, axis=2)) / 3
    y = np.clip(0.8 * t + 0.1 + 0.15 * (g.random(shape) - 0.5), 0.01, 0.99)
    return y.astype(np.float32), t.astype(np.float32)


def check():
    for name, fn in TERMS.items():
        y32, t32 = inputs((2, 24, 23, 2) if name == "ms_ssim" else (2, 12, 13, 2), 7)
        y = torch.tensor(y32, dtype=torch.float64, requires_grad=True)
        t = torch.tensor(t32, dtype=torch.float64)
        ok = torch.autograd.gradcheck(lambda a: fn(a, t), (y,), eps=1e-6, atol=1e-9, rtol=1e-6)
        print("ok   gradcheck %s: %s" % (name, ok))
    # SSIM of an image with itself is 1, so DSSIM 0; GMSD of an image with itself is ~0
    y32, _ = inputs((1, 16, 16, 3), 3)
    y = torch.tensor(y32, dtype=torch.float64)
    assert abs(dssim(y, y).item()) < 1e-12 and gmsd(y, y).item() < 1e-5
    print("ok   dssim(y, y) = 0, gmsd(y, y) ~ 0")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    if args.check:
        check()
        return
    out = {}
    for case, shape, seed in CASES:
        y32, t32 = inputs(shape, seed)
        out["%s.y" % case] = y32
        out["%s.t" % case] = t32
        for name, fn in TERMS.items():
            y = torch.tensor(y32, dtype=torch.float64, requires_grad=True)
            t = torch.tensor(t32, dtype=torch.float64)
            loss = fn(y, t)
            (grad,) = torch.autograd.grad(loss, [y])
            out["%s.%s.loss" % (case, name)] = np.array([loss.item()], dtype=np.float32)
            out["%s.%s.grad" % (case, name)] = grad.numpy().astype(np.float32)
            print("%-5s %-5s loss %.9g  max |grad| %.3g" % (case, name, loss.item(), grad.abs().max().item()))
    path = os.path.join(HERE, "loss.dst")
    dstensor.write(path, out)
    print("wrote %s (%d tensors, %d bytes)" % (path, len(out), os.path.getsize(path)))


if __name__ == "__main__":
    main()
