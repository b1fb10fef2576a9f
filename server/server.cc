#include "server/server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

// clang-format off
// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility> (C++20).
#include <utility>
// clang-format on
#include <algorithm>
#include <atomic>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "envs/env.h"
#include "http/http_server.h"
#include "scenarios/registry.h"
#include "server/openapi_json.h"  // generated from docs/openapi.json (server/CMakeLists.txt)

namespace toolgym::server {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr int kMaxBatchSteps = 1024;
constexpr auto kKeepAliveTimeout = std::chrono::seconds(60);
constexpr auto kWriteTimeout = std::chrono::seconds(30);

// An answer: HTTP status and JSON body.
struct Reply {
  http::status status = http::status::ok;
  json body;
  std::string allow;  // for 405
  // Sent as is instead of `body` when set (the OpenAPI document, byte-for-byte).
  std::optional<std::string_view> raw;
};

Reply Error(http::status status, const std::string& code, const std::string& message,
            const std::string& path = "", std::string allow = "") {
  json e = {{"code", code}, {"message", message}};
  if (!path.empty()) e["path"] = path;
  return {status, {{"error", e}}, std::move(allow)};
}
Reply BadRequest(const std::string& message, const std::string& path) {
  return Error(http::status::bad_request, "bad_request", message, path);
}

// A Status from the env layer as an error answer.
Reply FromStatus(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
      return Error(http::status::bad_request, "bad_request", s.message());
    case StatusCode::kNotFound:
      return Error(http::status::not_found, "not_found", s.message());
    case StatusCode::kFailedPrecondition:
      return Error(http::status::conflict, "conflict", s.message());
    case StatusCode::kResourceExhausted:
      return Error(http::status::too_many_requests, "too_many_sessions", s.message());
    default:
      return Error(http::status::internal_server_error, "internal", s.ToString());
  }
}

// What a field of a request body must be.
enum class Type { kString, kUint, kObject, kArray };
struct Field {
  const char* name;
  Type type;
  bool required;
};

const char* TypeName(Type t) {
  switch (t) {
    case Type::kString:
      return "a string";
    case Type::kUint:
      return "a non-negative integer";
    case Type::kObject:
      return "an object";
    case Type::kArray:
      return "an array";
  }
  return "?";
}

bool HasType(const json& v, Type t) {
  switch (t) {
    case Type::kString:
      return v.is_string();
    case Type::kUint:
      return v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0);
    case Type::kObject:
      return v.is_object();
    case Type::kArray:
      return v.is_array();
  }
  return false;
}

// A key as a JSON pointer token (RFC 6901).
std::string PointerEscape(const std::string& key) {
  std::string out;
  for (char c : key) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

// Checks that `j` (at JSON pointer `path`) is an object with exactly the known fields of the
// right types; the first problem as a 400 naming its path.
std::optional<Reply> CheckObject(const json& j, const std::string& path,
                                 std::initializer_list<Field> fields) {
  if (!j.is_object())
    return BadRequest(fmt::format("expected an object, got {}", j.type_name()),
                      path.empty() ? "/" : path);
  for (const auto& [key, value] : j.items()) {
    const Field* f = nullptr;
    for (const auto& cand : fields)
      if (key == cand.name) f = &cand;
    const std::string at = path + "/" + PointerEscape(key);
    if (f == nullptr) {
      std::string known;
      for (const auto& cand : fields) known += (known.empty() ? "" : ", ") + std::string(cand.name);
      return BadRequest(fmt::format("unknown field \"{}\"; expected {}", key.substr(0, 100),
                                    known.empty() ? "no fields" : known),
                        at);
    }
    if (!HasType(value, f->type))
      return BadRequest(
          fmt::format("\"{}\" must be {}, got {}", key, TypeName(f->type), value.type_name()), at);
  }
  for (const auto& f : fields)
    if (f.required && !j.contains(f.name))
      return BadRequest(fmt::format("missing required field \"{}\"", f.name), path + "/" + f.name);
  return std::nullopt;
}

// The request body as JSON; an empty body is {}.
std::optional<Reply> ParseBody(const std::string& body, json* out) {
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) {
    *out = json::object();
    return std::nullopt;
  }
  try {
    *out = json::parse(body);
  } catch (const json::parse_error& e) {
    return BadRequest(fmt::format("malformed JSON at byte {}: {}", e.byte, e.what()), "/");
  }
  return std::nullopt;
}

}  // namespace

