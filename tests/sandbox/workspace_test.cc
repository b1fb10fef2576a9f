// FileTree: path validation, host-side round trips through WriteBeneath/ReadBeneath, and the
// safety properties ReadBeneath and WriteBeneath promise on a directory hostile code can change.
#include "sandbox/workspace.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>

#include "sandbox/fd.h"

namespace toolgym::sandbox {
namespace {

namespace fs = std::filesystem;

// A fresh host directory, removed with everything under it at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "toolgym-ws-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
    fd_.Reset(::open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  int fd() const { return fd_.get(); }

 private:
  std::string path_;
  UniqueFd fd_;
};

void WriteHostFile(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
}

UniqueFd OpenDir(const std::string& path) {
  return UniqueFd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

std::string ReadHostFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

FileEntry File(std::string data, std::uint32_t mode = 0644) {
  return FileEntry{FileEntry::Type::kFile, mode, std::move(data)};
}
FileEntry Dir(std::uint32_t mode = 0755) {
  return FileEntry{FileEntry::Type::kDirectory, mode, ""};
}
FileEntry Link(std::string target) {
  return FileEntry{FileEntry::Type::kSymlink, 0777, std::move(target)};
}

class WorkspaceTest : public ::testing::Test {
 protected:
  // Implied directories are created 0755 regardless of the test runner's umask.
  void SetUp() override { old_umask_ = ::umask(022); }
  void TearDown() override { ::umask(old_umask_); }
  mode_t old_umask_ = 0;
};

TEST(ValidateRelativePathTest, AcceptsNormalizedRelativePaths) {
  for (const char* p : {"a", "a/b", "src/main.py", ".hidden", "a/..b", "...", "a b/c"}) {
    EXPECT_TRUE(ValidateRelativePath(p).ok()) << p;
  }
}

TEST(ValidateRelativePathTest, RejectsBadPaths) {
  const std::string with_nul("a\0b", 3);
  for (const std::string& p : {std::string(""), std::string("/abs"), std::string("a/../b"),
                               std::string(".."), std::string("a//b"), std::string("./a"),
                               std::string("a/."), std::string("a/"), std::string("/"), with_nul}) {
    Status st = ValidateRelativePath(p);
    EXPECT_FALSE(st.ok()) << "accepted '" << p << "'";
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << p;
  }
}

TEST(FileTreeTest, AddRejectsInvalidPathsAndEmptySymlinkTargets) {
  FileTree t;
  EXPECT_EQ(t.AddFile("/etc/passwd", "x").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(t.AddDirectory("a/../b").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(t.AddSymlink("a//b", "t").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(t.AddSymlink("link", "").code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(t.empty());
}

TEST(FileTreeTest, AddStoresEntriesAndCountsBytes) {
  FileTree t;
  ASSERT_TRUE(t.AddFile("a.txt", "hello", 0600).ok());
  ASSERT_TRUE(t.AddDirectory("d", 0700).ok());
  ASSERT_TRUE(t.AddSymlink("d/link", "../a.txt").ok());
  // Only permission bits are kept.
  ASSERT_TRUE(t.AddFile("x", "12", 0100755).ok());
  const std::map<std::string, FileEntry> want = {
      {"a.txt", File("hello", 0600)},
      {"d", Dir(0700)},
      {"d/link", Link("../a.txt")},
      {"x", File("12", 0755)},
  };
  EXPECT_EQ(t.entries(), want);
  EXPECT_EQ(t.total_bytes(), 5u + 8u + 2u);  // file data plus the symlink target
  EXPECT_FALSE(t.empty());
  // Adding a path again replaces the entry.
  ASSERT_TRUE(t.AddFile("a.txt", "bye").ok());
  EXPECT_EQ(t.entries().at("a.txt"), File("bye"));
}

TEST_F(WorkspaceTest, WriteThenReadRoundTripsFilesModesDirsAndSymlinks) {
  FileTree t;
  ASSERT_TRUE(t.AddFile("plain.txt", "plain\n").ok());
  ASSERT_TRUE(t.AddFile("run.sh", "#!/bin/sh\necho hi\n", 0755).ok());
  ASSERT_TRUE(t.AddFile("secret", "s", 0600).ok());
  ASSERT_TRUE(t.AddFile("empty", "").ok());
  std::string binary;
  for (int i = 0; i < 256; ++i) binary.push_back(static_cast<char>(i));
  ASSERT_TRUE(t.AddFile("bin/all_bytes", binary + binary).ok());
  ASSERT_TRUE(t.AddDirectory("private", 0700).ok());
  ASSERT_TRUE(t.AddDirectory("empty_dir").ok());
  ASSERT_TRUE(t.AddSymlink("link_rel", "plain.txt").ok());
  ASSERT_TRUE(t.AddSymlink("private/link_abs", "/etc/passwd").ok());
  ASSERT_TRUE(t.AddSymlink("dangling", "does/not/exist").ok());
  ASSERT_TRUE(t.AddFile("deep/er/still/file.py", "print(1)\n").ok());

  TempDir dir;
  ASSERT_TRUE(t.WriteBeneath(dir.fd(), ::getuid(), ::getgid()).ok());
  auto back = FileTree::ReadBeneath(dir.fd(), 0);
  ASSERT_TRUE(back.ok()) << back.status().ToString();

  // Implied parents come back as explicit 0755 directories; everything else is identical.
  FileTree want = t;
  for (const char* d : {"bin", "deep", "deep/er", "deep/er/still"})
    ASSERT_TRUE(want.AddDirectory(d).ok());
  EXPECT_EQ(back->entries(), want.entries());
  EXPECT_EQ(*back, want);

  // The host sees the same thing.
  struct stat st {};
  ASSERT_EQ(::stat((dir.path() + "/run.sh").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  EXPECT_EQ(ReadHostFile(dir.path() + "/bin/all_bytes"), binary + binary);
  EXPECT_EQ(fs::read_symlink(dir.path() + "/private/link_abs").string(), "/etc/passwd");
}

TEST_F(WorkspaceTest, WriteBeneathChownsEverythingToTheGivenOwner) {
  FileTree t;
  ASSERT_TRUE(t.AddFile("d/f", "x").ok());
  ASSERT_TRUE(t.AddSymlink("d/l", "f").ok());
  ASSERT_TRUE(t.AddDirectory("e", 0711).ok());
  TempDir dir;
  const uid_t uid = 4321;
  const gid_t gid = 8765;
  ASSERT_TRUE(t.WriteBeneath(dir.fd(), uid, gid).ok());
  for (const char* p : {"d", "d/f", "d/l", "e"}) {
    struct stat st {};
    ASSERT_EQ(::lstat((dir.path() + "/" + p).c_str(), &st), 0) << p;
    EXPECT_EQ(st.st_uid, uid) << p;
    EXPECT_EQ(st.st_gid, gid) << p;
  }
}

TEST_F(WorkspaceTest, ReadBeneathNeverFollowsSymlinks) {
  TempDir dir;
  ASSERT_EQ(::symlink("/etc", (dir.path() + "/etc_link").c_str()), 0);
  ASSERT_EQ(::symlink("/etc/passwd", (dir.path() + "/passwd_link").c_str()), 0);
  ASSERT_EQ(::mkdir((dir.path() + "/sub").c_str(), 0755), 0);
  ASSERT_EQ(::symlink("..", (dir.path() + "/sub/up").c_str()), 0);
  auto tree = FileTree::ReadBeneath(dir.fd(), 0);
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  const std::map<std::string, FileEntry> want = {
      {"etc_link", Link("/etc")},
      {"passwd_link", Link("/etc/passwd")},
      {"sub", Dir(0755)},
      {"sub/up", Link("..")},
  };
  EXPECT_EQ(tree->entries(), want);
  EXPECT_EQ(tree->total_bytes(), std::string("/etc/etc/passwd..").size());
}

TEST_F(WorkspaceTest, ReadBeneathSkipsFifosWithoutBlocking) {
  TempDir dir;
  WriteHostFile(dir.path() + "/a.txt", "aaa");
  const std::string fifo = dir.path() + "/pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  auto result = std::async(std::launch::async, [&] { return FileTree::ReadBeneath(dir.fd(), 0); });
  if (result.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    // Unblock the reader stuck in open() so the test can end, then fail.
    int w = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    if (w >= 0) ::close(w);
    FAIL() << "ReadBeneath blocked on a FIFO";
  }
  auto tree = result.get();
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  const std::map<std::string, FileEntry> want = {{"a.txt", File("aaa")}};
  EXPECT_EQ(tree->entries(), want);
}

TEST_F(WorkspaceTest, ReadBeneathEnforcesMaxBytes) {
  FileTree t;
  ASSERT_TRUE(t.AddFile("a", std::string(600, 'a')).ok());
  ASSERT_TRUE(t.AddFile("d/b", std::string(400, 'b')).ok());
  TempDir dir;
  ASSERT_TRUE(t.WriteBeneath(dir.fd(), ::getuid(), ::getgid()).ok());

  // The bound covers file data, paths ("a", "d", "d/b") and a fixed overhead per entry.
  const std::uint64_t needed = 1000 + (1 + 1 + 3) + 3 * FileTree::kEntryOverheadBytes;
  // A fresh fd per read: see ReadBeneathTwiceOnOneFdSeesTheSameTree.
  auto over = FileTree::ReadBeneath(OpenDir(dir.path()).get(), needed - 1);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(over.status().message().find(std::to_string(needed - 1)), std::string::npos)
      << over.status().message();

  auto exact = FileTree::ReadBeneath(OpenDir(dir.path()).get(), needed);
  ASSERT_TRUE(exact.ok()) << exact.status().ToString();
  EXPECT_EQ(exact->total_bytes(), 1000u);

  auto unlimited = FileTree::ReadBeneath(OpenDir(dir.path()).get(), 0);
  ASSERT_TRUE(unlimited.ok());
  EXPECT_EQ(unlimited->total_bytes(), 1000u);
}

TEST_F(WorkspaceTest, ReadBeneathTwiceOnOneFdSeesTheSameTree) {
  FileTree t;
  ASSERT_TRUE(t.AddFile("a", "1").ok());
  ASSERT_TRUE(t.AddFile("d/b", "2").ok());
  TempDir dir;
  ASSERT_TRUE(t.WriteBeneath(dir.fd(), ::getuid(), ::getgid()).ok());
  auto first = FileTree::ReadBeneath(dir.fd(), 0);
  auto second = FileTree::ReadBeneath(dir.fd(), 0);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(first->entries().size(), 3u);
  EXPECT_EQ(second->entries(), first->entries());
}

TEST_F(WorkspaceTest, WriteBeneathRefusesSymlinkedParentDirectory) {
  TempDir dir;
  TempDir outside;
  ASSERT_EQ(::symlink(outside.path().c_str(), (dir.path() + "/sub").c_str()), 0);
  FileTree t;
  ASSERT_TRUE(t.AddFile("sub/evil.txt", "pwned").ok());
  Status st = t.WriteBeneath(dir.fd(), ::getuid(), ::getgid());
  EXPECT_FALSE(st.ok());
  EXPECT_FALSE(fs::exists(outside.path() + "/evil.txt"));
  EXPECT_TRUE(fs::is_empty(outside.path()));
}

TEST_F(WorkspaceTest, WriteBeneathRefusesSymlinkAtTheFileItself) {
  TempDir dir;
  TempDir outside;
  const std::string victim = outside.path() + "/victim";
  WriteHostFile(victim, "original");
  ASSERT_EQ(::symlink(victim.c_str(), (dir.path() + "/f").c_str()), 0);
  FileTree t;
  ASSERT_TRUE(t.AddFile("f", "overwritten").ok());
  EXPECT_FALSE(t.WriteBeneath(dir.fd(), ::getuid(), ::getgid()).ok());
  EXPECT_EQ(ReadHostFile(victim), "original");
}

TEST_F(WorkspaceTest, WriteBeneathCreatesNothingThroughASymlinkedAncestor) {
  TempDir dir;
  TempDir outside;
  ASSERT_EQ(::symlink(outside.path().c_str(), (dir.path() + "/sub").c_str()), 0);
  FileTree t;
  ASSERT_TRUE(t.AddFile("sub/new/evil.txt", "pwned").ok());
  EXPECT_FALSE(t.WriteBeneath(dir.fd(), ::getuid(), ::getgid()).ok());
  EXPECT_FALSE(fs::exists(outside.path() + "/new/evil.txt"));
  EXPECT_TRUE(fs::is_empty(outside.path())) << "something was created outside the tree";
}

TEST_F(WorkspaceTest, FromDirectoryReadsAHostDirectory) {
  TempDir dir;
  WriteHostFile(dir.path() + "/main.py", "print('hi')\n");
  ASSERT_EQ(::chmod((dir.path() + "/main.py").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((dir.path() + "/pkg").c_str(), 0750), 0);
  ASSERT_EQ(::chmod((dir.path() + "/pkg").c_str(), 0750), 0);
  WriteHostFile(dir.path() + "/pkg/data.bin", std::string("\0\1\2\3", 4));
  ASSERT_EQ(::chmod((dir.path() + "/pkg/data.bin").c_str(), 0600), 0);
  ASSERT_EQ(::symlink("pkg/data.bin", (dir.path() + "/data").c_str()), 0);
  ASSERT_EQ(::mkfifo((dir.path() + "/fifo").c_str(), 0644), 0);  // not part of a tree

  auto tree = FileTree::FromDirectory(dir.path());
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  const std::map<std::string, FileEntry> want = {
      {"main.py", File("print('hi')\n", 0755)},
      {"pkg", Dir(0750)},
      {"pkg/data.bin", File(std::string("\0\1\2\3", 4), 0600)},
      {"data", Link("pkg/data.bin")},
  };
  EXPECT_EQ(tree->entries(), want);
}

TEST_F(WorkspaceTest, FromDirectoryFailsOnAMissingDirectory) {
  auto tree = FileTree::FromDirectory("/nonexistent/toolgym/template");
  ASSERT_FALSE(tree.ok());
  EXPECT_NE(tree.status().message().find("/nonexistent/toolgym/template"), std::string::npos)
      << tree.status().message();
}

}  // namespace
}  // namespace toolgym::sandbox
