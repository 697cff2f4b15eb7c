#include "common/thread_pool.h"

#include <sched.h>

#include <stdexcept>
#include <string>

namespace metarl {

ThreadPool::ThreadPool(int num_threads) {
  if (num_threads < 1) throw std::invalid_argument("ThreadPool: num_threads must be >= 1");
  try {
    for (int w = 1; w < num_threads; ++w) workers_.emplace_back([this, w] { worker_loop(w); });
  } catch (const std::exception& e) {
    // The system refused a thread (a process or container limit): stop the ones started, so that
    // nothing waits on this pool's condition variables once it is gone, and say so.
    const int started = static_cast<int>(workers_.size()) + 1;
    stop_workers();
    throw std::runtime_error("could not start " + std::to_string(num_threads) + " threads (started " +
                             std::to_string(started) + "; a process or container limit?): " + e.what());
  }
}

void ThreadPool::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

ThreadPool::~ThreadPool() { stop_workers(); }

void ThreadPool::run_items(int worker) {
  for (;;) {
    int64_t item;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (next_item_ >= n_items_ || error_) return;
      item = next_item_++;
    }
    try {
      (*fn_)(item, worker);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
  }
}

void ThreadPool::worker_loop(int worker) {
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      ++active_;
    }
    run_items(worker);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      --active_;
    }
    done_.notify_all();
  }
}

void ThreadPool::parallel_for(int64_t n, const Fn& fn) {
  if (n <= 0) return;
  std::lock_guard<std::mutex> call_lock(call_mutex_);
  if (workers_.empty() || n == 1) {
    for (int64_t i = 0; i < n; ++i) fn(i, 0);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    fn_ = &fn;
    n_items_ = n;
    next_item_ = 0;
    error_ = nullptr;
    ++generation_;
  }
  wake_.notify_all();
  run_items(0);
  std::exception_ptr error;
  {
    // Wait until every item was handed out and every worker that joined has left.
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return active_ == 0 && (next_item_ >= n_items_ || error_); });
    // A worker that has not woken yet must not pick up this call's items later.
    n_items_ = 0;
    fn_ = nullptr;
    error = error_;
    error_ = nullptr;
  }
  if (error) std::rethrow_exception(error);
}

namespace {
std::mutex g_pool_mutex;
std::shared_ptr<ThreadPool> g_pool;
}  // namespace

int ThreadPool::default_num_threads() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  unsigned hc = std::thread::hardware_concurrency();
  return hc > 0 ? static_cast<int>(hc) : 1;
}

std::shared_ptr<ThreadPool> ThreadPool::global() {
  std::lock_guard<std::mutex> lock(g_pool_mutex);
  if (!g_pool) g_pool = std::make_shared<ThreadPool>(default_num_threads());
  return g_pool;
}

void ThreadPool::set_global_num_threads(int n) {
  if (n < 1) throw std::invalid_argument("num_threads must be >= 1");
  std::lock_guard<std::mutex> lock(g_pool_mutex);
  if (g_pool && g_pool->num_threads() == n) return;
  // A call still running on the old pool keeps it alive; it is joined when that call returns.
  g_pool = std::make_shared<ThreadPool>(n);
}

}  // namespace metarl
