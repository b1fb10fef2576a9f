// EnvPool: sync and async APIs, auto-reset, failures, the time budget, scenario envs against
// sequential stepping, and a stress test of random send subsets and batch sizes.
#include "envs/env_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "agent/policy.h"
#include "envs/registry.h"
#include "scenarios/registry.h"

namespace toolgym::envs {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

double MsSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// What the test envs share with the test: how many were made and whether resets fail.
struct FakeWorld {
  std::atomic<int> made{0};
  std::atomic<bool> reset_fails{false};
  std::atomic<int> live{0};  // envs not yet destroyed
};

// A test env. Actions: "ok" (anything else not below), "sleep:MS", "fail" (Step returns an
// error), "throw" (Step throws). Each step rewards 1; an episode terminates after
// `episode_length` steps. Observations name env, seed, turn and action.
class FakeEnv : public Env {
 public:
  FakeEnv(int id, int episode_length, FakeWorld* world)
      : id_(id), episode_length_(episode_length), world_(world) {
    ++world_->live;
  }
  ~FakeEnv() override { --world_->live; }

  StatusOr<ResetResult> Reset(std::optional<std::uint64_t> seed, const json&) override {
    if (world_->reset_fails) return InternalError("fake env {}: reset fails", id_);
    task_.seed = seed.value_or(1000 + draws_++);
    turn_ = 0;
    active_ = true;
    ResetResult r;
    r.observation.messages.push_back({"user", fmt::format("reset {} seed {}", id_, task_.seed)});
    r.info.task.seed = task_.seed;
    return r;
  }
  StatusOr<StepResult> Step(const std::string& action) override {
    if (!active_) return FailedPreconditionError("fake env {}: no active episode", id_);
    if (action == "fail") return InternalError("fake env {}: the tool broke", id_);
    if (action == "throw") throw std::runtime_error("fake env exploded");
    if (action.starts_with("sleep:"))
      std::this_thread::sleep_for(milliseconds(std::stoi(action.substr(6))));
    ++turn_;
    StepResult r;
    r.observation.messages.push_back(
        {"tool", fmt::format("env {} seed {} turn {} action {}", id_, task_.seed, turn_, action)});
    r.reward = 1;
    r.info.turn = turn_;
    if (turn_ >= episode_length_) {
      r.terminated = true;
      active_ = false;
      r.info.end_reason = "goal_reached";
    }
    return r;
  }
  StatusOr<std::unique_ptr<Env>> Fork() override { return InternalError("no fork"); }
  std::vector<ToolSpec> Tools() const override { return {}; }
  const Task* task() const override { return &task_; }
  bool active() const override { return active_; }

