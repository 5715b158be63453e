/* bench/blend: Poisson blending, dsengine's ds_poisson_blend against
 * cv2.seamlessClone(NORMAL_CLONE) on the same inputs, in one run.
 *
 * The destination is a frame of one video, the patch a face-centred square of
 * a frame of another; the mask an ellipse. For each region size this program
 * writes the inputs as PNG, runs bench/blend_cv2.py (which times OpenCV and
 * writes back its result and the eroded mask OpenCV's solver used), then
 * times ds_poisson_blend on that very problem and prints the time ratio and
 * the PSNR between the two results over the region. See bench/README.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/bench/bench_util.h"
#include "engine/convert/poisson.h"
#include "engine/media/png.h"
#include "engine/media/video.h"
#include "host/buffer.h"

enum { MAX_SIZES = 8 };

typedef struct options {
  const char *dst_video, *src_video, *python, *script, *scratch;
  int dst_frame, src_frame;
  int sizes[MAX_SIZES], size_count;
  int reps;
  double quiet_wait;
} options;

static int usage(void) {
  fprintf(stderr,
          "usage: bench_blend [--sizes 160,256,400] [--reps 15] [--dst-video FILE] "
          "[--dst-frame 0]\n"
          "                   [--src-video FILE] [--src-frame 30] [--python /usr/bin/python3]\n"
          "                   [--script bench/blend_cv2.py] [--scratch DIR] [--device SPEC]\n"
          "                   [--quiet-wait 10]\n");
  return 2;
}

static int parse_args(int argc, char **argv, options *o, const char **spec, const char **origin) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage();
    if (!v) return usage();
    i++;
    if (!strcmp(a, "--sizes")) {
      o->size_count = 0;
      for (char *p = (char *)v; *p && o->size_count < MAX_SIZES;) {
        o->sizes[o->size_count++] = (int)strtol(p, &p, 10);
        if (*p == ',') p++;
      }
    } else if (!strcmp(a, "--reps"))
      o->reps = atoi(v);
    else if (!strcmp(a, "--dst-video"))
      o->dst_video = v;
    else if (!strcmp(a, "--src-video"))
      o->src_video = v;
    else if (!strcmp(a, "--dst-frame"))
      o->dst_frame = atoi(v);
    else if (!strcmp(a, "--src-frame"))
      o->src_frame = atoi(v);
    else if (!strcmp(a, "--python"))
      o->python = v;
    else if (!strcmp(a, "--script"))
      o->script = v;
    else if (!strcmp(a, "--scratch"))
      o->scratch = v;
    else if (!strcmp(a, "--device"))
      *spec = v, *origin = "--device";
    else if (!strcmp(a, "--quiet-wait"))
      o->quiet_wait = atof(v);
    else
      return usage();
  }
  if (o->reps < 1 || o->size_count < 1) return usage();
  return 0;
}

static ds_status read_frame(const char *path, int index, ds_image *frame, ds_error *err) {
  ds_video_reader *r = NULL;
  ds_status st = ds_video_open(path, &r, err);
  for (int i = 0; st == DS_OK && i <= index; i++)
    st = ds_video_read(r, frame, NULL, NULL, err);
  ds_video_close(r);
  if (st == DS_ERR_NOT_FOUND) ds_error_set(err, st, "%s has fewer than %d frames", path, index + 1);
  return st;
}

/* A square of img at (x0, y0), side n (inside img). */
static ds_status crop(const ds_image *img, int x0, int y0, int n, ds_image *out, ds_error *err) {
  ds_status st = ds_image_alloc(out, n, n, 3, err);
  for (int y = 0; st == DS_OK && y < n; y++)
    memcpy(out->data + (size_t)y * n * 3, img->data + ((size_t)(y0 + y) * img->width + x0) * 3,
           (size_t)n * 3);
  return st;
}

