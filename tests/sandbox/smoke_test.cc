#include <gtest/gtest.h>

#include "sandbox/sandbox.h"

namespace toolgym::sandbox {
namespace {

TEST(SandboxSmoke, EchoRunsAndIsCaptured) {
  auto sb = Sandbox::Create(SandboxConfig{});
  ASSERT_TRUE(sb.ok()) << sb.status().ToString();
  RunResult r = (*sb)->Run({.argv = {"echo", "hi"}});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.Summary();
  EXPECT_EQ(r.stdout_data, "hi\n");
}

}  // namespace
}  // namespace toolgym::sandbox
