/* The learned mask and the Poisson guide (engine/convert/mask.h): the C
 * reference's limits (a plane of zeros is the hull, a plane of ones the hull
 * and the square; the guide of hull-brows and learned covers hull's), and
 * the kernels against the reference, bit for bit, on random planes (planes
 * of noise, of a blob above the face, of values at 0.5 and either side of
 * it) at odd and edge ROI sizes, with erosion, dilation and blur.
 *
 * usage: test_mask_learned [--small]   (--small: the sizes Oclgrind affords) */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "engine/convert/mask.h"
#include "host/buffer.h"
#include "host/runtime.h"

static unsigned rng = 11;
static float frand(void) { /* [0, 1) */
  rng = rng * 1664525u + 1013904223u;
  return (float)(rng >> 8) / 16777216.0f;
}

/* Landmarks scattered around (cx, cy) within about r, and the similarity
 * taking them to the middle of a square of side s (a face's alignment). */
static void some_face(float lm[68][2], float mat[6], int s, float cx, float cy, float r) {
  for (int i = 0; i < 68; i++) {
    const float a = 6.2831853f * frand(), d = r * sqrtf(frand());
    lm[i][0] = cx + d * cosf(a), lm[i][1] = cy + 1.1f * d * sinf(a);
  }
  const float turn = 0.5f * (frand() - 0.5f), k = (float)s / (2.4f * r);
  mat[0] = k * cosf(turn), mat[1] = -k * sinf(turn);
  mat[3] = k * sinf(turn), mat[4] = k * cosf(turn);
  mat[2] = 0.5f * (float)s - (mat[0] * cx + mat[1] * cy);
  mat[5] = 0.5f * (float)s - (mat[3] * cx + mat[4] * cy);
}

enum { NOISE, BLOB, HALF, ZEROS, ONES, PLANE_KINDS };
static const char *plane_name[] = {"noise", "blob", "half", "zeros", "ones"};

static void fill_plane(float *p, int s, int kind) {
  for (int y = 0; y < s; y++)
    for (int x = 0; x < s; x++) {
      float v = 0;
      const float dx = (float)x - 0.5f * s, dy = (float)y - 0.25f * s;
      switch (kind) {
      case NOISE: v = frand(); break;
      case BLOB: v = dx * dx + 4 * dy * dy < 0.1f * s * s ? 0.9f : 0.1f * frand(); break;
      case HALF: v = (x + y) % 3 == 0 ? 0.5f : (x + y) % 3 == 1 ? 0.49999997f : 0.50000006f; break;
      case ZEROS: v = 0; break;
      case ONES: v = 1; break;
      }
      p[(size_t)y * s + x] = v;
    }
}

static int count_diff(const float *a, const float *b, int n) {
  int d = 0;
  for (int i = 0; i < n; i++)
    d += a[i] != b[i];
  return d;
}