typedef struct result {
  int size;
  ds_poisson_path path;
  double cv_median, cv_best;
  ds_bench_stats ds;      /* the size itself */
  ds_bench_stats ds_good; /* ds_poisson_good_size(size), same patch grown */
  int good;               /* that size */
  double io_s;            /* upload of the three inputs + download of the result */
  int quiet;              /* the CPUs were quiet before both timings */
  /* vs cv2's 8-bit result: ours truncated to 8 bits as seamlessClone does,
   * and rounded to nearest */
  double psnr, psnr_rounded;
} result;

/* seamlessClone converts its float solution to 8 bits by truncation: the
 * floor of an exact solve matches its output at 99 % of the values here (the
 * rest sit within 1e-3 of an integer), the rounded solve at only 52 %. */
static double psnr_u8(const float *a, const uint8_t *b, size_t n, int round) {
  double se = 0;
  for (size_t i = 0; i < n; i++) {
    const double v = fmin(255, fmax(0, floor(a[i] + (round ? 0.5 : 0.0))));
    se += (v - b[i]) * (v - b[i]);
  }
  return se == 0 ? INFINITY : 10 * log10(255.0 * 255.0 * (double)n / se);
}

/* Times ds_poisson_blend on a w x w problem already on the device: one
 * warm-up (plan bake, kernel builds), then reps calls, each drained. */
static ds_status time_blend(ds_runtime *rt, ds_poisson *p, cl_mem s, cl_mem d, cl_mem m, int w,
                            cl_mem out, int reps, ds_bench_stats *stats, ds_error *err) {
  double *t = calloc((size_t)reps, sizeof *t);
  if (!t) return ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory");
  ds_status st = ds_poisson_blend(p, s, d, m, w, w, out, err);
  if (st == DS_OK) st = ds_runtime_finish(rt, err);
  for (int i = 0; st == DS_OK && i < reps; i++) {
    const double t0 = ds_bench_now();
    st = ds_poisson_blend(p, s, d, m, w, w, out, err);
    if (st == DS_OK) st = ds_runtime_finish(rt, err);
    t[i] = ds_bench_now() - t0;
  }
  if (st == DS_OK) *stats = ds_bench_stats_of(t, reps);
  free(t);
  return st;
}

/* The problem as float device buffers: the region of dst at (x0, y0), the
 * patch without its outer ring, the mask scaled to [0, 1]. */
static ds_status upload_problem(ds_runtime *rt, const ds_image *dst, const ds_image *patch,
                                const ds_image *mask, int x0, int y0, int n, cl_mem buf[3],
                                ds_error *err) {
  const size_t px = (size_t)n * n;
  float *f = malloc(px * 3 * sizeof *f);
  if (!f) return ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory");
  ds_status st = DS_OK;
  for (int k = 0; k < 3 && st == DS_OK; k++) {
    const size_t count = k == 2 ? px : px * 3;
    for (int y = 0; y < n; y++)
      for (int x = 0; x < n; x++)
        for (int c = 0; c < (k == 2 ? 1 : 3); c++) {
          float v;
          if (k == 0)
            v = patch->data[(((size_t)y + 1) * patch->width + x + 1) * 3 + c];
          else if (k == 1)
            v = dst->data[(((size_t)y0 + y) * dst->width + x0 + x) * 3 + c];
          else
            v = mask->data[((size_t)y * n + x) * 3] / 255.0f;
          f[((size_t)y * n + x) * (k == 2 ? 1 : 3) + c] = v;
        }
    st = ds_buffer_create(rt, count * sizeof *f, CL_MEM_READ_ONLY, "blend input", &buf[k], err);
    if (st == DS_OK) st = ds_buffer_write(rt, buf[k], 0, count * sizeof *f, f, err);
  }
  free(f);
  return st;
}

