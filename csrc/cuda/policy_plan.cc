#include "cuda/policy_plan.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "policy/op_traits.h"

namespace metarl {
namespace gpu {

DeviceSpec device_spec(const MlpSpec& spec) {
  spec.validate();
  if (spec.num_layers() > kMaxLayers)
    throw std::invalid_argument("CUDA policy kernels: at most " + std::to_string(kMaxLayers - 1) +
                                " hidden layers, got " + std::to_string(spec.hidden.size()));
  DeviceSpec d;
  d.num_layers = spec.num_layers();
  d.obs_dim = spec.obs_dim;
  d.act_dim = spec.act_dim;
  d.activation = int(spec.activation);
  for (int l = 0; l < d.num_layers; ++l) {
    d.in[l] = spec.layer_in(l);
    d.out[l] = spec.layer_out(l);
    d.w_off[l] = spec.weight_offset(l);
    d.b_off[l] = spec.bias_offset(l);
  }
  d.log_std_off = spec.log_std_offset();
  d.num_params = spec.num_params();
  return d;
}

namespace {

// The shared-memory layout of a tile of S rows; returns the size in elements.
int64_t layout(const DeviceSpec& sp, PolicyLaunch& pl, int S, int dtype_bytes) {
  const int64_t align = 16 / dtype_bytes;
  int64_t used = 0;
  auto take = [&](int64_t n) {
    const int64_t off = used;
    used += (n + align - 1) / align * align;
    return off;
  };
  const int L = sp.num_layers;
  int max_width = 0;
  for (int l = 0; l < L; ++l) max_width = std::max(max_width, sp.out[l]);
  pl.h_off[0] = take(int64_t(S) * sp.obs_dim);
  for (int l = 1; l <= L; ++l) pl.h_off[l] = take(int64_t(S) * sp.out[l - 1]);
  for (int l = 0; l <= L; ++l) pl.hd_off[l] = 0;
  if (pl.tangent)
    for (int l = 1; l <= L; ++l) pl.hd_off[l] = take(int64_t(S) * sp.out[l - 1]);
  for (int k = 0; k < 4; ++k) pl.d_off[k] = 0;
  if (pl.backward) {
    pl.d_off[0] = take(int64_t(S) * max_width);
    if (pl.second_order) pl.d_off[1] = take(int64_t(S) * max_width);
    if (L > 1) {
      pl.d_off[2] = take(int64_t(S) * max_width);
      if (pl.second_order) pl.d_off[3] = take(int64_t(S) * max_width);
    }
  }
  pl.gl_off = take(int64_t(S) * sp.act_dim);
  pl.sc_off = take(S);
  return used;
}

}  // namespace

PolicyLaunch plan_policy_launch(const MlpSpec& spec, PolicyOp op, int dtype_bytes, int64_t tasks, int64_t samples,
                                bool weighted, int cache_mode, std::pair<int64_t, int64_t> packed_rows) {
  if (cache_mode < 0 || cache_mode > 2) throw std::invalid_argument("CUDA policy kernels: cache_mode must be 0, 1 or 2");
  if (dtype_bytes != 4 && dtype_bytes != 8)
    throw std::invalid_argument("CUDA policy kernels: dtype must be float32 or float64");
  if (tasks < 1 || samples < 1)
    throw std::invalid_argument("CUDA policy kernels: need at least one task group and one sample, got T=" +
                                std::to_string(tasks) + ", N=" + std::to_string(samples));
  if (tasks > kMaxTasks)
    throw std::invalid_argument("CUDA policy kernels: at most " + std::to_string(kMaxTasks) + " task groups, got " +
                                std::to_string(tasks));
  const DeviceSpec sp = device_spec(spec);
  const PolicyOpTraits& tr = op_traits(op);
  PolicyLaunch pl;
  pl.op = int(op);
  pl.tangent = tr.tangent;
  pl.backward = tr.backward;
  pl.second_order = tr.second_order;
  pl.lvc = tr.lvc;
  pl.kl_inputs = tr.old == Need::kYes;
  pl.uses_act = tr.act == Need::kYes;
  pl.vector_out = tr.out == OutShape::kParams;
  pl.threads = kBlockThreads;
  pl.cache_mode = op == PolicyOp::kMean ? 0 : cache_mode;  // the mean is its own forward pass
  for (int l = 0; l < sp.num_layers; ++l) pl.cache_width += sp.out[l];
  int S = kMaxTile;
  for (; S >= 1; S /= 2) {
    pl.tile = S;
    pl.smem_elems = layout(sp, pl, S, dtype_bytes);
    pl.smem_bytes = pl.smem_elems * dtype_bytes;
    if (pl.smem_bytes <= kSharedBudgetBytes) break;
  }
  if (S < 1)
    throw std::invalid_argument("CUDA policy kernels: the network is too wide for one sample's activations to fit " +
                                std::to_string(kSharedBudgetBytes / 1024) + " KiB of shared memory");
  // shared parameters (and v) take one packed row, per-task ones T; the caller says which
  pl.packed_params_rows = packed_rows.first;
  pl.packed_v_rows = pl.tangent ? packed_rows.second : 0;
  const int64_t tiles = (samples + S - 1) / S;
  const int64_t by_balance = (kTargetBlocks + tasks - 1) / tasks;
  pl.chunks = std::max<int64_t>(1, std::min(tiles, by_balance));
  const int64_t P = sp.num_params;
  auto sizes = [&] {
    pl.partial_elems = pl.vector_out ? tasks * pl.chunks * P : (op == PolicyOp::kKl ? tasks * pl.chunks : 0);
    pl.wsum_elems = op == PolicyOp::kKlFvp && weighted ? tasks * pl.chunks : 0;
    pl.packed_offset_bytes = (pl.partial_elems + pl.wsum_elems + 1) / 2 * 2 * int64_t(sizeof(double));  // 16-aligned
    pl.workspace_bytes = pl.packed_offset_bytes + (pl.packed_params_rows + pl.packed_v_rows) * P * dtype_bytes;
  };
  sizes();
  // keep the partial sums under 512 MiB (many tasks of a large network)
  while (pl.chunks > 1 && pl.workspace_bytes > (int64_t(512) << 20)) {
    pl.chunks = (pl.chunks + 1) / 2;
    sizes();
  }
  return pl;
}

template <typename T>
void emulate_policy_kernel(const DeviceSpec& spec, const PolicyLaunch& launch, const PolicyArgs<T>& a) {
  std::vector<T> smem(size_t(launch.smem_elems));
  const HostExec exec{launch.threads};
  pack_policy_rows<T>(spec, launch, a, HostEach{});
  for (int64_t t = 0; t < a.num_tasks; ++t)
    for (int64_t c = 0; c < launch.chunks; ++c) policy_block<T>(spec, launch, a, t, c, smem.data(), exec);
  if (launch.vector_out) {
    for (int64_t t = 0; t < a.num_tasks; ++t)
      for (int64_t p = 0; p < spec.num_params; ++p) policy_finish_param<T>(spec, launch, a, t, p);
  } else if (PolicyOp(launch.op) == PolicyOp::kKl) {
    for (int64_t t = 0; t < a.num_tasks; ++t) policy_finish_task<T>(launch, a, t);
  }
}

template void emulate_policy_kernel<float>(const DeviceSpec&, const PolicyLaunch&, const PolicyArgs<float>&);
template void emulate_policy_kernel<double>(const DeviceSpec&, const PolicyLaunch&, const PolicyArgs<double>&);

}  // namespace gpu
}  // namespace metarl
