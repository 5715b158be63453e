/* Every layer kernel against its plain-C reference on random and odd shapes
 * (device side), and every reference against finite differences. */
#include <string.h>

#include "check.h"
#include "engine/nn/adam.h"
#include "engine/nn/conv2d.h"
#include "engine/nn/dense.h"
#include "engine/nn/gemm.h"
#include "engine/nn/loss.h"
#include "engine/nn/ops.h"
#include "host/program.h"
#include "nn_util.h"

static ds_runtime *rt;
static ds_error err;

static void test_gemm(void) {
  const unsigned shapes[][3] = {{1, 1, 1},
                                {5, 3, 7},
                                {6, 32, 10},
                                {13, 37, 29},
                                {64, 100, 75},
                                {7, 64, 3},
                                {12, 64, 1},
                                {31, 130, 17},
                                {13, 512, 9},
                                {7, 1024, 5},
                                /* K beyond a launch's block (gemm_k_block) */
                                {13, 40, 4500},
                                {70, 37, 2049},
                                /* and rows past the tiles to the edge kernel */
                                {200, 3, 8192}};
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
    for (int variant = 0; variant < 8; variant++) {
      unsigned m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
      int trans = variant & 1, extra = variant & 2, packed = variant & 4;
      size_t a_off = extra ? 3 : 0, c_off = extra ? 5 : 0, b_off = extra ? 2 : 0;
      size_t na = a_off + (size_t)m * k, nb = b_off + (size_t)k * n, nc = c_off + (size_t)m * n;
      float *a = rand_array(na), *b = rand_array(nb), *c = rand_array(nc),
            *bias = rand_array(n + 4);
      ds_gemm_args g = {.a_off = a_off,
                        .lda_m = trans ? 1 : k,
                        .lda_k = trans ? m : 1,
                        .b_off = b_off,
                        .ldb = n,
                        .c_off = c_off,
                        .ldc = n,
                        .bias_off = extra ? 4 : 0,
                        .m = m,
                        .n = n,
                        .k = k,
                        .accumulate = extra != 0,
                        .act = (ds_act)(variant % 3)};
      cl_mem da = upload(rt, a, na), db = upload(rt, b, nb), dc = upload(rt, c, nc),
             dbias = upload(rt, bias, n + 4);
      g.a = da;
      g.b = db;
      g.c = dc;
      g.bias = extra ? dbias : NULL;
      cl_mem ws = NULL;
      if (packed) {
        g.ws_floats = ds_gemm_workspace(rt, m, n, k, g.lda_m, g.lda_k, n) + 1;
        CHECK_OK(ds_buffer_create(rt, g.ws_floats * 4, CL_MEM_READ_WRITE, "pack", &ws, &err), &err);
        g.ws = ws;
      }
      CHECK_OK(ds_gemm(rt, &g, &err), &err);
      ds_buffer_release(&ws);
      float *got = download(rt, dc, nc);
      ds_gemm_reference(a, b, c, extra ? bias : NULL, &g);
      double e = rel_err(got, c, nc);
      /* float sums of k products: rounding grows like sqrt(k) */
      const double tol = 1e-5 * (k > 1024 ? sqrt(k / 1024.0) : 1.0);
      CHECK(e < tol, "gemm %ux%ux%u variant %d: rel err %.3g (tolerance %.2g)", m, n, k, variant, e,
            tol);
      ds_buffer_release(&da);
      ds_buffer_release(&db);
      ds_buffer_release(&dc);
      ds_buffer_release(&dbias);
      free(a), free(b), free(c), free(bias), free(got);
    }
}

/* Every GEMM variant the tuner may pick, on this device's list and on the
 * GPU list (a tuned run may use any of them), against the reference:
 * ragged shapes, A transposed, accumulation, bias and activation, with
 * and without workspace, and a K over the smallest K block. */
