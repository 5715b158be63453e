/* The training face set loader (engine/train/dataset.c) and its resize.
 * Faces are written with ds_png_write_rgb into folders under the scratch
 * folder; expected resize values are worked out by hand in the comments.
 * Usage: test_dataset SCRATCH_DIR (DS_TEST_NO_OPENCL=1 skips the upload, for
 * valgrind runs without the OpenCL driver's own allocations) */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "engine/media/png.h"
#include "engine/train/dataset.h"
#include "host/buffer.h"

/* A call that must fail with code want and a one-line message holding needle. */
#define CHECK_FAILS(call, want, err, needle)                                                       \
  do {                                                                                             \
    ds_error_clear(err);                                                                           \
    ds_status fails_st_ = (call);                                                                  \
    CHECK(fails_st_ == (want), "%s returned %s: %s", #call, ds_status_name(fails_st_),             \
          (err)->msg);                                                                             \
    CHECK_CONTAINS((err)->msg, needle);                                                            \
    CHECK(strchr((err)->msg, '\n') == NULL, "message is not one line: %s", (err)->msg);            \
  } while (0)

static char scratch[1024];

/* Paths under the scratch folder fit in PATH_LEN. */
enum { PATH_LEN = 2048 };

static int mkdir_p(const char *path) {
  char buf[PATH_LEN];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* Makes scratch/name, empty (files left by an earlier run are removed), and
 * writes its path to buf. */
static const char *fresh_dir(char *buf, const char *name) {
  snprintf(buf, PATH_LEN, "%s/%s", scratch, name);
  CHECK(mkdir_p(buf) == 0, "cannot create %s", buf);
  DIR *d = opendir(buf);
  if (!d) return buf;
  for (struct dirent *e; (e = readdir(d));) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    char path[2 * PATH_LEN];
    snprintf(path, sizeof path, "%s/%s", buf, e->d_name);
    unlink(path);
  }
  closedir(d);
  return buf;
}

static uint32_t rng_state = 0x9e3779b9u;
static uint32_t rng(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return rng_state;
}

static ds_image make_image(int w, int h) {
  ds_image img;
  ds_error err = {0};
  CHECK_OK(ds_image_alloc(&img, w, h, 3, &err), &err);
  return img;
}

static ds_image random_image(int w, int h) {
  ds_image img = make_image(w, h);
  for (size_t i = 0; img.data && i < (size_t)w * h * 3; i++)
    img.data[i] = (uint8_t)(rng() >> 24);
  return img;
}

static ds_image constant_image(int w, int h, uint8_t r, uint8_t g, uint8_t b) {
  ds_image img = make_image(w, h);
  for (size_t i = 0; img.data && i < (size_t)w * h; i++) {
    img.data[3 * i] = r;
    img.data[3 * i + 1] = g;
    img.data[3 * i + 2] = b;
  }
  return img;
}

/* R rises from 0 to 255 left to right, G falls, B is 77. */
static ds_image gradient_image(int w, int h) {
  ds_image img = make_image(w, h);
  for (int y = 0; img.data && y < h; y++)
    for (int x = 0; x < w; x++) {
      uint8_t *p = img.data + ((size_t)y * w + x) * 3;
      p[0] = (uint8_t)(x * 255 / (w - 1));
      p[1] = (uint8_t)(255 - p[0]);
      p[2] = 77;
    }
  return img;
}

/* Each pixel tells where it came from: R = x, G = y (both under 256). */
static ds_image coord_image(int w, int h) {
  ds_image img = make_image(w, h);
  for (int y = 0; img.data && y < h; y++)
    for (int x = 0; x < w; x++) {
      uint8_t *p = img.data + ((size_t)y * w + x) * 3;
      p[0] = (uint8_t)x;
      p[1] = (uint8_t)y;
      p[2] = (uint8_t)(x * 7 + y * 13);
    }
  return img;
}

static void write_png(const char *dir, const char *name, const ds_image *img) {
  char path[2 * PATH_LEN];
  ds_error err = {0};
  snprintf(path, sizeof path, "%s/%s", dir, name);
  CHECK_OK(ds_png_write_rgb(path, img, NULL, &err), &err);
}

