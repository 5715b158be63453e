/* Face-area loss weights (engine/train/face_mask.c, cl/image/face_mask.cl):
 *  - the weight map drawn from landmarks: background outside the hull, 1
 *    inside, the eye and mouth multipliers over their regions;
 *  - the weights move exactly as the face does: a face whose three channels
 *    hold a weight pattern, augmented by ds_augment_batch, gives a target
 *    whose first channel equals the weights ds_face_masks_augment makes with
 *    the same parameters (warp, transform, flip), on odd sizes, with a
 *    guard element past the end;
 *  - the weighted loss on the device against its C reference;
 *  - ds_face_masks_load: landmarks from alignments.json mapped by the matrix,
 *    and the errors of a missing file and an unlisted face.
 * usage: test_face_mask SCRATCH_DIR */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "check.h"
#include "engine/detect/alignments.h"
#include "engine/media/png.h"
#include "engine/nn/loss_set.h"
#include "engine/train/face_mask.h"
#include "host/buffer.h"
#include "nn_util.h"

#define PI_F 3.14159265f

static ds_runtime *rt;
static ds_error err;

/* a face-like set of 68 landmarks in a size x size face */
static void landmarks(int size, float lm[68][2]) {
  const float c = 0.5f * (float)size, r = 0.38f * (float)size;
  for (int i = 0; i < 17; i++) { /* jaw: the lower half of a circle */
    const float a = PI_F * (float)i / 16.0f;
    lm[i][0] = c - r * cosf(a), lm[i][1] = c + r * sinf(a) * 0.9f;
  }
  for (int i = 17; i < 27; i++) /* brows */
    lm[i][0] = c - r + 2 * r * (float)(i - 17) / 9.0f, lm[i][1] = c - 0.55f * r;
  for (int i = 27; i < 36; i++) /* nose */
    lm[i][0] = c + 0.05f * r * (float)(i - 31),
    lm[i][1] = c - 0.3f * r + 0.06f * r * (float)(i - 27);
  for (int e = 0; e < 2; e++) /* eyes: 6 points on an ellipse each */
    for (int i = 0; i < 6; i++) {
      const float a = 2.0f * PI_F * (float)i / 6.0f, ex = c + (e ? 0.45f : -0.45f) * r;
      lm[36 + 6 * e + i][0] = ex + 0.18f * r * cosf(a);
      lm[36 + 6 * e + i][1] = c - 0.3f * r + 0.08f * r * sinf(a);
    }
  for (int i = 48; i < 68; i++) { /* mouth: an ellipse */
    const float a = 2.0f * PI_F * (float)(i - 48) / (i < 60 ? 12.0f : 8.0f);
    const float k = i < 60 ? 1.0f : 0.6f;
    lm[i][0] = c + k * 0.35f * r * cosf(a), lm[i][1] = c + 0.5f * r + k * 0.12f * r * sinf(a);
  }
}

static void test_draw(void) {
  const int S = 64;
  float lm[68][2], *map = malloc(S * S * sizeof *map);
  landmarks(S, lm);
  const ds_face_weights w = {.background = 0.25f, .eyes = 3.0f, .mouth = 2.0f};
  ds_face_weights_draw((const float(*)[2])lm, S, &w, map);
  CHECK(map[0] == 0.25f && map[S * S - 1] == 0.25f, "corners are background");
  const int c = S / 2, ex = (int)lrintf(c - 0.45f * 0.38f * S);
  CHECK(map[(c + 2) * S + c - 6] == 1.0f, "the cheek weighs 1: %g",
        (double)map[(c + 2) * S + c - 6]);
  const int ey = (int)lrintf(c - 0.3f * 0.38f * S);
  CHECK(map[ey * S + ex] == 3.0f, "an eye weighs 3: %g", (double)map[ey * S + ex]);
  CHECK(map[ey * S + S - 1 - ex] == 3.0f, "the other eye weighs 3");
  const int my = (int)lrintf(c + 0.5f * 0.38f * S);
  CHECK(map[my * S + c] == 2.0f, "the mouth weighs 2: %g", (double)map[my * S + c]);
  CHECK(ds_face_weights_max(&w) == 3.0f, "max weight");
  free(map);
}

