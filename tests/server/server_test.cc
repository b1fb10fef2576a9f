// The HTTP environment server end to end: a real server on 127.0.0.1:0 in this process and the
// real client. Shell and web scenarios are played to success by the expert over HTTP; every error
// class is provoked, each followed by a check that the server still serves.
#include "server/server.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "agent/policy.h"
#include "envs/registry.h"
#include "scenarios/registry.h"
#include "server/client.h"

namespace toolgym::server {
namespace {

using nlohmann::json;

std::string Bash(const std::string& command) {
  return "<tool_call>\n" + json{{"name", "bash"}, {"arguments", {{"command", command}}}}.dump() +
         "\n</tool_call>";
}

std::vector<envs::Message> Messages(const json& observation) {
  std::vector<envs::Message> out;
  for (const auto& m : observation)
    out.push_back({m.value("role", ""), m.value("content", ""), m.value("name", ""),
                   m.value("tool_call_id", "")});
  return out;
}

class ServerTest : public ::testing::Test {
 protected:
  void StartServer(ServerOptions options = {}) {
    server_ = std::make_unique<Server>(options);
    ASSERT_TRUE(server_->Start().ok());
    ASSERT_GT(server_->port(), 0);
    client_ = MakeClient(options.token);
  }
  std::unique_ptr<Client> MakeClient(const std::string& token = "") {
    return std::make_unique<Client>(ClientOptions{"127.0.0.1", server_->port(), token});
  }
  // The server answers and its error answer matches; then it still serves.
  void ExpectError(const HttpResponse& r, int status, const std::string& code,
                   const std::string& path = "") {
    EXPECT_EQ(r.status, status) << r.raw;
    ASSERT_TRUE(r.body.is_object()) << r.raw;
    ASSERT_TRUE(r.body.contains("error")) << r.raw;
    EXPECT_EQ(r.body["error"]["code"], code) << r.raw;
    EXPECT_FALSE(r.body["error"].value("message", "").empty()) << r.raw;
    if (!path.empty()) {
      EXPECT_EQ(r.body["error"].value("path", ""), path) << r.raw;
    }
    auto h = client_->Health();
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    EXPECT_EQ((*h)["status"], "ok");
  }
  HttpResponse Raw(const std::string& method, const std::string& target,
                   const std::string& body = "") {
    auto r = client_->Request(method, target, body);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : HttpResponse{};
  }

  // Plays the scenario's task of `seed` with the expert over HTTP until the episode ends;
  // returns the last step's answer.
  json PlayExpert(const std::string& scenario, std::uint64_t seed, std::string* session_id) {
    auto created = client_->CreateSession(scenario, seed);
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    if (!created.ok()) return {};
    const std::string id = (*created)["session_id"];
    *session_id = id;
    EXPECT_EQ((*created)["info"]["task"]["seed"], seed);
    EXPECT_FALSE((*created)["tools"].empty());
    auto tools = client_->Tools(id);
    EXPECT_TRUE(tools.ok());
    if (tools.ok()) {
      EXPECT_EQ(*tools, (*created)["tools"]);
    }

    auto src = scenarios::ScenarioRegistry::Default().Get(scenario);
    auto task = src->MakeTask(seed);
    EXPECT_TRUE(task.ok());
    const envs::EnvKind* kind = envs::FindEnvKind(task->env_kind);
    agent::ExpertPolicy expert;
    EXPECT_TRUE(expert.BeginEpisode(*task, kind->tools(task->requires_answer), seed).ok());
    std::vector<envs::Message> conv = Messages((*created)["observation"]);
    json last;
    for (int turn = 0; turn < 40; ++turn) {
      auto action = expert.Act(conv);
      EXPECT_TRUE(action.ok()) << action.status().ToString();
      if (!action.ok()) return last;
      conv.push_back({"assistant", *action, "", ""});
      auto step = client_->Step(id, *action);
      EXPECT_TRUE(step.ok()) << step.status().ToString();
      if (!step.ok()) return last;
      last = *step;
      for (const auto& m : Messages((*step)["observation"])) conv.push_back(m);
      if ((*step)["terminated"] || (*step)["truncated"]) break;
    }
    return last;
  }

