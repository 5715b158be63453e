/* Colour matching (engine/convert/color.h): the L*a*b* formulas, the
 * kernels against the C reference at odd and edge ROI sizes, and what each
 * method promises (avg: equal masked means; reinhard: equal masked L*a*b*
 * means and deviations; hist: identity on identical images; fewer than 16
 * masked pixels: nothing).
 *
 * Checked by hand against cv2 4.6 (this test needs no Python): the
 * L*a*b* values below are the documented formulas in double (numpy);
 * cv2.cvtColor's table interpolation gives 53.2410 80.0938 67.2031 for
 * red, within 0.41 (see color.h).
 *
 * usage: test_color [--small]   (--small: the ROI sizes Oclgrind can afford) */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "engine/convert/color.h"
#include "host/buffer.h"
#include "host/runtime.h"

static unsigned rng = 11;
static float frand(void) { /* [0, 1) */
  rng = rng * 1664525u + 1013904223u;
  return (float)(rng >> 8) / 16777216.0f;
}

static void names(void) {
  ds_color_kind k;
  CHECK(ds_color_kind_parse("reinhard", &k) && k == DS_COLOR_REINHARD, "parse reinhard");
  CHECK(!ds_color_kind_parse("avg-color", &k) && !ds_color_kind_parse(NULL, &k), "bad names");
  for (int i = DS_COLOR_NONE; i <= DS_COLOR_HIST; i++)
    CHECK(ds_color_kind_parse(ds_color_kind_name((ds_color_kind)i), &k) && k == (ds_color_kind)i,
          "round trip %d", i);
}

static void lab(void) {
  static const double rgb[5][3] = {
      {255, 255, 255}, {255, 0, 0}, {0, 128, 255}, {10, 20, 30}, {200, 150, 100}};
  static const double want[5][3] = {{100.0, 0.0, 0.0},
                                    {53.2406, 80.0942, 67.2015},
                                    {54.7145, 18.7751, -70.9183},
                                    {5.9485, -0.6689, -8.1375},
                                    {65.7601, 12.7607, 33.5622}};
  for (int i = 0; i < 5; i++) {
    double l[3];
    ds_rgb_to_lab(rgb[i], l);
    CHECK(fabs(l[0] - want[i][0]) < 1e-3 && fabs(l[1] - want[i][1]) < 1e-3 &&
              fabs(l[2] - want[i][2]) < 1e-3,
          "Lab of (%g %g %g): %.4f %.4f %.4f", rgb[i][0], rgb[i][1], rgb[i][2], l[0], l[1], l[2]);
  }
  double worst = 0;
  for (int i = 0; i < 20000; i++) {
    double c[3] = {255.0 * frand(), 255.0 * frand(), 255.0 * frand()}, l[3], back[3];
    if (i < 8) c[0] = c[1] = c[2] = (double)i; /* the linear segments near black */
    ds_rgb_to_lab(c, l);
    ds_lab_to_rgb(l, back);
    for (int k = 0; k < 3; k++)
      worst = fmax(worst, fabs(back[k] - c[k]));
  }
  printf("Lab round trip: max %.4f of 255\n", worst);
  CHECK(worst < 0.01, "RGB -> Lab -> RGB moves colours by %.4f", worst);
}

/* face and frame of the same scene in different colour casts; mask a soft
 * disc with about `coverage` of the pixels over 0.5. harsh: the frame is
 * noise of full range instead, so that Reinhard's transfer leaves the gamut
 * and the results clip. */
static void scene(float *face, float *frame, float *mask, int w, int h, float coverage, int harsh) {
  const float tint[3] = {0.8f + 0.3f * frand(), 0.8f + 0.3f * frand(), 0.7f + 0.3f * frand()};
  const float lift[3] = {30 * frand() - 15, 30 * frand() - 15, 30 * frand() - 15};
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      const size_t i = (size_t)y * w + x;
      const float base = 60 + 120 * (float)(x + 2 * y) / (float)(w + 2 * h) + 30 * frand();
      for (int c = 0; c < 3; c++) {
        const float v = base + 25 * (float)c + 20 * frand();
        frame[3 * i + c] = harsh ? 255 * frand() : fminf(255, v);
        face[3 * i + c] = fmaxf(0, fminf(255, tint[c] * v + lift[c] + 10 * frand()));
      }
      const float dx = (x + 0.5f) / w - 0.5f, dy = (y + 0.5f) / h - 0.5f;
      mask[i] = fminf(1, fmaxf(0, 0.5f + (coverage * 0.4f - (dx * dx + dy * dy)) * 20) +
                             0.1f * (frand() - 0.5f));
    }
}

/* masked mean and deviation of channel c, in RGB or L*a*b* */
static void masked_stats(const float *img, const float *mask, int n, int lab, double mean[3],
                         double sd[3]) {
  double s[3] = {0}, ss[3] = {0}, count = 0;
  for (int i = 0; i < n; i++) {
    if (!(mask[i] > 0.5f)) continue;
    double v[3] = {img[3 * i], img[3 * i + 1], img[3 * i + 2]};
    if (lab) ds_rgb_to_lab(v, v);
    for (int c = 0; c < 3; c++)
      s[c] += v[c], ss[c] += v[c] * v[c];
    count++;
  }
  for (int c = 0; c < 3; c++) {
    mean[c] = s[c] / count;
    sd[c] = sqrt(fmax(0, ss[c] / count - mean[c] * mean[c]));
  }
}