class Server::Impl {
 public:
  explicit Impl(ServerOptions options)
      : options_(std::move(options)),
        http_(
            {.host = options_.host,
             .port = options_.port,
             .max_body_bytes = options_.max_body_bytes,
             .worker_threads = options_.worker_threads,
             .read_timeout = kKeepAliveTimeout,
             .write_timeout = kWriteTimeout},
            [this](const toolgym::http::Request& req) { return Serve(req); },
            [this](http::status status, const std::string& message) {
              return Refusal(status, message);
            }) {}

  ~Impl() { Stop(); }

  Status Start();
  void Stop();
  int port() const { return http_.port(); }
  int num_sessions() const {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int>(sessions_.size());
  }
  const ServerOptions& options() const { return options_; }

 private:
  struct Session {
    std::string id;
    std::string scenario;
    std::unique_ptr<envs::Env> env;
    std::mutex busy;  // held for the duration of one operation; try_lock fails -> 409
    std::atomic<std::int64_t> last_used_ns{0};
    void Touch() { last_used_ns = Clock::now().time_since_epoch().count(); }
  };
  using SessionPtr = std::shared_ptr<Session>;

  // The handler of the HTTP layer (on a worker) and the wording of the layer's own answers.
  toolgym::http::Answer Serve(const toolgym::http::Request& req) { return ToResponse(Handle(req)); }
  toolgym::http::Response Refusal(http::status status, const std::string& message);
  // A Reply as the HTTP response; counts the error if it is one.
  toolgym::http::Response ToResponse(const Reply& r);
  void CountError(const std::string& code) {
    std::lock_guard<std::mutex> lock(metrics_mu_);
    ++errors_[code];
  }

  Reply Handle(const http::request<http::string_body>& req);
  Reply Health();
  Reply Metrics();
  Reply Scenarios();
  Reply CreateSession(const json& body);
  Reply ResetSession(const std::string& id, const json& body);
  Reply StepSession(const std::string& id, const json& body);
  Reply ForkSession(const std::string& id);
  Reply SessionTools(const std::string& id);
  Reply CloseSession(const std::string& id);
  Reply StepBatch(const json& body);
  // One step of a session (for /sessions/{id}/step and /step).
  Reply DoStep(const std::string& id, const std::string& action);

  SessionPtr Find(const std::string& id);
  // Reserves a slot for a new session; false when the limit is reached.
  bool ReserveSlot();
  void ReleaseSlot() { --reserved_; }
  std::string AddSession(std::string scenario, std::unique_ptr<envs::Env> env);
  std::string NewId();
  // The reaper thread: closes idle sessions every quarter of the idle timeout (at most every
  // second) until Stop().
  void ReapLoop();
  void Reap();

  ServerOptions options_;
  std::mutex stop_mu_;
  bool stopped_ = false;

  std::thread reaper_;
  std::mutex reap_mu_;
  std::condition_variable reap_cv_;
  bool reap_stop_ = false;  // guarded by reap_mu_

  mutable std::mutex mu_;  // sessions_, rng_
  std::map<std::string, SessionPtr> sessions_;
  std::atomic<int> reserved_{0};  // sessions_ plus creations in progress
  std::mt19937_64 rng_{std::random_device{}()};

  std::atomic<std::int64_t> steps_{0}, sessions_created_{0}, sessions_closed_{0},
      sessions_expired_{0};
  std::mutex metrics_mu_;
  std::map<std::string, std::int64_t> errors_;

  // Note: last, so that it is destroyed (and stopped) first: its handlers use everything above.
  toolgym::http::HttpServer http_;
};

toolgym::http::Response Server::Impl::ToResponse(const Reply& r) {
  const int status = static_cast<int>(r.status);
  if (status >= 400 && r.body.contains("error"))
    CountError(r.body["error"].value("code", "internal"));
  toolgym::http::Response res{r.status, 11};
  res.set(http::field::server, "toolgym");
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  if (status == 401) res.set(http::field::www_authenticate, "Bearer");
  if (!r.allow.empty()) res.set(http::field::allow, r.allow);
  res.body() =
      r.raw ? std::string(*r.raw) : r.body.dump(-1, ' ', false, json::error_handler_t::replace);
  return res;
}

