/* The HOG detector's device path (engine/detect/fhog_cl.c, hog_scan_cl.c, hog_detect_cl.c,
 * cl/detect/) against the host reference.
 *
 *   test_hog_cl MODEL [IMAGE...]
 *
 * Pyramid resizes (grey and RGB, down by 5/6, up by 2, odd sizes) against
 * ds_hog_resize_bilinear, fHOG of random grey and RGB images of odd sizes, dense and in padded
 * layouts, against ds_fhog_reference (max |diff| <= 1e-5, printed; padding
 * 0; a guard element past the end stays untouched), the same for batches of
 * images in one buffer (ds_fhog_levels), filter responses
 * against ds_hog_scores_reference (separable and full bank, |diff| <= 1e-5
 * * (1 + |score|)), and, for each
 * IMAGE (any still ds_video_open decodes), ds_hog_detect_cl against
 * ds_hog_detect at upsample 0 and 1: the same number of faces, each with IoU
 * >= 0.99 and a score within 1e-4. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "engine/detect/fhog.h"
#include "engine/detect/fhog_cl.h"
#include "engine/detect/hog_detector.h"
#include "engine/detect/hog_scan_cl.h"
#include "engine/detect/pyramid_cl.h"
#include "engine/media/image.h"
#include "engine/media/video.h"
#include "host/buffer.h"

static const float guard = 1234.5f;

static uint32_t rng = 12345;
static uint8_t rnd8(void) {
  rng = rng * 1664525u + 1013904223u;
  return (uint8_t)(rng >> 24);
}

/* Smooth random image: blocks of random grey plus noise, so gradients vary. */
static void fill(uint8_t *img, int w, int h, int ch) {
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < ch; c++) {
        const int base = ((x / 7 + y / 5 + c) % 3) * 80;
        img[((size_t)y * w + x) * ch + c] = (uint8_t)(base + (rnd8() % 48));
      }
}

/* Copies a h-row image (row_bytes each) into a buffer of offset + pitch *
 * h bytes whose other bytes hold 0xA5; returns it (caller frees). */
static uint8_t *pitched(const uint8_t *img, size_t row_bytes, int h, size_t offset, size_t pitch) {
  uint8_t *p = malloc(offset + pitch * h);
  memset(p, 0xA5, offset + pitch * h);
  for (int y = 0; y < h; y++)
    memcpy(p + offset + pitch * y, img + row_bytes * y, row_bytes);
  return p;
}

/* Device fHOG in a padded layout (pad_extra rows and columns beyond the
 * level; 0: dense) against the reference: the level equal within 1e-5, the
 * padding 0, a guard element past the end untouched. */
