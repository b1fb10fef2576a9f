#include "envs/registry.h"

#include <map>
#include <mutex>

#include "envs/code_env.h"
#include "envs/search_env.h"
#include "envs/shell_env.h"
#include "envs/web_env.h"

namespace toolgym::envs {

namespace {

struct Kinds {
  std::mutex mu;
  std::map<std::string, EnvKind> kinds;
};

Kinds& Registry() {
  static Kinds* k = [] {
    auto* r = new Kinds;
    r->kinds["shell"] = {"shell", "a persistent bash in a sandbox",
                         [](std::shared_ptr<const TaskSource> s, EnvOptions o) {
                           return std::unique_ptr<Env>(new ShellEnv(std::move(s), std::move(o)));
                         },
                         [](bool a) { return ShellEnv::AllTools(a); }};
    r->kinds["code"] = {"code", "a persistent Python interpreter and hidden tests",
                        [](std::shared_ptr<const TaskSource> s, EnvOptions o) {
                          return std::unique_ptr<Env>(new CodeEnv(std::move(s), std::move(o)));
                        },
                        [](bool) { return CodeEnv::AllTools(); }};
    r->kinds["search"] = {"search", "a question over a document collection, searched with BM25",
                          [](std::shared_ptr<const TaskSource> s, EnvOptions o) {
                            return std::unique_ptr<Env>(new SearchEnv(std::move(s), std::move(o)));
                          },
                          [](bool a) { return SearchEnv::AllTools(a); },
                          [](const Task& t) { return SearchEnv::Validate(t); }};
    r->kinds["web"] = {"web", "a simulated website browsed as accessibility-tree text",
                       [](std::shared_ptr<const TaskSource> s, EnvOptions o) {
                         return std::unique_ptr<Env>(new WebEnv(std::move(s), std::move(o)));
                       },
                       [](bool a) { return WebEnv::AllTools(a); },
                       [](const Task& t) { return WebEnv::Validate(t); }};
    return r;
  }();
  return *k;
}

}  // namespace

Status RegisterEnvKind(EnvKind kind) {
  Kinds& r = Registry();
  std::lock_guard<std::mutex> lock(r.mu);
  if (r.kinds.count(kind.name))
    return InvalidArgumentError("env kind '{}' is already registered", kind.name);
  r.kinds[kind.name] = std::move(kind);
  return OkStatus();
}

const EnvKind* FindEnvKind(const std::string& name) {
  Kinds& r = Registry();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.kinds.find(name);
  return it == r.kinds.end() ? nullptr : &it->second;
}

std::vector<std::string> EnvKindNames() {
  Kinds& r = Registry();
  std::lock_guard<std::mutex> lock(r.mu);
  std::vector<std::string> out;
  for (const auto& [k, v] : r.kinds) out.push_back(k);
  return out;
}

StatusOr<std::unique_ptr<Env>> MakeEnv(std::shared_ptr<const TaskSource> source,
                                       const EnvOptions& options) {
  const std::string kind = source->env_kind();
  const EnvKind* k = FindEnvKind(kind);
  if (k == nullptr) {
    std::string names;
    for (const auto& n : EnvKindNames()) names += (names.empty() ? "" : ", ") + n;
    return NotFoundError("unknown env kind '{}'; known kinds: {}", kind, names);
  }
  return k->make(std::move(source), options);
}

}  // namespace toolgym::envs