  std::unique_ptr<Server> server_;
  std::unique_ptr<Client> client_;
};

TEST_F(ServerTest, HealthMetricsScenarios) {
  StartServer();
  auto h = client_->Health();
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ((*h)["status"], "ok");
  EXPECT_EQ((*h)["sessions"], 0);
  auto s = client_->Scenarios();
  ASSERT_TRUE(s.ok());
  bool shell = false, web = false;
  for (const auto& e : *s) {
    EXPECT_TRUE(e.contains("title") && e.contains("env_kind") && e.contains("tags")) << e;
    shell = shell || e["id"] == "shell.find_by_name";
    web = web || e["id"] == "web.shop_easy";
  }
  EXPECT_TRUE(shell && web);
  auto m = client_->Metrics();
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)["sessions_open"], 0);
  EXPECT_GE((*m)["requests"].get<int>(), 2);
  EXPECT_TRUE((*m)["errors"].is_object());
}

TEST_F(ServerTest, ExpertSolvesShellAndWebOverHttp) {
  StartServer();
  for (const std::string scenario : {"shell.find_by_name", "web.shop_easy"}) {
    std::string id;
    json last = PlayExpert(scenario, 3, &id);
    ASSERT_TRUE(last.is_object()) << scenario;
    EXPECT_TRUE(last["terminated"]) << scenario << ": " << last.dump();
    ASSERT_TRUE(last["info"].contains("outcome")) << scenario;
    EXPECT_TRUE(last["info"]["outcome"]["passed"]) << scenario << ": " << last["info"].dump();
    EXPECT_GT(last["reward"].get<double>(), 0) << scenario;
    // Stepping a finished episode is a conflict; a reset starts a new one.
    auto after = Raw("POST", "/sessions/" + id + "/step", R"({"action": "x"})");
    ExpectError(after, 409, "conflict");
    auto reset = client_->Reset(id, 5);
    ASSERT_TRUE(reset.ok()) << reset.status().ToString();
    EXPECT_EQ((*reset)["info"]["task"]["seed"], 5);
    EXPECT_TRUE((*reset)["tools"].is_array());
    ASSERT_TRUE(client_->Close(id).ok());
    ExpectError(Raw("POST", "/sessions/" + id + "/step", R"({"action": "x"})"), 404, "not_found");
  }
  auto m = client_->Metrics();
  ASSERT_TRUE(m.ok());
  EXPECT_GE((*m)["steps"].get<int>(), 4);
  EXPECT_EQ((*m)["sessions_open"], 0);
  EXPECT_EQ((*m)["errors"]["conflict"], 2);
  EXPECT_EQ((*m)["errors"]["not_found"], 2);
}

TEST_F(ServerTest, BadRequestsGet400WithPath) {
  StartServer();
  ExpectError(Raw("POST", "/sessions", "{\"scenario\": "), 400, "bad_request", "/");
  ExpectError(Raw("POST", "/sessions", R"({"scenario": "shell.find_by_name", "bogus": 1})"), 400,
              "bad_request", "/bogus");
  ExpectError(Raw("POST", "/sessions", R"({"scenario": "shell.find_by_name", "seed": "one"})"), 400,
              "bad_request", "/seed");
  ExpectError(Raw("POST", "/sessions", R"({"scenario": "shell.find_by_name", "seed": -1})"), 400,
              "bad_request", "/seed");
  ExpectError(Raw("POST", "/sessions", R"({"seed": 1})"), 400, "bad_request", "/scenario");
  ExpectError(Raw("POST", "/sessions", R"([1, 2])"), 400, "bad_request", "/");
  ExpectError(Raw("POST", "/sessions",
                  R"({"scenario": "shell.find_by_name", "options": {"max_turns": "many"}})"),
              400, "bad_request", "/options");
  ExpectError(Raw("POST", "/step", R"({"steps": [{"session_id": "a", "action": 3}]})"), 400,
              "bad_request", "/steps/0/action");
  ExpectError(Raw("POST", "/step", R"({"steps": [{"session_id": "a", "action": "x", "k": 1}]})"),
              400, "bad_request", "/steps/0/k");
  auto created = client_->CreateSession("shell.find_by_name", 1);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  const std::string id = (*created)["session_id"];
  ExpectError(Raw("POST", "/sessions/" + id + "/step", R"({"act": "x"})"), 400, "bad_request",
              "/act");
  ExpectError(Raw("POST", "/sessions/" + id + "/step", R"({})"), 400, "bad_request", "/action");
  ExpectError(Raw("POST", "/sessions/" + id + "/reset", R"({"seed": 1.5})"), 400, "bad_request",
              "/seed");
  ExpectError(Raw("POST", "/sessions/" + id + "/fork", R"({"x": 1})"), 400, "bad_request", "/x");
  // The session is unharmed by the bad requests.
  EXPECT_TRUE(client_->Step(id, Bash("ls")).ok());
}

