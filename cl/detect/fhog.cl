// dlib's fHOG (engine/detect/fhog.c, ds_fhog_reference) of 8-bit images (the
// levels of a pyramid), in four kernels:
//
// fhog_gradient (grey, 16 pixels per work-item) or fhog_gradient_rgb (one
//   per pixel): each pixel's orientation bin and gradient magnitude, the
//   C code's arithmetic exactly, stored "block-major": a pixel at column x
//   votes into histogram columns b and b + 1 (dlib's padded coordinates) with
//   b = (2x + 1 + cell) / (2 cell), and sits at phase p = x - first pixel of
//   block b; row y keeps phase p of block b at [y * cell * bpitch + p *
//   bpitch + b], so the same phase of 16 neighbouring blocks is one vector.
//   Pixels that vote nowhere (the image border, beyond visible_nc) hold 0.
// fhog_hist: one work-item per 16 blocks x one band of cell pixel rows (the
//   rows that vote into histogram rows q and q + 1): per bin, the bilinear
//   votes of the band summed by one-hot selects on whole vectors, into four
//   partial histograms (to rows q / q + 1 x columns b / b + 1).
// fhog_combine: one work-item per cell: its 18 bins as the sum of the four
//   partials that reach it, and its energy.
// fhog_features: one per output cell: block normalisation, 31 features, zero
//   padding, the C code's operations in its order.
//
// Orientations, magnitudes and the features' arithmetic repeat the C code
// with contraction off; the histogram sums run in another order than its
// pixel-by-pixel scatter (weights as exact fractions, (2p + 1 - cell % 2) /
// 2 cell), so features agree with the reference to float rounding (~1e-7).
#pragma OPENCL FP_CONTRACT OFF

// Every kernel runs over a batch of images (levels of a pyramid) in one
// launch: the batch is levels[level0 .. level0 + nlevels) of a table, and
// work-item i < tiles belongs to its level L whose first[K] <= i < first[K]
// of level L + 1 (K: the kernel's step; counted from the batch's start), as
// tile i - first[K] of it, tiles numbered row by row. Each level's data
// starts at its own offsets. Mirrored field for field by
// engine/detect/fhog_cl.c.
typedef struct fhog_level {
  int img_at, img_pitch, width; // the image: byte offset of (0, 0), row pitch
  int visible_nr, visible_nc, simd_end, padded;
  int cells_nr, cells_nc, bpitch, bands;
  int slot_at, part_at, cell_at; // orient / mag, part, hist (x 18) and norm
  int hog_at, pitch, plane_rows; // the features
  int first[4];                  // first work-item per step
} fhog_level;

#define FHOG_GRADIENT 0
#define FHOG_HIST 1
#define FHOG_COMBINE 2
#define FHOG_FEATURES 3

// Tile t of a level with rows of nx tiles: (column, row). (The remainder
// by subtraction: from x % n beside x / n LLVM makes a `freeze`, which
// Oclgrind 21.10's --uninitialized plugin cannot run.)
inline int2 fhog_tile(const int t, const int nx) {
  const int y = t / nx;
  return (int2)(t - y * nx, y);
}

inline fhog_level fhog_level_of(global const fhog_level *restrict lv, const int n, const int step,
                                const int i) {
  int L = 0;
  while (L + 1 < n && i >= lv[L + 1].first[step])
    L++;
  return lv[L];
}

constant float fhog_dir[9][2] = {
    {1.0000f, 0.0000f},  {0.9397f, 0.3420f},  {0.7660f, 0.6428f},
    {0.500f, 0.8660f},   {0.1736f, 0.9848f},  {-0.1736f, 0.9848f},
    {-0.5000f, 0.8660f}, {-0.7660f, 0.6428f}, {-0.9397f, 0.3420f},
};

