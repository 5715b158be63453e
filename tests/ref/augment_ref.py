#!/usr/bin/python3
"""Writes tests/ref/augment.dst: the original faceswap augmentation run by cv2.

The algorithm is deepfakes/faceswap@22f22d9b image_augmentation.py
(random_transform, then random_warp; ../shared/reference/original-model.md
§2.2), written again here with the random draws replaced by fixed values and
generalised to other sizes as engine/train/augment.h describes (at face 256 ->
out 64 it is the original exactly). As in the original, the uint8 image is
divided by 255 first, so every step runs in float64.

Needs Debian's python3-opencv and numpy: run with /usr/bin/python3.

    /usr/bin/python3 tests/ref/augment_ref.py [OUT.dst]

Tensors (float32):
  image_rgb24        [256, 256]  the test image, pixel r*65536 + g*256 + b
                                 (exact in float32; a quarter of RGB floats)
  caseK.values       [7]   angle (deg), scale, tx, ty, flip, face, out
  caseK.noise        [2, 25]  control point noise, x then y, row-major
  caseK.transform    [2, 3]   getRotationMatrix2D + (tx, ty), as cv2 used it
  caseK.grid         [2, 25]  the noisy control points, as cv2 used them
  caseK.umeyama      [2, 3]   the target matrix (NumPy Umeyama)
  caseK.warped       [out, out, 3]  cv2's network input
  caseK.target       [out, out, 3]  cv2's target
  umeyama.src / .dst [51, 2], umeyama.mat [2, 3]: a general similarity fit
A case with face 128 uses image[::2, ::2].
"""
import os
import sys

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dstensor  # noqa: E402