static void test_gemm_variants(void) {
  ds_gemm_variant v[2 * DS_GEMM_MAX_VARIANTS];
  int count = ds_gemm_variants(rt, v, DS_GEMM_MAX_VARIANTS);
  ds_runtime other = *rt; /* only its profile is read */
  other.profile =
      ds_vendor_profile_for(rt->profile->local_memory_tiles ? DS_VENDOR_CPU : DS_VENDOR_NVIDIA);
  count += ds_gemm_variants(&other, v + count, DS_GEMM_MAX_VARIANTS);
  CHECK(count >= 4, "only %d GEMM variants", count);
  /* gemm_gpu and CLBlast have their own test (test_gemm_gpu: more layouts,
   * split K, small enough for Oclgrind) */
  int kept = 0;
  for (int i = 0; i < count; i++)
    if (v[i].kind != DS_GEMM_GPU_TILE && v[i].kind != DS_GEMM_CLBLAST) v[kept++] = v[i];
  count = kept;
  /* the last: B's pitch a multiple of 512 floats under 128 rows of A (read
   * as it is, or copied to a padded pitch, as the variant says) */
  const unsigned shapes[][3] = {{13, 37, 29}, {31, 130, 17}, {70, 37, 1100}, {128, 512, 8}};
  for (int i = 0; i < count; i++)
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
      for (int mode = 0; mode < 2; mode++) {
        const unsigned m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        const int odd = mode == 1; /* transposed A, offsets, accumulate, bias, workspace */
        const size_t a_off = odd ? 3 : 0, c_off = odd ? 5 : 0;
        const size_t na = a_off + (size_t)m * k, nb = (size_t)k * n, nc = c_off + (size_t)m * n;
        float *a = rand_array(na), *b = rand_array(nb), *c = rand_array(nc), *bias = rand_array(n);
        ds_gemm_args g = {.a_off = a_off,
                          .lda_m = odd ? 1 : k,
                          .lda_k = odd ? m : 1,
                          .ldb = n,
                          .c_off = c_off,
                          .ldc = n,
                          .m = m,
                          .n = n,
                          .k = k,
                          .accumulate = odd,
                          .act = odd ? DS_ACT_LRELU : DS_ACT_NONE};
        cl_mem da = upload(rt, a, na), db = upload(rt, b, nb), dc = upload(rt, c, nc),
               dbias = upload(rt, bias, n), ws = NULL;
        g.a = da, g.b = db, g.c = dc, g.bias = odd ? dbias : NULL;
        if (odd) {
          /* room for any variant's padded copies (ds_gemm_workspace sizes
           * for this device's variants only when tuning is on) */
          g.ws_floats = (size_t)(m + 16) * (k + 16) + (size_t)(n + 80) * k + 64;
          CHECK_OK(ds_buffer_create(rt, g.ws_floats * 4, CL_MEM_READ_WRITE, "ws", &ws, &err), &err);
          g.ws = ws;
        }
        CHECK_OK(ds_gemm_with(rt, &v[i], &g, &err), &err);
        float *got = download(rt, dc, nc);
        ds_gemm_reference(a, b, c, odd ? bias : NULL, &g);
        const double e = rel_err(got, c, nc), tol = 2e-5;
        CHECK(e < tol,
              "gemm variant kind %u %ux(%ux%u) local %ux%u k_block %u on %ux%ux%u mode %d: "
              "rel err %.3g",
              v[i].kind, v[i].mr, v[i].vw, v[i].nv, v[i].local[0], v[i].local[1], v[i].k_block, m,
              n, k, mode, e);
        ds_buffer_release(&da);
        ds_buffer_release(&db);
        ds_buffer_release(&dc);
        ds_buffer_release(&dbias);
        ds_buffer_release(&ws);
        free(a), free(b), free(c), free(bias), free(got);
      }
}

/* Bias gradients: ds_bias_grad against the reference, and both kernels
 * (one channel per work-item, and 16 per work-item for CPUs) equal to the
 * bit, whichever this device runs. */
static void bias_kernel(const char *name, cl_mem db, cl_mem dz, unsigned rows, unsigned c,
                        size_t items) {
  cl_kernel k;
  cl_ulong off = 1;
  CHECK_OK(ds_kernel_get(rt, "nn/layers", NULL, name, &k, &err), &err);
  CHECK_OK(ds_kernel_args(k, &err, 5, DS_ARG(db), DS_ARG(off), DS_ARG(dz), DS_ARG(rows), DS_ARG(c)),
           &err);
  CHECK_OK(ds_launch_elementwise(rt, k, items, &err), &err);
}

