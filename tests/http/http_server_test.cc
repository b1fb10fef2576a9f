// The HTTP layer (http/http_server.h) over real loopback HTTP: keep-alive, the body and header
// limits, malformed requests, HEAD, handler exceptions, a streamed body arriving piece by piece
// and in order, and Stop() answering the request in flight while refusing new ones.
#include "http/http_server.h"

#include <gtest/gtest.h>

// clang-format off
// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility> (C++20).
#include <utility>
// clang-format on
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

namespace toolgym::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// A response in the test's own format, so that the tests can tell whose words they read.
Response Text(bhttp::status status, std::string body) {
  Response res{status, 11};
  res.set(bhttp::field::content_type, "text/plain");
  res.body() = std::move(body);
  return res;
}

Response Refuse(bhttp::status status, const std::string& message) {
  return Text(status, "refused: " + message);
}

// One client connection to 127.0.0.1:port, speaking raw bytes or Beast messages.
class Client {
 public:
  explicit Client(int port) : socket_(io_) {
    socket_.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
  }
  void Send(const std::string& bytes) { asio::write(socket_, asio::buffer(bytes)); }
  void Send(const Request& req) { bhttp::write(socket_, req); }
  Response Receive(bool head = false) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.skip(head);
    parser.body_limit(64 << 20);
    bhttp::read(socket_, buffer_, parser);
    return parser.release();
  }
  Response Get(const std::string& target, bool keep_alive = true) {
    Request req{bhttp::verb::get, target, 11};
    req.set(bhttp::field::host, "127.0.0.1");
    req.keep_alive(keep_alive);
    Send(req);
    return Receive();
  }
  // True when the server closed the connection (a read ends with EOF or a reset).
  bool Closed() {
    beast::error_code ec;
    char c;
    socket_.read_some(asio::buffer(&c, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }
  tcp::socket& socket() { return socket_; }
  beast::flat_buffer& buffer() { return buffer_; }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

// Answers GET /echo?x with "x #n" (n counts the handler's calls), GET /throw by throwing.
Answer Echo(const Request& req, std::atomic<int>* calls) {
  const int n = ++*calls;
  const std::string target(req.target());
  if (target == "/throw") throw std::runtime_error("the handler broke");
  return Text(bhttp::status::ok, target.substr(target.find('?') + 1) + " #" + std::to_string(n));
}

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(HttpServerOptions options = {}) {
    server_ = std::make_unique<HttpServer>(
        options, [this](const Request& req) { return Echo(req, &calls_); }, Refuse);
    ASSERT_TRUE(server_->Start().ok());
    ASSERT_GT(server_->port(), 0);
  }
  std::atomic<int> calls_{0};
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  StartServer();
  Client c(server_->port());
  for (int i = 1; i <= 3; ++i) {
    const Response r = c.Get("/echo?a" + std::to_string(i));
    EXPECT_EQ(r.result(), bhttp::status::ok);
    EXPECT_EQ(r.body(), "a" + std::to_string(i) + " #" + std::to_string(i));
    EXPECT_TRUE(r.keep_alive());
    EXPECT_EQ(r[bhttp::field::content_length], std::to_string(r.body().size()));
  }
  // "Connection: close" is honoured: answered, then closed.
  const Response last = c.Get("/echo?bye", false);
  EXPECT_EQ(last.body(), "bye #4");
  EXPECT_FALSE(last.keep_alive());
  EXPECT_TRUE(c.Closed());
  EXPECT_EQ(server_->requests(), 4);
}

TEST_F(HttpServerTest, KeepAliveOffClosesAfterEachAnswer) {
  HttpServerOptions o;
  o.keep_alive = false;
  StartServer(o);
  Client c(server_->port());
  const Response r = c.Get("/echo?once");
  EXPECT_EQ(r.body(), "once #1");
  EXPECT_FALSE(r.keep_alive());
  EXPECT_TRUE(c.Closed());
}

TEST_F(HttpServerTest, BodyOverTheLimitIs413AndTheServerKeepsServing) {
  HttpServerOptions o;
  o.max_body_bytes = 100;
  StartServer(o);
  Client c(server_->port());
  Request req{bhttp::verb::post, "/echo?big", 11};
  req.set(bhttp::field::host, "x");
  req.body() = std::string(101, 'x');
  req.prepare_payload();
  c.Send(req);
  const Response r = c.Receive();
  EXPECT_EQ(r.result(), bhttp::status::payload_too_large);
  EXPECT_EQ(r.body(), "refused: the request body is over the limit of 100 bytes");
  EXPECT_FALSE(r.keep_alive());
  EXPECT_TRUE(c.Closed());
  EXPECT_EQ(calls_, 0);  // the handler never saw it
  // A body at the limit is served, on a new connection.
  Client d(server_->port());
  req.body() = std::string(100, 'x');
  req.prepare_payload();
  d.Send(req);
  EXPECT_EQ(d.Receive().body(), "big #1");
}

TEST_F(HttpServerTest, MalformedRequestsAre400) {
  HttpServerOptions o;
  o.max_header_bytes = 1024;
  StartServer(o);
  {
    Client c(server_->port());
    c.Send("GET /echo?x HTTP/1.1\r\nHost x\r\n\r\n");  // a header line without a colon
    const Response r = c.Receive();
    EXPECT_EQ(r.result(), bhttp::status::bad_request);
    EXPECT_EQ(r.body().rfind("refused: malformed HTTP request: ", 0), 0u) << r.body();
    EXPECT_TRUE(c.Closed());
  }
  {
    Client c(server_->port());
    c.Send("GET /echo HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n");
    const Response r = c.Receive();
    EXPECT_EQ(r.result(), bhttp::status::bad_request);
    EXPECT_EQ(r.body(), "refused: the request header is over the limit of 1024 bytes");
  }
  EXPECT_EQ(calls_, 0);
  Client c(server_->port());
  EXPECT_EQ(c.Get("/echo?fine").body(), "fine #1");
}

TEST_F(HttpServerTest, HeadGetsTheHeadersWithoutTheBody) {
  StartServer();
  Client c(server_->port());
  Request req{bhttp::verb::head, "/echo?abc", 11};
  req.set(bhttp::field::host, "x");
  c.Send(req);
  const Response r = c.Receive(/*head=*/true);
  EXPECT_EQ(r.result(), bhttp::status::ok);
  EXPECT_EQ(r[bhttp::field::content_length], "6");  // "abc #1"
  // Had a body been sent, it would be read as the next response and fail to parse.
  EXPECT_EQ(c.Get("/echo?next").body(), "next #2");
  // A refusal after a HEAD on the same connection still has its body.
  c.Send(req);
  EXPECT_EQ(c.Receive(/*head=*/true).result(), bhttp::status::ok);
  c.Send("GET /echo HTTP/1.1\r\nHost x\r\n\r\n");
  const Response bad = c.Receive();
  EXPECT_EQ(bad.result(), bhttp::status::bad_request);
  EXPECT_NE(bad.body().find("malformed HTTP request"), std::string::npos) << bad.body();
}

TEST_F(HttpServerTest, AThrowingHandlerIs500AndTheConnectionLives) {
  StartServer();
  Client c(server_->port());
  const Response r = c.Get("/throw");
  EXPECT_EQ(r.result(), bhttp::status::internal_server_error);
  EXPECT_EQ(r.body(), "refused: the handler broke");
  EXPECT_EQ(c.Get("/echo?after").body(), "after #2");
}

TEST_F(HttpServerTest, OptionsAreChecked) {
  HttpServerOptions o;
  o.port = 70000;
  HttpServer bad(
      o, [](const Request&) { return Text(bhttp::status::ok, ""); }, Refuse);
  EXPECT_EQ(bad.Start().code(), StatusCode::kInvalidArgument);
  HttpServerOptions h;
  h.host = "not-an-address";
  HttpServer bad_host(
      h, [](const Request&) { return Text(bhttp::status::ok, ""); }, Refuse);
  EXPECT_EQ(bad_host.Start().code(), StatusCode::kInvalidArgument);
  StartServer();
  EXPECT_EQ(server_->Start().code(), StatusCode::kFailedPrecondition);
  // The port is taken now.
  HttpServerOptions taken;
  taken.port = server_->port();
  HttpServer second(
      taken, [](const Request&) { return Text(bhttp::status::ok, ""); }, Refuse);
  EXPECT_EQ(second.Start().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(IsLoopback("localhost"));
  EXPECT_TRUE(IsLoopback("127.0.0.5"));
  EXPECT_TRUE(IsLoopback("::1"));
  EXPECT_FALSE(IsLoopback("0.0.0.0"));
  EXPECT_FALSE(IsLoopback("example.com"));
}

// The source waits, before each piece after the first, until the client has read the one
// before: the pieces cannot all have been sent in one go, and arrive in order.
TEST(HttpServerStreamTest, StreamedPiecesArriveOneByOneInOrder) {
  constexpr int kPieces = 6;
  std::atomic<int> received{0};
  std::atomic<bool> waited_too_long{false};
  HttpServer server(
      {},
      [&](const Request&) -> Answer {
        Response head{bhttp::status::ok, 11};
        head.set(bhttp::field::content_type, "text/event-stream");
        return {std::move(head),
                [&, next = 0, skipped_empty = false]() mutable -> std::optional<std::string> {
                  if (next == kPieces) return std::nullopt;
                  const auto deadline = std::chrono::steady_clock::now() + 5s;
                  while (received < next && std::chrono::steady_clock::now() < deadline)
                    std::this_thread::sleep_for(1ms);
                  if (received < next) waited_too_long = true;
                  // An empty piece in the middle is skipped, not taken for the end.
                  if (next == 2 && received == 2 && !skipped_empty) {
                    skipped_empty = true;
                    return std::string();
                  }
                  return "data: " + std::to_string(next++) + "\n\n";
                }};
      },
      Refuse);
  ASSERT_TRUE(server.Start().ok());
  Client c(server.port());
  Request req{bhttp::verb::post, "/stream", 11};
  req.set(bhttp::field::host, "x");
  c.Send(req);

  bhttp::response_parser<bhttp::string_body> parser;
  std::vector<std::string> pieces;
  std::string piece;
  auto on_body = [&](std::uint64_t remain, beast::string_view body, beast::error_code&) {
    piece.append(body.data(), body.size());
    if (remain == body.size()) {  // the chunk is complete
      pieces.push_back(std::move(piece));
      piece.clear();
      ++received;
    }
    return body.size();
  };
  parser.on_chunk_body(on_body);
  bhttp::read(c.socket(), c.buffer(), parser);
  ASSERT_TRUE(parser.is_done());
  const Response r = parser.release();
  EXPECT_EQ(r.result(), bhttp::status::ok);
  EXPECT_TRUE(r.chunked());
  EXPECT_EQ(r[bhttp::field::content_type], "text/event-stream");
  std::vector<std::string> expected;
  for (int i = 0; i < kPieces; ++i) expected.push_back("data: " + std::to_string(i) + "\n\n");
  EXPECT_EQ(pieces, expected);
  EXPECT_EQ(received, kPieces);
  EXPECT_FALSE(waited_too_long) << "a piece was produced before the client had the one before";
  // The connection is kept alive after the last chunk.
  EXPECT_TRUE(r.keep_alive());
  c.Send(req);
  bhttp::response_parser<bhttp::string_body> again;
  bhttp::read(c.socket(), c.buffer(), again);
  EXPECT_EQ(again.get().body(),
            "data: 0\n\ndata: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4\n\ndata: 5\n\n");
}

// HTTP/1.0 has no chunked encoding: the pieces arrive as one body with a Content-Length.
TEST(HttpServerStreamTest, Http10GetsTheStreamAsOneBody) {
  HttpServer server(
      {},
      [](const Request&) -> Answer {
        auto pieces = std::make_shared<std::vector<std::string>>(
            std::vector<std::string>{"one ", "two ", "three"});
        return {Response{bhttp::status::ok, 11}, [pieces, i = std::size_t{0}]() mutable {
                  return i < pieces->size() ? std::optional<std::string>((*pieces)[i++])
                                            : std::nullopt;
                }};
      },
      Refuse);
  ASSERT_TRUE(server.Start().ok());
  Client c(server.port());
  c.Send("GET /s HTTP/1.0\r\n\r\n");
  const Response r = c.Receive();
  EXPECT_EQ(r.version(), 10u);
  EXPECT_FALSE(r.chunked());
  EXPECT_EQ(r.body(), "one two three");
  EXPECT_EQ(r[bhttp::field::content_length], "13");
}

// Stop() with a request in flight: that request is answered in full; a new request on another
// open connection meanwhile gets 503; new connections are refused once Stop() returns.
TEST(HttpServerStopTest, StopAnswersTheRequestInFlight) {
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  HttpServer server(
      {},
      [&](const Request& req) -> Answer {
        if (req.target() == "/slow") {
          entered.set_value();
          released.wait();
          return Text(bhttp::status::ok, "slow done");
        }
        return Text(bhttp::status::ok, "quick");
      },
      Refuse);
  ASSERT_TRUE(server.Start().ok());
  const int port = server.port();
  Client idle(port);  // open before the stop, with no request on it yet
  EXPECT_EQ(idle.Get("/quick").body(), "quick");

  Client slow(port);
  Request req{bhttp::verb::get, "/slow", 11};
  req.set(bhttp::field::host, "x");
  slow.Send(req);
  entered.get_future().wait();

  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    server.Stop();
    stopped = true;
  });
  // Stop() waits for the slow request; meanwhile a new request is refused with 503.
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(stopped);
  const Response refused = idle.Get("/quick");
  EXPECT_EQ(refused.result(), bhttp::status::service_unavailable);
  EXPECT_EQ(refused.body(), "refused: the server is stopping");
  EXPECT_FALSE(stopped);

  release.set_value();
  const Response r = slow.Receive();
  EXPECT_EQ(r.result(), bhttp::status::ok);
  EXPECT_EQ(r.body(), "slow done");
  stopper.join();
  EXPECT_TRUE(stopped);
  EXPECT_TRUE(slow.Closed());
  EXPECT_TRUE(idle.Closed());
  // Nobody listens any more.
  asio::io_context io;
  tcp::socket s(io);
  beast::error_code ec;
  s.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)}, ec);
  EXPECT_EQ(ec, asio::error::connection_refused);
  server.Stop();  // idempotent
}

// A client that stalls mid-request is dropped after the read timeout, without an answer.
TEST_F(HttpServerTest, AStalledRequestIsDroppedAfterTheReadTimeout) {
  HttpServerOptions o;
  o.read_timeout = 200ms;
  StartServer(o);
  Client c(server_->port());
  c.Send("POST /echo?x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.Closed());
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 150ms);
  EXPECT_LT(took, 5s);
  EXPECT_EQ(calls_, 0);
}

}  // namespace
}  // namespace toolgym::http
