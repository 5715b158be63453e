// Register-blocked GEMM with a fused epilogue:
//   C[M,N] = act(A[M,K] . B[K,N] (+ C when accumulating) (+ bias[N]))
// A is read through strides (lda_m, lda_k), so the same kernel serves A and
// A^T; B is row-major with leading dimension ldb and is read in vectors.
//
// gemm_tile computes full MR x (VW*NV) tiles, one per work-item: MR rows of
// A are broadcast against NV vectors of B per k, all accumulators stay in
// registers and every multiply-add is an fma() (PoCL 3.1 does not fuse mad).
// gid0 walks row blocks so neighbouring work-items share the B panel in
// cache. gemm_edge computes the ragged right and bottom strips, one element
// per work-item.
//
// Build options: -DMR=<rows> -DVW=<4|8|16> -DNV=<1|2>.

#ifndef MR
#define MR 4
#endif
#ifndef VW
#define VW 4
#endif
#ifndef NV
#define NV 1
#endif

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define floatV CAT(float, VW)
#define vloadV CAT(vload, VW)
#define vstoreV CAT(vstore, VW)

#define GEMM_ACCUMULATE 1u
#define GEMM_BIAS 2u
#define GEMM_ACT_SHIFT 2
#define ACT_NONE 0u
#define ACT_LRELU 1u
#define ACT_SIGMOID 2u

inline float activate(const float x, const uint act) {
  if (act == ACT_LRELU) return x > 0.0f ? x : 0.1f * x;
  if (act == ACT_SIGMOID) return 1.0f / (1.0f + exp(-x));
  return x;
}

inline floatV activateV(const floatV x, const uint act) {
  if (act == ACT_LRELU) return select(0.1f * x, x, x > (floatV)0.0f);
  if (act == ACT_SIGMOID) return (floatV)1.0f / ((floatV)1.0f + exp(-x));
  return x;
}

kernel void gemm_tile(global const float *restrict A, const ulong a_off, const uint lda_m,
                      const uint lda_k, global const float *restrict B, const ulong b_off,
                      const uint ldb, global float *restrict C, const ulong c_off, const uint ldc,
                      global const float *restrict bias, const ulong bias_off, const uint K,
                      const uint flags, const uint tiles_m, const uint tiles_n,
                      const uint M, const uint N) {
  if (get_global_id(0) >= tiles_m || get_global_id(1) >= tiles_n) return;
  const size_t m0 = get_global_id(0) * MR;
  const size_t n0 = get_global_id(1) * (VW * NV);
  floatV acc[MR * NV];
#pragma unroll
  for (int i = 0; i < MR * NV; i++) acc[i] = (floatV)0.0f;

  global const float *ap = A + a_off + m0 * lda_m;
  global const float *bp = B + b_off + n0;
#pragma unroll 1
  for (uint k = 0; k < K; k++) {
    floatV b[NV];
#pragma unroll
    for (int v = 0; v < NV; v++) b[v] = vloadV(v, bp);
#pragma unroll
    for (int r = 0; r < MR; r++) {
      const floatV a = (floatV)ap[r * (size_t)lda_m];
#pragma unroll
      for (int v = 0; v < NV; v++) acc[r * NV + v] = fma(a, b[v], acc[r * NV + v]);
    }
    ap += lda_k;
    bp += ldb;
  }

  const uint act = flags >> GEMM_ACT_SHIFT;
  global float *cp = C + c_off + m0 * ldc + n0;
  if (n0 + VW * NV <= N && m0 + MR <= M) {
#pragma unroll
    for (int r = 0; r < MR; r++) {
#pragma unroll
      for (int v = 0; v < NV; v++) {
        floatV x = acc[r * NV + v];
        if (flags & GEMM_ACCUMULATE) x += vloadV(v, cp + r * (size_t)ldc);
        if (flags & GEMM_BIAS) x += vloadV(v, bias + bias_off + n0);
        vstoreV(activateV(x, act), v, cp + r * (size_t)ldc);
      }
    }
    return;
  }
  // the last tile of a padded A or B: only the rows < M and columns < N exist
  // in C. The r and v loops are unrolled so acc is indexed by constants and
  // stays in registers.
#pragma unroll
  for (int r = 0; r < MR; r++) {
#pragma unroll
    for (int v = 0; v < NV; v++) {
      if (m0 + r >= M) continue;
      float tmp[VW];
      vstoreV(acc[r * NV + v], 0, tmp);
      for (int j = 0; j < VW; j++) {
        const size_t n = n0 + v * VW + j;
        if (n >= N) break;
        float x = tmp[j];
        global float *c = cp + r * (size_t)ldc + v * VW + j;
        if (flags & GEMM_ACCUMULATE) x += *c;
        if (flags & GEMM_BIAS) x += bias[bias_off + n];
        *c = activate(x, act);
      }
    }
  }
}

// The elements of the rows [row0, row0 + get_global_size(0)) and columns
// [col0, col0 + get_global_size(1)) that gemm_tile does not cover.
kernel void gemm_edge(global const float *restrict A, const ulong a_off, const uint lda_m,
                      const uint lda_k, global const float *restrict B, const ulong b_off,
                      const uint ldb, global float *restrict C, const ulong c_off, const uint ldc,
                      global const float *restrict bias, const ulong bias_off, const uint K,
                      const uint flags,
                      const uint row0, const uint col0, const uint rows, const uint cols) {
  const uint i = get_global_id(0), j = get_global_id(1);
  if (i >= rows || j >= cols) return;
  const size_t m = row0 + i, n = col0 + j;
  global const float *ap = A + a_off + m * lda_m;
  global const float *bp = B + b_off + n;
  float acc = 0.0f;
  for (uint k = 0; k < K; k++) {
    acc = fma(*ap, *bp, acc);
    ap += lda_k;
    bp += ldb;
  }
  global float *cp = C + c_off + m * ldc + n;
  if (flags & GEMM_ACCUMULATE) acc += *cp;
  if (flags & GEMM_BIAS) acc += bias[bias_off + n];
  *cp = activate(acc, flags >> GEMM_ACT_SHIFT);
}

// ---- padded B ----
// When N is not a whole number of NB = VW*NV columns, B is copied into a
// zero-padded row-major buffer of Np columns so gemm_tile can run whole
// tiles across N (storing only the columns < N); a narrow N such as the 3
// output channels of the last convolution would otherwise fall to
// gemm_edge, one element per work-item.

// The same for A when its rows are few or far apart (a batch of 16 rows of a
// 32768-wide dense input): a row-major copy with Mp rows (zeros past M) and a
// pitch of lda floats, read through any strides of the original.
kernel void pad_a(global float *restrict Ap, const ulong ap_off, global const float *restrict A,
                  const ulong a_off, const uint lda_m, const uint lda_k, const uint M,
                  const uint K, const uint Mp, const uint lda) {
  const size_t e = get_global_id(0);
  if (e >= (size_t)Mp * K) return;
  const size_t m = e / K;
  const uint k = (uint)(e - m * K);
  Ap[ap_off + m * lda + k] = m < M ? A[a_off + m * lda_m + (size_t)k * lda_k] : 0.0f;
}

kernel void pad_b(global float *restrict Bp, const ulong bp_off, global const float *restrict B,
                  const ulong b_off, const uint ldb, const uint N, const uint K, const uint Np) {
  const size_t e = get_global_id(0);
  if (e >= (size_t)K * Np) return;
  const size_t k = e / Np;
  const uint n = (uint)(e - k * Np);
  Bp[bp_off + e] = n < N ? B[b_off + k * ldb + n] : 0.0f;
}
