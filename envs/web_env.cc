#include "envs/web_env.h"

#include <fmt/format.h>

#include <filesystem>
#include <map>
#include <mutex>

#include "envs/render.h"

namespace toolgym::envs {

using nlohmann::json;

namespace {

// Site files parsed once per process, by resolved path. A Site is immutable, so every env of
// every thread shares one.
struct SiteCache {
  std::mutex mu;
  std::map<std::string, std::shared_ptr<const web::Site>> sites;
};

SiteCache& Cache() {
  static auto* cache = new SiteCache;
  return *cache;
}

std::string ResolvePath(const Task& task, const std::string& file) {
  std::filesystem::path p(file);
  if (p.is_relative() && !task.base_dir.empty()) p = std::filesystem::path(task.base_dir) / p;
  return p.lexically_normal().string();
}

json IdSchema(const std::string& what) {
  return {{"type", "integer"},
          {"minimum", 1},
          {"description", "The element's number, as in [3] on the page (" + what + ")"}};
}

}  // namespace

WebEnv::WebEnv(std::shared_ptr<const TaskSource> source, EnvOptions options)
    : ToolEnv(std::move(source), std::move(options)) {}

WebEnv::~WebEnv() = default;

std::vector<ToolSpec> WebEnv::AllTools(bool requires_answer) {
  std::vector<ToolSpec> tools;
  tools.push_back({"click",
                   "Click a link, button or checkbox of the current page by its number.",
                   {{"type", "object"},
                    {"properties", {{"id", IdSchema("a link, button or checkbox")}}},
                    {"required", {"id"}},
                    {"additionalProperties", false}}});
  tools.push_back(
      {"type",
       "Type text into an input field of the current page (it replaces the field's value).",
       {{"type", "object"},
        {"properties",
         {{"id", IdSchema("an input")},
          {"text",
           {{"type", "string"}, {"maxLength", 1000}, {"description", "The text to enter"}}}}},
        {"required", {"id", "text"}},
        {"additionalProperties", false}}});
  tools.push_back({"select",
                   "Choose one of the options of a select field of the current page.",
                   {{"type", "object"},
                    {"properties",
                     {{"id", IdSchema("a select")},
                      {"option",
                       {{"type", "string"},
                        {"maxLength", 1000},
                        {"description", "The option, as listed in options=[...]"}}}}},
                    {"required", {"id", "option"}},
                    {"additionalProperties", false}}});
  tools.push_back(
      {"back",
       "Go back to the previous page.",
       {{"type", "object"}, {"properties", json::object()}, {"additionalProperties", false}}});
  tools.push_back(
      {"scroll",
       "Scroll the view of a page that is longer than the screen.",
       {{"type", "object"},
        {"properties",
         {{"direction",
           {{"type", "string"}, {"enum", {"up", "down"}}, {"description", "up or down"}}}}},
        {"required", {"direction"}},
        {"additionalProperties", false}}});
  tools.push_back(SubmitTool(requires_answer));
  return tools;
}

std::shared_ptr<const web::Site> WebEnv::LoadSite(const Task& task,
                                                  std::vector<TaskError>* errors) {
  const json& o = task.options;
  if (!o.is_object() || !o.contains("site")) {
    errors->push_back({"", "",
                       "the web env needs options {\"site\": {...}} (an inline site) or "
                       "{\"site\": \"file.json\"}; found " +
                           (o.is_object() ? std::string("no \"site\"") : o.dump())});
    return nullptr;
  }
  for (const auto& [k, v] : o.items())
    if (k != "site")
      errors->push_back(
          {"", "/" + k, fmt::format("unknown web env option \"{}\"; expected: site", k)});
  const json& s = o["site"];
  std::vector<web::SiteError> site_errors;
  std::shared_ptr<const web::Site> site;
  if (s.is_object()) {
    site = web::Site::FromJson(s, "", &site_errors);
    for (const auto& e : site_errors) errors->push_back({"", "/site" + e.path, e.message});
  } else if (s.is_string()) {
    const std::string path = ResolvePath(task, s.get<std::string>());
    SiteCache& cache = Cache();
    {
      std::lock_guard<std::mutex> lock(cache.mu);
      auto it = cache.sites.find(path);
      if (it != cache.sites.end()) site = it->second;
    }
    if (!site) {
      site = web::Site::FromFile(path, &site_errors);
      for (const auto& e : site_errors) errors->push_back({e.file, e.path, e.message});
      if (site) {
        std::lock_guard<std::mutex> lock(cache.mu);
        cache.sites.emplace(path, site);
      }
    }
  } else {
    errors->push_back({"", "/site",
                       "expected a site (an object) or a site file name (a string), found " +
                           s.dump().substr(0, 80)});
  }
  return errors->empty() ? site : nullptr;
}

std::vector<TaskError> WebEnv::Validate(const Task& task) {
  std::vector<TaskError> errors;
  LoadSite(task, &errors);
  return errors;
}

std::vector<ToolSpec> WebEnv::KindTools(const Task& task) const {
  return AllTools(task.requires_answer);
}

Status WebEnv::BeginEpisode(const Task& task) {
  std::vector<TaskError> errors;
  std::shared_ptr<const web::Site> site = LoadSite(task, &errors);
  if (!site) {
    std::string msg;
    for (const TaskError& e : errors)
      msg +=
          fmt::format("{}{}: {}: {}", msg.empty() ? "" : "; ", e.file.empty() ? "options" : e.file,
                      e.file.empty() ? "/options" + e.path : e.path, e.message);
    return InvalidArgumentError("the task's site is not valid: {}", msg);
  }
  browser_.emplace(std::move(site));
  snapshot_stale_ = true;
  return OkStatus();
}

std::string WebEnv::KindRules(const Task& task) const {
  std::string rules =
      "You are an agent using a website through a text browser. Each page is shown as lines of "
      "text; interactive elements carry a number in brackets, like [3]. Act on them by number: "
      "click(id) for links, buttons and checkboxes, type(id, text) for input fields, select(id, "
      "option) for select fields. back() returns to the previous page and scroll(direction) "
      "moves the view when the page is longer than the screen. Numbers refer to the page as it "
      "is now: after every action, use the numbers of the new page.";
  rules += task.requires_answer ? " When you know the answer, call submit(answer)."
                                : " When the task is done, call submit().";
  return rules;
}

std::string WebEnv::InitialView() const {
  return browser_ ? "The browser shows:\n\n" + browser_->Render() : std::string();
}

ToolEnv::ToolOutcome WebEnv::Execute(const ToolCall& call) {
  ToolOutcome o;
  const json& a = call.arguments;
  web::ActionResult r;
  if (call.name == "click") {
    r = browser_->Click(a.at("id").get<int>());
  } else if (call.name == "type") {
    r = browser_->Type(a.at("id").get<int>(), a.at("text").get<std::string>());
  } else if (call.name == "select") {
    r = browser_->Select(a.at("id").get<int>(), a.at("option").get<std::string>());
  } else if (call.name == "back") {
    r = browser_->Back();
  } else if (call.name == "scroll") {
    r = browser_->Scroll(a.at("direction").get<std::string>());
  } else {
    o.error = true;
    o.output = "tool '" + call.name + "' is not available in the web env";
    return o;
  }
  snapshot_stale_ = true;
  o.error = !r.ok;
  std::string page = browser_->Render();
  if (r.ended) {
    o.ends_episode = true;
    o.end_reason = "site_end";
    page += fmt::format("The session is over ({}).\n", r.end_reason);
  }
  const ToolLimits& limits = current_task().limits_for(call.name);
  bool cut = false;
  o.output = r.ok ? std::string() : "Error: " + r.error + "\n\n";
  o.output += Truncate(page, limits.max_output_bytes, &cut);
  if (cut) o.output += "\n[page truncated]";
  return o;
}

const json* WebEnv::EnvState() {
  if (!browser_) return nullptr;
  if (snapshot_stale_) {
    snapshot_ = browser_->Snapshot();
    snapshot_stale_ = false;
  }
  return &snapshot_;
}

StatusOr<std::unique_ptr<ToolEnv>> WebEnv::ForkKind() {
  auto copy = std::make_unique<WebEnv>(source(), options());
  if (browser_) copy->browser_.emplace(*browser_);
  return std::unique_ptr<ToolEnv>(std::move(copy));
}

}  // namespace toolgym::envs
