// Linear filter responses of one fHOG level (engine/detect/hog_scan_cl.c;
// reference ds_hog_scores_reference). Built with -DFR=<filter rows>
// -DFC=<filter cols> -DRB=<output rows per strip>.
//
// Feature layout (ds_hog_feature_layout): plane o, row r, column c at
// hog[(o * plane_rows + r) * pitch + c], zero past the level's rows x cols,
// so that a strip of RB output rows x 16 output columns reads whole vectors
// without bounds checks.
#ifndef FR // dlib's frontal detector, for builds without options (dsengine devices)
#define FR 10
#endif
#ifndef FC
#define FC 10
#endif
#ifndef RB
#define RB 8
#endif
//
// Both kernels run over a batch of levels in one launch: the batch is
// levels[level0 .. level0 + nlevels) of a table, and work-item i < tiles
// belongs to its level L whose tile0 <= i < tile0 of level L + 1 (counted
// from the batch's start), as tile i - tile0 of it, numbered filter by
// filter, row by row. Mirrored field for field by
// engine/detect/hog_scan_cl.c.
typedef struct scan_level {
  int hog_at, pitch, plane_rows;  // its features, from float hog_at of hog
  int out_rows, out_cols, sal_at; // its scores, from float sal_at of sal
  int tile0;
} scan_level;

inline scan_level scan_level_of(global const scan_level *restrict lv, const int n, const int i) {
  int L = 0;
  while (L + 1 < n && i >= lv[L + 1].tile0)
    L++;
  return lv[L];
}

// scan_strip, the separable bank: one work-item per 16 output columns x RB
// output rows x filter (a level's tiles: ceil(out_cols / 16) per row). For
// each rank-1 term (column filter x row filter) of the filter, in the C
// detector's order (plane, then term), every input row the strip needs is
// row-filtered once (FC fused multiply-adds on 16 columns) and added with
// its column weight into the RB accumulators it reaches. Each term's sums
// run in the reference's order; fma() rounds once where the reference
// rounds twice, so scores agree to float rounding (~1e-6 relative), not bit
// for bit.
//
// scan_full: the full 31 x FR x FC dot product (zero weights skipped), one
// work-item per window and filter; the exact linear model, for tests.
kernel void scan_strip(global float *restrict sal, global const float *restrict hog,
                       global const float *restrict sep, global const int *restrict term_plane,
                       global const int *restrict first, global const int *restrict count,
                       global const scan_level *restrict levels, const int level0,
                       const int nlevels, const int tiles) {
  const int i = (int)get_global_id(0);
  if (i >= tiles) return;
  const scan_level lv = scan_level_of(levels + level0, nlevels, i);
  const int out_rows = lv.out_rows, out_cols = lv.out_cols, pitch = lv.pitch;
  const int plane_rows = lv.plane_rows;
  const int nx = (out_cols + 15) / 16, ny = (out_rows + RB - 1) / RB, t = i - lv.tile0;
  // (remainders by subtraction: see fhog.cl's fhog_tile)
  const int u = t / nx, k = u / ny;
  const int c0 = 16 * (t - u * nx), r0 = RB * (u - k * ny);
  sal += lv.sal_at;
  hog += lv.hog_at;
  float16 acc[RB];
#pragma unroll
  for (int i = 0; i < RB; i++)
    acc[i] = (float16)(0.0f);
  const int g0 = first[k], g1 = first[k] + count[k];
  for (int g = g0; g < g1; g++) {
    global const float *col = sep + (size_t)g * (FR + FC), *row = col + FR;
    global const float *base = hog + ((size_t)term_plane[g] * plane_rows + r0) * pitch + c0;
#pragma unroll
    for (int ri = 0; ri < RB + FR - 1; ri++) {
      global const float *p = base + (size_t)ri * pitch;
      float16 y = row[0] * vload16(0, p);
#pragma unroll
      for (int j = 1; j < FC; j++)
        y = fma((float16)(row[j]), vload16(0, p + j), y);
#pragma unroll
      for (int rb = 0; rb < RB; rb++)
        if (ri - rb >= 0 && ri - rb < FR) acc[rb] = fma((float16)(col[ri - rb]), y, acc[rb]);
    }
  }
  const int n = min(16, out_cols - c0);
#pragma unroll
  for (int rb = 0; rb < RB; rb++) {
    if (r0 + rb >= out_rows) break;
    global float *o = sal + ((size_t)k * out_rows + r0 + rb) * out_cols + c0;
    if (n == 16) {
      vstore16(acc[rb], 0, o);
    } else {
      float v[16];
      vstore16(acc[rb], 0, v);
      for (int i = 0; i < n; i++)
        o[i] = v[i];
    }
  }
}

// w: filters x 31 x FR x FC. Plain sums with contraction off, the order of
// the reference.
kernel void scan_full(global float *restrict sal, global const float *restrict hog,
                      global const float *restrict w, global const scan_level *restrict levels,
                      const int level0, const int nlevels, const int tiles) {
#pragma OPENCL FP_CONTRACT OFF
  const int i = (int)get_global_id(0);
  if (i >= tiles) return;
  const scan_level lv = scan_level_of(levels + level0, nlevels, i);
  const int out_rows = lv.out_rows, out_cols = lv.out_cols, pitch = lv.pitch;
  const int plane_rows = lv.plane_rows, t = i - lv.tile0;
  const int u = t / out_cols, k = u / out_rows;
  const int c = t - u * out_cols, r = u - k * out_rows;
  sal += lv.sal_at;
  hog += lv.hog_at;
  global const float *wk = w + (size_t)k * 31 * FR * FC;
  float acc = 0;
  for (int o = 0; o < 31; o++)
    for (int i = 0; i < FR; i++)
      for (int j = 0; j < FC; j++) {
        const float wv = wk[(o * FR + i) * FC + j];
        if (wv == 0) continue;
        acc = acc + wv * hog[((size_t)o * plane_rows + r + i) * pitch + c + j];
      }
  sal[((size_t)k * out_rows + r) * out_cols + c] = acc;
}
