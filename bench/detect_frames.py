"""Frames for bench/detect.sh: from each clip, frames at 1/4 and 3/4 of its length,
each put on a grey canvas of 480x480, 1280x720 and 1920x1080 (scaled to the canvas
height, centred), written as OUT/<size>_<clip>_<k>.png.

usage: detect_frames.py OUT CLIP...
"""
import os
import sys

import cv2
import numpy as np

SIZES = [(480, 480), (1280, 720), (1920, 1080)]


def main():
    out, clips = sys.argv[1], sys.argv[2:]
    os.makedirs(out, exist_ok=True)
    for clip in clips:
        cap = cv2.VideoCapture(clip)
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        stem = os.path.splitext(os.path.basename(clip))[0]
        for k, at in enumerate((n // 4, 3 * n // 4)):
            cap.set(cv2.CAP_PROP_POS_FRAMES, at)
            ok, frame = cap.read()
            if not ok:
                continue
            for w, h in SIZES:
                fh, fw = frame.shape[:2]
                scale = min(h / fh, w / fw)
                img = cv2.resize(frame, (round(fw * scale), round(fh * scale)), interpolation=cv2.INTER_AREA)
                canvas = np.full((h, w, 3), 128, np.uint8)
                y, x = (h - img.shape[0]) // 2, (w - img.shape[1]) // 2
                canvas[y:y + img.shape[0], x:x + img.shape[1]] = img
                cv2.imwrite(os.path.join(out, f"{w}x{h}_{stem}_{k}.png"), canvas)


if __name__ == "__main__":
    main()
