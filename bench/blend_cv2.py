#!/usr/bin/python3
"""OpenCV's side of bench/blend.c: cv2.seamlessClone(NORMAL_CLONE) on the
inputs bench_blend wrote, timed, with what dsengine needs to solve the same
problem.

usage: blend_cv2.py DIR SIZE X0 Y0 REPS

DIR holds dst.png (the frame), src.png and mask.png ((SIZE+2) square: the
patch and its mask, whose bounding rectangle is exactly (1, 1, SIZE, SIZE)).
The clone is centred so that this rectangle lands on the SIZE x SIZE region
of dst at (X0, Y0). Writes DIR/cv2.png (that region of the result) and
DIR/mask_eroded.png (the mask seamlessClone's solver uses: the patch's mask
eroded three times by a 3x3 square, as OpenCV's Cloning::computeDerivatives
does), and prints one line "seamlessClone MEDIAN_S BEST_S REPS THREADS".
"""
import sys
import time

import cv2
import numpy as np


def main():
    folder, size, x0, y0, reps = sys.argv[1], *map(int, sys.argv[2:6])
    dst = cv2.imread(f"{folder}/dst.png", cv2.IMREAD_COLOR)
    src = cv2.imread(f"{folder}/src.png", cv2.IMREAD_COLOR)
    mask = cv2.imread(f"{folder}/mask.png", cv2.IMREAD_GRAYSCALE)
    if dst is None or src is None or mask is None:
        sys.exit(f"blend_cv2.py: cannot read the inputs in {folder}")
    # seamlessClone zeroes the mask's outer pixel ring, takes its bounding
    # rectangle and centres it on p (integer halves)
    inner = mask.copy()
    inner[0, :] = inner[-1, :] = inner[:, 0] = inner[:, -1] = 0
    rx, ry, rw, rh = cv2.boundingRect(inner)
    if (rx, ry, rw, rh) != (1, 1, size, size):
        sys.exit(f"blend_cv2.py: mask bounding rectangle {(rx, ry, rw, rh)}, "
                 f"expected (1, 1, {size}, {size})")
    centre = (x0 + size // 2, y0 + size // 2)
    out = None
    times = []
    for _ in range(reps + 1):  # the first call is a warm-up
        t = time.perf_counter()
        out = cv2.seamlessClone(src, dst, mask, centre, cv2.NORMAL_CLONE)
        times.append(time.perf_counter() - t)
    times = sorted(times[1:])
    eroded = cv2.erode(inner[1:size + 1, 1:size + 1], np.ones((3, 3), np.uint8), iterations=3)
    cv2.imwrite(f"{folder}/cv2.png", out[y0:y0 + size, x0:x0 + size])
    cv2.imwrite(f"{folder}/mask_eroded.png", eroded)
    print(f"seamlessClone {np.median(times):.6f} {times[0]:.6f} {reps} {cv2.getNumThreads()}")


if __name__ == "__main__":
    main()
