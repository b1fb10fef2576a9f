// web_bench: the web env's step latency on a generated shop, against the site engine alone.
//
// Cases (docs/benchmarks.md, section "Web env", explains each and records a run):
//   env_step_back    WebEnv::Step(back()) from a product page to the search results page (a
//                    list searched, filtered and drawn over every product of the shop);
//   env_step_click   WebEnv::Step(click(id)) from the results page to the product page;
//   browser_back     web::Browser::Back() + Render() on a copy of the same session: the engine
//                    alone, the baseline of env_step_back;
//   browser_click    web::Browser::Click(id) + Render(): the baseline of env_step_click;
//   params_copy      a copy of the task's params JSON: what every step paid when StepInfo's
//                    task field copied them (it now shares one copy per episode), kept to show
//                    the saving;
//   site_compile     web::Site::FromJson of the instance's site (what a reset pays to compile
//                    an inline, generated site);
//   env_reset        WebEnv::Reset(seed) with a new seed each time (generation included).
// The session is prepared by the scenario's expert: it plays the expert's steps until it is on
// the target product page (search, price filter, product), so the pages are the ones an agent
// sees. The step cases alternate back/click on one env with a turn budget large enough never to
// end, restarted (untimed, from a fork of the prepared env) every 10 rounds so that the session
// stays the size of an episode; each sample checks its page (results or the product) and the run
// fails (exit status 2) when one is wrong. Targets (PASS/FAIL lines) never change the exit status.
//
// Method as in env_bench.cc: one process; each round runs every case in turn, so drift in the
// machine's load hits every case alike and each difference of medians comes from one run.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "agent/policy.h"
#include "bench/bench_util.h"
#include "common/status.h"
#include "envs/web_env.h"
#include "scenarios/registry.h"
#include "scenarios/scenario.h"
#include "web/site.h"