toolgym::http::Response Server::Impl::Refusal(http::status status, const std::string& message) {
  const char* code = "internal";
  switch (status) {
    case http::status::bad_request:
      code = "bad_request";
      break;
    case http::status::payload_too_large:
      code = "payload_too_large";
      break;
    case http::status::service_unavailable:
      code = "unavailable";
      break;
    default:
      break;
  }
  return ToResponse(Error(status, code, message));
}

Status Server::Impl::Start() {
  if (!toolgym::http::IsLoopback(options_.host) && options_.token.empty())
    return InvalidArgumentError(
        "binding to {} (not loopback) requires a token: anyone who can reach the port could run "
        "commands in the sandboxes",
        options_.host);
  if (options_.max_sessions < 1)
    return InvalidArgumentError("max_sessions must be at least 1, got {}", options_.max_sessions);
  TG_RETURN_IF_ERROR(http_.Start());
  if (options_.idle_timeout_s > 0) reaper_ = std::thread([this] { ReapLoop(); });
  return OkStatus();
}

void Server::Impl::ReapLoop() {
  const double every = std::clamp(options_.idle_timeout_s / 4, 0.01, 1.0);
  const auto period = std::chrono::microseconds(static_cast<std::int64_t>(every * 1e6));
  std::unique_lock<std::mutex> lock(reap_mu_);
  while (!reap_cv_.wait_for(lock, period, [this] { return reap_stop_; })) {
    lock.unlock();
    Reap();
    lock.lock();
  }
}

void Server::Impl::Reap() {
  const auto now = Clock::now().time_since_epoch().count();
  const auto limit = static_cast<std::int64_t>(options_.idle_timeout_s * 1e9);
  std::vector<SessionPtr> expired;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      Session& s = *it->second;
      // A session in use is not idle; try_lock keeps a request from starting on it meanwhile.
      if (now - s.last_used_ns > limit && s.busy.try_lock()) {
        s.busy.unlock();
        expired.push_back(it->second);
        it = sessions_.erase(it);
        --reserved_;
      } else {
        ++it;
      }
    }
  }
  if (expired.empty()) return;
  sessions_expired_ += static_cast<std::int64_t>(expired.size());
  for (const auto& s : expired) spdlog::info("serve: session {} idle, closed", s->id);
  expired.clear();  // destroys the envs and their sandboxes, here on the reaper thread
}

void Server::Impl::Stop() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  {
    std::lock_guard<std::mutex> lock(reap_mu_);
    reap_stop_ = true;
  }
  reap_cv_.notify_all();
  if (reaper_.joinable()) reaper_.join();
  // In-flight env work finishes and is answered (new requests meanwhile get 503), then every
  // connection closes.
  http_.Stop();
  std::map<std::string, SessionPtr> sessions;
  {
    std::lock_guard<std::mutex> lock(mu_);
    sessions.swap(sessions_);
  }
  sessions_closed_ += static_cast<std::int64_t>(sessions.size());
  sessions.clear();  // destroys every env and its sandbox
  reserved_ = 0;
}