TEST_F(ServerTest, NotFoundAndMethodNotAllowed) {
  StartServer();
  ExpectError(Raw("GET", "/nope"), 404, "not_found");
  ExpectError(Raw("POST", "/sessions/deadbeef/step", R"({"action": "x"})"), 404, "not_found");
  ExpectError(Raw("GET", "/sessions/deadbeef/tools"), 404, "not_found");
  ExpectError(Raw("DELETE", "/sessions/deadbeef"), 404, "not_found");
  ExpectError(Raw("POST", "/sessions", R"({"scenario": "shell.no_such"})"), 404, "not_found",
              "/scenario");
  auto r = Raw("GET", "/sessions");
  ExpectError(r, 405, "method_not_allowed");
  ExpectError(Raw("POST", "/health"), 405, "method_not_allowed");
  ExpectError(Raw("PUT", "/step", "{}"), 405, "method_not_allowed");
  ExpectError(Raw("GET", "/sessions/x/step"), 405, "method_not_allowed");
}

TEST_F(ServerTest, BodyOverTheLimitIs413) {
  StartServer({.max_body_bytes = 4096});
  const std::string big = R"({"scenario": ")" + std::string(10000, 'a') + R"("})";
  ExpectError(Raw("POST", "/sessions", big), 413, "payload_too_large");
  ExpectError(Raw("POST", "/sessions", big), 413, "payload_too_large");
}

TEST_F(ServerTest, SessionLimitIs429) {
  StartServer({.max_sessions = 2});
  auto a = client_->CreateSession("shell.find_by_name", 1);
  auto b = client_->CreateSession("web.shop_easy", 1);
  ASSERT_TRUE(a.ok() && b.ok());
  auto r = Raw("POST", "/sessions", R"({"scenario": "shell.find_by_name"})");
  ExpectError(r, 429, "too_many_sessions");
  EXPECT_NE(r.body["error"]["message"].get<std::string>().find("limit of 2 sessions"),
            std::string::npos);
  ExpectError(Raw("POST", "/sessions/" + (*a)["session_id"].get<std::string>() + "/fork"), 429,
              "too_many_sessions");
  ASSERT_TRUE(client_->Close((*a)["session_id"]).ok());
  EXPECT_TRUE(client_->CreateSession("shell.find_by_name", 2).ok());
}

TEST_F(ServerTest, BusySessionIs409) {
  StartServer();
  auto created = client_->CreateSession("shell.find_by_name", 1);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  const std::string id = (*created)["session_id"];
  std::thread slow([&] {
    auto other = MakeClient();
    auto r = other->Step(id, Bash("sleep 1.5; echo done"));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  ExpectError(Raw("POST", "/sessions/" + id + "/step", R"({"action": "x"})"), 409, "conflict");
  ExpectError(Raw("DELETE", "/sessions/" + id), 409, "conflict");
  slow.join();
  EXPECT_TRUE(client_->Step(id, Bash("ls")).ok());
}

TEST_F(ServerTest, TokenIsRequiredWhenSet) {
  {
    Server open({.host = "0.0.0.0"});
    Status s = open.Start();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("requires a token"), std::string::npos) << s.message();
  }
  StartServer({.token = "s3cret"});
  auto none = MakeClient();
  auto r = none->Request("GET", "/health");
  ASSERT_TRUE(r.ok());
  ExpectError(*r, 401, "unauthorized");
  auto wrong = MakeClient("nope");
  r = wrong->Request("POST", "/sessions", R"({"scenario": "shell.find_by_name"})");
  ASSERT_TRUE(r.ok());
  ExpectError(*r, 401, "unauthorized");
  EXPECT_EQ(server_->num_sessions(), 0);
  EXPECT_TRUE(client_->CreateSession("shell.find_by_name", 1).ok());
  EXPECT_TRUE(client_->Scenarios().ok());
}

TEST_F(ServerTest, NoTokenNeededWithoutOne) {
  StartServer();
  auto with = MakeClient("anything");
  EXPECT_TRUE(with->Health().ok());
}

TEST_F(ServerTest, IdleSessionsAreClosed) {
  StartServer({.idle_timeout_s = 0.5});
  auto a = client_->CreateSession("shell.find_by_name", 1);
  ASSERT_TRUE(a.ok());
  const std::string id = (*a)["session_id"];
  auto b = client_->CreateSession("shell.find_by_name", 2);
  ASSERT_TRUE(b.ok());
  // b is kept busy with steps; a idles.
  for (int i = 0; i < 6; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    ASSERT_TRUE(client_->Step((*b)["session_id"], Bash("true")).ok()) << i;
  }
  EXPECT_EQ(server_->num_sessions(), 1);
  ExpectError(Raw("POST", "/sessions/" + id + "/step", R"({"action": "x"})"), 404, "not_found");
  auto m = client_->Metrics();
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)["sessions_expired"], 1);
  EXPECT_EQ((*m)["sessions_open"], 1);
}

