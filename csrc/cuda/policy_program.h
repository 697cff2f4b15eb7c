// The Gaussian-MLP policy kernels as one thread-block program (block_exec.h), run by the CUDA
// kernels (policy_cuda.cu) and by the host emulation (policy_plan.cc) alike. Same ops, shapes and
// results as the CPU engine (policy/policy_kernels.h); see PolicyLaunch for how work is split.
//
// One block handles one (task, chunk) work item: the chunk's samples in tiles of `tile` rows. Per
// tile, in shared memory: the activations H[0..L] (H[0] the observations), their tangents Hd[1..L]
// (forward mode, along v), and the backward streams D (first order) and Dd (second order, the R-op
// of the backward pass). Threads stride over the elements of each phase. A vector result's partial
// sum lives in global memory, one double row [P] per work item; thread k always owns the same
// entries, so the read-modify-write needs no atomics, and the finish step adds the chunk rows in
// chunk order. Nothing depends on timing: the same inputs give bit-identical outputs, run to run.
#pragma once

#include <cstdint>

#include "cuda/block_exec.h"
#include "cuda/block_gemm.h"
#include "policy/policy_kernels.h"

namespace metarl {
namespace gpu {

constexpr int kMaxLayers = 8;  // hidden layers + output layer

// The policy architecture as plain values (kernel parameters are copied by value).
struct DeviceSpec {
  int num_layers = 0, obs_dim = 0, act_dim = 0, activation = 0;  // activation: 0 tanh, 1 relu
  int in[kMaxLayers] = {}, out[kMaxLayers] = {};
  int64_t w_off[kMaxLayers] = {}, b_off[kMaxLayers] = {};
  int64_t log_std_off = 0, num_params = 0;
};

// How one op is split and laid out (from plan_policy_launch; a function of the spec, the op, the
// dtype and (T, N) only, never of the device, so the reduction order is the same on every GPU).
struct PolicyLaunch {
  int op = 0;  // PolicyOp
  bool tangent = false, backward = false, second_order = false, lvc = false;
  bool kl_inputs = false, uses_act = false, vector_out = false;
  int tile = 1;          // samples per tile
  int threads = 256;     // threads per block
  int64_t chunks = 1;    // work items per task (blocks: chunks × T)
  // shared-memory layout, in elements of the dtype
  int64_t h_off[kMaxLayers + 1] = {}, hd_off[kMaxLayers + 1] = {};
  int64_t d_off[4] = {};  // D, Dd and the two next-layer buffers
  int64_t gl_off = 0;     // [tile, A] per-sample log-std gradient terms
  int64_t sc_off = 0;     // [tile] per-sample scalars (KL values, weights)
  int64_t smem_elems = 0;
  int64_t smem_bytes = 0;
  // global workspace, in doubles: partial sums [T, chunks, P] (or [T, chunks] for the KL value),
  // then the per-item weight sums of the weighted Fisher [T, chunks]
  int64_t partial_elems = 0, wsum_elems = 0;
  // then the parameters (and v) with every weight matrix transposed ([in][out]: the forward and
  // tangent passes read a row of W per input, coalesced across threads): rows of P elements
  int64_t packed_params_rows = 0, packed_v_rows = 0;
  int64_t packed_offset_bytes = 0;
  int64_t workspace_bytes = 0;
  // forward-activation cache in global memory: [T, N, Σ_l out_l] (H[1..L] of every sample)
  int cache_mode = 0;      // 0 none, 1 fill (compute and store), 2 use (load instead of computing)
  int64_t cache_width = 0;  // Σ_l out_l
};

// The op's arrays (policy/policy_kernels.h) and the device workspace.
template <typename T>
struct PolicyArgs : PolicyArrays<T> {
  double* partial = nullptr;  // workspace (PolicyLaunch::partial_elems doubles)
  double* wsum = nullptr;     // workspace (PolicyLaunch::wsum_elems doubles), or null
  T* cache = nullptr;         // [T, N, cache_width] when cache_mode ≠ 0
  T* packed = nullptr;        // workspace: the transposed parameter rows, then the v rows
};

// Unit idx of the packing (idx < rows · P): entry p of row r, a weight entry W[o][i] of layer l
// going to w_off + i·out + o, every other entry to its own place.
template <typename T>
struct PackUnit {
  DeviceSpec sp;
  const T* src;
  int64_t src_stride;  // P, or 0 for one shared row
  T* dst;              // [rows, P]
  METARL_HD void operator()(int64_t idx) const {
    const int64_t P = sp.num_params, r = idx / P, p = idx % P;
    int64_t q = p;
    for (int l = 0; l < sp.num_layers; ++l) {
      const int64_t e = p - sp.w_off[l];
      if (e >= 0 && e < int64_t(sp.out[l]) * sp.in[l]) {
        q = sp.w_off[l] + (e % sp.in[l]) * sp.out[l] + e / sp.in[l];
        break;
      }
    }
    dst[r * P + q] = src[r * src_stride + p];
  }
};

// Packs the launch's parameter (and v) rows into a.packed, with any `Each` (unit runner).
template <typename T, typename Each>
void pack_policy_rows(const DeviceSpec& sp, const PolicyLaunch& pl, const PolicyArgs<T>& a, const Each& each) {
  const int64_t P = sp.num_params;
  each(pl.packed_params_rows * P, PackUnit<T>{sp, a.params, a.params_stride, a.packed});
  if (pl.packed_v_rows)
    each(pl.packed_v_rows * P, PackUnit<T>{sp, a.v, a.v_stride, a.packed + pl.packed_params_rows * P});
}

template <typename T>
METARL_HD inline T activate(int activation, T z) {
  return activation == 0 ? dev_tanh(z) : (z > T(0) ? z : T(0));
}

// σ'(z) written through the activation's output h.
template <typename T>
METARL_HD inline T activation_slope(int activation, T h) {
  return activation == 0 ? T(1) - h * h : (h > T(0) ? T(1) : T(0));
}

// The work item (task t, chunk) of one op: zeroes its partial rows, then runs every tile.
template <typename T, typename Exec>
METARL_HD void policy_block(const DeviceSpec& sp, const PolicyLaunch& pl, const PolicyArgs<T>& a, int64_t t,
                            int64_t chunk, T* sm, const Exec& exec) {
  const int L = sp.num_layers, A = sp.act_dim, S = pl.tile, act_fn = sp.activation;
  const int64_t N = a.num_samples, P = sp.num_params;
  const int64_t n_begin = N * chunk / pl.chunks, n_end = N * (chunk + 1) / pl.chunks;
  const int64_t item = t * pl.chunks + chunk;
  const PolicyOp op = PolicyOp(pl.op);
  const T* theta = a.params + a.params_stride * t;
  const T* vrow = pl.tangent ? a.v + a.v_stride * t : nullptr;
  // the same rows with transposed weights (pack_policy_rows), for the forward and tangent passes
  const T* theta_t = a.packed + (a.params_stride ? t : 0) * P;
  const T* v_t = pl.tangent ? a.packed + (pl.packed_params_rows + (a.v_stride ? t : 0)) * P : nullptr;
  const T* ols = pl.kl_inputs ? a.old_log_std + a.old_log_std_stride * t : nullptr;
  double* part = pl.vector_out ? a.partial + item * P : nullptr;
  T* GL = sm + pl.gl_off;
  T* SC = sm + pl.sc_off;

  exec([&](int tid, int nt) {
    if (part)
      for (int64_t p = tid; p < P; p += nt) part[p] = 0.0;
    if (tid == 0 && op == PolicyOp::kKl) a.partial[item] = 0.0;
    if (tid == 0 && a.wsum) a.wsum[item] = 0.0;
  });

  for (int64_t n0 = n_begin; n0 < n_end; n0 += S) {
    const int rows = int(n_end - n0 < S ? n_end - n0 : S);

    // ---- observations (rows past the chunk's end are zero)
    exec([&](int tid, int nt) {
      T* X = sm + pl.h_off[0];
      const int D0 = sp.obs_dim;
      const T* src = a.obs + (t * N + n0) * D0;
      for (int idx = tid; idx < S * D0; idx += nt) X[idx] = idx / D0 < rows ? src[idx] : T(0);
    });

    // ---- forward pass: H[l+1][s][o] = σ(b[o] + Σ_i H[l][s][i] W[o][i]) (no σ on the output), or
    // its values from the cache (rows past the chunk's end are zero: their backward terms are 0)
    if (pl.cache_mode == 2)
      exec([&](int tid, int nt) {
        int64_t off = 0;
        for (int l = 1; l <= L; ++l) {
          const int w = sp.out[l - 1];
          T* Y = sm + pl.h_off[l];
          for (int idx = tid; idx < S * w; idx += nt) {
            const int s_ = idx / w, o = idx % w;
            Y[idx] = s_ < rows ? a.cache[(t * N + n0 + s_) * pl.cache_width + off + o] : T(0);
          }
          off += w;
        }
      });
    for (int l = 0; pl.cache_mode != 2 && l < L; ++l)
      exec([&](int tid, int nt) {
        const int in = sp.in[l], out = sp.out[l];
        T* Y = sm + pl.h_off[l + 1];
        const T* b = theta + sp.b_off[l];
        const bool last = l == L - 1;
        block_gemm<T>(tid, nt, S, out, in, Operand<T>{sm + pl.h_off[l], in, 1}, Operand<T>{theta_t + sp.w_off[l], 1, out},
                      0, Operand<T>{nullptr, 0, 0}, Operand<T>{nullptr, 0, 0},
                      [&](int, int o) { return b[o]; },
                      [&](int s_, int o, T acc) { Y[s_ * out + o] = last ? acc : activate(act_fn, acc); });
      });

    if (pl.cache_mode == 1)
      exec([&](int tid, int nt) {
        int64_t off = 0;
        for (int l = 1; l <= L; ++l) {
          const int w = sp.out[l - 1];
          const T* Y = sm + pl.h_off[l];
          for (int idx = tid; idx < rows * w; idx += nt) {
            const int s_ = idx / w, o = idx % w;
            a.cache[(t * N + n0 + s_) * pl.cache_width + off + o] = Y[idx];
          }
          off += w;
        }
      });

    // ---- tangents along v: Hd[l+1] = σ'·(V_b + H[l] V_Wᵀ + Hd[l] Wᵀ)
    for (int l = 0; pl.tangent && l < L; ++l)
      exec([&](int tid, int nt) {
        const int in = sp.in[l], out = sp.out[l];
        const T* Hn = sm + pl.h_off[l + 1];
        T* Y = sm + pl.hd_off[l + 1];
        const T* Vb = vrow + sp.b_off[l];
        const bool last = l == L - 1;
        block_gemm<T>(tid, nt, S, out, in, Operand<T>{sm + pl.h_off[l], in, 1}, Operand<T>{v_t + sp.w_off[l], 1, out},
                      l > 0 ? in : 0, Operand<T>{sm + pl.hd_off[l], in, 1}, Operand<T>{theta_t + sp.w_off[l], 1, out},
                      [&](int, int o) { return Vb[o]; },
                      [&](int s_, int o, T acc) {
                        const int idx = s_ * out + o;
                        Y[idx] = last ? acc : acc * activation_slope(act_fn, Hn[idx]);
                      });
      });

    // ---- per-sample head: the op's per-sample outputs and the gradients w.r.t. (μ, log_std)
    exec([&](int tid, int nt) {
      const T* MU = sm + pl.h_off[L];
      const T* MUd = pl.tangent ? sm + pl.hd_off[L] : nullptr;
      T* Dm = sm + pl.d_off[0];
      T* Ddm = sm + pl.d_off[1];
      const int64_t ls = sp.log_std_off;
      for (int s = tid; s < S; s += nt) {
        T* d = Dm + s * A;
        T* dd = Ddm + s * A;
        T* gl = GL + s * A;
        for (int j = 0; j < A; ++j) {
          if (pl.backward) d[j] = T(0);
          if (pl.second_order) dd[j] = T(0);
          gl[j] = T(0);
        }
        SC[s] = T(0);
        if (s >= rows) continue;
        const int64_t n = n0 + s;
        const T* mu = MU + s * A;
        const T* mud = MUd ? MUd + s * A : nullptr;
        const T* act = pl.uses_act ? a.act + (t * N + n) * A : nullptr;
        switch (op) {
          case PolicyOp::kMean:
            for (int j = 0; j < A; ++j) a.out[(t * N + n) * A + j] = mu[j];
            break;
          case PolicyOp::kLogProb: {
            T sq = 0, log_std_sum = 0;
            for (int j = 0; j < A; ++j) {
              const T z = (act[j] - mu[j]) * dev_exp(-theta[ls + j]);
              sq += z * z;
              log_std_sum += theta[ls + j];
            }
            // ½ log 2π per action dimension
            a.out[t * N + n] = T(-0.5) * sq - log_std_sum - T(0.91893853320467274178) * T(A);
            break;
          }
          case PolicyOp::kScoreVjp: {
            const T w = a.weights[t * N + n];
            for (int j = 0; j < A; ++j) {
              const T inv_std = dev_exp(-theta[ls + j]);
              const T z = (act[j] - mu[j]) * inv_std;
              d[j] = w * z * inv_std;
              gl[j] = w * (z * z - T(1));
            }
            break;
          }
          case PolicyOp::kScoreJvp: {
            T acc = 0;
            for (int j = 0; j < A; ++j) {
              const T inv_std = dev_exp(-theta[ls + j]);
              const T z = (act[j] - mu[j]) * inv_std;
              acc += z * inv_std * mud[j] + (z * z - T(1)) * vrow[ls + j];
            }
            a.out[t * N + n] = acc;
            break;
          }
          case PolicyOp::kHvpNaive:
          case PolicyOp::kHvpLvc:
          case PolicyOp::kHvpSplit: {
            // w ∇²log π v in the second-order stream, plus u ∇log π in the same stream:
            // u = w (∇log π · v) for LVC, the given weights2 for the split form, 0 for naive.
            const T w = a.weights[t * N + n];
            T u = 0;
            if (pl.lvc) {
              T jvp = 0;
              for (int j = 0; j < A; ++j) {
                const T inv_std = dev_exp(-theta[ls + j]);
                const T z = (act[j] - mu[j]) * inv_std;
                jvp += z * inv_std * mud[j] + (z * z - T(1)) * vrow[ls + j];
              }
              u = w * jvp;
            } else if (op == PolicyOp::kHvpSplit) {
              u = a.weights2[t * N + n];
            }
            for (int j = 0; j < A; ++j) {
              const T inv_std = dev_exp(-theta[ls + j]);
              const T z = (act[j] - mu[j]) * inv_std;
              const T zs = z * inv_std;
              const T vl = vrow[ls + j];
              d[j] = w * zs;
              dd[j] = w * (-mud[j] * inv_std * inv_std - T(2) * zs * vl) + u * zs;
              gl[j] = w * (T(-2) * zs * mud[j] - T(2) * z * z * vl) + u * (z * z - T(1));
            }
            break;
          }
          case PolicyOp::kKl:
          case PolicyOp::kKlGrad: {
            const T scale = a.weights ? a.weights[t * N + n] : T(1) / T(N);
            const T* m0 = a.old_mean + (t * N + n) * A;
            T kl = 0;
            for (int j = 0; j < A; ++j) {
              const T log_std = theta[ls + j];
              const T inv_std = dev_exp(-log_std);
              const T diff = m0[j] - mu[j];
              const T iv = inv_std * inv_std;
              const T ratio = (dev_exp(T(2) * ols[j]) + diff * diff) * iv;
              kl += log_std - ols[j] + T(0.5) * ratio - T(0.5);
              if (op == PolicyOp::kKlGrad) {
                d[j] = -diff * iv * scale;
                gl[j] = (T(1) - ratio) * scale;
              }
            }
            SC[s] = a.weights ? a.weights[t * N + n] * kl : kl;
            break;
          }
          case PolicyOp::kKlFvp: {
            const T scale = a.weights ? a.weights[t * N + n] : T(1) / T(N);
            if (a.weights) SC[s] = a.weights[t * N + n];
            for (int j = 0; j < A; ++j) {
              const T inv_std = dev_exp(-theta[ls + j]);
              d[j] = mud[j] * inv_std * inv_std * scale;
            }
            break;
          }
        }
      }
    });

    if (pl.backward) {
      int cur = 0, next = 2;  // D = d_off[cur], Dd = d_off[cur + 1]
      for (int l = L - 1; l >= 0; --l) {
        // weight and bias gradients of layer l: Σ_s src[s][o] H[l][s][i] (+ D[s][o] Hd[l][s][i])
        exec([&](int tid, int nt) {
          const int in = sp.in[l], out = sp.out[l];
          const T* Dc = sm + pl.d_off[cur];
          const T* src = pl.second_order ? sm + pl.d_off[cur + 1] : Dc;
          const bool second = pl.second_order && l > 0;
          double* gw = part + sp.w_off[l];
          block_gemm<T>(tid, nt, out, in, S, Operand<T>{src, 1, out}, Operand<T>{sm + pl.h_off[l], 1, in},
                        second ? S : 0, Operand<T>{Dc, 1, out}, Operand<T>{second ? sm + pl.hd_off[l] : nullptr, 1, in},
                        [](int, int) { return T(0); },
                        [&](int o, int i, T g) { gw[o * in + i] += double(g); });
          for (int o = tid; o < out; o += nt) {
            T g = 0;
            for (int s_ = 0; s_ < S; ++s_) g += src[s_ * out + o];
            part[sp.b_off[l] + o] += double(g);
          }
        });
        if (l == 0) break;
        // δ_{l−1} = (δ_l W_l) ⊙ σ'; second order: (δd_l W_l + δ_l V_l) ⊙ σ' + δ_l W_l ⊙ σ''·ż
        exec([&](int tid, int nt) {
          const int in = sp.in[l], out = sp.out[l];
          const T* Hl = sm + pl.h_off[l];
          T* Dn = sm + pl.d_off[next];
          // first-order stream (kept as δ_l W_l, before σ', when the second-order stream still needs it)
          block_gemm<T>(tid, nt, S, in, out, Operand<T>{sm + pl.d_off[cur], out, 1}, Operand<T>{theta + sp.w_off[l], 1, in},
                        0, Operand<T>{nullptr, 0, 0}, Operand<T>{nullptr, 0, 0}, [](int, int) { return T(0); },
                        [&](int s_, int i, T d) {
                          const int idx = s_ * in + i;
                          Dn[idx] = pl.second_order ? d : d * activation_slope(act_fn, Hl[idx]);
                        });
        });
        if (pl.second_order)
          exec([&](int tid, int nt) {
            const int in = sp.in[l], out = sp.out[l];
            const T* Hl = sm + pl.h_off[l];
            const T* Hdl = sm + pl.hd_off[l];
            T* Dn = sm + pl.d_off[next];
            T* Ddn = sm + pl.d_off[next + 1];
            block_gemm<T>(tid, nt, S, in, out, Operand<T>{sm + pl.d_off[cur + 1], out, 1},
                          Operand<T>{theta + sp.w_off[l], 1, in}, out, Operand<T>{sm + pl.d_off[cur], out, 1},
                          Operand<T>{vrow + sp.w_off[l], 1, in}, [](int, int) { return T(0); },
                          [&](int s_, int i, T dd) {
                            const int idx = s_ * in + i;
                            const T d = Dn[idx], h = Hl[idx];
                            if (act_fn == 0) {
                              const T slope = T(1) - h * h;
                              Ddn[idx] = dd * slope - T(2) * d * h * Hdl[idx];
                              Dn[idx] = d * slope;
                            } else {
                              Ddn[idx] = h > T(0) ? dd : T(0);
                              Dn[idx] = h > T(0) ? d : T(0);
                            }
                          });
          });
        const int tmp = cur;
        cur = next;
        next = tmp;
      }
    }

    // ---- per-tile sums of the per-sample terms, in sample order
    exec([&](int tid, int nt) {
      if (pl.backward && op != PolicyOp::kKlFvp)
        for (int j = tid; j < A; j += nt) {
          double g = 0.0;
          for (int s = 0; s < S; ++s) g += double(GL[s * A + j]);
          part[sp.log_std_off + j] += g;
        }
      if (tid == 0 && (op == PolicyOp::kKl || a.wsum)) {
        double acc = 0.0;
        for (int s = 0; s < S; ++s) acc += double(SC[s]);
        if (op == PolicyOp::kKl) a.partial[item] += acc;
        else a.wsum[item] += acc;
      }
    });
  }
}

// Element (t, p) of a vector result: the work items' rows added in chunk order; the Fisher's
// log-std block is 2·I times the total sample weight (1 for the mean), plus damping·v.
template <typename T>
METARL_HD void policy_finish_param(const DeviceSpec& sp, const PolicyLaunch& pl, const PolicyArgs<T>& a, int64_t t,
                                   int64_t p) {
  const int64_t P = sp.num_params;
  double acc = 0.0;
  for (int64_t c = 0; c < pl.chunks; ++c) acc += a.partial[(t * pl.chunks + c) * P + p];
  T r = T(acc);
  if (PolicyOp(pl.op) == PolicyOp::kKlFvp) {
    const T* vrow = a.v + a.v_stride * t;
    if (p >= sp.log_std_off) {
      double wsum = 1.0;
      if (a.wsum) {
        wsum = 0.0;
        for (int64_t c = 0; c < pl.chunks; ++c) wsum += a.wsum[t * pl.chunks + c];
      }
      r = T(2.0 * wsum) * vrow[p];
    }
    if (a.damping != T(0)) r += a.damping * vrow[p];
  }
  a.out[t * P + p] = r;
}

// The KL value of task t: the work items' sums in chunk order (the mean, or the weighted sum).
template <typename T>
METARL_HD void policy_finish_task(const PolicyLaunch& pl, const PolicyArgs<T>& a, int64_t t) {
  double s = 0.0;
  for (int64_t c = 0; c < pl.chunks; ++c) s += a.partial[t * pl.chunks + c];
  a.out[t] = T(a.weights ? s : s / double(a.num_samples));
}

}  // namespace gpu
}  // namespace metarl