static void write_bytes(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  CHECK(f != NULL, "cannot create %s", path);
  if (!f) return;
  CHECK(fwrite(data, 1, n, f) == n, "cannot write %s", path);
  fclose(f);
}

static int ends_with(const char *s, const char *tail) {
  size_t n = strlen(s), m = strlen(tail);
  return n >= m && strcmp(s + n - m, tail) == 0;
}

static int is_zeroed(const ds_dataset *d) {
  return d->count == 0 && d->pixels == NULL && d->paths == NULL && d->dir == NULL;
}

/* ---- the resize on its own ---- */

static void test_resize_values(void) {
  /* Enlarging 2 -> 4 samples x = (i + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75,
   * 1.25, clamped to 0, 0.25, 0.75, 1: 0, 63.75, 191.25, 255. */
  uint8_t two[6] = {0, 0, 0, 255, 255, 255}, four[12];
  ds_resize_rgb8(two, 2, 1, four, 4, 1);
  const uint8_t want4[4] = {0, 64, 191, 255};
  for (int i = 0; i < 4; i++)
    CHECK(four[3 * i] == want4[i] && four[3 * i + 2] == want4[i], "enlarge: [%d] = %d, want %d", i,
          four[3 * i], want4[i]);

  /* Shrinking 4 -> 3: outputs cover [0, 4/3), [4/3, 8/3), [8/3, 4), so
   * (3a + b) / 4, (b + c) / 2, (c + 3d) / 4 = 25, 151, 241.75. */
  uint8_t src4[12], three[9];
  const uint8_t v4[4] = {0, 100, 202, 255}, want3[3] = {25, 151, 242};
  for (int i = 0; i < 12; i++)
    src4[i] = v4[i / 3];
  ds_resize_rgb8(src4, 4, 1, three, 3, 1);
  for (int i = 0; i < 3; i++)
    CHECK(three[3 * i + 1] == want3[i], "area: [%d] = %d, want %d", i, three[3 * i + 1], want3[i]);

  /* Mixed: shrink across, enlarge down; every row is the 4 -> 3 result. */
  uint8_t mixed[3 * 2 * 3];
  ds_resize_rgb8(src4, 4, 1, mixed, 3, 2);
  CHECK(memcmp(mixed, three, 9) == 0 && memcmp(mixed + 9, three, 9) == 0,
        "shrink one axis, enlarge the other");

  /* Halving is the rounded mean of each 2x2 block, halves up. */
  ds_image big = random_image(8, 6);
  uint8_t half[4 * 3 * 3];
  ds_resize_rgb8(big.data, 8, 6, half, 4, 3);
  int bad = 0;
  for (int y = 0; y < 3; y++)
    for (int x = 0; x < 4; x++)
      for (int c = 0; c < 3; c++) {
        int sum = 0;
        for (int dy = 0; dy < 2; dy++)
          for (int dx = 0; dx < 2; dx++)
            sum += big.data[((2 * y + dy) * 8 + 2 * x + dx) * 3 + c];
        bad += half[(y * 4 + x) * 3 + c] != (sum + 2) / 4;
      }
  CHECK(bad == 0, "halving: %d values differ from the 2x2 mean", bad);

  /* Same size copies; 1x1 fills. */
  uint8_t same[8 * 6 * 3];
  ds_resize_rgb8(big.data, 8, 6, same, 8, 6);
  CHECK(memcmp(same, big.data, sizeof same) == 0, "same size is not a copy");
  ds_image_free(&big);
  uint8_t dot[3] = {9, 99, 199}, fill[5 * 3 * 3];
  ds_resize_rgb8(dot, 1, 1, fill, 5, 3);
  bad = 0;
  for (int i = 0; i < 15; i++)
    bad += memcmp(fill + 3 * i, dot, 3) != 0;
  CHECK(bad == 0, "1x1 -> 5x3: %d pixels differ", bad);
}

/* Random shapes both ways: a constant stays constant, a horizontal
 * gradient stays monotonic, and nothing is written past the end. */
