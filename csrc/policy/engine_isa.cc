// The Gaussian-MLP policy engine for one instruction set (compiled once per ISA; see
// cmake/CompilerFlags.cmake). METARL_ISA_NAMESPACE names the variant, METARL_VEC_BYTES is its
// SIMD width in bytes.
//
// Data layout. Samples are processed in tiles of kTile rows. Every activation tile is stored
// sample-major, [kTile][width_pad], with the feature width padded with zeros to a multiple of the
// vector width, so the dense work vectorises over features:
//   * tile × packed weights:  Y[s][:] = init + Σ_k X[s][k] · Wp[k][:]   (forward, tangent, backprop)
//   * rank-kTile update:      G[m][:] += Σ_s X[s][m] · Y[s][:]           (weight gradients)
// with register blocks of 4 rows × up to 4 vectors held across the whole reduction. Weights are
// packed once per call and parameter row into the two padded orientations these need (Wᵀ for forward, W for
// backprop), and weight-gradient accumulators use whichever orientation pads less. The elementwise
// step after a product (σ, ⊙ σ') runs in its epilogue, on the register block before it is stored.
//
// Reductions over samples: each (task, chunk) work item sums its tiles into a dtype accumulator,
// flushed into double every kFlushTiles tiles; chunk partials are added in chunk order afterwards.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>
#include <vector>

#include "common/thread_pool.h"
#include "policy/op_traits.h"
#include "policy/policy_kernels.h"

#ifndef METARL_ISA_NAMESPACE
#error "METARL_ISA_NAMESPACE must be defined by the build"
#endif
#ifndef METARL_VEC_BYTES
#error "METARL_VEC_BYTES must be defined by the build"
#endif

