// GEMM for GPUs, C[M,N] = act(A[M,K] . B[K,N] (+ C) (+ bias[N])), the way
// the fast OpenCL SGEMMs are built (../shared/reference/gpu-gemm.md, 1.1):
// a work-group computes a GT_TM x GT_TN tile of C from K slabs of GT_KS that
// it stages in local memory, A as As[k][m] and B as Bs[k][n], each row
// padded by one float against bank conflicts. Two slab buffers alternate:
// while the group multiplies slab t out of one, every work-item holds its
// share of slab t + 1 in registers (loaded from global memory before the
// multiply, so the loads are in flight during it) and stores it into the
// other afterwards; one barrier per slab. Work-item (x, y) of a GT_RX x
// GT_RY group accumulates a GT_WM x GT_WN register tile, rows y + i * GT_RY
// and columns x + j * GT_RX: neighbouring work-items read neighbouring Bs
// entries, share As entries (a broadcast) and store neighbouring columns of
// C.
//
// A is read through its strides (lda_m, lda_k): along k when lda_k == 1 (row
// major), along m when lda_m == 1 (transposed), element by element
// otherwise. Global loads are float4 where the host says the operand is
// 16-byte aligned (vec bit 0: A, bit 1: B) and the slab lies inside the
// matrix; ragged slabs at the edges load element by element with zeros
// outside, and stores are guarded, so no padded copies are needed.
//
// Split K: work-group (.., .., s) covers K in [s * k_split, (s + 1) *
// k_split); with `partial` set it writes its raw sums to part[s][M][N] and
// gemm_split_sum adds the slices and applies the epilogue.
//
// Build options: -DGT_TM -DGT_TN -DGT_KS -DGT_RX -DGT_RY (local size GT_RX x
// GT_RY, enforced by reqd_work_group_size).

#define GEMM_ACCUMULATE 1u
#define GEMM_BIAS 2u
#define GEMM_ACT_SHIFT 2
#define ACT_LRELU 1u
#define ACT_SIGMOID 2u

inline float activate(const float x, const uint act) {
  if (act == ACT_LRELU) return x > 0.0f ? x : 0.1f * x;
  if (act == ACT_SIGMOID) return 1.0f / (1.0f + exp(-x));
  return x;
}

// The epilogue of one element of C: the sum, C's old value, bias, act.
inline void store_c(global float *c, const float sum, global const float *restrict bias,
                    const size_t n, const uint flags) {
  float v = sum;
  if (flags & GEMM_ACCUMULATE) v += *c;
  if (flags & GEMM_BIAS) v += bias[n];
  *c = activate(v, flags >> GEMM_ACT_SHIFT);
}

// C = act(C + bias) over an M x N block: the epilogue of a product computed
// by a library that has none (CLBlast).
kernel void gemm_bias_act(global float *restrict C, const ulong c_off, const uint ldc,
                          global const float *restrict bias, const ulong bias_off, const uint M,
                          const uint N, const uint flags) {
  const uint n = get_global_id(0), m = get_global_id(1);
  if (n >= N || m >= M) return;
  global float *c = C + c_off + (size_t)m * ldc + n;
  float v = *c;
  if (flags & GEMM_BIAS) v += bias[bias_off + n];
  *c = activate(v, flags >> GEMM_ACT_SHIFT);
}

// C = act(sum over s of part[s][m][n] (+ C) (+ bias)): the slices of a
// split-K product added in a fixed order.
kernel void gemm_split_sum(global float *restrict C, const ulong c_off, const uint ldc,
                           global const float *restrict part, const ulong part_off,
                           const uint splits, global const float *restrict bias,
                           const ulong bias_off, const uint M, const uint N, const uint flags) {
  const uint n = get_global_id(0), m = get_global_id(1);
  if (n >= N || m >= M) return;
  global const float *p = part + part_off + (size_t)m * N + n;
  const size_t slice = (size_t)M * N;
  float sum = 0.0f;
  for (uint s = 0; s < splits; s++)
    sum += p[s * slice];
  store_c(C + c_off + (size_t)m * ldc + n, sum, bias + bias_off, n, flags);
}

