// The control protocol between a Sandbox (host side) and its toolgym-sandbox-init process.
//
// One AF_UNIX SOCK_SEQPACKET socket; each message is one JSON object with a "type" field,
// optionally carrying file descriptors (SCM_RIGHTS). Requests from the host, replies from init:
//   config          -> ready | error        (once, right after exec)
//   mount_workspace -> ok | error           (first mount and every reset)
//   spawn (+fds)    -> exited (or error)
//   kill            -> (the pending job's exited)
// Note: init_main.cc and sandbox.cc both speak this; change them together.
#pragma once

#include <nlohmann/json.hpp>
#include <span>
#include <vector>

#include "common/status.h"
#include "sandbox/fd.h"

namespace toolgym::sandbox::protocol {

// The init's end of the control socket after exec.
inline constexpr int kControlFd = 3;
inline constexpr size_t kMaxMessageBytes = 256 * 1024;
inline constexpr int kMaxFds = 8;

struct Message {
  nlohmann::json body;
  std::vector<UniqueFd> fds;
};

// Never throws: strings that are not valid UTF-8 are replaced (U+FFFD) rather than failing the
// send; fields that must keep their exact bytes go through EncodeBytes first.
Status Send(int sock, const nlohmann::json& body, std::span<const int> fds = {});

// JSON strings are UTF-8, but argv, environment values and paths are arbitrary bytes (a
// Latin-1 file name, a command printing raw bytes). EncodeBytes maps each byte to the code point
// of the same value (as Latin-1 does), which any byte string survives; DecodeBytes inverts it.
// ASCII is unchanged.
std::string EncodeBytes(std::string_view bytes);
std::string DecodeBytes(std::string_view utf8);
nlohmann::json EncodeBytesList(const std::vector<std::string>& list);
std::vector<std::string> DecodeBytesList(const nlohmann::json& list);
// Receives one message. timeout_ms < 0 waits forever. EOF is kUnavailable; a timeout is
// kDeadlineExceeded; a non-blocking socket with nothing queued returns kDeadlineExceeded with
// timeout_ms == 0.
StatusOr<Message> Recv(int sock, int timeout_ms = -1);

}  // namespace toolgym::sandbox::protocol