namespace metarl {
namespace METARL_ISA_NAMESPACE {
namespace {

constexpr int kVecBytes = METARL_VEC_BYTES;
constexpr int kTile = 64;        // samples per tile (multiple of kRowBlock)
constexpr int kRowBlock = 4;     // rows per register block
constexpr int kMaxVecBlock = kVecBytes == 64 ? 4 : 2;  // vectors per register block
constexpr int kFlushTiles = 16;  // tiles summed in the dtype before flushing to double

template <typename T>
struct Simd;
template <>
struct Simd<float> {
  typedef float vec __attribute__((vector_size(kVecBytes)));
  static constexpr int kWidth = kVecBytes / 4;
};
template <>
struct Simd<double> {
  typedef double vec __attribute__((vector_size(kVecBytes)));
  static constexpr int kWidth = kVecBytes / 8;
};

template <typename T>
using vec_t = typename Simd<T>::vec;

template <typename T>
inline vec_t<T> vload(const T* p) {
  vec_t<T> v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
template <typename T>
inline void vstore(T* p, vec_t<T> v) {
  std::memcpy(p, &v, sizeof(v));
}
template <typename T>
inline vec_t<T> vbroadcast(T x) {
  return vec_t<T>{} + x;
}

// Broadcast of a scalar in memory. Through intrinsics so GCC emits a load-port broadcast
// (vbroadcastss zmm, [mem]) rather than a register shuffle on the port of the second FMA unit.
template <typename T>
inline vec_t<T> vbroadcast_load(const T* p) {
#if defined(__AVX512F__) && METARL_VEC_BYTES == 64
  if constexpr (std::is_same_v<T, float>) return (vec_t<T>)_mm512_set1_ps(*p);
  else return (vec_t<T>)_mm512_set1_pd(*p);
#elif defined(__AVX2__) && METARL_VEC_BYTES == 32
  if constexpr (std::is_same_v<T, float>) return (vec_t<T>)_mm256_broadcast_ss(p);
  else return (vec_t<T>)_mm256_broadcast_sd(p);
#else
  return vbroadcast(*p);
#endif
}

inline int round_up(int x, int m) { return (x + m - 1) / m * m; }

// ---------------------------------------------------------------------------------------------
// Activations. tanh in float: the rational approximation used by Eigen (odd degree-13 numerator,
// even degree-6 denominator), within a few ulp of the exact value, and exactly ±1 beyond ±7.9053
// where the approximation stops (the exact value is within 5 ulp of ±1 there). Saturating to ±1
// rather than to the approximation's value at the clamp keeps σ' = 1 − h² exactly 0 for large
// pre-activations, as for torch's tanh: a σ' of 1e-7 times inputs of 1e6 would be a gradient of
// 0.1 where the true one vanishes. In double: std::tanh (correctly rounded to ~1 ulp).

inline vec_t<float> tanh_vec(vec_t<float> x) {
  const vec_t<float> hi = vbroadcast(7.90531110763549805f), one = vbroadcast(1.0f);
  const auto above = x > hi, below = x < -hi;
  x = above ? hi : x;
  x = below ? -hi : x;
  const vec_t<float> x2 = x * x;
  vec_t<float> p = x2 * -2.76076847742355e-16f + 2.00018790482477e-13f;
  p = x2 * p + -8.60467152213735e-11f;
  p = x2 * p + 5.12229709037114e-08f;
  p = x2 * p + 1.48572235717979e-05f;
  p = x2 * p + 6.37261928875436e-04f;
  p = x2 * p + 4.89352455891786e-03f;
  p = x * p;
  vec_t<float> q = x2 * 1.19825839466702e-06f + 1.18534705686654e-04f;
  q = x2 * q + 2.26843463243900e-03f;
  q = x2 * q + 4.89352518554385e-03f;
  vec_t<float> h = p / q;
  h = above ? one : h;
  return below ? -one : h;
}

inline vec_t<double> tanh_vec(vec_t<double> x) {
  constexpr int W = Simd<double>::kWidth;
  for (int i = 0; i < W; ++i) x[i] = std::tanh(x[i]);
  return x;
}

// σ(y) and σ'(·) ⊙ zd (σ' written through h = σ(z)) on one vector: the one definition the
// elementwise passes and the product epilogues (below) share.
template <typename T>
inline vec_t<T> activation_vec(Activation a, vec_t<T> y) {
  if (a == Activation::kTanh) return tanh_vec(y);
  const vec_t<T> zero{};
  return y > zero ? y : zero;
}
template <typename T>
inline vec_t<T> times_derivative_vec(Activation a, vec_t<T> h, vec_t<T> zd) {
  if (a == Activation::kTanh) return (vbroadcast(T(1)) - h * h) * zd;
  const vec_t<T> zero{};
  return h > zero ? zd : zero;
}

// X ⊙= σ'(·), σ' written through the activation output H: the tangent (Ḣ = σ' ⊙ Ż) and the
// first-order backprop (δ = σ' ⊙ ∂h) both use it.
template <typename T>
void mul_activation_derivative(Activation a, const T* H, T* Zd, int n) {
  constexpr int W = Simd<T>::kWidth;
  for (int i = 0; i < n; i += W) vstore(Zd + i, times_derivative_vec<T>(a, vload(H + i), vload(Zd + i)));
}

// ---------------------------------------------------------------------------------------------
// Micro-kernels

enum class Init { kZero, kBias, kAccumulate };

// What a tile product does with its result rows before storing them (each a fusion of an
// elementwise pass that would otherwise read the tile back; the same values either way):
//   kActivate        Y = σ(Y)                       (the forward pass)
//   kMulDerivative   Y ⊙= σ'(·), σ' through the activation outputs H laid out as Y
// and, independently, `side`: once a block of rows of X has been read, side ⊙= σ'(X) on those rows
// (side laid out as X: a tangent whose σ' is applied where X, a stored activation tile, is first
// read, so that the read overlaps the product's arithmetic).
template <typename T>
struct Epilogue {
  enum Kind { kNone, kActivate, kMulDerivative } kind = kNone;
  Activation act = Activation::kTanh;
  const T* H = nullptr;  // kMulDerivative: activation outputs, row stride that of Y
  T* side = nullptr;     // rows of side ⊙= σ'(X rows), row stride that of X
};

template <typename T>
Epilogue<T> activated(Activation a) {
  Epilogue<T> e;
  e.kind = Epilogue<T>::kActivate;
  e.act = a;
  return e;
}
template <typename T>
Epilogue<T> times_derivative(Activation a, const T* H) {
  Epilogue<T> e;
  e.kind = Epilogue<T>::kMulDerivative;
  e.act = a;
  e.H = H;
  return e;
}

// Y[s][n0 : n0+RN*W] for s in [s0, s0+kRowBlock).
template <typename T, int RN, typename Epilogue<T>::Kind E>
inline void matmul_block(int K, const T* X, int ldx, const T* Wp, int ldw, T* Y, int ldy,
                         const T* bias, Init init, int s0, int n0, Activation act, const T* Hep) {
  constexpr int W = Simd<T>::kWidth;
  vec_t<T> acc[kRowBlock][RN];
  for (int i = 0; i < kRowBlock; ++i)
    for (int r = 0; r < RN; ++r) {
      if (init == Init::kZero) acc[i][r] = vec_t<T>{};
      else if (init == Init::kBias) acc[i][r] = vload(bias + n0 + r * W);
      else acc[i][r] = vload(Y + (s0 + i) * ldy + n0 + r * W);
    }
  const T* x0 = X + s0 * ldx;
  for (int k = 0; k < K; ++k) {
    vec_t<T> w[RN];
    for (int r = 0; r < RN; ++r) w[r] = vload(Wp + k * ldw + n0 + r * W);
    for (int i = 0; i < kRowBlock; ++i) {
      const vec_t<T> x = vbroadcast_load(x0 + i * ldx + k);
      for (int r = 0; r < RN; ++r) acc[i][r] += x * w[r];
    }
  }
  for (int i = 0; i < kRowBlock; ++i)
    for (int r = 0; r < RN; ++r) {
      const size_t at = size_t(s0 + i) * ldy + n0 + r * W;
      vec_t<T> y = acc[i][r];
      if constexpr (E == Epilogue<T>::kActivate) y = activation_vec<T>(act, y);
      else if constexpr (E == Epilogue<T>::kMulDerivative) y = times_derivative_vec<T>(act, vload(Hep + at), y);
      vstore(Y + at, y);
    }
}

// Y[s][0:NP] = init + Σ_k X[s][k] Wp[k][0:NP] for s < nrows (a multiple of kRowBlock, default the
// whole tile); NP a multiple of the vector width; then the epilogue.
template <typename T, typename Epilogue<T>::Kind E>
void tile_matmul_as(int K, const T* X, int ldx, const T* Wp, int NP, T* Y, const T* bias, Init init, int nrows,
                    const Epilogue<T>& epi) {
  constexpr int W = Simd<T>::kWidth;
  const int nv = NP / W;
  const Activation act = epi.act;
  const T* Hep = epi.H;
  T* side = epi.side;
  for (int s0 = 0; s0 < nrows; s0 += kRowBlock) {
    int v0 = 0;
    for (; v0 + kMaxVecBlock <= nv; v0 += kMaxVecBlock)
      matmul_block<T, kMaxVecBlock, E>(K, X, ldx, Wp, NP, Y, NP, bias, init, s0, v0 * W, act, Hep);
    switch (nv - v0) {
      case 0: break;
      case 1: matmul_block<T, 1, E>(K, X, ldx, Wp, NP, Y, NP, bias, init, s0, v0 * W, act, Hep); break;
      case 2: matmul_block<T, 2, E>(K, X, ldx, Wp, NP, Y, NP, bias, init, s0, v0 * W, act, Hep); break;
      default: matmul_block<T, 3, E>(K, X, ldx, Wp, NP, Y, NP, bias, init, s0, v0 * W, act, Hep); break;
    }
    if (side)
      for (int i = s0 * ldx; i < (s0 + kRowBlock) * ldx; i += W)
        vstore(side + i, times_derivative_vec<T>(act, vload(X + i), vload(side + i)));
  }
}

template <typename T>
void tile_matmul(int K, const T* X, int ldx, const T* Wp, int NP, T* Y, const T* bias, Init init,
                 int nrows = kTile, const Epilogue<T>& epi = {}) {
  switch (epi.kind) {
    case Epilogue<T>::kNone: tile_matmul_as<T, Epilogue<T>::kNone>(K, X, ldx, Wp, NP, Y, bias, init, nrows, epi); break;
    case Epilogue<T>::kActivate:
      tile_matmul_as<T, Epilogue<T>::kActivate>(K, X, ldx, Wp, NP, Y, bias, init, nrows, epi);
      break;
    case Epilogue<T>::kMulDerivative:
      tile_matmul_as<T, Epilogue<T>::kMulDerivative>(K, X, ldx, Wp, NP, Y, bias, init, nrows, epi);
      break;
  }
}

// G[m0+i][n0 : n0+RN*W] += Σ_s X[s][m0+i] Y[s][n0 : ...] for i < RM.
template <typename T, int RM, int RN>
inline void rank_block(const T* X, int ldx, const T* Y, int ldy, T* G, int ldg, int m0, int n0) {
  constexpr int W = Simd<T>::kWidth;
  vec_t<T> acc[RM][RN];
  for (int i = 0; i < RM; ++i)
    for (int r = 0; r < RN; ++r) acc[i][r] = vec_t<T>{};
  for (int s = 0; s < kTile; ++s) {
    vec_t<T> y[RN];
    for (int r = 0; r < RN; ++r) y[r] = vload(Y + s * ldy + n0 + r * W);
    for (int i = 0; i < RM; ++i) {
      const vec_t<T> x = vbroadcast_load(X + s * ldx + m0 + i);
      for (int r = 0; r < RN; ++r) acc[i][r] += x * y[r];
    }
  }
  for (int i = 0; i < RM; ++i)
    for (int r = 0; r < RN; ++r) {
      T* g = G + (m0 + i) * ldg + n0 + r * W;
      vstore(g, vload(g) + acc[i][r]);
    }
}

template <typename T, int RM>
inline void rank_rows(const T* X, int ldx, const T* Y, int NP, T* G, int m0) {
  constexpr int W = Simd<T>::kWidth;
  const int nv = NP / W;
  int v0 = 0;
  for (; v0 + kMaxVecBlock <= nv; v0 += kMaxVecBlock)
    rank_block<T, RM, kMaxVecBlock>(X, ldx, Y, NP, G, NP, m0, v0 * W);
  switch (nv - v0) {
    case 0: break;
    case 1: rank_block<T, RM, 1>(X, ldx, Y, NP, G, NP, m0, v0 * W); break;
    case 2: rank_block<T, RM, 2>(X, ldx, Y, NP, G, NP, m0, v0 * W); break;
    default: rank_block<T, RM, 3>(X, ldx, Y, NP, G, NP, m0, v0 * W); break;
  }
}

// G[m][0:NP] += Σ_{s<kTile} X[s][m] Y[s][0:NP] for m < M (G row stride NP).
template <typename T>
void tile_rank_update(int M, const T* X, int ldx, const T* Y, int NP, T* G) {
  int m0 = 0;
  for (; m0 + kRowBlock <= M; m0 += kRowBlock) rank_rows<T, kRowBlock>(X, ldx, Y, NP, G, m0);
  switch (M - m0) {
    case 0: break;
    case 1: rank_rows<T, 1>(X, ldx, Y, NP, G, m0); break;
    case 2: rank_rows<T, 2>(X, ldx, Y, NP, G, m0); break;
    default: rank_rows<T, 3>(X, ldx, Y, NP, G, m0); break;
  }
}

// Sum of the lanes of v.
template <typename T>
inline T hsum(vec_t<T> v) {
#if defined(__AVX512F__) && METARL_VEC_BYTES == 64
  if constexpr (std::is_same_v<T, float>) return _mm512_reduce_add_ps((__m512)v);
  else return _mm512_reduce_add_pd((__m512d)v);
#else
  T s = 0;
  for (int i = 0; i < Simd<T>::kWidth; ++i) s += v[i];
  return s;
#endif
}

// x·y over n (a multiple of the vector width) elements.
template <typename T>
inline T row_dot(const T* x, const T* y, int n) {
  constexpr int W = Simd<T>::kWidth;
  vec_t<T> acc{};
  for (int k = 0; k < n; k += W) acc += vload(x + k) * vload(y + k);
  return hsum<T>(acc);
}

// out[0:n] = Σ_a c[a] rows[a · stride + 0:n] for a < m (n a multiple of the vector width).
template <typename T>
inline void combine_rows(int m, const T* c, const T* rows, size_t stride, T* out, int n) {
  constexpr int W = Simd<T>::kWidth;
  for (int k = 0; k < n; k += W) {
    vec_t<T> acc{};
    for (int a = 0; a < m; ++a) acc += vbroadcast(c[a]) * vload(rows + a * stride + k);
    vstore(out + k, acc);
  }
}

// A layer with few outputs, as dot products along the inputs rather than over padded output
// lanes: Y[s][o] = bias[o] + X[s]·Wr[o] (+ X2[s]·Wr2[o]) for o < OUT, zero up to out_pad; X, X2
// [kTile][in_pad], Wr, Wr2 row-major [OUT][in_pad] (zero-padded).
template <typename T, int OUT>
void tile_narrow_matmul(int in_pad, const T* X, const T* Wr, const T* X2, const T* Wr2, const T* bias, T* Y,
                        int out_pad) {
  constexpr int W = Simd<T>::kWidth;
  for (int s0 = 0; s0 < kTile; s0 += kRowBlock) {
    vec_t<T> acc[kRowBlock][OUT];
    for (int i = 0; i < kRowBlock; ++i)
      for (int o = 0; o < OUT; ++o) acc[i][o] = vec_t<T>{};
    for (int k = 0; k < in_pad; k += W) {
      for (int o = 0; o < OUT; ++o) {
        const vec_t<T> w = vload(Wr + o * in_pad + k);
        for (int i = 0; i < kRowBlock; ++i) acc[i][o] += vload(X + (s0 + i) * in_pad + k) * w;
      }
      if (X2)
        for (int o = 0; o < OUT; ++o) {
          const vec_t<T> w = vload(Wr2 + o * in_pad + k);
          for (int i = 0; i < kRowBlock; ++i) acc[i][o] += vload(X2 + (s0 + i) * in_pad + k) * w;
        }
    }
    for (int i = 0; i < kRowBlock; ++i) {
      T* y = Y + (s0 + i) * out_pad;
      for (int o = 0; o < OUT; ++o) y[o] = bias[o] + hsum<T>(acc[i][o]);
      for (int o = OUT; o < out_pad; ++o) y[o] = T(0);
    }
  }
}

// Whether the output layer's tangent (A outputs) runs as tile_narrow_matmul: when A is at most an
// eighth of the vector width, so that the padded form would spend at least 8× the multiply-adds on
// zero lanes (float32 AVX-512: A ≤ 2; float64 AVX-512 and float32 AVX2: A = 1). Measured on TRPO-MAML's
// 2D-navigation CG (A = 2, float32): 3–5 % less time.
template <typename T>
constexpr bool narrow_output(int act_dim) {
  return act_dim * 8 <= Simd<T>::kWidth;
}

template <typename T>
void tile_narrow_matmul(int out, int in_pad, const T* X, const T* Wr, const T* X2, const T* Wr2, const T* bias, T* Y,
                        int out_pad) {
  if (out == 1) tile_narrow_matmul<T, 1>(in_pad, X, Wr, X2, Wr2, bias, Y, out_pad);
  else if (out == 2) tile_narrow_matmul<T, 2>(in_pad, X, Wr, X2, Wr2, bias, Y, out_pad);
  else throw std::logic_error("tile_narrow_matmul: at most 2 outputs");
}

// Whether a Fisher product reads the stored output Jacobian ∂μ/∂z₁ (A × in₁ values per sample)
// instead of running the two dense passes of the second layer it replaces (W₁ ḣ₁ forward and δ W₁
// back, 2 · out₁ · in₁ multiply-adds per sample). Filling it costs A backward passes and fresh
// memory; reading it costs about a dense pass at A = 6. Measured with (64, 64) layers, float32, 2
// threads, in TRPO-MAML's 10-iteration CG: a gain at A = 2 (2D navigation), a loss at A = 6
// (HalfCheetah). Hence A ≤ out₁ / 32.
inline bool jacobian_pays(int act_dim, int out1) { return act_dim * 32 <= out1; }

// g[0:NP] += Σ_s Y[s][0:NP]
template <typename T>
void tile_colsum(const T* Y, int NP, T* g) {
  constexpr int W = Simd<T>::kWidth;
  for (int n = 0; n < NP; n += W) {
    vec_t<T> acc = vload(g + n);
    for (int s = 0; s < kTile; ++s) acc += vload(Y + s * NP + n);
    vstore(g + n, acc);
  }
}

// Second-order backprop on one vector: dd ← dd ⊙ σ' + d ⊙ σ''(z) ż, then d ⊙= σ'. For tanh
// σ''(z) ż = −2 h ḣ.
template <typename T>
inline void backprop2_vec(Activation a, vec_t<T> h, vec_t<T> hd, vec_t<T>& d, vec_t<T>& dd) {
  if (a == Activation::kTanh) {
    const vec_t<T> dh = vbroadcast(T(1)) - h * h;
    dd = dd * dh - vbroadcast(T(2)) * d * h * hd;
    d = d * dh;
  } else {
    const vec_t<T> zero{};
    dd = h > zero ? dd : zero;
    d = h > zero ? d : zero;
  }
}

// One 4-row block of the second-order backprop through a layer, in registers:
//   Dn  = (D W) ⊙ σ',   DDn = (DD W + D V) ⊙ σ' + (D W) ⊙ σ''(z) ż
// for rows s0 … s0+3 and columns n0 … n0+RN·W; D, DD [rows][ldi] (K used), Wp, Vp packed [K][ldw],
// H, Hd, Dn, DDn [rows][ldo]. The products accumulate in the order of three separate tile products
// (D W, then DD W, then DD W + D V), so the values are those of that sequence.
template <typename T, int RN>
inline void backprop2_block(int K, const T* D, const T* DD, int ldi, const T* Wp, const T* Vp, int ldw,
                            const T* H, const T* Hd, T* Dn, T* DDn, int ldo, Activation act, int s0, int n0) {
  constexpr int W = Simd<T>::kWidth;
  vec_t<T> ad[kRowBlock][RN], add[kRowBlock][RN];
  for (int i = 0; i < kRowBlock; ++i)
    for (int r = 0; r < RN; ++r) ad[i][r] = add[i][r] = vec_t<T>{};
  for (int k = 0; k < K; ++k) {
    vec_t<T> w[RN];
    for (int r = 0; r < RN; ++r) w[r] = vload(Wp + k * ldw + n0 + r * W);
    for (int i = 0; i < kRowBlock; ++i) {
      const vec_t<T> x = vbroadcast_load(D + (s0 + i) * ldi + k), xx = vbroadcast_load(DD + (s0 + i) * ldi + k);
      for (int r = 0; r < RN; ++r) {
        ad[i][r] += x * w[r];
        add[i][r] += xx * w[r];
      }
    }
  }
  for (int k = 0; k < K; ++k) {
    vec_t<T> v[RN];
    for (int r = 0; r < RN; ++r) v[r] = vload(Vp + k * ldw + n0 + r * W);
    for (int i = 0; i < kRowBlock; ++i) {
      const vec_t<T> x = vbroadcast_load(D + (s0 + i) * ldi + k);
      for (int r = 0; r < RN; ++r) add[i][r] += x * v[r];
    }
  }
  for (int i = 0; i < kRowBlock; ++i)
    for (int r = 0; r < RN; ++r) {
      const size_t at = size_t(s0 + i) * ldo + n0 + r * W;
      backprop2_vec<T>(act, vload(H + at), vload(Hd + at), ad[i][r], add[i][r]);
      vstore(Dn + at, ad[i][r]);
      vstore(DDn + at, add[i][r]);
    }
}

// The second-order backprop through a layer for a whole tile (backprop2_block); NP, the output
// width, a multiple of the vector width.
template <typename T>
void tile_backprop2(int K, const T* D, const T* DD, int ldi, const T* Wp, const T* Vp, int NP, const T* H,
                    const T* Hd, T* Dn, T* DDn, Activation act) {
  constexpr int W = Simd<T>::kWidth;
  constexpr int RN = kMaxVecBlock / 2;  // two sets of accumulators
  const int nv = NP / W;
  for (int s0 = 0; s0 < kTile; s0 += kRowBlock) {
    int v0 = 0;
    for (; v0 + RN <= nv; v0 += RN)
      backprop2_block<T, RN>(K, D, DD, ldi, Wp, Vp, NP, H, Hd, Dn, DDn, NP, act, s0, v0 * W);
    for (; v0 < nv; ++v0) backprop2_block<T, 1>(K, D, DD, ldi, Wp, Vp, NP, H, Hd, Dn, DDn, NP, act, s0, v0 * W);
  }
}

// ---------------------------------------------------------------------------------------------
// The input-layer contraction (PolicyCall::input_contraction; docs/kernels.md, "Hessian products
// reused by conjugate gradient"). In a Hessian-vector product, three terms at the second layer
// (weights W₁, input h = σ(z), z = W₀ s̃ with s̃ = (obs, 1), first-order stream δ, v's blocks V₀, V₁)
// are bilinear in v and a per-sample quantity that does not depend on v:
//   δ ⊗ ḣ            into the W₁ block, ḣ = σ' ⊙ (V₀ s̃)
//   (V₁ᵀ δ) ⊙ σ'     into the W₀ block (contracted with s̃)
//   (W₁ᵀ δ) ⊙ σ''ż   into the W₀ block (contracted with s̃; tanh: σ''ż = −2 h ḣ)
// Summed over a task's samples (work item by work item, then in chunk order) they are, with
//   C[j][i][k] = Σ_s δ[s][i] σ'[s][k] s̃[s][j]
//   E[(j, j')][k] = Σ_s −2 (W₁ᵀ δ)[s][k] h[s][k] σ'[s][k] s̃[s][j] s̃[s][j']   (j ≤ j'; 0 for ReLU)
// the W₁ block  Σ_j V₀[k][j] C[j][i][k]   and the W₀ block  Σ_i V₁[i][k] C[j][i][k] + Σ_j' V₀[k][j'] E[(j, j')][k].
// Filling C and E costs obs_dim + 1 rank updates of the second layer once; every later product saves
// three dense passes of it (δ W₁, δ V₁ and δ ⊗ ḣ).

// σ'(z) written through h = σ(z), into out.
template <typename T>
void activation_derivative(Activation a, const T* H, T* out, int n) {
  constexpr int W = Simd<T>::kWidth;
  const vec_t<T> one = vbroadcast(T(1));
  for (int i = 0; i < n; i += W) vstore(out + i, times_derivative_vec<T>(a, vload(H + i), one));
}

// Index of the pair (j, j'), j ≤ j' < m, in the upper triangle stored row by row.
inline int pair_index(int j, int jp, int m) {
  if (j > jp) std::swap(j, jp);
  return j * m - j * (j - 1) / 2 + (jp - j);
}

// ---------------------------------------------------------------------------------------------
// Scratch memory: one growing 64-byte-aligned arena per thread (pool threads are persistent).

class Arena {
 public:
  ~Arena() { std::free(base_); }
  void reset(size_t bytes) {
    if (bytes > cap_) {
      std::free(base_);
      cap_ = (bytes + 4095) / 4096 * 4096;
      base_ = static_cast<char*>(std::aligned_alloc(64, cap_));
      if (!base_) {
        cap_ = 0;
        throw std::bad_alloc();
      }
    }
    used_ = 0;
  }
  template <typename T>
  T* take(size_t n) {
    T* p = reinterpret_cast<T*>(base_ + used_);
    used_ += (n * sizeof(T) + 63) / 64 * 64;
    if (used_ > cap_) throw std::logic_error("policy engine: scratch size underestimated");
    return p;
  }

 private:
  char* base_ = nullptr;
  size_t cap_ = 0;
  size_t used_ = 0;
};

thread_local Arena tls_arena;       // a work item's scratch, on the thread running it
thread_local Arena tls_pack_arena;  // a call's packed parameter rows, on the calling thread

// ---------------------------------------------------------------------------------------------
// The engine.

// The passes an op needs, read off the op-traits table (policy/op_traits.h).
struct OpTraits {
  bool tangent, backward, second_order, lvc, vector_out, kl_inputs, uses_act;
};

OpTraits traits_of(PolicyOp op) {
  const PolicyOpTraits& t = op_traits(op);
  return {t.tangent, t.backward, t.second_order, t.lvc, t.out == OutShape::kParams, t.old == Need::kYes,
          t.act == Need::kYes};
}

struct LayerGeom {
  int in, out, in_pad, out_pad;
  int64_t w_off, b_off;
  bool grad_out_major;  // weight-gradient accumulator is [out][in_pad] (else [in][out_pad])
  int grad_rows() const { return grad_out_major ? out : in; }
  int grad_cols() const { return grad_out_major ? in_pad : out_pad; }
};

// The padded geometry of every layer; *max_pad receives the widest padded width.
template <typename T>
std::vector<LayerGeom> layer_geometry(const MlpSpec& spec, int* max_pad) {
  constexpr int W = Simd<T>::kWidth;
  std::vector<LayerGeom> geom;
  *max_pad = 0;
  for (int l = 0; l < spec.num_layers(); ++l) {
    LayerGeom g;
    g.in = spec.layer_in(l);
    g.out = spec.layer_out(l);
    g.in_pad = round_up(g.in, W);
    g.out_pad = round_up(g.out, W);
    g.w_off = spec.weight_offset(l);
    g.b_off = spec.bias_offset(l);
    g.grad_out_major = int64_t(g.out) * g.in_pad <= int64_t(g.in) * g.out_pad;
    *max_pad = std::max({*max_pad, g.in_pad, g.out_pad});
    geom.push_back(g);
  }
  return geom;
}

// The forward orientation of layer g of θ: Wᵀ [in][out_pad] and the bias [out_pad], zero-padded.
template <typename T>
void pack_forward(const LayerGeom& g, const T* theta, T* wt, T* bias) {
  const T* Wl = theta + g.w_off;
  for (int i = 0; i < g.in; ++i) {
    for (int o = 0; o < g.out; ++o) wt[i * g.out_pad + o] = Wl[o * g.in + i];
    for (int o = g.out; o < g.out_pad; ++o) wt[i * g.out_pad + o] = T(0);
  }
  for (int o = 0; o < g.out_pad; ++o) bias[o] = o < g.out ? theta[g.b_off + o] : T(0);
}

// The forward pass of the first `rows` rows of a tile (rounded up to whole register blocks):
// H[0] holds the observations [kTile][in_pad of layer 0]; H[l + 1] receives layer l's output
// [kTile][out_pad], activated except for the last layer (the action mean).
template <typename T>
void forward_tile(const std::vector<LayerGeom>& geom, Activation act, const std::vector<T*>& Wf,
                  const std::vector<T*>& bias, const std::vector<T*>& H, int rows) {
  const int L = int(geom.size());
  for (int l = 0; l < L; ++l) {
    const LayerGeom& g = geom[l];
    tile_matmul<T>(g.in, H[l], g.in_pad, Wf[l], g.out_pad, H[l + 1], bias[l], Init::kBias, rows,
                   l < L - 1 ? activated<T>(act) : Epilogue<T>{});
  }
}

template <typename T>
class Engine {
 public:
  explicit Engine(const PolicyCall<T>& c) : c_(c), spec_(*c.spec), tr_(traits_of(c.op)) {
    L_ = spec_.num_layers();
    P_ = spec_.num_params();
    geom_ = layer_geometry<T>(spec_, &max_pad_);
    A_ = spec_.act_dim;
    chunks_ = chunks_per_task(c.num_tasks, c.num_samples);
    narrow_tangent_ = tr_.tangent && narrow_output<T>(A_);
  }

  void run(ThreadPool& pool) {
    const int64_t units = c_.num_tasks * chunks_;
    if (tr_.vector_out) partial_.assign(size_t(units) * P_, 0.0);
    if (c_.op == PolicyOp::kKl) partial_.assign(size_t(units), 0.0);
    if (c_.op == PolicyOp::kKlFvp && c_.weights) weight_sums_.assign(size_t(units), 0.0);
    count_slots();
    plan_cache();
    plan_contraction();
    plan_jacobian();
    pack_rows(pool);
    pool.parallel_for(units, [this](int64_t u, int) { run_unit(u / chunks_, u % chunks_); });
    if (cache_mode_ == CacheMode::kFill) c_.cache->mark_filled();
    if (contraction_ != CacheMode::kNone) add_contraction(pool);
    if (contraction_ == CacheMode::kFill) c_.input_contraction->mark_filled();
    if (jacobian_ == CacheMode::kFill) c_.output_jacobian->mark_filled();
    finish();
  }

 private:
  enum class CacheMode { kNone, kFill, kUse };

  int64_t unit_begin(int64_t chunk) const { return c_.num_samples * chunk / chunks_; }
  int64_t unit_end(int64_t chunk) const { return c_.num_samples * (chunk + 1) / chunks_; }

  // The tiles of every work item, numbered in unit order (the slots of the per-tile stores).
  void count_slots() {
    const int64_t units = c_.num_tasks * chunks_;
    unit_slot0_.assign(units + 1, 0);
    for (int64_t u = 0; u < units; ++u) {
      const int64_t chunk = u % chunks_, n = unit_end(chunk) - unit_begin(chunk);
      unit_slot0_[u + 1] = unit_slot0_[u] + (n + kTile - 1) / kTile;
    }
  }

  // FNV-1a over everything a store's layout and values depend on: the sizes, the geometry, the
  // arrays' addresses (PolicyPassCache's contract: the same arrays keep their values) and `extra`.
  uint64_t store_key(std::initializer_list<uint64_t> extra) const {
    uint64_t key = 1469598103934665603ull;
    auto mix = [&key](uint64_t x) { key = (key ^ x) * 1099511628211ull; };
    auto ptr = [](const void* p) { return uint64_t(reinterpret_cast<uintptr_t>(p)); };
    for (uint64_t x : {uint64_t(sizeof(T)), uint64_t(kVecBytes), uint64_t(c_.num_tasks), uint64_t(c_.num_samples),
                       uint64_t(chunks_), uint64_t(c_.params_stride), ptr(c_.params), ptr(c_.obs),
                       uint64_t(spec_.activation)})
      mix(x);
    for (uint64_t x : extra) mix(x);
    for (const LayerGeom& g : geom_) mix(uint64_t(g.in) << 32 | uint64_t(g.out));
    return key;
  }

  // Opens `store` for `key`: kUse when it holds the values, else kFill with fresh storage of `bytes`
  // (kNone when bytes exceed PolicyPassCache::kMaxBytes).
  template <typename E>
  CacheMode open_store(PolicyPassCache* store, uint64_t key, size_t bytes, E** base) const {
    if (bytes == 0 || bytes > PolicyPassCache::kMaxBytes) return CacheMode::kNone;
    const bool ready = store->ready(key);
    *base = reinterpret_cast<E*>(ready ? store->data() : store->reserve(key, bytes));
    return ready ? CacheMode::kUse : CacheMode::kFill;
  }

  // The cache layout (PolicyPassCache): one slot per tile, in unit order; a slot holds the tile's
  // activations H[1..L] (each kTile rows, 64-byte aligned). Keeping the HVPs' first-order backprop
  // too was measured to save nothing more: reading it back costs what recomputing it does.
  void plan_cache() {
    if (!c_.cache) return;
    constexpr size_t kAlign = 64 / sizeof(T);
    auto span = [](size_t n) { return (n + kAlign - 1) / kAlign * kAlign; };
    size_t elems = 0;
    h_off_.assign(L_ + 1, 0);
    for (int l = 1; l <= L_; ++l) {
      h_off_[l] = elems;
      elems += span(size_t(kTile) * geom_[l - 1].out_pad);
    }
    slot_elems_ = elems;
    const size_t bytes = size_t(unit_slot0_.back()) * slot_elems_ * sizeof(T);
    cache_mode_ = open_store(c_.cache, store_key({uint64_t(slot_elems_)}), bytes, &cache_base_);
  }

  // The Fisher products' output Jacobian (PolicyCall::output_jacobian): per tile slot,
  // P [A][kTile][in_pad₁] = ∂μ/∂z₁ = ∂μ/∂h₁ ⊙ σ'(z₁) of every sample (z₁ the first hidden layer's
  // pre-activation: a product needs ż₁ and ∂/∂z₁, so σ' is in P once rather than applied twice).
  void plan_jacobian() {
    if (!c_.output_jacobian || c_.op != PolicyOp::kKlFvp || L_ < 3 || !jacobian_pays(A_, geom_[1].out)) return;
    jac_slot_elems_ = size_t(A_) * kTile * geom_[1].in_pad;
    const size_t bytes = size_t(unit_slot0_.back()) * jac_slot_elems_ * sizeof(T);
    jacobian_ = open_store(c_.output_jacobian, store_key({uint64_t(jac_slot_elems_)}), bytes, &jac_base_);
  }

  // The input-layer contraction's store (PolicyCall::input_contraction), in double: per task, then
  // per work item (where a filling call accumulates), C [m][out₁][in₁] then E [m(m+1)/2][in₁],
  // m = obs_dim + 1.
  void plan_contraction() {
    PolicyPassCache* store = c_.input_contraction;
    s_dim_ = spec_.obs_dim + 1;
    if (!store || !tr_.second_order || L_ < 2 || s_dim_ > PolicyCall<T>::kMaxContractedInputs) return;
    const LayerGeom& g1 = geom_[1];
    contraction_c_elems_ = size_t(s_dim_) * g1.out * g1.in;
    contraction_unit_elems_ = contraction_c_elems_ + size_t(s_dim_) * (s_dim_ + 1) / 2 * g1.in;
    const size_t bytes = size_t(c_.num_tasks * (1 + chunks_)) * contraction_unit_elems_ * sizeof(double);
    auto ptr = [](const void* p) { return uint64_t(reinterpret_cast<uintptr_t>(p)); };
    const uint64_t key = store_key({ptr(c_.act), ptr(c_.weights), ptr(c_.weights2), uint64_t(c_.op)});
    contraction_ = open_store(store, key, bytes, &contraction_base_);
  }

  // The s̃ = (obs, 1) entry j of row r of an observation tile X [kTile][in_pad₀].
  T input_entry(const T* X, int r, int j) const {
    return j < spec_.obs_dim ? X[r * geom_[0].in_pad + j] : T(1);
  }

  // One tile of a filling call: C[j] += δ ⊗ (σ'(H₁) s̃_j) for every j, with δ [kTile][out_pad₁] the
  // first-order stream at the second layer's output; Sprime receives σ'(H₁) (for the E term), Ytile
  // is scratch. Tiles [kTile][in_pad₁], C [m][out₁][in_pad₁].
  void accumulate_contraction_c(const T* X, const T* H1, const T* delta, T* Sprime, T* Ytile, T* C) const {
    const LayerGeom& g1 = geom_[1];
    const int w = g1.in_pad;
    activation_derivative<T>(spec_.activation, H1, Sprime, kTile * w);
    for (int j = 0; j < s_dim_; ++j) {
      for (int r = 0; r < kTile; ++r) {
        const T sj = input_entry(X, r, j);
        for (int k = 0; k < w; ++k) Ytile[r * w + k] = Sprime[r * w + k] * sj;
      }
      tile_rank_update<T>(g1.out, delta, g1.out_pad, Ytile, w, C + size_t(j) * g1.out * w);
    }
  }

  // One tile of a filling call (tanh): E[(j, j')] += −2 (W₁ᵀδ) h σ' s̃_j s̃_j' with gh1 = W₁ᵀδ and
  // Sprime = σ'(H₁) [kTile][in_pad₁]; Etile is scratch, E [m(m+1)/2][in_pad₁].
  void accumulate_contraction_e(const T* X, const T* H1, const T* gh1, const T* Sprime, T* Etile, T* E) const {
    const int w = geom_[1].in_pad;
    for (int r = 0; r < kTile; ++r) {
      const T *hr = H1 + r * w, *gr = gh1 + r * w, *sr = Sprime + r * w;
      T* er = Etile + r * w;
      for (int k = 0; k < w; ++k) er[k] = T(-2) * gr[k] * hr[k] * sr[k];
      for (int j = 0; j < s_dim_; ++j)
        for (int jp = j; jp < s_dim_; ++jp) {
          const T sjj = input_entry(X, r, j) * input_entry(X, r, jp);
          T* acc = E + size_t(pair_index(j, jp, s_dim_)) * w;
          for (int k = 0; k < w; ++k) acc[k] += sjj * er[k];
        }
    }
  }

  // One tile's output Jacobian P_a = ∂μ_a/∂z₁ for every action a: the unit cotangent e_a
  // backpropagated through layers L−1 … 1 and σ'(z₁), into jslot [A][kTile][in_pad₁]; g, gnext are
  // scratch tiles of the widest layer.
  void fill_output_jacobian(const std::vector<T*>& H, const std::vector<T*>& Wb, T* g, T* gnext, T* jslot) const {
    const int act_pad = geom_[L_ - 1].out_pad, w = geom_[1].in_pad;
    for (int a = 0; a < A_; ++a) {
      T *cur = g, *next = gnext;
      std::fill_n(cur, size_t(kTile) * act_pad, T(0));
      for (int s = 0; s < kTile; ++s) cur[s * act_pad + a] = T(1);
      for (int l = L_ - 1; l >= 1; --l) {
        const LayerGeom& gl = geom_[l];
        T* out = l == 1 ? jslot + size_t(a) * kTile * w : next;
        tile_matmul<T>(gl.out, cur, gl.out_pad, Wb[l], gl.in_pad, out, nullptr, Init::kZero, kTile,
                       times_derivative<T>(spec_.activation, H[l]));
        std::swap(cur, next);
      }
    }
  }

  // After the work items: a filling call sums each task's work-item terms (in chunk order) into the
  // task's; then every call adds each task's contracted terms to its first work item's partial.
  void add_contraction(ThreadPool& pool) {
    const size_t n = contraction_unit_elems_;
    double* tasks = contraction_base_;
    const double* units = contraction_base_ + size_t(c_.num_tasks) * n;
    pool.parallel_for(c_.num_tasks, [&](int64_t t, int) {
      double* task = tasks + size_t(t) * n;
      if (contraction_ == CacheMode::kFill) {
        std::copy_n(units + size_t(t * chunks_) * n, n, task);
        for (int64_t k = 1; k < chunks_; ++k) {
          const double* u = units + size_t(t * chunks_ + k) * n;
          for (size_t i = 0; i < n; ++i) task[i] += u[i];
        }
      }
      add_contracted_terms(task, task_row(c_.v, c_.v_stride, t), partial_.data() + size_t(t * chunks_) * P_);
    });
  }

  // Adds the contracted terms of one task (its store `fixed`) for the direction `vrow` to `part`.
  void add_contracted_terms(const double* fixed, const T* vrow, double* part) const {
    const LayerGeom &g0 = geom_[0], &g1 = geom_[1];
    const int m = s_dim_, d = m - 1, in1 = g1.in, out1 = g1.out;
    const double* C = fixed;
    const double* E = fixed + contraction_c_elems_;
    // V₀ by input column j (the bias as column d), V₁ by rows, and the W₀-block sums, all in double
    std::vector<double> v0(size_t(m) * in1), v1(size_t(out1) * in1), acc(size_t(m) * in1, 0.0);
    for (int k = 0; k < in1; ++k)
      for (int j = 0; j < m; ++j) v0[size_t(j) * in1 + k] = j < d ? vrow[g0.w_off + k * d + j] : vrow[g0.b_off + k];
    for (int i = 0; i < out1 * in1; ++i) v1[i] = vrow[g1.w_off + i];
    for (int j = 0; j < m; ++j) {
      const double* v0j = v0.data() + size_t(j) * in1;
      double* accj = acc.data() + size_t(j) * in1;
      for (int i = 0; i < out1; ++i) {
        const double* cji = C + (size_t(j) * out1 + i) * in1;
        const double* v1i = v1.data() + size_t(i) * in1;
        double* pw = part + g1.w_off + i * in1;
        for (int k = 0; k < in1; ++k) {
          pw[k] += v0j[k] * cji[k];   // W₁ block: Σ_j V₀[k][j] C[j][i][k]
          accj[k] += v1i[k] * cji[k];  // W₀ block: Σ_i V₁[i][k] C[j][i][k]
        }
      }
      for (int jp = 0; jp < m; ++jp) {
        const double* v0jp = v0.data() + size_t(jp) * in1;
        const double* e = E + size_t(pair_index(j, jp, m)) * in1;
        for (int k = 0; k < in1; ++k) accj[k] += v0jp[k] * e[k];
      }
      for (int k = 0; k < in1; ++k) part[j < d ? g0.w_off + k * d + j : g0.b_off + k] += accj[k];
    }
  }

  const T* task_row(const T* base, int64_t stride, int64_t t) const { return base + stride * t; }

  // One parameter row (θ or v) packed for the micro-kernels: per layer Wᵀ [in][out_pad] and the bias
  // [out_pad] (forward orientation) and, where needed, W [out][in_pad] (backprop orientation).
  struct PackedRow {
    std::vector<T*> fwd, bwd, bias;
  };

  bool packs_rows(int l, bool need_bwd) const { return (need_bwd && l > 0) || (narrow_tangent_ && l == L_ - 1); }

  // Elements of one packed row, each array starting on a 64-byte boundary.
  size_t packed_row_elems(bool need_bwd) const {
    constexpr size_t kAlign = 64 / sizeof(T);
    auto span = [](size_t n) { return (n + kAlign - 1) / kAlign * kAlign; };
    size_t n = 0;
    for (int l = 0; l < L_; ++l) {
      const LayerGeom& g = geom_[l];
      n += span(size_t(g.in) * g.out_pad) + span(g.out_pad);
      if (packs_rows(l, need_bwd)) n += span(size_t(g.out) * g.in_pad);
    }
    return n;
  }

  void pack_row(const T* row, bool need_bwd, T* base, PackedRow& p) const {
    constexpr size_t kAlign = 64 / sizeof(T);
    auto take = [&base](size_t n) {
      T* q = base;
      base += (n + kAlign - 1) / kAlign * kAlign;
      return q;
    };
    p.fwd.assign(L_, nullptr);
    p.bwd.assign(L_, nullptr);
    p.bias.assign(L_, nullptr);
    for (int l = 0; l < L_; ++l) {
      const LayerGeom& g = geom_[l];
      p.fwd[l] = take(size_t(g.in) * g.out_pad);
      p.bias[l] = take(g.out_pad);
      pack_forward(g, row, p.fwd[l], p.bias[l]);
      if (!packs_rows(l, need_bwd)) continue;
      T* w = take(size_t(g.out) * g.in_pad);  // W: [out][in_pad]
      for (int o = 0; o < g.out; ++o) {
        for (int i = 0; i < g.in; ++i) w[o * g.in_pad + i] = row[g.w_off + o * g.in + i];
        for (int i = g.in; i < g.in_pad; ++i) w[o * g.in_pad + i] = T(0);
      }
      p.bwd[l] = w;
    }
  }

  // Packs every distinct row of θ and v once per call (one for a shared row), not once per work
  // item: the chunks of a task, and every task when the row is shared, read the same packs.
  void pack_rows(ThreadPool& pool) {
    const int64_t theta_rows = c_.params_stride == 0 ? 1 : c_.num_tasks;
    const int64_t v_rows = !tr_.tangent ? 0 : c_.v_stride == 0 ? 1 : c_.num_tasks;
    const size_t te = packed_row_elems(tr_.backward), ve = v_rows ? packed_row_elems(tr_.second_order) : 0;
    tls_pack_arena.reset((theta_rows * te + v_rows * ve) * sizeof(T) + 64);
    T* base = tls_pack_arena.take<T>(theta_rows * te + v_rows * ve);
    theta_packs_.resize(theta_rows);
    v_packs_.resize(v_rows);
    const auto pack_one = [&](int64_t r, int) {
      if (r < theta_rows) {
        pack_row(task_row(c_.params, c_.params_stride, r), tr_.backward, base + r * te, theta_packs_[r]);
      } else {
        const int64_t q = r - theta_rows;
        pack_row(task_row(c_.v, c_.v_stride, q), tr_.second_order, base + theta_rows * te + q * ve, v_packs_[q]);
      }
    };
    if (theta_rows * te + v_rows * ve <= (size_t(1) << 16)) {  // small: not worth waking the pool
      for (int64_t r = 0; r < theta_rows + v_rows; ++r) pack_one(r, 0);
    } else {
      pool.parallel_for(theta_rows + v_rows, pack_one);
    }
  }

  void run_unit(int64_t t, int64_t chunk) {
    const int64_t N = c_.num_samples;
    const int64_t n_begin = unit_begin(chunk), n_end = unit_end(chunk);
    const int obs_dim = spec_.obs_dim;
    const int obs_pad = geom_[0].in_pad;
    const int act_pad = geom_[L_ - 1].out_pad;
    const Activation act_fn = spec_.activation;

    // ---- scratch
    size_t bytes = 0;
    for (const auto& g : geom_)  // gradient accumulators (2)
      bytes += (size_t(g.grad_rows()) * g.grad_cols() + g.out_pad) * sizeof(T) + 2 * 64;
    bytes += 2 * size_t(L_ + 1) * (size_t(kTile) * max_pad_ * sizeof(T) + 64);  // H, Hd
    bytes += 4 * (size_t(kTile) * max_pad_ * sizeof(T) + 64);                   // D, Dd, D2, Dd2
    bytes += 5 * (size_t(A_) * sizeof(T) + 64);                                 // per-action vectors
    const bool fill_contraction = contraction_ == CacheMode::kFill;
    if (jacobian_ != CacheMode::kNone) bytes += size_t(kTile) * act_pad * sizeof(T) + 64;  // Cot
    const int in_pad1 = L_ >= 2 ? geom_[1].in_pad : 0;  // the first hidden layer's padded width
    const int pairs = s_dim_ * (s_dim_ + 1) / 2;
    if (fill_contraction)  // C and E accumulators, a σ' tile and a tile of its products with s̃
      bytes += (size_t(s_dim_) * geom_[1].out + pairs + 2 * kTile) * in_pad1 * sizeof(T) + 4 * 64;
    Arena& arena = tls_arena;
    arena.reset(bytes);

    const T* theta = task_row(c_.params, c_.params_stride, t);
    const PackedRow& th = theta_packs_[c_.params_stride == 0 ? 0 : t];
    const std::vector<T*>&Wf = th.fwd, &Wb = th.bwd, &Bias = th.bias;
    const PackedRow* vp = tr_.tangent ? &v_packs_[c_.v_stride == 0 ? 0 : t] : nullptr;
    static const std::vector<T*> kNoRows;
    const std::vector<T*>&Vf = vp ? vp->fwd : kNoRows, &Vb = vp ? vp->bwd : kNoRows, &VBias = vp ? vp->bias : kNoRows;
    const T* vrow = tr_.tangent ? task_row(c_.v, c_.v_stride, t) : nullptr;

    // Activation tiles: H[0] = obs, H[l] = output of hidden layer l, H[L] = μ.
    std::vector<T*> H(L_ + 1), Hd(L_ + 1, nullptr);
    auto width = [&](int l) { return l == 0 ? obs_pad : geom_[l - 1].out_pad; };
    for (int l = 0; l <= L_; ++l) {
      H[l] = arena.take<T>(size_t(kTile) * width(l));
      if (tr_.tangent && l > 0) Hd[l] = arena.take<T>(size_t(kTile) * width(l));
    }
    T* D = arena.take<T>(size_t(kTile) * max_pad_);
    T* Dd = arena.take<T>(size_t(kTile) * max_pad_);
    T* D2 = arena.take<T>(size_t(kTile) * max_pad_);
    T* Dd2 = arena.take<T>(size_t(kTile) * max_pad_);
    std::vector<T*> Gw(L_), Gb(L_);
    if (tr_.backward)
      for (int l = 0; l < L_; ++l) {
        Gw[l] = arena.take<T>(size_t(geom_[l].grad_rows()) * geom_[l].grad_cols());
        Gb[l] = arena.take<T>(geom_[l].out_pad);
      }
    T* Cot = jacobian_ == CacheMode::kNone ? nullptr : arena.take<T>(size_t(kTile) * act_pad);
    T *Cacc = nullptr, *Eacc = nullptr, *Sprime = nullptr, *Ytile = nullptr;
    if (fill_contraction) {
      Cacc = arena.take<T>(size_t(s_dim_) * geom_[1].out * in_pad1);
      Eacc = arena.take<T>(size_t(pairs) * in_pad1);
      Sprime = arena.take<T>(size_t(kTile) * in_pad1);
      Ytile = arena.take<T>(size_t(kTile) * in_pad1);
      std::fill_n(Cacc, size_t(s_dim_) * geom_[1].out * in_pad1, T(0));
      std::fill_n(Eacc, size_t(pairs) * in_pad1, T(0));
    }
    double* contraction_unit = !fill_contraction ? nullptr
                               : contraction_base_ + size_t(c_.num_tasks + t * chunks_ + chunk) * contraction_unit_elems_;
    if (fill_contraction) std::fill_n(contraction_unit, contraction_unit_elems_, 0.0);
    auto flush_contraction = [&] {
      const int out1 = geom_[1].out, in1 = geom_[1].in;
      for (int j = 0; j < s_dim_; ++j)
        for (int i = 0; i < out1; ++i) {
          T* src = Cacc + (size_t(j) * out1 + i) * in_pad1;
          double* dst = contraction_unit + (size_t(j) * out1 + i) * in1;
          for (int k = 0; k < in1; ++k) dst[k] += src[k];
          std::fill_n(src, in_pad1, T(0));
        }
      for (int p = 0; p < pairs; ++p) {
        T* src = Eacc + size_t(p) * in_pad1;
        double* dst = contraction_unit + contraction_c_elems_ + size_t(p) * in1;
        for (int k = 0; k < in1; ++k) dst[k] += src[k];
        std::fill_n(src, in_pad1, T(0));
      }
    };
    T* log_std = arena.take<T>(A_);
    T* inv_std = arena.take<T>(A_);
    T* v_log_std = arena.take<T>(A_);
    T* old_var = arena.take<T>(A_);
    T* old_log_std = arena.take<T>(A_);
    for (int j = 0; j < A_; ++j) {
      log_std[j] = theta[spec_.log_std_offset() + j];
      inv_std[j] = std::exp(-log_std[j]);
      v_log_std[j] = vrow ? vrow[spec_.log_std_offset() + j] : T(0);
    }
    if (tr_.kl_inputs) {
      const T* ols = task_row(c_.old_log_std, c_.old_log_std_stride, t);
      for (int j = 0; j < A_; ++j) {
        old_log_std[j] = ols[j];
        old_var[j] = std::exp(T(2) * ols[j]);
      }
    }

    double* part = tr_.vector_out ? partial_.data() + size_t(t * chunks_ + chunk) * P_ : nullptr;
    std::vector<double> g_log_std(A_, 0.0);
    double kl_sum = 0.0, weight_sum = 0.0;
    auto zero_grads = [&] {
      for (int l = 0; l < L_; ++l) {
        std::fill_n(Gw[l], size_t(geom_[l].grad_rows()) * geom_[l].grad_cols(), T(0));
        std::fill_n(Gb[l], geom_[l].out_pad, T(0));
      }
    };
    auto flush_grads = [&] {
      for (int l = 0; l < L_; ++l) {
        const LayerGeom& g = geom_[l];
        double* pw = part + g.w_off;
        if (g.grad_out_major) {
          for (int o = 0; o < g.out; ++o)
            for (int i = 0; i < g.in; ++i) pw[o * g.in + i] += Gw[l][o * g.in_pad + i];
        } else {
          for (int i = 0; i < g.in; ++i)
            for (int o = 0; o < g.out; ++o) pw[o * g.in + i] += Gw[l][i * g.out_pad + o];
        }
        for (int o = 0; o < g.out; ++o) part[g.b_off + o] += Gb[l][o];
      }
      zero_grads();
    };
    if (tr_.backward) zero_grads();

    const T* obs_t = c_.obs + t * N * obs_dim;
    const T* act_t = tr_.uses_act ? c_.act + t * N * A_ : nullptr;
    const T* w_t = c_.weights ? c_.weights + t * N : nullptr;
    const T* u_t = c_.weights2 ? c_.weights2 + t * N : nullptr;
    const T* old_mean_t = tr_.kl_inputs ? c_.old_mean + t * N * A_ : nullptr;
    const T log_norm = T(0.5 * std::log(2.0 * M_PI)) * A_;
    T log_std_sum = 0;
    for (int j = 0; j < A_; ++j) log_std_sum += log_std[j];
    const T inv_n = T(1) / T(N);

    int tiles_since_flush = 0;
    T* slot = cache_mode_ == CacheMode::kNone ? nullptr
                                              : cache_base_ + size_t(unit_slot0_[t * chunks_ + chunk]) * slot_elems_;
    T* jslot = jacobian_ == CacheMode::kNone ? nullptr
                                             : jac_base_ + size_t(unit_slot0_[t * chunks_ + chunk]) * jac_slot_elems_;
    for (int64_t n0 = n_begin; n0 < n_end;
         n0 += kTile, slot = slot ? slot + slot_elems_ : nullptr, jslot = jslot ? jslot + jac_slot_elems_ : nullptr) {
      const int rows = int(std::min<int64_t>(kTile, n_end - n0));
      // ---- load the observation tile (zero rows past the end)
      T* X = H[0];
      for (int s = 0; s < kTile; ++s) {
        T* xr = X + s * obs_pad;
        if (s < rows) {
          std::memcpy(xr, obs_t + (n0 + s) * obs_dim, sizeof(T) * obs_dim);
          std::fill(xr + obs_dim, xr + obs_pad, T(0));
        } else {
          std::fill(xr, xr + obs_pad, T(0));
        }
      }
      // ---- forward (and tangent) pass. Forward-only ops compute just the rows in use (small
      // batches: the samplers evaluate a few environments per call); passes that reduce over the
      // tile need every row defined.
      // a cached tile holds every row, for the passes that need them all
      const int fwd_rows = tr_.backward || tr_.tangent || slot ? kTile : round_up(rows, kRowBlock);
      if (slot)
        for (int l = 1; l <= L_; ++l) H[l] = slot + h_off_[l];
      if (cache_mode_ != CacheMode::kUse) forward_tile(geom_, act_fn, Wf, Bias, H, fwd_rows);
      if (jacobian_ == CacheMode::kFill) fill_output_jacobian(H, Wb, D2, Dd2, jslot);
      // Ḣ[l] = σ'(H[l]) ⊙ Ż[l] is applied in layer l's step, by the product that reads H[l] first,
      // block of rows by block of rows: a stored tile's first read then overlaps the product's
      // arithmetic, and Ż[l]'s rows are updated while in L1 (the same values either way).
      for (int l = 0; tr_.tangent && l < L_; ++l) {
        const LayerGeom& g = geom_[l];
        if (narrow_tangent_ && l == L_ - 1) {  // the action mean's tangent: A dot products per sample
          if (l > 0) mul_activation_derivative<T>(act_fn, H[l], Hd[l], kTile * width(l));
          tile_narrow_matmul<T>(g.out, g.in_pad, H[l], Vb[l], l > 0 ? Hd[l] : nullptr, Wb[l], VBias[l], Hd[l + 1],
                                g.out_pad);
          break;
        }
        Epilogue<T> hd_derivative;
        if (l > 0 && !(l == 1 && jslot)) {  // (with the stored P, ż₁ is what μ̇ needs)
          hd_derivative.act = act_fn;
          hd_derivative.side = Hd[l];
        }
        tile_matmul<T>(g.in, H[l], width(l), Vf[l], g.out_pad, Hd[l + 1], VBias[l], Init::kBias, kTile, hd_derivative);
        // with the output Jacobian, z₁'s tangent reaches μ through P (after this loop) instead
        if (l > 0 && !(l == 1 && jslot))
          tile_matmul<T>(g.in, Hd[l], width(l), Wf[l], g.out_pad, Hd[l + 1], nullptr, Init::kAccumulate);
      }
      if (jslot)  // μ̇ += (∂μ/∂z₁) ż₁
        for (int s = 0; s < kTile; ++s)
          for (int a = 0; a < A_; ++a)
            Hd[L_][s * act_pad + a] += row_dot(jslot + (size_t(a) * kTile + s) * in_pad1, Hd[1] + s * in_pad1, in_pad1);
      const T* MU = H[L_];
      const T* MUd = Hd[L_];

      // ---- per-sample head: outputs and the gradients w.r.t. (μ, log_std)
      for (int s = 0; s < kTile; ++s) {
        T* d = D + s * act_pad;
        T* dd = Dd + s * act_pad;
        std::fill(d, d + act_pad, T(0));
        if (tr_.second_order) std::fill(dd, dd + act_pad, T(0));
        if (s >= rows) continue;
        const int64_t n = n0 + s;
        const T* mu = MU + s * act_pad;
        switch (c_.op) {
          case PolicyOp::kMean:
            std::memcpy(c_.out + (t * N + n) * A_, mu, sizeof(T) * A_);
            break;
          case PolicyOp::kLogProb: {
            const T* a = act_t + n * A_;
            T sq = 0;
            for (int j = 0; j < A_; ++j) {
              const T z = (a[j] - mu[j]) * inv_std[j];
              sq += z * z;
            }
            c_.out[t * N + n] = T(-0.5) * sq - log_std_sum - log_norm;
            break;
          }
          case PolicyOp::kScoreVjp: {
            const T* a = act_t + n * A_;
            const T w = w_t[n];
            for (int j = 0; j < A_; ++j) {
              const T z = (a[j] - mu[j]) * inv_std[j];
              d[j] = w * z * inv_std[j];
              g_log_std[j] += double(w * (z * z - T(1)));
            }
            break;
          }
          case PolicyOp::kScoreJvp: {
            const T* a = act_t + n * A_;
            const T* mud = MUd + s * act_pad;
            T acc = 0;
            for (int j = 0; j < A_; ++j) {
              const T z = (a[j] - mu[j]) * inv_std[j];
              acc += z * inv_std[j] * mud[j] + (z * z - T(1)) * v_log_std[j];
            }
            c_.out[t * N + n] = acc;
            break;
          }
          case PolicyOp::kHvpNaive:
          case PolicyOp::kHvpLvc:
          case PolicyOp::kHvpSplit: {
            // w ∇²log π v (second-order stream) + u ∇log π (first-order term carried in the same
            // stream): u = w·(∇log π·v) for LVC, u = weights2 for the split form, 0 for naive.
            const T* a = act_t + n * A_;
            const T* mud = MUd + s * act_pad;
            const T w = w_t[n];
            T u = 0;
            if (tr_.lvc) {
              T jvp = 0;
              for (int j = 0; j < A_; ++j) {
                const T z = (a[j] - mu[j]) * inv_std[j];
                jvp += z * inv_std[j] * mud[j] + (z * z - T(1)) * v_log_std[j];
              }
              u = w * jvp;
            } else if (c_.op == PolicyOp::kHvpSplit) {
              u = u_t[n];
            }
            for (int j = 0; j < A_; ++j) {
              const T z = (a[j] - mu[j]) * inv_std[j];
              const T zs = z * inv_std[j];
              d[j] = w * zs;
              dd[j] = w * (-mud[j] * inv_std[j] * inv_std[j] - T(2) * zs * v_log_std[j]) + u * zs;
              g_log_std[j] += double(w * (T(-2) * zs * mud[j] - T(2) * z * z * v_log_std[j]) +
                                     u * (z * z - T(1)));
            }
            break;
          }
          case PolicyOp::kKl:
          case PolicyOp::kKlGrad: {
            const T scale = w_t ? w_t[n] : inv_n;  // weighted sum, or the mean
            const T* m0 = old_mean_t + n * A_;
            T kl = 0;
            for (int j = 0; j < A_; ++j) {
              const T diff = m0[j] - mu[j];
              const T iv = inv_std[j] * inv_std[j];
              const T ratio = (old_var[j] + diff * diff) * iv;
              kl += log_std[j] - old_log_std[j] + T(0.5) * ratio - T(0.5);
              if (c_.op == PolicyOp::kKlGrad) {
                d[j] = -diff * iv * scale;
                g_log_std[j] += double((T(1) - ratio) * scale);
              }
            }
            kl_sum += w_t ? double(w_t[n]) * double(kl) : double(kl);
            break;
          }
          case PolicyOp::kKlFvp: {
            const T* mud = MUd + s * act_pad;
            const T scale = w_t ? w_t[n] : inv_n;
            if (w_t) weight_sum += double(w_t[n]);
            for (int j = 0; j < A_; ++j) d[j] = mud[j] * inv_std[j] * inv_std[j] * scale;
            break;
          }
        }
      }
      if (!tr_.backward) continue;
      if (jslot) std::memcpy(Cot, D, sizeof(T) * kTile * act_pad);  // the backward pass reuses D

      // ---- backward pass from (D, Dd) at the output layer
      T *dcur = D, *ddcur = Dd, *dnext = D2, *ddnext = Dd2;
      for (int l = L_ - 1; l >= 0; --l) {
        const LayerGeom& g = geom_[l];
        const T* dw_src = tr_.second_order ? ddcur : dcur;  // the stream whose products form the result
        // The input-layer contraction replaces the terms of δ at the second layer (l = 1); a filling
        // call first adds this tile to C and E, then takes the same path as the calls after it.
        const bool contracted = l == 1 && contraction_ != CacheMode::kNone;
        if (l == 1 && fill_contraction) accumulate_contraction_c(H[0], H[1], dcur, Sprime, Ytile, Cacc);
        if (g.grad_out_major) {
          tile_rank_update<T>(g.out, dw_src, g.out_pad, H[l], g.in_pad, Gw[l]);
          if (tr_.second_order && l > 0 && !contracted)
            tile_rank_update<T>(g.out, dcur, g.out_pad, Hd[l], g.in_pad, Gw[l]);
        } else {
          tile_rank_update<T>(g.in, H[l], width(l), dw_src, g.out_pad, Gw[l]);
          if (tr_.second_order && l > 0 && !contracted)
            tile_rank_update<T>(g.in, Hd[l], width(l), dcur, g.out_pad, Gw[l]);
        }
        tile_colsum<T>(dw_src, g.out_pad, Gb[l]);
        if (l == 0) break;
        if (contracted) {
          if (fill_contraction && act_fn == Activation::kTanh) {  // (ReLU: σ'' = 0, E stays 0)
            tile_matmul<T>(g.out, dcur, g.out_pad, Wb[l], g.in_pad, dnext, nullptr, Init::kZero);
            accumulate_contraction_e(H[0], H[1], dnext, Sprime, Ytile, Eacc);
          }
          // the first-order stream stops here: only δ̇ W₁ ⊙ σ' goes on to the first layer
          tile_matmul<T>(g.out, ddcur, g.out_pad, Wb[l], g.in_pad, ddnext, nullptr, Init::kZero, kTile,
                         times_derivative<T>(act_fn, H[l]));
          std::swap(ddcur, ddnext);
          continue;
        }
        if (l == 1 && jslot) {  // ∂/∂z₁ = Σ_a c_a P_a, c the output layer's cotangent
          for (int s = 0; s < kTile; ++s)
            combine_rows(A_, Cot + s * act_pad, jslot + size_t(s) * in_pad1, size_t(kTile) * in_pad1,
                         Dd + s * in_pad1, in_pad1);
          dcur = Dd;
          continue;
        }
        // δ_{l-1} = (δ_l W_l) ⊙ σ'; second order adds V_lᵀ and σ'' terms.
        if (tr_.second_order) {
          tile_backprop2<T>(g.out, dcur, ddcur, g.out_pad, Wb[l], Vb[l], g.in_pad, H[l], Hd[l], dnext, ddnext, act_fn);
        } else {
          tile_matmul<T>(g.out, dcur, g.out_pad, Wb[l], g.in_pad, dnext, nullptr, Init::kZero, kTile,
                         times_derivative<T>(act_fn, H[l]));
        }
        std::swap(dcur, dnext);
        std::swap(ddcur, ddnext);
      }
      if (++tiles_since_flush == kFlushTiles) {
        flush_grads();
        if (fill_contraction) flush_contraction();
        tiles_since_flush = 0;
      }
    }
    if (tr_.backward) {
      flush_grads();
      for (int j = 0; j < A_; ++j) part[spec_.log_std_offset() + j] += g_log_std[j];
    }
    if (fill_contraction) flush_contraction();
    if (c_.op == PolicyOp::kKl) partial_[t * chunks_ + chunk] = kl_sum;
    if (!weight_sums_.empty()) weight_sums_[t * chunks_ + chunk] = weight_sum;
  }

  void finish() {
    const int64_t Tn = c_.num_tasks;
    if (c_.op == PolicyOp::kKl) {
      for (int64_t t = 0; t < Tn; ++t) {
        double s = 0;
        for (int64_t k = 0; k < chunks_; ++k) s += partial_[t * chunks_ + k];
        c_.out[t] = T(c_.weights ? s : s / double(c_.num_samples));
      }
      return;
    }
    if (!tr_.vector_out) return;
    for (int64_t t = 0; t < Tn; ++t) {
      double* acc = partial_.data() + size_t(t * chunks_) * P_;
      for (int64_t k = 1; k < chunks_; ++k) {
        const double* pk = partial_.data() + size_t(t * chunks_ + k) * P_;
        for (int64_t p = 0; p < P_; ++p) acc[p] += pk[p];
      }
      T* out = c_.out + t * P_;
      for (int64_t p = 0; p < P_; ++p) out[p] = T(acc[p]);
      if (c_.op == PolicyOp::kKlFvp) {
        const T* vrow = task_row(c_.v, c_.v_stride, t);
        const int64_t ls = spec_.log_std_offset();
        // the log-std block of the Fisher is 2·I times the total sample weight (1 for the mean)
        double wsum = 1.0;
        if (!weight_sums_.empty()) {
          wsum = 0.0;
          for (int64_t k = 0; k < chunks_; ++k) wsum += weight_sums_[t * chunks_ + k];
        }
        for (int j = 0; j < A_; ++j) out[ls + j] = T(2.0 * wsum) * vrow[ls + j];
        if (c_.damping != T(0))
          for (int64_t p = 0; p < P_; ++p) out[p] += c_.damping * vrow[p];
      }
    }
  }

  const PolicyCall<T>& c_;
  const MlpSpec& spec_;
  OpTraits tr_;
  int L_ = 0, A_ = 0, max_pad_ = 0;
  int64_t P_ = 0, chunks_ = 1;
  std::vector<LayerGeom> geom_;
  std::vector<double> partial_;
  std::vector<double> weight_sums_;  // kKlFvp with weights: Σ_n w_n per work item
  CacheMode cache_mode_ = CacheMode::kNone;
  T* cache_base_ = nullptr;
  size_t slot_elems_ = 0;
  std::vector<int64_t> unit_slot0_;  // first slot of each work item
  std::vector<size_t> h_off_;  // offsets of H[1..L] in a slot
  CacheMode contraction_ = CacheMode::kNone;  // the input-layer contraction (plan_contraction)
  double* contraction_base_ = nullptr;
  size_t contraction_c_elems_ = 0, contraction_unit_elems_ = 0;
  int s_dim_ = 0;  // obs_dim + 1
  bool narrow_tangent_ = false;  // the output layer's tangent by tile_narrow_matmul
  std::vector<PackedRow> theta_packs_, v_packs_;
  CacheMode jacobian_ = CacheMode::kNone;  // the Fisher products' output Jacobian (plan_jacobian)
  T* jac_base_ = nullptr;
  size_t jac_slot_elems_ = 0;
};

// ---------------------------------------------------------------------------------------------
// The policy mean of one θ packed once (PolicyMean): the forward pass of the engine's kMean, on
// buffers the evaluator owns.

template <typename T>
class PackedMean final : public PolicyMean<T>::Impl {
 public:
  PackedMean(const MlpSpec& spec, const T* theta) : act_(spec.activation), obs_dim_(spec.obs_dim), A_(spec.act_dim) {
    int max_pad = 0;
    geom_ = layer_geometry<T>(spec, &max_pad);
    const int L = int(geom_.size());
    constexpr size_t kAlign = 64 / sizeof(T);
    auto span = [](size_t n) { return (n + kAlign - 1) / kAlign * kAlign; };
    size_t total = 0;
    for (const LayerGeom& g : geom_) total += span(size_t(g.in) * g.out_pad) + span(g.out_pad);
    total += size_t(L + 1) * span(size_t(kTile) * max_pad);
    buffer_ = static_cast<T*>(std::aligned_alloc(64, span(total) * sizeof(T)));
    if (!buffer_) throw std::bad_alloc();
    T* p = buffer_;
    auto take = [&](size_t n) {
      T* q = p;
      p += span(n);
      return q;
    };
    Wf_.resize(L);
    bias_.resize(L);
    for (int l = 0; l < L; ++l) {
      Wf_[l] = take(size_t(geom_[l].in) * geom_[l].out_pad);
      bias_[l] = take(geom_[l].out_pad);
      pack_forward(geom_[l], theta, Wf_[l], bias_[l]);
    }
    H_.resize(L + 1);
    for (int l = 0; l <= L; ++l) H_[l] = take(size_t(kTile) * max_pad);
    std::fill(H_[0], H_[0] + size_t(kTile) * max_pad, T(0));  // rows past n and the padding stay 0
  }
  ~PackedMean() override { std::free(buffer_); }

  void mean(const T* obs, int64_t n, T* out) override {
    const int obs_pad = geom_[0].in_pad, act_pad = geom_.back().out_pad;
    for (int64_t n0 = 0; n0 < n; n0 += kTile) {
      const int rows = int(std::min<int64_t>(kTile, n - n0));
      const int fwd_rows = round_up(rows, kRowBlock);
      for (int s = 0; s < fwd_rows; ++s) {
        T* xr = H_[0] + s * obs_pad;
        if (s < rows) std::memcpy(xr, obs + (n0 + s) * obs_dim_, sizeof(T) * obs_dim_);
        else std::fill(xr, xr + obs_dim_, T(0));
      }
      forward_tile(geom_, act_, Wf_, bias_, H_, fwd_rows);
      const T* mu = H_.back();
      for (int s = 0; s < rows; ++s) std::memcpy(out + (n0 + s) * A_, mu + s * act_pad, sizeof(T) * A_);
    }
  }

 private:
  Activation act_;
  int obs_dim_, A_;
  std::vector<LayerGeom> geom_;
  T* buffer_ = nullptr;
  std::vector<T*> Wf_, bias_, H_;
};

}  // namespace

void run(const PolicyCall<float>& call, ThreadPool& pool) { Engine<float>(call).run(pool); }
void run(const PolicyCall<double>& call, ThreadPool& pool) { Engine<double>(call).run(pool); }
std::unique_ptr<PolicyMean<float>::Impl> make_mean(const MlpSpec& spec, const float* theta) {
  return std::make_unique<PackedMean<float>>(spec, theta);
}
std::unique_ptr<PolicyMean<double>::Impl> make_mean(const MlpSpec& spec, const double* theta) {
  return std::make_unique<PackedMean<double>>(spec, theta);
}

}  // namespace METARL_ISA_NAMESPACE
}  // namespace metarl
