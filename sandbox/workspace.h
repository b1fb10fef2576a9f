// Workspace contents as an in-memory file tree: the template a sandbox starts from, and what a
// snapshot of a live workspace returns (so a fork never shares a writable file with its source).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>

#include "common/status.h"

namespace toolgym::sandbox {

struct FileEntry {
  enum class Type { kFile, kDirectory, kSymlink };
  Type type = Type::kFile;
  std::uint32_t mode = 0644;  // permission bits only
  std::string data;           // file contents, or the symlink target
  bool operator==(const FileEntry&) const = default;
};

// Relative, normalized paths ("src/main.py") to entries. Parent directories are implied and
// created with mode 0755 when not listed.
class FileTree {
 public:
  // What ReadBeneath charges per entry besides its path and data (map node, FileEntry).
  static constexpr std::uint64_t kEntryOverheadBytes = 128;

  Status AddFile(const std::string& path, std::string contents, std::uint32_t mode = 0644);
  Status AddDirectory(const std::string& path, std::uint32_t mode = 0755);
  Status AddSymlink(const std::string& path, std::string target);

  // Reads a host directory (regular files, directories, symlinks; other types are skipped).
  static StatusOr<FileTree> FromDirectory(const std::string& dir);
  // Reads the tree under `dirfd` without ever following a symlink or blocking on a FIFO: safe on
  // a directory that hostile code can change concurrently. Stops with kResourceExhausted past
  // `max_bytes` of file data plus paths plus a fixed overhead per entry, or at a path of
  // PATH_MAX bytes or more.
  static StatusOr<FileTree> ReadBeneath(int dirfd, std::uint64_t max_bytes);
  // Creates the tree under `dirfd`, owned by uid:gid, walking one component at a time with
  // O_NOFOLLOW: no symlink is ever followed, so nothing outside `dirfd` can be touched.
  Status WriteBeneath(int dirfd, uid_t uid, gid_t gid) const;

  const std::map<std::string, FileEntry>& entries() const { return entries_; }
  std::uint64_t total_bytes() const;
  bool empty() const { return entries_.empty(); }
  bool operator==(const FileTree&) const = default;

 private:
  Status Add(const std::string& path, FileEntry entry);
  std::map<std::string, FileEntry> entries_;
};

// Checks that `path` is relative, non-empty, with no "." or ".." component and no NUL byte.
Status ValidateRelativePath(const std::string& path);

}  // namespace toolgym::sandbox
