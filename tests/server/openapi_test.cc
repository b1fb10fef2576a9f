// The server's OpenAPI document and the routing rules it states, over real HTTP on 127.0.0.1:0:
// GET /openapi.json is docs/openapi.json byte-for-byte, HEAD has GET's headers and no body, other
// methods get 405 with an Allow header, every route of the server is in the document, and the
// fixes Schemathesis (tests/server/schemathesis_test.sh) led to.
#include <gtest/gtest.h>

// clang-format off
// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility> (C++20).
#include <utility>
// clang-format on
#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "server/client.h"
#include "server/server.h"

#ifndef TOOLGYM_OPENAPI_JSON
#error "TOOLGYM_OPENAPI_JSON (the path of docs/openapi.json) must be defined"
#endif

namespace toolgym::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using nlohmann::json;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// One request on a fresh connection, with the response's headers (the Client keeps only the
// body, and cannot read the answer to a HEAD).
http::response<http::string_body> RawRequest(int port, http::verb method,
                                             const std::string& target) {
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
  http::request<http::string_body> req(method, target, 11);
  req.set(http::field::host, "127.0.0.1");
  req.keep_alive(false);
  req.prepare_payload();
  http::write(socket, req);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.skip(method == http::verb::head);
  parser.body_limit(16 << 20);
  http::read(socket, buffer, parser);
  return parser.release();
}

class OpenApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<Server>(ServerOptions{});
    ASSERT_TRUE(server_->Start().ok());
    client_ = std::make_unique<Client>(ClientOptions{"127.0.0.1", server_->port(), ""});
  }
  void ExpectError(const HttpResponse& r, int status, const std::string& code,
                   const std::string& path = "") {
    EXPECT_EQ(r.status, status) << r.raw;
    ASSERT_TRUE(r.body.is_object() && r.body.contains("error")) << r.raw;
    EXPECT_EQ(r.body["error"]["code"], code) << r.raw;
    if (!path.empty()) {
      EXPECT_EQ(r.body["error"].value("path", ""), path) << r.raw;
    }
  }
  HttpResponse Raw(const std::string& method, const std::string& target,
                   const std::string& body = "") {
    auto r = client_->Request(method, target, body);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : HttpResponse{};
  }

  std::unique_ptr<Server> server_;
  std::unique_ptr<Client> client_;
};

TEST_F(OpenApiTest, ServesTheDocumentByteForByte) {
  const std::string want = ReadFile(TOOLGYM_OPENAPI_JSON);
  ASSERT_GT(want.size(), 1000u);
  auto r = RawRequest(server_->port(), http::verb::get, "/openapi.json");
  EXPECT_EQ(r.result_int(), 200u);
  EXPECT_EQ(r[http::field::content_type], "application/json");
  EXPECT_EQ(r.body().size(), want.size());
  EXPECT_TRUE(r.body() == want) << "GET /openapi.json differs from " << TOOLGYM_OPENAPI_JSON;
  const json doc = json::parse(r.body());
  EXPECT_EQ(doc["openapi"], "3.0.3");
}

TEST_F(OpenApiTest, HeadHasGetsHeadersAndNoBody) {
  const std::string want = ReadFile(TOOLGYM_OPENAPI_JSON);
  auto r = RawRequest(server_->port(), http::verb::head, "/openapi.json");
  EXPECT_EQ(r.result_int(), 200u);
  EXPECT_EQ(r[http::field::content_type], "application/json");
  EXPECT_EQ(r[http::field::content_length], std::to_string(want.size()));
  EXPECT_TRUE(r.body().empty());
  const std::string health = R"({"sessions":0,"status":"ok"})";
  EXPECT_EQ(RawRequest(server_->port(), http::verb::get, "/health").body(), health);
  auto h = RawRequest(server_->port(), http::verb::head, "/health");
  EXPECT_EQ(h.result_int(), 200u);
  EXPECT_EQ(h[http::field::content_length], std::to_string(health.size()));
  EXPECT_TRUE(h.body().empty());
}

TEST_F(OpenApiTest, OtherMethodsAre405WithAllow) {
  for (const auto verb : {http::verb::post, http::verb::put, http::verb::delete_}) {
    auto r = RawRequest(server_->port(), verb, "/openapi.json");
    EXPECT_EQ(r.result_int(), 405u) << verb;
    EXPECT_EQ(r[http::field::allow], "GET, HEAD") << verb;
    EXPECT_EQ(json::parse(r.body())["error"]["code"], "method_not_allowed");
  }
  // The Allow header lists what the document lists for the path (HEAD with every GET).
  EXPECT_EQ(RawRequest(server_->port(), http::verb::options, "/health")[http::field::allow],
            "GET, HEAD");
  EXPECT_EQ(
      RawRequest(server_->port(), http::verb::options, "/sessions/x/tools")[http::field::allow],
      "GET, HEAD");
  EXPECT_EQ(RawRequest(server_->port(), http::verb::options, "/sessions")[http::field::allow],
            "POST");
  EXPECT_EQ(RawRequest(server_->port(), http::verb::options, "/sessions/x")[http::field::allow],
            "DELETE");
  EXPECT_EQ(
      RawRequest(server_->port(), http::verb::options, "/sessions/x/fork")[http::field::allow],
      "POST");
}