static double max_diff(const float *a, const float *b, size_t n) {
  double worst = 0;
  for (size_t i = 0; i < n; i++)
    worst = fmax(worst, fabs((double)a[i] - b[i]));
  return worst;
}

typedef struct bufs {
  cl_mem face, frame, mask;
  size_t most; /* pixels */
} bufs;

/* Runs kind on the device over (face, frame, mask) into out, with ws or
 * (NULL) through ds_color_match. Whole buffers are written: Oclgrind 21.10
 * misreports reads after partial writes. */
static void run_device(ds_runtime *rt, ds_color_workspace *ws, const bufs *b, ds_color_kind kind,
                       const float *face, const float *frame, const float *mask, int w, int h,
                       float *out) {
  ds_error err = {0};
  const size_t n = (size_t)w * h;
  float *pad = calloc(b->most * 3, sizeof *pad);
  memcpy(pad, face, n * 3 * sizeof *pad);
  CHECK_OK(ds_buffer_write(rt, b->face, 0, b->most * 3 * sizeof *pad, pad, &err), &err);
  memcpy(pad, frame, n * 3 * sizeof *pad);
  CHECK_OK(ds_buffer_write(rt, b->frame, 0, b->most * 3 * sizeof *pad, pad, &err), &err);
  memset(pad, 0, b->most * sizeof *pad);
  memcpy(pad, mask, n * sizeof *pad);
  CHECK_OK(ds_buffer_write(rt, b->mask, 0, b->most * sizeof *pad, pad, &err), &err);
  if (ws)
    CHECK_OK(ds_color_match_ws(rt, ws, kind, b->face, b->frame, b->mask, w, h, &err), &err);
  else
    CHECK_OK(ds_color_match(rt, kind, b->face, b->frame, b->mask, w, h, &err), &err);
  CHECK_OK(ds_buffer_read(rt, b->face, 0, n * 3 * sizeof *out, out, &err), &err);
  free(pad);
}