static double fhog_case(ds_runtime *rt, ds_fhog_workspace *ws, int w, int h, int ch, int cell,
                        int pr, int pc, int pad_extra, int padded_image) {
  ds_error err = {0};
  int rows, cols;
  ds_fhog_size(w, h, cell, pr, pc, &rows, &cols);
  const int pitch = cols + pad_extra, plane_rows = rows + pad_extra;
  const size_t n = (size_t)DS_FHOG_PLANES * rows * cols;
  const size_t np = (size_t)DS_FHOG_PLANES * plane_rows * pitch;
  uint8_t *img = malloc((size_t)w * h * ch);
  float *ref = malloc((n + 1) * sizeof *ref), *dev = malloc((np + 1) * sizeof *dev);
  fill(img, w, h, ch);
  CHECK_OK(ds_fhog_reference(img, w, h, ch, cell, pr, pc, ref, &err), &err);
  for (size_t i = 0; i < np + 1; i++)
    dev[i] = guard;
  cl_mem dimg = NULL, dhog = NULL;
  double worst = 0;
  int pad_nonzero = 0;
  /* the image dense, or in the detector's padded rows (margins of 0xA5) */
  const size_t img_off = padded_image ? DS_FHOG_MARGIN : 0;
  const size_t img_pitch = padded_image ? ds_fhog_padded_pitch(w, ch) : (size_t)w * ch;
  uint8_t *up = pitched(img, (size_t)w * ch, h, img_off, img_pitch);
  const size_t img_n = img_off + img_pitch * h;
  CHECK_OK(ds_buffer_create(rt, img_n, CL_MEM_READ_ONLY, "image", &dimg, &err), &err);
  CHECK_OK(ds_buffer_create(rt, (np + 1) * sizeof(float), CL_MEM_READ_WRITE, "hog", &dhog, &err),
           &err);
  CHECK_OK(ds_buffer_write(rt, dimg, 0, img_n, up, &err), &err);
  free(up);
  const ds_fhog_image im = {dimg, img_off, img_pitch};
  CHECK_OK(ds_buffer_write(rt, dhog, 0, (np + 1) * sizeof(float), dev, &err), &err);
  CHECK_OK(ds_fhog(rt, ws, im, w, h, ch, cell, pr, pc, pitch, plane_rows, dhog, &err), &err);
  CHECK_OK(ds_buffer_read(rt, dhog, 0, (np + 1) * sizeof(float), dev, &err), &err);
  for (int o = 0; o < DS_FHOG_PLANES; o++)
    for (int r = 0; r < plane_rows; r++)
      for (int c = 0; c < pitch; c++) {
        const float v = dev[((size_t)o * plane_rows + r) * pitch + c];
        if (r >= rows || c >= cols) {
          pad_nonzero += v != 0;
          continue;
        }
        const double dd = fabs((double)v - ref[((size_t)o * rows + r) * cols + c]);
        if (!(dd <= worst)) worst = dd;
      }
  CHECK(worst <= 1e-5, "fhog %dx%d ch %d cell %d pad %dx%d: max |diff| %g", w, h, ch, cell, pr, pc,
        worst);
  CHECK(pad_nonzero == 0, "fhog %dx%d: %d layout padding values not 0", w, h, pad_nonzero);
  CHECK(dev[np] == guard, "fhog %dx%d: wrote past the end", w, h);
  printf("fhog %4dx%-4d ch %d cell %d pad %2dx%-2d -> %3dx%-3d in %3dx%-3d%s max |diff| %g\n", w, h,
         ch, cell, pr, pc, rows, cols, plane_rows, pitch, padded_image ? ", padded image" : "",
         worst);
  ds_buffer_release(&dimg);
  ds_buffer_release(&dhog);
  free(img);
  free(ref);
  free(dev);
  return worst;
}

/* ds_fhog_levels: n images in one buffer (padded or dense rows), in
 * batches (batch[i]), each batch's features from the start of one buffer;
 * every image against the reference within 1e-5, the padding 0. */
static void fhog_batch_case(ds_runtime *rt, ds_fhog_workspace *ws, int ch, int cell, int pr, int pc,
                            int n, const int (*sizes)[2], const int *batch, const int *padded) {
  ds_error err = {0};
  ds_fhog_level lv[8];
  uint8_t *img[8];
  size_t img_end = 0, hog_end = 0, hog_at = 0;
  for (int i = 0; i < n; i++) {
    const int w = sizes[i][0], h = sizes[i][1];
    int rows, cols;
    ds_fhog_size(w, h, cell, pr, pc, &rows, &cols);
    if (i > 0 && batch[i] != batch[i - 1]) hog_at = 0;
    const size_t off = img_end + (padded[i] ? DS_FHOG_MARGIN : 0);
    const size_t pitch = padded[i] ? ds_fhog_padded_pitch(w, ch) : (size_t)w * ch;
    lv[i] = (ds_fhog_level){{NULL, off, pitch}, w, h, cols + i, rows + 1, hog_at, batch[i]};
    img_end = (off + pitch * h + 15) / 16 * 16;
    hog_at += (size_t)DS_FHOG_PLANES * lv[i].plane_rows * lv[i].pitch;
    if (hog_at > hog_end) hog_end = hog_at;
    img[i] = malloc((size_t)w * h * ch);
    fill(img[i], w, h, ch);
  }
  uint8_t *all = malloc(img_end);
  memset(all, 0xA5, img_end);
  for (int i = 0; i < n; i++)
    for (int y = 0; y < lv[i].height; y++)
      memcpy(all + lv[i].img.offset + lv[i].img.pitch * y, img[i] + (size_t)lv[i].width * ch * y,
             (size_t)lv[i].width * ch);
  cl_mem dimg = NULL, dhog = NULL;
  CHECK_OK(ds_buffer_create(rt, img_end, CL_MEM_READ_ONLY, "images", &dimg, &err), &err);
  CHECK_OK(ds_buffer_write(rt, dimg, 0, img_end, all, &err), &err);
  CHECK_OK(ds_buffer_create(rt, hog_end * sizeof(float), CL_MEM_READ_WRITE, "hog", &dhog, &err),
           &err);
  for (int i = 0; i < n; i++)
    lv[i].img.mem = dimg;
  float *dev = malloc(hog_end * sizeof *dev);
  double worst = 0;
  int pad_nonzero = 0;
  for (int b = batch[0]; b <= batch[n - 1]; b++) {
    CHECK_OK(ds_fhog_levels(rt, ws, lv, n, b, ch, cell, pr, pc, dhog, &err), &err);
    CHECK_OK(ds_buffer_read(rt, dhog, 0, hog_end * sizeof(float), dev, &err), &err);
    for (int i = 0; i < n; i++) {
      if (batch[i] != b) continue;
      int rows, cols;
      ds_fhog_size(lv[i].width, lv[i].height, cell, pr, pc, &rows, &cols);
      float *ref = malloc(((size_t)DS_FHOG_PLANES * rows * cols + 1) * sizeof *ref);
      CHECK_OK(ds_fhog_reference(img[i], lv[i].width, lv[i].height, ch, cell, pr, pc, ref, &err),
               &err);
      const float *f = dev + lv[i].hog_offset;
      for (int o = 0; o < DS_FHOG_PLANES; o++)
        for (int r = 0; r < lv[i].plane_rows; r++)
          for (int c = 0; c < lv[i].pitch; c++) {
            const float v = f[((size_t)o * lv[i].plane_rows + r) * lv[i].pitch + c];
            if (r >= rows || c >= cols) {
              pad_nonzero += v != 0;
              continue;
            }
            const double dd = fabs((double)v - ref[((size_t)o * rows + r) * cols + c]);
            if (!(dd <= worst)) worst = dd;
          }
      free(ref);
    }
  }
  CHECK(worst <= 1e-5, "fhog batch of %d (ch %d cell %d): max |diff| %g", n, ch, cell, worst);
  CHECK(pad_nonzero == 0, "fhog batch of %d: %d layout padding values not 0", n, pad_nonzero);
  printf("fhog batch of %d images, ch %d cell %d, %d batches: max |diff| %g\n", n, ch, cell,
         batch[n - 1] - batch[0] + 1, worst);
  ds_buffer_release(&dimg);
  ds_buffer_release(&dhog);
  for (int i = 0; i < n; i++)
    free(img[i]);
  free(all);
  free(dev);
}