namespace toolgym::bench {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

struct Options {
  int runs = 2000;  // rounds; each round takes one sample of every step case
  int warmup = 50;
  int resets = 50;  // samples of env_reset and site_compile
  std::string scenario = "web.shop_hard";
  std::uint64_t seed = 0;
  std::string json_path;
  bool quick = false;
};

std::string ToolCall(const std::string& name, const json& args) {
  return "<tool_call>" + json{{"name", name}, {"arguments", args}}.dump() + "</tool_call>";
}

// An env of the scenario on the expert's target product page, with the click that opened it.
struct Prepared {
  std::unique_ptr<envs::Env> env;
  envs::WebEnv* web = nullptr;
  int product_id = 0;        // the id of the product link on the results page
  std::string product;       // the item the product page shows
  std::string results_page;  // the page back() returns to
};

StatusOr<Prepared> Prepare(const scenarios::ScenarioRegistry& registry, const Options& o) {
  Prepared p;
  TG_ASSIGN_OR_RETURN(p.env, registry.Make(o.scenario, {{"max_turns", envs::kMaxTurnsOption}}));
  p.web = dynamic_cast<envs::WebEnv*>(p.env.get());
  if (p.web == nullptr)
    return InvalidArgumentError("scenario '{}' is not a web scenario", o.scenario);
  TG_ASSIGN_OR_RETURN(envs::ResetResult reset, p.env->Reset(o.seed));
  agent::ExpertPolicy expert;
  TG_RETURN_IF_ERROR(expert.BeginEpisode(*p.env->task(), p.env->Tools(), o.seed));
  std::vector<envs::Message> conversation = reset.observation.messages;
  for (int step = 0; step < 30 && !p.web->browser()->item(); ++step) {
    TG_ASSIGN_OR_RETURN(std::string action, expert.Act(conversation));
    const std::string before = p.web->browser()->page();
    TG_ASSIGN_OR_RETURN(envs::StepResult r, p.env->Step(action));
    if (r.terminated || r.truncated)
      return InternalError("the expert's episode ended before reaching a product page");
    conversation.push_back({"assistant", action, "", ""});
    for (auto& m : r.observation.messages) conversation.push_back(m);
    if (p.web->browser()->item()) {
      const auto open = action.find('{'), close = action.rfind('}');
      const json call = open == std::string::npos || close == std::string::npos
                            ? json()
                            : json::parse(action.substr(open, close - open + 1), nullptr, false);
      if (!call.is_object() || call["name"] != "click")
        return InternalError("the product page was not opened by a click: {}", action);
      p.product_id = call["arguments"]["id"].get<int>();
      p.results_page = before;
    }
  }
  if (!p.web->browser()->item())
    return InternalError("the expert of {} (seed {}) never opened a product page", o.scenario,
                         o.seed);
  p.product = *p.web->browser()->item();
  return p;
}

int Main(int argc, char** argv) {
  Options o;
  CLI::App app{
      "toolgym web env benchmark: step latency on a generated shop against the site engine "
      "alone; prints a Markdown report"};
  app.add_option("--runs", o.runs, "measured rounds (one sample of each step case per round)")
      ->check(CLI::PositiveNumber);
  app.add_option("--warmup", o.warmup, "untimed rounds first")->check(CLI::NonNegativeNumber);
  app.add_option("--resets", o.resets, "samples of env_reset and site_compile")
      ->check(CLI::PositiveNumber);
  app.add_option("--scenario", o.scenario, "a web shop scenario (its expert opens a product)");
  app.add_option("--seed", o.seed, "the instance of the step cases");
  app.add_option("--json", o.json_path, "also write the results (and every sample) as JSON here");
  app.add_flag("--quick", o.quick, "a smoke run: few rounds (numbers are rough)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  if (o.quick) {
    if (app.count("--runs") == 0) o.runs = 50;
    if (app.count("--warmup") == 0) o.warmup = 5;
    if (app.count("--resets") == 0) o.resets = 5;
  }
  auto die = [](const Status& st) {
    std::fprintf(stderr, "web_bench: %s\n", st.ToString().c_str());
    return 2;
  };

  std::fprintf(stderr, "web_bench: loading the scenario registry\n");
  const scenarios::ScenarioRegistry& registry = scenarios::ScenarioRegistry::Default();
  auto prepared = Prepare(registry, o);
  if (!prepared.ok()) return die(prepared.status());
  Prepared& p = *prepared;
  // The baseline session: a copy of the env's, so both act on the same pages.
  web::Browser browser = *p.web->browser();
  // Episodes are short: every kRoundsPerEpisode rounds both sessions go back (untimed) to the
  // prepared state, a fork of it, so that the history and the navigation log stay the size of
  // an episode's rather than growing over thousands of steps.
  constexpr int kRoundsPerEpisode = 10;
  auto pristine = p.env->Fork();
  if (!pristine.ok()) return die(pristine.status());
  auto restart = [&]() -> Status {
    TG_ASSIGN_OR_RETURN(p.env, (*pristine)->Fork());
    p.web = dynamic_cast<envs::WebEnv*>(p.env.get());
    browser = *p.web->browser();
    return OkStatus();
  };
  const std::string back = ToolCall("back", json::object());
  const std::string click = ToolCall("click", {{"id", p.product_id}});
  const std::string results_page = p.results_page;

  std::map<std::string, std::vector<double>> samples;
  std::vector<std::string> failures;
  std::size_t page_bytes_results = 0, page_bytes_product = 0;
  auto check = [&](bool ok, const std::string& what) {
    if (!ok && failures.size() < 10) failures.push_back(what);
  };
  // One round: the env and the engine each go back to the results and open the product again.
  auto round = [&](bool record) {
    auto t0 = Clock::now();
    auto rb = p.env->Step(back);
    const double env_back = Seconds(Clock::now() - t0);
    check(rb.ok() && !rb->info.tool_calls.empty() && !rb->info.tool_calls[0].error &&
              p.web->browser()->page() == results_page,
          "env back() did not return to the results page");
    t0 = Clock::now();
    auto rc = p.env->Step(click);
    const double env_click = Seconds(Clock::now() - t0);
    check(rc.ok() && p.web->browser()->item() == p.product,
          "env click() did not open the product page");
    if (rb.ok()) page_bytes_results = rb->observation.messages[0].content.size();
    if (rc.ok()) page_bytes_product = rc->observation.messages[0].content.size();

    t0 = Clock::now();
    web::ActionResult ab = browser.Back();
    std::string page = browser.Render();
    const double br_back = Seconds(Clock::now() - t0);
    check(ab.ok && browser.page() == results_page && !page.empty(),
          "Browser::Back() did not return to the results page");
    t0 = Clock::now();
    web::ActionResult ac = browser.Click(p.product_id);
    page = browser.Render();
    const double br_click = Seconds(Clock::now() - t0);
    check(ac.ok && browser.item() == p.product, "Browser::Click() did not open the product");
    // Part of every env step: ToolEnv copies Task::params into StepInfo::task (the generated
    // shop is a parameter of the scenario, so the copy holds the whole site).
    t0 = Clock::now();
    json params = p.env->task()->params;
    const double params_copy = Seconds(Clock::now() - t0);
    check(!params.empty(), "the task has no params");
    if (!record) return;
    samples["params_copy"].push_back(params_copy);
    samples["env_step_back"].push_back(env_back);
    samples["env_step_click"].push_back(env_click);
    samples["browser_back"].push_back(br_back);
    samples["browser_click"].push_back(br_click);
    samples["env_step"].push_back(env_back);
    samples["env_step"].push_back(env_click);
  };
  std::fprintf(stderr, "web_bench: %d warm-up and %d measured rounds on %s seed %llu\n", o.warmup,
               o.runs, o.scenario.c_str(), static_cast<unsigned long long>(o.seed));
  const std::string load_before = LoadAverage();
  for (int i = 0; i < o.warmup + o.runs; ++i) {
    if (i % kRoundsPerEpisode == 0) {
      if (Status st = restart(); !st.ok()) return die(st);
    }
    round(i >= o.warmup);
  }

  // Resets and site compilation, each with a new seed of the train range.
  auto reset_env = registry.Make(o.scenario);
  if (!reset_env.ok()) return die(reset_env.status());
  auto scenario = registry.Get(o.scenario);
  for (int i = 0; i < o.resets; ++i) {
    const std::uint64_t seed = scenario->train_seeds().begin + 1 + static_cast<std::uint64_t>(i);
    auto t0 = Clock::now();
    auto r = (*reset_env)->Reset(seed);
    samples["env_reset"].push_back(Seconds(Clock::now() - t0));
    check(r.ok(), "env reset failed");
    auto task = scenario->MakeTask(seed);
    if (!task.ok() || !task->options.contains("site") || !task->options["site"].is_object()) {
      check(false, "the scenario's task has no inline site to compile");
      continue;
    }
    std::vector<web::SiteError> errors;
    t0 = Clock::now();
    auto site = web::Site::FromJson(task->options["site"], "", &errors);
    samples["site_compile"].push_back(Seconds(Clock::now() - t0));
    check(site != nullptr, "the generated site does not compile");
  }
  const std::string load_after = LoadAverage();

  const Machine m = DescribeMachine();
  std::map<std::string, Stats> stats;
  for (const auto& [id, v] : samples) stats[id] = Summarize(v);
  const char* kLabels[][2] = {
      {"env_step", "WebEnv::Step, back() and click() together"},
      {"env_step_back", "WebEnv::Step(back()) to the results page"},
      {"browser_back", "Browser::Back() + Render() (baseline)"},
      {"env_step_click", "WebEnv::Step(click(id)) to the product page"},
      {"browser_click", "Browser::Click(id) + Render() (baseline)"},
      {"params_copy", "a copy of Task::params (what each step paid before StepInfo shared it)"},
      {"site_compile", "Site::FromJson of a generated shop"},
      {"env_reset", "WebEnv::Reset(seed), generation included"}};
  std::string out = "# web_bench\n\n";
  out += fmt::format(
      "Machine: {} ({} CPUs online, {} allowed), {}, {:.1f} GiB; load average before {}, after "
      "{}.\n\n",
      m.cpu_model, m.cpus_online, m.cpus_allowed, m.kernel, m.memory_gib, load_before, load_after);
  out += fmt::format(
      "Scenario {} seed {}: results page {} bytes, product page {} bytes as the agent sees "
      "them; {} rounds after {} warm-up rounds.\n\n",
      o.scenario, o.seed, page_bytes_results, page_bytes_product, o.runs, o.warmup);
  out += "| case | what | n | median ms | p90 ms | p99 ms | mean ms |\n";
  out += "|---|---|---:|---:|---:|---:|---:|\n";
  for (const auto& [id, label] : kLabels) {
    const Stats& s = stats[id];
    out += fmt::format("| {} | {} | {} | {:.4f} | {:.4f} | {:.4f} | {:.4f} |\n", id, label, s.n,
                       s.median * 1e3, s.p90 * 1e3, s.p99 * 1e3, s.mean * 1e3);
  }
  const double over_back = stats["env_step_back"].median - stats["browser_back"].median;
  const double over_click = stats["env_step_click"].median - stats["browser_click"].median;
  out += fmt::format(
      "\nEnv overhead (difference of medians): back {:.4f} ms, click {:.4f} ms (action "
      "parsing, schema checks, subgoal verifiers, StepInfo). A copy of Task::params ({} bytes "
      "as JSON), which every step made before StepInfo shared one per episode: {:.4f} ms.\n",
      over_back * 1e3, over_click * 1e3, p.env->task()->params.dump().size(),
      stats["params_copy"].median * 1e3);
  const double step_median = stats["env_step"].median;
  const bool pass = step_median < 0.2e-3;
  out += fmt::format("\nTargets:\n\n- {}: web env step median {:.4f} ms < 0.2 ms\n",
                     pass ? "PASS" : "FAIL", step_median * 1e3);
  if (!failures.empty()) {
    out += fmt::format("\nFailures ({}; the run fails):\n\n", failures.size());
    for (const std::string& f : failures) out += "- " + f + "\n";
  }
  if (o.quick) out += "\n(--quick: few rounds; the numbers are rough)\n";
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);

