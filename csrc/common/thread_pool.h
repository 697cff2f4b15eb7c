// One persistent pool of worker threads shared by every kernel of the package.
//
// parallel_for(n, fn) runs fn(item, worker) for item in [0, n) on the pool plus the calling
// thread, and returns when all items are done. `worker` is in [0, num_threads()) and is unique
// among concurrently running calls of fn, so it can index per-worker scratch. Items are handed
// out dynamically; callers that need bit-reproducible results must make each item's work and
// the later combination of item results independent of which worker ran it.
//
// The first exception thrown by fn is rethrown in the caller after all workers stopped.
// Calls from several threads at once are serialised. No OpenMP: torch ships its own runtime.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace metarl {

class ThreadPool {
 public:
  using Fn = std::function<void(int64_t item, int worker)>;

  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return static_cast<int>(workers_.size()) + 1; }
  void parallel_for(int64_t n, const Fn& fn);

  // The package-wide pool (created on first use with default_num_threads()). Hold the returned
  // pointer for the duration of a call: set_global_num_threads may replace the pool meanwhile.
  static std::shared_ptr<ThreadPool> global();
  // Replaces the package-wide pool with one of n threads (n >= 1).
  static void set_global_num_threads(int n);
  // CPUs this process may run on (sched_getaffinity), at least 1.
  static int default_num_threads();

 private:
  void worker_loop(int worker);
  void run_items(int worker);
  void stop_workers();  // stop and join every worker (destruction, or a failed construction)

  std::vector<std::thread> workers_;
  std::mutex call_mutex_;  // serialises parallel_for calls
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const Fn* fn_ = nullptr;
  int64_t n_items_ = 0;
  int64_t next_item_ = 0;
  int active_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
};

}  // namespace metarl