#ifdef GT_TM
#define GT_WM (GT_TM / GT_RY)
#define GT_WN (GT_TN / GT_RX)
#define GT_THREADS (GT_RX * GT_RY)
#define GT_LDA (GT_TM + 1)
#define GT_LDB (GT_TN + 1)
// float4s of a slab, and how many each work-item loads (the last round
// partly, when a narrow tile has fewer float4s than work-items)
#define GT_AQ (GT_TM * GT_KS / 4)
#define GT_BQ (GT_TN * GT_KS / 4)
#define GT_AV ((GT_AQ + GT_THREADS - 1) / GT_THREADS)
#define GT_BV ((GT_BQ + GT_THREADS - 1) / GT_THREADS)
#if GT_TM % GT_RY || GT_TN % GT_RX || GT_KS % 4 || GT_TM % 4 || GT_TN % 4
#error "gemm_gpu: tiles must split into work-items and float4s"
#endif

// Where float4 number q of A's slab lies: (r, kk) is its first element; it
// runs along k (row-major A or any strides) or along m (transposed A).
inline void a_slot(const uint q, const int along_m, uint *r, uint *kk) {
  if (along_m) {
    *kk = q / (GT_TM / 4);
    *r = (q - *kk * (GT_TM / 4)) * 4;
  } else {
    *r = q / (GT_KS / 4);
    *kk = (q - *r * (GT_KS / 4)) * 4;
  }
}

// This work-item's share of A's slab [k0, k0 + GT_KS) into registers.
inline void load_a(float4 *ra, global const float *restrict A, const ulong a_off,
                   const uint lda_m, const uint lda_k, const uint M, const uint m0,
                   const uint k0, const uint kend, const uint tid, const int along_m,
                   const int vec) {
  const int inside = vec && m0 + GT_TM <= M && k0 + GT_KS <= kend;
#pragma unroll
  for (int i = 0; i < GT_AV; i++) {
    if (GT_AQ % GT_THREADS && tid + i * GT_THREADS >= GT_AQ) break;
    uint r, kk;
    a_slot(tid + i * GT_THREADS, along_m, &r, &kk);
    const size_t m = m0 + r, k = k0 + kk;
    if (inside) {
      ra[i] = ((global const float4 *)A)[(a_off + m * lda_m + k * lda_k) >> 2];
    } else {
      float v[4];
#pragma unroll
      for (int j = 0; j < 4; j++) {
        const size_t mm = along_m ? m + j : m, kj = along_m ? k : k + j;
        v[j] = mm < M && kj < kend ? A[a_off + mm * lda_m + kj * lda_k] : 0.0f;
      }
      ra[i] = (float4)(v[0], v[1], v[2], v[3]);
    }
  }
}

inline void store_a(local float (*As)[GT_LDA], const float4 *ra, const uint tid,
                    const int along_m) {
#pragma unroll
  for (int i = 0; i < GT_AV; i++) {
    if (GT_AQ % GT_THREADS && tid + i * GT_THREADS >= GT_AQ) break;
    uint r, kk;
    a_slot(tid + i * GT_THREADS, along_m, &r, &kk);
    if (along_m) {
      As[kk][r] = ra[i].x;
      As[kk][r + 1] = ra[i].y;
      As[kk][r + 2] = ra[i].z;
      As[kk][r + 3] = ra[i].w;
    } else {
      As[kk][r] = ra[i].x;
      As[kk + 1][r] = ra[i].y;
      As[kk + 2][r] = ra[i].z;
      As[kk + 3][r] = ra[i].w;
    }
  }
}

// B's slab: float4 number q holds (kk, c .. c + 3).
inline void load_b(float4 *rb, global const float *restrict B, const ulong b_off,
                   const uint ldb, const uint N, const uint n0, const uint k0, const uint kend,
                   const uint tid, const int vec) {
  const int inside = vec && n0 + GT_TN <= N && k0 + GT_KS <= kend;
#pragma unroll
  for (int i = 0; i < GT_BV; i++) {
    if (GT_BQ % GT_THREADS && tid + i * GT_THREADS >= GT_BQ) break;
    const uint q = tid + i * GT_THREADS, kk = q / (GT_TN / 4), c = (q - kk * (GT_TN / 4)) * 4;
    const size_t n = n0 + c, k = k0 + kk;
    if (inside) {
      rb[i] = ((global const float4 *)B)[(b_off + k * ldb + n) >> 2];
    } else {
      float v[4];
#pragma unroll
      for (int j = 0; j < 4; j++)
        v[j] = n + j < N && k < kend ? B[b_off + k * ldb + n + j] : 0.0f;
      rb[i] = (float4)(v[0], v[1], v[2], v[3]);
    }
  }
}

