// The sandbox's filesystem, built by toolgym-sandbox-init inside its own mount namespace:
// a tmpfs root holding read-only binds of the system directories, a generated minimal /etc, a
// minimal /dev, /proc of the sandbox's PID namespace, a private size-capped /tmp, and the
// workspace (an overlay whose upper layer is a size-capped tmpfs, so a reset is O(1)).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace toolgym::sandbox {

// Where the init keeps the workspace layers; mode 0700, owned by the sandbox's root, so the
// command's user cannot enter it.
inline constexpr char kHiddenDir[] = "/.toolgym";
inline constexpr char kLowerDir[] = "/.toolgym/lower";  // pristine template (written by host)
inline constexpr char kUpperMount[] = "/.toolgym/upper";

struct RootSpec {
  std::vector<std::pair<std::string, std::string>> ro_binds;  // {host, sandbox}
  std::vector<std::string> etc_binds;            // host /etc entries bound read-only when present
  std::map<std::string, std::string> etc_files;  // generated /etc files: name -> contents
  std::string workspace_path;
  std::uint64_t workspace_bytes = 0;
  std::uint64_t tmp_bytes = 0;
  std::string hostname;
  bool own_network = true;
  unsigned uid = 1000;  // the command's uid and gid inside the sandbox
};

// Builds the root and pivots into it. Runs in the init, as root of its user namespace, before
// any untrusted code exists. Each failure names the step, the path and errno.
Status BuildRoot(const RootSpec& spec);

// (Re)mounts the workspace: a fresh tmpfs upper layer over the pristine lower one. `overlay`
// reports whether overlayfs was used (false: the lower layer was copied into a tmpfs).
Status MountWorkspace(const RootSpec& spec, bool* overlay);

// Replaces /tmp and /dev/shm with empty tmpfs mounts if a previous command left anything there.
Status RefreshScratchMounts(const RootSpec& spec);

// Brings up `lo` in the current network namespace.
Status BringUpLoopback();

// Drops every capability from the bounding set (the init keeps its effective set).
Status DropBoundingSet();

}  // namespace toolgym::sandbox