static void test_bias_grad(void) {
  const unsigned shapes[][2] = {{1, 1},    {7, 3},      {100, 16}, {33, 37},
                                {257, 64}, {1000, 515}, {2000, 3}, {1025, 130}};
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    const unsigned rows = shapes[s][0], c = shapes[s][1];
    float *dz = rand_array((size_t)rows * c), *want = malloc((c + 2) * sizeof *want);
    float *guard = rand_array(c + 2); /* db with a guard element each side */
    ds_bias_grad_reference(want + 1, dz, rows, c);
    cl_mem ddz = upload(rt, dz, (size_t)rows * c), d1 = upload(rt, guard, c + 2),
           d2 = upload(rt, guard, c + 2), d3 = upload(rt, guard, c + 2),
           d4 = upload(rt, guard, c + 2), ws = NULL;
    CHECK_OK(ds_bias_grad(rt, d1, 1, ddz, rows, c, &err), &err);
    /* the GPUs' two-stage reduction, with room for its parts */
    const size_t ws_floats = (size_t)c * (rows / 32 + 2);
    CHECK_OK(ds_buffer_create(rt, ws_floats * 4, CL_MEM_READ_WRITE, "bias ws", &ws, &err), &err);
    CHECK_OK(ds_bias_grad_parallel(rt, d4, 1, ddz, rows, c, ws, ws_floats, &err), &err);
    float *par = download(rt, d4, c + 2);
    const double ep = rel_err(par + 1, want + 1, c);
    CHECK(ep < 1e-5, "bias_grad_part %ux%u: rel err %.3g", rows, c, ep);
    CHECK(par[0] == guard[0] && par[c + 1] == guard[c + 1], "bias_grad_part %ux%u wrote outside db",
          rows, c);
    ds_buffer_release(&d4);
    ds_buffer_release(&ws);
    free(par);
    bias_kernel("bias_grad", d2, ddz, rows, c, c);
    bias_kernel("bias_grad16", d3, ddz, rows, c, c / 16 + c % 16);
    float *got = download(rt, d1, c + 2), *one = download(rt, d2, c + 2),
          *lanes = download(rt, d3, c + 2);
    const double e = rel_err(got + 1, want + 1, c);
    CHECK(e < 1e-5, "bias_grad %ux%u: rel err %.3g", rows, c, e);
    CHECK(!memcmp(one, lanes, (c + 2) * sizeof *one),
          "bias_grad and bias_grad16 differ on %ux%u (or wrote outside db)", rows, c);
    CHECK(got[0] == guard[0] && got[c + 1] == guard[c + 1], "bias_grad %ux%u wrote outside db",
          rows, c);
    ds_buffer_release(&ddz);
    ds_buffer_release(&d1);
    ds_buffer_release(&d2);
    ds_buffer_release(&d3);
    free(dz), free(want), free(guard), free(got), free(one), free(lanes);
  }
}

