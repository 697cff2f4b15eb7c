// Fused kernels of the diagonal-Gaussian MLP policy, batched over task groups.
//
// Shapes (T task groups, N samples per group, P = spec.num_params()):
//   params  [T, P] rows, or one shared [P] row (params_stride = 0)
//   obs     [T, N, obs_dim]     act [T, N, act_dim]     weights, weights2 [T, N]
//   v       [T, P] rows or shared [P] (v_stride = 0)
//   old_mean [T, N, act_dim]    old_log_std [T, act_dim] rows or shared (stride 0)
// Outputs (row-major, written in full):
//   kLogProb  [T, N]  log π(a|s)
//   kMean     [T, N, act_dim]  μ_θ(s)
//   kScoreVjp [T, P]  Σ_n w_n ∇θ log π_n
//   kScoreJvp [T, N]  ∇θ log π_n · v
//   kHvpNaive [T, P]  Σ_n w_n ∇²θ log π_n v
//   kHvpLvc   [T, P]  Σ_n w_n [∇²θ log π_n v + (∇θ log π_n · v) ∇θ log π_n]
//   kHvpSplit [T, P]  Σ_n w_n ∇²θ log π_n v + Σ_n u_n ∇θ log π_n   (u = weights2; the DiCE HVP's
//                     second pass, with u built from prefix sums of kScoreJvp)
//   kKl       [T]     mean_n KL(N(old_mean_n, old_std) ‖ π_θ(·|s_n))   (Σ_n w_n KL_n with weights)
//   kKlGrad   [T, P]  ∇θ of kKl
//   kKlFvp    [T, P]  (1/N) Σ_n J_nᵀ M_n J_n v + damping·v, J_n = ∂(μ_n, log_std)/∂θ and
//                     M = diag(1/σ², 2): the Fisher of the mean KL at θ (Gauss-Newton form);
//                     with weights, Σ_n w_n J_nᵀ M_n J_n v + damping·v
// Reductions over n run per (task, chunk) in a fixed order and are combined in double, so the
// result does not depend on the number of threads. All pointers are host memory, C-contiguous.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>

#include "policy/mlp_spec.h"

namespace metarl {

class ThreadPool;

enum class PolicyOp : int32_t {
  kLogProb = 0,
  kMean,
  kScoreVjp,
  kScoreJvp,
  kHvpNaive,
  kHvpLvc,
  kKl,
  kKlGrad,
  kKlFvp,
  kHvpSplit,
};

// The forward activations of every tile of one (params, obs), kept between calls: any op on the
// same params and obs reads them instead of recomputing the forward pass. Conjugate gradient applies
// the same Hessian or Fisher to a new v at every iteration, and a meta-gradient runs up to five
// kernels on the same parameters and observations; with a cache only the first call computes the
// activations. Results are bit-identical with or without it. The calls that share a cache must
// pass the same params and obs arrays with the same values (the cache checks pointers and sizes,
// not values), and two calls may not use it at the same time. A pass whose cache would exceed
// kMaxBytes runs without one.
class PolicyPassCache {
 public:
  static constexpr size_t kMaxBytes = size_t(512) << 20;
  PolicyPassCache() = default;
  PolicyPassCache(const PolicyPassCache&) = delete;
  PolicyPassCache& operator=(const PolicyPassCache&) = delete;
  ~PolicyPassCache() { release(); }
  // Holds the values of the layout `key`.
  bool ready(uint64_t key) const { return filled_ && key_ == key; }
  // Storage of `bytes` (64-byte aligned) for the layout `key`; not ready until mark_filled().
  char* reserve(uint64_t key, size_t bytes);
  char* data() const { return data_; }
  void mark_filled() { filled_ = true; }
  size_t bytes() const { return bytes_; }
  // Empty again, keeping the storage for the next reserve().
  void invalidate() { filled_ = false; }
  // Gives the storage up (empty again). Up to kKeptBytes of given-up storage, over all caches, is
  // kept for the next reserve() of any cache (release_kept_pass_storage() frees it): a fresh block
  // of tens of MB costs its page faults, as much time as the pass it stores, and the operators of a
  // meta-iteration are made anew at every iteration.
  void release();
  static constexpr size_t kKeptBytes = size_t(256) << 20;

