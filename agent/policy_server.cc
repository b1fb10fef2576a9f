#include "agent/policy_server.h"

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
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "agent/openai_client.h"
#include "envs/action_parser.h"
#include "http/http_server.h"
#include "scenarios/registry.h"

namespace toolgym::agent {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;

constexpr auto kKeepAliveTimeout = std::chrono::seconds(120);
constexpr auto kWriteTimeout = std::chrono::seconds(60);

struct Reply {
  http::status status = http::status::ok;
  json body;
  std::string allow;  // for 405
  // A text/event-stream body instead of `body`: its events ("data: ...\n\n"), one chunk each.
  std::optional<std::vector<std::string>> sse;
};

// {"error": {"message", "type", "param", "code"}}, as OpenAI's API answers.
Reply Error(http::status status, const std::string& message, const std::string& param = "",
            const std::string& code = "", std::string allow = "") {
  const char* type = status == http::status::unauthorized ? "authentication_error"
                     : static_cast<int>(status) >= 500    ? "server_error"
                                                          : "invalid_request_error";
  json e = {{"message", message},
            {"type", type},
            {"param", param.empty() ? json(nullptr) : json(param)},
            {"code", code.empty() ? json(nullptr) : json(code)}};
  return {status, {{"error", e}}, std::move(allow), std::nullopt};
}
Reply BadRequest(const std::string& message, const std::string& param,
                 const std::string& code = "invalid_value") {
  return Error(http::status::bad_request, message, param, code);
}

// The text of a content value: a string, null, or [{"type": "text", "text"}]; nullopt if none of
// these.
std::optional<std::string> ContentOf(const json& c) {
  if (c.is_null()) return std::string();
  if (c.is_string()) return c.get<std::string>();
  if (!c.is_array()) return std::nullopt;
  std::string out;
  for (const json& part : c) {
    if (!part.is_object() || !part.contains("text") || !part["text"].is_string())
      return std::nullopt;
    out += part["text"].get<std::string>();
  }
  return out;
}

// A validated request: what the policy needs.
struct ChatRequest {
  std::string model;
  json messages;
  std::vector<envs::ToolSpec> tools;
  bool stream = false;
  bool include_usage = false;
  std::uint64_t seed = 0;
  std::optional<std::string> scenario;
  std::uint64_t task_seed = 0;
  std::optional<envs::ActionFormat> action_format;
  // vLLM's extension: the last message is a partial assistant message to continue.
  bool continue_final = false;
  std::int64_t max_tokens = 0;  // 0: none
  std::vector<std::string> stop;
};

std::optional<Reply> Validate(const json& body, ChatRequest* out) {
  if (!body.is_object())
    return BadRequest(
        fmt::format("the request body must be a JSON object, got {}", body.type_name()), "");
  auto field = [&](const char* name) -> const json* {
    auto it = body.find(name);
    return it == body.end() ? nullptr : &*it;
  };
  const json* model = field("model");
  if (model == nullptr) return BadRequest("missing required field \"model\"", "model", "missing");
  if (!model->is_string())
    return BadRequest(fmt::format("\"model\" must be a string, got {}", model->type_name()),
                      "model");
  out->model = model->get<std::string>();
  const json* messages = field("messages");
  if (messages == nullptr)
    return BadRequest("missing required field \"messages\"", "messages", "missing");
  if (!messages->is_array() || messages->empty())
    return BadRequest(fmt::format("\"messages\" must be a non-empty array, got {}",
                                  messages->is_array() ? "an empty array" : messages->type_name()),
                      "messages");
  for (std::size_t i = 0; i < messages->size(); ++i) {
    const json& m = (*messages)[i];
    const std::string at = fmt::format("messages[{}]", i);
    if (!m.is_object())
      return BadRequest(fmt::format("{} must be an object, got {}", at, m.type_name()), at);
    if (!m.contains("role") || !m["role"].is_string())
      return BadRequest(fmt::format("{}.role must be a string (system, developer, user, assistant "
                                    "or tool)",
                                    at),
                        at + ".role");
    const std::string role = m["role"].get<std::string>();
    if (role != "system" && role != "developer" && role != "user" && role != "assistant" &&
        role != "tool")
      return BadRequest(fmt::format("{}.role \"{}\" is not one of system, developer, user, "
                                    "assistant, tool",
                                    at, role.substr(0, 50)),
                        at + ".role");
    if (m.contains("content") && !ContentOf(m["content"]))
      return BadRequest(
          fmt::format("{}.content must be a string, null or an array of text parts", at),
          at + ".content");
    if (role != "assistant" && !m.contains("content"))
      return BadRequest(fmt::format("{} ({}) has no \"content\"", at, role), at + ".content",
                        "missing");
    if (role == "tool" && (!m.contains("tool_call_id") || !m["tool_call_id"].is_string()))
      return BadRequest(fmt::format("{}.tool_call_id must be a string (the id of the call this "
                                    "answers)",
                                    at),
                        at + ".tool_call_id");
    if (m.contains("tool_calls")) {
      const json& tcs = m["tool_calls"];
      if (role != "assistant" || !tcs.is_array())
        return BadRequest(fmt::format("{}.tool_calls must be an array on an assistant message", at),
                          at + ".tool_calls");
      for (std::size_t k = 0; k < tcs.size(); ++k) {
        const std::string tat = fmt::format("{}.tool_calls[{}]", at, k);
        const json& tc = tcs[k];
        if (!tc.is_object() || !tc.contains("function") || !tc["function"].is_object())
          return BadRequest(fmt::format("{} must be an object with a \"function\" object", tat),
                            tat);
        const json& fn = tc["function"];
        if (!fn.contains("name") || !fn["name"].is_string())
          return BadRequest(fmt::format("{}.function.name must be a string", tat),
                            tat + ".function.name");
        if (fn.contains("arguments") && !fn["arguments"].is_string() &&
            !fn["arguments"].is_object())
          return BadRequest(fmt::format("{}.function.arguments must be a JSON string", tat),
                            tat + ".function.arguments");
        if (tc.contains("id") && !tc["id"].is_string())
          return BadRequest(fmt::format("{}.id must be a string", tat), tat + ".id");
      }
    }
  }
  out->messages = *messages;
  if (const json* tools = field("tools"); tools != nullptr && !tools->is_null()) {
    if (!tools->is_array())
      return BadRequest(fmt::format("\"tools\" must be an array, got {}", tools->type_name()),
                        "tools");
    for (std::size_t i = 0; i < tools->size(); ++i) {
      const json& t = (*tools)[i];
      const std::string at = fmt::format("tools[{}]", i);
      if (!t.is_object() || t.value("type", json()) != "function" || !t.contains("function") ||
          !t["function"].is_object())
        return BadRequest(
            fmt::format("{} must be {{\"type\": \"function\", \"function\": {{...}}}}", at), at);
      const json& fn = t["function"];
      if (!fn.contains("name") || !fn["name"].is_string())
        return BadRequest(fmt::format("{}.function.name must be a string", at),
                          at + ".function.name");
      if (fn.contains("parameters") && !fn["parameters"].is_object())
        return BadRequest(fmt::format("{}.function.parameters must be a JSON Schema object", at),
                          at + ".function.parameters");
      envs::ToolSpec spec;
      spec.name = fn["name"].get<std::string>();
      spec.description = fn.value("description", std::string());
      spec.parameters = fn.value("parameters", json::object());
      out->tools.push_back(std::move(spec));
    }
  }
  if (const json* stream = field("stream"); stream != nullptr && !stream->is_null()) {
    if (!stream->is_boolean())
      return BadRequest(fmt::format("\"stream\" must be a boolean, got {}", stream->type_name()),
                        "stream");
    out->stream = stream->get<bool>();
  }
  if (const json* so = field("stream_options"); so != nullptr && !so->is_null()) {
    if (!so->is_object())
      return BadRequest("\"stream_options\" must be an object", "stream_options");
    if (so->contains("include_usage") && !(*so)["include_usage"].is_boolean())
      return BadRequest("\"stream_options.include_usage\" must be a boolean",
                        "stream_options.include_usage");
    out->include_usage = so->value("include_usage", false);
  }
  if (const json* seed = field("seed"); seed != nullptr && !seed->is_null()) {
    if (!seed->is_number_integer())
      return BadRequest(fmt::format("\"seed\" must be an integer, got {}", seed->type_name()),
                        "seed");
    out->seed = seed->is_number_unsigned() ? seed->get<std::uint64_t>()
                                           : static_cast<std::uint64_t>(seed->get<std::int64_t>());
  }
  for (const char* name : {"temperature", "top_p"})
    if (const json* v = field(name); v != nullptr && !v->is_null() && !v->is_number())
      return BadRequest(fmt::format("\"{}\" must be a number, got {}", name, v->type_name()), name);
  for (const char* name : {"max_tokens", "max_completion_tokens"})
    if (const json* v = field(name); v != nullptr && !v->is_null() && !v->is_number_integer())
      return BadRequest(fmt::format("\"{}\" must be an integer, got {}", name, v->type_name()),
                        name);
  if (const json* n = field("n"); n != nullptr && !n->is_null() && *n != 1)
    return BadRequest("only \"n\": 1 is served (a policy gives one answer)", "n");
  if (const json* stop = field("stop");
      stop != nullptr && !stop->is_null() && !stop->is_string() && !stop->is_array())
    return BadRequest("\"stop\" must be a string or an array of strings", "stop");
  if (const json* stop = field("stop"); stop != nullptr && stop->is_string())
    out->stop.push_back(stop->get<std::string>());
  if (const json* stop = field("stop"); stop != nullptr && stop->is_array())
    for (const json& s : *stop) {
      if (!s.is_string())
        return BadRequest("\"stop\" must be a string or an array of strings", "stop");
      out->stop.push_back(s.get<std::string>());
    }
  for (const char* name : {"max_completion_tokens", "max_tokens"})
    if (const json* v = field(name); v != nullptr && v->is_number_integer()) {
      if (v->get<std::int64_t>() < 1)
        return BadRequest(fmt::format("\"{}\" must be at least 1", name), name);
      out->max_tokens = v->get<std::int64_t>();
    }
  for (const char* name : {"continue_final_message", "add_generation_prompt"})
    if (const json* v = field(name); v != nullptr && !v->is_null() && !v->is_boolean())
      return BadRequest(fmt::format("\"{}\" must be a boolean, got {}", name, v->type_name()),
                        name);
  if (const json* v = field("continue_final_message"); v != nullptr && v->is_boolean())
    out->continue_final = v->get<bool>();
  if (out->continue_final) {
    const json* agp = field("add_generation_prompt");
    if (agp != nullptr && agp->is_boolean() && agp->get<bool>())
      return BadRequest(
          "\"continue_final_message\" and \"add_generation_prompt\" cannot both be true",
          "add_generation_prompt");
    const json& last = (*messages).back();
    if (last.value("role", "") != "assistant" || last.contains("tool_calls"))
      return BadRequest(
          "\"continue_final_message\": the last message must be an assistant message with text "
          "content (the partial message to continue)",
          "messages");
  }
  if (const json* md = field("metadata"); md != nullptr && !md->is_null()) {
    if (!md->is_object())
      return BadRequest(fmt::format("\"metadata\" must be an object, got {}", md->type_name()),
                        "metadata");
    if (md->contains("toolgym_scenario")) {
      if (!(*md)["toolgym_scenario"].is_string())
        return BadRequest("metadata.toolgym_scenario must be a string (a scenario id)",
                          "metadata.toolgym_scenario");
      out->scenario = (*md)["toolgym_scenario"].get<std::string>();
    }
    if (md->contains("toolgym_seed")) {
      const json& s = (*md)["toolgym_seed"];
      bool ok = s.is_number_unsigned();
      if (ok) out->task_seed = s.get<std::uint64_t>();
      if (s.is_string()) {
        const std::string text = s.get<std::string>();
        ok = !text.empty() && text.size() <= 20 &&
             text.find_first_not_of("0123456789") == std::string::npos;
        if (ok) {
          try {
            out->task_seed = std::stoull(text);
          } catch (const std::exception&) {
            ok = false;
          }
        }
      }
      if (!ok)
        return BadRequest(
            fmt::format("metadata.toolgym_seed must be a non-negative integer as a string (e.g. "
                        "\"7\"), got {}",
                        s.dump().substr(0, 50)),
            "metadata.toolgym_seed");
    }
    if (md->contains("toolgym_action_format")) {
      const json& f = (*md)["toolgym_action_format"];
      auto parsed = f.is_string()
                        ? envs::ParseActionFormat(f.get<std::string>())
                        : StatusOr<envs::ActionFormat>(InvalidArgumentError("not a string"));
      if (!parsed.ok())
        return BadRequest(
            "metadata.toolgym_action_format must be one of hermes, openai, compact, auto",
            "metadata.toolgym_action_format");
      out->action_format = *parsed;
    }
  }
  return std::nullopt;
}

// A user message in the env's text rendering of an observation (envs::Observation::Text(), what
// a text-mode client sends): its "[tool NAME]" / "[user]" blocks as messages again. Text without
// such headers is one user message.
std::vector<envs::Message> FromObservationText(const std::string& text) {
  std::vector<envs::Message> out;
  bool started = false;  // the last message has a line of content already
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.size() > 7 && line.rfind("[tool ", 0) == 0 && line.back() == ']') {
      out.push_back({"tool", "", line.substr(6, line.size() - 7), ""});
      started = false;
    } else if (line == "[user]" || line == "[system]") {
      out.push_back({line.substr(1, line.size() - 2), "", "", ""});
      started = false;
    } else {
      if (out.empty()) out.push_back({"user", "", "", ""});
      if (started) out.back().content += "\n";
      out.back().content += line;
      started = true;
    }
  }
  return out;
}

