"""Swap quality from dsengine's own outputs, for bench/quality.sh (issue 19).

    /usr/bin/python3 bench/quality_metrics.py SOURCE.mp4 SOURCE_ALIGNMENTS.json OUTPUT.mp4 OUTPUT_ALIGNMENTS.json

SOURCE_ALIGNMENTS is `dsengine extract` of the source clip, OUTPUT_ALIGNMENTS the same run on the
swapped clip (the landmarks re-detected on our output). Prints one JSON object:

- sharpness: mean gradient magnitude (central differences of the grey frame) inside the source
  landmark hull, swapped over source, over the frames with a source face (1.0: as sharp as the
  source; a blurred face is well below 1).
- detected: the share of source-face frames where our detector finds a face in the output.
- landmark_error: mean distance of the re-detected landmarks to the source's, over the inter-ocular
  distance (eye centre to eye centre) of the source, over frames with both.
- mouth_corr: Pearson correlation over frames of the mouth opening (inner lips 61-63 to 65-67,
  over the inter-ocular distance), output against source: the expression kept.
- temporal: mean |frame t - frame t-1| inside the source hull of frame t, swapped over source
  (1.0: the face changes from frame to frame as the source does; above 1: flicker).
- jitter: the same for the second difference, mean |frame t - (frame t-1 + frame t+1) / 2|:
  what changes and changes back between frames (flicker) rather than steady motion, which a face
  that follows the source's movement must show. Swapped over source; above 1: more flicker than
  the source's own noise and motion.
"""
import json
import subprocess
import sys

import numpy as np


def frames(path):
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
         "-of", "json", path], check=True, capture_output=True, text=True)
    s = json.loads(probe.stdout)["streams"][0]
    w, h = s["width"], s["height"]
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "gray", "-"],
                         check=True, capture_output=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w).astype(np.float64)


def landmarks(path):
    """frame index -> 68 x 2 landmarks of the first face (the extracts use --largest)."""
    a = json.load(open(path))
    out = {}
    for src in a["sources"]:
        for f in src["frames"]:
            if f["faces"]:
                out[f["index"]] = np.array(f["faces"][0]["landmarks"], np.float64)
    return out


def hull_mask(pts, h, w):
    """Pixels whose centre is inside the convex hull of pts (monotone chain, then half-planes)."""
    p = sorted(map(tuple, pts))

    def half(seq):
        out = []
        for q in seq:
            while len(out) >= 2 and (out[-1][0] - out[-2][0]) * (q[1] - out[-2][1]) - (out[-1][1] - out[-2][1]) * (q[0] - out[-2][0]) <= 0:
                out.pop()
            out.append(q)
        return out

    hull = half(p)[:-1] + half(p[::-1])[:-1]
    ys, xs = np.mgrid[0:h, 0:w]
    inside = np.ones((h, w), bool)
    for i in range(len(hull)):
        (ax, ay), (bx, by) = hull[i], hull[(i + 1) % len(hull)]
        inside &= (bx - ax) * (ys - ay) - (by - ay) * (xs - ax) >= 0
    return inside


def gradient_magnitude(img):
    gy, gx = np.gradient(img)
    return np.sqrt(gx * gx + gy * gy)


def interocular(lm):
    return np.linalg.norm(lm[36:42].mean(0) - lm[42:48].mean(0))


def mouth_open(lm):
    return np.linalg.norm(lm[61:64].mean(0) - lm[65:68].mean(0)) / interocular(lm)


def main():
    src_video, src_align, out_video, out_align = sys.argv[1:5]
    src, out = frames(src_video), frames(out_video)
    n = min(len(src), len(out))
    src_lm, out_lm = landmarks(src_align), landmarks(out_align)
    sharp_src = sharp_out = 0.0
    temp_src = temp_out = 0.0
    jit_src = jit_out = 0.0
    errors, m_src, m_out, with_face, found = [], [], [], 0, 0
    for i in range(n):
        if i not in src_lm:
            continue
        with_face += 1
        mask = hull_mask(src_lm[i], src.shape[1], src.shape[2])
        sharp_src += gradient_magnitude(src[i])[mask].mean()
        sharp_out += gradient_magnitude(out[i])[mask].mean()
        if i > 0:
            temp_src += np.abs(src[i] - src[i - 1])[mask].mean()
            temp_out += np.abs(out[i] - out[i - 1])[mask].mean()
        if 0 < i < n - 1:
            jit_src += np.abs(src[i] - 0.5 * (src[i - 1] + src[i + 1]))[mask].mean()
            jit_out += np.abs(out[i] - 0.5 * (out[i - 1] + out[i + 1]))[mask].mean()
        if i in out_lm:
            found += 1
            io = interocular(src_lm[i])
            errors.append(np.linalg.norm(out_lm[i] - src_lm[i], axis=1).mean() / io)
            m_src.append(mouth_open(src_lm[i]))
            m_out.append(mouth_open(out_lm[i]))
    corr = float(np.corrcoef(m_src, m_out)[0, 1]) if len(m_src) > 2 else float("nan")
    print(json.dumps({
        "frames": n, "source_faces": with_face,
        "sharpness": sharp_out / sharp_src if sharp_src else float("nan"),
        "detected": found / with_face if with_face else float("nan"),
        "landmark_error": float(np.mean(errors)) if errors else float("nan"),
        "mouth_corr": corr,
        "temporal": temp_out / temp_src if temp_src else float("nan"),
        "jitter": jit_out / jit_src if jit_src else float("nan"),
    }))


if __name__ == "__main__":
    main()
