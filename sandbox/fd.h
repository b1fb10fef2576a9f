// RAII for file descriptors, and small fd helpers used on both sides of the sandbox.
#pragma once

#include <unistd.h>

#include <utility>

#include "common/status.h"

namespace toolgym::sandbox {

// Owns one file descriptor; closes it on destruction. Move-only.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) Reset(std::exchange(o.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release() { return std::exchange(fd_, -1); }
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};
// pipe2(O_CLOEXEC); both ends close-on-exec.
StatusOr<Pipe> MakePipe();

Status SetNonBlocking(int fd, bool on);

// write(2) that cannot raise SIGPIPE in the host: a command that closes its end of a pipe makes
// the write fail with EPIPE instead of killing the whole host process. SIGPIPE is blocked on the
// calling thread only for the call, and a SIGPIPE it caused is consumed (the way libcurl does
// it), so the process's own disposition is left alone.
ssize_t WriteNoSigpipe(int fd, const void* data, size_t size);

// Writes all of `data` (blocking fd), retrying on EINTR; never raises SIGPIPE.
Status WriteAll(int fd, std::string_view data);
// Reads a whole small file (e.g. under /proc or /sys).
StatusOr<std::string> ReadSmallFile(const std::string& path);
Status WriteSmallFile(const std::string& path, std::string_view data);

}  // namespace toolgym::sandbox