 private:
  int id_;
  int episode_length_;
  FakeWorld* world_;
  Task task_;
  int turn_ = 0;
  int draws_ = 0;
  bool active_ = false;
};

EnvPool::Factory FakeFactory(FakeWorld* world, int episode_length = 1000) {
  return [world, episode_length](int id) -> StatusOr<std::unique_ptr<Env>> {
    ++world->made;
    return std::unique_ptr<Env>(new FakeEnv(id, episode_length, world));
  };
}

std::unique_ptr<EnvPool> FakePool(FakeWorld* world, int n, EnvPoolOptions o = {},
                                  int episode_length = 1000) {
  auto pool = EnvPool::Create(n, FakeFactory(world, episode_length), std::move(o));
  EXPECT_TRUE(pool.ok()) << pool.status().ToString();
  return std::move(pool).value();
}

std::vector<int> Ids(const std::vector<EnvPool::Result>& rs) {
  std::vector<int> ids;
  for (const auto& r : rs) ids.push_back(r.env_id);
  return ids;
}

std::string ObsText(const EnvPool::Result& r) { return r.observation.Text(); }

// The tools of a task's kind, for the expert's action rendering.
std::vector<ToolSpec> KindTools(const Task& task) {
  const EnvKind* kind = FindEnvKind(task.env_kind);
  return kind == nullptr ? std::vector<ToolSpec>{} : kind->tools(task.requires_answer);
}

TEST(EnvPoolTest, RejectsBadOptions) {
  FakeWorld w;
  auto p = EnvPool::Create(4, FakeFactory(&w), {.batch_size = 8});
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("num_envs = 4, batch_size = 8"), std::string::npos)
      << p.status().message();
  EXPECT_FALSE(EnvPool::Create(0, FakeFactory(&w)).ok());
  auto src = scenarios::ScenarioRegistry::Default().Get("shell.count_matches");
  ASSERT_NE(src, nullptr);
  auto q = EnvPool::Create({src}, {.env_options = {{"seed_sequence", 3}}});
  EXPECT_FALSE(q.ok());
  auto bad = EnvPool::Create({src}, {.env_options = {{"max_turns", 0}}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("max_turns"), std::string::npos);
}

TEST(EnvPoolTest, SyncStepReturnsEveryEnvInIdOrder) {
  FakeWorld w;
  auto pool = FakePool(&w, 5, {.num_threads = 2});
  auto reset = pool->Reset();
  ASSERT_TRUE(reset.ok()) << reset.status().ToString();
  EXPECT_EQ(Ids(*reset), (std::vector<int>{0, 1, 2, 3, 4}));
  for (const auto& r : *reset) EXPECT_TRUE(r.is_reset && r.ok());
  auto step = pool->Step({"sleep:30", "a", "sleep:10", "b", "c"});
  ASSERT_TRUE(step.ok()) << step.status().ToString();
  EXPECT_EQ(Ids(*step), (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_NE(ObsText((*step)[1]).find("env 1 seed 1000 turn 1 action a"), std::string::npos);
  EXPECT_EQ((*step)[3].reward, 1);
  EXPECT_FALSE(pool->Step({"a"}).ok());  // wrong number of actions
  auto some = pool->Reset({3, 1}, {77, 88});
  ASSERT_TRUE(some.ok());
  EXPECT_EQ(Ids(*some), (std::vector<int>{3, 1}));
  EXPECT_NE(ObsText((*some)[0]).find("reset 3 seed 77"), std::string::npos);
  EXPECT_EQ((*some)[0].episode, 1u);
}

// The shell envs of one scenario in a pool give the same trajectories, seeds included, as the
// same envs (same seed_sequence) stepped one after another.
TEST(EnvPoolTest, ShellPoolMatchesSequentialEnvs) {
  auto src = scenarios::ScenarioRegistry::Default().Get("shell.count_matches");
  ASSERT_NE(src, nullptr);
  constexpr int kEnvs = 3;
  constexpr std::uint64_t kSeed = 7;
  auto made = EnvPool::Create({src, src, src}, {.num_threads = 2, .seed = kSeed});
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EnvPool& pool = **made;

  // A trajectory of one episode: reset text, then per step action, observation, reward, flags,
  // info without timings.
  using Traj = std::vector<json>;
  auto step_json = [](const std::string& a, const Observation& o, double rew, bool te, bool tr,
                      const StepInfo& info) {
    return json{{"a", a},   {"o", o},   {"r", rew},
                {"te", te}, {"tr", tr}, {"i", WithoutTimings(json(info))}};
  };

  std::vector<Traj> pooled(kEnvs);
  std::vector<agent::ExpertPolicy> experts(kEnvs);
  std::vector<std::vector<Message>> conv(kEnvs);
  std::vector<bool> done(kEnvs, false);
  std::vector<std::uint64_t> second_seed(kEnvs, 0);
  auto reset = pool.Reset();
  ASSERT_TRUE(reset.ok()) << reset.status().ToString();
  for (int i = 0; i < kEnvs; ++i) {
    const auto& r = (*reset)[i];
    ASSERT_TRUE(r.ok()) << r.status.ToString();
    pooled[i].push_back({{"reset", r.observation}, {"seed", r.info.task.seed}});
    conv[i] = r.observation.messages;
  }
  // The experts hold pointers to their tasks; a scenario's task is a pure function of its seed.
  std::vector<Task> keep;
  keep.reserve(kEnvs);
  for (int i = 0; i < kEnvs; ++i) {
    keep.push_back(src->MakeTask(pooled[i][0]["seed"].get<std::uint64_t>()).value());
    ASSERT_TRUE(experts[i].BeginEpisode(keep[i], KindTools(keep[i]), keep[i].seed).ok());
  }
  for (int round = 0; round < 30; ++round) {
    bool all_reset = true;
    for (int i = 0; i < kEnvs; ++i) all_reset = all_reset && second_seed[i] != 0;
    if (all_reset) break;
    std::vector<std::string> actions(kEnvs, "noop");
    for (int i = 0; i < kEnvs; ++i) {
      if (done[i]) continue;
      auto a = experts[i].Act(conv[i]);
      ASSERT_TRUE(a.ok()) << a.status().ToString();
      actions[i] = *a;
    }
    auto step = pool.Step(actions);
    ASSERT_TRUE(step.ok()) << step.status().ToString();
    for (int i = 0; i < kEnvs; ++i) {
      const auto& r = (*step)[i];
      ASSERT_TRUE(r.ok()) << r.status.ToString();
      if (done[i]) {
        // Auto-reset: the action after the final step is ignored; this is episode 1's reset.
        if (second_seed[i] == 0) {
          EXPECT_TRUE(r.is_reset);
          EXPECT_EQ(r.episode, 1u);
          second_seed[i] = r.info.task.seed;
        }
        continue;
      }
      EXPECT_FALSE(r.is_reset);
      pooled[i].push_back(
          step_json(actions[i], r.observation, r.reward, r.terminated, r.truncated, r.info));
      conv[i].push_back({"assistant", actions[i], "", ""});
      conv[i].insert(conv[i].end(), r.observation.messages.begin(), r.observation.messages.end());
      if (r.terminated || r.truncated) {
        done[i] = true;
        ASSERT_TRUE(r.info.outcome.has_value());
        EXPECT_TRUE(r.info.outcome->passed) << "env " << i;
      }
    }
  }
  for (int i = 0; i < kEnvs; ++i) ASSERT_TRUE(done[i] && second_seed[i] != 0) << "env " << i;

  for (int i = 0; i < kEnvs; ++i) {
    EnvOptions o;
    o.seed_sequence = EnvPool::EnvSeedSequence(kSeed, i);
    auto env = MakeEnv(src, o);
    ASSERT_TRUE(env.ok());
    auto r = (*env)->Reset();
    ASSERT_TRUE(r.ok());
    Traj seq{{{"reset", r->observation}, {"seed", r->info.task.seed}}};
    std::vector<Message> c = r->observation.messages;
    for (size_t k = 1; k < pooled[i].size(); ++k) {
      const std::string a = pooled[i][k]["a"];
      auto s = (*env)->Step(a);
      ASSERT_TRUE(s.ok());
      seq.push_back(step_json(a, s->observation, s->reward, s->terminated, s->truncated, s->info));
    }
    EXPECT_EQ(seq, pooled[i]) << "env " << i;
    auto again = (*env)->Reset();
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->info.task.seed, second_seed[i]) << "episode 1 of env " << i;
  }
}

TEST(EnvPoolTest, RecvReturnsFastEnvsFirstWithTheirIds) {
  FakeWorld w;
  auto pool = FakePool(&w, 6, {.num_threads = 6, .batch_size = 3});
  ASSERT_TRUE(pool->Reset().ok());
  const auto start = Clock::now();
  ASSERT_TRUE(pool->Send({"sleep:400", "x", "sleep:400", "y", "sleep:400", "z"}).ok());
  auto first = pool->Recv();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_LT(MsSince(start), 300);
  std::vector<int> ids = Ids(*first);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<int>{1, 3, 5}));
  for (const auto& r : *first)
    EXPECT_NE(ObsText(r).find(fmt::format("env {} ", r.env_id)), std::string::npos);
  EXPECT_EQ(pool->Pending(), 3);
  // The fast envs can be stepped again while the slow ones still run.
  ASSERT_TRUE(pool->Send({"again", "again"}, {1, 3}).ok());
  std::multiset<int> rest;
  while (pool->Pending() > 0) {
    auto more = pool->Recv();
    ASSERT_TRUE(more.ok());
    for (int id : Ids(*more)) rest.insert(id);
  }
  EXPECT_EQ(rest, (std::multiset<int>{0, 1, 2, 3, 4}));
  EXPECT_GE(MsSince(start), 390);
}

