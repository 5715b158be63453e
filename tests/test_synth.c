/* The synthetic face generator (tests/synth/synth_face.c) and its command-line
 * tool: determinism, two clearly different identities, a mouth measure that
 * follows the drawn mouth, landmarks on the drawn features, and readable PNGs
 * from the tool. Also writes SCRATCH_DIR/synth-example.png, a grid of both
 * identities at several mouth openings, for a person to look at.
 * Usage: test_synth SCRATCH_DIR SYNTH_FACES_TOOL */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "engine/detect/align.h"
#include "engine/media/png.h"
#include "synth/synth_align.h"
#include "synth/synth_face.h"

enum { PATH_LEN = 2048, S = 128 };

static char scratch[1024];
static const char *tool;

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

static float luma(const uint8_t *px) { return 0.299f * px[0] + 0.587f * px[1] + 0.114f * px[2]; }

static const uint8_t *pixel_at(const uint8_t *rgb, int size, float x, float y) {
  int i = (int)x, j = (int)y;
  i = i < 0 ? 0 : i >= size ? size - 1 : i;
  j = j < 0 ? 0 : j >= size ? size - 1 : j;
  return rgb + ((size_t)j * size + i) * 3;
}

/* The lowest luma within a pixel of (x, y): the pupil under an eye's centre
 * may sit a pixel off it at small sizes. */
static float darkest_near(const uint8_t *rgb, int size, float x, float y) {
  float m = 255;
  for (int dy = -1; dy <= 1; dy++)
    for (int dx = -1; dx <= 1; dx++)
      m = fminf(m, luma(pixel_at(rgb, size, x + dx, y + dy)));
  return m;
}

