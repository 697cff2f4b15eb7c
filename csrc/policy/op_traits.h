// One table of what every policy op takes, returns and computes: used by the bindings (which
// arrays a call needs, the shape of the result), the dispatcher (null-pointer checks) and the
// engine (which passes to run). Adding an op is a row here plus its arithmetic in the engine.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include "policy/policy_kernels.h"

namespace metarl {

// Whether an op reads an input.
enum class Need : uint8_t { kNo, kYes, kOptional };

// Shape of an op's result (T task groups, N samples, A = act_dim, P = num_params).
enum class OutShape : uint8_t {
  kSamples,        // [T, N]
  kSampleActions,  // [T, N, A]
  kParams,         // [T, P]
  kTasks,          // [T]
};

struct PolicyOpTraits {
  const char* name;
  // inputs besides params and obs
  Need act, weights, weights2, v, old;  // old: old_mean and old_log_std
  OutShape out;
  // engine passes
  bool tangent;       // forward-mode tangents of v
  bool backward;      // a reverse pass (the result is a gradient-like vector [P])
  bool second_order;  // the R-op of the backward pass (Hessian-vector products)
  bool lvc;           // the score outer-product term of the LVC curvature
};

//                                name         act          weights          weights2     v            old
inline constexpr PolicyOpTraits kPolicyOpTraits[] = {
    /* kLogProb  */ {"log_prob",    Need::kYes, Need::kNo,       Need::kNo,  Need::kNo,  Need::kNo,
                     OutShape::kSamples,       false, false, false, false},
    /* kMean     */ {"policy_mean", Need::kNo,  Need::kNo,       Need::kNo,  Need::kNo,  Need::kNo,
                     OutShape::kSampleActions, false, false, false, false},
    /* kScoreVjp */ {"score_vjp",   Need::kYes, Need::kYes,      Need::kNo,  Need::kNo,  Need::kNo,
                     OutShape::kParams,        false, true,  false, false},
    /* kScoreJvp */ {"score_jvp",   Need::kYes, Need::kNo,       Need::kNo,  Need::kYes, Need::kNo,
                     OutShape::kSamples,       true,  false, false, false},
    /* kHvpNaive */ {"hvp_naive",   Need::kYes, Need::kYes,      Need::kNo,  Need::kYes, Need::kNo,
                     OutShape::kParams,        true,  true,  true,  false},
    /* kHvpLvc   */ {"hvp_lvc",     Need::kYes, Need::kYes,      Need::kNo,  Need::kYes, Need::kNo,
                     OutShape::kParams,        true,  true,  true,  true},
    /* kKl       */ {"gaussian_kl", Need::kNo,  Need::kOptional, Need::kNo,  Need::kNo,  Need::kYes,
                     OutShape::kTasks,         false, false, false, false},
    /* kKlGrad   */ {"kl_grad",     Need::kNo,  Need::kOptional, Need::kNo,  Need::kNo,  Need::kYes,
                     OutShape::kParams,        false, true,  false, false},
    /* kKlFvp    */ {"kl_fvp",      Need::kNo,  Need::kOptional, Need::kNo,  Need::kYes, Need::kNo,
                     OutShape::kParams,        true,  true,  false, false},
    /* kHvpSplit */ {"hvp_split",   Need::kYes, Need::kYes,      Need::kYes, Need::kYes, Need::kNo,
                     OutShape::kParams,        true,  true,  true,  false},
};
inline constexpr int kNumPolicyOps = int(sizeof(kPolicyOpTraits) / sizeof(kPolicyOpTraits[0]));
static_assert(kNumPolicyOps == int(PolicyOp::kHvpSplit) + 1, "one row of kPolicyOpTraits per PolicyOp");

inline const PolicyOpTraits& op_traits(PolicyOp op) {
  const int i = int(op);
  if (i < 0 || i >= kNumPolicyOps) throw std::invalid_argument("unknown policy op " + std::to_string(i));
  return kPolicyOpTraits[i];
}

// Throws std::invalid_argument ("<who>: <input> is required") when `a` lacks params, obs, out or an
// input op `op` needs.
template <typename T>
void require_inputs(PolicyOp op, const PolicyArrays<T>& a, const std::string& who) {
  const PolicyOpTraits& t = op_traits(op);
  const auto require = [&](bool needed, const void* p, const char* what) {
    if (needed && !p) throw std::invalid_argument(who + ": " + what + " is required");
  };
  require(true, a.params, "params");
  require(true, a.obs, "obs");
  require(true, a.out, "out");
  require(t.act == Need::kYes, a.act, "act");
  require(t.weights == Need::kYes, a.weights, "weights");
  require(t.weights2 == Need::kYes, a.weights2, "weights2");
  require(t.v == Need::kYes, a.v, "v");
  require(t.old == Need::kYes, a.old_mean, "old_mean");
  require(t.old == Need::kYes, a.old_log_std, "old_log_std");
}

// Number of elements of an op's result.
inline int64_t op_out_size(PolicyOp op, int64_t tasks, int64_t samples, int64_t act_dim, int64_t num_params) {
  switch (op_traits(op).out) {
    case OutShape::kSamples: return tasks * samples;
    case OutShape::kSampleActions: return tasks * samples * act_dim;
    case OutShape::kParams: return tasks * num_params;
    case OutShape::kTasks: return tasks;
  }
  return 0;
}

}  // namespace metarl
