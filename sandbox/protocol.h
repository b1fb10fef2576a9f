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

Status Send(int sock, const nlohmann::json& body, std::span<const int> fds = {});
// Receives one message. timeout_ms < 0 waits forever. EOF is kUnavailable; a timeout is
// kDeadlineExceeded; a non-blocking socket with nothing queued returns kDeadlineExceeded with
// timeout_ms == 0.
StatusOr<Message> Recv(int sock, int timeout_ms = -1);

}  // namespace toolgym::sandbox::protocol