/* the weights follow the face through ds_augment_batch's parameters */
static void test_moves_with_face(int face, int out, int n) {
  const size_t plane = (size_t)face * face, outp = (size_t)out * out;
  uint8_t *levels = malloc(2 * plane), *rgb = malloc(2 * plane * 3);
  for (size_t i = 0; i < 2 * plane; i++) { /* blocks of random levels: edges everywhere */
    const size_t f = i / plane, y = i % plane / face, x = i % face;
    levels[i] = (uint8_t)((f * 97 + (y / 5) * 31 + (x / 3) * 57 + (x * y) % 13) % 256);
    rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = levels[i];
  }
  ds_rng rng;
  ds_rng_seed(&rng, 7, (uint64_t)face);
  ds_augment_config cfg = ds_augment_config_default();
  cfg.rotation = 30, cfg.zoom = 0.2f, cfg.shift = 0.1f, cfg.flip = 0.5f;
  ds_augment_params *params = malloc(n * sizeof *params);
  int *index = malloc(n * sizeof *index);
  for (int i = 0; i < n; i++) {
    ds_augment_draw(&rng, &cfg, face, out, &params[i]);
    index[i] = i % 2;
  }
  params[0].flip = 1; /* both sides of the flip at any n */
  if (n > 1) params[1].flip = 0;
  ds_augment_workspace ws = {0};
  cl_mem dfaces = NULL, dlev = NULL, warped = NULL, target = NULL;
  CHECK_OK(ds_buffer_create(rt, 2 * plane * 3, CL_MEM_READ_ONLY, "faces", &dfaces, &err), &err);
  CHECK_OK(ds_buffer_write(rt, dfaces, 0, 2 * plane * 3, rgb, &err), &err);
  CHECK_OK(ds_buffer_create(rt, 2 * plane, CL_MEM_READ_ONLY, "levels", &dlev, &err), &err);
  CHECK_OK(ds_buffer_write(rt, dlev, 0, 2 * plane, levels, &err), &err);
  CHECK_OK(ds_buffer_create(rt, n * outp * 3 * 4, CL_MEM_READ_WRITE, "w", &warped, &err), &err);
  CHECK_OK(ds_buffer_create(rt, n * outp * 3 * 4, CL_MEM_READ_WRITE, "t", &target, &err), &err);
  float *guard = malloc((n * outp + 1) * sizeof *guard);
  for (size_t i = 0; i <= n * outp; i++)
    guard[i] = 1234.5f;
  cl_mem inter = NULL, tmask = upload(rt, guard, n * outp + 1);
  CHECK_OK(ds_buffer_create(rt, n * plane * 4, CL_MEM_READ_WRITE, "inter", &inter, &err), &err);
  CHECK_OK(ds_augment_workspace_create(rt, n, face, &ws, &err), &err);
  CHECK_OK(ds_augment_batch(rt, dfaces, face, index, params, n, out, warped, target, &ws, &err),
           &err);
  CHECK_OK(ds_face_masks_augment(rt, dlev, 1.0f / 255.0f, face, n, out, &ws, inter, tmask, &err),
           &err);
  float *t = download(rt, target, n * outp * 3), *m = download(rt, tmask, n * outp + 1);
  float worst = 0;
  for (size_t i = 0; i < n * outp; i++)
    worst = fmaxf(worst, fabsf(t[3 * i] - m[i]));
  CHECK(worst == 0.0f, "face %d -> %d, n %d: weights differ from the face's channel by %g", face,
        out, n, (double)worst);
  CHECK(m[n * outp] == 1234.5f, "element past the end changed");
  ds_augment_workspace_destroy(&ws);
  ds_buffer_release(&dfaces), ds_buffer_release(&dlev), ds_buffer_release(&warped);
  ds_buffer_release(&target), ds_buffer_release(&inter), ds_buffer_release(&tmask);
  free(levels), free(rgb), free(params), free(index), free(guard), free(t), free(m);
}

