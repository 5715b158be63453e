#!/usr/bin/python3
"""Writes tests/ref/warp.dst: cv2.warpAffine (INTER_LINEAR, BORDER_CONSTANT 0)
of a deterministic RGB test image under a few similarity matrices, for the
C test of engine/detect/align.c. Run from the repository root with Debian's
python3-opencv: /usr/bin/python3 tests/ref/warp_ref.py"""
import os
import sys

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dstensor  # noqa: E402

H, W, OH, OW = 48, 64, 40, 56


def image():
    y, x = np.mgrid[0:H, 0:W].astype(np.float64)
    r = 128 + 100 * np.sin(x / 5.0) * np.cos(y / 7.0)
    g = (x * 4 + y * 2) % 256
    b = 255 * ((x // 8 + y // 8) % 2)
    return np.clip(np.stack([r, g, b], axis=-1), 0, 255).astype(np.uint8)


def similarity(angle, scale, tx, ty):
    m = cv2.getRotationMatrix2D((W / 2.0, H / 2.0), angle, scale)
    m[:, 2] += (tx, ty)
    return m


def main():
    img = image()
    mats = [similarity(0, 1, 0, 0), similarity(17, 0.8, -3.5, 2.25), similarity(-120, 1.3, 5, -7),
            similarity(3, 2.5, -30, -20)]
    out = {"image": img.astype(np.float32)}
    for i, m in enumerate(mats):
        out["mat%d" % i] = m.astype(np.float32)
        # the matrix as float32 is what the engine uses: warp with exactly that
        warped = cv2.warpAffine(img, m.astype(np.float32).astype(np.float64), (OW, OH),
                                flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        out["warp%d" % i] = warped.astype(np.float32)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "warp.dst")
    dstensor.write(path, out)
    print("wrote", path, "cv2", cv2.__version__)


if __name__ == "__main__":
    main()