static ds_status bench_size(ds_runtime *rt, ds_poisson *p, const options *o, const ds_image *dst,
                            const ds_image *src, int n, result *r, ds_error *err) {
  memset(r, 0, sizeof *r);
  r->size = n;
  r->path = ds_poisson_path_for(n, n);
  r->good = ds_poisson_good_size(n);
  /* the patch: a centred square of the source frame (the face), one pixel
   * wider on each side than the region; cv2's mask: an ellipse, plus the two
   * corner pixels that make its bounding rectangle exactly the region (they
   * vanish in OpenCV's erosion) */
  const int px0 = (src->width - n - 2) / 2, py0 = (src->height - n - 2) / 2;
  const int x0 = (dst->width - n) / 2, y0 = (dst->height - n) / 2;
  const int grow = (r->good - n) / 2;
  if (px0 - grow < 0 || py0 - grow < 0 || x0 - grow < 0 || y0 - grow < 0 ||
      px0 - grow + r->good + 2 > src->width || py0 - grow + r->good + 2 > src->height ||
      x0 - grow + r->good > dst->width || y0 - grow + r->good > dst->height)
    return ds_error_set(err, DS_ERR_INVALID,
                        "a %d px region (%d when grown to a good size) does not fit the %dx%d "
                        "and %dx%d frames",
                        n, r->good, dst->width, dst->height, src->width, src->height);
  ds_image patch = {0}, mask = {0}, cv = {0}, eroded = {0};
  ds_status st = crop(src, px0, py0, n + 2, &patch, err);
  if (st == DS_OK) st = ds_image_alloc(&mask, n + 2, n + 2, 1, err);
  if (st == DS_OK) {
    const double c = (n + 1) / 2.0, ax = 0.36 * n, ay = 0.46 * n;
    for (int y = 0; y < n + 2; y++)
      for (int x = 0; x < n + 2; x++) {
        const double dx = (x - c) / ax, dy = (y - c) / ay;
        mask.data[(size_t)y * (n + 2) + x] = dx * dx + dy * dy <= 1 ? 255 : 0;
      }
    mask.data[(size_t)1 * (n + 2) + 1] = mask.data[(size_t)n * (n + 2) + n] = 255;
  }
  char path[DS_PATH_MAX], cmd[4 * DS_PATH_MAX];
  snprintf(path, sizeof path, "%s/dst.png", o->scratch);
  if (st == DS_OK) st = ds_png_write_rgb(path, dst, NULL, err);
  snprintf(path, sizeof path, "%s/src.png", o->scratch);
  if (st == DS_OK) st = ds_png_write_rgb(path, &patch, NULL, err);
  snprintf(path, sizeof path, "%s/mask.png", o->scratch);
  if (st == DS_OK) st = ds_png_write_rgb(path, &mask, NULL, err);

  /* OpenCV first, while dsengine holds no CPU; each side waits for quiet */
  if (st == DS_OK) {
    const ds_bench_quiet q = ds_bench_quiet_wait(o->quiet_wait, 0.2);
    r->quiet = q.quiet;
    snprintf(cmd, sizeof cmd, "'%s' '%s' '%s' %d %d %d %d", o->python, o->script, o->scratch, n, x0,
             y0, o->reps);
    FILE *f = popen(cmd, "r");
    char line[256] = "";
    int ok = f && fgets(line, sizeof line, f) &&
             sscanf(line, "seamlessClone %lf %lf", &r->cv_median, &r->cv_best) == 2;
    if (f) ok = pclose(f) == 0 && ok;
    if (!ok)
      st = ds_error_set(err, DS_ERR_IO,
                        "%s failed (%s); it needs python3-opencv (apt-get install "
                        "python3-opencv) and --python naming a python3 that has it",
                        cmd, line[0] ? line : "no output");
  }
  snprintf(path, sizeof path, "%s/cv2.png", o->scratch);
  if (st == DS_OK) st = ds_png_read_rgb(path, &cv, err);
  snprintf(path, sizeof path, "%s/mask_eroded.png", o->scratch);
  if (st == DS_OK) st = ds_png_read_rgb(path, &eroded, err);

  cl_mem in[3] = {NULL, NULL, NULL}, out = NULL;
  const size_t bytes = (size_t)n * n * 3 * sizeof(float);
  float *res = malloc(bytes);
  if (!res && st == DS_OK) st = ds_error_set(err, DS_ERR_NO_MEMORY, "out of host memory");
  if (st == DS_OK) st = upload_problem(rt, dst, &patch, &eroded, x0, y0, n, in, err);
  if (st == DS_OK) st = ds_buffer_create(rt, bytes, CL_MEM_READ_WRITE, "blend output", &out, err);
  if (st == DS_OK) {
    const ds_bench_quiet q = ds_bench_quiet_wait(o->quiet_wait, 0.2);
    r->quiet = r->quiet && q.quiet;
    st = time_blend(rt, p, in[0], in[1], in[2], n, out, o->reps, &r->ds, err);
  }
  if (st == DS_OK) st = ds_buffer_read(rt, out, 0, bytes, res, err);
  if (st == DS_OK) {
    r->psnr = psnr_u8(res, cv.data, (size_t)n * n * 3, 0);
    r->psnr_rounded = psnr_u8(res, cv.data, (size_t)n * n * 3, 1);
    /* what moving the three inputs and the result costs, for scale */
    const double t0 = ds_bench_now();
    for (int k = 0; k < 3 && st == DS_OK; k++)
      st = ds_buffer_write(rt, in[k], 0, k == 2 ? bytes / 3 : bytes, res, err);
    if (st == DS_OK) st = ds_buffer_read(rt, out, 0, bytes, res, err);
    r->io_s = ds_bench_now() - t0;
  }
  for (int k = 0; k < 3; k++)
    ds_buffer_release(&in[k]);
  ds_buffer_release(&out);

  /* the fast path: the region grown to the next good size, a pixels more
   * on the top and left: the same patch and mask at the same place with more
   * destination around them (the patch's extra pixels lie outside the mask
   * and do not matter) */
  const int g = r->good, a = (g - n) / 2;
  ds_image gpatch = {0}, gmask = {0};
  if (st == DS_OK) st = crop(src, px0 - a, py0 - a, g + 2, &gpatch, err);
  if (st == DS_OK) st = ds_image_alloc(&gmask, g, g, 3, err);
  if (st == DS_OK) {
    memset(gmask.data, 0, (size_t)g * g * 3);
    for (int y = 0; y < n; y++)
      memcpy(gmask.data + ((size_t)(y + a) * g + a) * 3, eroded.data + (size_t)y * n * 3,
             (size_t)n * 3);
    st = upload_problem(rt, dst, &gpatch, &gmask, x0 - a, y0 - a, g, in, err);
  }
  if (st == DS_OK)
    st = ds_buffer_create(rt, (size_t)g * g * 3 * sizeof(float), CL_MEM_READ_WRITE, "blend output",
                          &out, err);
  if (st == DS_OK) st = time_blend(rt, p, in[0], in[1], in[2], g, out, o->reps, &r->ds_good, err);
  for (int k = 0; k < 3; k++)
    ds_buffer_release(&in[k]);
  ds_buffer_release(&out);
  free(res);
  ds_image_free(&patch), ds_image_free(&mask), ds_image_free(&cv), ds_image_free(&eroded);
  ds_image_free(&gpatch), ds_image_free(&gmask);
  return st;
}

