#include "sandbox/workspace.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <sstream>
#include <vector>

#include "sandbox/fd.h"

namespace toolgym::sandbox {
namespace {

std::pair<std::string, std::string> SplitParent(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

Status ReadDirRecursive(int dirfd, const std::string& prefix, std::uint64_t max_bytes,
                        std::uint64_t& total, FileTree& tree) {
  // A new open file description: a dup would share (and exhaust) the caller's read position.
  int dup = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dup < 0) return ErrnoError("reopen directory " + prefix, errno);
  DIR* dir = ::fdopendir(dup);
  if (dir == nullptr) {
    ::close(dup);
    return ErrnoError("fdopendir " + prefix, errno);
  }
  std::vector<std::string> names;
  while (dirent* de = ::readdir(dir)) {
    std::string name = de->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  ::closedir(dir);
  for (const std::string& name : names) {
    const std::string rel = prefix.empty() ? name : prefix + "/" + name;
    // Paths cost host memory too: a hostile tree of deep, long names must not grow the host
    // without bound, and no path a later WriteBeneath could not recreate is accepted.
    if (rel.size() >= PATH_MAX)
      return ResourceExhaustedError("workspace path longer than {} bytes under '{}'", PATH_MAX,
                                    prefix.substr(0, 64));
    total += rel.size() + FileTree::kEntryOverheadBytes;
    if (max_bytes != 0 && total > max_bytes)
      return ResourceExhaustedError("workspace holds more than {} bytes", max_bytes);
    struct stat st {};
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // removed meanwhile
      return ErrnoError("fstatat " + rel, errno);
    }
    const std::uint32_t mode = st.st_mode & 07777;
    if (S_ISDIR(st.st_mode)) {
      UniqueFd sub(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub.valid()) {
        if (errno == ENOENT || errno == ELOOP || errno == ENOTDIR) continue;
        return ErrnoError("open directory " + rel, errno);
      }
      TG_RETURN_IF_ERROR(tree.AddDirectory(rel, mode));
      TG_RETURN_IF_ERROR(ReadDirRecursive(sub.get(), rel, max_bytes, total, tree));
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(4096, '\0');
      ssize_t n = ::readlinkat(dirfd, name.c_str(), target.data(), target.size());
      if (n < 0) continue;
      target.resize(static_cast<size_t>(n));
      TG_RETURN_IF_ERROR(tree.AddSymlink(rel, std::move(target)));
    } else if (S_ISREG(st.st_mode)) {
      // O_NONBLOCK: if the entry was swapped for a FIFO after fstatat, open must not block.
      UniqueFd f(::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
      if (!f.valid()) continue;
      struct stat fst {};
      if (::fstat(f.get(), &fst) != 0 || !S_ISREG(fst.st_mode)) continue;
      std::string data;
      char buf[65536];
      for (;;) {
        ssize_t n = ::read(f.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        total += static_cast<std::uint64_t>(n);
        if (max_bytes != 0 && total > max_bytes)
          return ResourceExhaustedError("workspace holds more than {} bytes", max_bytes);
        data.append(buf, static_cast<size_t>(n));
      }
      TG_RETURN_IF_ERROR(tree.AddFile(rel, std::move(data), fst.st_mode & 07777));
    }
    // FIFOs, sockets and devices are not part of a workspace's state.
  }
  return OkStatus();
}

}  // namespace

Status ValidateRelativePath(const std::string& path) {
  if (path.empty()) return InvalidArgumentError("workspace path is empty");
  if (path.front() == '/')
    return InvalidArgumentError("workspace path '{}' must be relative", path);
  if (path.find('\0') != std::string::npos)
    return InvalidArgumentError("workspace path contains a NUL byte");
  std::stringstream ss(path);
  std::string part;
  while (std::getline(ss, part, '/')) {
    if (part.empty() || part == "." || part == "..")
      return InvalidArgumentError("workspace path '{}' has an empty, '.' or '..' component", path);
  }
  if (path.back() == '/') return InvalidArgumentError("workspace path '{}' ends with '/'", path);
  return OkStatus();
}

Status FileTree::Add(const std::string& path, FileEntry entry) {
  TG_RETURN_IF_ERROR(ValidateRelativePath(path));
  entries_[path] = std::move(entry);
  return OkStatus();
}

Status FileTree::AddFile(const std::string& path, std::string contents, std::uint32_t mode) {
  return Add(path, FileEntry{FileEntry::Type::kFile, mode & 07777, std::move(contents)});
}
Status FileTree::AddDirectory(const std::string& path, std::uint32_t mode) {
  return Add(path, FileEntry{FileEntry::Type::kDirectory, mode & 07777, ""});
}
Status FileTree::AddSymlink(const std::string& path, std::string target) {
  if (target.empty()) return InvalidArgumentError("symlink '{}' has an empty target", path);
  return Add(path, FileEntry{FileEntry::Type::kSymlink, 0777, std::move(target)});
}

std::uint64_t FileTree::total_bytes() const {
  std::uint64_t n = 0;
  for (const auto& [path, e] : entries_) n += e.data.size();
  return n;
}

StatusOr<FileTree> FileTree::FromDirectory(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError("open template directory " + dir, errno);
  FileTree tree;
  std::uint64_t total = 0;
  TG_RETURN_IF_ERROR(ReadDirRecursive(fd.get(), "", 0, total, tree));
  return tree;
}

StatusOr<FileTree> FileTree::ReadBeneath(int dirfd, std::uint64_t max_bytes) {
  FileTree tree;
  std::uint64_t total = 0;
  TG_RETURN_IF_ERROR(ReadDirRecursive(dirfd, "", max_bytes, total, tree));
  return tree;
}

Status FileTree::WriteBeneath(int dirfd, uid_t uid, gid_t gid) const {
  // Directories are walked one component at a time with O_NOFOLLOW, so no symlink (planted or
  // from the tree itself) is ever followed. They are created owner-writable and get their final
  // modes in a last pass, deepest first, so a read-only directory can still receive its entries.
  std::map<std::string, std::uint32_t> dir_modes;  // path -> final mode
  auto open_dir = [&](const std::string& rel, UniqueFd* out) -> Status {
    UniqueFd cur(::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!cur.valid()) return ErrnoError("open workspace root", errno);
    if (rel == ".") {
      *out = std::move(cur);
      return OkStatus();
    }
    std::stringstream ss(rel);
    std::string part, so_far;
    while (std::getline(ss, part, '/')) {
      so_far = so_far.empty() ? part : so_far + "/" + part;
      if (::mkdirat(cur.get(), part.c_str(), 0700) == 0) {
        if (::fchownat(cur.get(), part.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) != 0)
          return ErrnoError("chown " + so_far, errno);
        dir_modes.emplace(so_far, 0755);  // implied parent, unless listed itself
      } else if (errno != EEXIST) {
        return ErrnoError("mkdir " + so_far, errno);
      }
      UniqueFd next(
          ::openat(cur.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!next.valid())
        return ErrnoError("open directory " + so_far + " (not following links)", errno);
      cur = std::move(next);
    }
    *out = std::move(cur);
    return OkStatus();
  };
  for (const auto& [path, e] : entries_) {
    if (e.type == FileEntry::Type::kDirectory) {
      UniqueFd d;
      TG_RETURN_IF_ERROR(open_dir(path, &d));
      dir_modes[path] = e.mode;
      continue;
    }
    auto [parent, name] = SplitParent(path);
    UniqueFd pfd;
    TG_RETURN_IF_ERROR(open_dir(parent, &pfd));
    if (e.type == FileEntry::Type::kSymlink) {
      if (::symlinkat(e.data.c_str(), pfd.get(), name.c_str()) != 0)
        return ErrnoError("symlink " + path, errno);
      if (::fchownat(pfd.get(), name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) != 0)
        return ErrnoError("chown " + path, errno);
      continue;
    }
    UniqueFd f(::openat(pfd.get(), name.c_str(),
                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!f.valid()) return ErrnoError("create " + path, errno);
    TG_RETURN_IF_ERROR(WriteAll(f.get(), e.data).WithContext("writing " + path));
    if (::fchown(f.get(), uid, gid) != 0) return ErrnoError("chown " + path, errno);
    if (::fchmod(f.get(), e.mode) != 0) return ErrnoError("chmod " + path, errno);
  }
  for (auto it = dir_modes.rbegin(); it != dir_modes.rend(); ++it) {
    UniqueFd d;
    TG_RETURN_IF_ERROR(open_dir(it->first, &d));
    if (::fchmod(d.get(), it->second) != 0) return ErrnoError("chmod " + it->first, errno);
  }
  return OkStatus();
}

}  // namespace toolgym::sandbox
