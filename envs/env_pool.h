// EnvPool: N environments stepped in parallel on a Boost.Asio thread pool, with EnvPool's
// (sail-sg/envpool) synchronous and asynchronous APIs and Gymnasium 1.x vector-env conventions.
//
//   Sync:  Reset(ids or all) -> results in id order;  Step(actions for all) -> results in id order
//   Async: Send(actions, env_ids); Recv() -> up to batch_size results as soon as they are ready
//
// Every result carries its env id. An env is used by one pool thread at a time (the pool never
// has two operations in flight for one env, and an env whose step overran the time budget is
// abandoned to that step and never touched again), so Env's one-thread-at-a-time contract holds.
//
// Auto-reset (EnvPoolOptions::auto_reset, on by default), Gymnasium 1.x's "next-step" mode:
//   - The step that ends an episode (terminated or truncated) returns that episode's final
//     observation, reward and info (end_reason, outcome) as any other step does: nothing of the
//     finished episode is lost or moved elsewhere.
//   - The next action sent to that env is ignored: the env is reset instead (with its next
//     episode seed) and the result is the reset: is_reset = true, the reset observation and
//     info, reward 0, terminated = truncated = false, episode incremented.
//   - An env marked failed (an error result) is reset the same way by the next action sent.
//   With auto_reset off, sending to an env whose episode ended or that failed gives an error
//   result (FailedPrecondition) for that id until Reset(id) is called.
//
// Seeds: episode k of env i is deterministic. Envs made from TaskSources get EnvOptions
// seed_sequence = EnvSeedSequence(options.seed, i), so Reset without an explicit seed draws the
// k-th seed of that sequence from the env options' split ("train" unless env_options says
// otherwise). EnvPoolOptions::seed_schedule, when set, gives explicit task seeds per (env,
// episode); Reset(ids, seeds) gives explicit seeds for one reset.
//
// Failures: an env whose Reset or Step returns an error or throws, or whose step overruns
// step_time_budget, gives an error result (Result::status) for its id only; the pool keeps
// serving the others. The env is marked failed; Reset(id) (or, with auto_reset, the next Send)
// recovers it: the env is reset, and if that fails or the env was abandoned after a timeout, a
// new env is made by the pool's factory and reset.
//
// Thread-safety: every method takes one internal mutex, so all may be called from several
// threads. The intended use is EnvPool's: one thread calls Send and Recv (and the sync methods).
// With several receiving threads each result still goes to exactly one Recv. The factory may be
// called from pool threads (never two calls at once).
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "envs/env.h"
#include "envs/info.h"
#include "envs/task.h"

namespace toolgym::envs {

struct EnvPoolOptions {
  // Pool threads; 0 means min(num_envs, hardware threads).
  int num_threads = 0;
  // Recv returns once this many results are ready (or every pending one is, when fewer are
  // outstanding); 0 means num_envs. 1 <= batch_size <= num_envs.
  int batch_size = 0;
  // Base of the per-env seed sequences (see the file comment).
  std::uint64_t seed = 0;
  // Explicit task seed for episode `episode` (0-based) of env `env_id`; nullopt falls back to
  // the env's own draw. Called under the pool's lock: keep it cheap and non-blocking.
  std::function<std::optional<std::uint64_t>(int env_id, std::uint64_t episode)> seed_schedule;
  // EnvOptions JSON (EnvOptions::FromJson) for envs made from TaskSources; seed_sequence is
  // set per env by the pool and must not be given here.
  nlohmann::json env_options = nlohmann::json::object();
  bool auto_reset = true;
  // A step (not a reset) running longer than this gives a DeadlineExceeded result for its env,
  // which is marked failed and abandoned to the running step (whose late result is discarded;
  // it still occupies a pool thread until it returns). Unset: no budget.
  std::optional<std::chrono::milliseconds> step_time_budget;
};

// One env's result of a reset or a step. When status is not OK, only env_id, is_reset and
// episode are meaningful.
struct EnvPoolResult {
  int env_id = -1;
  Status status;
  bool is_reset = false;      // the result of a reset (explicit or automatic), not a step
  std::uint64_t episode = 0;  // the env's episode this result belongs to (0-based)
  Observation observation;
  double reward = 0;
  bool terminated = false;
  bool truncated = false;
  StepInfo info;
  bool ok() const { return status.ok(); }
};

class EnvPool {
 public:
  using Result = EnvPoolResult;
  // Makes env `env_id`: at creation, and again to replace an env that failed to reset or was
  // abandoned after overrunning the time budget.
  using Factory = std::function<StatusOr<std::unique_ptr<Env>>(int env_id)>;

  // num_envs envs from `factory` (seed and env_options are then the factory's business; the
  // pool's seed_schedule and Reset seeds still apply).
  static StatusOr<std::unique_ptr<EnvPool>> Create(int num_envs, Factory factory,
                                                   EnvPoolOptions options = {});
  // One env per source (a scenario is a TaskSource: ScenarioRegistry::Get(id); repeat a
  // source for N envs of one scenario, mix sources for a mix), made by MakeEnv with
  // options.env_options and the pool's per-env seed_sequence.
  static StatusOr<std::unique_ptr<EnvPool>> Create(
      std::vector<std::shared_ptr<const TaskSource>> sources, EnvPoolOptions options = {});
  // The seed_sequence env i of a pool with base seed `seed` gets.
  static std::uint64_t EnvSeedSequence(std::uint64_t seed, int env_id);

