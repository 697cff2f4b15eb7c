#include "policy/mlp_spec.h"

#include <stdexcept>
#include <string>

namespace metarl {

int64_t MlpSpec::weight_offset(int l) const {
  int64_t off = 0;
  for (int k = 0; k < l; ++k) off += int64_t(layer_out(k)) * layer_in(k) + layer_out(k);
  return off;
}

void MlpSpec::validate() const {
  if (obs_dim <= 0) throw std::invalid_argument("obs_dim must be positive, got " + std::to_string(obs_dim));
  if (act_dim <= 0) throw std::invalid_argument("act_dim must be positive, got " + std::to_string(act_dim));
  for (int h : hidden)
    if (h <= 0) throw std::invalid_argument("hidden sizes must be positive, got " + std::to_string(h));
  if (activation != Activation::kTanh && activation != Activation::kRelu)
    throw std::invalid_argument("unknown activation code " + std::to_string(int(activation)));
}

}  // namespace metarl
