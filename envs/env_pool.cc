#include "envs/env_pool.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <exception>
#include <set>
#include <thread>
#include <utility>

#include "common/hash.h"
#include "envs/registry.h"

namespace toolgym::envs {

namespace {

using Clock = std::chrono::steady_clock;

EnvPoolResult ErrorResult(int env_id, bool is_reset, std::uint64_t episode, Status status) {
  EnvPoolResult r;
  r.env_id = env_id;
  r.is_reset = is_reset;
  r.episode = episode;
  r.status = std::move(status);
  return r;
}

// Runs `fn`, turning an exception into an Internal status that names the env.
template <typename T, typename Fn>
StatusOr<T> Guarded(int env_id, const char* what, Fn&& fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return InternalError("env {}: {} threw: {}", env_id, what, e.what());
  } catch (...) {
    return InternalError("env {}: {} threw a non-standard exception", env_id, what);
  }
}

}  // namespace

std::uint64_t EnvPool::EnvSeedSequence(std::uint64_t seed, int env_id) {
  return SplitMix64(seed ^ SplitMix64(static_cast<std::uint64_t>(env_id) + 1));
}

StatusOr<std::unique_ptr<EnvPool>> EnvPool::Create(int num_envs, Factory factory,
                                                   EnvPoolOptions options) {
  if (num_envs < 1) return InvalidArgumentError("num_envs must be >= 1, got {}", num_envs);
  if (!factory) return InvalidArgumentError("EnvPool::Create: the env factory is empty");
  const int batch_size = options.batch_size == 0 ? num_envs : options.batch_size;
  if (batch_size < 1 || batch_size > num_envs)
    return InvalidArgumentError(
        "batch_size must be in [1, num_envs], got num_envs = {}, batch_size = {}", num_envs,
        options.batch_size);
  if (options.num_threads < 0)
    return InvalidArgumentError("num_threads must be >= 0 (0: automatic), got {}",
                                options.num_threads);
  const int hw = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const int num_threads = options.num_threads == 0 ? std::min(num_envs, hw) : options.num_threads;
  if (options.step_time_budget && options.step_time_budget->count() <= 0)
    return InvalidArgumentError("step_time_budget must be positive, got {} ms",
                                options.step_time_budget->count());
  std::unique_ptr<EnvPool> pool(
      new EnvPool(num_envs, std::move(factory), std::move(options), num_threads, batch_size));
  for (int i = 0; i < num_envs; ++i) {
    auto env =
        Guarded<std::unique_ptr<Env>>(i, "the env factory", [&] { return pool->factory_(i); });
    if (!env.ok()) return env.status().WithContext(fmt::format("making env {}", i));
    if (*env == nullptr) return InternalError("making env {}: the factory returned null", i);
    pool->slots_[i].env = std::shared_ptr<Env>(std::move(*env));
  }
  return pool;
}

StatusOr<std::unique_ptr<EnvPool>> EnvPool::Create(
    std::vector<std::shared_ptr<const TaskSource>> sources, EnvPoolOptions options) {
  if (sources.empty()) return InvalidArgumentError("EnvPool::Create: no task sources given");
  for (size_t i = 0; i < sources.size(); ++i)
    if (sources[i] == nullptr) return InvalidArgumentError("EnvPool::Create: source {} is null", i);
  if (options.env_options.is_object() && options.env_options.contains("seed_sequence"))
    return InvalidArgumentError(
        "env_options.seed_sequence is set by the pool per env (from EnvPoolOptions::seed); "
        "give EnvPoolOptions::seed instead");
  TG_ASSIGN_OR_RETURN(EnvOptions base, EnvOptions::FromJson(options.env_options));
  const std::uint64_t seed = options.seed;
  const int n = static_cast<int>(sources.size());
  Factory factory = [sources = std::move(sources), base, seed](int i) {
    EnvOptions o = base;
    o.seed_sequence = EnvSeedSequence(seed, i);
    return MakeEnv(sources[i], o);
  };
  return Create(n, std::move(factory), std::move(options));
}

EnvPool::EnvPool(int num_envs, Factory factory, EnvPoolOptions options, int num_threads,
                 int batch_size)
    : factory_(std::move(factory)),
      options_(std::move(options)),
      num_threads_(num_threads),
      batch_size_(batch_size),
      slots_(num_envs),
      threads_(num_threads) {}

EnvPool::~EnvPool() { Close(); }

void EnvPool::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;
    closed_ = true;
  }
  cv_.notify_all();
  // Without the lock: the operations in flight take it to deliver their results.
  threads_.join();
  std::vector<std::shared_ptr<Env>> envs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (Slot& s : slots_) envs.push_back(std::move(s.env));
    ready_.clear();
    async_in_flight_ = 0;
  }
  envs.clear();  // sandboxes shut down outside the lock
}