  ~EnvPool();  // Close()
  EnvPool(const EnvPool&) = delete;
  EnvPool& operator=(const EnvPool&) = delete;

  int num_envs() const { return static_cast<int>(slots_.size()); }
  int batch_size() const { return batch_size_; }
  int num_threads() const { return num_threads_; }

  // --- Synchronous API. An error Status only for a bad call (bad or duplicate id, an env with
  // an operation in flight, wrong number of actions); an env's own failure is its result's.

  // Resets the given envs (all when empty) and waits for them; results in the order of
  // `env_ids` (id order for all). `seeds`, if not empty, gives each env's task seed. Other
  // envs' async operations may be in flight meanwhile; their results stay for Recv.
  StatusOr<std::vector<Result>> Reset(const std::vector<int>& env_ids = {},
                                      const std::vector<std::uint64_t>& seeds = {});
  // Steps every env with actions[i] and waits for all; results in id order (with auto-reset,
  // an env whose episode had ended is reset instead: see the file comment).
  StatusOr<std::vector<Result>> Step(const std::vector<std::string>& actions);

  // --- Asynchronous API.

  // Starts a step of env env_ids[i] with actions[i]; results come from Recv. Nothing is sent
  // when the call is bad (an error naming the id): sizes differ, an id is out of range or
  // repeated, or an env already has an operation in flight or a result not yet received.
  Status Send(const std::vector<std::string>& actions, const std::vector<int>& env_ids);
  // Send(actions, {0, ..., N-1}).
  Status Send(const std::vector<std::string>& actions);
  // Starts resets of the given envs (all when empty); results come from Recv (is_reset).
  Status SendReset(const std::vector<int>& env_ids = {});
  // Blocks until batch_size results are ready (or every outstanding one is, when fewer are
  // outstanding) and returns at most batch_size of them in completion order. With nothing
  // sent and not received it returns FailedPrecondition at once. With a timeout, returns what
  // is ready when it passes (possibly nothing).
  StatusOr<std::vector<Result>> Recv(
      std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  // Operations sent and not yet returned by Recv (in flight or ready).
  int Pending() const;

  // Waits for every operation in flight (including steps abandoned after a timeout), then
  // destroys the envs; results not received are dropped. Later calls return
  // FailedPrecondition. Idempotent; the destructor calls it.
  void Close();

 private:
  enum class State { kNeedsReset, kActive, kFailed };
  struct Slot {
    std::shared_ptr<Env> env;  // null after an abandoned (timed-out) step
    State state = State::kNeedsReset;
    std::uint64_t episode = 0;     // of the current (or next, when kNeedsReset) episode
    bool started = false;          // has been reset at least once (episode counts from then)
    bool busy = false;             // an operation is in flight
    bool ready = false;            // an async result is in ready_ (not yet received)
    bool sync = false;             // taken by a sync call (Reset, Step) until it returns
    std::uint64_t generation = 0;  // bumped when an operation is abandoned
    std::optional<std::chrono::steady_clock::time_point> deadline;
    std::optional<Result> sync_result;
    std::uint64_t sync_call = 0;  // the sync call that took it (a key of sync_remaining_)
  };
  struct Op {
    int env_id;
    bool reset;
    std::optional<std::uint64_t> seed;
    std::string action;
    std::uint64_t episode;
  };

  EnvPool(int num_envs, Factory factory, EnvPoolOptions options, int num_threads, int batch_size);
  Status CheckOpen() const;
  Status CheckIds(const std::vector<int>& env_ids, const char* what) const;
  // Prepares an op for env_id (auto-reset decisions, seeds); nullopt with an error result when
  // the env cannot take it.
  std::optional<Op> PlanLocked(int env_id, std::optional<std::string> action,
                               std::optional<std::uint64_t> seed, Result* error);
  void LaunchLocked(Op op, bool sync);
  void Run(Op op, std::shared_ptr<Env> env, std::uint64_t generation);
  // Runs op on env (outside the lock); a reset may replace env by a new one from the factory.
  Result Execute(const Op& op, std::shared_ptr<Env>& env);
  void DeliverLocked(int env_id, Result r);
  void ExpireLocked(std::chrono::steady_clock::time_point now);
  // Waits on cv_ until done() or `until`, expiring overrun steps meanwhile; false on timeout.
  bool WaitLocked(std::unique_lock<std::mutex>& lock, const std::function<bool()>& done,
                  std::optional<std::chrono::steady_clock::time_point> until);
  // Launches ops, waits until every env of `ids` has its sync_result; results in `ids` order.
  StatusOr<std::vector<Result>> RunSyncLocked(std::unique_lock<std::mutex>& lock,
                                              const std::vector<int>& ids, std::vector<Op> ops);

  Factory factory_;
  std::mutex factory_mu_;
  EnvPoolOptions options_;
  int num_threads_;
  int batch_size_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Slot> slots_;
  std::deque<Result> ready_;
  int async_in_flight_ = 0;
  // Results still missing per sync call in progress: the waiter is woken once, when its last
  // result arrives, not by every result (each wake-up cost a context switch on a busy core).
  std::map<std::uint64_t, int> sync_remaining_;
  std::uint64_t next_sync_call_ = 0;
  bool closed_ = false;
  // Declared last; Close() joins it before any other member is destroyed.
  boost::asio::thread_pool threads_;
};

}  // namespace toolgym::envs