inline void store_b(local float (*Bs)[GT_LDB], const float4 *rb, const uint tid) {
#pragma unroll
  for (int i = 0; i < GT_BV; i++) {
    if (GT_BQ % GT_THREADS && tid + i * GT_THREADS >= GT_BQ) break;
    const uint q = tid + i * GT_THREADS, kk = q / (GT_TN / 4), c = (q - kk * (GT_TN / 4)) * 4;
    Bs[kk][c] = rb[i].x;
    Bs[kk][c + 1] = rb[i].y;
    Bs[kk][c + 2] = rb[i].z;
    Bs[kk][c + 3] = rb[i].w;
  }
}

__attribute__((reqd_work_group_size(GT_RX, GT_RY, 1)))
kernel void gemm_gpu(global const float *restrict A, const ulong a_off, const uint lda_m,
                     const uint lda_k, global const float *restrict B, const ulong b_off,
                     const uint ldb, global float *restrict C, const ulong c_off,
                     const uint ldc, global const float *restrict bias, const ulong bias_off,
                     const uint K, const uint flags, const uint M, const uint N,
                     const uint k_split, global float *restrict part, const ulong part_off,
                     const uint partial, const uint vec) {
  local float As[2][GT_KS][GT_LDA];
  local float Bs[2][GT_KS][GT_LDB];
  const uint x = get_local_id(0), y = get_local_id(1), tid = y * GT_RX + x;
  const uint m0 = get_group_id(1) * GT_TM, n0 = get_group_id(0) * GT_TN;
  const uint split = get_group_id(2);
  const uint kbeg = split * k_split;
  const uint kend = kbeg < K ? min(K, kbeg + k_split) : kbeg;
  const uint slabs = (kend - kbeg + GT_KS - 1) / GT_KS;
  const int along_m = lda_m == 1 && lda_k != 1;

  float acc[GT_WM][GT_WN];
#pragma unroll
  for (int i = 0; i < GT_WM; i++)
#pragma unroll
    for (int j = 0; j < GT_WN; j++)
      acc[i][j] = 0.0f;

  float4 ra[GT_AV], rb[GT_BV];
  load_a(ra, A, a_off, lda_m, lda_k, M, m0, kbeg, kend, tid, along_m, vec & 1);
  load_b(rb, B, b_off, ldb, N, n0, kbeg, kend, tid, vec & 2);
  store_a(As[0], ra, tid, along_m);
  store_b(Bs[0], rb, tid);
  barrier(CLK_LOCAL_MEM_FENCE);

  for (uint t = 0; t < slabs; t++) {
    const uint cur = t & 1;
    const int more = t + 1 < slabs;
    if (more) {
      const uint k0 = kbeg + (t + 1) * GT_KS;
      load_a(ra, A, a_off, lda_m, lda_k, M, m0, k0, kend, tid, along_m, vec & 1);
      load_b(rb, B, b_off, ldb, N, n0, k0, kend, tid, vec & 2);
    }
    local float (*as)[GT_LDA] = As[cur];
    local float (*bs)[GT_LDB] = Bs[cur];
#pragma unroll
    for (int kk = 0; kk < GT_KS; kk++) {
      float a[GT_WM], b[GT_WN];
#pragma unroll
      for (int i = 0; i < GT_WM; i++)
        a[i] = as[kk][y + i * GT_RY];
#pragma unroll
      for (int j = 0; j < GT_WN; j++)
        b[j] = bs[kk][x + j * GT_RX];
#pragma unroll
      for (int i = 0; i < GT_WM; i++)
#pragma unroll
        for (int j = 0; j < GT_WN; j++)
          acc[i][j] = fma(a[i], b[j], acc[i][j]);
    }
    if (more) {
      store_a(As[cur ^ 1], ra, tid, along_m);
      store_b(Bs[cur ^ 1], rb, tid);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }

#pragma unroll
  for (int i = 0; i < GT_WM; i++) {
    const size_t m = m0 + y + i * GT_RY;
    if (m >= M) continue;
#pragma unroll
    for (int j = 0; j < GT_WN; j++) {
      const size_t n = n0 + x + j * GT_RX;
      if (n >= N) continue;
      if (partial)
        part[part_off + ((size_t)split * M + m) * N + n] = acc[i][j];
      else
        store_c(C + c_off + m * ldc + n, acc[i][j], bias + bias_off, n, flags);
    }
  }
}
#endif
