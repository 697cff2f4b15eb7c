// Register-blocked GEMM of a thread block, for the block programs (block_exec.h): C = init + A·Bᵀ
// with every operand read through strides from shared or global memory.
#pragma once

#include <cstdint>

#include "cuda/block_exec.h"

namespace metarl {
namespace gpu {

// An operand of block_gemm: element (m, k) at p[m·ms + k·ks] (shared or global memory).
template <typename T>
struct Operand {
  const T* p;
  int64_t ms, ks;
  METARL_HD T at(int m, int k) const { return p[m * ms + k * ks]; }
};

constexpr int kMicro = 4;  // each thread computes kMicro × kMicro results in registers

// acc[r][c] += Σ_{k<K} A(mi[r], k) B(ni[c], k), in k order.
template <typename T>
METARL_HD inline void micro_accumulate(T (&acc)[kMicro][kMicro], const int (&mi)[kMicro], const int (&ni)[kMicro], int K,
                                       Operand<T> A, Operand<T> B) {
  const T* a_row[kMicro];
  const T* b_row[kMicro];
  METARL_UNROLL
  for (int r = 0; r < kMicro; ++r) {
    a_row[r] = A.p + mi[r] * A.ms;
    b_row[r] = B.p + ni[r] * B.ms;
  }
  for (int k = 0; k < K; ++k) {
    T a[kMicro], b[kMicro];
    METARL_UNROLL
    for (int r = 0; r < kMicro; ++r) {
      a[r] = a_row[r][k * A.ks];
      b[r] = b_row[r][k * B.ks];
    }
    METARL_UNROLL
    for (int r = 0; r < kMicro; ++r)
      METARL_UNROLL
      for (int c = 0; c < kMicro; ++c) acc[r][c] += a[r] * b[c];
  }
}

// C[m][n] = init(m, n) + Σ_{k<K} A(m,k) B(n,k) [+ Σ_{k<K2} A2(m,k) B2(n,k)] for m < M, n < N, handed
// to store(m, n, value). The threads share the kMicro × kMicro blocks of C; each block's sums run
// over k in order. Which thread computes (m, n) depends only on (tid, nt, M, N), so a store that
// accumulates into global memory always touches the same entries from the same thread.
template <typename T, typename Init, typename Store>
METARL_HD void block_gemm(int tid, int nt, int M, int N, int K, Operand<T> A, Operand<T> B, int K2, Operand<T> A2,
                          Operand<T> B2, const Init& init, const Store& store) {
  const int mb = (M + kMicro - 1) / kMicro, nb = (N + kMicro - 1) / kMicro;
  for (int blk = tid; blk < mb * nb; blk += nt) {
    const int m0 = (blk / nb) * kMicro, n0 = (blk % nb) * kMicro;
    int mi[kMicro], ni[kMicro];  // clamped: rows past the end are computed and not stored
    METARL_UNROLL
    for (int r = 0; r < kMicro; ++r) {
      mi[r] = m0 + r < M ? m0 + r : M - 1;
      ni[r] = n0 + r < N ? n0 + r : N - 1;
    }
    T acc[kMicro][kMicro];
    METARL_UNROLL
    for (int r = 0; r < kMicro; ++r)
      METARL_UNROLL
      for (int c = 0; c < kMicro; ++c) acc[r][c] = init(mi[r], ni[c]);
    micro_accumulate<T>(acc, mi, ni, K, A, B);
    if (K2 > 0) micro_accumulate<T>(acc, mi, ni, K2, A2, B2);
    METARL_UNROLL
    for (int r = 0; r < kMicro; ++r)
      METARL_UNROLL
      for (int c = 0; c < kMicro; ++c)
        if (m0 + r < M && n0 + c < N) store(m0 + r, n0 + c, acc[r][c]);
  }
}

}  // namespace gpu
}  // namespace metarl
