// The search environment: answer a question from a document collection, Search-R1 style, with
// a real BM25 engine (Xapian, search/index.h) and nothing on the network.
//
// Tools:
//   search(query, k)      the top k (default 5, at most 20) documents for the query, ranked by
//                         BM25: rank, title, id and a snippet with the matched words in **bold**
//   open(doc_id, page)    one page (default 1) of a document, at most `page_bytes` bytes each
//   submit(answer)        the final answer; ends the episode
// Observations (deterministic for the same index and calls):
//   Search results for "varno industries" (2 shown):
//   1. Varno Industries (id: o3f2a19)
//      Varno Industries is a **shipbuilding** company headquartered in Tarsville...
//   2. ...
//
//   o3f2a19 · Varno Industries · page 1 of 2
//
//   Varno Industries
//
//   Varno Industries is a shipbuilding company...
//   [page 1 of 2: open page 2 for more]
// An unknown document id, a page out of range or a query with no hits is an error or an empty
// result the agent reads, never an error of Step.
//
// The corpus comes from Task::options (the scenario's "options", rendered per instance; paths
// relative to Task::base_dir):
//   {"corpus": {"documents": [{"id", "title", "text"}, ...]}}      in memory, per task
//   {"corpus": {"world": {"seed", "entities", "distractors", "withheld_rate"?}}}
//                                                  a generated world (search/world.h), in memory
//   {"corpus": {"jsonl": "corpus.jsonl"}}           a JSONL corpus, indexed in memory
//   {"corpus": {"jsonl": "corpus.jsonl", "index": "corpus.index"}}
//                                                  indexed on disk once, then opened (built in a
//                                                  temporary directory and renamed into place, so
//                                                  concurrent first runs never see half an index)
//   "search": {"k1", "b", "language", "stopwords"}  BM25 and analysis (search::IndexOptions)
//   "page_bytes": 1500                               page size of open (256..65536)
// An env keeps its index across episodes while the corpus stays the same (a scenario over one
// JSONL corpus indexes it once per env).
//
// EnvState() (VerifyContext::env_state, what the "retrieved" verifier reads):
//   {"retrieved": [ids shown by search, in order of first appearance],
//    "opened": [ids opened, in order of first opening], "searches": number of search calls}
//
// Fork() gives the copy its own index handle (Index::Clone) and the episode's state. No sandbox:
// nothing runs commands, and workspace() is null.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "envs/env.h"
#include "search/index.h"

namespace toolgym::envs {

class SearchEnv : public ToolEnv {
 public:
  SearchEnv(std::shared_ptr<const TaskSource> source, EnvOptions options);
  ~SearchEnv() override;

  // The tools of the search env (submit's schema depends on whether the task takes an answer).
  static std::vector<ToolSpec> AllTools(bool requires_answer);
  // EnvKind::validate: the options are well formed and the corpus is there and readable (a JSONL
  // file is read through; an existing on-disk index is opened). Paths are JSON pointers under
  // the task's options ("/corpus/documents/3/id"); problems inside a corpus file name the file.
  static std::vector<TaskError> Validate(const Task& task);

  // Defaults of the tools and options.
  static constexpr int kDefaultK = 5;
  static constexpr int kMaxK = 20;
  static constexpr int kDefaultPageBytes = 1500;
  static constexpr std::size_t kMaxQueryBytes = 1000;

 protected:
  std::vector<ToolSpec> KindTools(const Task& task) const override;
  Status BeginEpisode(const Task& task) override;
  ToolOutcome Execute(const ToolCall& call) override;
  WorkspaceView* workspace() override { return nullptr; }
  StatusOr<std::unique_ptr<ToolEnv>> ForkKind() override;
  std::string KindRules(const Task& task) const override;
  const nlohmann::json* EnvState() override { return &state_; }

 private:
  ToolOutcome Search(const ToolCall& call);
  ToolOutcome Open(const ToolCall& call);
  void Remember(const char* list, const std::string& id);

  std::unique_ptr<search::Index> index_;
  std::string corpus_key_;  // what index_ holds: the corpus spec, search options and base dir
  std::size_t page_bytes_ = kDefaultPageBytes;
  nlohmann::json state_;
};

}  // namespace toolgym::envs
