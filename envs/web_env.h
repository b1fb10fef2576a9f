// The simulated-web environment: the agent browses a site (web/site.h, docs/sites.md) whose
// pages it sees as numbered accessibility-tree text, and acts on elements by id.
//
// Tools: click(id) (links, buttons, checkboxes), type(id, text) (inputs), select(id, option),
// back(), scroll(direction) for pages longer than the viewport, and submit(answer) -- or submit()
// when the task takes no answer. Each observation is the page after the action, preceded by the
// action's error when it failed ("Error: no element [12] on this page; ...").
//
// The site comes from Task::options: {"site": {...}} (inline, e.g. generated per seed) or
// {"site": "shop.json"} (a file relative to Task::base_dir, parsed once per process and shared).
// An effect {"end": "..."} of the site ends the episode (end_reason "site_end"). Verifiers see
// Browser::Snapshot() as VerifyContext::env_state: {"page", "item", "state", "data", "events",
// "history"}.
//
// Nothing runs commands: no sandbox and no workspace. Fork copies the browser session.
#pragma once

#include <memory>
#include <optional>

#include "envs/env.h"
#include "web/site.h"

namespace toolgym::envs {

class WebEnv : public ToolEnv {
 public:
  WebEnv(std::shared_ptr<const TaskSource> source, EnvOptions options);
  ~WebEnv() override;

  static std::vector<ToolSpec> AllTools(bool requires_answer);
  // The task's site, or every problem found in it: in a site file, that file and the JSON
  // pointer inside it; in the task's own options (an inline site), file "" and the pointer
  // inside Task::options ("/site/pages/home/..."), as EnvKind::validate reports them. Site files
  // are cached by path.
  static std::shared_ptr<const web::Site> LoadSite(const Task& task,
                                                   std::vector<TaskError>* errors);
  // EnvKind::validate: the problems of LoadSite, empty when the site is good.
  static std::vector<TaskError> Validate(const Task& task);

  // The live session (tests, benchmarks); null before the first reset.
  const web::Browser* browser() const { return browser_ ? &*browser_ : nullptr; }

 protected:
  std::vector<ToolSpec> KindTools(const Task& task) const override;
  Status BeginEpisode(const Task& task) override;
  ToolOutcome Execute(const ToolCall& call) override;
  WorkspaceView* workspace() override { return nullptr; }
  StatusOr<std::unique_ptr<ToolEnv>> ForkKind() override;
  std::string KindRules(const Task& task) const override;
  std::string InitialView() const override;
  const nlohmann::json* EnvState() override;

 private:
  std::optional<web::Browser> browser_;
  nlohmann::json snapshot_;     // Browser::Snapshot(), refreshed lazily
  bool snapshot_stale_ = true;  // an action ran since snapshot_ was taken
};

}  // namespace toolgym::envs