TEST_F(OpenApiTest, DocumentsEveryRouteAndErrorCode) {
  const json doc = json::parse(ReadFile(TOOLGYM_OPENAPI_JSON));
  const std::pair<const char*, const char*> routes[] = {
      {"/health", "get"},
      {"/metrics", "get"},
      {"/scenarios", "get"},
      {"/openapi.json", "get"},
      {"/sessions", "post"},
      {"/sessions/{session_id}", "delete"},
      {"/sessions/{session_id}/reset", "post"},
      {"/sessions/{session_id}/step", "post"},
      {"/sessions/{session_id}/fork", "post"},
      {"/sessions/{session_id}/tools", "get"},
      {"/step", "post"},
  };
  std::size_t operations = 0;
  for (const auto& [path, ops] : doc["paths"].items())
    for (const auto& [method, op] : ops.items()) operations += method != "parameters";
  EXPECT_EQ(operations, std::size(routes));
  for (const auto& [path, method] : routes) {
    ASSERT_TRUE(doc["paths"].contains(path)) << path;
    ASSERT_TRUE(doc["paths"][path].contains(method)) << method << " " << path;
    // Every route answers with the documented errors' shape: 401 is possible on each (--token).
    EXPECT_TRUE(doc["paths"][path][method]["responses"].contains("401")) << method << " " << path;
  }
  // The error codes the server sends are the enum's.
  const json codes = doc["components"]["schemas"]["ErrorDetail"]["properties"]["code"]["enum"];
  for (const char* code :
       {"bad_request", "unauthorized", "not_found", "method_not_allowed", "conflict",
        "payload_too_large", "too_many_sessions", "internal", "unavailable"})
    EXPECT_NE(std::find(codes.begin(), codes.end(), code), codes.end()) << code;
  EXPECT_EQ(codes.size(), 9u);
  EXPECT_EQ(doc["components"]["schemas"]["BatchStepRequest"]["properties"]["steps"]["maxItems"],
            1024);
}

TEST_F(OpenApiTest, UnknownPathNamesTheDocument) {
  auto r = Raw("GET", "/nope");
  ExpectError(r, 404, "not_found");
  EXPECT_NE(r.body["error"]["message"].get<std::string>().find("/openapi.json"), std::string::npos)
      << r.raw;
}

// Found by Schemathesis: an empty session id ("/sessions//step") was read as "/sessions/step" and
// answered 405, a status the operation does not document. Empty segments now stay: no such
// session, 404. A trailing slash is still ignored.
TEST_F(OpenApiTest, EmptyPathSegmentsAreKept) {
  ExpectError(Raw("POST", "/sessions//step", R"({"action": "x"})"), 404, "not_found");
  ExpectError(Raw("GET", "/sessions//tools"), 404, "not_found");
  ExpectError(Raw("DELETE", "/sessions/"), 405, "method_not_allowed");
  ExpectError(Raw("GET", "//health"), 404, "not_found");
  EXPECT_EQ(Raw("GET", "/health/").status, 200);
  EXPECT_EQ(Raw("GET", "/health?verbose=1").status, 200);
  ExpectError(Raw("GET", "/"), 404, "not_found");
}

// Found by Schemathesis: max_turns over INT_MAX was accepted and wrapped around in the env.
TEST_F(OpenApiTest, MaxTurnsOutOfRangeIsRejected) {
  auto r = Raw("POST", "/sessions",
               R"({"scenario": "shell.find_by_name", "options": {"max_turns": 4294967301}})");
  ExpectError(r, 400, "bad_request", "/options");
  EXPECT_NE(r.body["error"]["message"].get<std::string>().find(
                "'max_turns' must be an integer in [1, 1000000]"),
            std::string::npos)
      << r.raw;
  EXPECT_EQ(server_->num_sessions(), 0);
  auto ok = Raw("POST", "/sessions",
                R"({"scenario": "shell.find_by_name", "options": {"max_turns": 1000000}})");
  EXPECT_EQ(ok.status, 201) << ok.raw;
  EXPECT_EQ(server_->num_sessions(), 1);
}

// Found by Schemathesis: a reset's unknown option was ignored when "split" came with it.
TEST_F(OpenApiTest, ResetOptionsAreChecked) {
  auto created = client_->CreateSession("shell.find_by_name", 1);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  const std::string reset = "/sessions/" + (*created)["session_id"].get<std::string>() + "/reset";
  ExpectError(Raw("POST", reset, R"({"seed": 2, "options": {"split": "test", "NIL": [-5, true]}})"),
              400, "bad_request", "/options/NIL");
  ExpectError(Raw("POST", reset, R"({"options": {"split": "dev"}})"), 400, "bad_request",
              "/options/split");
  ExpectError(Raw("POST", reset, R"({"options": {"split": 1}})"), 400, "bad_request",
              "/options/split");
  ExpectError(Raw("POST", reset, R"({"options": []})"), 400, "bad_request", "/options");
  auto ok = Raw("POST", reset, R"({"seed": 2, "options": {"split": "test"}})");
  EXPECT_EQ(ok.status, 200) << ok.raw;
  EXPECT_EQ(ok.body["info"]["task"]["seed"], 2) << ok.raw;
}

}  // namespace
}  // namespace toolgym::server
