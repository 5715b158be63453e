// Linear filter responses of one fHOG level (engine/detect/hog_scan_cl.c,
// ds_hog_scores_reference), summed in the C detector's order with
// contraction off (bit-identical to it on PoCL and Oclgrind). Separable
// bank: scan_rows filters every feature row of each term g's plane with its
// row filter into x (terms x rows x out_cols), then
// scan_cols sums, per filter, its terms' column filters down x. Full bank:
// scan_full, the plain 31 x fr x fc dot product (zero weights skipped).
#pragma OPENCL FP_CONTRACT OFF

// sep: per term fr column then fc row weights; term_plane: each term's plane.
// One work-item per (c, r) does every term (fewer, longer work-items: PoCL's
// cost per work-group dominates otherwise).
kernel void scan_rows(global float *restrict x, global const float *restrict hog,
                      global const float *restrict sep, global const int *restrict term_plane,
                      const int terms, const int rows, const int cols, const int out_cols,
                      const int fr, const int fc) {
  const int c = (int)get_global_id(0), r = (int)get_global_id(1);
  if (c >= out_cols || r >= rows) return;
  for (int g = 0; g < terms; g++) {
    global const float *row = sep + (size_t)g * (fr + fc) + fr;
    global const float *f = hog + ((size_t)term_plane[g] * rows + r) * cols + c;
    float acc = 0;
    for (int j = 0; j < fc; j++)
      acc = acc + row[j] * f[j];
    x[((size_t)g * rows + r) * out_cols + c] = acc;
  }
}

// sal: filters x out_rows x out_cols; filter k uses terms first[k] ..
// first[k] + count[k] - 1.
kernel void scan_cols(global float *restrict sal, global const float *restrict x,
                      global const float *restrict sep, global const int *restrict first,
                      global const int *restrict count, const int filters, const int rows,
                      const int out_rows, const int out_cols, const int fr, const int fc) {
  const int c = (int)get_global_id(0), r = (int)get_global_id(1), k = (int)get_global_id(2);
  if (c >= out_cols || r >= out_rows || k >= filters) return;
  float acc = 0;
  const int g0 = first[k], g1 = first[k] + count[k];
  for (int g = g0; g < g1; g++) {
    global const float *col = sep + (size_t)g * (fr + fc);
    global const float *xg = x + ((size_t)g * rows + r) * out_cols + c;
    for (int i = 0; i < fr; i++)
      acc = acc + col[i] * xg[(size_t)i * out_cols];
  }
  sal[((size_t)k * out_rows + r) * out_cols + c] = acc;
}

// w: filters x 31 x fr x fc.
kernel void scan_full(global float *restrict sal, global const float *restrict hog,
                      global const float *restrict w, const int filters, const int rows,
                      const int cols, const int out_rows, const int out_cols, const int fr,
                      const int fc) {
  const int c = (int)get_global_id(0), r = (int)get_global_id(1), k = (int)get_global_id(2);
  if (c >= out_cols || r >= out_rows || k >= filters) return;
  global const float *wk = w + (size_t)k * 31 * fr * fc;
  float acc = 0;
  for (int o = 0; o < 31; o++)
    for (int i = 0; i < fr; i++)
      for (int j = 0; j < fc; j++) {
        const float wv = wk[(o * fr + i) * fc + j];
        if (wv == 0) continue;
        acc = acc + wv * hog[((size_t)o * rows + r + i) * cols + c + j];
      }
  sal[((size_t)k * out_rows + r) * out_cols + c] = acc;
}