/* ds_model_loss's sequence: weights applied, the terms, the gradient back */
static void test_weighted_loss(void) {
  const unsigned n = 2, h = 13, w = 12, c = 3;
  const size_t px = (size_t)n * h * w, N = px * c;
  float *y = rand_array(N), *t = rand_array(N), *m = rand_array(px);
  for (size_t i = 0; i < N; i++)
    y[i] = 0.5f + 0.4f * y[i], t[i] = 0.5f + 0.4f * t[i];
  for (size_t i = 0; i < px; i++)
    m[i] = i % 7 == 0 ? 0.0f : 1.5f + 1.5f * m[i];
  const ds_loss_term terms[2] = {{DS_LOSS_KIND_SSIM, 1.0f}, {DS_LOSS_KIND_MAE, 0.5f}};
  float *ym = malloc(N * 4), *tm = malloc(N * 4), *want = malloc(N * 4);
  ds_loss_weights_apply_reference(ym, tm, y, t, m, px, c);
  double lw = ds_loss_set_reference(terms, 2, want, ym, tm, n, h, w, c);
  ds_loss_weights_gradient_reference(want, m, px, c);
  cl_mem dy = upload(rt, y, N), dt = upload(rt, t, N), dm = upload(rt, m, px);
  cl_mem dym = upload(rt, y, N), dtm = upload(rt, t, N), dd = upload(rt, y, N), maps = NULL;
  cl_mem part = NULL, out = NULL;
  CHECK_OK(ds_buffer_create(rt, ds_loss_set_maps_floats(terms, 2, n, h, w, c) * 4,
                            CL_MEM_READ_WRITE, "maps", &maps, &err),
           &err);
  CHECK_OK(
      ds_buffer_create(rt, ds_loss_set_partials_floats(2) * 4, CL_MEM_READ_WRITE, "p", &part, &err),
      &err);
  CHECK_OK(ds_buffer_create(rt, 4, CL_MEM_READ_WRITE, "out", &out, &err), &err);
  CHECK_OK(ds_loss_weights_apply(rt, dym, dtm, dy, dt, dm, px, c, &err), &err);
  CHECK_OK(ds_loss_set_forward_backward(rt, terms, 2, dd, dym, dtm, n, h, w, c, maps, part, out, 0,
                                        &err),
           &err);
  CHECK_OK(ds_loss_weights_gradient(rt, dd, dm, px, c, &err), &err);
  float *g = download(rt, dd, N), *l = download(rt, out, 1);
  double worst = 0, scale = 0;
  for (size_t i = 0; i < N; i++) {
    worst = fmax(worst, fabs((double)g[i] - want[i]));
    scale = fmax(scale, fabs(want[i]));
  }
  CHECK(worst <= 1e-4 * scale, "weighted gradient off by %.3g of %.3g", worst, scale);
  CHECK(fabs(l[0] - lw) <= 1e-5 * lw + 1e-6, "weighted loss %.9g vs %.9g", (double)l[0], lw);
  int zero_ok = 1;
  for (size_t i = 0; i < N; i++)
    if (m[i / c] == 0.0f && g[i] != 0.0f) zero_ok = 0;
  CHECK(zero_ok, "a pixel of weight 0 has a gradient");
  ds_buffer_release(&dy), ds_buffer_release(&dt), ds_buffer_release(&dm), ds_buffer_release(&dym);
  ds_buffer_release(&dtm), ds_buffer_release(&dd), ds_buffer_release(&maps);
  ds_buffer_release(&part), ds_buffer_release(&out);
  free(y), free(t), free(m), free(ym), free(tm), free(want), free(g), free(l);
}