// The request's messages as the env's conversation: assistant turns become action text in the
// task's format (their tool calls rendered), tool results keep their call ids.
std::vector<envs::Message> ToConversation(const ChatRequest& r, envs::ActionFormat format) {
  std::vector<envs::Message> conv;
  std::map<std::string, std::string> call_names;  // tool_call_id -> function name
  for (const json& m : r.messages) {
    const std::string role = m["role"].get<std::string>();
    const std::string content = ContentOf(m.value("content", json())).value_or("");
    if (role == "assistant") {
      if (m.contains("tool_calls"))
        for (const json& tc : m["tool_calls"])
          if (tc.contains("id") && tc["id"].is_string())
            call_names[tc["id"].get<std::string>()] = tc["function"]["name"].get<std::string>();
      const ChatMode mode =
          m.contains("tool_calls") && !m["tool_calls"].empty() ? ChatMode::kTools : ChatMode::kText;
      conv.push_back({"assistant", ActionFromMessage(m, mode, format, r.tools), "", ""});
    } else if (role == "tool") {
      const std::string id = m["tool_call_id"].get<std::string>();
      const auto it = call_names.find(id);
      conv.push_back({"tool", content, it == call_names.end() ? "" : it->second, id});
    } else if (role == "user" && r.tools.empty() && !conv.empty() &&
               conv.back().role == "assistant") {
      // A text-mode client's observation: tool results in the env's text rendering.
      for (envs::Message& o : FromObservationText(content)) conv.push_back(std::move(o));
    } else {
      conv.push_back({role == "developer" ? "system" : role, content, "", ""});
    }
  }
  return conv;
}

}  // namespace

