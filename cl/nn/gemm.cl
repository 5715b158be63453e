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
// Build options: -DMR=<rows> -DVW=<4|8|16> -DNV=<1|2|4>; for gemm_ltile (at
// the end) -DLT_WM -DLT_WN -DLT_K -DLT_RX -DLT_RY.

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
  const uint k = get_global_id(0), m = get_global_id(1);
  if (k >= K || m >= Mp) return;
  Ap[ap_off + (size_t)m * lda + k] = m < M ? A[a_off + (size_t)m * lda_m + (size_t)k * lda_k] : 0.0f;
}

// One work-item per element, dimension 0 along the row: no index division,
// and neighbouring work-items copy neighbouring floats.
kernel void pad_b(global float *restrict Bp, const ulong bp_off, global const float *restrict B,
                  const ulong b_off, const uint ldb, const uint N, const uint K, const uint Np) {
  const uint n = get_global_id(0), k = get_global_id(1);
  if (n >= Np || k >= K) return;
  Bp[bp_off + (size_t)k * Np + n] = n < N ? B[b_off + (size_t)k * ldb + n] : 0.0f;
}

// ---- local-memory tiles (GPUs) ----
// gemm_ltile: each work-group computes a TM x TN tile of C, TM = LT_WM *
// LT_RY rows and TN = LT_WN * LT_RX columns, from K-slices of LT_K that the
// group stages in local memory: A's slice as As[k][m], B's as Bs[k][n].
// Work-item (x, y) accumulates rows y + i * LT_RY and columns x + j * LT_RX
// in registers, so neighbouring work-items read neighbouring Bs entries and
// store neighbouring columns of C (coalesced), and every work-item of a row
// reads the same As entry (a broadcast). Ragged M, N and K load zeros and
// store only inside C: no padded copies, no edge kernel. The local size must
// be (LT_RX, LT_RY).
//
// Build options: -DLT_WM -DLT_WN -DLT_K -DLT_RX -DLT_RY.
#ifdef LT_WM
#define LT_TM (LT_WM * LT_RY)
#define LT_TN (LT_WN * LT_RX)
#define LT_THREADS (LT_RX * LT_RY)

__attribute__((reqd_work_group_size(LT_RX, LT_RY, 1)))
kernel void gemm_ltile(global const float *restrict A, const ulong a_off, const uint lda_m,
                       const uint lda_k, global const float *restrict B, const ulong b_off,
                       const uint ldb, global float *restrict C, const ulong c_off,
                       const uint ldc, global const float *restrict bias, const ulong bias_off,
                       const uint K, const uint flags, const uint M, const uint N) {
  local float As[LT_K][LT_TM];
  local float Bs[LT_K][LT_TN];
  const uint x = get_local_id(0), y = get_local_id(1);
  const uint tid = y * LT_RX + x;
  const size_t m0 = (size_t)get_group_id(1) * LT_TM, n0 = (size_t)get_group_id(0) * LT_TN;
  // A's slice is read along k when A is row-major, along m when it is
  // transposed: either way consecutive work-items read consecutive floats
  const int a_along_k = lda_k == 1;
  float acc[LT_WM][LT_WN];
#pragma unroll
  for (int i = 0; i < LT_WM; i++)
#pragma unroll
    for (int j = 0; j < LT_WN; j++)
      acc[i][j] = 0.0f;

  for (uint k0 = 0; k0 < K; k0 += LT_K) {
    for (uint e = tid; e < LT_TM * LT_K; e += LT_THREADS) {
      uint r, kk;
      if (a_along_k) {
        r = e / LT_K;
        kk = e - r * LT_K;
      } else {
        kk = e / LT_TM;
        r = e - kk * LT_TM;
      }
      const size_t m = m0 + r;
      const uint k = k0 + kk;
      As[kk][r] = m < M && k < K ? A[a_off + m * lda_m + (size_t)k * lda_k] : 0.0f;
    }
    for (uint e = tid; e < LT_TN * LT_K; e += LT_THREADS) {
      const uint kk = e / LT_TN, c = e - kk * LT_TN;
      const size_t n = n0 + c;
      const uint k = k0 + kk;
      Bs[kk][c] = n < N && k < K ? B[b_off + (size_t)k * ldb + n] : 0.0f;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
#pragma unroll
    for (int kk = 0; kk < LT_K; kk++) {
      float a[LT_WM], b[LT_WN];
#pragma unroll
      for (int i = 0; i < LT_WM; i++)
        a[i] = As[kk][y + i * LT_RY];
#pragma unroll
      for (int j = 0; j < LT_WN; j++)
        b[j] = Bs[kk][x + j * LT_RX];
#pragma unroll
      for (int i = 0; i < LT_WM; i++)
#pragma unroll
        for (int j = 0; j < LT_WN; j++)
          acc[i][j] = fma(a[i], b[j], acc[i][j]);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }

  const uint act = flags >> GEMM_ACT_SHIFT;
#pragma unroll
  for (int i = 0; i < LT_WM; i++) {
    const size_t m = m0 + y + i * LT_RY;
    if (m >= M) continue;
#pragma unroll
    for (int j = 0; j < LT_WN; j++) {
      const size_t n = n0 + x + j * LT_RX;
      if (n >= N) continue;
      global float *c = C + c_off + m * ldc + n;
      float v = acc[i][j];
      if (flags & GEMM_ACCUMULATE) v += *c;
      if (flags & GEMM_BIAS) v += bias[bias_off + n];
      *c = activate(v, act);
    }
  }
}
#endif
