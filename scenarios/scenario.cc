#include "scenarios/scenario.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "envs/python_tests.h"
#include "envs/registry.h"
#include "scenarios/generators.h"
#include "scenarios/rng.h"
#include "scenarios/template.h"
#include "scenarios/verifiers.h"

namespace toolgym::scenarios {

using nlohmann::json;

std::string LoadError::ToString() const {
  return path.empty() ? fmt::format("{}: {}", file, message)
                      : fmt::format("{}: {}: {}", file, path, message);
}

namespace {

// The top-level fields of a scenario file, in documentation order.
const std::vector<std::string> kTopFields = {"id",
                                             "version",
                                             "env",
                                             "title",
                                             "description",
                                             "tags",
                                             "difficulty",
                                             "instruction",
                                             "rules",
                                             "params",
                                             "workspace",
                                             "tools",
                                             "action_format",
                                             "answer",
                                             "end_on_goal",
                                             "verifier",
                                             "subgoals",
                                             "expert",
                                             "reward",
                                             "budgets",
                                             "seeds",
                                             "public_tests",
                                             "options",
                                             "$schema",
                                             "comment",
                                             "expert_may_use"};
const std::vector<std::string> kRewardFields = {"success",
                                                "failure",
                                                "per_call_success",
                                                "per_call_failure",
                                                "format",
                                                "tool_call_cost",
                                                "invalid_action",
                                                "repeated_call",
                                                "progress",
                                                "progress_gamma",
                                                "overlong",
                                                "overlong_max_bytes",
                                                "overlong_buffer_bytes",
                                                "turn_budget",
                                                "tool_costs"};
const std::vector<std::string> kBudgetFields = {"max_turns", "max_action_bytes",
                                                "max_episode_seconds"};

std::string Describe(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  switch (v.type()) {
    case json::value_t::string:
      return "the string " + s;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "the integer " + s;
    case json::value_t::number_float:
      return "the number " + s;
    case json::value_t::boolean:
      return s;
    case json::value_t::null:
      return "null";
    case json::value_t::array:
      return "an array " + s;
    case json::value_t::object:
      return "an object " + s;
    default:
      return s;
  }
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

bool IsIdentifier(const std::string& s) {
  static const std::regex re("[A-Za-z_][A-Za-z0-9_]*");
  return std::regex_match(s, re);
}

// Collects errors with the file name; the helpers return false after recording one.
class Checker {
 public:
  Checker(std::string file, std::vector<LoadError>* errors)
      : file_(std::move(file)), errors_(errors) {}
  void Error(const std::string& path, std::string message) {
    errors_->push_back({file_, path, std::move(message)});
    ++count_;
  }
  int count() const { return count_; }

  void UnknownFields(const json& obj, const std::string& path,
                     const std::vector<std::string>& allowed) {
    for (const auto& [k, v] : obj.items()) {
      if (std::find(allowed.begin(), allowed.end(), k) == allowed.end())
        Error(path + "/" + k,
              fmt::format("unknown field '{}'; expected one of: {}", k, Join(allowed)));
    }
  }
  const json* Field(const json& obj, const std::string& path, const std::string& key,
                    bool required) {
    if (!obj.contains(key)) {
      if (required) Error(path + "/" + key, "missing required field '" + key + "'");
      return nullptr;
    }
    return &obj[key];
  }
  bool String(const json& obj, const std::string& path, const std::string& key, bool required,
              std::string* out) {
    const json* v = Field(obj, path, key, required);
    if (v == nullptr) return !required;
    if (!v->is_string() || v->get<std::string>().empty()) {
      Error(path + "/" + key, "expected a non-empty string, found " + Describe(*v));
      return false;
    }
    *out = v->get<std::string>();
    return true;
  }
  bool Bool(const json& obj, const std::string& path, const std::string& key, bool* out) {
    const json* v = Field(obj, path, key, false);
    if (v == nullptr) return true;
    if (!v->is_boolean()) {
      Error(path + "/" + key, "expected true or false, found " + Describe(*v));
      return false;
    }
    *out = v->get<bool>();
    return true;
  }
  template <typename T>
  bool Number(const json& obj, const std::string& path, const std::string& key, T* out, double lo,
              double hi, bool integer) {
    const json* v = Field(obj, path, key, false);
    if (v == nullptr) return true;
    const bool ok = v->is_number() && !v->is_boolean() &&
                    (!integer || v->is_number_integer() || v->is_number_unsigned());
    if (!ok || v->get<double>() < lo || v->get<double>() > hi) {
      Error(path + "/" + key,
            fmt::format("expected {} in [{:g}, {:g}], found {}",
                        integer ? "an integer" : "a number", lo, hi, Describe(*v)));
      return false;
    }
    *out = v->get<T>();
    return true;
  }

 private:
  std::string file_;
  std::vector<LoadError>* errors_;
  int count_ = 0;
};

// Root names of the placeholders in every string of `v` ("{{ file.path | upper }}" -> file), or
// their whole paths ("file.path") with full_paths.
void PlaceholderRoots(const json& v, std::set<std::string>* roots, bool full_paths = false) {
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    size_t pos = 0;
    while ((pos = s.find("{{", pos)) != std::string::npos) {
      if (s.compare(pos, 4, "{{{{") == 0) {
        pos += 4;
        continue;
      }
      const size_t end = s.find("}}", pos + 2);
      if (end == std::string::npos) break;
      std::string expr = s.substr(pos + 2, end - pos - 2);
      expr = expr.substr(0, expr.find('|'));
      const size_t b = expr.find_first_not_of(" \t\n");
      if (b != std::string::npos) {
        expr = expr.substr(b);
        expr = expr.substr(0, expr.find_first_of(" \t\n"));
        roots->insert(full_paths ? expr : expr.substr(0, expr.find('.')));
      }
      pos = end + 2;
    }
  } else if (v.is_array() || v.is_object()) {
    for (const auto& item : v) PlaceholderRoots(item, roots, full_paths);
  }
}

StatusOr<std::uint32_t> ParseMode(const json& v) {
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0 && v.get<std::int64_t>() <= 07777)
    return static_cast<std::uint32_t>(v.get<std::uint64_t>());
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    static const std::regex re("0?[0-7]{3,4}");
    if (std::regex_match(s, re)) return static_cast<std::uint32_t>(std::stoul(s, nullptr, 8));
  }
  return InvalidArgumentError("expected a permission mode such as \"0644\", found {}", Describe(v));
}