/* The reference at its limits, and the guides against each other. */
static void limits(void) {
  enum { W = 90, H = 80, X0 = 20, Y0 = 30, S = 64 };
  static float plane[S * S], a[W * H], b[W * H], c[W * H];
  float lm[68][2], mat[6];
  some_face(lm, mat, S, X0 + 45.0f, Y0 + 42.0f, 25.0f);

  fill_plane(plane, S, ZEROS);
  ds_mask_build_learned_reference(lm, mat, S, plane, X0, Y0, W, H, 3, 5, a);
  ds_mask_build_reference(DS_MASK_HULL, lm, mat, S, X0, Y0, W, H, 3, 5, b);
  CHECK(count_diff(a, b, W * H) == 0, "learned of zeros differs from hull in %d pixels",
        count_diff(a, b, W * H));
  ds_mask_build_guide_reference(DS_MASK_LEARNED, lm, mat, S, plane, X0, Y0, W, H, 2, a);
  ds_mask_build_guide_reference(DS_MASK_HULL, lm, mat, S, NULL, X0, Y0, W, H, 2, b);
  CHECK(count_diff(a, b, W * H) == 0, "guide of zeros differs from hull's in %d pixels",
        count_diff(a, b, W * H));

  fill_plane(plane, S, ONES);
  ds_mask_build_learned_reference(lm, mat, S, plane, X0, Y0, W, H, 0, 0, a);
  ds_mask_build_reference(DS_MASK_HULL, lm, mat, S, X0, Y0, W, H, 0, 0, b);
  ds_mask_build_reference(DS_MASK_RECT, lm, mat, S, X0, Y0, W, H, 0, 0, c);
  int off = 0, extra = 0;
  for (int i = 0; i < W * H; i++) {
    off += a[i] != fmaxf(b[i], c[i]);
    extra += a[i] > b[i];
  }
  CHECK(off == 0 && extra > 0, "learned of ones: %d pixels off hull + rect, %d beyond hull", off,
        extra);
  /* the guide of ones is the inset square: the hull inside it is in it */
  const int inset = S / 32;
  float inset_mat[6] = {mat[0], mat[1], mat[2] - inset, mat[3], mat[4], mat[5] - inset};
  ds_mask_build_guide_reference(DS_MASK_LEARNED, lm, mat, S, plane, X0, Y0, W, H, 0, a);
  ds_mask_build_reference(DS_MASK_RECT, lm, inset_mat, S - 2 * inset, X0, Y0, W, H, 0, 0, b);
  CHECK(count_diff(a, b, W * H) == 0, "guide of ones differs from the inset square in %d pixels",
        count_diff(a, b, W * H));
  /* rect and hull keep the guides convert had before the learned mask */
  ds_mask_build_guide_reference(DS_MASK_RECT, lm, mat, S, NULL, X0, Y0, W, H, 4, a);
  ds_mask_build_reference(DS_MASK_RECT, lm, inset_mat, S - 2 * inset, X0, Y0, W, H, 4, 0, b);
  CHECK(count_diff(a, b, W * H) == 0, "rect's guide moved");
  ds_mask_build_guide_reference(DS_MASK_HULL, lm, mat, S, NULL, X0, Y0, W, H, 4, a);
  ds_mask_build_reference(DS_MASK_HULL_RECT, lm, inset_mat, S - 2 * inset, X0, Y0, W, H, 4, 0, b);
  CHECK(count_diff(a, b, W * H) == 0, "hull's guide moved");

  /* hull-brows' guide holds hull's and more: brows on the hull's top edge,
   * eyes 8 px below them, lifted 4.8 px above the hull */
  float top = INFINITY;
  for (int i = 0; i < 68; i++)
    top = fminf(top, lm[i][1]);
  for (int i = 17; i < 27; i++)
    lm[i][0] = X0 + 32.0f + 3.0f * (float)(i - 17), lm[i][1] = top;
  for (int i = 36; i < 48; i++)
    lm[i][0] = X0 + (i < 42 ? 35.0f : 52.0f) + (float)(i % 6), lm[i][1] = top + 8.0f;
  ds_mask_build_guide_reference(DS_MASK_HULL, lm, mat, S, NULL, X0, Y0, W, H, 0, a);
  ds_mask_build_guide_reference(DS_MASK_HULL_BROWS, lm, mat, S, NULL, X0, Y0, W, H, 0, b);
  int lost = 0, gained = 0;
  for (int i = 0; i < W * H; i++)
    lost += a[i] > b[i], gained += b[i] > a[i];
  CHECK(lost == 0 && gained > 0, "hull-brows' guide lost %d pixels of hull's, gained %d", lost,
        gained);
  printf("hull-brows' guide: %d pixels beyond hull's\n", gained);
}

/* A pixel whose sample a + t (b - a) is 0.49999997 with the fused lerp
 * and 0.5 with two roundings (values found by a search in float64): the
 * kernel must round as the reference does, or this pixel turns on. The
 * matrix puts the pixel at u = 3 + t, v = 3 exactly. */
