// Command-line flags that make a policy from a spec, shared by the commands that run policies
// (eval): "expert", "random", "replay:FILE" (agent::PolicyFactoryFromSpec) and "openai:MODEL",
// the OpenAI-compatible chat-completions client (agent/openai_client.h) configured by the
// --base-url, --temperature, ... flags below.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "agent/openai_client.h"
#include "agent/policy.h"
#include "common/status.h"

namespace toolgym::apps {

struct PolicyFlags {
  agent::OpenAIOptions openai;
  std::string chat_mode = "tools";
};

// Adds the OpenAI client's flags to `cmd` (they apply to --policy openai:MODEL only).
void AddPolicyFlags(CLI::App* cmd, PolicyFlags* flags);

// The factory of `spec`: "openai:MODEL" uses `flags`; other specs go to
// agent::PolicyFactoryFromSpec. Errors name the spec or the bad flag.
StatusOr<agent::PolicyFactory> MakePolicyFactory(const std::string& spec, const PolicyFlags& flags);

// What of `flags` shapes the actions of `spec`'s policy, for a run's manifest: the OpenAI
// client's settings (agent::ToJson(OpenAIOptions), no key) for "openai:MODEL", null otherwise.
nlohmann::json PolicyOptionsJson(const std::string& spec, const PolicyFlags& flags);

}  // namespace toolgym::apps