Reply Server::Impl::Handle(const http::request<http::string_body>& req) {
  if (!options_.token.empty()) {
    const auto it = req.find(http::field::authorization);
    if (it == req.end() || it->value() != "Bearer " + options_.token)
      return Error(
          http::status::unauthorized, "unauthorized",
          it == req.end() ? "missing \"Authorization: Bearer TOKEN\" header" : "wrong token");
  }
  std::string target(req.target());
  const std::string path = target.substr(0, target.find('?'));
  // Segments of the path. Empty ones are kept ("/sessions//step" names the session "", which
  // does not exist: 404, not the 405 of "/sessions/step"); only a trailing slash is dropped.
  std::vector<std::string> parts;
  if (!path.empty() && path[0] == '/') {
    const std::size_t end = path.size() > 1 && path.back() == '/' ? path.size() - 1 : path.size();
    for (std::size_t i = 1; i <= end;) {
      std::size_t j = path.find('/', i);
      if (j == std::string::npos || j > end) j = end;
      parts.push_back(path.substr(i, j - i));
      i = j + 1;
    }
    if (parts.size() == 1 && parts[0].empty()) parts.clear();  // "/"
  }
  const auto method = req.method();
  const bool get = method == http::verb::get || method == http::verb::head;
  const bool post = method == http::verb::post;
  auto not_allowed = [&](const char* allow) {
    return Error(http::status::method_not_allowed, "method_not_allowed",
                 fmt::format("{} {} is not served; allowed: {}", std::string(req.method_string()),
                             path.substr(0, 200), allow),
                 "", allow);
  };
  auto body = [&](json* out) { return ParseBody(req.body(), out); };
  json j;
  constexpr const char* kGet = "GET, HEAD";
  if (parts.size() == 1 && parts[0] == "health") return get ? Health() : not_allowed(kGet);
  if (parts.size() == 1 && parts[0] == "metrics") return get ? Metrics() : not_allowed(kGet);
  if (parts.size() == 1 && parts[0] == "scenarios") return get ? Scenarios() : not_allowed(kGet);
  if (parts.size() == 1 && parts[0] == "openapi.json") {
    if (!get) return not_allowed(kGet);
    Reply r;
    r.raw = std::string_view(kOpenApiJson, sizeof(kOpenApiJson));
    return r;
  }
  if (parts.size() == 1 && parts[0] == "sessions") {
    if (!post) return not_allowed("POST");
    if (auto e = body(&j)) return *e;
    return CreateSession(j);
  }
  if (parts.size() == 1 && parts[0] == "step") {
    if (!post) return not_allowed("POST");
    if (auto e = body(&j)) return *e;
    return StepBatch(j);
  }
  if (parts.size() == 2 && parts[0] == "sessions") {
    if (method != http::verb::delete_) return not_allowed("DELETE");
    return CloseSession(parts[1]);
  }
  if (parts.size() == 3 && parts[0] == "sessions") {
    const std::string& id = parts[1];
    const std::string& op = parts[2];
    if (op == "tools") return get ? SessionTools(id) : not_allowed(kGet);
    if (op == "reset" || op == "step" || op == "fork") {
      if (!post) return not_allowed("POST");
      if (auto e = body(&j)) return *e;
      if (op == "reset") return ResetSession(id, j);
      if (op == "step") return StepSession(id, j);
      if (auto e = CheckObject(j, "", {})) return *e;
      return ForkSession(id);
    }
  }
  return Error(http::status::not_found, "not_found",
               fmt::format("no endpoint {}; see GET /health, /metrics, /scenarios, /openapi.json, "
                           "POST /sessions, /sessions/ID/{{reset,step,fork}}, GET "
                           "/sessions/ID/tools, DELETE /sessions/ID, POST /step",
                           path.substr(0, 200)));
}

Reply Server::Impl::Health() {
  return {http::status::ok, {{"status", "ok"}, {"sessions", num_sessions()}}};
}

Reply Server::Impl::Metrics() {
  json errors = json::object();
  {
    std::lock_guard<std::mutex> lock(metrics_mu_);
    for (const auto& [code, n] : errors_) errors[code] = n;
  }
  return {http::status::ok,
          {{"sessions_open", num_sessions()},
           {"sessions_created", sessions_created_.load()},
           {"sessions_closed", sessions_closed_.load()},
           {"sessions_expired", sessions_expired_.load()},
           {"max_sessions", options_.max_sessions},
           {"requests", http_.requests()},
           {"steps", steps_.load()},
           {"errors", errors}}};
}

Reply Server::Impl::Scenarios() {
  const auto& reg = scenarios::ScenarioRegistry::Default();
  json out = json::array();
  for (const auto& id : reg.Ids()) {
    const scenarios::Scenario* s = reg.Find(id);
    out.push_back(
        {{"id", id}, {"title", s->title()}, {"env_kind", s->env_kind()}, {"tags", s->tags()}});
  }
  return {http::status::ok, {{"scenarios", out}}};
}

std::string Server::Impl::NewId() {
  std::lock_guard<std::mutex> lock(mu_);
  return fmt::format("{:016x}", rng_());
}

bool Server::Impl::ReserveSlot() {
  int n = reserved_.load();
  while (n < options_.max_sessions)
    if (reserved_.compare_exchange_weak(n, n + 1)) return true;
  return false;
}