static void test_resize_random(void) {
  for (int t = 0; t < 200; t++) {
    int sw = 1 + (int)(rng() % 40), sh = 1 + (int)(rng() % 40);
    int dw = 1 + (int)(rng() % 40), dh = 1 + (int)(rng() % 40);
    ds_image flat = constant_image(sw, sh, 3, 128, 254);
    size_t n = (size_t)dw * dh * 3;
    uint8_t *out = malloc(n + 1);
    if (!flat.data || !out) {
      CHECK(0, "allocation failed");
      free(out);
      ds_image_free(&flat);
      return;
    }
    out[n] = 0xa5;
    ds_resize_rgb8(flat.data, sw, sh, out, dw, dh);
    int bad = 0;
    for (size_t i = 0; i < n; i += 3)
      bad += out[i] != 3 || out[i + 1] != 128 || out[i + 2] != 254;
    CHECK(bad == 0, "%dx%d -> %dx%d constant: %d pixels changed", sw, sh, dw, dh, bad);
    ds_image_free(&flat);
    if (sw > 1) {
      ds_image grad = gradient_image(sw, sh);
      ds_resize_rgb8(grad.data, sw, sh, out, dw, dh);
      bad = 0;
      for (int y = 0; y < dh; y++)
        for (int x = 1; x < dw; x++) {
          const uint8_t *p = out + ((size_t)y * dw + x) * 3;
          bad += p[0] < p[-3] || p[1] > p[-2] || p[2] != 77;
        }
      CHECK(bad == 0, "%dx%d -> %dx%d gradient: %d pixels out of order", sw, sh, dw, dh, bad);
      ds_image_free(&grad);
    }
    CHECK(out[n] == 0xa5, "%dx%d -> %dx%d wrote past the end", sw, sh, dw, dh);
    free(out);
  }
}

/* ---- loading ---- */

static void test_exact(ds_dataset *kept) {
  char dir[PATH_LEN];
  fresh_dir(dir, "exact");
  /* Written out of order; natural order is face_1, face_2, face_10. */
  ds_image faces[3] = {random_image(256, 256), random_image(256, 256), random_image(256, 256)};
  write_png(dir, "face_10.png", &faces[2]);
  write_png(dir, "face_2.png", &faces[1]);
  write_png(dir, "face_1.png", &faces[0]);
  ds_dataset d;
  ds_error err = {0};
  CHECK_OK(ds_dataset_load("A", dir, 256, &d, &err), &err);
  CHECK(d.count == 3, "count %d, want 3", d.count);
  CHECK(d.face_size == 256, "face_size %d", d.face_size);
  CHECK(strcmp(d.name, "A") == 0, "name \"%s\"", d.name);
  if (d.count == 3) {
    const char *order[3] = {"/face_1.png", "/face_2.png", "/face_10.png"};
    for (int i = 0; i < 3; i++) {
      CHECK(ends_with(d.paths[i], order[i]), "paths[%d] = %s, want ...%s", i, d.paths[i], order[i]);
      CHECK(memcmp(d.pixels + (size_t)i * 256 * 256 * 3, faces[i].data, 256 * 256 * 3) == 0,
            "face %d is not loaded unchanged", i);
    }
  }
  for (int i = 0; i < 3; i++)
    ds_image_free(&faces[i]);
  *kept = d;
}

