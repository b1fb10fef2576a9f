// pool_bench: what EnvPool buys over stepping envs one after another.
//
// Cases (docs/benchmarks.md, section "Env pool", records a run):
//   throughput: steps/s of N envs of one scenario stepped by a plain sequential loop (the
//   baseline), then by EnvPool::Step with 1 and with 2 threads, on shell envs
//   (shell.count_matches) with `echo hi` (a builtin) and `ls -l /` (a fork+exec), and on search
//   envs (search.hop1) with a search call;
//   async: N shell envs, half running `sleep 0.01` (10 ms) and half `true` (about 0.1 ms):
//   synchronous EnvPool::Step of all envs (each round waits for the slowest) against
//   Send/Recv with a small batch that resends each env as soon as its result is back.
// Each case is measured in the same run as its baseline; the trials alternate between them so
// that drift in the machine's load hits both. Every result is checked (no error, the episode
// goes on, the tool call ran with exit code 0). Exit status: 0 when every case ran correctly
// (targets never change it), 2 when a step failed, 1 on bad options.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "common/status.h"
#include "envs/env.h"
#include "envs/env_pool.h"
#include "scenarios/registry.h"

namespace toolgym::bench {
namespace {

using envs::EnvPool;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string Call(const std::string& tool, const json& args) {
  return fmt::format("<tool_call>{}</tool_call>", json{{"name", tool}, {"arguments", args}}.dump());
}

// A step result must show one tool call that ran and exited 0, the episode going on.
Status CheckStepInfo(const envs::StepInfo& info, bool ended, const std::string& what) {
  if (ended) return InternalError("{}: the episode ended ({})", what, info.end_reason);
  if (info.tool_calls.size() != 1 || info.tool_calls[0].error ||
      (!info.tool_calls[0].verdict.empty() && info.tool_calls[0].verdict != "ok"))
    return InternalError("{}: the tool call failed: {}", what, json(info).dump().substr(0, 300));
  return OkStatus();
}

Status CheckResult(const EnvPool::Result& r, const std::string& what) {
  if (!r.ok()) return r.status.WithContext(what);
  if (r.is_reset) return InternalError("{}: unexpected reset of env {}", what, r.env_id);
  return CheckStepInfo(r.info, r.terminated || r.truncated, what);
}

const json kEnvOptions = {{"max_turns", 100000}};

StatusOr<std::vector<std::unique_ptr<envs::Env>>> MakeEnvs(const std::string& scenario, int n) {
  std::vector<std::unique_ptr<envs::Env>> out;
  for (int i = 0; i < n; ++i) {
    json o = kEnvOptions;
    o["seed_sequence"] = EnvPool::EnvSeedSequence(1, i);
    TG_ASSIGN_OR_RETURN(auto env, scenarios::Make(scenario, o));
    auto reset = env->Reset();
    if (!reset.ok()) return reset.status().WithContext("Reset");
    out.push_back(std::move(env));
  }
  return out;
}

StatusOr<std::unique_ptr<EnvPool>> MakePool(const std::string& scenario, int n, int threads,
                                            int batch) {
  auto src = scenarios::ScenarioRegistry::Default().Get(scenario);
  if (src == nullptr) return InvalidArgumentError("unknown scenario {}", scenario);
  std::vector<std::shared_ptr<const envs::TaskSource>> sources(n, src);
  TG_ASSIGN_OR_RETURN(auto pool, EnvPool::Create(sources, {.num_threads = threads,
                                                           .batch_size = batch,
                                                           .seed = 1,
                                                           .env_options = kEnvOptions}));
  TG_ASSIGN_OR_RETURN(auto reset, pool->Reset());
  for (const auto& r : reset) TG_RETURN_IF_ERROR(r.status.WithContext("pool Reset"));
  return pool;
}

struct Throughput {
  std::string scenario, label, action;
  double seq = 0, pool1 = 0, pool2 = 0;  // steps/s, best trial
};

Status RunThroughput(Throughput& t, int envs, int steps_per_env, int trials) {
  TG_ASSIGN_OR_RETURN(auto seq_envs, MakeEnvs(t.scenario, envs));
  TG_ASSIGN_OR_RETURN(auto pool1, MakePool(t.scenario, envs, 1, 0));
  TG_ASSIGN_OR_RETURN(auto pool2, MakePool(t.scenario, envs, 2, 0));
  const std::vector<std::string> actions(envs, t.action);
  const double total = static_cast<double>(envs) * steps_per_env;
  // One untimed step of every env first: shells start and search indexes load lazily.
  for (auto& env : seq_envs) {
    auto r = env->Step(t.action);
    if (!r.ok()) return r.status().WithContext("warm-up Step");
  }
  for (EnvPool* pool : {pool1.get(), pool2.get()}) {
    TG_ASSIGN_OR_RETURN(auto rs, pool->Step(actions));
    for (const auto& r : rs) TG_RETURN_IF_ERROR(CheckResult(r, t.label + " warm-up"));
  }
  for (int trial = 0; trial < trials; ++trial) {
    auto start = Clock::now();
    for (int k = 0; k < steps_per_env; ++k) {
      for (auto& env : seq_envs) {
        auto r = env->Step(t.action);
        if (!r.ok()) return r.status().WithContext("sequential Step");
        TG_RETURN_IF_ERROR(CheckStepInfo(r->info, r->terminated || r->truncated, t.label));
      }
    }
    t.seq = std::max(t.seq, total / Seconds(Clock::now() - start));
    for (auto [pool, out] : {std::pair{pool1.get(), &t.pool1}, std::pair{pool2.get(), &t.pool2}}) {
      start = Clock::now();
      for (int k = 0; k < steps_per_env; ++k) {
        TG_ASSIGN_OR_RETURN(auto rs, pool->Step(actions));
        for (const auto& r : rs) TG_RETURN_IF_ERROR(CheckResult(r, t.label));
      }
      *out = std::max(*out, total / Seconds(Clock::now() - start));
    }
  }
  return OkStatus();
}

struct Mixed {
  double sync = 0, async = 0;  // steps/s, best trial
  long async_slow = 0, async_fast = 0;
};

Status RunMixed(Mixed& m, int envs, double seconds, int trials) {
  const std::string slow = Call("bash", {{"command", "sleep 0.01"}});
  const std::string fast = Call("bash", {{"command", "true"}});
  std::vector<std::string> actions;
  for (int i = 0; i < envs; ++i) actions.push_back(i % 2 == 0 ? slow : fast);
  // Threads for every env: the slow calls wait, they do not compute.
  TG_ASSIGN_OR_RETURN(auto sync_pool, MakePool("shell.count_matches", envs, envs, 0));
  TG_ASSIGN_OR_RETURN(auto async_pool, MakePool("shell.count_matches", envs, envs, 2));
  for (int trial = 0; trial < trials; ++trial) {
    long steps = 0;
    auto start = Clock::now();
    while (Seconds(Clock::now() - start) < seconds) {
      TG_ASSIGN_OR_RETURN(auto rs, sync_pool->Step(actions));
      for (const auto& r : rs) TG_RETURN_IF_ERROR(CheckResult(r, "sync mixed"));
      steps += envs;
    }
    m.sync = std::max(m.sync, steps / Seconds(Clock::now() - start));

    steps = 0;
    long slow_steps = 0;
    start = Clock::now();
    TG_RETURN_IF_ERROR(async_pool->Send(actions));
    while (Seconds(Clock::now() - start) < seconds) {
      TG_ASSIGN_OR_RETURN(auto rs, async_pool->Recv());
      std::vector<int> ids;
      std::vector<std::string> next;
      for (const auto& r : rs) {
        TG_RETURN_IF_ERROR(CheckResult(r, "async mixed"));
        ++steps;
        if (r.env_id % 2 == 0) ++slow_steps;
        ids.push_back(r.env_id);
        next.push_back(actions[r.env_id]);
      }
      TG_RETURN_IF_ERROR(async_pool->Send(next, ids));
    }
    const double rate = steps / Seconds(Clock::now() - start);
    while (async_pool->Pending() > 0) {  // drain, untimed
      TG_ASSIGN_OR_RETURN(auto rs, async_pool->Recv());
      for (const auto& r : rs) TG_RETURN_IF_ERROR(CheckResult(r, "async mixed drain"));
    }
    if (rate > m.async) {
      m.async = rate;
      m.async_slow = slow_steps;
      m.async_fast = steps - slow_steps;
    }
  }
  return OkStatus();
}

int Main(int argc, char** argv) {
  CLI::App app("EnvPool throughput and async recv against sequential and sync stepping");
  bool quick = false;
  int envs = 4, steps = 50, trials = 5, mixed_envs = 8;
  double mixed_seconds = 2;
  std::string json_path;
  app.add_flag("--quick", quick, "smoke run: few steps, one trial (numbers are rough)");
  app.add_option("--envs", envs, "envs per throughput case")->check(CLI::Range(2, 64));
  app.add_option("--steps", steps, "steps per env per trial")->check(CLI::Range(1, 100000));
  app.add_option("--trials", trials, "trials per case (best is reported)")
      ->check(CLI::Range(1, 100));
  app.add_option("--mixed-envs", mixed_envs, "envs of the async case (half slow)")
      ->check(CLI::Range(2, 64));
  app.add_option("--mixed-seconds", mixed_seconds, "seconds per async-case trial");
  app.add_option("--json", json_path, "also write the numbers to this file");
  CLI11_PARSE(app, argc, argv);
  if (quick) {
    steps = 5;
    trials = 1;
    mixed_seconds = 0.3;
  }

  const Machine m = DescribeMachine();
  std::vector<Throughput> cases = {
      {"shell.count_matches", "shell `echo hi`", Call("bash", {{"command", "echo hi"}})},
      {"shell.count_matches", "shell `ls -l /`", Call("bash", {{"command", "ls -l /"}})},
      {"search.hop1", "search call", Call("search", {{"query", "city river museum"}})},
  };
  Mixed mixed;
  for (auto& c : cases) {
    std::fprintf(stderr, "pool_bench: %s\n", c.label.c_str());
    Status st = RunThroughput(c, envs, steps, trials);
    if (!st.ok()) {
      std::fprintf(stderr, "pool_bench: %s: %s\n", c.label.c_str(), st.ToString().c_str());
      return 2;
    }
  }
  std::fprintf(stderr, "pool_bench: async mixed\n");
  if (Status st = RunMixed(mixed, mixed_envs, mixed_seconds, trials); !st.ok()) {
    std::fprintf(stderr, "pool_bench: async mixed: %s\n", st.ToString().c_str());
    return 2;
  }

  std::printf("## Env pool\n\nMachine: %s, %d of %ld CPUs usable, %s, %.1f GiB; load %s\n\n",
              m.cpu_model.c_str(), m.cpus_allowed, m.cpus_online, m.kernel.c_str(), m.memory_gib,
              LoadAverage().c_str());
  std::printf("Throughput, %d envs, %d steps each per trial, best of %d trials (steps/s):\n\n",
              envs, steps, trials);
  std::printf("| case | sequential loop | pool, 1 thread | pool, 2 threads | 2 threads / loop |\n");
  std::printf("|---|---:|---:|---:|---:|\n");
  json j = {{"envs", envs}, {"steps", steps}, {"trials", trials}, {"throughput", json::array()}};
  for (const auto& c : cases) {
    std::printf("| %s | %.0f | %.0f | %.0f | %.2fx |\n", c.label.c_str(), c.seq, c.pool1, c.pool2,
                c.pool2 / c.seq);
    j["throughput"].push_back(
        {{"case", c.label}, {"sequential", c.seq}, {"pool1", c.pool1}, {"pool2", c.pool2}});
  }
  std::printf(
      "\nAsync recv, %d shell envs (half `sleep 0.01`, half `true`), %d threads, %.1f s per trial, "
      "best of %d (steps/s):\n\n",
      mixed_envs, mixed_envs, mixed_seconds, trials);
  std::printf(
      "| sync Step of all | async Send/Recv (batch 2) | async / sync | async slow, fast steps |\n");
  std::printf("|---:|---:|---:|---|\n");
  std::printf("| %.0f | %.0f | %.2fx | %ld, %ld |\n\n", mixed.sync, mixed.async,
              mixed.async / mixed.sync, mixed.async_slow, mixed.async_fast);
  const double shell_ratio = cases[0].pool2 / cases[0].seq;
  std::printf("- %s: pool with 2 threads >= 1.7x the sequential loop on shell `echo hi` (%.2fx)\n",
              shell_ratio >= 1.7 ? "PASS" : "FAIL", shell_ratio);
  std::printf("- %s: async recv >= 3x sync stepping with 10 ms and 0.1 ms calls (%.2fx)\n",
              mixed.async / mixed.sync >= 3 ? "PASS" : "FAIL", mixed.async / mixed.sync);
  j["mixed"] = {{"envs", mixed_envs},
                {"sync", mixed.sync},
                {"async", mixed.async},
                {"async_slow_steps", mixed.async_slow},
                {"async_fast_steps", mixed.async_fast}};
  j["load"] = LoadAverage();
  if (!json_path.empty()) std::ofstream(json_path) << j.dump(2) << "\n";
  return 0;
}

}  // namespace
}  // namespace toolgym::bench

int main(int argc, char** argv) { return toolgym::bench::Main(argc, argv); }