std::string Server::Impl::AddSession(std::string scenario, std::unique_ptr<envs::Env> env) {
  auto s = std::make_shared<Session>();
  s->id = NewId();
  s->scenario = std::move(scenario);
  s->env = std::move(env);
  s->Touch();
  {
    std::lock_guard<std::mutex> lock(mu_);
    sessions_[s->id] = s;
  }
  ++sessions_created_;
  return s->id;
}

Server::Impl::SessionPtr Server::Impl::Find(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second;
}

Reply TooManySessions(int limit) {
  return Error(http::status::too_many_requests, "too_many_sessions",
               fmt::format("the server holds its limit of {} sessions; close one (DELETE "
                           "/sessions/ID) or wait for idle ones to expire",
                           limit));
}

Reply SessionNotFound(const std::string& id) {
  return Error(
      http::status::not_found, "not_found",
      fmt::format("no session '{}' (closed, expired, or never created)", id.substr(0, 100)));
}

Reply SessionBusy(const std::string& id) {
  return Error(http::status::conflict, "conflict",
               fmt::format("session '{}' is busy with another request; requests to one session "
                           "are not queued, send the next one after the answer",
                           id));
}

Reply Server::Impl::CreateSession(const json& body) {
  if (auto e = CheckObject(body, "",
                           {{"scenario", Type::kString, true},
                            {"seed", Type::kUint, false},
                            {"options", Type::kObject, false}}))
    return *e;
  const std::string scenario = body["scenario"];
  if (!ReserveSlot()) return TooManySessions(options_.max_sessions);
  auto env =
      scenarios::ScenarioRegistry::Default().Make(scenario, body.value("options", json::object()));
  if (!env.ok()) {
    ReleaseSlot();
    Reply r = FromStatus(env.status());
    if (env.status().code() == StatusCode::kInvalidArgument) r.body["error"]["path"] = "/options";
    if (env.status().code() == StatusCode::kNotFound) r.body["error"]["path"] = "/scenario";
    return r;
  }
  std::optional<std::uint64_t> seed;
  if (body.contains("seed")) seed = body["seed"].get<std::uint64_t>();
  auto reset = (*env)->Reset(seed);
  if (!reset.ok()) {
    ReleaseSlot();
    return FromStatus(reset.status());
  }
  json tools = (*env)->OpenAITools();
  const std::string id = AddSession(scenario, std::move(*env));
  return {http::status::created,
          {{"session_id", id},
           {"observation", reset->observation},
           {"info", reset->info},
           {"tools", tools}}};
}

Reply Server::Impl::ResetSession(const std::string& id, const json& body) {
  if (auto e =
          CheckObject(body, "", {{"seed", Type::kUint, false}, {"options", Type::kObject, false}}))
    return *e;
  // Checked here as well as by the env, so that the error names the bad value's JSON path.
  if (body.contains("options")) {
    if (auto e = CheckObject(body["options"], "/options", {{"split", Type::kString, false}}))
      return *e;
    if (const json& split = body["options"].value("split", json("train"));
        split != "train" && split != "test")
      return BadRequest(
          fmt::format("reset option \"split\" must be \"train\" or \"test\", got {}", split.dump()),
          "/options/split");
  }
  SessionPtr s = Find(id);
  if (!s) return SessionNotFound(id);
  std::unique_lock<std::mutex> lock(s->busy, std::try_to_lock);
  if (!lock) return SessionBusy(id);
  s->Touch();
  std::optional<std::uint64_t> seed;
  if (body.contains("seed")) seed = body["seed"].get<std::uint64_t>();
  auto r = s->env->Reset(seed, body.value("options", json::object()));
  s->Touch();
  if (!r.ok()) return FromStatus(r.status());
  return {http::status::ok,
          {{"observation", r->observation}, {"info", r->info}, {"tools", s->env->OpenAITools()}}};
}

Reply Server::Impl::DoStep(const std::string& id, const std::string& action) {
  SessionPtr s = Find(id);
  if (!s) return SessionNotFound(id);
  std::unique_lock<std::mutex> lock(s->busy, std::try_to_lock);
  if (!lock) return SessionBusy(id);
  s->Touch();
  auto r = s->env->Step(action);
  s->Touch();
  if (!r.ok()) return FromStatus(r.status());
  ++steps_;
  // The task's parameters (a generated site or corpus can be tens of KiB) come with create and
  // reset answers; repeating them in every step answer would be most of its bytes.
  r->info.task.params = nullptr;
  return {http::status::ok,
          {{"observation", r->observation},
           {"reward", r->reward},
           {"terminated", r->terminated},
           {"truncated", r->truncated},
           {"info", r->info}}};
}