static double pearson(const double *a, const double *b, int n) {
  double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
  for (int i = 0; i < n; i++) {
    ma += a[i] / n;
    mb += b[i] / n;
  }
  for (int i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  return sab / sqrt(saa * sbb);
}

static void test_determinism(void) {
  static uint8_t a[S * S * 3], b[S * S * 3];
  ds_synth_params p, q;
  ds_synth_params_random(11, 1, 3, &p);
  ds_synth_params_random(11, 1, 3, &q);
  CHECK(memcmp(&p, &q, sizeof p) == 0, "params_random(11, 1, 3) differs between calls");
  ds_synth_face_render(&p, S, a);
  ds_synth_face_render(&q, S, b);
  CHECK(memcmp(a, b, sizeof a) == 0, "the same parameters rendered different bytes");

  /* different keys give different draws, all within the documented ranges */
  int same = 0, out_of_range = 0;
  double mean_open = 0;
  ds_synth_params prev;
  ds_synth_params_random(11, 0, 0, &prev);
  for (int i = 1; i < 400; i++) {
    ds_synth_params_random(11, i & 1, i, &p);
    same += p.mouth_open == prev.mouth_open || p.rotation_deg == prev.rotation_deg;
    out_of_range += p.identity != (i & 1) || p.mouth_open < 0 || p.mouth_open > 1 ||
                    fabsf(p.rotation_deg) > 5 || fabsf(p.scale - 1) > 0.04f ||
                    fabsf(p.shift_x) > 0.03f || fabsf(p.shift_y) > 0.03f;
    mean_open += p.mouth_open / 399;
    prev = p;
  }
  CHECK(same == 0, "%d consecutive draws repeated a value", same);
  CHECK(out_of_range == 0, "%d draws out of the documented ranges", out_of_range);
  CHECK(fabs(mean_open - 0.5) < 0.06, "mouth_open mean %.3f, want about 0.5", mean_open);
  ds_synth_params_random(12, 1, 3, &q);
  ds_synth_params_random(11, 1, 3, &p);
  CHECK(p.mouth_open != q.mouth_open, "seed does not change the draw");
}

/* Pixels that differ from the plain background: the head's silhouette. */
static void silhouette(const uint8_t *rgb, int size, uint8_t *mask) {
  const uint8_t *bg = rgb; /* the top-left corner is always background */
  for (int k = 0; k < size * size; k++) {
    const uint8_t *px = rgb + (size_t)k * 3;
    mask[k] = abs(px[0] - bg[0]) + abs(px[1] - bg[1]) + abs(px[2] - bg[2]) > 24;
  }
}

static void test_identities_differ(void) {
  static uint8_t img[2][S * S * 3], mask[2][S * S];
  double colour_dist = 0, iou_sum = 0, aspect[2] = {0, 0};
  const int n = 10;
  for (int i = 0; i < n; i++) {
    for (int id = 0; id < 2; id++) {
      ds_synth_params p;
      ds_synth_params_random(5, 0, i, &p); /* the same expression and pose for both */
      p.identity = id;
      ds_synth_face_render(&p, S, img[id]);
      silhouette(img[id], S, mask[id]);
      float xy[68][2];
      ds_synth_face_landmarks(&p, S, xy);
      /* face width at the temples over brow-to-chin height */
      aspect[id] += hypot(xy[16][0] - xy[0][0], xy[16][1] - xy[0][1]) /
                    hypot(xy[8][0] - xy[27][0], xy[8][1] - xy[27][1]) / n;
    }
    /* mean colour of the cheeks and nose, where both faces have skin */
    double mean[2][3] = {{0}};
    int cnt = 0;
    for (int y = (int)(0.48 * S); y < (int)(0.62 * S); y++)
      for (int x = (int)(0.36 * S); x < (int)(0.64 * S); x++, cnt++)
        for (int id = 0; id < 2; id++)
          for (int c = 0; c < 3; c++)
            mean[id][c] += img[id][((size_t)y * S + x) * 3 + c];
    double d2 = 0;
    for (int c = 0; c < 3; c++)
      d2 += pow((mean[0][c] - mean[1][c]) / cnt, 2);
    colour_dist += sqrt(d2) / n;
    int inter = 0, uni = 0;
    for (int k = 0; k < S * S; k++) {
      inter += mask[0][k] & mask[1][k];
      uni += mask[0][k] | mask[1][k];
    }
    iou_sum += (double)inter / uni / n;
  }
  CHECK(colour_dist > 40, "skin colours of the identities differ by %.1f levels, want > 40",
        colour_dist);
  CHECK(iou_sum < 0.85, "silhouettes overlap with IoU %.3f, want < 0.85", iou_sum);
  CHECK(aspect[0] > 1.25 * aspect[1], "face aspect %.3f vs %.3f, want identity 0 much wider",
        aspect[0], aspect[1]);
}

/* 3 x 3 box blur, edges clamped. */
static void box_blur(const uint8_t *src, int size, uint8_t *dst) {
  for (int y = 0; y < size; y++)
    for (int x = 0; x < size; x++)
      for (int c = 0; c < 3; c++) {
        int sum = 0;
        for (int dy = -1; dy <= 1; dy++)
          for (int dx = -1; dx <= 1; dx++)
            sum += pixel_at(src, size, x + dx + 0.5f, y + dy + 0.5f)[c];
        dst[((size_t)y * size + x) * 3 + c] = (uint8_t)((sum + 4) / 9);
      }
}

static void test_mouth_measure(void) {
  static uint8_t img[S * S * 3], blurred[S * S * 3];
  enum { N = 50 };
  for (int id = 0; id < DS_SYNTH_IDENTITIES; id++) {
    double open[N], meas[N], meas_blur[N];
    for (int i = 0; i < N; i++) {
      ds_synth_params p;
      ds_synth_params_random(2024, id, i, &p);
      ds_synth_face_render(&p, S, img);
      open[i] = p.mouth_open;
      meas[i] = ds_synth_mouth_opening(img, S);
      box_blur(img, S, blurred);
      meas_blur[i] = ds_synth_mouth_opening(blurred, S);
    }
    double r = pearson(open, meas, N), rb = pearson(open, meas_blur, N);
    CHECK(r >= 0.95, "identity %d: Pearson(mouth_open, measure) = %.4f, want >= 0.95", id, r);
    /* a generated face is softer than a drawn one */
    CHECK(rb >= 0.95, "identity %d: Pearson on blurred faces = %.4f, want >= 0.95", id, rb);
    printf("identity %d: Pearson(mouth_open, measure) over %d random faces = %.4f, blurred %.4f\n",
           id, N, r, rb);

    /* monotonic at the nominal pose, from about 0 to well above */
    float last = -1, first = 0;
    int drops = 0;
    for (int k = 0; k <= 10; k++) {
      ds_synth_params p;
      ds_synth_params_default(id, k / 10.0f, &p);
      ds_synth_face_render(&p, S, img);
      float m = ds_synth_mouth_opening(img, S);
      if (k == 0) first = m;
      drops += m < last - 0.02f;
      last = m;
    }
    CHECK(drops == 0, "identity %d: the measure fell %d times as the mouth opened", id, drops);
    CHECK(first < 0.15f && last - first > 0.5f, "identity %d: measure %.3f closed, %.3f open", id,
          first, last);

    /* a global darkening hardly changes the answer */
    ds_synth_params p;
    ds_synth_params_default(id, 0.6f, &p);
    ds_synth_face_render(&p, S, img);
    float base = ds_synth_mouth_opening(img, S);
    static uint8_t dim[S * S * 3];
    for (int k = 0; k < S * S * 3; k++)
      dim[k] = (uint8_t)(img[k] * 0.75f);
    float m_dim = ds_synth_mouth_opening(dim, S);
    CHECK(fabsf(m_dim - base) < 0.05f, "identity %d: darkened image measures %.3f, plain %.3f", id,
          m_dim, base);
  }
  static uint8_t flat[S * S * 3];
  memset(flat, 200, sizeof flat);
  CHECK(ds_synth_mouth_opening(flat, S) == 0.0f, "a flat image has a mouth opening");
}

static void test_landmarks(void) {
  static uint8_t img[S * S * 3];
  int outside = 0;
  for (int id = 0; id < DS_SYNTH_IDENTITIES; id++)
    for (int i = 0; i < 100; i++) {
      ds_synth_params p;
      float xy[68][2];
      ds_synth_params_random(77, id, i, &p);
      ds_synth_face_landmarks(&p, S, xy);
      for (int k = 0; k < 68; k++)
        outside += !(xy[k][0] >= 0 && xy[k][0] < S && xy[k][1] >= 0 && xy[k][1] < S);
    }
  CHECK(outside == 0, "%d landmarks fall outside the image", outside);

  for (int id = 0; id < DS_SYNTH_IDENTITIES; id++) {
    float prev_inner = -1, prev_outer = -1;
    int shrinks = 0;
    for (int k = 0; k <= 10; k++) {
      ds_synth_params p;
      float xy[68][2];
      ds_synth_params_default(id, k / 10.0f, &p);
      ds_synth_face_landmarks(&p, S, xy);
      float inner = xy[66][1] - xy[62][1], outer = xy[57][1] - xy[51][1];
      shrinks += inner <= prev_inner || outer <= prev_outer;
      prev_inner = inner;
      prev_outer = outer;
    }
    CHECK(shrinks == 0, "identity %d: lip points did not move apart at %d steps", id, shrinks);
    CHECK(prev_inner > 0.08f * S, "identity %d: wide-open inner lip gap %.1f px", id, prev_inner);

    /* the points sit on the drawn features, under a random pose */
    ds_synth_params p;
    float xy[68][2];
    ds_synth_params_random(3, id, 1, &p);
    p.mouth_open = 1;
    ds_synth_face_render(&p, S, img);
    ds_synth_face_landmarks(&p, S, xy);
    float mx = 0, my = 0, ex[2] = {0, 0}, ey[2] = {0, 0};
    for (int k = 60; k < 68; k++) {
      mx += xy[k][0] / 8;
      my += xy[k][1] / 8;
    }
    for (int e = 0; e < 2; e++)
      for (int k = 36 + 6 * e; k < 42 + 6 * e; k++) {
        ex[e] += xy[k][0] / 6;
        ey[e] += xy[k][1] / 6;
      }
    float cheek = luma(pixel_at(img, S, xy[3][0] + 0.15f * S, xy[3][1]));
    CHECK(darkest_near(img, S, mx, my) < 0.4f * cheek, "identity %d: mouth centre not dark", id);
    for (int e = 0; e < 2; e++)
      CHECK(darkest_near(img, S, ex[e], ey[e]) < 0.4f * cheek, "identity %d: eye %d not dark", id,
            e);
    /* jaw points: skin just inside, something else just outside */
    float cx = xy[30][0], cy = xy[30][1];
    int off_edge = 0;
    for (int k = 2; k <= 14; k += 3) {
      float dx = xy[k][0] - cx, dy = xy[k][1] - cy, len = hypotf(dx, dy);
      dx *= 3 / len;
      dy *= 3 / len;
      const uint8_t *in = pixel_at(img, S, xy[k][0] - dx, xy[k][1] - dy);
      const uint8_t *out = pixel_at(img, S, xy[k][0] + dx, xy[k][1] + dy);
      off_edge += abs(in[0] - out[0]) + abs(in[1] - out[1]) + abs(in[2] - out[2]) < 30;
    }
    CHECK(off_edge == 0, "identity %d: %d jaw points are not on the face outline", id, off_edge);
  }
}

/* Aligned faces: the pose is undone (two poses of one expression give nearly
 * the same pixels), the aligned landmarks sit where ds_align_matrix puts them
 * (re-aligning them is the identity), and the mouth measure still follows the
 * mouth on them. */
static void test_aligned(void) {
  enum { A = 256 };
  static uint8_t a[A * A * 3], b[A * A * 3];
  float xy[68][2], mat[6];
  double worst_diff = 0, worst_mat = 0;
  for (int id = 0; id < DS_SYNTH_IDENTITIES; id++)
    for (int i = 0; i < 6; i++) {
      ds_synth_params p, q;
      ds_synth_params_random(31, id, i, &p);
      ds_synth_params_default(id, p.mouth_open, &q);
      CHECK(ds_synth_face_render_aligned(&p, A, 48, a, xy) == 0, "render_aligned failed");
      CHECK(ds_synth_face_render_aligned(&q, A, 48, b, NULL) == 0, "render_aligned failed");
      double diff = 0;
      for (int k = 0; k < A * A * 3; k++)
        diff += abs(a[k] - b[k]);
      worst_diff = fmax(worst_diff, diff / (A * A * 3));
      ds_align_matrix(xy, A, 48, mat);
      const float unit[6] = {1, 0, 0, 0, 1, 0};
      for (int k = 0; k < 6; k++)
        worst_mat = fmax(worst_mat, fabs(mat[k] - unit[k]) * (k == 2 || k == 5 ? 0.01 : 1));
    }
  /* resampling at different sub-pixel phases blurs edges differently */
  CHECK(worst_diff < 2.0, "aligned faces of two poses differ by %.2f levels on average",
        worst_diff);
  CHECK(worst_mat < 1e-3, "re-aligning aligned landmarks is off the identity by %.2g", worst_mat);

  double open[11], meas[11];
  for (int k = 0; k <= 10; k++) {
    ds_synth_params p;
    ds_synth_params_random(32, 1, k, &p);
    p.mouth_open = k / 10.0f;
    ds_synth_face_render_aligned(&p, A, 48, a, NULL);
    open[k] = p.mouth_open;
    meas[k] = ds_synth_mouth_opening(a, A);
  }
  double r = pearson(open, meas, 11);
  CHECK(r >= 0.98, "mouth measure on aligned faces: Pearson %.4f, want >= 0.98", r);
  printf("aligned faces: poses differ by <= %.2f levels, mouth Pearson %.4f\n", worst_diff, r);
}

/* Runs the tool with args, stdout and stderr into log; returns its exit
 * status or -1. */
static int run_tool(const char *const *args, const char *log) {
  const char *argv[16] = {tool};
  int n = 1;
  for (; args[n - 1]; n++)
    argv[n] = args[n - 1];
  argv[n] = NULL;
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) _exit(127);
    dup2(fd, 1);
    dup2(fd, 2);
    execv(tool, (char *const *)argv);
    _exit(127);
  }
  int st;
  if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) return -1;
  return WEXITSTATUS(st);
}