TEST(EnvPoolTest, RecvWithFewerOutstandingThanBatchReturnsThem) {
  FakeWorld w;
  auto pool = FakePool(&w, 4, {.batch_size = 4});
  ASSERT_TRUE(pool->Reset().ok());
  ASSERT_TRUE(pool->Send({"a"}, {2}).ok());
  auto r = pool->Recv();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Ids(*r), std::vector<int>{2});
}

TEST(EnvPoolTest, RecvWithNothingPendingSaysSoAtOnce) {
  FakeWorld w;
  auto pool = FakePool(&w, 2);
  auto r = pool->Recv();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("nothing pending"), std::string::npos);
  ASSERT_TRUE(pool->SendReset().ok());
  auto got = pool->Recv();
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->size(), 2u);
  for (const auto& x : *got) EXPECT_TRUE(x.is_reset);
  EXPECT_FALSE(pool->Recv().ok());  // everything received
}

TEST(EnvPoolTest, RecvTimeoutReturnsWhatIsReady) {
  FakeWorld w;
  auto pool = FakePool(&w, 2, {.num_threads = 2});
  ASSERT_TRUE(pool->Reset().ok());
  ASSERT_TRUE(pool->Send({"sleep:300", "sleep:300"}).ok());
  const auto start = Clock::now();
  auto r = pool->Recv(milliseconds(50));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
  EXPECT_LT(MsSince(start), 250);
  auto all = pool->Recv();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2u);
}

