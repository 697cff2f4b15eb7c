// Shape of the Gaussian MLP policy and its flat parameter layout.
//
// Layout of θ ∈ R^P: for each layer l in order, W_l (out_l × in_l, row-major) then b_l (out_l);
// then log_std (act_dim). Hidden layers use `activation`; the output layer (the action mean) is
// linear; the standard deviation exp(log_std) does not depend on the state.
#pragma once

#include <cstdint>
#include <vector>

namespace metarl {

enum class Activation : int32_t { kTanh = 0, kRelu = 1 };

struct MlpSpec {
  int obs_dim = 0;
  int act_dim = 0;
  std::vector<int> hidden;
  Activation activation = Activation::kTanh;

  int num_layers() const { return static_cast<int>(hidden.size()) + 1; }
  int layer_in(int l) const { return l == 0 ? obs_dim : hidden[l - 1]; }
  int layer_out(int l) const { return l == num_layers() - 1 ? act_dim : hidden[l]; }
  int64_t weight_offset(int l) const;
  int64_t bias_offset(int l) const { return weight_offset(l) + int64_t(layer_out(l)) * layer_in(l); }
  int64_t log_std_offset() const { return weight_offset(num_layers()); }
  int64_t num_params() const { return log_std_offset() + act_dim; }

  // Throws std::invalid_argument unless every size is positive and the activation is known.
  void validate() const;
  // A validated spec.
  static MlpSpec make(int obs_dim, int act_dim, const std::vector<int>& hidden, int activation) {
    MlpSpec s;
    s.obs_dim = obs_dim;
    s.act_dim = act_dim;
    s.hidden = hidden;
    s.activation = Activation(activation);
    s.validate();
    return s;
  }
};

}  // namespace metarl