static const char *path_label(ds_poisson_path path) {
  switch (path) {
  case DS_POISSON_DST_X: return "DST x";
  case DS_POISSON_DST_Y: return "DST y";
  default: return "chirp-z";
  }
}

int main(int argc, char **argv) {
  options o = {.dst_video = DS_DATA_DIR "/video/pair-man1.mp4",
               .src_video = DS_DATA_DIR "/video/pair-man2.mp4",
               .src_frame = 30,
               .python = "/usr/bin/python3",
               .script = DS_BENCH_DIR "/blend_cv2.py",
               .scratch = "/tmp/dsengine-bench-blend",
               .sizes = {160, 256, 400},
               .size_count = 3,
               .reps = 15,
               .quiet_wait = 10};
  const char *spec = getenv("DSENGINE_DEVICE"), *origin = "DSENGINE_DEVICE";
  int rc = parse_args(argc, argv, &o, &spec, &origin);
  if (rc) return rc;
  mkdir(o.scratch, 0755);

  ds_error err = {0};
  ds_runtime *rt = NULL;
  ds_poisson *p = NULL;
  ds_image dst = {0}, src = {0};
  ds_status st = read_frame(o.dst_video, o.dst_frame, &dst, &err);
  if (st == DS_OK) st = read_frame(o.src_video, o.src_frame, &src, &err);
  if (st == DS_OK) st = ds_runtime_open(&rt, spec, origin, 0, &err);
  if (st == DS_OK) st = ds_poisson_create(rt, &p, &err);
  if (st == DS_OK) {
    printf("device: %s (%s), %u compute units\n", rt->device.name, rt->device.platform_name,
           rt->device.compute_units);
    printf("dst: %s frame %d; patch: %s frame %d; %d reps, median (best)\n", o.dst_video,
           o.dst_frame, o.src_video, o.src_frame, o.reps);
    ds_bench_quiet q = ds_bench_quiet_wait(o.quiet_wait, 0.2);
    ds_bench_quiet_print(stdout, "machine", &q);
  }
  result res[MAX_SIZES];
  int done = 0;
  for (int i = 0; st == DS_OK && i < o.size_count; i++) {
    st = bench_size(rt, p, &o, &dst, &src, o.sizes[i], &res[i], &err);
    if (st != DS_OK) break;
    const result *r = &res[i];
    printf("%4d: seamlessClone %7.2f ms (%.2f)  dsengine %7.2f ms (%.2f) %-7s -> ratio %.2f  "
           "PSNR %.1f dB (rounded %.1f)  | at %d: %.2f ms (%.2f), ratio %.2f  | io %.2f ms%s\n",
           r->size, r->cv_median * 1e3, r->cv_best * 1e3, r->ds.median * 1e3, r->ds.best * 1e3,
           path_label(r->path), r->ds.median / r->cv_median, r->psnr, r->psnr_rounded, r->good,
           r->ds_good.median * 1e3, r->ds_good.best * 1e3, r->ds_good.median / r->cv_median,
           r->io_s * 1e3, r->quiet ? "" : "  (NOT quiet: compare with nothing)");
    fflush(stdout);
    done++;
  }
  if (done) {
    printf("\n%6s %9s %16s %16s %8s %9s %16s %8s\n", "region", "path", "seamlessClone ms",
           "dsengine ms", "ratio", "PSNR dB", "good size: ms", "ratio");
    for (int i = 0; i < done; i++)
      printf("%6d %9s %16.2f %16.2f %8.2f %9.1f %9d: %5.2f %8.2f\n", res[i].size,
             path_label(res[i].path), res[i].cv_median * 1e3, res[i].ds.median * 1e3,
             res[i].ds.median / res[i].cv_median, res[i].psnr, res[i].good,
             res[i].ds_good.median * 1e3, res[i].ds_good.median / res[i].cv_median);
  }
  if (st != DS_OK) {
    fprintf(stderr, "bench_blend: error: %s\n", err.msg);
    if (err.detail) fprintf(stderr, "%s\n", err.detail);
  }
  ds_error_clear(&err);
  ds_image_free(&dst), ds_image_free(&src);
  ds_poisson_destroy(p);
  ds_runtime_destroy(rt);
  return st == DS_OK ? 0 : 1;
}
