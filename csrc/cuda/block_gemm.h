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

// v[0..3] = p[0..3]; one 16-byte load (two for double) on the device, where p is 16-byte aligned.
template <typename T>
METARL_HD inline void load4(const T* p, T (&v)[4]) {
#if defined(__CUDA_ARCH__)
  if constexpr (sizeof(T) == 4) {
    const float4 x = *reinterpret_cast<const float4*>(p);
    v[0] = x.x, v[1] = x.y, v[2] = x.z, v[3] = x.w;
  } else {
    const double2 x = *reinterpret_cast<const double2*>(p), y = *reinterpret_cast<const double2*>(p + 2);
    v[0] = x.x, v[1] = x.y, v[2] = y.x, v[3] = y.y;
  }
#else
  for (int i = 0; i < 4; ++i) v[i] = p[i];
#endif
}

METARL_HD inline bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

// How an operand's 4 × 4 block (4 rows × 4 consecutive k) is read: one vector per k (the rows are
// consecutive in memory), one vector per row (the k are), or 16 scalars.
enum class Fetch : int { kScalar, kRows, kSteps };

template <typename T>
METARL_HD inline Fetch fetch_of(const Operand<T>& X, const int (&idx)[kMicro], bool unclamped) {
  const int64_t es = sizeof(T);
  if (X.ms == 1 && unclamped && aligned16(X.p + idx[0]) && (X.ks * es) % 16 == 0) return Fetch::kRows;
  if (X.ks == 1 && aligned16(X.p) && (X.ms * es) % 16 == 0 && aligned16(X.p + idx[0] * X.ms) &&
      aligned16(X.p + idx[kMicro - 1] * X.ms))
    return Fetch::kSteps;
  return Fetch::kScalar;
}

// v[j][r] = X(idx[r], k0 + j) for j, r < 4.
template <typename T>
METARL_HD inline void fetch4x4(const Operand<T>& X, const int (&idx)[kMicro], int k0, Fetch how, T (&v)[4][kMicro]) {
  if (how == Fetch::kRows) {
    METARL_UNROLL
    for (int j = 0; j < 4; ++j) load4(X.p + idx[0] + (k0 + j) * X.ks, v[j]);
  } else if (how == Fetch::kSteps) {
    METARL_UNROLL
    for (int r = 0; r < kMicro; ++r) {
      T w[4];
      load4(X.p + idx[r] * X.ms + k0, w);
      METARL_UNROLL
      for (int j = 0; j < 4; ++j) v[j][r] = w[j];
    }
  } else {
    METARL_UNROLL
    for (int j = 0; j < 4; ++j)
      METARL_UNROLL
      for (int r = 0; r < kMicro; ++r) v[j][r] = X.at(idx[r], k0 + j);
  }
}

// acc[r][c] += Σ_{k<K} A(mi[r], k) B(ni[c], k), in k order (k in steps of 4, read by vectors
// where the layout allows, then the rest one by one). m_full / n_full: no index was clamped.
template <typename T>
METARL_HD inline void micro_accumulate(T (&acc)[kMicro][kMicro], const int (&mi)[kMicro], const int (&ni)[kMicro], int K,
                                       Operand<T> A, Operand<T> B, bool m_full, bool n_full) {
  const Fetch fa = fetch_of(A, mi, m_full), fb = fetch_of(B, ni, n_full);
  int k = 0;
  for (; k + 4 <= K; k += 4) {
    T a[4][kMicro], b[4][kMicro];
    fetch4x4(A, mi, k, fa, a);
    fetch4x4(B, ni, k, fb, b);
    METARL_UNROLL
    for (int j = 0; j < 4; ++j)
      METARL_UNROLL
      for (int r = 0; r < kMicro; ++r)
        METARL_UNROLL
        for (int c = 0; c < kMicro; ++c) acc[r][c] += a[j][r] * b[j][c];
  }
  for (; k < K; ++k) {
    T a[kMicro], b[kMicro];
    METARL_UNROLL
    for (int r = 0; r < kMicro; ++r) {
      a[r] = A.at(mi[r], k);
      b[r] = B.at(ni[r], k);
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
    const bool m_full = m0 + kMicro <= M, n_full = n0 + kMicro <= N;
    micro_accumulate<T>(acc, mi, ni, K, A, B, m_full, n_full);
    if (K2 > 0) micro_accumulate<T>(acc, mi, ni, K2, A2, B2, m_full, n_full);
    METARL_UNROLL
    for (int r = 0; r < kMicro; ++r)
      METARL_UNROLL
      for (int c = 0; c < kMicro; ++c)
        if (m0 + r < M && n0 + c < N) store(m0 + r, n0 + c, acc[r][c]);
  }
}

}  // namespace gpu
}  // namespace metarl
