#include "apps/policy_flags.h"

namespace toolgym::apps {

void AddPolicyFlags(CLI::App* cmd, PolicyFlags* f) {
  const std::string g = "OpenAI-compatible client (--policy openai:MODEL)";
  cmd->add_option("--base-url", f->openai.base_url,
                  "server URL up to /v1 (default http://127.0.0.1:8000/v1; https allowed)")
      ->group(g);
  cmd->add_option("--api-key-env", f->openai.api_key_env,
                  "environment variable holding the API key (default OPENAI_API_KEY)")
      ->group(g);
  cmd->add_option("--temperature", f->openai.temperature, "sampling temperature")->group(g);
  cmd->add_option("--top-p", f->openai.top_p, "nucleus sampling mass")->group(g);
  cmd->add_option("--max-tokens", f->openai.max_tokens, "tokens per completion at most")->group(g);
  cmd->add_option("--stop", f->openai.stop, "stop sequences")->group(g);
  cmd->add_option("--llm-seed", f->openai.seed,
                  "sampling seed sent to the server (mixed with each episode's seed)")
      ->group(g);
  cmd->add_option("--chat-mode", f->chat_mode,
                  "tools (the env's tools as function schemas) or text (toolgym's parser)")
      ->check(CLI::IsMember({"tools", "text"}))
      ->group(g);
  cmd->add_option("--timeout", f->openai.timeout_s, "seconds per request attempt")->group(g);
  cmd->add_option("--max-retries", f->openai.max_retries,
                  "retries after connection errors, timeouts, 429 and 5xx")
      ->group(g);
  cmd->add_option("--max-concurrency", f->openai.max_concurrency,
                  "requests in flight at once over all episodes")
      ->group(g);
  cmd->add_option("--ca-file", f->openai.ca_file, "extra CA bundle (PEM) to trust")->group(g);
  cmd->add_flag("--send-metadata", f->openai.send_metadata,
                "send the task's scenario and seed as metadata (for toolgym serve-policy)")
      ->group(g);
  cmd->add_flag("--continue-final", f->openai.continue_final,
                "the server continues partial assistant messages (vLLM's continue_final_message; "
                "needed by --strategy budget, with --chat-mode text)")
      ->group(g);
}

StatusOr<agent::PolicyFactory> MakePolicyFactory(const std::string& spec, const PolicyFlags& f) {
  if (spec.rfind("openai:", 0) != 0 && spec != "openai") return agent::PolicyFactoryFromSpec(spec);
  agent::OpenAIOptions o = f.openai;
  o.model = spec.size() > 7 ? spec.substr(7) : "";
  if (o.model.empty())
    return InvalidArgumentError("policy \"{}\" needs a model: openai:MODEL", spec);
  TG_ASSIGN_OR_RETURN(o.mode, agent::ParseChatMode(f.chat_mode));
  return agent::OpenAIPolicyFactory(std::move(o));
}

nlohmann::json PolicyOptionsJson(const std::string& spec, const PolicyFlags& f) {
  if (spec.rfind("openai:", 0) != 0) return nullptr;
  agent::OpenAIOptions o = f.openai;
  o.model = spec.substr(7);
  auto mode = agent::ParseChatMode(f.chat_mode);
  if (mode.ok()) o.mode = *mode;
  return agent::ToJson(o);
}

}  // namespace toolgym::apps