// Adds files from a JSON object {path: content} or {path: {"content": ..., "mode": "0755"}}.
Status AddFiles(const json& files, sandbox::FileTree* tree, const std::string& where) {
  if (!files.is_object())
    return InvalidArgumentError("{}: expected an object of path -> content, found {}", where,
                                Describe(files));
  for (const auto& [path, value] : files.items()) {
    std::string content;
    std::uint32_t mode = 0644;
    if (value.is_string()) {
      content = value.get<std::string>();
    } else if (value.is_object() && value.contains("content") && value["content"].is_string()) {
      content = value["content"].get<std::string>();
      if (value.contains("mode")) {
        auto m = ParseMode(value["mode"]);
        if (!m.ok())
          return InvalidArgumentError("{}/{}/mode: {}", where, path, m.status().message());
        mode = *m;
      }
    } else if (value.is_object() && value.contains("dir")) {
      std::uint32_t dmode = 0755;
      if (value.contains("mode")) {
        auto m = ParseMode(value["mode"]);
        if (!m.ok())
          return InvalidArgumentError("{}/{}/mode: {}", where, path, m.status().message());
        dmode = *m;
      }
      TG_RETURN_IF_ERROR(tree->AddDirectory(path, dmode).WithContext(where + "/" + path));
      continue;
    } else {
      return InvalidArgumentError(
          "{}/{}: expected the file's content (a string) or {{\"content\": ..., \"mode\": ...}}, "
          "found {}",
          where, path, Describe(value));
    }
    Status st = tree->AddFile(path, std::move(content), mode);
    if (!st.ok()) return InvalidArgumentError("{}/{}: {}", where, path, st.message());
  }
  return OkStatus();
}

StatusOr<envs::ToolLimits> ParseToolLimits(const json& v, const std::string& where) {
  envs::ToolLimits l;
  if (v.is_null() || (v.is_object() && v.empty())) return l;
  if (!v.is_object())
    return InvalidArgumentError("{}: expected an object of tool settings, found {}", where,
                                Describe(v));
  for (const auto& [k, x] : v.items()) {
    if (k == "timeout_s") {
      if (!x.is_number() || x.get<double>() <= 0 || x.get<double>() > 600)
        return InvalidArgumentError("{}/timeout_s: expected a number in (0, 600], found {}", where,
                                    Describe(x));
      l.timeout_s = x.get<double>();
    } else if (k == "max_output_bytes") {
      if (!x.is_number_unsigned() || x.get<std::uint64_t>() < 64)
        return InvalidArgumentError("{}/max_output_bytes: expected an integer >= 64, found {}",
                                    where, Describe(x));
      l.max_output_bytes = x.get<std::uint64_t>();
    } else {
      return InvalidArgumentError(
          "{}/{}: unknown tool setting; expected timeout_s or "
          "max_output_bytes",
          where, k);
    }
  }
  return l;
}

}  // namespace

std::shared_ptr<const Scenario> Scenario::FromFile(const std::string& path,
                                                   std::vector<LoadError>* errors) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    errors->push_back({path, "", "cannot open the file"});
    return nullptr;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false, /*ignore_comments=*/true);
  if (doc.is_discarded()) {
    // Parse again with exceptions only to get the parser's position for the message.
    std::string why = "not valid JSON";
    try {
      [[maybe_unused]] const json reparsed = json::parse(text, nullptr, true, true);
    } catch (const json::parse_error& e) {
      why = std::string("not valid JSON: ") + e.what();
    }
    errors->push_back({path, "", why});
    return nullptr;
  }
  return FromJson(doc, path, errors);
}