class PolicyServer::Impl {
 public:
  Impl(PolicyFactory factory, std::string model, bool needs_task, PolicyServerOptions options)
      : factory_(std::move(factory)),
        model_(std::move(model)),
        needs_task_(needs_task),
        options_(std::move(options)),
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
  void Stop() { http_.Stop(); }
  Reply Handle(const http::request<http::string_body>& req);
  Reply Complete(const json& body);
  // The tools an env of `scenario` shows for `task` (a text-mode client sends none, but the
  // policies draw from them): the kind's tools, learnt once per scenario from a reset env, that
  // the task allows.
  StatusOr<std::vector<envs::ToolSpec>> TaskTools(const std::string& scenario,
                                                  const envs::Task& task);

  PolicyFactory factory_;
  std::string model_;
  bool needs_task_;
  PolicyServerOptions options_;
  std::atomic<std::int64_t> completions_{0};
  std::mutex tools_mu_;
  std::map<std::string, std::vector<envs::ToolSpec>> tools_;  // by scenario
  // Note: last, so that it is destroyed (and stopped) first: its handlers use everything above.
  toolgym::http::HttpServer http_;

 private:
  // The handler of the HTTP layer (on a worker) and the wording of the layer's own answers.
  toolgym::http::Answer Serve(const toolgym::http::Request& req) { return ToAnswer(Handle(req)); }
  toolgym::http::Response Refusal(http::status status, const std::string& message) {
    const char* code = status == http::status::payload_too_large     ? "payload_too_large"
                       : status == http::status::service_unavailable ? "unavailable"
                       : status == http::status::bad_request         ? ""
                                                                     : "internal";
    return ToAnswer(Error(status, message, "", code)).response;
  }
  // A Reply as the HTTP answer: JSON, or server-sent events streamed one event per chunk.
  toolgym::http::Answer ToAnswer(Reply r);
};