Status EnvPool::CheckOpen() const {
  if (closed_) return FailedPreconditionError("the env pool is closed");
  return OkStatus();
}

Status EnvPool::CheckIds(const std::vector<int>& env_ids, const char* what) const {
  std::set<int> seen;
  for (int id : env_ids) {
    if (id < 0 || id >= num_envs())
      return InvalidArgumentError("{}: env id {} out of range [0, {})", what, id, num_envs());
    if (!seen.insert(id).second) return InvalidArgumentError("{}: env id {} given twice", what, id);
    const Slot& s = slots_[id];
    if (s.busy || s.sync)
      return FailedPreconditionError("{}: env {} already has an operation in flight", what, id);
    if (s.ready)
      return FailedPreconditionError("{}: env {} has a result not yet received (call Recv)", what,
                                     id);
  }
  return OkStatus();
}

std::optional<EnvPool::Op> EnvPool::PlanLocked(int env_id, std::optional<std::string> action,
                                               std::optional<std::uint64_t> seed, Result* error) {
  Slot& s = slots_[env_id];
  const bool reset = !action.has_value() || s.state != State::kActive;
  if (!reset) return Op{env_id, false, std::nullopt, std::move(*action), s.episode};
  if (action.has_value() && !options_.auto_reset) {
    *error =
        ErrorResult(env_id, false, s.episode,
                    FailedPreconditionError("env {} {}; Reset it first (auto_reset is off)", env_id,
                                            s.state == State::kFailed ? "failed"
                                            : s.started               ? "finished its episode"
                                                                      : "has not been reset"));
    return std::nullopt;
  }
  if (s.started) ++s.episode;
  s.started = true;
  if (!seed && options_.seed_schedule) seed = options_.seed_schedule(env_id, s.episode);
  return Op{env_id, true, seed, "", s.episode};
}

void EnvPool::LaunchLocked(Op op, bool sync) {
  Slot& s = slots_[op.env_id];
  s.busy = true;
  s.sync = sync;
  s.deadline.reset();
  if (!op.reset && options_.step_time_budget)
    s.deadline = Clock::now() + *options_.step_time_budget;
  if (!sync) ++async_in_flight_;
  boost::asio::post(threads_,
                    [this, op = std::move(op), env = s.env, gen = s.generation]() mutable {
                      Run(std::move(op), std::move(env), gen);
                    });
}

EnvPool::Result EnvPool::Execute(const Op& op, std::shared_ptr<Env>& env) {
  if (op.reset) {
    auto reset_once = [&]() -> StatusOr<ResetResult> {
      return Guarded<ResetResult>(op.env_id, "Reset", [&] { return env->Reset(op.seed); });
    };
    StatusOr<ResetResult> r = Status(StatusCode::kInternal, "no env");
    if (env != nullptr) r = reset_once();
    if (!r.ok()) {
      // The env may be broken (its sandbox died) or was abandoned: replace it.
      const Status first = env == nullptr ? Status() : r.status();
      StatusOr<std::unique_ptr<Env>> made = Status(StatusCode::kInternal, "unset");
      {
        std::lock_guard<std::mutex> lock(factory_mu_);
        made = Guarded<std::unique_ptr<Env>>(op.env_id, "the env factory",
                                             [&] { return factory_(op.env_id); });
      }
      if (!made.ok() || *made == nullptr) {
        Status st = made.ok() ? InternalError("the factory returned null") : made.status();
        if (!first.ok())
          st = st.WithContext(fmt::format("after Reset failed ({})", first.message()));
        return ErrorResult(op.env_id, true, op.episode,
                           st.WithContext(fmt::format("env {}: making a new env", op.env_id)));
      }
      env = std::shared_ptr<Env>(std::move(*made));
      r = reset_once();
      if (!r.ok())
        return ErrorResult(op.env_id, true, op.episode,
                           r.status().WithContext(fmt::format("env {}: Reset", op.env_id)));
    }
    Result out;
    out.env_id = op.env_id;
    out.is_reset = true;
    out.episode = op.episode;
    out.observation = std::move(r->observation);
    out.info = std::move(r->info);
    return out;
  }
  auto r = Guarded<StepResult>(op.env_id, "Step", [&] { return env->Step(op.action); });
  if (!r.ok())
    return ErrorResult(op.env_id, false, op.episode,
                       r.status().WithContext(fmt::format("env {}: Step", op.env_id)));
  Result out;
  out.env_id = op.env_id;
  out.episode = op.episode;
  out.observation = std::move(r->observation);
  out.reward = r->reward;
  out.terminated = r->terminated;
  out.truncated = r->truncated;
  out.info = std::move(r->info);
  return out;
}

