// Per-sample weights and values of the meta-gradient surrogates. The policy-dependent parts
// (log-probs, JVPs, VJPs, HVPs) come from the policy engine; these functions turn them into the
// weights the engine's weighted passes consume. Work is split over task groups; each group's sums
// run in a fixed order (in double), so results do not depend on the thread count.
//
// Shapes: trajectory tensors [T, B, H] (TrajShape) with a 0/1 prefix mask; sample tensors [T, N].
#pragma once

#include <cstdint>

#include "advantages/advantages.h"

namespace metarl {

// DiCE (trajectory form). c_t = (γ^t r_t − b_t)·m_t with b a time-only baseline [T, H] (or null).
//   W_t = Σ_{t'≥t} c_t'                   (∇J = Σ_t W_t ∇log π_t, and the ∇²log π weights)
//   if jvp [T, B, H] is given:  J_t = Σ_{t'≤t} m_t' jvp_t',  U_t = Σ_{t'≥t} c_t' J_t'
//                                          (the ∇log π weights of the Hessian-vector product)
//   value [T] = Σ_b Σ_t c_t               (the objective; the magic box is 1 at any θ)
// W, U, value may be null when not needed.
template <typename T>
void dice_weights(TrajShape s, const T* rewards, const T* mask, const T* baseline, double gamma, const T* jvp,
                  T* W, T* U, T* value);

// Importance-ratio surrogates on [T, N] samples, ρ = exp(log_prob − old_log_prob), m = mask (or 1):
//   clip_eps < 0  (J^LR):   value = Σ m ρ A,                           weights = m ρ A
//   clip_eps ≥ 0  (J^CLIP): value = Σ m min(ρA, clip(ρ, 1−ε, 1+ε) A), weights = m ρ A where the
//                           unclipped term is the minimum (else 0)
// weights [T, N] and value [T] may be null.
template <typename T>
void ratio_weights(int64_t tasks, int64_t samples, const T* log_prob, const T* old_log_prob, const T* adv,
                   const T* mask, double clip_eps, T* weights, T* value);

// E-MAML credit per group: mean over the group's valid steps of (r − μ) / (σ + 1e-8), μ and σ the
// mean and population std of the rewards over every valid step of the whole batch. rewards, mask
// [T, N]; credit [T].
template <typename T>
void emaml_credit(int64_t tasks, int64_t samples, const T* rewards, const T* mask, T* credit);

}  // namespace metarl