toolgym::http::Answer PolicyServer::Impl::ToAnswer(Reply r) {
  toolgym::http::Response res{r.status, 11};
  res.set(http::field::server, "toolgym-serve-policy");
  res.set(http::field::cache_control, "no-store");
  if (r.status == http::status::unauthorized) res.set(http::field::www_authenticate, "Bearer");
  if (!r.allow.empty()) res.set(http::field::allow, r.allow);
  if (r.sse) {
    res.set(http::field::content_type, "text/event-stream");
    auto events = std::make_shared<std::vector<std::string>>(std::move(*r.sse));
    return {std::move(res),
            [events, next = std::size_t{0}]() mutable -> std::optional<std::string> {
              if (next == events->size()) return std::nullopt;
              return std::move((*events)[next++]);
            }};
  }
  res.set(http::field::content_type, "application/json");
  res.body() = r.body.dump(-1, ' ', false, json::error_handler_t::replace);
  return res;
}

Status PolicyServer::Impl::Start() {
  if (!toolgym::http::IsLoopback(options_.host) && options_.token.empty())
    return InvalidArgumentError(
        "binding to {} (not loopback) requires a token (--token): anyone who can reach the port "
        "could use the policy",
        options_.host);
  return http_.Start();
}

Reply PolicyServer::Impl::Handle(const http::request<http::string_body>& req) {
  if (!options_.token.empty()) {
    const auto it = req.find(http::field::authorization);
    if (it == req.end() || it->value() != "Bearer " + options_.token)
      return Error(http::status::unauthorized,
                   it == req.end() ? "missing \"Authorization: Bearer TOKEN\" header"
                                   : "wrong API key (the server's --token)",
                   "", "invalid_api_key");
  }
  std::string target(req.target());
  std::string path = target.substr(0, target.find('?'));
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  const bool get = req.method() == http::verb::get;
  const bool post = req.method() == http::verb::post;
  auto not_allowed = [&](const char* allow) {
    return Error(http::status::method_not_allowed,
                 fmt::format("{} {} is not served; allowed: {}", std::string(req.method_string()),
                             path.substr(0, 200), allow),
                 "", "method_not_allowed", allow);
  };
  json model = {{"id", model_}, {"object", "model"}, {"created", 0}, {"owned_by", "toolgym"}};
  if (path == "/v1/models") {
    if (!get) return not_allowed("GET");
    return {http::status::ok, {{"object", "list"}, {"data", json::array({model})}}, "", {}};
  }
  if (path.rfind("/v1/models/", 0) == 0) {
    if (!get) return not_allowed("GET");
    const std::string id = path.substr(11);
    if (id != model_)
      return Error(http::status::not_found,
                   fmt::format("The model `{}` does not exist; this server serves `{}`",
                               id.substr(0, 100), model_),
                   "model", "model_not_found");
    return {http::status::ok, model, "", {}};
  }
  if (path == "/v1/chat/completions") {
    if (!post) return not_allowed("POST");
    json body = json::parse(req.body(), nullptr, false);
    if (body.is_discarded())
      return BadRequest("the request body is not valid JSON", "", "invalid_json");
    return Complete(body);
  }
  return Error(http::status::not_found,
               fmt::format("Unknown request URL: {} {}; served: GET /v1/models, POST "
                           "/v1/chat/completions",
                           std::string(req.method_string()), path.substr(0, 200)),
               "", "unknown_url");
}