/* Device resizes (engine/detect/pyramid_cl.h) against
 * ds_hog_resize_bilinear: every pixel equal where the device has doubles
 * (the C code's scalar tail computes in double), else within 1. padded: both
 * images with margins and pitches (the bytes outside the image stay as they
 * were). */
static void resize_case(ds_runtime *rt, ds_resize_plan *plan, int w, int h, int ch, int ow, int oh,
                        int padded) {
  ds_error err = {0};
  const size_t in_row = (size_t)w * ch, out_row = (size_t)ow * ch;
  const size_t in_off = padded ? 16 : 0, out_off = padded ? 32 : 0;
  const size_t in_pitch = in_row + (padded ? 40 : 0), out_pitch = out_row + (padded ? 24 : 0);
  const size_t in_n = in_off + in_pitch * h, out_n = out_off + out_pitch * oh;
  uint8_t *img = calloc(in_row * h, 1), *ref = calloc(out_row * oh, 1), *dev = malloc(out_n);
  fill(img, w, h, ch);
  ds_hog_resize_bilinear(img, w, h, ch, ref, ow, oh);
  uint8_t *in = pitched(img, in_row, h, in_off, in_pitch);
  uint8_t *out_init = pitched(ref, out_row, oh, out_off, out_pitch);
  for (int y = 0; y < oh; y++)
    memset(out_init + out_off + out_pitch * y, 0, out_row); /* the image area: unwritten */
  ds_resize_plan_clear(plan);
  ds_resize_step step;
  cl_mem din = NULL, dout = NULL;
  CHECK_OK(ds_resize_plan_add(plan, w, h, ow, oh, &step, &err), &err);
  CHECK_OK(ds_buffer_create(rt, in_n, CL_MEM_READ_ONLY, "image", &din, &err), &err);
  CHECK_OK(ds_buffer_create(rt, out_n, CL_MEM_READ_WRITE, "resized", &dout, &err), &err);
  CHECK_OK(ds_buffer_write(rt, din, 0, in_n, in, &err), &err);
  CHECK_OK(ds_buffer_write(rt, dout, 0, out_n, out_init, &err), &err);
  CHECK_OK(ds_resize_plan_upload(rt, plan, &err), &err);
  const ds_fhog_image src = {din, in_off, in_pitch}, dst = {dout, out_off, out_pitch};
  CHECK_OK(ds_resize_cl(rt, plan, &step, ch, src, dst, &err), &err);
  CHECK_OK(ds_buffer_read(rt, dout, 0, out_n, dev, &err), &err);
  int worst = 0;
  size_t differ = 0, outside = 0;
  for (size_t i = 0; i < out_n; i++) {
    const size_t y = i >= out_off ? (i - out_off) / out_pitch : 0;
    const size_t x = i >= out_off ? (i - out_off) % out_pitch : out_pitch;
    if (i < out_off || x >= out_row || y >= (size_t)oh) {
      outside += dev[i] != 0xA5;
      continue;
    }
    const int dd = abs((int)dev[i] - (int)ref[y * out_row + x]);
    differ += dd != 0;
    if (dd > worst) worst = dd;
  }
  const int exact = rt->device.fp64;
  CHECK(exact ? differ == 0 : worst <= 1, "resize %dx%d ch %d -> %dx%d: %zu values differ, by %d",
        w, h, ch, ow, oh, differ, worst);
  CHECK(outside == 0, "resize %dx%d -> %dx%d: %zu bytes outside the image written", w, h, ow, oh,
        outside);
  printf("resize %4dx%-4d ch %d -> %4dx%-4d (%d float columns)%s: %zu of %zu values differ\n", w, h,
         ch, ow, oh, step.simd_cols, padded ? ", pitched" : "", differ, out_row * oh);
  ds_buffer_release(&din);
  ds_buffer_release(&dout);
  free(img);
  free(ref);
  free(in);
  free(out_init);
  free(dev);
}