 private:
  char* data_ = nullptr;
  size_t bytes_ = 0;
  uint64_t key_ = 0;
  bool filled_ = false;
};

// Frees the storage that released pass caches left for reuse → the bytes freed.
size_t release_kept_pass_storage();
// The bytes of released pass-cache storage kept for reuse.
size_t kept_pass_storage_bytes();

// The arrays and sizes of one policy op (shapes above; plain values, also passed to the CUDA
// kernels: csrc/cuda/policy_program.h).
template <typename T>
struct PolicyArrays {
  int64_t num_tasks = 0;
  int64_t num_samples = 0;
  const T* params = nullptr;
  int64_t params_stride = 0;  // P, or 0 for one shared row
  const T* obs = nullptr;
  const T* act = nullptr;
  const T* weights = nullptr;
  const T* weights2 = nullptr;
  const T* v = nullptr;
  int64_t v_stride = 0;
  const T* old_mean = nullptr;
  const T* old_log_std = nullptr;
  int64_t old_log_std_stride = 0;
  T damping = 0;
  T* out = nullptr;
};

template <typename T>
struct PolicyCall : PolicyArrays<T> {
  PolicyOp op = PolicyOp::kLogProb;
  const MlpSpec* spec = nullptr;
  PolicyPassCache* cache = nullptr;  // optional (see PolicyPassCache)
  // Optional, for the Hessian-vector products (kHvpNaive, kHvpLvc, kHvpSplit) of an operator applied
  // to many v on the same (params, obs, act, weights, weights2): the v-independent tensors of the
  // input-layer contraction (see docs/kernels.md, "Hessian products reused by conjugate gradient").
  // The first call fills it while computing its product the direct way; later calls skip three of
  // the second layer's dense passes and add the contracted terms instead (the same products up to
  // rounding). Same contract as `cache`: the arrays keep their values, one call at a time. Used
  // when obs_dim + 1 ≤ kMaxContractedInputs and the network has a hidden layer: filling costs
  // obs_dim + 1 rank updates of the second layer against three saved per later call, so it pays
  // from the second or third call on at that size (measured at obs_dim = 17: 100 ms to fill for
  // 6 ms saved per call, a loss over a 10-iteration CG).
  PolicyPassCache* input_contraction = nullptr;
  static constexpr int kMaxContractedInputs = 8;
  // Optional, for the Fisher-vector products (kKlFvp) of an operator applied to many v on the same
  // (params, obs): the output Jacobian ∂μ/∂h₁ of every sample (h₁ the first hidden layer), filled by
  // the first call. The Fisher is a Gauss-Newton product (no second derivatives), so the first hidden
  // layer's tangent reaches μ, and μ's cotangent reaches h₁, through it: two dense passes of the
  // second layer fewer (the same products up to rounding). Used with two or more hidden layers when
  // 32 · act_dim ≤ the second hidden layer's width.
  PolicyPassCache* output_jacobian = nullptr;
};

// Runs `call` on the package thread pool with the engine for the best instruction set of this
// CPU (or the one forced by set_policy_isa). Throws std::invalid_argument on a bad call.
void run_policy_kernel(const PolicyCall<float>& call);
void run_policy_kernel(const PolicyCall<double>& call);
// The policy mean μ_θ(s) of one parameter row θ [P], packed once and then evaluated on a few
// observations at a time: the samplers evaluate it at every step for the environments of one work
// item. Each row of mean() is bit-identical to run_policy_kernel's kMean on the same θ and
// observation, whatever n. One evaluator per thread: it owns its scratch. θ is copied (packed) at
// construction and may change afterwards.
template <typename T>
class PolicyMean {
 public:
  class Impl {
   public:
    virtual ~Impl() = default;
    virtual void mean(const T* obs, int64_t n, T* out) = 0;
  };
  // Throws std::invalid_argument for an invalid spec or a null θ.
  PolicyMean(const MlpSpec& spec, const T* theta);
  // obs [n, obs_dim] → out [n, act_dim], n ≥ 1; host memory, C-contiguous.
  void mean(const T* obs, int64_t n, T* out) { impl_->mean(obs, n, out); }

 private:
  std::unique_ptr<Impl> impl_;
};
extern template class PolicyMean<float>;
extern template class PolicyMean<double>;

// Instruction-set variants compiled into this build, best first ("avx512", "avx2", "generic"),
// and the one in use. set_policy_isa("auto") restores the automatic choice; an unknown or
// unsupported name throws std::invalid_argument.
const char* policy_isa();
void set_policy_isa(const char* name);
bool policy_isa_available(const char* name);

// Number of (task, chunk) work items a reduction over [T, N] is split into per task; depends only
// on T and N, never on the thread count.
int64_t chunks_per_task(int64_t num_tasks, int64_t num_samples);

}  // namespace metarl