static void test_conv_mode(int packed) {
  const unsigned shapes[][7] = {/* n, h, w, cin, cout, k, stride */
                                {2, 8, 8, 3, 5, 5, 2},
                                {1, 7, 5, 4, 6, 3, 1},
                                {3, 6, 6, 8, 3, 5, 1},
                                {2, 9, 9, 2, 7, 5, 2},
                                {1, 4, 4, 33, 40, 3, 1},
                                {2, 16, 16, 3, 32, 5, 2},
                                /* k < stride: input pixels no tap reaches */
                                {2, 6, 6, 3, 4, 1, 2},
                                /* patch rows of 512 floats, stored at a padded
                                 * pitch: forward (1 x 1 x 512) and a strided
                                 * phase's backward rows (2 x 2 taps x 128) */
                                {1, 3, 2, 512, 9, 1, 1},
                                {1, 5, 4, 3, 128, 4, 2},
                                /* few output channels, patch width a multiple
                                 * of 64: dW^T = dZ^T . P (narrow_dw), in one
                                 * chunk and in several */
                                {2, 8, 8, 64, 3, 1, 1},
                                {1, 6, 5, 64, 3, 3, 1},
                                {2, 8, 8, 64, 2, 3, 2}};
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    const unsigned *p = shapes[s];
    ds_conv2d c;
    ds_conv2d_same(&c, p[0], p[1], p[2], p[3], p[4], p[5], p[6], (ds_act)(s % 3));
    size_t nx = (size_t)c.n * c.h * c.w * c.cin, ny = (size_t)c.n * c.oh * c.ow * c.cout;
    size_t nw = (size_t)c.k * c.k * c.cin * c.cout, np = 7 + nw + 16 + c.cout;
    size_t w_off = 7, b_off = 7 + nw + 16; /* odd offsets inside one parameter buffer */
    float *x = rand_array(nx), *params = rand_array(np), *dy = rand_array(ny);
    float *y = calloc(ny, sizeof *y), *dx = calloc(nx, sizeof *dx);
    float *grads = calloc(np, sizeof *grads);
    /* scratch: the minimum plus a little, so large shapes run in several chunks */
    ds_scratch sc = {NULL, ds_conv2d_scratch_min(&c) + 3 * c.k * c.k * (c.cin + c.cout), NULL, 0};
    CHECK_OK(ds_buffer_create(rt, sc.floats * sizeof(float), CL_MEM_READ_WRITE, "scratch", &sc.buf,
                              &err),
             &err);
    if (packed) {
      sc.pack_floats = ds_conv2d_pack_floats(rt, &c, sc.floats);
      CHECK_OK(ds_buffer_create(rt, sc.pack_floats * 4, CL_MEM_READ_WRITE, "pack", &sc.pack, &err),
               &err);
    }
    cl_mem dX = upload(rt, x, nx), dP = upload(rt, params, np), dY = upload(rt, y, ny),
           dDY = upload(rt, dy, ny), dDX = upload(rt, dx, nx), dG = upload(rt, grads, np);
    CHECK_OK(ds_conv2d_forward(rt, &c, dY, dX, dP, w_off, b_off, &sc, &err), &err);
    float *gy = download(rt, dY, ny);
    ds_conv2d_forward_reference(&c, y, x, params + w_off, params + b_off);
    double e = rel_err(gy, y, ny);
    CHECK(e < 1e-5, "conv forward shape %zu: rel err %.3g", s, e);

    CHECK_OK(ds_conv2d_backward(rt, &c, dDX, dG, w_off, b_off, dDY, dX, dY, dP, w_off, &sc, &err),
             &err);
    float *gdx = download(rt, dDX, nx), *gg = download(rt, dG, np), *gdz = download(rt, dDY, ny);
    ds_conv2d_backward_reference(&c, dx, grads + w_off, grads + b_off, dy, x, y, params + w_off);
    /* dZ = dY * act'(y): exact for LeakyReLU; for the sigmoid y comes from
     * the device's exp(), which OpenCL allows 3 ulp (Oclgrind's differs
     * from glibc's by up to 1.5e-6 of the largest dZ here) */
    const double dz_tol = c.act == DS_ACT_SIGMOID ? 4e-6 : 1e-6;
    CHECK((e = rel_err(gdz, dy, ny)) < dz_tol, "conv dZ shape %zu: %.3g", s, e);
    CHECK((e = rel_err(gdx, dx, nx)) < 1e-5, "conv dX shape %zu: %.3g", s, e);
    CHECK((e = rel_err(gg + w_off, grads + w_off, nw)) < 1e-5, "conv dW shape %zu: %.3g", s, e);
    CHECK((e = rel_err(gg + b_off, grads + b_off, c.cout)) < 1e-5, "conv db shape %zu: %.3g", s, e);

    /* without dX (first layer) the weight gradient is the same */
    ds_buffer_write(rt, dDY, 0, ny * sizeof(float), gdz, &err);
    CHECK_OK(ds_conv2d_backward(rt, &c, NULL, dG, w_off, b_off, dDY, dX, dY, dP, w_off, &sc, &err),
             &err);
    ds_buffer_release(&sc.buf);
    ds_buffer_release(&sc.pack);
    ds_buffer_release(&dX), ds_buffer_release(&dP), ds_buffer_release(&dY);
    ds_buffer_release(&dDY), ds_buffer_release(&dDX), ds_buffer_release(&dG);
    free(x), free(params), free(dy), free(y), free(dx), free(grads);
    free(gy), free(gdx), free(gg), free(gdz);
  }
}