/* Device scores of a reference fHOG level, put in ds_hog_feature_layout and
 * written at an offset into the scores buffer, against
 * ds_hog_scores_reference: |diff| <= 1e-5 * (1 + |score|), guards before
 * and after untouched. */
static void scores_case(ds_runtime *rt, ds_hog_cl_workspace *ws, ds_hog_detector *d, int w, int h,
                        int separable) {
  ds_error err = {0};
  ds_hog_detector_set_separable(d, separable);
  int rows, cols, orow, ocol, pitch, plane_rows;
  ds_fhog_size(w, h, 8, 10, 10, &rows, &cols);
  ds_hog_scores_size(d, rows, cols, &orow, &ocol);
  ds_hog_feature_layout(d, rows, cols, &pitch, &plane_rows);
  const size_t nh = (size_t)DS_FHOG_PLANES * rows * cols;
  const size_t np = (size_t)DS_FHOG_PLANES * plane_rows * pitch;
  const size_t ns = (size_t)ds_hog_detector_num_filters(d) * orow * ocol, at = 3;
  uint8_t *img = malloc((size_t)w * h);
  float *hog = malloc(nh * sizeof *hog), *padded = calloc(np, sizeof *padded),
        *ref = malloc(ns * sizeof *ref), *dev = malloc((at + ns + 1) * sizeof *dev);
  fill(img, w, h, 1);
  CHECK_OK(ds_fhog_reference(img, w, h, 1, 8, 10, 10, hog, &err), &err);
  for (int o = 0; o < DS_FHOG_PLANES; o++)
    for (int r = 0; r < rows; r++)
      memcpy(padded + ((size_t)o * plane_rows + r) * pitch, hog + ((size_t)o * rows + r) * cols,
             (size_t)cols * sizeof *hog);
  ds_hog_scores_reference(d, hog, rows, cols, ref);
  for (size_t i = 0; i < at + ns + 1; i++)
    dev[i] = guard;
  cl_mem dhog = NULL, dsal = NULL;
  CHECK_OK(ds_buffer_create(rt, np * sizeof(float), CL_MEM_READ_ONLY, "hog", &dhog, &err), &err);
  CHECK_OK(
      ds_buffer_create(rt, (at + ns + 1) * sizeof(float), CL_MEM_READ_WRITE, "sal", &dsal, &err),
      &err);
  CHECK_OK(ds_buffer_write(rt, dhog, 0, np * sizeof(float), padded, &err), &err);
  CHECK_OK(ds_buffer_write(rt, dsal, 0, (at + ns + 1) * sizeof(float), dev, &err), &err);
  CHECK_OK(ds_hog_scores(rt, ws, d, dhog, rows, cols, dsal, at, &err), &err);
  CHECK_OK(ds_buffer_read(rt, dsal, 0, (at + ns + 1) * sizeof(float), dev, &err), &err);
  double worst = 0;
  for (size_t i = 0; i < ns; i++) {
    const double dd = fabs((double)dev[at + i] - ref[i]) / (1 + fabs(ref[i]));
    if (!(dd <= worst)) worst = dd;
  }
  CHECK(worst <= 1e-5, "scores %dx%d separable %d: max rel diff %g", w, h, separable, worst);
  CHECK(dev[0] == guard && dev[at - 1] == guard && dev[at + ns] == guard,
        "scores: wrote outside its range");
  printf("scores %dx%d (%dx%d windows, layout %dx%d) separable %d: max |diff| / (1 + |s|) %g\n", w,
         h, orow, ocol, plane_rows, pitch, separable, worst);
  ds_buffer_release(&dhog);
  ds_buffer_release(&dsal);
  free(img);
  free(hog);
  free(padded);
  free(ref);
  free(dev);
  ds_hog_detector_set_separable(d, 1);
}