void EnvPool::Run(Op op, std::shared_ptr<Env> env, std::uint64_t generation) {
  Result r = Execute(op, env);
  const auto finished = Clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    Slot& s = slots_[op.env_id];
    // Abandoned after overrunning the time budget: the timeout result was delivered already.
    if (s.generation != generation) return;  // `env` (abandoned) is destroyed outside the lock
    s.env = env;
    if (s.deadline && finished > *s.deadline) {
      r = ErrorResult(op.env_id, false, op.episode,
                      Status(StatusCode::kDeadlineExceeded,
                             fmt::format("env {}: the step took longer than its {} ms budget; "
                                         "the env is marked failed and must be reset",
                                         op.env_id, options_.step_time_budget->count())));
    }
    if (!r.ok())
      s.state = State::kFailed;
    else if (!r.is_reset && (r.terminated || r.truncated))
      s.state = State::kNeedsReset;
    else
      s.state = State::kActive;
    DeliverLocked(op.env_id, std::move(r));
  }
}

void EnvPool::DeliverLocked(int env_id, Result r) {
  Slot& s = slots_[env_id];
  s.busy = false;
  s.deadline.reset();
  if (s.sync) {
    s.sync_result = std::move(r);
    // Wakes the sync call's waiter when its last result is in.
    auto it = sync_remaining_.find(s.sync_call);
    if (it == sync_remaining_.end() || --it->second <= 0) cv_.notify_all();
  } else {
    ready_.push_back(std::move(r));
    s.ready = true;
    --async_in_flight_;
    // Wakes Recv when it may return: a batch is ready, or nothing more is coming.
    if (static_cast<int>(ready_.size()) >= batch_size_ || async_in_flight_ == 0) cv_.notify_all();
  }
}

void EnvPool::ExpireLocked(Clock::time_point now) {
  for (int id = 0; id < num_envs(); ++id) {
    Slot& s = slots_[id];
    if (!s.busy || !s.deadline || *s.deadline > now) continue;
    // The step keeps running on its thread with its own reference to the env; the slot lets go
    // of it so that nothing touches the env again, and the step's late result is discarded.
    ++s.generation;
    s.env.reset();
    s.state = State::kFailed;
    DeliverLocked(id, ErrorResult(id, false, s.episode,
                                  Status(StatusCode::kDeadlineExceeded,
                                         fmt::format("env {}: the step overran its {} ms budget; "
                                                     "the env is marked failed and must be reset "
                                                     "(its late result will be discarded)",
                                                     id, options_.step_time_budget->count()))));
  }
}

bool EnvPool::WaitLocked(std::unique_lock<std::mutex>& lock, const std::function<bool()>& done,
                         std::optional<Clock::time_point> until) {
  while (true) {
    const auto now = Clock::now();
    ExpireLocked(now);
    if (done()) return true;
    if (closed_) return false;
    if (until && now >= *until) return false;
    std::optional<Clock::time_point> wake = until;
    for (const Slot& s : slots_)
      if (s.busy && s.deadline && (!wake || *s.deadline < *wake)) wake = s.deadline;
    if (wake)
      cv_.wait_until(lock, *wake);
    else
      cv_.wait(lock);
  }
}

StatusOr<std::vector<EnvPool::Result>> EnvPool::Reset(const std::vector<int>& env_ids,
                                                      const std::vector<std::uint64_t>& seeds) {
  std::vector<int> ids = env_ids;
  if (ids.empty())
    for (int i = 0; i < num_envs(); ++i) ids.push_back(i);
  if (!seeds.empty() && seeds.size() != ids.size())
    return InvalidArgumentError("Reset: {} seeds for {} envs", seeds.size(), ids.size());
  std::unique_lock<std::mutex> lock(mu_);
  TG_RETURN_IF_ERROR(CheckOpen());
  TG_RETURN_IF_ERROR(CheckIds(ids, "Reset"));
  std::vector<Op> ops;
  for (size_t i = 0; i < ids.size(); ++i) {
    Result unused;
    auto seed = seeds.empty() ? std::nullopt : std::optional<std::uint64_t>(seeds[i]);
    ops.push_back(*PlanLocked(ids[i], std::nullopt, seed, &unused));
  }
  return RunSyncLocked(lock, ids, std::move(ops));
}

