#include "scenarios/registry.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "envs/registry.h"

namespace toolgym::scenarios {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A JSON file of another toolgym format kept next to scenarios (a site, "format":
// "toolgym.site/1"): not a scenario, so a directory load skips it. Scenarios have no "format".
bool IsOtherToolgymFormat(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const json doc = json::parse(ss.str(), nullptr, /*allow_exceptions=*/false,
                               /*ignore_comments=*/true);
  if (!doc.is_object()) return false;
  auto it = doc.find("format");
  return it != doc.end() && it->is_string() && it->get<std::string>().rfind("toolgym.", 0) == 0;
}

}  // namespace

std::vector<LoadError> ScenarioRegistry::Load(const std::string& path) {
  std::vector<LoadError> errors;
  std::error_code ec;
  std::vector<std::string> files;
  if (fs::is_directory(path, ec)) {
    for (auto it = fs::recursive_directory_iterator(path, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file() && it->path().extension() == ".json" &&
          !IsOtherToolgymFormat(it->path().string()))
        files.push_back(it->path().string());
    }
    if (ec) errors.push_back({path, "", "cannot list the directory: " + ec.message()});
  } else if (fs::is_regular_file(path, ec)) {
    files.push_back(path);
  } else {
    errors.push_back({path, "", "no such file or directory"});
  }
  std::sort(files.begin(), files.end());
  for (const std::string& f : files) {
    auto s = Scenario::FromFile(f, &errors);
    if (s == nullptr) continue;
    if (Status st = Add(s); !st.ok()) errors.push_back({f, "/id", st.message()});
  }
  return errors;
}

Status ScenarioRegistry::Add(std::shared_ptr<const Scenario> scenario) {
  auto it = scenarios_.find(scenario->id());
  if (it != scenarios_.end())
    return InvalidArgumentError("duplicate scenario id \"{}\", already defined in {}",
                                scenario->id(), it->second->file());
  scenarios_[scenario->id()] = std::move(scenario);
  return OkStatus();
}

const Scenario* ScenarioRegistry::Find(const std::string& id) const {
  auto it = scenarios_.find(id);
  return it == scenarios_.end() ? nullptr : it->second.get();
}

std::shared_ptr<const Scenario> ScenarioRegistry::Get(const std::string& id) const {
  auto it = scenarios_.find(id);
  return it == scenarios_.end() ? nullptr : it->second;
}

std::vector<std::string> ScenarioRegistry::Ids() const {
  std::vector<std::string> ids;
  for (const auto& [id, s] : scenarios_) ids.push_back(id);
  return ids;
}

Status ScenarioRegistry::UnknownId(const std::string& id) const {
  std::vector<std::string> close;
  for (const auto& [other, sc] : scenarios_) {
    const auto dot = id.rfind('.');
    const std::string tail = dot == std::string::npos ? id : id.substr(dot + 1);
    if (other.find(tail) != std::string::npos || id.find(other) != std::string::npos)
      close.push_back(other);
  }
  std::string hint = close.empty() ? "run `toolgym list` for the ids" : "did you mean: ";
  for (size_t i = 0; i < close.size(); ++i) hint += (i ? ", " : "") + close[i];
  return NotFoundError("unknown scenario \"{}\"; {}", id, hint);
}

StatusOr<std::unique_ptr<envs::EnvPool>> ScenarioRegistry::MakePool(
    const std::vector<std::string>& ids, envs::EnvPoolOptions options) const {
  if (ids.empty()) return InvalidArgumentError("a pool needs at least one scenario id");
  std::vector<std::shared_ptr<const envs::TaskSource>> sources;
  sources.reserve(ids.size());
  for (const std::string& id : ids) {
    auto s = Get(id);
    if (s == nullptr) return UnknownId(id);
    sources.push_back(std::move(s));
  }
  return envs::EnvPool::Create(std::move(sources), std::move(options));
}

StatusOr<std::unique_ptr<envs::Env>> ScenarioRegistry::Make(const std::string& id,
                                                            const nlohmann::json& options) const {
  auto s = Get(id);
  if (s == nullptr) return UnknownId(id);
  TG_ASSIGN_OR_RETURN(envs::EnvOptions o, envs::EnvOptions::FromJson(options));
  return envs::MakeEnv(std::move(s), o);
}

std::string ScenarioRegistry::SuitesDir() {
  if (const char* d = std::getenv("TOOLGYM_SUITES_DIR"); d != nullptr && *d) return d;
  return TOOLGYM_SUITES_DIR;
}

namespace {

struct DefaultState {
  ScenarioRegistry registry;
  std::vector<LoadError> errors;
};

const DefaultState& Defaults() {
  static const DefaultState* state = [] {
    auto* st = new DefaultState;
    auto add = [&](const std::string& path) {
      auto errs = st->registry.Load(path);
      st->errors.insert(st->errors.end(), errs.begin(), errs.end());
    };
    add(ScenarioRegistry::SuitesDir());
    if (const char* extra = std::getenv("TOOLGYM_SCENARIO_PATH"); extra != nullptr) {
      std::string rest = extra;
      size_t pos;
      while (!rest.empty()) {
        pos = rest.find(':');
        const std::string item = rest.substr(0, pos);
        if (!item.empty()) add(item);
        if (pos == std::string::npos) break;
        rest.erase(0, pos + 1);
      }
    }
    return st;
  }();
  return *state;
}

}  // namespace

const ScenarioRegistry& ScenarioRegistry::Default() { return Defaults().registry; }
const std::vector<LoadError>& ScenarioRegistry::DefaultErrors() { return Defaults().errors; }

StatusOr<std::unique_ptr<envs::Env>> Make(const std::string& scenario_id,
                                          const nlohmann::json& options) {
  return ScenarioRegistry::Default().Make(scenario_id, options);
}

}  // namespace toolgym::scenarios