TEST(EnvPoolTest, SendToABusyEnvIsAnErrorAndSendsNothing) {
  FakeWorld w;
  auto pool = FakePool(&w, 3, {.num_threads = 3});
  ASSERT_TRUE(pool->Reset().ok());
  ASSERT_TRUE(pool->Send({"sleep:100"}, {1}).ok());
  Status busy = pool->Send({"a", "b"}, {0, 1});
  ASSERT_FALSE(busy.ok());
  EXPECT_NE(busy.message().find("env 1 already has an operation in flight"), std::string::npos)
      << busy.message();
  EXPECT_EQ(pool->Pending(), 1);  // env 0 was not sent either
  EXPECT_FALSE(pool->Send({"a"}, {3}).ok());
  EXPECT_FALSE(pool->Send({"a", "b"}, {0, 0}).ok());
  EXPECT_FALSE(pool->Send({"a"}, {0, 2}).ok());
  EXPECT_FALSE(pool->Reset({1}).ok());
  EXPECT_FALSE(pool->Step({"a", "b", "c"}).ok());
  auto r = pool->Recv();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Ids(*r), std::vector<int>{1});
  // A result not yet received blocks a new send to that env as well.
  ASSERT_TRUE(pool->Send({"a"}, {0}).ok());
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_FALSE(pool->Send({"b"}, {0}).ok());
  ASSERT_TRUE(pool->Recv().ok());
}

// Next-step auto-reset: the final step keeps the finished episode's observation and info; the
// action after it is ignored and the env's reset is returned.
TEST(EnvPoolTest, AutoResetIsNextStep) {
  FakeWorld w;
  auto pool = FakePool(
      &w, 2,
      {.seed_schedule =
           [](int id, std::uint64_t ep) { return std::optional<std::uint64_t>(100 * id + ep); }},
      /*episode_length=*/2);
  auto reset = pool->Reset();
  ASSERT_TRUE(reset.ok());
  EXPECT_NE(ObsText((*reset)[1]).find("reset 1 seed 100"), std::string::npos);
  ASSERT_TRUE(pool->Step({"a", "a"}).ok());
  auto last = pool->Step({"b", "b"});
  ASSERT_TRUE(last.ok());
  const auto& fin = (*last)[1];
  EXPECT_TRUE(fin.terminated);
  EXPECT_FALSE(fin.is_reset);
  EXPECT_EQ(fin.reward, 1);
  EXPECT_EQ(fin.episode, 0u);
  EXPECT_EQ(fin.info.end_reason, "goal_reached");
  EXPECT_NE(ObsText(fin).find("env 1 seed 100 turn 2 action b"), std::string::npos);
  auto next = pool->Step({"ignored", "ignored"});
  ASSERT_TRUE(next.ok());
  const auto& rs = (*next)[1];
  EXPECT_TRUE(rs.is_reset);
  EXPECT_EQ(rs.episode, 1u);
  EXPECT_EQ(rs.reward, 0);
  EXPECT_FALSE(rs.terminated || rs.truncated);
  EXPECT_EQ(ObsText(rs), "reset 1 seed 101");
  auto after = pool->Step({"c", "c"});
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE((*after)[1].is_reset);
  EXPECT_NE(ObsText((*after)[1]).find("seed 101 turn 1 action c"), std::string::npos);
}

