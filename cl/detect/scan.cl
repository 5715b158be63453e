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
// scan_strip, the separable bank: one work-item per 16 output columns x RB
// output rows x filter. For each rank-1 term (column filter x row filter) of
// the filter, in the C detector's order (plane, then term), every input row
// the strip needs is row-filtered once (FC fused multiply-adds on 16
// columns) and added with its column weight into the RB accumulators it
// reaches. Each term's sums run in the reference's order; fma() rounds once
// where the reference rounds twice, so scores agree to float rounding
// (~1e-6 relative), not bit for bit.
//
// scan_full: the full 31 x FR x FC dot product (zero weights skipped), one
// work-item per window and filter; the exact linear model, for tests.
kernel void scan_strip(global float *restrict sal, const ulong sal_offset,
                       global const float *restrict hog,
                       global const float *restrict sep, global const int *restrict term_plane,
                       global const int *restrict first, global const int *restrict count,
                       const int pitch, const int plane_rows, const int out_rows,
                       const int out_cols) {
  const int c0 = (int)get_global_id(0) * 16, r0 = (int)get_global_id(1) * RB;
  const int k = (int)get_global_id(2);
  if (c0 >= out_cols || r0 >= out_rows) return;
  sal += sal_offset;
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
kernel void scan_full(global float *restrict sal, const ulong sal_offset,
                      global const float *restrict hog,
                      global const float *restrict w, const int filters, const int pitch,
                      const int plane_rows, const int out_rows, const int out_cols) {
#pragma OPENCL FP_CONTRACT OFF
  const int c = (int)get_global_id(0), r = (int)get_global_id(1), k = (int)get_global_id(2);
  if (c >= out_cols || r >= out_rows || k >= filters) return;
  sal += sal_offset;
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