static void test_dense_mode(int packed) {
  const unsigned shapes[][3] = {{3, 17, 9}, {2, 64, 40}, {1, 5, 1}, {7, 100, 33}};
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    ds_dense d = {shapes[s][0], shapes[s][1], shapes[s][2], (ds_act)(s % 2)};
    size_t nx = (size_t)d.n * d.in, ny = (size_t)d.n * d.out, nw = (size_t)d.in * d.out;
    size_t np = 16 + nw + d.out, w_off = 16, b_off = 16 + nw;
    float *x = rand_array(nx), *params = rand_array(np), *dy = rand_array(ny);
    float *y = calloc(ny, 4), *dx = calloc(nx, 4), *grads = calloc(np, 4);
    ds_scratch sc = {NULL, ds_dense_scratch_min(&d), NULL, 0};
    CHECK_OK(ds_buffer_create(rt, sc.floats * 4, CL_MEM_READ_WRITE, "scratch", &sc.buf, &err),
             &err);
    if (packed) {
      sc.pack_floats = ds_dense_pack_floats(rt, &d);
      CHECK_OK(ds_buffer_create(rt, sc.pack_floats * 4, CL_MEM_READ_WRITE, "pack", &sc.pack, &err),
               &err);
    }
    cl_mem dX = upload(rt, x, nx), dP = upload(rt, params, np), dY = upload(rt, y, ny),
           dDY = upload(rt, dy, ny), dDX = upload(rt, dx, nx), dG = upload(rt, grads, np);
    CHECK_OK(ds_dense_forward(rt, &d, dY, dX, dP, w_off, b_off, &sc, &err), &err);
    ds_dense_forward_reference(&d, y, x, params + w_off, params + b_off);
    float *gy = download(rt, dY, ny);
    double e;
    CHECK((e = rel_err(gy, y, ny)) < 1e-5, "dense forward %zu: %.3g", s, e);
    CHECK_OK(ds_dense_backward(rt, &d, dDX, dG, w_off, b_off, dDY, dX, dY, dP, w_off, &sc, &err),
             &err);
    ds_dense_backward_reference(&d, dx, grads + w_off, grads + b_off, dy, x, y, params + w_off);
    float *gdx = download(rt, dDX, nx), *gg = download(rt, dG, np);
    CHECK((e = rel_err(gdx, dx, nx)) < 1e-5, "dense dX %zu: %.3g", s, e);
    CHECK((e = rel_err(gg + w_off, grads + w_off, nw)) < 1e-5, "dense dW %zu: %.3g", s, e);
    CHECK((e = rel_err(gg + b_off, grads + b_off, d.out)) < 1e-5, "dense db %zu: %.3g", s, e);
    ds_buffer_release(&sc.buf);
    ds_buffer_release(&sc.pack);
    ds_buffer_release(&dX), ds_buffer_release(&dP), ds_buffer_release(&dY);
    ds_buffer_release(&dDY), ds_buffer_release(&dDX), ds_buffer_release(&dG);
    free(x), free(params), free(dy), free(y), free(dx), free(grads), free(gy), free(gdx), free(gg);
  }
}

/* every layer with and without the packed GEMM */
static void test_conv(void) {
  test_conv_mode(0);
  test_conv_mode(1);
}

static void test_dense(void) {
  test_dense_mode(0);
  test_dense_mode(1);
}

static void test_shuffle(void) {
  unsigned n = 2, h = 3, w = 5, f = 3;
  size_t count = (size_t)n * h * w * 4 * f;
  float *in = rand_array(count), *out = calloc(count, 4), *back = calloc(count, 4);
  cl_mem dIn = upload(rt, in, count), dOut = upload(rt, out, count),
         dBack = upload(rt, back, count);
  CHECK_OK(ds_pixel_shuffle_forward(rt, dOut, dIn, n, h, w, f, &err), &err);
  CHECK_OK(ds_pixel_shuffle_backward(rt, dBack, dOut, n, h, w, f, &err), &err);
  float *gout = download(rt, dOut, count), *gback = download(rt, dBack, count);
  ds_pixel_shuffle_forward_reference(out, in, n, h, w, f);
  ds_pixel_shuffle_backward_reference(back, out, n, h, w, f);
  CHECK(memcmp(gout, out, count * 4) == 0, "shuffle forward");
  CHECK(memcmp(gback, in, count * 4) == 0 && memcmp(back, in, count * 4) == 0,
        "backward inverts forward");
  /* DCR order on one pixel: out(0, 2*1+1, 2*2+0, ch=2) = in(0, 1, 2, (2*1+0)*f + 2) */
  CHECK(out[((0 * 2 * h + 3) * 2 * w + 4) * f + 2] == in[((0 * h + 1) * w + 2) * 4 * f + 2 * f + 2],
        "DCR channel order");
  ds_buffer_release(&dIn), ds_buffer_release(&dOut), ds_buffer_release(&dBack);
  free(in), free(out), free(back), free(gout), free(gback);
}