TEST(EnvPoolTest, WithoutAutoResetAFinishedEnvMustBeReset) {
  FakeWorld w;
  auto pool = FakePool(&w, 2, {.auto_reset = false}, /*episode_length=*/1);
  ASSERT_TRUE(pool->Send({"a", "a"}).ok());  // never reset
  auto r = pool->Recv();
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 2u);
  for (const auto& x : *r) {
    EXPECT_EQ(x.status.code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(x.status.message().find("Reset it first"), std::string::npos);
  }
  ASSERT_TRUE(pool->Reset().ok());
  auto fin = pool->Step({"a", "a"});
  ASSERT_TRUE(fin.ok());
  EXPECT_TRUE((*fin)[0].terminated);
  auto after = pool->Step({"a", "a"});
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE((*after)[0].ok());
  EXPECT_NE((*after)[0].status.message().find("finished its episode"), std::string::npos);
  ASSERT_TRUE(pool->Reset({0}).ok());
  auto again = pool->Step({"b", "b"});
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE((*again)[0].ok());
  EXPECT_FALSE((*again)[1].ok());
}

TEST(EnvPoolTest, AFailingEnvGivesAnErrorForItsIdOnlyAndResetRecoversIt) {
  for (const std::string bad : {"fail", "throw"}) {
    SCOPED_TRACE(bad);
    FakeWorld w;
    auto pool = FakePool(&w, 3, {.auto_reset = false});
    ASSERT_TRUE(pool->Reset().ok());
    auto step = pool->Step({"a", bad, "c"});
    ASSERT_TRUE(step.ok());
    EXPECT_TRUE((*step)[0].ok());
    EXPECT_TRUE((*step)[2].ok());
    ASSERT_FALSE((*step)[1].ok());
    EXPECT_EQ((*step)[1].env_id, 1);
    EXPECT_NE((*step)[1].status.message().find(bad == "fail" ? "the tool broke" : "exploded"),
              std::string::npos)
        << (*step)[1].status.message();
    auto blocked = pool->Step({"a", "b", "c"});
    ASSERT_TRUE(blocked.ok());
    EXPECT_NE((*blocked)[1].status.message().find("env 1 failed"), std::string::npos);
    EXPECT_TRUE((*blocked)[2].ok());
    auto rec = pool->Reset({1});
    ASSERT_TRUE(rec.ok());
    EXPECT_TRUE((*rec)[0].ok());
    auto ok = pool->Step({"a", "b", "c"});
    ASSERT_TRUE(ok.ok());
    for (const auto& r : *ok) EXPECT_TRUE(r.ok()) << r.status.ToString();
    EXPECT_EQ(w.made, 3);  // recovered by Reset, not by a new env
  }
}

TEST(EnvPoolTest, AutoResetRecoversAFailedEnvOnTheNextSend) {
  FakeWorld w;
  auto pool = FakePool(&w, 2);
  ASSERT_TRUE(pool->Reset().ok());
  auto step = pool->Step({"fail", "a"});
  ASSERT_TRUE(step.ok());
  EXPECT_FALSE((*step)[0].ok());
  auto next = pool->Step({"x", "a"});
  ASSERT_TRUE(next.ok());
  EXPECT_TRUE((*next)[0].ok() && (*next)[0].is_reset);
  EXPECT_EQ((*next)[0].episode, 1u);
}

TEST(EnvPoolTest, AnEnvThatCannotResetIsReplacedByTheFactory) {
  FakeWorld w;
  auto pool = FakePool(&w, 2, {.auto_reset = false});
  ASSERT_TRUE(pool->Reset().ok());
  ASSERT_EQ(w.made, 2);
  w.reset_fails = true;
  auto failed = pool->Reset({0});
  ASSERT_TRUE(failed.ok());
  EXPECT_FALSE((*failed)[0].ok());  // the new env cannot reset either
  EXPECT_NE((*failed)[0].status.message().find("reset fails"), std::string::npos);
  EXPECT_EQ(w.made, 3);
  w.reset_fails = false;
  auto rec = pool->Reset({0});
  ASSERT_TRUE(rec.ok());
  EXPECT_TRUE((*rec)[0].ok()) << (*rec)[0].status.ToString();
  EXPECT_EQ(w.live, 2);  // the replaced envs were destroyed
  auto s = pool->Step({"a", "b"});
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE((*s)[0].ok() && (*s)[1].ok());
}