static void read_log(const char *log, char *buf, size_t len) {
  FILE *f = fopen(log, "r");
  size_t n = f ? fread(buf, 1, len - 1, f) : 0;
  buf[n] = '\0';
  if (f) fclose(f);
}

static void test_tool(void) {
  char dir[PATH_LEN], log[PATH_LEN], path[PATH_LEN + 32], text[4096];
  snprintf(dir, sizeof dir, "%s/tool/out", scratch);
  snprintf(log, sizeof log, "%s/tool.log", scratch);
  const char *good[] = {"--identity", "1",      "--count", "3", "--size",
                        "64",         "--seed", "5",       dir, NULL};
  int rc = run_tool(good, log);
  read_log(log, text, sizeof text);
  CHECK(rc == 0, "synth_faces exited %d: %s", rc, text);
  CHECK_CONTAINS(text, "wrote 3 faces of identity 1");
  static uint8_t want[64 * 64 * 3];
  for (int i = 0; i < 3; i++) {
    ds_error err = {0};
    ds_image img = {0};
    snprintf(path, sizeof path, "%s/face_%04d.png", dir, i);
    CHECK_OK(ds_png_read_rgb(path, &img, &err), &err);
    if (!img.data) continue;
    ds_synth_params p;
    ds_synth_params_random(5, 1, i, &p);
    ds_synth_face_render(&p, 64, want);
    CHECK(img.width == 64 && img.height == 64 && img.channels == 3, "%s is %dx%dx%d", path,
          img.width, img.height, img.channels);
    CHECK(img.width == 64 && memcmp(img.data, want, sizeof want) == 0,
          "%s differs from the rendered face", path);
    char *marks = NULL;
    CHECK_OK(ds_png_read_text(path, "landmarks", &marks, &err), &err);
    CHECK(marks && strlen(marks) > 68 * 4, "%s lacks its landmarks", path);
    free(marks);
    ds_image_free(&img);
  }
  snprintf(path, sizeof path, "%s/face_0003.png", dir);
  CHECK(access(path, F_OK) != 0, "synth_faces wrote more faces than asked");

  /* --aligned writes ds_synth_face_render_aligned's faces, padding 3 S / 16 */
  snprintf(dir, sizeof dir, "%s/tool/aligned", scratch);
  const char *aligned[] = {"--identity", "0", "--count",   "2", "--size", "64",
                           "--seed",     "5", "--aligned", dir, NULL};
  rc = run_tool(aligned, log);
  read_log(log, text, sizeof text);
  CHECK(rc == 0, "synth_faces --aligned exited %d: %s", rc, text);
  CHECK_CONTAINS(text, "wrote 2 aligned faces of identity 0");
  for (int i = 0; i < 2; i++) {
    ds_error err = {0};
    ds_image img = {0};
    snprintf(path, sizeof path, "%s/face_%04d.png", dir, i);
    CHECK_OK(ds_png_read_rgb(path, &img, &err), &err);
    if (!img.data) continue;
    ds_synth_params p;
    ds_synth_params_random(5, 0, i, &p);
    ds_synth_face_render_aligned(&p, 64, 12, want, NULL);
    CHECK(img.width == 64 && img.height == 64 && memcmp(img.data, want, sizeof want) == 0,
          "%s differs from the aligned render", path);
    ds_image_free(&img);
  }

  const char *bad[][10] = {
      {"--identity", "7", dir, NULL}, {"--size", "0", dir, NULL},
      {"--count", "abc", dir, NULL},  {"--seed", "-3", dir, NULL},
      {"--colour", "red", dir, NULL}, {"--count", NULL},
      {"--count", "2", NULL},         {dir, dir, NULL},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    rc = run_tool(bad[i], log);
    read_log(log, text, sizeof text);
    CHECK(rc == 2, "bad arguments #%zu: exit %d, want 2: %s", i, rc, text);
    CHECK_CONTAINS(text, "synth_faces: error: ");
  }
}

