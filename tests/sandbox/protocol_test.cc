// The control protocol: JSON messages with passed fds over a SOCK_SEQPACKET socketpair, and the
// error codes Recv promises for EOF, timeouts, oversize and malformed messages.
#include "sandbox/protocol.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

namespace toolgym::sandbox::protocol {
namespace {

using nlohmann::json;

struct SocketPair {
  SocketPair() {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0) {
      a.Reset(sv[0]);
      b.Reset(sv[1]);
    }
  }
  UniqueFd a, b;
};

std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

TEST(ProtocolTest, EncodeBytesRoundTripsEveryByteAndKeepsAscii) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  const std::string encoded = EncodeBytes(all);
  EXPECT_EQ(DecodeBytes(encoded), all);
  EXPECT_EQ(EncodeBytes("plain ascii/path"), "plain ascii/path");
  EXPECT_EQ(encoded.size(), 128u + 2 * 128u);  // bytes >= 0x80 take two
  // The encoding is valid UTF-8: it survives a JSON dump and parse.
  const json parsed = json::parse(json{{"s", encoded}}.dump());
  EXPECT_EQ(DecodeBytes(parsed["s"].get<std::string>()), all);
  EXPECT_EQ(DecodeBytesList(EncodeBytesList({"caf\xe9", "\xff\xfe", ""})),
            (std::vector<std::string>{"caf\xe9", "\xff\xfe", ""}));
}

TEST(ProtocolTest, SendNeverThrowsOnInvalidUtf8) {
  SocketPair sp;
  Status st = Send(sp.a.get(), {{"type", "raw"}, {"s", std::string("\xff\xfe bad")}});
  ASSERT_TRUE(st.ok()) << st.ToString();
  auto msg = Recv(sp.b.get(), 1000);
  ASSERT_TRUE(msg.ok()) << msg.status().ToString();
  EXPECT_EQ(msg->body["s"], "\xef\xbf\xbd\xef\xbf\xbd bad");  // two U+FFFD
}

TEST(ProtocolTest, JsonRoundTrip) {
  SocketPair sp;
  ASSERT_TRUE(sp.a.valid());
  const json body = {{"type", "spawn"},
                     {"argv", {"sh", "-c", "echo 'quoted \"x\"'"}},
                     {"n", 42},
                     {"big", std::uint64_t{1} << 40},
                     {"nested", {{"ok", true}, {"list", {1.5, nullptr, "\xc3\xa9"}}}}};
  ASSERT_TRUE(Send(sp.a.get(), body).ok());
  auto msg = Recv(sp.b.get(), 1000);
  ASSERT_TRUE(msg.ok()) << msg.status().ToString();
  EXPECT_EQ(msg->body, body);
  EXPECT_TRUE(msg->fds.empty());
}

TEST(ProtocolTest, MessagesKeepTheirBoundariesAndOrder) {
  SocketPair sp;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Send(sp.a.get(), {{"type", "n"}, {"i", i}}).ok());
  for (int i = 0; i < 5; ++i) {
    auto msg = Recv(sp.b.get(), 1000);
    ASSERT_TRUE(msg.ok()) << msg.status().ToString();
    EXPECT_EQ(msg->body.at("i"), i);
  }
}