static void rounding_edge(ds_runtime *rt, cl_mem tmp, cl_mem mask, cl_mem dplanes) {
  enum { S = 8, W = 4, H = 3 };
  const float a = 0.21166323125362396f, b = 0.5156599879264832f, t = 0.948486328125f;
  volatile float part = t * (b - a);
  CHECK(a + part >= 0.5f && fmaf(b - a, t, a) < 0.5f, "the case does not sit on the edge");
  float plane[S * S] = {0}, lm[68][2], ref[W * H], got[W * H];
  plane[3 * S + 3] = a, plane[3 * S + 4] = b;
  for (int i = 0; i < 68; i++) /* the hull far from the ROI */
    lm[i][0] = 100.0f + (float)(i % 9), lm[i][1] = 100.0f + (float)(i / 9);
  const float mat[6] = {1, 0, 2.0f + t, 0, 1, 2};
  ds_error err = {0};
  ds_mask_build_learned_reference(lm, mat, S, plane, 0, 0, W, H, 0, 0, ref);
  CHECK_OK(ds_buffer_write(rt, dplanes, 0, sizeof plane, plane, &err), &err);
  CHECK_OK(ds_mask_build_learned(rt, lm, mat, S, dplanes, 0, 0, 0, W, H, 0, 0, tmp, mask, &err),
           &err);
  CHECK_OK(ds_buffer_read(rt, mask, 0, sizeof got, got, &err), &err);
  CHECK(ref[1 * W + 1] == 0.0f && count_diff(ref, got, W * H) == 0,
        "rounding edge: reference %g, device %g", (double)ref[W + 1], (double)got[W + 1]);
  ds_error_clear(&err);
}