static void test_enlarge(void) {
  char dir[PATH_LEN];
  fresh_dir(dir, "enlarge");
  ds_image flat = constant_image(100, 100, 30, 140, 220), grad = gradient_image(100, 100);
  write_png(dir, "flat.png", &flat);
  write_png(dir, "grad.png", &grad);
  ds_image_free(&flat);
  ds_image_free(&grad);
  ds_dataset d;
  ds_error err = {0};
  CHECK_OK(ds_dataset_load("B", dir, 256, &d, &err), &err);
  CHECK(d.count == 2 && d.face_size == 256, "count %d, face_size %d", d.count, d.face_size);
  if (d.count != 2) {
    ds_dataset_free(&d);
    return;
  }
  int bad = 0;
  for (size_t i = 0; i < 256 * 256; i++) {
    const uint8_t *p = d.pixels + 3 * i;
    bad += p[0] != 30 || p[1] != 140 || p[2] != 220;
  }
  CHECK(bad == 0, "constant face: %d pixels changed", bad);
  const uint8_t *g = d.pixels + 256 * 256 * 3;
  bad = 0;
  for (int y = 0; y < 256; y++)
    for (int x = 0; x < 256; x++) {
      const uint8_t *p = g + ((size_t)y * 256 + x) * 3;
      if (x > 0) bad += p[0] < p[-3] || p[1] > p[-2];
      bad += p[2] != 77 || memcmp(p, g + (size_t)x * 3, 3) != 0;
    }
  CHECK(bad == 0, "gradient face: %d pixels out of order or rows differ", bad);
  CHECK(g[0] == 0 && g[255 * 3] == 255, "gradient ends %d, %d; want 0, 255", g[0], g[255 * 3]);
  ds_dataset_free(&d);
  CHECK(is_zeroed(&d), "ds_dataset_free leaves fields set");
}

static void test_shrink(void) {
  char dir[PATH_LEN];
  fresh_dir(dir, "shrink");
  ds_image big = random_image(512, 512);
  write_png(dir, "big.png", &big);
  ds_dataset d;
  ds_error err = {0};
  CHECK_OK(ds_dataset_load("A", dir, 256, &d, &err), &err);
  if (d.count == 1) {
    int bad = 0;
    for (int y = 0; y < 256; y++)
      for (int x = 0; x < 256; x++)
        for (int c = 0; c < 3; c++) {
          int sum = 0;
          for (int dy = 0; dy < 2; dy++)
            for (int dx = 0; dx < 2; dx++)
              sum += big.data[((size_t)(2 * y + dy) * 512 + 2 * x + dx) * 3 + c];
          bad += d.pixels[((size_t)y * 256 + x) * 3 + c] != (sum + 2) / 4;
        }
    CHECK(bad == 0, "512 -> 256: %d values differ from the 2x2 mean", bad);
  }
  ds_image_free(&big);
  ds_dataset_free(&d);
}

/* 120x100 keeps columns 10..109, 100x120 rows 10..109, 121x100 columns
 * 10..109 (the odd pixel goes to the right). */
static void test_crop(void) {
  char dir[PATH_LEN];
  fresh_dir(dir, "crop");
  ds_image tall = coord_image(100, 120), wide = coord_image(120, 100), odd = coord_image(121, 100);
  write_png(dir, "a_tall.png", &tall);
  write_png(dir, "b_wide.png", &wide);
  write_png(dir, "c_odd.png", &odd);
  ds_dataset d;
  ds_error err = {0};
  CHECK_OK(ds_dataset_load("A", dir, 100, &d, &err), &err);
  CHECK(d.count == 3, "count %d, want 3", d.count);
  if (d.count == 3) {
    const int x0[3] = {0, 10, 10}, y0[3] = {10, 0, 0};
    const ds_image *src[3] = {&tall, &wide, &odd};
    for (int i = 0; i < 3; i++) {
      int bad = 0;
      for (int y = 0; y < 100; y++)
        bad +=
            memcmp(d.pixels + ((size_t)i * 100 + y) * 100 * 3,
                   src[i]->data + ((size_t)(y + y0[i]) * src[i]->width + x0[i]) * 3, 100 * 3) != 0;
      CHECK(bad == 0, "%s: %d rows differ from the centre crop", d.paths[i], bad);
    }
  }
  ds_dataset_free(&d);
  /* Cropped then enlarged: the first face's top-left pixel is source (0, 10). */
  CHECK_OK(ds_dataset_load("A", dir, 256, &d, &err), &err);
  if (d.count == 3)
    CHECK(d.pixels[0] == 0 && d.pixels[1] == 10, "crop then enlarge starts at (%d, %d)",
          d.pixels[0], d.pixels[1]);
  ds_dataset_free(&d);
  ds_image_free(&tall);
  ds_image_free(&wide);
  ds_image_free(&odd);
}

