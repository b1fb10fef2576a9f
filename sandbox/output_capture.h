// Capture of a command's stdout or stderr: keeps the first `cap` bytes, counts the rest, and
// reads a bounded number of chunks per wake-up so a flood cannot starve other handlers.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <string>

namespace toolgym::sandbox {

struct OutputCapture {
  std::string data;
  std::uint64_t total = 0;
  bool truncated = false;

  enum class ReadState { kAgain, kEof };
  // Reads from non-blocking `fd` until it would block (kAgain), reaches EOF or fails (kEof), or
  // `max_reads` chunks were read (kAgain).
  ReadState ReadFrom(int fd, std::uint64_t cap, int max_reads = 16) {
    char buf[65536];
    for (int i = 0; i < max_reads; ++i) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n > 0) {
        total += static_cast<std::uint64_t>(n);
        if (data.size() < cap)
          data.append(buf, std::min<std::size_t>(static_cast<std::size_t>(n), cap - data.size()));
        if (total > cap) truncated = true;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return ReadState::kAgain;
      return ReadState::kEof;
    }
    return ReadState::kAgain;
  }
};

}  // namespace toolgym::sandbox