TEST_F(ServerTest, BatchedStepAcrossSessions) {
  StartServer();
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    auto c = client_->CreateSession("shell.find_by_name", i + 1);
    ASSERT_TRUE(c.ok());
    ids.push_back((*c)["session_id"]);
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto r = client_->StepBatch({{ids[0], Bash("sleep 0.5; echo zero")},
                               {"missing", Bash("true")},
                               {ids[1], Bash("sleep 0.5; echo one")},
                               {ids[2], Bash("sleep 0.5; echo two")}});
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 4u);
  EXPECT_LT(s, 1.4) << "the batch's steps ran one after another";
  const char* words[] = {"zero", "", "one", "two"};
  for (int i : {0, 2, 3}) {
    const json& res = (*r)[i];
    EXPECT_EQ(res["status"], 200) << res;
    EXPECT_EQ(res["session_id"], ids[i == 0 ? 0 : i - 1]);
    EXPECT_NE(res["observation"].dump().find(words[i]), std::string::npos) << res;
    EXPECT_FALSE(res["terminated"]);
  }
  EXPECT_EQ((*r)[1]["status"], 404);
  EXPECT_EQ((*r)[1]["error"]["code"], "not_found");
  ExpectError(Raw("POST", "/step",
                  json{{"steps",
                        {{{"session_id", ids[0]}, {"action", "a"}},
                         {{"session_id", ids[0]}, {"action", "b"}}}}}
                      .dump()),
              400, "bad_request", "/steps/1/session_id");
}

TEST_F(ServerTest, ForkIsIsolated) {
  StartServer();
  auto c = client_->CreateSession("shell.find_by_name", 1);
  ASSERT_TRUE(c.ok());
  const std::string id = (*c)["session_id"];
  ASSERT_TRUE(client_->Step(id, Bash("echo original > marker.txt")).ok());
  auto f = client_->Fork(id);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  const std::string fid = (*f)["session_id"];
  EXPECT_NE(fid, id);
  EXPECT_EQ((*f)["tools"], (*c)["tools"]);
  auto changed = client_->Step(fid, Bash("echo forked > marker.txt; cat marker.txt"));
  ASSERT_TRUE(changed.ok());
  EXPECT_NE((*changed)["observation"].dump().find("forked"), std::string::npos);
  auto orig = client_->Step(id, Bash("cat marker.txt"));
  ASSERT_TRUE(orig.ok());
  EXPECT_NE((*orig)["observation"].dump().find("original"), std::string::npos) << *orig;
  EXPECT_EQ((*orig)["observation"].dump().find("forked"), std::string::npos) << *orig;
  // Closing the original leaves the fork running.
  ASSERT_TRUE(client_->Close(id).ok());
  auto still = client_->Step(fid, Bash("cat marker.txt"));
  ASSERT_TRUE(still.ok());
  EXPECT_NE((*still)["observation"].dump().find("forked"), std::string::npos);
}

TEST_F(ServerTest, StopClosesEverySession) {
  StartServer();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client_->CreateSession("shell.find_by_name", i).ok());
  EXPECT_EQ(server_->num_sessions(), 3);
  // A step in flight when Stop() comes is finished first.
  auto id = client_->CreateSession("shell.find_by_name", 9);
  ASSERT_TRUE(id.ok());
  std::thread slow([&] {
    auto other = MakeClient();
    auto r = other->Step((*id)["session_id"], Bash("sleep 0.5"));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  server_->Stop();
  slow.join();
  EXPECT_EQ(server_->num_sessions(), 0);
  EXPECT_FALSE(client_->Health().ok());
  server_->Stop();  // idempotent
}

}  // namespace
}  // namespace toolgym::server