static void test_errors(void) {
  char dir[PATH_LEN], path[2 * PATH_LEN];
  ds_dataset d;
  ds_error err = {0};
  ds_image good = random_image(256, 256);

  snprintf(dir, sizeof dir, "%s/no_such_folder", scratch);
  CHECK_FAILS(ds_dataset_load("A", dir, 256, &d, &err), DS_ERR_NOT_FOUND, &err, dir);
  CHECK(is_zeroed(&d), "missing folder: out not zeroed");

  fresh_dir(dir, "empty");
  write_bytes((snprintf(path, sizeof path, "%s/notes.txt", dir), path), "x", 1);
  CHECK_FAILS(ds_dataset_load("A", dir, 256, &d, &err), DS_ERR_INVALID, &err, dir);
  CHECK_CONTAINS(err.msg, "no face images (*.png) for identity A; run dsengine extract first");
  CHECK(is_zeroed(&d), "empty folder: out not zeroed");

  fresh_dir(dir, "tiny");
  ds_image small = random_image(40, 40);
  write_png(dir, "face_1.png", &good);
  write_png(dir, "face_2.png", &small);
  snprintf(path, sizeof path, "%s/face_2.png", dir);
  CHECK_FAILS(ds_dataset_load("A", dir, 256, &d, &err), DS_ERR_INVALID, &err, path);
  CHECK_CONTAINS(err.msg,
                 "face is 40x40 px; training needs at least 64x64 (extract writes 256x256)");
  CHECK(is_zeroed(&d), "small face: out not zeroed");
  ds_image_free(&small);

  fresh_dir(dir, "narrow");
  ds_image narrow = random_image(64, 63);
  write_png(dir, "face.png", &narrow);
  CHECK_FAILS(ds_dataset_load("A", dir, 256, &d, &err), DS_ERR_INVALID, &err, "64x63 px");
  ds_image_free(&narrow);

  fresh_dir(dir, "frame");
  ds_image frame = random_image(200, 100);
  write_png(dir, "frame.png", &frame);
  snprintf(path, sizeof path, "%s/frame.png", dir);
  CHECK_FAILS(ds_dataset_load("A", dir, 256, &d, &err), DS_ERR_INVALID, &err, path);
  CHECK_CONTAINS(err.msg, "200x100 px, too far from square");
  ds_image_free(&frame);

  fresh_dir(dir, "jpeg");
  write_png(dir, "a.png", &good);
  snprintf(path, sizeof path, "%s/b.JPG", dir);
  write_bytes(path, "\xff\xd8\xff\xe0", 4);
  CHECK_FAILS(ds_dataset_load("A", dir, 256, &d, &err), DS_ERR_INVALID, &err, path);
  CHECK_CONTAINS(err.msg, "JPEG faces are not supported yet");
  CHECK(is_zeroed(&d), "JPEG: out not zeroed");

  /* A file that is not a PNG, and a truncated one after a good face: the
   * loader passes on the PNG reader's own error. */
  ds_image img;
  fresh_dir(dir, "notpng");
  write_png(dir, "a.png", &good);
  snprintf(path, sizeof path, "%s/b.png", dir);
  write_bytes(path, "this is not a PNG file at all", 29);
  ds_status want = ds_png_read_rgb(path, &img, &err);
  CHECK(want == DS_ERR_INVALID, "reader says %s", ds_status_name(want));
  CHECK_FAILS(ds_dataset_load("A", dir, 256, &d, &err), want, &err, path);
  CHECK(is_zeroed(&d), "not a PNG: out not zeroed");

  fresh_dir(dir, "truncated");
  write_png(dir, "a.png", &good);
  snprintf(path, sizeof path, "%s/a.png", dir);
  FILE *f = fopen(path, "rb");
  static uint8_t bytes[4096];
  size_t n = f ? fread(bytes, 1, sizeof bytes, f) : 0;
  if (f) fclose(f);
  CHECK(n == sizeof bytes, "read %zu bytes of %s", n, path);
  snprintf(path, sizeof path, "%s/b.png", dir);
  write_bytes(path, bytes, n);
  CHECK_FAILS(ds_dataset_load("A", dir, 256, &d, &err), DS_ERR_CORRUPT, &err, path);
  CHECK(is_zeroed(&d), "truncated PNG: out not zeroed");

  fresh_dir(dir, "size");
  write_png(dir, "a.png", &good);
  CHECK_FAILS(ds_dataset_load("A", dir, 0, &d, &err), DS_ERR_INVALID, &err, "face size 0");
  ds_image_free(&good);
  ds_error_clear(&err);
}