/* Both identities, mouths opening left to right, then random poses. */
static void write_example_grid(void) {
  enum { COLS = 6, ROWS = 4 };
  ds_error err = {0};
  ds_image grid;
  CHECK_OK(ds_image_alloc(&grid, COLS * S, ROWS * S, 3, &err), &err);
  if (!grid.data) return;
  static uint8_t img[S * S * 3];
  for (int r = 0; r < ROWS; r++)
    for (int c = 0; c < COLS; c++) {
      ds_synth_params p;
      if (r < 2)
        ds_synth_params_default(r, c / (COLS - 1.0f), &p);
      else
        ds_synth_params_random(9, r - 2, c, &p);
      ds_synth_face_render(&p, S, img);
      for (int y = 0; y < S; y++)
        memcpy(grid.data + (((size_t)r * S + y) * COLS * S + (size_t)c * S) * 3,
               img + (size_t)y * S * 3, S * 3);
    }
  char path[PATH_LEN];
  snprintf(path, sizeof path, "%s/synth-example.png", scratch);
  CHECK_OK(ds_png_write_rgb(path, &grid, NULL, &err), &err);
  ds_image_free(&grid);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: test_synth SCRATCH_DIR SYNTH_FACES_TOOL\n");
    return 2;
  }
  snprintf(scratch, sizeof scratch, "%s", argv[1]);
  tool = argv[2];
  if (mkdir_p(scratch) != 0) {
    fprintf(stderr, "test_synth: cannot create %s: %s\n", scratch, strerror(errno));
    return 2;
  }
  test_determinism();
  test_identities_differ();
  test_mouth_measure();
  test_landmarks();
  test_aligned();
  test_tool();
  write_example_grid();
  return check_summary("synth");
}