/* The kernels against the reference. */
static void device(int small) {
  ds_error err = {0};
  ds_runtime *rt = NULL;
  CHECK_OK(ds_runtime_open(&rt, getenv("DSENGINE_DEVICE"), "DSENGINE_DEVICE", 0, &err), &err);
  if (!rt) return;
  static const int sizes[][2] = {{1, 1}, {5, 7}, {33, 65}, {61, 47}, {190, 170}};
  static const int erodes[] = {0, 3, -2, 1, 7, -5, 0, 2};
  static const int blurs[] = {0, 5, 1, 4, 0, 9, 2, 3};
  const int nsizes = small ? 4 : 5, squares[2] = {64, 33}, faces = 3;
  const size_t most = (size_t)sizes[nsizes - 1][0] * sizes[nsizes - 1][1];
  float *ref = malloc(most * sizeof *ref), *got = malloc(most * sizeof *got);
  float *planes = malloc((size_t)faces * 64 * 64 * sizeof *planes);
  /* one set of buffers for every case (Oclgrind 21.10 misreports reads of
   * buffers created after others were released: test_mask.c) */
  cl_mem tmp = NULL, mask = NULL, dplanes = NULL;
  CHECK_OK(ds_buffer_create(rt, most * 4, CL_MEM_READ_WRITE, "tmp", &tmp, &err), &err);
  CHECK_OK(ds_buffer_create(rt, most * 4, CL_MEM_READ_WRITE, "mask", &mask, &err), &err);
  CHECK_OK(ds_buffer_create(rt, (size_t)faces * 64 * 64 * 4, CL_MEM_READ_WRITE, "planes", &dplanes,
                            &err),
           &err);
  int cases = 0, failed = 0;
  for (int s = 0; s < nsizes && tmp && mask && dplanes && ref && got && planes; s++) {
    const int w = sizes[s][0], h = sizes[s][1];
    for (int t = 0; t < (small ? 5 : 10); t++) {
      const int sq = squares[t % 2], j = t % faces, pk = (t + s) % PLANE_KINDS;
      const int erode = erodes[(t + 3 * s) % 8], blur = blurs[(2 * t + s) % 8];
      const int x0 = 13 + t, y0 = 101 - t;
      for (int f = 0; f < faces; f++)
        fill_plane(planes + (size_t)f * sq * sq, sq, f == j ? pk : NOISE);
      CHECK_OK(ds_buffer_write(rt, dplanes, 0, (size_t)faces * sq * sq * 4, planes, &err), &err);
      /* faces inside the ROI, cut by its edge, and larger than it */
      float lm[68][2], mat[6];
      const float r = t % 3 == 2 ? 1.5f * (float)(w + h) : 0.3f * (float)(w < h ? w : h) + 1;
      some_face(lm, mat, sq, (float)x0 + (t % 3 == 1 ? 0.0f : 0.5f * w) + frand(),
                (float)y0 + 0.5f * h + frand(), r);
      const float *plane = planes + (size_t)j * sq * sq;
      const size_t off = (size_t)j * sq * sq;
      for (int guide = 0; guide < 2; guide++) {
        const ds_mask_kind kind = guide ? (ds_mask_kind)((2 * t + s) % 5) : DS_MASK_LEARNED;
        if (guide) {
          ds_mask_build_guide_reference(kind, lm, mat, sq, plane, x0, y0, w, h, erode, ref);
          CHECK_OK(ds_mask_build_guide(rt, kind, lm, mat, sq, dplanes, off, x0, y0, w, h, erode,
                                       tmp, mask, &err),
                   &err);
        } else {
          ds_mask_build_learned_reference(lm, mat, sq, plane, x0, y0, w, h, erode, blur, ref);
          CHECK_OK(ds_mask_build_learned(rt, lm, mat, sq, dplanes, off, x0, y0, w, h, erode, blur,
                                         tmp, mask, &err),
                   &err);
        }
        CHECK_OK(ds_buffer_read(rt, mask, 0, (size_t)w * h * 4, got, &err), &err);
        const int diff = count_diff(got, ref, w * h);
        double on = 0;
        for (int i = 0; i < w * h; i++)
          on += ref[i];
        cases++;
        failed += diff != 0;
        CHECK(diff == 0, "%dx%d %s%s plane %s erode %d blur %d: %d of %d pixels differ", w, h,
              guide ? "guide of " : "", ds_mask_kind_name(kind), plane_name[pk], erode,
              guide ? 0 : blur, diff, w * h);
        if (getenv("TEST_MASK_VERBOSE") || diff || (t == 0 && !guide))
          printf("%3dx%-3d %s%-10s %-5s erode %2d: %5.1f%% on, %d differ\n", w, h,
                 guide ? "guide " : "", ds_mask_kind_name(kind), plane_name[pk], erode,
                 100.0 * on / (w * h), diff);
      }
    }
  }
  printf("device vs reference: %d cases, %d with any differing pixel\n", cases, failed);
  if (tmp && mask && dplanes) rounding_edge(rt, tmp, mask, dplanes);

  float lm[68][2], mat[6];
  some_face(lm, mat, 64, 40, 40, 10);
  CHECK(ds_mask_build_learned(rt, lm, mat, 64, NULL, 0, 0, 0, 8, 8, 0, 0, tmp, mask, &err) ==
            DS_ERR_INVALID,
        "no plane refused");
  CHECK(ds_mask_build(rt, DS_MASK_LEARNED, lm, mat, 64, 0, 0, 8, 8, 0, 0, tmp, mask, &err) ==
            DS_ERR_INVALID,
        "ds_mask_build refuses learned");
  CHECK(ds_mask_build_learned(rt, lm, mat, 64, dplanes, 0, 0, 0, 0, 8, 0, 0, tmp, mask, &err) ==
            DS_ERR_INVALID,
        "empty ROI refused");
  ds_error_clear(&err);
  ds_buffer_release(&tmp);
  ds_buffer_release(&mask);
  ds_buffer_release(&dplanes);
  ds_runtime_destroy(rt);
  free(ref), free(got), free(planes);
}

int main(int argc, char **argv) {
  const int small = argc > 1 && strcmp(argv[1], "--small") == 0;
  ds_mask_kind k;
  CHECK(ds_mask_kind_parse("learned", &k) && k == DS_MASK_LEARNED, "parse learned");
  CHECK(strcmp(ds_mask_kind_name(DS_MASK_LEARNED), "learned") == 0, "name learned");
  limits();
  device(small);
  return check_summary("mask_learned");
}