// The orientation bin (0-17) of each gradient: the largest |dot product|
// with fhog_dir, ties to the earlier direction, as the C code's loop.
#define FHOG_ORIENT(T, IT, fx, fy, best_o)                                                         \
  do {                                                                                             \
    T best_dot = (T)(0.0f);                                                                        \
    best_o = (IT)(0);                                                                              \
    for (int k_ = 0; k_ < 9; k_++) {                                                               \
      const T a = fhog_dir[k_][0] * (fx);                                                          \
      const T b = fhog_dir[k_][1] * (fy);                                                          \
      const T dot = a + b;                                                                         \
      const IT up = dot > best_dot, down = (-dot > best_dot) & ~up;                                \
      best_dot = select(best_dot, dot, up);                                                        \
      best_dot = select(best_dot, -dot, down);                                                     \
      best_o = select(best_o, (IT)(k_), up);                                                       \
      best_o = select(best_o, (IT)(k_ + 9), down);                                                 \
    }                                                                                              \
  } while (0)

// Block of pixel column x >= 0, and its index in the block-major layout.
inline int fhog_block(const int x, const int cell) { return (2 * x + 1 + cell) / (2 * cell); }
inline size_t fhog_slot(const int x, const int y, const int cell, const int bpitch) {
  const int b = fhog_block(x, cell);
  const int p = (2 * x + 1 + cell - 2 * cell * b) / 2;
  return ((size_t)y * cell + p) * bpitch + b;
}

// Block 0's first phases stand for columns x < 0: zero, as the image border.
inline void fhog_zero_front(global uchar *restrict orient, global float *restrict mag, const int y,
                            const int cell, const int bpitch) {
  for (int p = 0; p < (cell + 1) / 2; p++) {
    orient[((size_t)y * cell + p) * bpitch] = 0;
    mag[((size_t)y * cell + p) * bpitch] = 0;
  }
}