/* The mask channel beside the image (decoder.mask): split y [p][c + 1] into
 * image [p][c] and mask [p], and merge the gradients back, on odd pixel
 * counts and channel counts; one float past each output must stay as it
 * was (the launch rounds the global size up). */
static void test_channel_split(void) {
  const size_t pixel_counts[] = {1, 7, 255, 1031};
  const unsigned channel_counts[] = {0, 1, 3, 4};
  for (int a = 0; a < 4; a++)
    for (int b = 0; b < 4; b++) {
      const size_t p = pixel_counts[a];
      const unsigned c = channel_counts[b];
      const size_t ny = p * (c + 1), ni = p * c;
      float *y = rand_array(ny), *image = rand_array(ni + 1), *mask = rand_array(p + 1);
      float *dy = rand_array(ny + 1);
      const float sentinel_i = image[ni], sentinel_m = mask[p], sentinel_y = dy[ny];
      cl_mem dY = upload(rt, y, ny), dI = upload(rt, image, ni + 1), dM = upload(rt, mask, p + 1),
             dD = upload(rt, dy, ny + 1);
      CHECK_OK(ds_channel_split(rt, dI, dM, dY, p, c, &err), &err);
      float *gi = download(rt, dI, ni + 1), *gm = download(rt, dM, p + 1);
      ds_channel_split_reference(image, mask, y, p, c);
      CHECK(memcmp(gi, image, ni * 4) == 0 && memcmp(gm, mask, p * 4) == 0,
            "channel split p=%zu c=%u", p, c);
      CHECK(gi[ni] == sentinel_i && gm[p] == sentinel_m, "channel split p=%zu c=%u wrote past", p,
            c);
      /* the reference itself: the last channel of pixel p - 1 is its mask */
      CHECK(mask[p - 1] == y[p * (c + 1) - 1] && (c == 0 || image[ni - 1] == y[ny - 2]),
            "channel split reference p=%zu c=%u", p, c);

      /* merge is the inverse: the split parts give y back */
      CHECK_OK(ds_channel_merge(rt, dD, dI, dM, p, c, &err), &err);
      float *gd = download(rt, dD, ny + 1);
      ds_channel_merge_reference(dy, image, mask, p, c);
      CHECK(memcmp(gd, dy, ny * 4) == 0, "channel merge p=%zu c=%u", p, c);
      CHECK(memcmp(dy, y, ny * 4) == 0, "merge(split(y)) == y, p=%zu c=%u", p, c);
      CHECK(gd[ny] == sentinel_y, "channel merge p=%zu c=%u wrote past", p, c);
      ds_buffer_release(&dY), ds_buffer_release(&dI), ds_buffer_release(&dM),
          ds_buffer_release(&dD);
      free(y), free(image), free(mask), free(dy), free(gi), free(gm), free(gd);
    }
}

static void test_loss(void) {
  const size_t sizes[] = {1, 3, 255, 257, 10000};
  for (size_t s = 0; s < 5; s++)
    for (int kind = 0; kind < 2; kind++) {
      size_t n = sizes[s];
      float *y = rand_array(n), *t = rand_array(n), *dy = calloc(n, 4);
      if (n > 2) t[1] = y[1]; /* a tie: the MAE gradient is 0 there */
      cl_mem dY = upload(rt, y, n), dT = upload(rt, t, n), dD = upload(rt, dy, n), part = NULL;
      ds_buffer_create(rt, DS_LOSS_PARTIALS * 4, CL_MEM_READ_WRITE, "partials", &part, &err);
      double got = -1;
      CHECK_OK(ds_loss_forward_backward(rt, (ds_loss)kind, dD, dY, dT, n, part, &got, &err), &err);
      double want = ds_loss_forward_backward_reference((ds_loss)kind, dy, y, t, n);
      float *gd = download(rt, dD, n);
      CHECK(fabs(got - want) <= 1e-6 * fabs(want), "loss %d n=%zu: %g vs %g", kind, n, got, want);
      CHECK(memcmp(gd, dy, n * 4) == 0, "loss gradient %d n=%zu", kind, n);
      if (n > 2 && kind == 0) CHECK(gd[1] == 0.0f, "MAE gradient at a tie");
      ds_buffer_release(&dY), ds_buffer_release(&dT), ds_buffer_release(&dD),
          ds_buffer_release(&part);
      free(y), free(t), free(dy), free(gd);
    }
}

