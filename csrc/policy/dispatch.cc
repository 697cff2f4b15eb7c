// Picks the policy engine compiled for the best instruction set this CPU supports.
#include <atomic>
#include <cstring>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "common/thread_pool.h"
#include "policy/op_traits.h"
#include "policy/policy_kernels.h"

namespace metarl {

#define METARL_DECLARE_ISA(ns)                                                               \
  namespace ns {                                                                             \
  void run(const PolicyCall<float>& call, ThreadPool& pool);                                 \
  void run(const PolicyCall<double>& call, ThreadPool& pool);                                \
  std::unique_ptr<PolicyMean<float>::Impl> make_mean(const MlpSpec& spec, const float* theta);   \
  std::unique_ptr<PolicyMean<double>::Impl> make_mean(const MlpSpec& spec, const double* theta); \
  }
#ifdef METARL_HAVE_ISA_AVX512
METARL_DECLARE_ISA(isa_avx512)
#endif
#ifdef METARL_HAVE_ISA_AVX2
METARL_DECLARE_ISA(isa_avx2)
#endif
METARL_DECLARE_ISA(isa_generic)
#undef METARL_DECLARE_ISA

namespace {

enum class Isa { kGeneric = 0, kAvx2 = 1, kAvx512 = 2 };
const char* kIsaNames[] = {"generic", "avx2", "avx512"};

bool cpu_supports(Isa isa) {
  switch (isa) {
    case Isa::kGeneric: return true;
#if defined(__x86_64__) || defined(__i386__)
#ifdef METARL_HAVE_ISA_AVX2
    case Isa::kAvx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
#ifdef METARL_HAVE_ISA_AVX512
    case Isa::kAvx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
#endif
    default: return false;
  }
}

Isa best_isa() {
  if (cpu_supports(Isa::kAvx512)) return Isa::kAvx512;
  if (cpu_supports(Isa::kAvx2)) return Isa::kAvx2;
  return Isa::kGeneric;
}

std::atomic<int> g_isa{-1};

Isa current_isa() {
  int v = g_isa.load();
  if (v < 0) {
    v = int(best_isa());
    g_isa.store(v);
  }
  return Isa(v);
}

template <typename T>
void validate(const PolicyCall<T>& c) {
  if (!c.spec) throw std::invalid_argument("policy kernel: spec is null");
  c.spec->validate();
  if (c.num_tasks < 1 || c.num_samples < 1)
    throw std::invalid_argument("policy kernel: need at least one task and one sample");
  require_inputs<T>(c.op, c, std::string("policy kernel ") + op_traits(c.op).name);
}

template <typename T>
void run_impl(const PolicyCall<T>& call, ThreadPool& pool) {
  validate(call);
  switch (current_isa()) {
#ifdef METARL_HAVE_ISA_AVX512
    case Isa::kAvx512: isa_avx512::run(call, pool); return;
#endif
#ifdef METARL_HAVE_ISA_AVX2
    case Isa::kAvx2: isa_avx2::run(call, pool); return;
#endif
    default: isa_generic::run(call, pool); return;
  }
}

template <typename T>
std::unique_ptr<typename PolicyMean<T>::Impl> make_mean_impl(const MlpSpec& spec, const T* theta) {
  spec.validate();
  if (!theta) throw std::invalid_argument("PolicyMean: theta is null");
  switch (current_isa()) {
#ifdef METARL_HAVE_ISA_AVX512
    case Isa::kAvx512: return isa_avx512::make_mean(spec, theta);
#endif
#ifdef METARL_HAVE_ISA_AVX2
    case Isa::kAvx2: return isa_avx2::make_mean(spec, theta);
#endif
    default: return isa_generic::make_mean(spec, theta);
  }
}

template <typename T>
void run_pooled(const PolicyCall<T>& call) {
  std::shared_ptr<ThreadPool> pool = ThreadPool::global();
  run_impl(call, *pool);
}

}  // namespace

void run_policy_kernel(const PolicyCall<float>& call) { run_pooled(call); }
void run_policy_kernel(const PolicyCall<double>& call) { run_pooled(call); }

template <typename T>
PolicyMean<T>::PolicyMean(const MlpSpec& spec, const T* theta) : impl_(make_mean_impl(spec, theta)) {}
template class PolicyMean<float>;
template class PolicyMean<double>;

namespace {

// Storage given up by pass caches (PolicyPassCache::release), kept for the next reserve(). Never
// destroyed: caches owned by Python objects may be released after static destructors have run.
struct KeptBlocks {
  std::mutex mutex;
  std::vector<std::pair<char*, size_t>> blocks;  // (64-byte aligned block, its bytes)
  size_t bytes = 0;
};
KeptBlocks& kept_blocks() {
  static KeptBlocks* kept = new KeptBlocks;
  return *kept;
}

// A block of at least `bytes`: the smallest kept one that is at most a quarter larger, else a
// fresh one. *got receives its size.
char* take_block(size_t bytes, size_t* got) {
  KeptBlocks& k = kept_blocks();
  {
    std::lock_guard<std::mutex> lock(k.mutex);
    auto best = k.blocks.end();
    for (auto it = k.blocks.begin(); it != k.blocks.end(); ++it)
      if (it->second >= bytes && it->second - bytes <= bytes / 4 && (best == k.blocks.end() || it->second < best->second))
        best = it;
    if (best != k.blocks.end()) {
      char* p = best->first;
      *got = best->second;
      k.bytes -= best->second;
      k.blocks.erase(best);
      return p;
    }
  }
  const size_t rounded = (bytes + 63) / 64 * 64;
  char* p = static_cast<char*>(std::aligned_alloc(64, rounded));
  if (!p) throw std::bad_alloc();
  *got = rounded;
  return p;
}

// Keeps p, freeing the longest-kept blocks first when the kept storage would exceed kKeptBytes (the
// sizes a run uses now are the likeliest to be asked for again).
void give_block(char* p, size_t bytes) {
  if (!p) return;
  if (bytes > PolicyPassCache::kKeptBytes) {
    std::free(p);
    return;
  }
  std::vector<char*> dropped;
  {
    KeptBlocks& k = kept_blocks();
    std::lock_guard<std::mutex> lock(k.mutex);
    size_t first = 0;
    while (k.bytes + bytes > PolicyPassCache::kKeptBytes) {
      dropped.push_back(k.blocks[first].first);
      k.bytes -= k.blocks[first++].second;
    }
    k.blocks.erase(k.blocks.begin(), k.blocks.begin() + first);
    k.blocks.emplace_back(p, bytes);
    k.bytes += bytes;
  }
  for (char* d : dropped) std::free(d);
}

}  // namespace

char* PolicyPassCache::reserve(uint64_t key, size_t bytes) {
  filled_ = false;
  if (bytes > bytes_) {
    release();
    data_ = take_block(bytes, &bytes_);
  }
  key_ = key;
  return data_;
}

void PolicyPassCache::release() {
  give_block(data_, bytes_);
  data_ = nullptr;
  bytes_ = 0;
  filled_ = false;
}

size_t release_kept_pass_storage() {
  KeptBlocks& k = kept_blocks();
  std::lock_guard<std::mutex> lock(k.mutex);
  const size_t freed = k.bytes;
  for (auto& b : k.blocks) std::free(b.first);
  k.blocks.clear();
  k.bytes = 0;
  return freed;
}

size_t kept_pass_storage_bytes() {
  KeptBlocks& k = kept_blocks();
  std::lock_guard<std::mutex> lock(k.mutex);
  return k.bytes;
}

const char* policy_isa() { return kIsaNames[int(current_isa())]; }

bool policy_isa_available(const char* name) {
  for (int i = 0; i < 3; ++i)
    if (std::strcmp(name, kIsaNames[i]) == 0) return cpu_supports(Isa(i));
  return false;
}

void set_policy_isa(const char* name) {
  if (std::strcmp(name, "auto") == 0) {
    g_isa.store(int(best_isa()));
    return;
  }
  for (int i = 0; i < 3; ++i)
    if (std::strcmp(name, kIsaNames[i]) == 0) {
      if (!cpu_supports(Isa(i)))
        throw std::invalid_argument(std::string("instruction set '") + name +
                                    "' is not compiled in or not supported by this CPU");
      g_isa.store(i);
      return;
    }
  throw std::invalid_argument(std::string("unknown instruction set '") + name +
                              "' (expected auto, avx512, avx2 or generic)");
}

int64_t chunks_per_task(int64_t num_tasks, int64_t num_samples) {
  // At least ~64 work items overall for load balance, at least 256 samples per item; a function
  // of (T, N) only, so the reduction order never depends on the thread count.
  const int64_t by_balance = (64 + num_tasks - 1) / num_tasks;
  const int64_t by_size = (num_samples + 255) / 256;
  int64_t c = by_balance < by_size ? by_balance : by_size;
  return c < 1 ? 1 : c;
}

}  // namespace metarl