// Grey images: one work-item per GRADIENT_SPAN x 16 pixels (PoCL's cost per
// work-group would dominate 16; a level's rows have ceil(cell * bpitch /
// (16 * GRADIENT_SPAN)) tiles), x = 16 * (tile column * GRADIENT_SPAN + span)
// .. + 15, of row y = 1 + tile row < visible_nr, over the blocks < bpitch. A
// block of 16 that would read past the image loads through clamped indices.
#define GRADIENT_SPAN 8
kernel void fhog_gradient(global uchar *restrict orient, global float *restrict mag,
                          global const uchar *restrict img,
                          global const fhog_level *restrict levels, const int level0,
                          const int nlevels, const int tiles, const int cell) {
  const int i = (int)get_global_id(0);
  if (i >= tiles) return;
  const fhog_level lv = fhog_level_of(levels + level0, nlevels, FHOG_GRADIENT, i);
  const int nx = (cell * lv.bpitch + 16 * GRADIENT_SPAN - 1) / (16 * GRADIENT_SPAN);
  const int t = i - lv.first[FHOG_GRADIENT];
  const int2 tile = fhog_tile(t, nx);
  const int y = 1 + tile.y, img_pitch = lv.img_pitch, width = lv.width, bpitch = lv.bpitch;
  const int visible_nc = lv.visible_nc;
  if (y >= lv.visible_nr) return;
  orient += lv.slot_at;
  mag += lv.slot_at;
  global const uchar *row = img + lv.img_at + (size_t)y * img_pitch;
  for (int span = 0; span < GRADIENT_SPAN; span++) {
    const int x0 = 16 * (tile.x * GRADIENT_SPAN + span);
    if (fhog_block(x0, cell) >= bpitch) return;
    int16 l, r, t, b;
    if (x0 >= 1 && x0 + 16 < width) {
      global const uchar *p = row + x0;
      l = convert_int16(vload16(0, p - 1));
      r = convert_int16(vload16(0, p + 1));
      t = convert_int16(vload16(0, p - img_pitch));
      b = convert_int16(vload16(0, p + img_pitch));
    } else {
      int lv[16], rv[16], tv[16], bv[16];
      for (int i = 0; i < 16; i++) {
        const int x = clamp(x0 + i, 1, width - 2);
        lv[i] = row[x - 1];
        rv[i] = row[x + 1];
        tv[i] = row[x - img_pitch];
        bv[i] = row[x + img_pitch];
      }
      l = vload16(0, lv);
      r = vload16(0, rv);
      t = vload16(0, tv);
      b = vload16(0, bv);
    }
    const int16 gx = r - l, gy = b - t;
    const float16 fx = convert_float16(gx), fy = convert_float16(gy);
    int16 o;
    FHOG_ORIENT(float16, int16, fx, fy, o);
    const int16 x = (int16)(x0) + (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const int16 votes = x >= 1 & x < visible_nc;
    uchar ov[16];
    float mv[16];
    vstore16(convert_uchar16(select((int16)(0), o, votes)), 0, ov);
    vstore16(select((float16)(0.0f), sqrt(convert_float16(gx * gx + gy * gy)), votes), 0, mv);
    // Slots of x0 .. x0 + 15: the phase steps by one, the block when it wraps.
    int blk = fhog_block(x0, cell), p = (2 * x0 + 1 + cell - 2 * cell * blk) / 2;
    for (int i = 0; i < 16 && blk < bpitch; i++) {
      const size_t at = ((size_t)y * cell + p) * bpitch + blk;
      orient[at] = ov[i];
      mag[at] = mv[i];
      if (++p == cell) {
        p = 0;
        blk++;
      }
    }
    if (x0 == 0) fhog_zero_front(orient, mag, y, cell, bpitch);
  }
}

// Bytes x .. x + 3 of a row as one little-endian word, bytes outside
// 0 <= x < width read as 0.
inline uint fhog_word_safe(global const uchar *restrict row, const int width, const int x) {
  uint v = 0;
  for (int k = 0; k < 4; k++)
    if (x + k >= 0 && x + k < width) v |= (uint)row[x + k] << (8 * k);
  return v;
}

// The words at x0 + 8i as lane i: rows without margins. (Built lane by lane:
// a private array read back as a vector upsets Oclgrind 21.10.)
inline uint16 fhog_words_safe(global const uchar *restrict row, const int width, const int x0) {
#define W(i) fhog_word_safe(row, width, x0 + 8 * (i))
  return (uint16)(W(0), W(1), W(2), W(3), W(4), W(5), W(6), W(7), W(8), W(9), W(10), W(11), W(12),
                  W(13), W(14), W(15));
#undef W
}

// The 8 bytes before and after column 8b of lane b, as four words.
typedef struct fhog_row8 {
  uint16 a_lo, a_hi, b_lo, b_hi; // bytes 8b - 8, 8b - 4, 8b, 8b + 4 (4 each)
} fhog_row8;

// padded: the row has DS_FHOG_MARGIN bytes before it and
// DS_FHOG_RIGHT_MARGIN after, and starts 4-byte aligned: 32-bit loads of
// 16 consecutive words, split into even and odd ones (lane by lane: Oclgrind
// 21.10 crashes on bytes reinterpreted as words).
inline fhog_row8 fhog_load_row8(global const uchar *restrict row, const int width, const int b0,
                                const int padded) {
  fhog_row8 r;
  if (padded) {
    global const uint *w = (global const uint *)(row + 8 * b0 - 8);
    // (16 word loads, not a vload16: Oclgrind 21.10 reports that one's
    // lanes as uninitialised)
#define WORDS(q)                                                                                   \
  (uint16)(q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7], q[8], q[9], q[10], q[11], q[12], q[13], \
           q[14], q[15])
    const uint16 a0 = WORDS(w), a1 = WORDS((w + 16));
    const uint16 b0v = WORDS((w + 2)), b1 = WORDS((w + 18));
#undef WORDS
#define EVEN(a, b)                                                                                 \
  (uint16)(a.s0, a.s2, a.s4, a.s6, a.s8, a.sa, a.sc, a.se, b.s0, b.s2, b.s4, b.s6, b.s8, b.sa,     \
           b.sc, b.se)
#define ODD(a, b)                                                                                  \
  (uint16)(a.s1, a.s3, a.s5, a.s7, a.s9, a.sb, a.sd, a.sf, b.s1, b.s3, b.s5, b.s7, b.s9, b.sb,     \
           b.sd, b.sf)
    r.a_lo = EVEN(a0, a1);
    r.a_hi = ODD(a0, a1);
    r.b_lo = EVEN(b0v, b1);
    r.b_hi = ODD(b0v, b1);
#undef EVEN
#undef ODD
  } else {
    r.a_lo = fhog_words_safe(row, width, 8 * b0 - 8);
    r.a_hi = fhog_words_safe(row, width, 8 * b0 - 4);
    r.b_lo = fhog_words_safe(row, width, 8 * b0);
    r.b_hi = fhog_words_safe(row, width, 8 * b0 + 4);
  }
  return r;
}

