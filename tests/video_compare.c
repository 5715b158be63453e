/* video_compare SOURCE OUTPUT ALIGNMENTS MARGIN: decodes both videos frame by
 * frame and prints the lowest per-frame PSNR (dB) over the pixels outside
 * every face region, a face region being the bounding box of its 68 landmarks
 * (from the alignments file) grown by MARGIN times its size on every side.
 * "min_psnr=X frames=N", over the output's frames (it may stop early).
 * Convert must leave those pixels alone: the only differences there are the
 * encoder's. Exit 1 when the output has more frames or another size. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine/detect/alignments.h"
#include "engine/media/video.h"

static int in_face(const ds_frame_record *f, int x, int y, double margin) {
  for (int k = 0; f && k < f->face_count; k++) {
    float x0 = 1e9f, y0 = 1e9f, x1 = -1e9f, y1 = -1e9f;
    for (int i = 0; i < DS_FACE_LANDMARKS; i++) {
      x0 = fminf(x0, f->faces[k].landmarks[i][0]), x1 = fmaxf(x1, f->faces[k].landmarks[i][0]);
      y0 = fminf(y0, f->faces[k].landmarks[i][1]), y1 = fmaxf(y1, f->faces[k].landmarks[i][1]);
    }
    const double mx = margin * (x1 - x0), my = margin * (y1 - y0);
    if (x >= x0 - mx && x <= x1 + mx && y >= y0 - my && y <= y1 + my) return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: video_compare SOURCE OUTPUT ALIGNMENTS MARGIN\n");
    return 2;
  }
  ds_error err = {0};
  ds_alignments al;
  ds_video_reader *a = NULL, *b = NULL;
  if (ds_alignments_load(argv[3], &al, &err) != DS_OK ||
      ds_video_open(argv[1], &a, &err) != DS_OK || ds_video_open(argv[2], &b, &err) != DS_OK) {
    fprintf(stderr, "video_compare: %s\n", err.msg);
    return 1;
  }
  const double margin = atof(argv[4]);
  const ds_source_record *src = al.source_count ? &al.sources[0] : NULL;
  ds_image fa = {0}, fb = {0};
  int64_t index = 0;
  long frames = 0;
  double worst = INFINITY;
  int rc = 0;
  for (;;) {
    ds_status sb = ds_video_read(b, &fb, NULL, NULL, &err);
    if (sb != DS_OK) break;
    ds_status sa = ds_video_read(a, &fa, &index, NULL, &err);
    if (sa != sb) {
      fprintf(stderr, "video_compare: the videos have different frame counts (%ld+)\n", frames);
      rc = 1;
      break;
    }
    if (sa != DS_OK) break;
    if (fa.width != fb.width || fa.height != fb.height) {
      fprintf(stderr, "video_compare: frame %ld: %dx%d vs %dx%d\n", frames, fa.width, fa.height,
              fb.width, fb.height);
      rc = 1;
      break;
    }
    const ds_frame_record *f = src ? ds_alignments_frame(src, index) : NULL;
    double se = 0;
    long n = 0;
    for (int y = 0; y < fa.height; y++)
      for (int x = 0; x < fa.width; x++) {
        if (in_face(f, x, y, margin)) continue;
        for (int c = 0; c < 3; c++) {
          const double d = (double)fa.data[((size_t)y * fa.width + x) * 3 + c] -
                           fb.data[((size_t)y * fb.width + x) * 3 + c];
          se += d * d;
        }
        n += 3;
      }
    const double psnr = se > 0 ? 10 * log10(255.0 * 255.0 * (double)n / se) : 99.0;
    if (psnr < worst) worst = psnr;
    frames++;
  }
  printf("min_psnr=%.2f frames=%ld\n", worst, frames);
  ds_image_free(&fa);
  ds_image_free(&fb);
  ds_video_close(a);
  ds_video_close(b);
  ds_alignments_free(&al);
  return rc;
}