StatusOr<std::vector<EnvPool::Result>> EnvPool::Step(const std::vector<std::string>& actions) {
  if (static_cast<int>(actions.size()) != num_envs())
    return InvalidArgumentError("Step: {} actions for {} envs", actions.size(), num_envs());
  std::vector<int> ids;
  for (int i = 0; i < num_envs(); ++i) ids.push_back(i);
  std::unique_lock<std::mutex> lock(mu_);
  TG_RETURN_IF_ERROR(CheckOpen());
  TG_RETURN_IF_ERROR(CheckIds(ids, "Step"));
  std::vector<Op> ops;
  for (int i = 0; i < num_envs(); ++i) {
    Result error;
    auto op = PlanLocked(i, actions[i], std::nullopt, &error);
    if (op)
      ops.push_back(std::move(*op));
    else
      slots_[i].sync_result = std::move(error);
  }
  return RunSyncLocked(lock, ids, std::move(ops));
}

StatusOr<std::vector<EnvPool::Result>> EnvPool::RunSyncLocked(std::unique_lock<std::mutex>& lock,
                                                              const std::vector<int>& ids,
                                                              std::vector<Op> ops) {
  // Every id is taken (sync) until this returns, so that no other call sends to it meanwhile.
  const std::uint64_t call = ++next_sync_call_;
  for (int id : ids) {
    slots_[id].sync = true;
    slots_[id].sync_call = call;
  }
  sync_remaining_[call] = static_cast<int>(ops.size());
  // Ids whose result is already there (no op was planned for them) need no wake-up.
  for (Op& op : ops) LaunchLocked(std::move(op), /*sync=*/true);
  const bool all_done = WaitLocked(
      lock,
      [&] {
        for (int id : ids)
          if (!slots_[id].sync_result) return false;
        return true;
      },
      std::nullopt);
  sync_remaining_.erase(call);
  if (!all_done) return FailedPreconditionError("the env pool was closed during a sync call");
  std::vector<Result> out;
  for (int id : ids) {
    out.push_back(std::move(*slots_[id].sync_result));
    slots_[id].sync_result.reset();
    slots_[id].sync = false;
  }
  return out;
}

Status EnvPool::Send(const std::vector<std::string>& actions, const std::vector<int>& env_ids) {
  if (actions.size() != env_ids.size())
    return InvalidArgumentError("Send: {} actions for {} env ids", actions.size(), env_ids.size());
  std::lock_guard<std::mutex> lock(mu_);
  TG_RETURN_IF_ERROR(CheckOpen());
  TG_RETURN_IF_ERROR(CheckIds(env_ids, "Send"));
  for (size_t i = 0; i < env_ids.size(); ++i) {
    Result error;
    auto op = PlanLocked(env_ids[i], actions[i], std::nullopt, &error);
    if (op) {
      LaunchLocked(std::move(*op), /*sync=*/false);
    } else {
      slots_[env_ids[i]].ready = true;
      ready_.push_back(std::move(error));
    }
  }
  cv_.notify_all();
  return OkStatus();
}

Status EnvPool::Send(const std::vector<std::string>& actions) {
  if (static_cast<int>(actions.size()) != num_envs())
    return InvalidArgumentError("Send: {} actions for {} envs (give env ids to send to some)",
                                actions.size(), num_envs());
  std::vector<int> ids;
  for (int i = 0; i < num_envs(); ++i) ids.push_back(i);
  return Send(actions, ids);
}

Status EnvPool::SendReset(const std::vector<int>& env_ids) {
  std::vector<int> ids = env_ids;
  if (ids.empty())
    for (int i = 0; i < num_envs(); ++i) ids.push_back(i);
  std::lock_guard<std::mutex> lock(mu_);
  TG_RETURN_IF_ERROR(CheckOpen());
  TG_RETURN_IF_ERROR(CheckIds(ids, "SendReset"));
  for (int id : ids) {
    Result unused;
    LaunchLocked(*PlanLocked(id, std::nullopt, std::nullopt, &unused), /*sync=*/false);
  }
  return OkStatus();
}

StatusOr<std::vector<EnvPool::Result>> EnvPool::Recv(
    std::optional<std::chrono::milliseconds> timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  TG_RETURN_IF_ERROR(CheckOpen());
  if (ready_.empty() && async_in_flight_ == 0)
    return FailedPreconditionError(
        "Recv: nothing pending (no step or reset was sent whose result is not yet received); "
        "call Send first");
  std::optional<Clock::time_point> until;
  if (timeout) until = Clock::now() + *timeout;
  WaitLocked(
      lock,
      [&] {
        return static_cast<int>(ready_.size()) >= batch_size_ ||
               (async_in_flight_ == 0 && !ready_.empty());
      },
      until);
  TG_RETURN_IF_ERROR(CheckOpen());
  std::vector<Result> out;
  while (!ready_.empty() && static_cast<int>(out.size()) < batch_size_) {
    slots_[ready_.front().env_id].ready = false;
    out.push_back(std::move(ready_.front()));
    ready_.pop_front();
  }
  return out;
}

int EnvPool::Pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return async_in_flight_ + static_cast<int>(ready_.size());
}

}  // namespace toolgym::envs