std::shared_ptr<const Scenario> Scenario::FromJson(const json& doc, const std::string& file,
                                                   std::vector<LoadError>* errors) {
  Checker c(file, errors);
  if (!doc.is_object()) {
    c.Error("", "expected a JSON object (a scenario), found " + Describe(doc));
    return nullptr;
  }
  std::shared_ptr<Scenario> s(new Scenario);
  s->doc_ = doc;
  s->file_ = file;
  s->dir_ = std::filesystem::path(file).parent_path().string();
  c.UnknownFields(doc, "", kTopFields);

  // Identity.
  if (c.String(doc, "", "id", true, &s->id_)) {
    static const std::regex re("[a-z0-9_]+(\\.[a-z0-9_]+)*");
    if (!std::regex_match(s->id_, re))
      c.Error("/id", "expected dotted lowercase words such as \"shell.count_matches\", found " +
                         Describe(doc["id"]));
  }
  c.String(doc, "", "version", true, &s->version_);
  c.String(doc, "", "title", true, &s->title_);
  c.String(doc, "", "description", false, &s->description_);
  const envs::EnvKind* kind = nullptr;
  if (c.String(doc, "", "env", true, &s->env_kind_)) {
    kind = envs::FindEnvKind(s->env_kind_);
    if (kind == nullptr)
      c.Error("/env", fmt::format("unknown env kind \"{}\"; expected one of: {}", s->env_kind_,
                                  Join(envs::EnvKindNames())));
  }
  if (const json* t = c.Field(doc, "", "tags", false)) {
    if (!t->is_array())
      c.Error("/tags", "expected an array of strings, found " + Describe(*t));
    else
      for (size_t i = 0; i < t->size(); ++i) {
        if (!(*t)[i].is_string())
          c.Error(fmt::format("/tags/{}", i), "expected a string, found " + Describe((*t)[i]));
        else
          s->tags_.push_back((*t)[i].get<std::string>());
      }
  }
  std::string instruction;
  c.String(doc, "", "instruction", true, &instruction);
  std::string rules;
  c.String(doc, "", "rules", false, &rules);
  c.Bool(doc, "", "answer", &s->requires_answer_);
  bool end_on_goal = false;
  c.Bool(doc, "", "end_on_goal", &end_on_goal);
  if (const json* f = c.Field(doc, "", "action_format", false)) {
    auto af = f->is_string() ? envs::ParseActionFormat(f->get<std::string>())
                             : StatusOr<envs::ActionFormat>(InvalidArgumentError("x"));
    if (!af.ok())
      c.Error("/action_format",
              "expected \"hermes\", \"openai\", \"compact\" or \"auto\", found " + Describe(*f));
  }

  // Parameters: an ordered list of {name, gen, ...args}.
  std::set<std::string> param_names;
  const GeneratorRegistry& gens = GeneratorRegistry::Default();
  if (const json* params = c.Field(doc, "", "params", false)) {
    if (!params->is_array()) {
      c.Error("/params", "expected an array of parameters, found " + Describe(*params));
    } else {
      for (size_t i = 0; i < params->size(); ++i) {
        const std::string path = fmt::format("/params/{}", i);
        const json& p = (*params)[i];
        if (!p.is_object()) {
          c.Error(path, "expected an object {\"name\": ..., \"gen\": ...}, found " + Describe(p));
          continue;
        }
        std::string name, gen;
        if (c.String(p, path, "name", true, &name)) {
          if (!IsIdentifier(name) || name == "obs" || name == "x")
            c.Error(path + "/name",
                    "expected an identifier other than obs and x, found " + Describe(p["name"]));
          else if (!param_names.insert(name).second)
            c.Error(path + "/name", "duplicate parameter name \"" + name + "\"");
        }
        if (c.String(p, path, "gen", true, &gen)) {
          const GeneratorInfo* g = gens.Find(gen);
          if (g == nullptr) {
            c.Error(path + "/gen", fmt::format("unknown generator \"{}\"; expected one of: {}", gen,
                                               Join(gens.Names())));
          } else {
            std::vector<std::string> allowed = g->arguments;
            allowed.push_back("name");
            allowed.push_back("gen");
            allowed.push_back("comment");
            for (const auto& [k, v] : p.items())
              if (std::find(allowed.begin(), allowed.end(), k) == allowed.end())
                c.Error(path + "/" + k,
                        fmt::format("unknown argument '{}' for generator '{}'; expected one of: {}",
                                    k, gen, Join(g->arguments)));
            for (const std::string& r : g->required)
              if (!p.contains(r))
                c.Error(path + "/" + r,
                        fmt::format("missing required argument '{}' of generator '{}'", r, gen));
          }
        }
      }
    }
  }

  // Instruction placeholders: what the agent is shown, hence what the expert may use.
  std::set<std::string> visible, visible_paths, may_use;
  PlaceholderRoots(json(instruction), &visible);
  PlaceholderRoots(json(instruction), &visible_paths, /*full_paths=*/true);
  // Knowledge the expert brings besides what it is shown, declared so that a reader sees it:
  // a reference solution that a programmer writes from the specification (code tasks). Never
  // an answer: docs/scenarios.md explains the rule.
  if (const json* k = c.Field(doc, "", "expert_may_use", false)) {
    if (!k->is_array()) {
      c.Error("/expert_may_use", "expected an array of parameter paths, found " + Describe(*k));
    } else {
      for (size_t i = 0; i < k->size(); ++i) {
        const json& item = (*k)[i];
        if (!item.is_string() || !param_names.count(item.get<std::string>().substr(
                                     0, item.get<std::string>().find('.'))))
          c.Error(fmt::format("/expert_may_use/{}", i),
                  "expected a parameter path such as \"fn.reference\", found " + Describe(item));
        else
          may_use.insert(item.get<std::string>());
      }
    }
  }
  for (const std::string& r : visible)
    if (!param_names.count(r))
      c.Error("/instruction", fmt::format("placeholder '{}' names no parameter; parameters: {}", r,
                                          Join({param_names.begin(), param_names.end()})));

  // Tools.
  std::vector<std::string> kind_tools;
  if (kind != nullptr)
    for (const auto& t : kind->tools(s->requires_answer_)) kind_tools.push_back(t.name);
  if (const json* tools = c.Field(doc, "", "tools", true)) {
    auto check_name = [&](const std::string& name, const std::string& path) {
      if (kind != nullptr &&
          std::find(kind_tools.begin(), kind_tools.end(), name) == kind_tools.end())
        c.Error(path, fmt::format("the {} env has no tool \"{}\"; its tools: {}", s->env_kind_,
                                  name, Join(kind_tools)));
    };
    if (tools->is_array()) {
      for (size_t i = 0; i < tools->size(); ++i) {
        if (!(*tools)[i].is_string())
          c.Error(fmt::format("/tools/{}", i),
                  "expected a tool name, found " + Describe((*tools)[i]));
        else
          check_name((*tools)[i].get<std::string>(), fmt::format("/tools/{}", i));
      }
    } else if (tools->is_object()) {
      for (const auto& [name, lim] : tools->items()) {
        check_name(name, "/tools/" + name);
        auto l = ParseToolLimits(lim, "/tools/" + name);
        if (!l.ok()) c.Error("/tools/" + name, l.status().message());
      }
    } else {
      c.Error("/tools", "expected an array of tool names or an object of tool -> settings, found " +
                            Describe(*tools));
    }
    bool has_submit = tools->is_array()
                          ? std::find(tools->begin(), tools->end(), json("submit")) != tools->end()
                          : tools->is_object() && tools->contains("submit");
    if (!has_submit && !end_on_goal)
      c.Error("/tools",
              "the tools must include \"submit\" unless \"end_on_goal\" is true: "
              "otherwise no episode could end before its turn budget");
  }

  // Verifier: type and field names now; values once rendered for an instance.
  const VerifierRegistry& vreg = VerifierRegistry::Default();
  auto check_verifier_shape = [&](const json& v, const std::string& path) {
    if (!v.is_object() || !v.contains("type") || !v["type"].is_string()) {
      c.Error(path, "expected a verifier object {\"type\": ..., ...}, found " + Describe(v));
      return;
    }
    const std::string type = v["type"].get<std::string>();
    const VerifierInfo* info = vreg.Find(type);
    if (info == nullptr) {
      c.Error(path + "/type", fmt::format("unknown verifier type \"{}\"; expected one of: {}", type,
                                          Join(vreg.Names())));
      return;
    }
    for (const auto& [k, x] : v.items())
      if (k != "type" &&
          std::find(info->fields.begin(), info->fields.end(), k) == info->fields.end())
        c.Error(path + "/" + k,
                fmt::format("unknown field '{}' for verifier '{}'; expected one of: {}", k, type,
                            Join(info->fields)));
    for (const std::string& r : info->required)
      if (!v.contains(r))
        c.Error(path + "/" + r,
                fmt::format("missing required field '{}' of verifier '{}'", r, type));
  };
  if (const json* v = c.Field(doc, "", "verifier", true)) check_verifier_shape(*v, "/verifier");
  if (const json* sg = c.Field(doc, "", "subgoals", false)) {
    if (!sg->is_array())
      c.Error("/subgoals", "expected an array of {\"name\", \"check\"}, found " + Describe(*sg));
    else
      for (size_t i = 0; i < sg->size(); ++i) {
        const std::string path = fmt::format("/subgoals/{}", i);
        const json& g = (*sg)[i];
        std::string name;
        if (!g.is_object()) {
          c.Error(path, "expected {\"name\": ..., \"check\": {...}}, found " + Describe(g));
          continue;
        }
        c.UnknownFields(g, path, {"name", "check"});
        c.String(g, path, "name", true, &name);
        if (const json* chk = c.Field(g, path, "check", true))
          check_verifier_shape(*chk, path + "/check");
      }
  }

  // Expert: "expert": [steps] or {"variants": [[steps], ...]}.
  if (const json* e = c.Field(doc, "", "expert", true)) {
    json variants;
    std::string base = "/expert";
    if (e->is_array()) {
      variants = json::array({*e});
    } else if (e->is_object() && e->contains("variants") && (*e)["variants"].is_array() &&
               !(*e)["variants"].empty()) {
      c.UnknownFields(*e, "/expert", {"variants"});
      variants = (*e)["variants"];
      base = "/expert/variants";
    } else {
      c.Error("/expert", "expected an array of steps or {\"variants\": [[steps], ...]}, found " +
                             Describe(*e));
    }
    for (size_t vi = 0; vi < variants.size(); ++vi) {
      const json& steps = variants[vi];
      const std::string vpath = e->is_array() ? base : fmt::format("{}/{}", base, vi);
      if (!steps.is_array() || steps.empty()) {
        c.Error(vpath, "expected a non-empty array of steps, found " + Describe(steps));
        continue;
      }
      std::vector<envs::ExpertStep> parsed;
      for (size_t i = 0; i < steps.size(); ++i) {
        const std::string path = fmt::format("{}/{}", vpath, i);
        const json& st = steps[i];
        if (!st.is_object()) {
          c.Error(path, "expected a step {\"tool\": ..., \"args\": {...}}, found " + Describe(st));
          continue;
        }
        c.UnknownFields(st, path, {"tool", "args", "extract", "comment"});
        envs::ExpertStep step;
        if (c.String(st, path, "tool", true, &step.tool) && kind != nullptr &&
            std::find(kind_tools.begin(), kind_tools.end(), step.tool) == kind_tools.end())
          c.Error(path + "/tool",
                  fmt::format("the {} env has no tool \"{}\"", s->env_kind_, step.tool));
        if (st.contains("args")) {
          if (!st["args"].is_object())
            c.Error(path + "/args", "expected an object, found " + Describe(st["args"]));
          else
            step.arguments = st["args"];
        }
        if (st.contains("extract")) {
          if (!st["extract"].is_string()) {
            c.Error(path + "/extract",
                    "expected a regular expression, found " + Describe(st["extract"]));
          } else {
            step.extract = st["extract"].get<std::string>();
            // A templated regex is compiled when the expert plays the step.
            if (!HasPlaceholder(step.extract)) try {
                std::regex re(step.extract);
                if (re.mark_count() < 1)
                  c.Error(path + "/extract",
                          "expected a regular expression with a capture group, found " +
                              Describe(st["extract"]));
              } catch (const std::regex_error& err) {
                c.Error(path + "/extract",
                        std::string("invalid regular expression: ") + err.what());
              }
          }
        }
        // The expert acts only on what the agent can see: the instruction and observations.
        std::set<std::string> used;
        PlaceholderRoots(step.arguments, &used, /*full_paths=*/true);
        PlaceholderRoots(json(step.extract), &used, /*full_paths=*/true);
        for (const std::string& u : used) {
          const std::string root = u.substr(0, u.find('.'));
          if (root == "x" && step.extract.empty()) {
            c.Error(path + "/args", "the step uses x but has no \"extract\" regex");
            continue;
          }
          if (ExpertContextRoots().count(root)) continue;
          bool shown = false;
          for (const std::string& v : visible_paths)
            if (u == v || u.starts_with(v + ".")) shown = true;
          // Declared expert knowledge writes state; it never becomes a submitted answer.
          if (step.tool != "submit")
            for (const std::string& v : may_use)
              if (u == v || u.starts_with(v + ".")) shown = true;
          if (shown) continue;
          c.Error(path + "/args",
                  fmt::format("the expert uses '{}', which the agent is never shown: expert steps "
                              "may use what the instruction shows ({}) and what earlier steps "
                              "showed (obs.last, obs.steps.N, x)",
                              u, Join({visible_paths.begin(), visible_paths.end()})));
        }
        parsed.push_back(std::move(step));
      }
      if (!parsed.empty()) {
        const bool ends_with_submit = parsed.back().tool == "submit";
        if (!ends_with_submit && !end_on_goal)
          c.Error(vpath,
                  "the expert's last step must be submit (or the scenario must set end_on_goal)");
        s->expert_variants_.push_back(std::move(parsed));
      }
    }
  }
  if (!s->expert_variants_.empty())
    s->difficulty_ = static_cast<int>(s->expert_variants_[0].size());
  c.Number(doc, "", "difficulty", &s->difficulty_, 1, 100, true);

  // Rewards and budgets.
  if (const json* r = c.Field(doc, "", "reward", false)) {
    if (!r->is_object())
      c.Error("/reward", "expected an object of weights, found " + Describe(*r));
    else {
      c.UnknownFields(*r, "/reward", kRewardFields);
      for (const std::string& k : kRewardFields) {
        if (k == "tool_costs") continue;
        double d = 0;
        c.Number(*r, "/reward", k, &d, -1e6, 1e6, k.ends_with("_bytes"));
      }
      // Per-tool costs replace tool_call_cost for the tools they name ("search": 0.02).
      if (const json* tc = c.Field(*r, "/reward", "tool_costs", false)) {
        if (!tc->is_object()) {
          c.Error("/reward/tool_costs",
                  "expected an object of tool name -> cost >= 0, found " + Describe(*tc));
        } else {
          const json* tools = doc.contains("tools") ? &doc["tools"] : nullptr;
          for (const auto& [name, cost] : tc->items()) {
            const std::string path = "/reward/tool_costs/" + name;
            if (!cost.is_number() || cost.get<double>() < 0 || cost.get<double>() > 1e6)
              c.Error(path, "expected a cost between 0 and 1e6 (it is subtracted), found " +
                                Describe(cost));
            const bool allowed = tools != nullptr &&
                                 ((tools->is_object() && tools->contains(name)) ||
                                  (tools->is_array() &&
                                   std::find(tools->begin(), tools->end(), name) != tools->end()));
            if (!allowed)
              c.Error(path, fmt::format("the scenario does not allow a tool \"{}\"", name));
          }
        }
      }
      for (const char* k :
           {"tool_call_cost", "invalid_action", "repeated_call", "turn_budget", "overlong"}) {
        if (r->contains(k) && (*r)[k].is_number() && (*r)[k].get<double>() < 0)
          c.Error(std::string("/reward/") + k,
                  fmt::format("expected a penalty magnitude >= 0 (it is subtracted), found {}",
                              Describe((*r)[k])));
      }
    }
  }
  if (const json* b = c.Field(doc, "", "budgets", false)) {
    if (!b->is_object())
      c.Error("/budgets", "expected an object, found " + Describe(*b));
    else {
      c.UnknownFields(*b, "/budgets", kBudgetFields);
      int turns = 0;
      std::uint64_t bytes = 0;
      double secs = 0;
      c.Number(*b, "/budgets", "max_turns", &turns, 1, 1000, true);
      c.Number(*b, "/budgets", "max_action_bytes", &bytes, 64, 16 << 20, true);
      c.Number(*b, "/budgets", "max_episode_seconds", &secs, 0.1, 86400, false);
    }
  }
  if (!s->expert_variants_.empty() && doc.contains("budgets") && doc["budgets"].is_object() &&
      doc["budgets"].contains("max_turns") && doc["budgets"]["max_turns"].is_number_integer()) {
    size_t longest = 0;
    for (const auto& v : s->expert_variants_) longest = std::max(longest, v.size());
    if (static_cast<size_t>(doc["budgets"]["max_turns"].get<int>()) < longest)
      c.Error("/budgets/max_turns",
              fmt::format("the expert needs {} turns, more than max_turns = {}", longest,
                          doc["budgets"]["max_turns"].get<int>()));
  }

  // Seeds: {"train": [begin, end), "test": [begin, end)}, disjoint.
  s->train_ = {0, 10000};
  s->test_ = {10000, 12000};
  if (const json* seeds = c.Field(doc, "", "seeds", false)) {
    if (!seeds->is_object()) {
      c.Error("/seeds", "expected {\"train\": [begin, end], \"test\": [begin, end]}, found " +
                            Describe(*seeds));
    } else {
      c.UnknownFields(*seeds, "/seeds", {"train", "test"});
      for (const char* split : {"train", "test"}) {
        if (!seeds->contains(split)) continue;
        const json& r = (*seeds)[split];
        auto non_negative = [](const json& x) {
          return x.is_number_integer() && x.get<std::int64_t>() >= 0;
        };
        if (!r.is_array() || r.size() != 2 || !non_negative(r[0]) || !non_negative(r[1]) ||
            r[0].get<std::uint64_t>() >= r[1].get<std::uint64_t>()) {
          c.Error(std::string("/seeds/") + split,
                  "expected [begin, end] with integers 0 <= begin < end (end exclusive), found " +
                      Describe(r));
          continue;
        }
        (std::string(split) == "train" ? s->train_ : s->test_) = {r[0].get<std::uint64_t>(),
                                                                  r[1].get<std::uint64_t>()};
      }
      if (s->train_.begin < s->test_.end && s->test_.begin < s->train_.end)
        c.Error("/seeds",
                fmt::format("the train seeds [{}, {}) and test seeds [{}, {}) overlap",
                            s->train_.begin, s->train_.end, s->test_.begin, s->test_.end));
    }
  }

  // Workspace: {"files": {...}, "from_param": "name.path", "dir": "relative/dir"}.
  if (const json* w = c.Field(doc, "", "workspace", false)) {
    if (!w->is_object()) {
      c.Error("/workspace", "expected {\"files\": ..., \"from_param\": ..., \"dir\": ...}, found " +
                                Describe(*w));
    } else {
      c.UnknownFields(*w, "/workspace", {"files", "from_param", "dir"});
      if (w->contains("dir")) {
        const json& d = (*w)["dir"];
        if (!d.is_string()) {
          c.Error("/workspace/dir",
                  "expected a directory path relative to the scenario file, found " + Describe(d));
        } else {
          const auto full = std::filesystem::path(s->dir_) / d.get<std::string>();
          auto tree = sandbox::FileTree::FromDirectory(full.string());
          if (!tree.ok())
            c.Error("/workspace/dir",
                    "cannot read " + full.string() + ": " + tree.status().message());
          else
            s->static_files_ = std::move(tree).value();
        }
      }
      if (w->contains("files") && !(*w)["files"].is_object())
        c.Error("/workspace/files",
                "expected an object of path -> content, found " + Describe((*w)["files"]));
      if (w->contains("from_param") && !(*w)["from_param"].is_string())
        c.Error("/workspace/from_param",
                "expected a parameter path such as \"tree.files\", found " +
                    Describe((*w)["from_param"]));
    }
  }
  if (const json* o = c.Field(doc, "", "options", false); o != nullptr && !o->is_object())
    c.Error("/options", "expected an object, found " + Describe(*o));
  if (s->env_kind_ == "code" && !doc.contains("public_tests"))
    c.Error("/public_tests", "a code scenario needs public tests (may be an empty list)");

  if (c.count() > 0) return nullptr;

  // Instantiate the first train and test seeds: template and generator errors surface now.
  for (std::uint64_t seed : {s->train_.begin, s->test_.begin}) {
    auto task = s->MakeTask(seed);
    if (!task.ok()) {
      c.Error("", fmt::format("instance with seed {} fails: {}", seed, task.status().message()));
      return nullptr;
    }
    // The kind's own checks (a site, a corpus): errors in another file name that file.
    if (kind != nullptr && kind->validate) {
      auto problems = kind->validate(*task);
      for (auto& e : problems) {
        const bool own = e.file.empty();
        errors->push_back({own ? file : e.file, own ? "/options" + e.path : e.path,
                           own ? fmt::format("instance with seed {}: {}", seed, e.message)
                               : fmt::format("(used by {}, seed {}) {}", file, seed, e.message)});
      }
      if (!problems.empty()) return nullptr;
    }
  }
  return s;
}

