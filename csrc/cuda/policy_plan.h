// Host side of the CUDA policy kernels: launch planning and the host emulation of the block
// program (policy_program.h). Compiled into every build, with or without CUDA, so the planning and
// the programs' arithmetic are tested on machines without a GPU.
#pragma once

#include <cstdint>
#include <utility>

#include "cuda/policy_program.h"
#include "policy/mlp_spec.h"
#include "policy/policy_kernels.h"

namespace metarl {
namespace gpu {

// Shared memory one block may use (dynamic; above 48 KiB the kernel opts in). Every CUDA GPU of
// compute capability 8.0 or newer offers at least 99 KiB per block.
constexpr int64_t kSharedBudgetBytes = 96 * 1024;
constexpr int kMaxTile = 64;
constexpr int kBlockThreads = 256;
// Blocks aimed at over all tasks: enough to fill a large GPU several times over.
constexpr int64_t kTargetBlocks = 1024;
constexpr int64_t kMaxTasks = 65535;  // grid y limit

// The spec as kernel parameters; throws std::invalid_argument for more than kMaxLayers layers.
DeviceSpec device_spec(const MlpSpec& spec);

// How `op` is run on T tasks of N samples in a dtype of `dtype_bytes` (4 or 8) bytes: the largest
// tile (power of two ≤ kMaxTile) whose shared memory fits kSharedBudgetBytes, chunks per task from
// (T, N) and the tile alone, and the shared-memory and workspace layout. `weighted` says whether the
// op is given per-sample weights (the weighted Fisher keeps weight sums). Throws
// std::invalid_argument when T, N or the network cannot be run (no tile fits, T > kMaxTasks).
// cache_mode: 0 none, 1 fill, 2 use the forward-activation cache ([T, N, cache_width] elements).
// packed_rows: the rows of params and of v (1 when shared, T when per task) packed in the workspace.
PolicyLaunch plan_policy_launch(const MlpSpec& spec, PolicyOp op, int dtype_bytes, int64_t tasks, int64_t samples,
                                bool weighted, int cache_mode = 0,
                                std::pair<int64_t, int64_t> packed_rows = {1, 1});

// Runs the block program of every work item and the finish step on the host, one block after the
// other and each block's threads one after the other (HostExec): exactly what the GPU computes,
// up to the device's rounding of tanh/exp. `a.partial` / `a.wsum` must hold the launch's workspace.
template <typename T>
void emulate_policy_kernel(const DeviceSpec& spec, const PolicyLaunch& launch, const PolicyArgs<T>& a);

}  // namespace gpu
}  // namespace metarl