TEST(EnvPoolTest, AStepOverTheTimeBudgetFailsItsEnvOnly) {
  FakeWorld w;
  {
    auto pool = FakePool(&w, 3, {.num_threads = 3, .step_time_budget = milliseconds(100)});
    ASSERT_TRUE(pool->Reset().ok());
    const auto start = Clock::now();
    auto step = pool->Step({"sleep:700", "a", "sleep:20"});
    ASSERT_TRUE(step.ok());
    EXPECT_LT(MsSince(start), 500);
    EXPECT_EQ((*step)[0].status.code(), StatusCode::kDeadlineExceeded);
    EXPECT_NE((*step)[0].status.message().find("100 ms budget"), std::string::npos);
    EXPECT_TRUE((*step)[1].ok() && (*step)[2].ok());
    // Async: the overrun shows as a result of that env; the late result never arrives.
    ASSERT_TRUE(pool->Send({"sleep:600", "b"}, {1, 2}).ok());
    std::set<int> seen;
    while (pool->Pending() > 0) {
      auto r = pool->Recv();
      ASSERT_TRUE(r.ok());
      for (const auto& x : *r) {
        EXPECT_TRUE(seen.insert(x.env_id).second);
        EXPECT_EQ(x.ok(), x.env_id == 2) << x.status.ToString();
      }
    }
    EXPECT_EQ(seen, (std::set<int>{1, 2}));
    std::this_thread::sleep_for(milliseconds(800));  // both late steps have finished
    EXPECT_EQ(pool->Pending(), 0);
    EXPECT_FALSE(pool->Recv().ok());
    // The abandoned envs are replaced on reset.
    auto rec = pool->Reset({0, 1});
    ASSERT_TRUE(rec.ok());
    EXPECT_TRUE((*rec)[0].ok() && (*rec)[1].ok());
    EXPECT_EQ(w.made, 5);
    auto s = pool->Step({"a", "b", "c"});
    ASSERT_TRUE(s.ok());
    for (const auto& r : *s) EXPECT_TRUE(r.ok());
    // A late step still running when the pool closes is waited for.
    ASSERT_TRUE(pool->Send({"sleep:300"}, {0}).ok());
    ASSERT_TRUE(pool->Recv().ok());
  }
  EXPECT_EQ(w.live, 0);
}

TEST(EnvPoolTest, CloseWaitsForStepsInFlight) {
  FakeWorld w;
  auto pool = FakePool(&w, 4, {.num_threads = 2});
  ASSERT_TRUE(pool->Reset().ok());
  ASSERT_TRUE(pool->Send({"sleep:50", "sleep:50", "sleep:50", "sleep:50"}).ok());
  pool->Close();
  EXPECT_EQ(w.live, 0);
  EXPECT_FALSE(pool->Recv().ok());
  EXPECT_FALSE(pool->Send({"a"}, {0}).ok());
  pool.reset();
  EXPECT_EQ(w.live, 0);
}

