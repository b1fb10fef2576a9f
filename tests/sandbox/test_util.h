// Helpers shared by the sandbox test suites.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

namespace toolgym::sandbox::testing {

// Runs `body` in a forked child, for failures that would kill the calling process (SIGPIPE,
// seccomp filters, dropped privileges), and returns the child's wait status. `body` returns the
// child's exit code.
template <typename F>
int RunInChild(F body) {
  pid_t pid = ::fork();
  if (pid == 0) _exit(body());
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

}  // namespace toolgym::sandbox::testing