static void test_batch(const ds_dataset *d) {
  ds_error err = {0};
  char want[3 * PATH_LEN];
  snprintf(want, sizeof want,
           "identity A has 3 faces in %s, fewer than the batch of 4; add faces or pass --batch 3 "
           "or less",
           d->dir);
  CHECK_FAILS(ds_dataset_check_batch(d, 4, &err), DS_ERR_INVALID, &err, want);
  CHECK_OK(ds_dataset_check_batch(d, 3, &err), &err);
  CHECK_OK(ds_dataset_check_batch(d, 1, &err), &err);
  CHECK_FAILS(ds_dataset_check_batch(d, 0, &err), DS_ERR_INVALID, &err, "batch 0");
}

static void test_fingerprint(void) {
  char dir[PATH_LEN], other[PATH_LEN];
  fresh_dir(dir, "grow");
  fresh_dir(other, "grow_copy");
  ds_image a = random_image(64, 64), b = random_image(64, 64);
  write_png(dir, "face_1.png", &a);
  write_png(dir, "face_2.png", &a);
  write_png(other, "face_1.png", &b);
  write_png(other, "face_2.png", &b);
  ds_dataset d;
  ds_error err = {0};
  CHECK_OK(ds_dataset_load("A", dir, 64, &d, &err), &err);
  uint64_t first = ds_dataset_fingerprint(&d);
  ds_dataset_free(&d);
  CHECK_OK(ds_dataset_load("A", dir, 64, &d, &err), &err);
  CHECK(ds_dataset_fingerprint(&d) == first, "the same folder read twice differs");
  ds_dataset_free(&d);
  CHECK_OK(ds_dataset_load("A", other, 64, &d, &err), &err);
  CHECK(ds_dataset_fingerprint(&d) == first, "same names elsewhere differ");
  ds_dataset_free(&d);
  write_png(dir, "face_3.png", &b);
  CHECK_OK(ds_dataset_load("A", dir, 64, &d, &err), &err);
  CHECK(d.count == 3 && ds_dataset_fingerprint(&d) != first, "adding a face keeps the fingerprint");
  ds_dataset_free(&d);
  ds_image_free(&a);
  ds_image_free(&b);
}

static void test_upload(const ds_dataset *d) {
  ds_runtime *rt = NULL;
  ds_error err = {0};
  CHECK_OK(ds_runtime_open(&rt, getenv("DSENGINE_DEVICE"), "DSENGINE_DEVICE", 0, &err), &err);
  if (!rt) return;
  cl_mem buf = NULL;
  size_t bytes = (size_t)d->count * d->face_size * d->face_size * 3;
  uint8_t *back = malloc(bytes);
  CHECK_OK(ds_dataset_upload(rt, d, &buf, &err), &err);
  if (buf && back) {
    CHECK_OK(ds_buffer_read(rt, buf, 0, bytes, back, &err), &err);
    CHECK(memcmp(back, d->pixels, bytes) == 0, "device copy differs from the host faces");
  }
  free(back);
  ds_buffer_release(&buf);
  ds_runtime_destroy(rt);
  ds_error_clear(&err);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s SCRATCH_DIR\n", argv[0]);
    return 2;
  }
  snprintf(scratch, sizeof scratch, "%s", argv[1]);
  if (mkdir_p(scratch) != 0) {
    fprintf(stderr, "cannot create %s\n", scratch);
    return 2;
  }
  test_resize_values();
  test_resize_random();
  ds_dataset exact;
  test_exact(&exact);
  test_enlarge();
  test_shrink();
  test_crop();
  test_errors();
  test_batch(&exact);
  test_fingerprint();
  if (!getenv("DS_TEST_NO_OPENCL")) test_upload(&exact);
  ds_dataset_free(&exact);
  return check_summary("dataset");
}