StatusOr<json> Scenario::GenerateParams(std::uint64_t seed) const {
  json params = json::object();
  if (!doc_.contains("params")) return params;
  Rng rng = Rng::ForTask(id_, version_, seed, "params");
  const json& list = doc_["params"];
  for (size_t i = 0; i < list.size(); ++i) {
    const json& p = list[i];
    const std::string name = p["name"].get<std::string>();
    const std::string gen = p["gen"].get<std::string>();
    json args = json::object();
    for (const auto& [k, v] : p.items())
      if (k != "name" && k != "gen" && k != "comment") args[k] = v;
    auto rendered = RenderJson(args, params);
    if (!rendered.ok())
      return InvalidArgumentError("/params/{} ({}): {}", i, name, rendered.status().message());
    const GeneratorInfo* g = GeneratorRegistry::Default().Find(gen);
    if (g->wants_base_dir) (*rendered)["$base_dir"] = dir_;
    auto value = g->generate(*rendered, rng);
    if (!value.ok())
      return InvalidArgumentError("/params/{} ({}, generator {}): {}", i, name, gen,
                                  value.status().message());
    params[name] = std::move(value).value();
  }
  return params;
}

StatusOr<envs::Task> Scenario::MakeTask(std::uint64_t seed) const {
  envs::Task t;
  t.scenario_id = id_;
  t.scenario_version = version_;
  t.seed = seed;
  t.split = train_.contains(seed) ? "train" : test_.contains(seed) ? "test" : "";
  t.difficulty = difficulty_;
  t.env_kind = env_kind_;
  t.title = title_;
  t.requires_answer = requires_answer_;
  t.end_on_goal = doc_.value("end_on_goal", false);
  TG_ASSIGN_OR_RETURN(t.params, GenerateParams(seed));
  const json& p = t.params;
  auto render_string = [&](const char* field) -> StatusOr<std::string> {
    if (!doc_.contains(field)) return std::string();
    auto r = RenderString(doc_[field].get<std::string>(), p);
    if (!r.ok()) return InvalidArgumentError("/{}: {}", field, r.status().message());
    return std::move(r).value();
  };
  TG_ASSIGN_OR_RETURN(t.instruction, render_string("instruction"));
  TG_ASSIGN_OR_RETURN(t.rules, render_string("rules"));
  if (doc_.contains("action_format")) {
    TG_ASSIGN_OR_RETURN(t.action_format,
                        envs::ParseActionFormat(doc_["action_format"].get<std::string>()));
  }

  // Workspace: the directory, then generated files, then inline files (later ones win).
  t.workspace = static_files_;
  if (doc_.contains("workspace")) {
    const json& w = doc_["workspace"];
    if (w.contains("from_param")) {
      auto files = RenderTemplate("{{ " + w["from_param"].get<std::string>() + " }}", p);
      if (!files.ok())
        return InvalidArgumentError("/workspace/from_param: {}", files.status().message());
      TG_RETURN_IF_ERROR(AddFiles(*files, &t.workspace, "/workspace/from_param"));
    }
    if (w.contains("files")) {
      json files = json::object();
      for (const auto& [path, content] : w["files"].items()) {
        auto rp = RenderString(path, p);
        if (!rp.ok())
          return InvalidArgumentError("/workspace/files/{}: {}", path, rp.status().message());
        auto rc = RenderJson(content, p);
        if (!rc.ok())
          return InvalidArgumentError("/workspace/files/{}: {}", path, rc.status().message());
        files[*rp] = std::move(rc).value();
      }
      TG_RETURN_IF_ERROR(AddFiles(files, &t.workspace, "/workspace/files"));
    }
  }

  // Tools, in the file's order.
  const json& tools = doc_["tools"];
  if (tools.is_array()) {
    for (const auto& n : tools) t.tools.push_back(n.get<std::string>());
  } else {
    for (const auto& [name, lim] : tools.items()) {
      t.tools.push_back(name);
      TG_ASSIGN_OR_RETURN(t.tool_limits[name], ParseToolLimits(lim, "/tools/" + name));
    }
  }

  // Verifier and subgoals, rendered for this instance.
  const VerifierRegistry& vreg = VerifierRegistry::Default();
  {
    auto spec = RenderJson(doc_["verifier"], p);
    if (!spec.ok()) return InvalidArgumentError("/verifier: {}", spec.status().message());
    auto v = vreg.Build(*spec);
    if (!v.ok()) return InvalidArgumentError("/verifier: {}", v.status().message());
    t.verifier = std::move(v).value();
    if (t.end_on_goal && t.verifier->RunsCommands())
      return InvalidArgumentError(
          "/end_on_goal: the verifier runs commands, so it cannot be checked after every step; "
          "use file-state checks or drop end_on_goal");
  }
  if (doc_.contains("subgoals")) {
    const json& sg = doc_["subgoals"];
    for (size_t i = 0; i < sg.size(); ++i) {
      auto spec = RenderJson(sg[i]["check"], p);
      if (!spec.ok())
        return InvalidArgumentError("/subgoals/{}/check: {}", i, spec.status().message());
      auto v = vreg.Build(*spec);
      if (!v.ok()) return InvalidArgumentError("/subgoals/{}/check: {}", i, v.status().message());
      if ((*v)->RunsCommands())
        return InvalidArgumentError(
            "/subgoals/{}/check: subgoals are checked after every step and "
            "must not run commands",
            i);
      t.subgoals.push_back({sg[i]["name"].get<std::string>(), std::move(v).value()});
    }
  }

  // Rewards and budgets.
  if (doc_.contains("reward")) {
    const json& r = doc_["reward"];
    envs::RewardConfig& w = t.reward;
    w.success = r.value("success", w.success);
    w.failure = r.value("failure", w.failure);
    w.per_call_success = r.value("per_call_success", w.per_call_success);
    w.per_call_failure = r.value("per_call_failure", w.per_call_failure);
    w.format = r.value("format", w.format);
    w.tool_call_cost = r.value("tool_call_cost", w.tool_call_cost);
    if (r.contains("tool_costs"))
      for (const auto& [name, cost] : r["tool_costs"].items())
        w.tool_costs[name] = cost.get<double>();
    w.invalid_action = r.value("invalid_action", w.invalid_action);
    w.repeated_call = r.value("repeated_call", w.repeated_call);
    w.progress = r.value("progress", w.progress);
    w.progress_gamma = r.value("progress_gamma", w.progress_gamma);
    w.overlong = r.value("overlong", w.overlong);
    w.overlong_max_bytes = r.value("overlong_max_bytes", w.overlong_max_bytes);
    w.overlong_buffer_bytes = r.value("overlong_buffer_bytes", w.overlong_buffer_bytes);
    w.turn_budget = r.value("turn_budget", w.turn_budget);
  }
  if (doc_.contains("budgets")) {
    const json& b = doc_["budgets"];
    t.budgets.max_turns = b.value("max_turns", t.budgets.max_turns);
    t.budgets.max_action_bytes = b.value("max_action_bytes", t.budgets.max_action_bytes);
    t.budgets.max_episode_seconds = b.value("max_episode_seconds", t.budgets.max_episode_seconds);
  }

  // The expert: one variant per instance, chosen by seed.
  if (!expert_variants_.empty()) {
    Rng rng = Rng::ForTask(id_, version_, seed, "expert");
    t.expert = expert_variants_[rng.Index(expert_variants_.size())];
  }
  if (doc_.contains("public_tests")) {
    auto tests = RenderJson(doc_["public_tests"], p);
    if (!tests.ok()) return InvalidArgumentError("/public_tests: {}", tests.status().message());
    t.public_tests = std::move(tests).value();
    if (!t.public_tests.is_array())
      return InvalidArgumentError("/public_tests: expected a list of tests, found {}",
                                  Describe(t.public_tests));
    if (Status st = envs::ValidateTests(t.public_tests); !st.ok())
      return InvalidArgumentError("/public_tests: {}", st.message());
  }
  if (doc_.contains("options")) {
    auto options = RenderJson(doc_["options"], p);
    if (!options.ok()) return InvalidArgumentError("/options: {}", options.status().message());
    t.options = std::move(options).value();
  }
  t.base_dir = dir_;
  return t;
}

}  // namespace toolgym::scenarios