static void device(ds_runtime *rt, int small) {
  static const int sizes[][2] = {{1, 1}, {7, 5}, {33, 65}, {200, 180}};
  const int nsizes = small ? 3 : 4;
  bufs b = {NULL, NULL, NULL, (size_t)sizes[nsizes - 1][0] * sizes[nsizes - 1][1]};
  ds_error err = {0};
  CHECK_OK(
      ds_buffer_create(rt, b.most * 3 * sizeof(float), CL_MEM_READ_WRITE, "face", &b.face, &err),
      &err);
  CHECK_OK(
      ds_buffer_create(rt, b.most * 3 * sizeof(float), CL_MEM_READ_ONLY, "frame", &b.frame, &err),
      &err);
  CHECK_OK(ds_buffer_create(rt, b.most * sizeof(float), CL_MEM_READ_ONLY, "mask", &b.mask, &err),
           &err);
  if (!b.face || !b.frame || !b.mask) return;
  float *face = malloc(b.most * 3 * sizeof *face), *frame = malloc(b.most * 3 * sizeof *frame),
        *mask = malloc(b.most * sizeof *mask), *ref = malloc(b.most * 3 * sizeof *ref),
        *got = malloc(b.most * 3 * sizeof *got);
  ds_color_workspace ws = {0};
  double worst[4] = {0}, promise[3] = {0}; /* avg means; reinhard means, stds */
  for (int s = 0; s < nsizes; s++) {
    const int w = sizes[s][0], h = sizes[s][1], n = w * h;
    for (int run = 0; run < 8; run++) {
      const int kind = run % 4, harsh = run >= 4;
      /* 7 x 5 with every pixel in (35 >= 16); 1 x 1 has too few */
      scene(face, frame, mask, w, h, s == 1 ? 10.0f : 0.6f, harsh);
      memcpy(ref, face, (size_t)n * 3 * sizeof *ref);
      ds_color_match_reference((ds_color_kind)kind, ref, frame, mask, w, h);
      run_device(rt, &ws, &b, (ds_color_kind)kind, face, frame, mask, w, h, got);
      const double d = max_diff(ref, got, (size_t)n * 3);
      worst[kind] = fmax(worst[kind], d);
      CHECK(d <= (kind == DS_COLOR_HIST ? 1.0 : 0.5), "%dx%d %s: device off the reference by %.4f",
            w, h, ds_color_kind_name((ds_color_kind)kind), d);
      int masked = 0;
      for (int i = 0; i < n; i++)
        masked += mask[i] > 0.5f;
      const double moved = max_diff(ref, face, (size_t)n * 3);
      if (masked < DS_COLOR_MIN_PIXELS || kind == DS_COLOR_NONE)
        CHECK(moved == 0 && d == 0, "%dx%d %s with %d masked pixels changed the face", w, h,
              ds_color_kind_name((ds_color_kind)kind), masked);
      else
        CHECK(moved > 1, "%dx%d %s left the face as it was", w, h,
              ds_color_kind_name((ds_color_kind)kind));
      if (masked < DS_COLOR_MIN_PIXELS || kind == DS_COLOR_NONE || kind == DS_COLOR_HIST || harsh)
        continue;
      /* the promise of each method, on the reference and on the device */
      const float *outs[2] = {ref, got};
      for (int o = 0; o < 2; o++) {
        double mf[3], sf[3], mt[3], st[3];
        masked_stats(outs[o], mask, n, kind == DS_COLOR_REINHARD, mf, sf);
        masked_stats(frame, mask, n, kind == DS_COLOR_REINHARD, mt, st);
        double dm = 0, ds = 0;
        for (int c = 0; c < 3; c++)
          dm = fmax(dm, fabs(mf[c] - mt[c])), ds = fmax(ds, fabs(sf[c] - st[c]));
        if (kind == DS_COLOR_AVG)
          promise[0] = fmax(promise[0], dm);
        else
          promise[1] = fmax(promise[1], dm), promise[2] = fmax(promise[2], ds);
        if (kind == DS_COLOR_AVG)
          CHECK(dm < 1e-3, "%dx%d avg (%s): masked means differ by %.2g", w, h,
                o ? "device" : "reference", dm);
        else
          CHECK(dm < 0.05 && ds < 0.05, "%dx%d reinhard (%s): Lab means off by %.3g, stds by %.3g",
                w, h, o ? "device" : "reference", dm, ds);
      }
    }
    /* hist on identical images (float values, not levels) gives them back */
    scene(face, frame, mask, w, h, 0.6f, 0);
    memcpy(ref, face, (size_t)n * 3 * sizeof *ref);
    ds_color_match_reference(DS_COLOR_HIST, ref, face, mask, w, h);
    run_device(rt, &ws, &b, DS_COLOR_HIST, face, face, mask, w, h, got);
    CHECK(max_diff(ref, face, (size_t)n * 3) == 0 && max_diff(got, face, (size_t)n * 3) == 0,
          "%dx%d hist of identical images is not the identity", w, h);
  }
  printf("device vs reference, max |diff| of 255: avg %.2g reinhard %.2g hist %.2g\n",
         worst[DS_COLOR_AVG], worst[DS_COLOR_REINHARD], worst[DS_COLOR_HIST]);
  printf("masked statistics after matching, off the frame's by: avg means %.2g; reinhard "
         "L*a*b* means %.2g, stds %.2g\n",
         promise[0], promise[1], promise[2]);

  /* 15 masked pixels: too few; one more: matched */
  const int w = 33, h = 65, n = w * h;
  scene(face, frame, mask, w, h, 0.6f, 0);
  for (int i = 0; i < n; i++)
    mask[i] = i % 97 == 3 && i / 97 < 15 ? 0.75f : 0.25f;
  run_device(rt, &ws, &b, DS_COLOR_AVG, face, frame, mask, w, h, got);
  CHECK(max_diff(got, face, (size_t)n * 3) == 0, "15 masked pixels changed the face");
  mask[3 + 97 * 15] = 1;
  run_device(rt, &ws, &b, DS_COLOR_AVG, face, frame, mask, w, h, got);
  CHECK(max_diff(got, face, (size_t)n * 3) > 0, "16 masked pixels left the face");

  CHECK(ds_color_match_ws(rt, &ws, DS_COLOR_AVG, b.face, b.frame, b.mask, 0, 3, &err) ==
            DS_ERR_INVALID,
        "an empty region is refused");
  CHECK(ds_color_match_ws(rt, &ws, (ds_color_kind)9, b.face, b.frame, b.mask, 3, 3, &err) ==
            DS_ERR_INVALID,
        "an unknown kind is refused");
  ds_error_clear(&err);
  ds_color_workspace_release(&ws);
  /* the one-call form, last: it creates and releases buffers of its own */
  scene(face, frame, mask, w, h, 0.6f, 0);
  memcpy(ref, face, (size_t)n * 3 * sizeof *ref);
  ds_color_match_reference(DS_COLOR_HIST, ref, frame, mask, w, h);
  run_device(rt, NULL, &b, DS_COLOR_HIST, face, frame, mask, w, h, got);
  CHECK(max_diff(ref, got, (size_t)n * 3) <= 1.0, "ds_color_match differs from the reference");
  ds_buffer_release(&b.face);
  ds_buffer_release(&b.frame);
  ds_buffer_release(&b.mask);
  free(face), free(frame), free(mask), free(ref), free(got);
}

int main(int argc, char **argv) {
  const int small = argc > 1 && strcmp(argv[1], "--small") == 0;
  names();
  lab();
  ds_error err = {0};
  ds_runtime *rt = NULL;
  CHECK_OK(ds_runtime_open(&rt, getenv("DSENGINE_DEVICE"), "DSENGINE_DEVICE", 0, &err), &err);
  if (rt) device(rt, small);
  ds_runtime_destroy(rt);
  return check_summary("color");
}