  if (!o.json_path.empty()) {
    json j;
    j["machine"] = {{"cpus_online", m.cpus_online},    {"cpus_allowed", m.cpus_allowed},
                    {"cpu_model", m.cpu_model},        {"kernel", m.kernel},
                    {"memory_gib", m.memory_gib},      {"load_average_before", load_before},
                    {"load_average_after", load_after}};
    j["options"] = {{"runs", o.runs},         {"warmup", o.warmup}, {"resets", o.resets},
                    {"scenario", o.scenario}, {"seed", o.seed},     {"quick", o.quick}};
    j["pages_bytes"] = {{"results", page_bytes_results}, {"product", page_bytes_product}};
    json cases = json::array();
    for (const auto& [id, label] : kLabels) {
      const Stats& s = stats[id];
      json v = json::array();
      for (double x : samples[id]) v.push_back(x * 1e3);
      cases.push_back({{"id", id},
                       {"label", label},
                       {"unit", "ms"},
                       {"stats",
                        {{"n", s.n},
                         {"median", s.median * 1e3},
                         {"p90", s.p90 * 1e3},
                         {"p99", s.p99 * 1e3},
                         {"mean", s.mean * 1e3},
                         {"min", s.min * 1e3},
                         {"max", s.max * 1e3}}},
                       {"samples", std::move(v)}});
    }
    j["cases"] = std::move(cases);
    j["env_overhead_ms"] = {{"back", over_back * 1e3}, {"click", over_click * 1e3}};
    j["targets"] = json::array({{{"target", "web env step median < 0.2 ms"},
                                 {"value_ms", step_median * 1e3},
                                 {"result", pass ? "PASS" : "FAIL"}}});
    j["failures"] = failures;
    std::ofstream f(o.json_path);
    f << j.dump(2) << "\n";
    if (!f) return die(InternalError("cannot write {}", o.json_path));
  }
  if (!failures.empty()) {
    std::fprintf(stderr, "web_bench: %zu check(s) failed\n", failures.size());
    return 2;
  }
  return 0;
}

}  // namespace
}  // namespace toolgym::bench

int main(int argc, char** argv) { return toolgym::bench::Main(argc, argv); }