Reply PolicyServer::Impl::Complete(const json& body) {
  ChatRequest r;
  if (auto e = Validate(body, &r)) return *e;
  if (r.model != model_)
    return Error(http::status::not_found,
                 fmt::format("The model `{}` does not exist; this server serves `{}`",
                             r.model.substr(0, 100), model_),
                 "model", "model_not_found");
  // The task: from the registry when the metadata names it; else a blank one for policies that
  // need none.
  envs::Task task;
  task.action_format = envs::ActionFormat::kHermes;
  if (r.scenario) {
    auto scenario = scenarios::ScenarioRegistry::Default().Get(*r.scenario);
    if (scenario == nullptr)
      return BadRequest(fmt::format("metadata.toolgym_scenario: no scenario \"{}\" (see toolgym "
                                    "list)",
                                    r.scenario->substr(0, 100)),
                        "metadata.toolgym_scenario", "scenario_not_found");
    auto made = scenario->MakeTask(r.task_seed);
    if (!made.ok())
      return BadRequest(fmt::format("metadata: cannot make {} seed {}: {}", *r.scenario,
                                    r.task_seed, made.status().message()),
                        "metadata.toolgym_seed");
    task = std::move(made).value();
  } else if (needs_task_) {
    return BadRequest(
        fmt::format("the {} policy needs the task: send \"metadata\": {{\"toolgym_scenario\": "
                    "SCENARIO_ID, \"toolgym_seed\": \"SEED\"}} (OpenAIOptions::send_metadata)",
                    model_),
        "metadata", "missing_metadata");
  }
  if (r.action_format) task.action_format = *r.action_format;
  if (!needs_task_ && r.tools.empty())
    return BadRequest(
        fmt::format("the {} policy draws its calls from the tools: send \"tools\"", model_),
        "tools", "missing");

  std::vector<envs::Message> conv = ToConversation(r, task.action_format);
  std::string partial;  // the message to continue
  if (r.continue_final) {
    partial = ContentOf(r.messages.back().value("content", json())).value_or("");
    if (conv.empty() || conv.back().role != "assistant")
      return BadRequest("\"continue_final_message\": no assistant message to continue", "messages");
    conv.pop_back();
  }
  auto policy = factory_(r.seed);
  if (!policy.ok())
    return Error(http::status::internal_server_error, policy.status().ToString(), "", "internal");
  std::vector<envs::ToolSpec> tools = r.tools;
  if (tools.empty() && r.scenario) {
    auto t = TaskTools(*r.scenario, task);
    if (!t.ok())
      return Error(http::status::internal_server_error, t.status().ToString(), "", "internal");
    tools = std::move(t).value();
  }
  if (Status s = (*policy)->BeginEpisode(task, tools, r.task_seed); !s.ok())
    return BadRequest(fmt::format("{}: {}", model_, s.message()), "metadata", "policy_error");
  // The policy's state: replay every earlier assistant turn on the conversation before it.
  int turn = 0;
  for (std::size_t i = 0; i < conv.size(); ++i) {
    if (conv[i].role != "assistant") continue;
    std::vector<envs::Message> prefix(conv.begin(), conv.begin() + static_cast<std::ptrdiff_t>(i));
    // A policy that continues messages replays the turn from its recorded thinking, which a
    // strategy may have cut or extended: its answer then follows from what was thought.
    StatusOr<std::string> replayed = std::string();
    const std::size_t close = conv[i].content.find("</think>");
    if ((*policy)->can_continue() && close != std::string::npos) {
      auto c = (*policy)->Continue(prefix, {conv[i].content.substr(0, close + 8) + "\n", 0, {}});
      replayed = c.ok() ? StatusOr<std::string>(c->text) : StatusOr<std::string>(c.status());
    } else {
      replayed = (*policy)->Act(prefix);
    }
    if (!replayed.ok())
      return BadRequest(fmt::format("{} could not replay the conversation's assistant turn {}: {}",
                                    model_, turn, replayed.status().message()),
                        "messages", "policy_error");
    ++turn;
  }
  json message;
  std::string finish_reason = "stop";
  std::int64_t completion_tokens = 0;
  // A policy that generates text (the thinker) honours max_tokens and stop, continuing the
  // partial message when there is one.
  const bool generate =
      r.continue_final || ((*policy)->can_continue() && (r.max_tokens > 0 || !r.stop.empty()));
  if (generate) {
    // The continuation of the partial message, within max_tokens and before any stop sequence.
    if (!(*policy)->can_continue())
      return BadRequest(fmt::format("the {} policy cannot continue a partial message "
                                    "(continue_final_message); the thinker can",
                                    model_),
                        "continue_final_message", "unsupported");
    auto c = (*policy)->Continue(conv, {partial, r.max_tokens, r.stop});
    if (!c.ok())
      return BadRequest(fmt::format("{}: {}", model_, c.status().message()), "messages",
                        "policy_error");
    message = {{"role", "assistant"}, {"content", c->text}};
    finish_reason = c->finish_reason;
    completion_tokens = c->tokens_reported ? c->tokens : CountWords(c->text);
  }
  auto action = generate ? StatusOr<std::string>(std::string()) : (*policy)->Act(conv);
  if (!action.ok())
    return BadRequest(fmt::format("{}: {}", model_, action.status().message()), "messages",
                      "policy_error");
  if (!generate) message = {{"role", "assistant"}, {"content", *action}};
  if (!r.tools.empty() && !generate) {
    int calls_before = 0;
    for (const json& m : r.messages)
      if (m.contains("tool_calls")) calls_before += static_cast<int>(m["tool_calls"].size());
    const envs::ActionParser parser(task.action_format, r.tools);
    const envs::ParsedAction parsed = parser.Parse(*action, calls_before);
    if (parsed.well_formed() && !parsed.calls.empty()) {
      std::string text = parsed.content;
      if (parsed.think)
        text = "<think>" + *parsed.think + "</think>" + (text.empty() ? "" : "\n") + text;
      if (parsed.answer)
        text += (text.empty() ? "" : "\n") + ("<answer>" + *parsed.answer + "</answer>");
      message["content"] = text.empty() ? json(nullptr) : json(text);
      json calls = json::array();
      for (const envs::ToolCall& c : parsed.calls) {
        const std::string args = c.arguments.dump();
        completion_tokens += CountWords(c.name) + CountWords(args);
        calls.push_back({{"id", c.id},
                         {"type", "function"},
                         {"function", {{"name", c.name}, {"arguments", args}}}});
      }
      message["tool_calls"] = std::move(calls);
      finish_reason = "tool_calls";
    }
  }
  if (message["content"].is_string() && !generate)
    completion_tokens += CountWords(message["content"].get<std::string>());
  std::int64_t prompt_tokens = 0;
  for (const json& m : r.messages) {
    prompt_tokens += CountWords(ContentOf(m.value("content", json())).value_or(""));
    if (m.contains("tool_calls"))
      for (const json& tc : m["tool_calls"]) {
        prompt_tokens += CountWords(tc["function"]["name"].get<std::string>());
        const json& a = tc["function"].value("arguments", json(""));
        prompt_tokens += CountWords(a.is_string() ? a.get<std::string>() : a.dump());
      }
  }
  const json usage = {{"prompt_tokens", prompt_tokens},
                      {"completion_tokens", completion_tokens},
                      {"total_tokens", prompt_tokens + completion_tokens}};
  const std::string id = fmt::format("chatcmpl-toolgym-{}", ++completions_);
  const std::int64_t created = std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count();
  if (!r.stream) {
    return {http::status::ok,
            {{"id", id},
             {"object", "chat.completion"},
             {"created", created},
             {"model", model_},
             {"system_fingerprint", "toolgym"},
             {"choices", json::array({{{"index", 0},
                                       {"message", message},
                                       {"logprobs", nullptr},
                                       {"finish_reason", finish_reason}}})},
             {"usage", usage}},
            "",
            {}};
  }
  // Server-sent events, each sent as one HTTP chunk as soon as the client took the one before:
  // the role, the content, one chunk per tool call, the finish reason, then usage if asked for.
  std::vector<std::string> sse;
  auto chunk = [&](json choices, json usage_value) {
    json c = {
        {"id", id},        {"object", "chat.completion.chunk"}, {"created", created},
        {"model", model_}, {"system_fingerprint", "toolgym"},   {"choices", std::move(choices)}};
    if (r.include_usage) c["usage"] = std::move(usage_value);
    sse.push_back("data: " + c.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n");
  };
  auto delta = [&](json d, json finish) {
    return json::array({{{"index", 0},
                         {"delta", std::move(d)},
                         {"logprobs", nullptr},
                         {"finish_reason", finish}}});
  };
  chunk(delta({{"role", "assistant"}, {"content", ""}}, nullptr), nullptr);
  if (message["content"].is_string() && !message["content"].get<std::string>().empty())
    chunk(delta({{"content", message["content"]}}, nullptr), nullptr);
  if (message.contains("tool_calls"))
    for (std::size_t k = 0; k < message["tool_calls"].size(); ++k) {
      json tc = message["tool_calls"][k];
      tc["index"] = k;
      chunk(delta({{"tool_calls", json::array({tc})}}, nullptr), nullptr);
    }
  chunk(delta(json::object(), finish_reason), nullptr);
  if (r.include_usage) chunk(json::array(), usage);
  sse.push_back("data: [DONE]\n\n");
  Reply out;
  out.sse = std::move(sse);
  return out;
}

StatusOr<std::vector<envs::ToolSpec>> PolicyServer::Impl::TaskTools(const std::string& scenario,
                                                                    const envs::Task& task) {
  std::vector<envs::ToolSpec> all;
  {
    std::lock_guard<std::mutex> lock(tools_mu_);
    if (auto it = tools_.find(scenario); it != tools_.end()) all = it->second;
  }
  if (all.empty()) {
    TG_ASSIGN_OR_RETURN(std::unique_ptr<envs::Env> env,
                        scenarios::ScenarioRegistry::Default().Make(scenario));
    TG_RETURN_IF_ERROR(env->Reset(task.seed).status());
    all = env->Tools();
    std::lock_guard<std::mutex> lock(tools_mu_);
    tools_[scenario] = all;
  }
  std::vector<envs::ToolSpec> out;
  for (const envs::ToolSpec& t : all)
    if (task.tools.empty() ||
        std::find(task.tools.begin(), task.tools.end(), t.name) != task.tools.end() ||
        t.name == "submit")
      out.push_back(t);
  return out;
}

StatusOr<std::unique_ptr<PolicyServer>> PolicyServer::FromSpec(const std::string& spec,
                                                               PolicyServerOptions options) {
  TG_ASSIGN_OR_RETURN(PolicyFactory factory, PolicyFactoryFromSpec(spec));
  const std::string kind = spec.substr(0, spec.find(':'));
  return std::make_unique<PolicyServer>(std::move(factory), kind, kind != "random",
                                        std::move(options));
}

PolicyServer::PolicyServer(PolicyFactory factory, std::string model, bool needs_task,
                           PolicyServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(factory), std::move(model), needs_task,
                                   std::move(options))) {}
PolicyServer::~PolicyServer() { Stop(); }
Status PolicyServer::Start() { return impl_->Start(); }
void PolicyServer::Stop() { impl_->Stop(); }
int PolicyServer::port() const { return impl_->http_.port(); }
std::string PolicyServer::address() const {
  return fmt::format("http://{}:{}", impl_->options_.host, impl_->http_.port());
}
std::string PolicyServer::base_url() const { return address() + "/v1"; }
const std::string& PolicyServer::model() const { return impl_->model_; }

}  // namespace toolgym::agent