Reply Server::Impl::StepSession(const std::string& id, const json& body) {
  if (auto e = CheckObject(body, "", {{"action", Type::kString, true}})) return *e;
  return DoStep(id, body["action"].get<std::string>());
}

Reply Server::Impl::ForkSession(const std::string& id) {
  SessionPtr s = Find(id);
  if (!s) return SessionNotFound(id);
  if (!ReserveSlot()) return TooManySessions(options_.max_sessions);
  std::unique_lock<std::mutex> lock(s->busy, std::try_to_lock);
  if (!lock) {
    ReleaseSlot();
    return SessionBusy(id);
  }
  s->Touch();
  auto fork = s->env->Fork();
  s->Touch();
  if (!fork.ok()) {
    ReleaseSlot();
    return FromStatus(fork.status());
  }
  json tools = (*fork)->OpenAITools();
  const std::string new_id = AddSession(s->scenario, std::move(*fork));
  return {http::status::created, {{"session_id", new_id}, {"tools", tools}}};
}

Reply Server::Impl::SessionTools(const std::string& id) {
  SessionPtr s = Find(id);
  if (!s) return SessionNotFound(id);
  std::unique_lock<std::mutex> lock(s->busy, std::try_to_lock);
  if (!lock) return SessionBusy(id);
  s->Touch();
  return {http::status::ok, {{"tools", s->env->OpenAITools()}}};
}

Reply Server::Impl::CloseSession(const std::string& id) {
  SessionPtr s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return SessionNotFound(id);
    // Closing a session mid-request would destroy its env under the worker using it.
    if (!it->second->busy.try_lock()) return SessionBusy(id);
    it->second->busy.unlock();
    s = it->second;
    sessions_.erase(it);
    --reserved_;
  }
  ++sessions_closed_;
  s.reset();  // destroys the env here, on a worker
  return {http::status::ok, {{"session_id", id}, {"closed", true}}};
}

Reply Server::Impl::StepBatch(const json& body) {
  if (auto e = CheckObject(body, "", {{"steps", Type::kArray, true}})) return *e;
  const json& steps = body["steps"];
  if (steps.size() > static_cast<std::size_t>(kMaxBatchSteps))
    return BadRequest(
        fmt::format("at most {} steps per batch, got {}", kMaxBatchSteps, steps.size()), "/steps");
  std::set<std::string> seen;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const std::string at = fmt::format("/steps/{}", i);
    if (auto e = CheckObject(
            steps[i], at, {{"session_id", Type::kString, true}, {"action", Type::kString, true}}))
      return *e;
    if (!seen.insert(steps[i]["session_id"].get<std::string>()).second)
      return BadRequest("a session may appear once per batch", at + "/session_id");
  }
  // The first step runs on this worker, the others each on a thread of their own: the steps block
  // in their sandboxes, and the worker pool may be busy with this very request.
  std::vector<std::future<Reply>> futures;
  futures.reserve(steps.size());
  for (std::size_t i = 1; i < steps.size(); ++i)
    futures.push_back(std::async(
        std::launch::async,
        [this, id = steps[i]["session_id"].get<std::string>(),
         action = steps[i]["action"].get<std::string>()] { return DoStep(id, action); }));
  json results = json::array();
  for (std::size_t i = 0; i < steps.size(); ++i) {
    Reply r = i == 0 ? DoStep(steps[0]["session_id"].get<std::string>(),
                              steps[0]["action"].get<std::string>())
                     : futures[i - 1].get();
    json item = std::move(r.body);
    item["session_id"] = steps[i]["session_id"];
    item["status"] = static_cast<int>(r.status);
    results.push_back(std::move(item));
  }
  return {http::status::ok, {{"results", results}}};
}

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Server::~Server() { Stop(); }
Status Server::Start() { return impl_->Start(); }
int Server::port() const { return impl_->port(); }
std::string Server::address() const {
  return fmt::format("http://{}:{}", impl_->options().host, impl_->port());
}
void Server::Stop() { impl_->Stop(); }
int Server::num_sessions() const { return impl_->num_sessions(); }

}  // namespace toolgym::server
