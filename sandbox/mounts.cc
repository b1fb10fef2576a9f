#include "sandbox/mounts.h"

#include <fcntl.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "sandbox/fd.h"
#include "sandbox/workspace.h"

namespace toolgym::sandbox {
namespace {

// The new root is assembled on a tmpfs mounted over the host's /tmp in our private mount
// namespace, then becomes "/" through pivot_root.
constexpr char kNewRoot[] = "/tmp";

std::string R(const std::string& path) { return std::string(kNewRoot) + path; }

Status Mount(const char* src, const std::string& dst, const char* type, unsigned long flags,
             const std::string& data, const std::string& step) {
  if (::mount(src, dst.c_str(), type, flags, data.empty() ? nullptr : data.c_str()) != 0)
    return ErrnoError(step + " (mount " + dst + ")", errno);
  return OkStatus();
}

Status MkdirP(const std::string& path, mode_t mode) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return ErrnoError("mkdir " + path, ec.value());
  if (::chmod(path.c_str(), mode) != 0) return ErrnoError("chmod " + path, errno);
  return OkStatus();
}

Status TouchFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0444));
  if (!fd.valid()) return ErrnoError("create " + path, errno);
  return OkStatus();
}

// Bind `src` onto `dst` (created as a file or directory to match) and remount it read-only.
// Flags the host mount already has (nodev, noexec...) are locked in a user namespace and must be
// repeated, or the remount fails with EPERM.
Status BindReadOnly(const std::string& src, const std::string& dst, bool allow_devices) {
  struct stat st {};
  if (::stat(src.c_str(), &st) != 0) return ErrnoError("stat " + src, errno);
  if (S_ISDIR(st.st_mode)) {
    TG_RETURN_IF_ERROR(MkdirP(dst, 0755));
  } else {
    TG_RETURN_IF_ERROR(MkdirP(std::filesystem::path(dst).parent_path(), 0755));
    TG_RETURN_IF_ERROR(TouchFile(dst));
  }
  TG_RETURN_IF_ERROR(Mount(src.c_str(), dst, nullptr, MS_BIND | MS_REC, "", "bind " + src));
  struct statvfs sv {};
  if (::statvfs(dst.c_str(), &sv) != 0) return ErrnoError("statvfs " + dst, errno);
  unsigned long flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID;
  if (!allow_devices) flags |= MS_NODEV;
  if (sv.f_flag & ST_NODEV) flags |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  if (sv.f_flag & ST_NOATIME) flags |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME) flags |= MS_RELATIME;
  return Mount(nullptr, dst, nullptr, flags, "", "remount read-only " + src);
}

Status MountTmpfs(const std::string& dst, std::uint64_t bytes, const char* mode,
                  const std::string& step) {
  std::string data = std::string("mode=") + mode;
  if (bytes != 0) data += ",size=" + std::to_string(bytes);
  return Mount("tmpfs", dst, "tmpfs", MS_NOSUID | MS_NODEV, data, step);
}

Status WriteFile(const std::string& path, const std::string& contents) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return ErrnoError("create " + path, errno);
  return WriteAll(fd.get(), contents).WithContext(path);
}

bool Exists(const std::string& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

bool IsDirty(const char* path) {
  struct statfs sf {};
  if (::statfs(path, &sf) != 0) return true;
  return sf.f_files - sf.f_ffree > 1 || sf.f_blocks != sf.f_bfree;
}

}  // namespace