static void test_adam(void) {
  size_t n = 1003, off = 17, total = off + n + 5;
  ds_adam a = {5e-5f, 0.5f, 0.999f, 1e-7f};
  float *p = rand_array(total), *m = calloc(total, 4), *v = calloc(total, 4);
  cl_mem dP = upload(rt, p, total), dM = upload(rt, m, total), dV = upload(rt, v, total);
  for (int step = 1; step <= 3; step++) {
    float *g = rand_array(total);
    cl_mem dG = upload(rt, g, total);
    CHECK_OK(ds_adam_step(rt, &a, step, dP, dG, dM, dV, off, n, &err), &err);
    ds_adam_step_reference(&a, step, p + off, g + off, m + off, v + off, n);
    ds_buffer_release(&dG);
    free(g);
  }
  float *gp = download(rt, dP, total), *gm = download(rt, dM, total), *gv = download(rt, dV, total);
  double e;
  CHECK((e = rel_err(gp, p, total)) < 1e-6, "adam params %.3g", e);
  CHECK((e = rel_err(gm, m, total)) < 1e-6, "adam m %.3g", e);
  CHECK((e = rel_err(gv, v, total)) < 1e-6, "adam v %.3g", e);
  CHECK(gm[off - 1] == 0.0f && gm[off + n] == 0.0f, "outside the range untouched");
  /* Keras' first step: lr_1 = lr sqrt(1 - b2) / (1 - b1) */
  CHECK(fabs(ds_adam_lr(&a, 1) / (5e-5 * sqrt(0.001) / 0.5) - 1) < 1e-5, "lr_1");
  ds_buffer_release(&dP), ds_buffer_release(&dM), ds_buffer_release(&dV);
  free(p), free(m), free(v), free(gp), free(gm), free(gv);
}

/* ---- finite differences on the references (double-accumulating) ---- */

/* L = sum(y * r) */
static double conv_loss(const ds_conv2d *c, const float *x, const float *w, const float *b,
                        const float *r) {
  size_t ny = (size_t)c->n * c->oh * c->ow * c->cout;
  float *y = malloc(ny * 4);
  ds_conv2d_forward_reference(c, y, x, w, b);
  double l = 0;
  for (size_t i = 0; i < ny; i++)
    l += (double)y[i] * r[i];
  free(y);
  return l;
}

static void fd_check(const char *what, float *param, size_t count, double analytic_at(size_t),
                     double loss(void)) {
  const float h = 1e-2f;
  for (int t = 0; t < 6; t++) {
    size_t i = (size_t)((t * 7919u) % count);
    float keep = param[i];
    param[i] = keep + h;
    double lp = loss();
    param[i] = keep - h;
    double lm = loss();
    param[i] = keep;
    double fd = (lp - lm) / (2.0 * h), an = analytic_at(i);
    CHECK(fabs(fd - an) <= 2e-3 * (fabs(an) + 1e-2),
          "%s[%zu]: finite difference %.6g, backward %.6g", what, i, fd, an);
  }
}

static ds_conv2d fc;
static float *fx, *fw, *fb, *fr, *fdx, *fdw, *fdb;
static double fconv_loss(void) { return conv_loss(&fc, fx, fw, fb, fr); }
static double fdx_at(size_t i) { return fdx[i]; }
static double fdw_at(size_t i) { return fdw[i]; }
static double fdb_at(size_t i) { return fdb[i]; }