TEST(ProtocolTest, PassesFileDescriptors) {
  SocketPair sp;
  auto p1 = MakePipe();
  auto p2 = MakePipe();
  ASSERT_TRUE(p1.ok() && p2.ok());
  const int fds[2] = {p1->write.get(), p2->write.get()};
  ASSERT_TRUE(Send(sp.a.get(), {{"type", "fds"}}, fds).ok());
  // Our copies go; only the passed ones keep the pipes open.
  p1->write.Reset();
  p2->write.Reset();

  auto msg = Recv(sp.b.get(), 1000);
  ASSERT_TRUE(msg.ok()) << msg.status().ToString();
  EXPECT_EQ(msg->body.at("type"), "fds");
  ASSERT_EQ(msg->fds.size(), 2u);
  for (const UniqueFd& fd : msg->fds) {
    EXPECT_TRUE(fd.valid());
    EXPECT_EQ(::fcntl(fd.get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC) << "received fds are cloexec";
  }
  ASSERT_TRUE(WriteAll(msg->fds[0].get(), "through the first").ok());
  ASSERT_TRUE(WriteAll(msg->fds[1].get(), "through the second").ok());
  msg->fds.clear();  // closes the last write ends: EOF for the readers
  EXPECT_EQ(ReadAll(p1->read.get()), "through the first");
  EXPECT_EQ(ReadAll(p2->read.get()), "through the second");
}

TEST(ProtocolTest, PassesTheMaximumNumberOfFdsAndRefusesMore) {
  SocketPair sp;
  std::vector<Pipe> pipes;
  std::vector<int> fds;
  for (int i = 0; i < kMaxFds + 1; ++i) {
    auto p = MakePipe();
    ASSERT_TRUE(p.ok());
    fds.push_back(p->write.get());
    pipes.push_back(std::move(p).value());
  }
  Status too_many = Send(sp.a.get(), {{"type", "x"}}, fds);
  EXPECT_EQ(too_many.code(), StatusCode::kInvalidArgument) << too_many.ToString();

  fds.pop_back();
  ASSERT_TRUE(Send(sp.a.get(), {{"type", "x"}}, fds).ok());
  auto msg = Recv(sp.b.get(), 1000);
  ASSERT_TRUE(msg.ok()) << msg.status().ToString();
  EXPECT_EQ(msg->fds.size(), static_cast<size_t>(kMaxFds));
}

TEST(ProtocolTest, EofIsUnavailable) {
  SocketPair sp;
  sp.a.Reset();
  auto msg = Recv(sp.b.get(), 1000);
  ASSERT_FALSE(msg.ok());
  EXPECT_EQ(msg.status().code(), StatusCode::kUnavailable) << msg.status().ToString();
  // Also with an infinite timeout: EOF must not block.
  auto again = Recv(sp.b.get(), -1);
  EXPECT_EQ(again.status().code(), StatusCode::kUnavailable);
}

TEST(ProtocolTest, QueuedMessagesAreDeliveredBeforeEof) {
  SocketPair sp;
  ASSERT_TRUE(Send(sp.a.get(), {{"type", "last words"}}).ok());
  sp.a.Reset();
  auto msg = Recv(sp.b.get(), 1000);
  ASSERT_TRUE(msg.ok()) << msg.status().ToString();
  EXPECT_EQ(msg->body.at("type"), "last words");
  EXPECT_EQ(Recv(sp.b.get(), 1000).status().code(), StatusCode::kUnavailable);
}

TEST(ProtocolTest, TimeoutIsDeadlineExceeded) {
  SocketPair sp;
  const auto start = std::chrono::steady_clock::now();
  auto msg = Recv(sp.b.get(), 100);
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_FALSE(msg.ok());
  EXPECT_EQ(msg.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_GE(waited, 0.09);
  EXPECT_LT(waited, 2.0);
}

TEST(ProtocolTest, NonBlockingSocketWithZeroTimeoutReturnsAtOnce) {
  SocketPair sp;
  ASSERT_TRUE(SetNonBlocking(sp.b.get(), true).ok());
  auto msg = Recv(sp.b.get(), 0);
  EXPECT_EQ(msg.status().code(), StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(Send(sp.a.get(), {{"type", "now"}}).ok());
  auto now = Recv(sp.b.get(), 0);
  ASSERT_TRUE(now.ok()) << now.status().ToString();
  EXPECT_EQ(now->body.at("type"), "now");
}

TEST(ProtocolTest, OversizeMessageIsRefusedBySend) {
  SocketPair sp;
  const json body = {{"type", "big"}, {"data", std::string(kMaxMessageBytes, 'x')}};
  Status st = Send(sp.a.get(), body);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  // Nothing was sent.
  EXPECT_EQ(Recv(sp.b.get(), 50).status().code(), StatusCode::kDeadlineExceeded);
}

TEST(ProtocolTest, MessageJustUnderTheLimitRoundTrips) {
  SocketPair sp;
  // Close to kMaxMessageBytes once serialized: a Send that is accepted must also arrive.
  const json body = {{"type", "big"}, {"data", std::string(kMaxMessageBytes - 64, 'y')}};
  ASSERT_LE(body.dump().size(), kMaxMessageBytes);
  Status st = Send(sp.a.get(), body);
  ASSERT_TRUE(st.ok()) << st.ToString();
  auto msg = Recv(sp.b.get(), 1000);
  ASSERT_TRUE(msg.ok()) << msg.status().ToString();
  EXPECT_EQ(msg->body.at("data").get<std::string>().size(), kMaxMessageBytes - 64);
}

TEST(ProtocolTest, OversizeRawMessageIsAnErrorOnRecv) {
  SocketPair sp;
  const int big = 1 << 20;
  ASSERT_EQ(::setsockopt(sp.a.get(), SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big), 0);
  ASSERT_EQ(::setsockopt(sp.b.get(), SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big), 0);
  const std::string raw = "{\"type\":\"" + std::string(kMaxMessageBytes + 10, 'z') + "\"}";
  ASSERT_EQ(::send(sp.a.get(), raw.data(), raw.size(), 0), static_cast<ssize_t>(raw.size()))
      << std::strerror(errno);
  auto msg = Recv(sp.b.get(), 1000);
  ASSERT_FALSE(msg.ok());
  EXPECT_EQ(msg.status().code(), StatusCode::kInternal);
  EXPECT_NE(msg.status().message().find("truncated"), std::string::npos) << msg.status().message();
  // The stream stays usable: the next message is intact.
  ASSERT_TRUE(Send(sp.a.get(), {{"type", "after"}}).ok());
  auto next = Recv(sp.b.get(), 1000);
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->body.at("type"), "after");
}

TEST(ProtocolTest, MalformedMessagesAreErrors) {
  SocketPair sp;
  for (const std::string raw :
       {"not json at all", "{\"type\": ", "[1, 2, 3]", "\"type\"", "{\"no_type\": 1}", "null"}) {
    ASSERT_EQ(::send(sp.a.get(), raw.data(), raw.size(), 0), static_cast<ssize_t>(raw.size()));
    auto msg = Recv(sp.b.get(), 1000);
    ASSERT_FALSE(msg.ok()) << "accepted " << raw;
    EXPECT_EQ(msg.status().code(), StatusCode::kInternal) << raw;
    EXPECT_NE(msg.status().message().find("malformed"), std::string::npos)
        << msg.status().message();
  }
}

TEST(ProtocolTest, FdsOfAMalformedMessageAreClosed) {
  SocketPair sp;
  auto p = MakePipe();
  ASSERT_TRUE(p.ok());
  const std::string raw = "garbage";
  iovec iov{const_cast<char*>(raw.data()), raw.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = control;
  mh.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  const int wfd = p->write.get();
  std::memcpy(CMSG_DATA(c), &wfd, sizeof wfd);
  ASSERT_EQ(::sendmsg(sp.a.get(), &mh, 0), static_cast<ssize_t>(raw.size()));
  p->write.Reset();
  EXPECT_FALSE(Recv(sp.b.get(), 1000).ok());
  // The received copy of the write end was closed with the message: the reader sees EOF.
  ASSERT_TRUE(SetNonBlocking(p->read.get(), true).ok());
  char ch;
  EXPECT_EQ(::read(p->read.get(), &ch, 1), 0);
}

}  // namespace
}  // namespace toolgym::sandbox::protocol