// Shell, search and web envs in one pool, each played to the end by its expert.
TEST(EnvPoolTest, AMixOfScenariosRunsToTheEnd) {
  const auto& reg = scenarios::ScenarioRegistry::Default();
  std::vector<std::shared_ptr<const TaskSource>> sources;
  for (const char* id : {"shell.count_matches", "search.hop1", "web.shop_easy"}) {
    auto s = reg.Get(id);
    ASSERT_NE(s, nullptr) << id;
    sources.push_back(s);
  }
  auto made = EnvPool::Create(sources, {.num_threads = 2, .seed = 3});
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EnvPool& pool = **made;
  auto reset = pool.Reset();
  ASSERT_TRUE(reset.ok());
  const int n = pool.num_envs();
  std::vector<Task> tasks;
  std::vector<agent::ExpertPolicy> experts(n);
  std::vector<std::vector<Message>> conv(n);
  tasks.reserve(n);
  for (int i = 0; i < n; ++i) {
    const auto& r = (*reset)[i];
    ASSERT_TRUE(r.ok()) << r.status.ToString();
    EXPECT_EQ(r.info.task.scenario, sources[i]->id());
    tasks.push_back(sources[i]->MakeTask(r.info.task.seed).value());
    ASSERT_TRUE(experts[i].BeginEpisode(tasks[i], KindTools(tasks[i]), tasks[i].seed).ok());
    conv[i] = r.observation.messages;
  }
  // Async: send each env's next action as soon as its previous result is back.
  std::vector<bool> done(n, false);
  std::vector<int> ids;
  std::vector<std::string> actions;
  for (int i = 0; i < n; ++i) {
    auto a = experts[i].Act(conv[i]);
    ASSERT_TRUE(a.ok());
    ids.push_back(i);
    actions.push_back(*a);
    conv[i].push_back({"assistant", *a, "", ""});
  }
  ASSERT_TRUE(pool.Send(actions, ids).ok());
  int finished = 0;
  for (int guard = 0; guard < 200 && finished < n; ++guard) {
    auto got = pool.Recv();
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ids.clear();
    actions.clear();
    for (const auto& r : *got) {
      ASSERT_TRUE(r.ok()) << r.status.ToString();
      const int i = r.env_id;
      conv[i].insert(conv[i].end(), r.observation.messages.begin(), r.observation.messages.end());
      if (r.terminated || r.truncated) {
        ASSERT_TRUE(r.info.outcome.has_value()) << sources[i]->id();
        EXPECT_TRUE(r.info.outcome->passed) << sources[i]->id() << ": " << r.info.outcome->detail;
        done[i] = true;
        ++finished;
        continue;
      }
      auto a = experts[i].Act(conv[i]);
      ASSERT_TRUE(a.ok()) << a.status().ToString();
      conv[i].push_back({"assistant", *a, "", ""});
      ids.push_back(i);
      actions.push_back(*a);
    }
    if (!ids.empty()) {
      ASSERT_TRUE(pool.Send(actions, ids).ok());
    }
  }
  EXPECT_EQ(finished, n);
  EXPECT_EQ(pool.Pending(), 0);
}

// Random send subsets and batch sizes over many rounds from one thread: every result comes
// back exactly once, for the env it was sent to, and nothing deadlocks.
TEST(EnvPoolTest, StressRandomSubsetsAndBatchSizes) {
  std::mt19937_64 rng(12345);
  for (int trial = 0; trial < 6; ++trial) {
    FakeWorld w;
    const int n = 2 + static_cast<int>(rng() % 9);
    EnvPoolOptions o;
    o.num_threads = 1 + static_cast<int>(rng() % 4);
    o.batch_size = 1 + static_cast<int>(rng() % n);
    if (trial % 2 == 1) o.step_time_budget = milliseconds(20);
    SCOPED_TRACE(fmt::format("n {} threads {} batch {} budget {}", n, o.num_threads, o.batch_size,
                             o.step_time_budget.has_value()));
    auto pool = FakePool(&w, n, o, /*episode_length=*/1 + static_cast<int>(rng() % 5));
    std::vector<int> outstanding(n, 0);  // sent, not yet received
    std::vector<std::uint64_t> counter(n, 0);
    long sent = 0, received = 0;
    for (int round = 0; round < 300; ++round) {
      std::vector<int> ids;
      std::vector<std::string> actions;
      for (int i = 0; i < n; ++i) {
        if (outstanding[i] > 0 || rng() % 3 == 0) continue;
        ids.push_back(i);
        const auto dice = rng() % 100;
        actions.push_back(dice < 3    ? std::string("fail")
                          : dice < 5  ? std::string("throw")
                          : dice < 7  ? std::string("sleep:40")
                          : dice < 50 ? fmt::format("sleep:{}", rng() % 3)
                                      : fmt::format("n{}", counter[i]++));
      }
      std::shuffle(ids.begin(), ids.end(), rng);  // actions are per id; the pairing is kept
      if (!ids.empty()) {
        ASSERT_TRUE(pool->Send(actions, ids).ok());
        for (int id : ids) ++outstanding[id];
        sent += static_cast<long>(ids.size());
      }
      if (pool->Pending() == 0) {
        EXPECT_FALSE(pool->Recv().ok());
        continue;
      }
      auto got = pool->Recv(rng() % 4 == 0 ? std::optional(milliseconds(1)) : std::nullopt);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      EXPECT_LE(static_cast<int>(got->size()), o.batch_size);
      for (const auto& r : *got) {
        ASSERT_GE(r.env_id, 0);
        ASSERT_LT(r.env_id, n);
        EXPECT_EQ(outstanding[r.env_id], 1) << "env " << r.env_id;
        --outstanding[r.env_id];
        ++received;
        if (r.ok() && !r.is_reset) {
          EXPECT_NE(ObsText(r).find(fmt::format("env {} ", r.env_id)), std::string::npos);
        }
      }
    }
    while (pool->Pending() > 0) {
      auto got = pool->Recv();
      ASSERT_TRUE(got.ok());
      for (const auto& r : *got) {
        EXPECT_EQ(outstanding[r.env_id], 1);
        --outstanding[r.env_id];
        ++received;
      }
    }
    EXPECT_EQ(sent, received);
    for (int i = 0; i < n; ++i) EXPECT_EQ(outstanding[i], 0);
    EXPECT_GT(sent, 200);  // with batch_size 1, about one env per round
  }
}