// Byte 8b + d of lane b, -8 <= d < 8 (d a constant once unrolled).
inline int16 fhog_byte8(const fhog_row8 *r, const int d) {
  const uint16 w = d < -4 ? r->a_lo : d < 0 ? r->a_hi : d < 4 ? r->b_lo : r->b_hi;
  const int shift = 8 * ((d + 8) & 3);
  return as_int16((w >> (uint16)(shift)) & (uint16)(0xff));
}

// Grey images with cell 8: one work-item per 16 blocks x 8 pixel rows (a
// level's tiles: bpitch / 16 per row), the lanes being blocks, so that each
// phase is computed and stored as whole vectors (the block-major layout
// transposed in registers: a block's 8 pixels are two 32-bit words per
// lane). Rows y = 1 + 8 * tile row .. + 7 below visible_nr; blocks b0 = 16 *
// tile column .. + 15. Pixels at x < 1 or x >= visible_nc get 0. Images
// without margins (padded 0) are read through bounds-checked byte loads
// (slow; tests).
kernel void fhog_gradient8(global uchar *restrict orient, global float *restrict mag,
                           global const uchar *restrict img,
                           global const fhog_level *restrict levels, const int level0,
                           const int nlevels, const int tiles) {
  const int i = (int)get_global_id(0);
  if (i >= tiles) return;
  const fhog_level lv = fhog_level_of(levels + level0, nlevels, FHOG_GRADIENT, i);
  const int t = i - lv.first[FHOG_GRADIENT], nx = lv.bpitch / 16;
  const int2 tile = fhog_tile(t, nx);
  const int b0 = 16 * tile.x, y0 = 1 + 8 * tile.y;
  const int bpitch = lv.bpitch, visible_nr = lv.visible_nr, visible_nc = lv.visible_nc;
  const int img_pitch = lv.img_pitch, width = lv.width, padded = lv.padded;
  if (y0 >= visible_nr) return;
  orient += lv.slot_at;
  mag += lv.slot_at;
  img += lv.img_at;
  const int16 lane = (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const int16 x_base = (int16)(8 * b0 - 4) + 8 * lane; // phase 0 of each lane's block
  for (int y = y0; y < min(y0 + 8, visible_nr); y++) {
    global const uchar *row = img + (size_t)y * img_pitch;
    const fhog_row8 up = fhog_load_row8(row - img_pitch, width, b0, padded);
    const fhog_row8 mid = fhog_load_row8(row, width, b0, padded);
    const fhog_row8 down = fhog_load_row8(row + img_pitch, width, b0, padded);
#pragma unroll
    for (int p = 0; p < 8; p++) {
      const int16 gx = fhog_byte8(&mid, p - 3) - fhog_byte8(&mid, p - 5);
      const int16 gy = fhog_byte8(&down, p - 4) - fhog_byte8(&up, p - 4);
      const float16 fx = convert_float16(gx), fy = convert_float16(gy);
      int16 o;
      FHOG_ORIENT(float16, int16, fx, fy, o);
      const int16 x = x_base + (int16)(p);
      const int16 votes = x >= 1 & x < visible_nc;
      const size_t at = ((size_t)y * 8 + p) * bpitch + b0;
      vstore16(convert_uchar16(select((int16)(0), o, votes)), 0, orient + at);
      vstore16(select((float16)(0.0f), sqrt(convert_float16(gx * gx + gy * gy)), votes), 0,
               mag + at);
    }
  }
}

// RGB (dlib's rgb_pixel path): one work-item per pixel x (block < bpitch;
// cell * bpitch tiles per row) of row y = 1 + tile row, the gradient of the
// strongest channel; simd_end splits dlib's SIMD blocks (x < simd_end) from
// its scalar tail, which breaks ties between channels the other way.
kernel void fhog_gradient_rgb(global uchar *restrict orient, global float *restrict mag,
                              global const uchar *restrict img,
                              global const fhog_level *restrict levels, const int level0,
                              const int nlevels, const int tiles, const int cell) {
  const int i = (int)get_global_id(0);
  if (i >= tiles) return;
  const fhog_level lv = fhog_level_of(levels + level0, nlevels, FHOG_GRADIENT, i);
  const int t = i - lv.first[FHOG_GRADIENT], nx = cell * lv.bpitch;
  const int2 tile = fhog_tile(t, nx);
  const int x = tile.x, y = 1 + tile.y, bpitch = lv.bpitch, visible_nc = lv.visible_nc;
  if (fhog_block(x, cell) >= bpitch || y >= lv.visible_nr) return;
  orient += lv.slot_at;
  mag += lv.slot_at;
  const size_t at = fhog_slot(x, y, cell, bpitch);
  if (x == 0) fhog_zero_front(orient, mag, y, cell, bpitch);
  if (x < 1 || x >= visible_nc) {
    orient[at] = 0;
    mag[at] = 0;
    return;
  }
  const int stride = lv.img_pitch;
  global const uchar *p = img + lv.img_at + (size_t)y * stride + (size_t)x * 3;
  const int simd = x < lv.simd_end;
  int gx = 0, gy = 0, len = -1;
  for (int ch = 0; ch < 3; ch++) {
    const int dx = (int)p[3 + ch] - (int)p[-3 + ch];
    const int dy = (int)p[stride + ch] - (int)p[-stride + ch];
    const int l = dx * dx + dy * dy;
    if (ch == 0 || (simd ? l >= len : l > len)) {
      gx = dx;
      gy = dy;
      len = l;
    }
  }
  int o;
  FHOG_ORIENT(float, int, (float)gx, (float)gy, o);
  orient[at] = (uchar)o;
  mag[at] = sqrt((float)len);
}

// part: (bands) x 18 bins x 4 x bpitch: for band q (pixel rows y with
// (2y + 1 + cell) / (2 cell) == q, row phase py, vertical weight v0 =
// (2 py + 1 - cell % 2) / 2 cell) and block b, the votes into histogram
// cell (q, b) [0], (q, b + 1) [1], (q + 1, b) [2], (q + 1, b + 1) [3]. One
// work-item per 16 blocks (bpitch / 16 tiles per row) x band. Bins in groups
// of 3 keep the 12 sums and 6 row sums in registers.
kernel void fhog_hist(global float *restrict part, global const uchar *restrict orient,
                      global const float *restrict mag, global const fhog_level *restrict levels,
                      const int level0, const int nlevels, const int tiles, const int cell) {
  const int i = (int)get_global_id(0);
  if (i >= tiles) return;
  const fhog_level lv = fhog_level_of(levels + level0, nlevels, FHOG_HIST, i);
  const int t = i - lv.first[FHOG_HIST], nx = lv.bpitch / 16;
  const int2 tile = fhog_tile(t, nx);
  const int b0 = 16 * tile.x, q = tile.y, bpitch = lv.bpitch, visible_nr = lv.visible_nr;
  if (q >= lv.bands) return;
  part += lv.part_at;
  orient += lv.slot_at;
  mag += lv.slot_at;
  const int odd = cell % 2;
  const float two_cell = (float)(2 * cell);
  const int y_first = cell * q - (cell + 1) / 2;
  const int y0 = max(1, y_first), y1 = min(visible_nr, y_first + cell);
  for (int g = 0; g < 18; g += 3) {
    float16 s[3][4];
    for (int t = 0; t < 3; t++)
      for (int k = 0; k < 4; k++)
        s[t][k] = (float16)(0.0f);
    for (int p = 0; p < cell; p++) {
      const float w0 = (float)(2 * p + 1 - odd) / two_cell, w1 = 1.0f - w0;
      float16 up[3] = {(float16)(0.0f), (float16)(0.0f), (float16)(0.0f)};
      float16 down[3] = {(float16)(0.0f), (float16)(0.0f), (float16)(0.0f)};
      for (int y = y0; y < y1; y++) {
        const float v0 = (float)(2 * (y - y_first) + 1 - odd) / two_cell, v1 = 1.0f - v0;
        const size_t at = ((size_t)y * cell + p) * bpitch + b0;
        const int16 o = convert_int16(vload16(0, orient + at));
        const float16 m = vload16(0, mag + at);
        for (int t = 0; t < 3; t++) {
          const float16 mb = select((float16)(0.0f), m, o == (int16)(g + t));
          up[t] = fma((float16)(v1), mb, up[t]);
          down[t] = fma((float16)(v0), mb, down[t]);
        }
      }
      for (int t = 0; t < 3; t++) {
        s[t][0] = fma((float16)(w1), up[t], s[t][0]);
        s[t][1] = fma((float16)(w0), up[t], s[t][1]);
        s[t][2] = fma((float16)(w1), down[t], s[t][2]);
        s[t][3] = fma((float16)(w0), down[t], s[t][3]);
      }
    }
    for (int t = 0; t < 3; t++)
      for (int k = 0; k < 4; k++)
        vstore16(s[t][k], 0, part + (((size_t)q * 18 + g + t) * 4 + k) * bpitch + b0);
  }
}

// hist: cells_nr x cells_nc x 18, cell (r, c) being dlib's padded histogram
// cell (r + 1, c + 1); norm: cells_nr x cells_nc, the cell's energy. One
// work-item per cell.
kernel void fhog_combine(global float *restrict hist, global float *restrict norm,
                         global const float *restrict part,
                         global const fhog_level *restrict levels, const int level0,
                         const int nlevels, const int tiles) {
  const int i = (int)get_global_id(0);
  if (i >= tiles) return;
  const fhog_level lv = fhog_level_of(levels + level0, nlevels, FHOG_COMBINE, i);
  const int t = i - lv.first[FHOG_COMBINE], cells_nc = lv.cells_nc, bpitch = lv.bpitch;
  const int2 tile = fhog_tile(t, cells_nc);
  const int c = tile.x, r = tile.y;
  if (r >= lv.cells_nr) return;
  hist += (size_t)lv.cell_at * 18;
  norm += lv.cell_at;
  part += lv.part_at;
  const int R = r + 1, C = c + 1;
  global float *h = hist + ((size_t)r * cells_nc + c) * 18;
#define PART(q, o, k, b) part[(((size_t)(q)*18 + (o)) * 4 + (k)) * bpitch + (b)]
  for (int o = 0; o < 18; o++)
    h[o] = (PART(R, o, 0, C) + PART(R, o, 1, C - 1)) +
           (PART(R - 1, o, 2, C) + PART(R - 1, o, 3, C - 1));
#undef PART
  float e = 0;
  for (int o = 0; o < 9; o++) {
    const float s = h[o] + h[o + 9];
    e = e + s * s;
  }
  norm[(size_t)r * cells_nc + c] = e;
}

// min(v, nn_k) * n_k, as the C code (plain scalars: Oclgrind 21.10's
// --uninitialized plugin crashes on the vector form).
inline float fhog_clip(const float v, const float nn, const float n) {
  return (v < nn ? v : nn) * n;
}

// dlib's SSE2 horizontal sum of lanes a, b, c, d: (a + c) + (b + d).
inline float fhog_sum4(const float a, const float b, const float c, const float d) {
  return (a + c) + (b + d);
}

// hog: 31 planes of plane_rows x pitch (>= rows x cols, ds_hog_feature_layout);
// cell (y, x) of the hog_nr x hog_nc cells lands at (y + row_off, x +
// col_off), everything else is 0, the padding up to pitch and plane_rows too.
// One work-item per element of a plane.
kernel void fhog_features(global float *restrict hog, global const float *restrict hist,
                          global const float *restrict norm,
                          global const fhog_level *restrict levels, const int level0,
                          const int nlevels, const int tiles, const int row_off,
                          const int col_off) {
  const int i = (int)get_global_id(0);
  if (i >= tiles) return;
  const fhog_level lv = fhog_level_of(levels + level0, nlevels, FHOG_FEATURES, i);
  const int t = i - lv.first[FHOG_FEATURES], pitch = lv.pitch, plane_rows = lv.plane_rows;
  const int2 tile = fhog_tile(t, pitch);
  const int xx = tile.x, yy = tile.y, cells_nc = lv.cells_nc;
  const int hog_nr = lv.cells_nr - 2, hog_nc = cells_nc - 2;
  if (yy >= plane_rows) return;
  hog += lv.hog_at;
  hist += (size_t)lv.cell_at * 18;
  norm += lv.cell_at;
  const size_t plane = (size_t)plane_rows * pitch, at = (size_t)yy * pitch + xx;
  const int y = yy - row_off, x = xx - col_off;
  if (y < 0 || x < 0 || y >= hog_nr || x >= hog_nc) {
    for (int o = 0; o < 31; o++)
      hog[o * plane + at] = 0;
    return;
  }
#define NORM(r, c) norm[(size_t)(r)*cells_nc + (c)]
  // The 4 blocks around the cell, lane by lane as the C code's z1..z4.
  const float a00 = NORM(y, x), a01 = NORM(y, x + 1), a02 = NORM(y, x + 2);
  const float a10 = NORM(y + 1, x), a11 = NORM(y + 1, x + 1), a12 = NORM(y + 1, x + 2);
  const float a20 = NORM(y + 2, x), a21 = NORM(y + 2, x + 1), a22 = NORM(y + 2, x + 2);
#undef NORM
  const float eps = 0.0001f;
  const float nn0 = 0.2f * sqrt(a11 + a12 + a21 + a22 + eps);
  const float nn1 = 0.2f * sqrt(a01 + a02 + a11 + a12 + eps);
  const float nn2 = 0.2f * sqrt(a10 + a11 + a20 + a21 + eps);
  const float nn3 = 0.2f * sqrt(a00 + a01 + a10 + a11 + eps);
  const float n0 = 0.1f / nn0, n1 = 0.1f / nn1, n2 = 0.1f / nn2, n3 = 0.1f / nn3;
  global const float *h = hist + ((size_t)(y + 1) * cells_nc + (x + 1)) * 18;
  float t0 = 0, t1 = 0, t2 = 0, t3 = 0;
  for (int o = 0; o < 18; o += 3) {
#define CLIP(v, k) fhog_clip(v, nn##k, n##k)
    const float h00 = CLIP(h[o], 0), h01 = CLIP(h[o], 1), h02 = CLIP(h[o], 2), h03 = CLIP(h[o], 3);
    const float h10 = CLIP(h[o + 1], 0), h11 = CLIP(h[o + 1], 1), h12 = CLIP(h[o + 1], 2),
                h13 = CLIP(h[o + 1], 3);
    const float h20 = CLIP(h[o + 2], 0), h21 = CLIP(h[o + 2], 1), h22 = CLIP(h[o + 2], 2),
                h23 = CLIP(h[o + 2], 3);
    t0 += h00 + h10 + h20;
    t1 += h01 + h11 + h21;
    t2 += h02 + h12 + h22;
    t3 += h03 + h13 + h23;
    hog[o * plane + at] = fhog_sum4(h00, h01, h02, h03);
    hog[(o + 1) * plane + at] = fhog_sum4(h10, h11, h12, h13);
    hog[(o + 2) * plane + at] = fhog_sum4(h20, h21, h22, h23);
  }
  for (int o = 0; o < 9; o++) {
    const float s = h[o] + h[o + 9];
    hog[(o + 18) * plane + at] = fhog_sum4(CLIP(s, 0), CLIP(s, 1), CLIP(s, 2), CLIP(s, 3));
  }
#undef CLIP
  hog[27 * plane + at] = t0 * 0.4714f;
  hog[28 * plane + at] = t1 * 0.4714f;
  hog[29 * plane + at] = t2 * 0.4714f;
  hog[30 * plane + at] = t3 * 0.4714f;
}