Status BuildRoot(const RootSpec& spec) {
  // Nothing we mount may propagate back to the host, and nothing the host mounts may appear.
  TG_RETURN_IF_ERROR(Mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, "", "make / private"));
  // Sources of extra binds may lie under /tmp, which the new root's tmpfs is about to cover:
  // hold them by O_PATH fds and bind from /proc/self/fd/N.
  std::vector<UniqueFd> bind_sources;
  for (const auto& [host, inside] : spec.ro_binds) {
    bind_sources.emplace_back(::open(host.c_str(), O_PATH | O_CLOEXEC));
    if (!bind_sources.back().valid()) return ErrnoError("open bind source " + host, errno);
  }
  TG_RETURN_IF_ERROR(
      Mount("tmpfs", kNewRoot, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=4m", "root tmpfs"));

  // System directories: /usr read-only, and the merged-/usr links (/bin -> usr/bin...) as the
  // host has them (a real directory on an unmerged host is bound read-only).
  TG_RETURN_IF_ERROR(BindReadOnly("/usr", R("/usr"), false));
  for (const char* top : {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}) {
    struct stat st {};
    if (::lstat(top, &st) != 0) continue;
    if (S_ISLNK(st.st_mode)) {
      char target[4096];
      ssize_t n = ::readlink(top, target, sizeof target - 1);
      if (n < 0) return ErrnoError(std::string("readlink ") + top, errno);
      target[n] = '\0';
      if (::symlink(target, R(top).c_str()) != 0)
        return ErrnoError(std::string("symlink ") + top, errno);
    } else if (S_ISDIR(st.st_mode)) {
      TG_RETURN_IF_ERROR(BindReadOnly(top, R(top), false));
    }
  }
  for (size_t i = 0; i < spec.ro_binds.size(); ++i)
    TG_RETURN_IF_ERROR(BindReadOnly("/proc/self/fd/" + std::to_string(bind_sources[i].get()),
                                    R(spec.ro_binds[i].second), false));

  // A minimal /etc: generated identity files plus a few host files programs need to run.
  TG_RETURN_IF_ERROR(MkdirP(R("/etc"), 0755));
  for (const auto& [name, contents] : spec.etc_files)
    TG_RETURN_IF_ERROR(WriteFile(R("/etc/" + name), contents));
  for (const std::string& name : spec.etc_binds) {
    const std::string host = "/etc/" + name;
    if (Exists(host)) TG_RETURN_IF_ERROR(BindReadOnly(host, R(host), false));
  }

  // /dev: the four harmless devices bound from the host, standard links, a private /dev/shm.
  TG_RETURN_IF_ERROR(MkdirP(R("/dev"), 0755));
  TG_RETURN_IF_ERROR(
      Mount("tmpfs", R("/dev"), "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k", "dev tmpfs"));
  for (const char* dev : {"/dev/null", "/dev/zero", "/dev/random", "/dev/urandom", "/dev/full"}) {
    TG_RETURN_IF_ERROR(TouchFile(R(dev)));
    TG_RETURN_IF_ERROR(Mount(dev, R(dev), nullptr, MS_BIND, "", std::string("bind ") + dev));
  }
  const std::pair<const char*, const char*> links[] = {{"/proc/self/fd", "/dev/fd"},
                                                       {"/proc/self/fd/0", "/dev/stdin"},
                                                       {"/proc/self/fd/1", "/dev/stdout"},
                                                       {"/proc/self/fd/2", "/dev/stderr"}};
  for (const auto& [target, link] : links)
    if (::symlink(target, R(link).c_str()) != 0)
      return ErrnoError(std::string("symlink ") + link, errno);
  TG_RETURN_IF_ERROR(MkdirP(R("/dev/shm"), 01777));
  TG_RETURN_IF_ERROR(MountTmpfs(R("/dev/shm"), spec.tmp_bytes, "1777", "/dev/shm tmpfs"));
  TG_RETURN_IF_ERROR(Mount(nullptr, R("/dev"), nullptr,
                           MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k",
                           "remount /dev read-only"));

  // /proc of the sandbox's own PID namespace, with the kernel tunables read-only.
  TG_RETURN_IF_ERROR(MkdirP(R("/proc"), 0555));
  TG_RETURN_IF_ERROR(
      Mount("proc", R("/proc"), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "", "mount proc"));
  for (const char* p : {"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus"}) {
    if (!Exists(R(p))) continue;
    TG_RETURN_IF_ERROR(
        Mount(R(p).c_str(), R(p), nullptr, MS_BIND | MS_REC, "", std::string("bind ") + p));
    TG_RETURN_IF_ERROR(Mount(nullptr, R(p), nullptr,
                             MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                             "", std::string("remount read-only ") + p));
  }

  TG_RETURN_IF_ERROR(MkdirP(R("/tmp"), 01777));
  TG_RETURN_IF_ERROR(MountTmpfs(R("/tmp"), spec.tmp_bytes, "1777", "/tmp tmpfs"));

  TG_RETURN_IF_ERROR(MkdirP(R(kHiddenDir), 0700));
  TG_RETURN_IF_ERROR(MountTmpfs(R(kHiddenDir), 0, "0700", "hidden tmpfs"));
  TG_RETURN_IF_ERROR(MkdirP(R(kLowerDir), 0755));
  TG_RETURN_IF_ERROR(MkdirP(R(kUpperMount), 0700));
  if (::chown(R(kLowerDir).c_str(), spec.uid, spec.uid) != 0)
    return ErrnoError("chown lower dir", errno);
  TG_RETURN_IF_ERROR(MkdirP(R(spec.workspace_path), 0755));

  // pivot_root(".", ".") stacks the old root under the new one; detaching it leaves no path to
  // the host's filesystem.
  if (::chdir(kNewRoot) != 0) return ErrnoError("chdir new root", errno);
  if (::syscall(SYS_pivot_root, ".", ".") != 0) return ErrnoError("pivot_root", errno);
  if (::umount2(".", MNT_DETACH) != 0) return ErrnoError("detach old root", errno);
  if (::chdir("/") != 0) return ErrnoError("chdir /", errno);
  TG_RETURN_IF_ERROR(Mount(nullptr, "/", nullptr,
                           MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, "",
                           "remount / read-only"));

  if (::sethostname(spec.hostname.data(), spec.hostname.size()) != 0)
    return ErrnoError("sethostname", errno);
  if (spec.own_network) TG_RETURN_IF_ERROR(BringUpLoopback());
  return OkStatus();
}

Status MountWorkspace(const RootSpec& spec, bool* overlay) {
  const std::string& ws = spec.workspace_path;
  // Detach whatever is there (first call: nothing). MNT_DETACH never blocks on busy files; the
  // previous command tree is dead by now.
  ::umount2(ws.c_str(), MNT_DETACH);
  ::umount2(kUpperMount, MNT_DETACH);
  TG_RETURN_IF_ERROR(MountTmpfs(kUpperMount, spec.workspace_bytes, "0700", "workspace tmpfs"));
  const std::string upper = std::string(kUpperMount) + "/u";
  const std::string work = std::string(kUpperMount) + "/w";
  for (const std::string& d : {upper, work}) {
    if (::mkdir(d.c_str(), 0755) != 0) return ErrnoError("mkdir " + d, errno);
  }
  if (::chown(upper.c_str(), spec.uid, spec.uid) != 0) return ErrnoError("chown " + upper, errno);
  const std::string opts =
      "lowerdir=" + std::string(kLowerDir) + ",upperdir=" + upper + ",workdir=" + work;
  if (::mount("overlay", ws.c_str(), "overlay", MS_NOSUID | MS_NODEV,
              (opts + ",userxattr").c_str()) == 0 ||
      ::mount("overlay", ws.c_str(), "overlay", MS_NOSUID | MS_NODEV, opts.c_str()) == 0) {
    *overlay = true;
    return OkStatus();
  }
  // No overlayfs in user namespaces (Linux < 5.11): copy the template into the tmpfs instead.
  // Reset then costs O(template size).
  *overlay = false;
  if (::rmdir(work.c_str()) != 0) return ErrnoError("rmdir " + work, errno);
  UniqueFd lower(::open(kLowerDir, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!lower.valid()) return ErrnoError("open lower dir", errno);
  TG_ASSIGN_OR_RETURN(FileTree tree, FileTree::ReadBeneath(lower.get(), 0));
  UniqueFd up(::open(upper.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!up.valid()) return ErrnoError("open upper dir", errno);
  TG_RETURN_IF_ERROR(tree.WriteBeneath(up.get(), spec.uid, spec.uid));
  return Mount(upper.c_str(), ws, nullptr, MS_BIND, "", "bind workspace copy");
}

Status RefreshScratchMounts(const RootSpec& spec) {
  for (const char* path : {"/tmp", "/dev/shm"}) {
    if (!IsDirty(path)) continue;
    if (::umount2(path, MNT_DETACH) != 0) return ErrnoError(std::string("unmount ") + path, errno);
    TG_RETURN_IF_ERROR(MountTmpfs(path, spec.tmp_bytes, "1777", std::string("fresh ") + path));
  }
  return OkStatus();
}

Status BringUpLoopback() {
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s.valid()) return ErrnoError("socket for lo", errno);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(s.get(), SIOCGIFFLAGS, &ifr) != 0) return ErrnoError("SIOCGIFFLAGS lo", errno);
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (::ioctl(s.get(), SIOCSIFFLAGS, &ifr) != 0) return ErrnoError("SIOCSIFFLAGS lo", errno);
  return OkStatus();
}

Status DropBoundingSet() {
  for (int cap = 0;; ++cap) {
    if (::prctl(PR_CAPBSET_READ, cap) < 0) break;  // past CAP_LAST_CAP
    if (::prctl(PR_CAPBSET_DROP, cap) != 0) return ErrnoError("PR_CAPBSET_DROP", errno);
  }
  return OkStatus();
}

}  // namespace toolgym::sandbox