def test_image(size=256):
    """A deterministic face-like picture: gradients, a shaded oval, eyes, a
    mouth, anti-aliased edges and a little texture."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float64) / size
    img = np.empty((size, size, 3))
    img[..., 0] = 40 + 150 * x
    img[..., 1] = 60 + 120 * y
    img[..., 2] = 200 - 100 * (x + y) / 2
    c = size // 2
    face = np.zeros((size, size), np.uint8)
    cv2.ellipse(face, (c, c + size // 32), (size * 5 // 16, size * 3 // 8), 0, 0, 360, 255, -1,
                cv2.LINE_AA)
    a = face[..., None] / 255.0
    shade = 0.75 + 0.35 * np.cos(np.pi * (x - 0.45)) * np.cos(np.pi * (y - 0.5))
    skin = np.stack([200 * shade, 160 * shade, 130 * shade], -1)
    img = img * (1 - a) + skin * a
    img = np.clip(img, 0, 255).astype(np.uint8)
    for ex in (c - size * 3 // 32, c + size * 3 // 32):
        cv2.circle(img, (ex, c - size // 16), size // 24, (245, 245, 240), -1, cv2.LINE_AA)
        cv2.circle(img, (ex, c - size // 16), size // 56, (40, 30, 90), -1, cv2.LINE_AA)
        cv2.line(img, (ex - size // 16, c - size * 5 // 32), (ex + size // 16, c - size * 11 // 64),
                 (60, 40, 30), max(1, size // 64), cv2.LINE_AA)
    cv2.line(img, (c, c - size // 32), (c - size // 40, c + size // 12), (150, 110, 90), 2,
             cv2.LINE_AA)
    cv2.ellipse(img, (c, c + size * 5 // 32), (size // 10, size // 32), 0, 0, 360, (170, 60, 70),
                -1, cv2.LINE_AA)
    texture = np.random.RandomState(1234).randint(-6, 7, size=img.shape)
    return np.clip(img.astype(np.int64) + texture, 0, 255).astype(np.uint8)


def umeyama(src, dst):
    """Least-squares similarity with scaling, dst ~ s R src + t (Umeyama,
    PAMI 1991, eqs. 38-42). The original's copy of skimage wrote V.T for
    NumPy's Vh; in 2-D LAPACK returns reflections, which are symmetric, so
    the two agree. Returns the 2x3 matrix [s R | t]."""
    n, dim = src.shape
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s_c, d_c = src - mu_s, dst - mu_d
    cov = d_c.T @ s_c / n
    u, sv, vh = np.linalg.svd(cov)
    d = np.ones(dim)
    if np.linalg.det(cov) < 0:
        d[-1] = -1
    rot = u @ np.diag(d) @ vh
    scale = (sv @ d) / s_c.var(0).sum()
    return np.hstack([scale * rot, (mu_d - scale * rot @ mu_s)[:, None]])


def original(image_u8, angle, scale, tx, ty, flip, noise_x, noise_y, out):
    """random_transform then random_warp with fixed draws; returns the
    matrices and control points exactly as cv2 received them (float32-rounded,
    the precision the engine stores them in) and the two outputs."""
    image = image_u8 / 255.0
    h, w = image.shape[0:2]
    mat = cv2.getRotationMatrix2D((w // 2, h // 2), angle, scale)
    mat[:, 2] += (tx, ty)
    mat = mat.astype(np.float32).astype(np.float64)
    result = cv2.warpAffine(image, mat, (w, h), borderMode=cv2.BORDER_REPLICATE)
    if flip:
        result = result[:, ::-1]

    half = w * 80 / 256  # the original: linspace(128 - 80, 128 + 80, 5)
    range_ = np.linspace(w / 2 - half, w / 2 + half, 5)
    mapx = np.broadcast_to(range_, (5, 5))
    mapy = mapx.T
    mapx = (mapx + noise_x).astype(np.float32).astype(np.float64)
    mapy = (mapy + noise_y).astype(np.float32).astype(np.float64)

    pad = int(1.25 * out)  # 80 for 64, sliced [8:72] as in the original
    cut = slice(pad // 10, pad - pad // 10)
    interp_mapx = cv2.resize(mapx, (pad, pad))[cut, cut].astype("float32")
    interp_mapy = cv2.resize(mapy, (pad, pad))[cut, cut].astype("float32")
    warped = cv2.remap(result, interp_mapx, interp_mapy, cv2.INTER_LINEAR)

    src_points = np.stack([mapx.ravel(), mapy.ravel()], axis=-1)
    step = out // 4
    dst_points = np.mgrid[0:out + 1:step, 0:out + 1:step].T.reshape(-1, 2)
    target_mat = umeyama(src_points, dst_points)
    target = cv2.warpAffine(result, target_mat, (out, out))
    return mat, np.stack([mapx.ravel(), mapy.ravel()]), target_mat, warped, target


# angle, scale, tx, ty, flip, face, out, noise sigma, noise seed
CASES = [
    (0.0, 1.0, 0.0, 0.0, 0, 256, 64, 0.0, 0),  # identity, no noise: warped == target
    (7.3, 1.03, 5.1, -8.7, 1, 256, 64, 5.0, 1),  # a typical draw
    (-35.0, 0.93, -12.0, 10.0, 0, 256, 64, 5.0, 2),  # strong rotation
    (10.0, 1.05, 12.8, 12.8, 1, 256, 64, 12.0, 3),  # extremes, big noise: borders
    (4.0, 0.97, -3.3, 2.9, 1, 128, 32, 2.5, 4),  # the generalisation to 128 -> 32
]


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "augment.dst")
    image = test_image(256)
    packed = (image[..., 0].astype(np.int64) * 65536 + image[..., 1].astype(np.int64) * 256 +
              image[..., 2])
    tensors = [("image_rgb24", packed.astype(np.float32))]
    for k, (angle, scale, tx, ty, flip, face, out, sigma, seed) in enumerate(CASES):
        rs = np.random.RandomState(seed)
        noise = rs.normal(size=(2, 5, 5), scale=sigma) if sigma > 0 else np.zeros((2, 5, 5))
        noise = noise.astype(np.float32).astype(np.float64)
        img = image if face == 256 else image[::256 // face, ::256 // face]
        mat, grid, tmat, warped, target = original(img, angle, scale, tx, ty, flip, noise[0],
                                                   noise[1], out)
        name = "case%d." % k
        tensors += [
            (name + "values", np.array([angle, scale, tx, ty, flip, face, out])),
            (name + "noise", noise.reshape(2, 25)),
            (name + "transform", mat),
            (name + "grid", grid),
            (name + "umeyama", tmat),
            (name + "warped", warped),
            (name + "target", target),
        ]
    # A general fit: 51 points turned by 120 degrees, scaled, moved, jittered.
    rs = np.random.RandomState(99)
    src = rs.uniform(0, 200, size=(51, 2)).astype(np.float32).astype(np.float64)
    th = np.deg2rad(120.0)
    rot = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    dst = src @ rot.T * 0.37 + (40.0, -17.0) + rs.normal(size=(51, 2), scale=0.5)
    dst = dst.astype(np.float32).astype(np.float64)
    tensors += [("umeyama.src", src), ("umeyama.dst", dst), ("umeyama.mat", umeyama(src, dst))]
    dstensor.write(out_path, tensors)
    print("wrote %s (%d bytes)" % (out_path, os.path.getsize(out_path)))


if __name__ == "__main__":
    main()