static double iou(const ds_detection *a, const ds_detection *b) {
  const double l = fmax(a->left, b->left), t = fmax(a->top, b->top);
  const double r = fmin(a->right, b->right), bo = fmin(a->bottom, b->bottom);
  const double inter = (r >= l && bo >= t) ? (r - l + 1) * (bo - t + 1) : 0;
  const double aa = (a->right - a->left + 1) * (a->bottom - a->top + 1);
  const double ab = (b->right - b->left + 1) * (b->bottom - b->top + 1);
  return inter / (aa + ab - inter);
}

static void detect_case(ds_runtime *rt, ds_hog_cl_workspace *ws, ds_hog_detector *d,
                        const char *path) {
  ds_error err = {0};
  ds_video_reader *v = NULL;
  ds_image frame = {0};
  CHECK_OK(ds_video_open(path, &v, &err), &err);
  if (!v) return;
  CHECK_OK(ds_video_read(v, &frame, NULL, NULL, &err), &err);
  ds_video_close(v);
  if (!frame.data) return;
  /* grey at upsample 0 and 1, then dlib's colour gradient at 0 */
  for (int run = 0; run < 3; run++) {
    const int up = run == 1, color = run == 2;
    ds_hog_detector_set_color(d, color);
    ds_detection *a = NULL, *b = NULL;
    int na = 0, nb = 0;
    CHECK_OK(ds_hog_detect(d, frame.data, frame.width, frame.height, 3, up, 0.0, &a, &na, &err),
             &err);
    CHECK_OK(
        ds_hog_detect_cl(rt, d, frame.data, frame.width, frame.height, 3, up, 0.0, &b, &nb, &err),
        &err);
    /* again with device buffers kept between calls: the same boxes */
    ds_detection *c = NULL;
    int nc = 0;
    CHECK_OK(ds_hog_detect_cl_ws(rt, ws, d, frame.data, frame.width, frame.height, 3, up, 0.0, &c,
                                 &nc, &err),
             &err);
    int same = nc == nb;
    for (int i = 0; same && i < nc; i++)
      same = b[i].left == c[i].left && b[i].top == c[i].top && b[i].right == c[i].right &&
             b[i].bottom == c[i].bottom && b[i].score == c[i].score &&
             b[i].weight_index == c[i].weight_index;
    CHECK(same, "%s upsample %d colour %d: a kept workspace changes the result", path, up, color);
    free(c);
    CHECK(na == nb, "%s upsample %d colour %d: %d faces on the host, %d on the device", path, up,
          color, na, nb);
    double worst_iou = 1, worst_score = 0;
    for (int i = 0; i < na && i < nb; i++) {
      const double o = iou(&a[i], &b[i]), s = fabs(a[i].score - b[i].score);
      if (o < worst_iou) worst_iou = o;
      if (s > worst_score) worst_score = s;
      CHECK(o >= 0.99 && s <= 1e-4 && a[i].weight_index == b[i].weight_index,
            "%s upsample %d colour %d face %d: IoU %g, scores %g / %g", path, up, color, i, o,
            a[i].score, b[i].score);
    }
    printf("detect %s %dx%d upsample %d colour %d: %d faces (host %d), min IoU %g, max |score "
           "diff| %g\n",
           path, frame.width, frame.height, up, color, nb, na, worst_iou, worst_score);
    free(a);
    free(b);
  }
  ds_hog_detector_set_color(d, 0);
  ds_image_free(&frame);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: test_hog_cl MODEL [IMAGE...]\n");
    return 2;
  }
  ds_error err = {0};
  ds_runtime *rt = NULL;
  CHECK_OK(ds_runtime_open(&rt, getenv("DSENGINE_DEVICE"), "DSENGINE_DEVICE", 0, &err), &err);
  if (!rt) return check_summary("hog_cl");
  ds_fhog_workspace fws = {0};
  /* The largest cases first: the workspace then never grows (Oclgrind 21.10
   * reports false uninitialised reads in buffers created after a release). */
  {
    static const int big[3][2] = {{211, 233}, {97, 83}, {64, 50}};
    static const int batch[3] = {0, 1, 1}, padded[3] = {0, 1, 0};
    fhog_batch_case(rt, &fws, 3, 4, 7, 6, 3, big, batch, padded);
  }
  fhog_case(rt, &fws, 211, 233, 3, 4, 7, 6, 0, 0);
  {
    static const int grey[3][2] = {
        {120, 100}, {100, 83}, {83, 69}}; /* within the first's scratch */
    static const int batch[3] = {4, 4, 4}, padded[3] = {1, 1, 0};
    fhog_batch_case(rt, &fws, 1, 8, 10, 10, 3, grey, batch, padded);
    static const int odd[3][2] = {{131, 67}, {89, 71}, {30, 20}};
    static const int batch2[3] = {0, 1, 2}, padded2[3] = {1, 0, 1};
    fhog_batch_case(rt, &fws, 1, 6, 3, 4, 3, odd, batch2, padded2);
  }
  static const int sizes[][2] = {{17, 23}, {24, 24}, {37, 29}, {61, 45}, {101, 77}, {203, 151}};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    fhog_case(rt, &fws, sizes[i][0], sizes[i][1], 1, 8, 10, 10, (int)i % 2 * 7, (int)i % 2);
    fhog_case(rt, &fws, sizes[i][1], sizes[i][0], 1, 8, 1, 1, 0, 0);
  }
  fhog_case(rt, &fws, 97, 83, 3, 8, 10, 10, 5, 1);
  fhog_case(rt, &fws, 131, 67, 1, 4, 3, 4, 0, 1);
  fhog_case(rt, &fws, 75, 53, 3, 4, 2, 5, 3, 0);
  fhog_case(rt, &fws, 517, 61, 1, 8, 10, 10, 0, 1); /* fhog_gradient8's word loads */
  fhog_case(rt, &fws, 517, 61, 1, 8, 10, 10, 0, 0); /* and its bounds-checked ones */
  fhog_case(rt, &fws, 89, 71, 1, 6, 5, 5, 2, 0);    /* cell sizes that are not powers of two */
  fhog_case(rt, &fws, 64, 50, 3, 3, 4, 4, 0, 1);
  ds_fhog_workspace_release(&fws);

  ds_resize_plan plan = {0};
  static const int resizes[][2] = {{211, 157}, {97, 83}, {17, 9}, {5, 4}};
  for (size_t i = 0; i < sizeof resizes / sizeof resizes[0]; i++)
    for (int ch = 1; ch <= 3; ch += 2) {
      const int w = resizes[i][0], h = resizes[i][1];
      int dw, dh, uw, uh;
      ds_hog_pyramid_down6_size(w, h, &dw, &dh);
      ds_hog_pyramid_up2_size(w, h, &uw, &uh);
      resize_case(rt, &plan, w, h, ch, dw, dh, (int)i % 2);
      resize_case(rt, &plan, w, h, ch, uw, uh, 0);
    }
  resize_case(rt, &plan, 300, 200, 1, 1, 1, 1);
  resize_case(rt, &plan, 31, 29, 3, 123, 7, 1);
  ds_resize_plan_free(&plan);

  ds_hog_detector *d = NULL;
  CHECK_OK(ds_hog_detector_load(argv[1], &d, &err), &err);
  if (d) {
    ds_hog_cl_workspace ws;
    memset(&ws, 0, sizeof ws);
    scores_case(rt, &ws, d, 163, 121, 1); /* largest first, as above */
    scores_case(rt, &ws, d, 97, 101, 1);
    scores_case(rt, &ws, d, 97, 101, 0);
    ds_hog_cl_workspace_release(&ws);
    memset(&ws, 0, sizeof ws);
    for (int i = 2; i < argc; i++)
      detect_case(rt, &ws, d, argv[i]);
    ds_hog_cl_workspace_release(&ws);
    ds_hog_detector_free(d);
  }
  ds_runtime_destroy(rt);
  return check_summary("hog_cl");
}