/* landmarks from alignments.json, through the face's matrix */
static void test_load(const char *scratch) {
  char dir[1024], path[1100];
  snprintf(dir, sizeof dir, "%s/faces", scratch);
  mkdir(scratch, 0755);
  mkdir(dir, 0755);
  /* what an earlier run left */
  snprintf(path, sizeof path, "%s/alignments.json", dir);
  remove(path);
  snprintf(path, sizeof path, "%s/face_9.png", dir);
  remove(path);
  const int S = 64;
  uint8_t *px = calloc((size_t)S * S * 3, 1);
  ds_alignments a;
  ds_alignments_init(&a, 2 * S, 0); /* faces written at half the alignments' size */
  ds_source_record *src = ds_alignments_source(&a, "clip.mp4", 1);
  src->is_video = 1, src->width = 640, src->height = 480, src->frame_count = 2;
  float lm[68][2];
  landmarks(2 * S, lm);
  for (int f = 0; f < 2; f++) {
    ds_face_record rec;
    memset(&rec, 0, sizeof rec);
    /* the frame holds the face shifted by (100, 50 + f): the matrix undoes it */
    for (int j = 0; j < 68; j++)
      rec.landmarks[j][0] = lm[j][0] + 100.0f, rec.landmarks[j][1] = lm[j][1] + 50.0f + (float)f;
    const float mat[6] = {1, 0, -100, 0, 1, -50.0f - (float)f};
    memcpy(rec.matrix, mat, sizeof mat);
    rec.box[2] = rec.box[3] = 10, rec.score = 1;
    snprintf(rec.file, sizeof rec.file, "face_%d.png", f);
    CHECK_OK(ds_alignments_add_frame(src, f, f / 25.0, &rec, 1, &err), &err);
    snprintf(path, sizeof path, "%s/face_%d.png", dir, f);
    ds_image img = {S, S, 3, px};
    CHECK_OK(ds_png_write_rgb(path, &img, NULL, &err), &err);
  }
  ds_dataset d;
  const ds_face_weights w = {.background = 0.0f, .eyes = 3.0f, .mouth = 2.0f};
  uint8_t *levels = NULL;
  /* no alignments.json yet */
  CHECK_OK(ds_dataset_load("A", dir, S, &d, &err), &err);
  CHECK(ds_face_masks_load(&d, &w, &levels, &err) == DS_ERR_NOT_FOUND, "missing file accepted");
  CHECK_CONTAINS(err.msg, "alignments.json");
  CHECK_CONTAINS(err.msg, "train.face_area");
  snprintf(path, sizeof path, "%s/alignments.json", dir);
  CHECK_OK(ds_alignments_save(path, &a, &err), &err);
  CHECK_OK(ds_face_masks_load(&d, &w, &levels, &err), &err);
  float half[68][2], *map = malloc((size_t)S * S * sizeof *map);
  for (int j = 0; j < 68; j++)
    half[j][0] = lm[j][0] / 2, half[j][1] = lm[j][1] / 2;
  ds_face_weights_draw((const float(*)[2])half, S, &w, map);
  int same = 1;
  for (int f = 0; f < 2 && levels; f++)
    for (int p = 0; p < S * S; p++)
      if (levels[f * S * S + p] != (uint8_t)lrintf(map[p] / 3.0f * 255.0f)) same = 0;
  CHECK(same, "levels drawn from the mapped landmarks");
  free(levels);
  ds_dataset_free(&d);
  /* a face the file does not list */
  snprintf(path, sizeof path, "%s/face_9.png", dir);
  ds_image img = {S, S, 3, px};
  CHECK_OK(ds_png_write_rgb(path, &img, NULL, &err), &err);
  CHECK_OK(ds_dataset_load("A", dir, S, &d, &err), &err);
  CHECK(ds_face_masks_load(&d, &w, &levels, &err) == DS_ERR_INVALID, "unlisted face accepted");
  CHECK_CONTAINS(err.msg, "face_9.png");
  ds_dataset_free(&d);
  ds_alignments_free(&a);
  free(px), free(map);
}

int main(int argc, char **argv) {
  CHECK_OK(ds_runtime_open(&rt, getenv("DSENGINE_DEVICE"), "DSENGINE_DEVICE", 0, &err), &err);
  if (!rt) return check_summary("face_mask");
  test_draw();
  test_moves_with_face(32, 16, 3);
  test_moves_with_face(40, 24, 2);
  test_weighted_loss();
  if (argc > 1) test_load(argv[1]);
  ds_runtime_destroy(rt);
  return check_summary("face_mask");
}