static void fd_conv(void) {
  const unsigned shapes[][7] = {
      {2, 7, 7, 3, 4, 5, 2}, {1, 5, 6, 2, 3, 3, 1}, {1, 6, 6, 3, 3, 5, 1}};
  for (int s = 0; s < 3; s++) {
    const unsigned *p = shapes[s];
    /* sigmoid and none are smooth; lrelu is checked away from its kink by
     * the tolerance on few random points */
    ds_conv2d_same(&fc, p[0], p[1], p[2], p[3], p[4], p[5], p[6],
                   s == 1 ? DS_ACT_SIGMOID : (ds_act)(s == 2 ? DS_ACT_NONE : DS_ACT_NONE));
    size_t nx = (size_t)fc.n * fc.h * fc.w * fc.cin, ny = (size_t)fc.n * fc.oh * fc.ow * fc.cout;
    size_t nw = (size_t)fc.k * fc.k * fc.cin * fc.cout;
    fx = rand_array(nx), fw = rand_array(nw), fb = rand_array(fc.cout), fr = rand_array(ny);
    fdx = malloc(nx * 4), fdw = malloc(nw * 4), fdb = malloc(fc.cout * 4);
    float *y = malloc(ny * 4), *dy = malloc(ny * 4);
    ds_conv2d_forward_reference(&fc, y, fx, fw, fb);
    memcpy(dy, fr, ny * 4);
    ds_conv2d_backward_reference(&fc, fdx, fdw, fdb, dy, fx, y, fw);
    fd_check("conv dX", fx, nx, fdx_at, fconv_loss);
    fd_check("conv dW", fw, nw, fdw_at, fconv_loss);
    fd_check("conv db", fb, fc.cout, fdb_at, fconv_loss);
    free(fx), free(fw), free(fb), free(fr), free(fdx), free(fdw), free(fdb), free(y), free(dy);
  }
}

static ds_dense fdn;
static double fdense_loss(void) {
  size_t ny = (size_t)fdn.n * fdn.out;
  float *y = malloc(ny * 4);
  ds_dense_forward_reference(&fdn, y, fx, fw, fb);
  double l = 0;
  for (size_t i = 0; i < ny; i++)
    l += (double)y[i] * fr[i];
  free(y);
  return l;
}

static void fd_dense(void) {
  for (int s = 0; s < 2; s++) {
    fdn = (ds_dense){3, 11, 7, s ? DS_ACT_SIGMOID : DS_ACT_NONE};
    size_t nx = (size_t)fdn.n * fdn.in, ny = (size_t)fdn.n * fdn.out, nw = (size_t)fdn.in * fdn.out;
    fx = rand_array(nx), fw = rand_array(nw), fb = rand_array(fdn.out), fr = rand_array(ny);
    fdx = malloc(nx * 4), fdw = malloc(nw * 4), fdb = malloc(fdn.out * 4);
    float *y = malloc(ny * 4), *dy = malloc(ny * 4);
    ds_dense_forward_reference(&fdn, y, fx, fw, fb);
    memcpy(dy, fr, ny * 4);
    ds_dense_backward_reference(&fdn, fdx, fdw, fdb, dy, fx, y, fw);
    fd_check("dense dX", fx, nx, fdx_at, fdense_loss);
    fd_check("dense dW", fw, nw, fdw_at, fdense_loss);
    fd_check("dense db", fb, fdn.out, fdb_at, fdense_loss);
    free(fx), free(fw), free(fb), free(fr), free(fdx), free(fdw), free(fdb), free(y), free(dy);
  }
}

/* MSE through the reference: dL/dy against finite differences of the loss. */
static float *ly, *lt;
static size_t ln;
static int lkind;
static double floss(void) {
  float *d = malloc(ln * 4);
  double l = ds_loss_forward_backward_reference((ds_loss)lkind, d, ly, lt, ln);
  free(d);
  return l;
}
static float *lgrad;
static double lgrad_at(size_t i) { return lgrad[i]; }

static void fd_loss(void) {
  for (lkind = 0; lkind < 2; lkind++) {
    ln = 50;
    ly = rand_array(ln), lt = rand_array(ln), lgrad = malloc(ln * 4);
    for (size_t i = 0; i < ln; i++) /* keep |y - t| > h so MAE is smooth there */
      if (fabsf(ly[i] - lt[i]) < 0.05f) ly[i] = lt[i] + 0.1f;
    ds_loss_forward_backward_reference((ds_loss)lkind, lgrad, ly, lt, ln);
    fd_check(lkind ? "mse dy" : "mae dy", ly, ln, lgrad_at, floss);
    free(ly), free(lt), free(lgrad);
  }
}

int main(void) {
  CHECK_OK(ds_runtime_open(&rt, getenv("DSENGINE_DEVICE"), "DSENGINE_DEVICE", 0, &err), &err);
  if (!rt) return check_summary("nn");
  test_gemm();
  test_gemm_variants();
  test_bias_grad();
  test_conv();
  test_dense();
  test_shuffle();
  test_channel_split();
  test_loss();
  test_adam();
  fd_conv();
  fd_dense();
  fd_loss();
  ds_runtime_destroy(rt);
  return check_summary("nn");
}