// Several threads use one pool at once, each on its own envs with sync Reset and async sends
// received by one receiving thread: every result reaches it once (the API is mutex-protected).
TEST(EnvPoolTest, ConcurrentSendersAndOneReceiver) {
  FakeWorld w;
  constexpr int kSenders = 3, kPerSender = 2, kRounds = 100;
  auto pool = FakePool(&w, kSenders * kPerSender, {.num_threads = 3, .batch_size = 2});
  ASSERT_TRUE(pool->Reset().ok());
  std::atomic<long> received{0};
  std::vector<std::atomic<int>> inflight(kSenders * kPerSender);
  std::atomic<bool> stop{false};
  std::thread receiver([&] {
    while (!stop || pool->Pending() > 0) {
      auto got = pool->Recv(milliseconds(5));
      if (!got.ok()) {
        std::this_thread::sleep_for(milliseconds(1));
        continue;
      }
      for (const auto& r : *got) {
        EXPECT_EQ(inflight[r.env_id].fetch_sub(1), 1);
        ++received;
      }
    }
  });
  std::vector<std::thread> senders;
  for (int s = 0; s < kSenders; ++s) {
    senders.emplace_back([&, s] {
      for (int round = 0; round < kRounds; ++round) {
        for (int k = 0; k < kPerSender; ++k) {
          const int id = s * kPerSender + k;
          while (inflight[id].load() != 0) std::this_thread::yield();
          inflight[id] = 1;
          Status st = pool->Send({"sleep:1"}, {id});
          // The receiver may not have finished its bookkeeping of the previous result yet; the
          // pool itself already knows the env is free.
          EXPECT_TRUE(st.ok()) << st.ToString();
        }
      }
    });
  }
  for (auto& t : senders) t.join();
  stop = true;
  receiver.join();
  EXPECT_EQ(received, kSenders * kPerSender * kRounds);
}

// toolgym::scenarios::ScenarioRegistry::MakePool: a pool straight from scenario ids (what the HTTP
// server and the Python bindings use); an unknown id is an error that names it, and nothing is
// made.
TEST(EnvPoolTest, MakePoolFromScenarioIds) {
  const auto& reg = toolgym::scenarios::ScenarioRegistry::Default();
  auto made = reg.MakePool({"shell.count_matches", "search.hop1", "web.shop_easy", "web.shop_easy"},
                           {.num_threads = 2, .seed = 5});
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_EQ((*made)->num_envs(), 4);
  auto reset = (*made)->Reset();
  ASSERT_TRUE(reset.ok());
  const std::vector<std::string> want = {"shell.count_matches", "search.hop1", "web.shop_easy",
                                         "web.shop_easy"};
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE((*reset)[i].ok()) << (*reset)[i].status.ToString();
    EXPECT_EQ((*reset)[i].env_id, i);
    EXPECT_EQ((*reset)[i].info.task.scenario, want[i]);
  }
  // Two envs of one scenario draw different seeds (their own seed sequences).
  EXPECT_NE((*reset)[2].info.task.seed, (*reset)[3].info.task.seed);

  auto bad = reg.MakePool({"shell.count_matches", "shell.count_matchez"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), toolgym::StatusCode::kNotFound);
  EXPECT_NE(bad.status().message().find("unknown scenario \"shell.count_matchez\""),
            std::string::npos)
      << bad.status().message();
  EXPECT_FALSE(reg.MakePool({}).ok());
}

}  // namespace
}  // namespace toolgym::envs
