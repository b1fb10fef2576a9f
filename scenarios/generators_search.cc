// Generators of the search env's scenarios (docs/generators.md):
//   search_question  a synthetic world (search/world.h) and a question about it: the world's
//                    seed and size (the env regenerates the documents from them), the question's
//                    text and parts, its accepted answers and the gold documents
//   jsonl_record     one record of a JSONL file next to the scenario (bring-your-own questions)
#include <fmt/format.h>
#include <sys/stat.h>

#include <fstream>
#include <map>
#include <memory>
#include <mutex>

#include "common/check.h"
#include "scenarios/generator_util.h"
#include "scenarios/generators.h"
#include "search/world.h"

namespace toolgym::scenarios {
namespace {

using genutil::GetBool;
using genutil::GetInt;
using genutil::GetNumber;
using genutil::GetString;
using json = nlohmann::json;

StatusOr<json> GenSearchQuestion(const json& args, Rng& rng) {
  TG_ASSIGN_OR_RETURN(std::string kind_name, GetString(args, "kind"));
  TG_ASSIGN_OR_RETURN(search::QuestionKind kind, search::ParseQuestionKind(kind_name));
  search::WorldOptions wo;
  TG_ASSIGN_OR_RETURN(std::int64_t entities, GetInt(args, "entities", 60));
  TG_RETURN_IF_ERROR(genutil::CheckRange("entities", entities, 10, 5000));
  TG_ASSIGN_OR_RETURN(std::int64_t distractors, GetInt(args, "distractors", 30));
  TG_RETURN_IF_ERROR(genutil::CheckRange("distractors", distractors, 0, 5000));
  TG_ASSIGN_OR_RETURN(wo.withheld_rate, GetNumber(args, "withheld_rate", 0.1));
  if (!(wo.withheld_rate >= 0 && wo.withheld_rate <= 0.5))
    return InvalidArgumentError("'withheld_rate' must be in [0, 0.5], got {}", wo.withheld_rate);
  wo.entities = static_cast<int>(entities);
  wo.distractors = static_cast<int>(distractors);
  search::QuestionOptions qo;
  TG_ASSIGN_OR_RETURN(qo.unanswerable_rate, GetNumber(args, "unanswerable_rate", 0.5));
  TG_ASSIGN_OR_RETURN(qo.unanswerable_answer,
                      GetString(args, "unanswerable_answer", std::string("unanswerable")));
  TG_ASSIGN_OR_RETURN(std::int64_t count, GetInt(args, "count", 3));
  TG_RETURN_IF_ERROR(genutil::CheckRange("count", count, 2, 5));
  qo.aggregate_count = static_cast<int>(count);
  TG_ASSIGN_OR_RETURN(bool with_documents, GetBool(args, "documents", false));

  const std::uint64_t world_seed = rng.Next();
  const std::uint64_t question_seed = rng.Next();
  TG_ASSIGN_OR_RETURN(search::World world, search::GenerateWorld(world_seed, wo));
  TG_ASSIGN_OR_RETURN(search::Question q, search::MakeQuestion(world, kind, question_seed, qo));
  json expected = json::array({q.answer});
  for (const auto& a : q.aliases) expected.push_back(a);
  json out = {{"kind", std::string(search::QuestionKindName(q.kind))},
              {"question", q.text},
              {"answer", q.answer},
              {"aliases", q.aliases},
              {"expected", expected},
              {"answerable", q.answerable},
              {"reason", q.reason},
              {"entity", q.entity},
              {"entities", q.entities},
              {"labels", q.labels},
              {"extreme", q.extreme},
              {"gold", q.gold},
              {"hops", q.hops},
              {"world",
               {{"seed", world_seed},
                {"entities", wo.entities},
                {"distractors", wo.distractors},
                {"withheld_rate", wo.withheld_rate}}}};
  if (with_documents) {
    json docs = json::array();
    for (const auto& d : world.documents)
      docs.push_back({{"id", d.id}, {"title", d.title}, {"text", d.text}});
    out["documents"] = std::move(docs);
  }
  return out;
}

// The records of JSONL files, read once per process (and again when a file changes).
class RecordCache {
 public:
  StatusOr<std::shared_ptr<const std::vector<json>>> Get(const std::string& path) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0)
      return NotFoundError("cannot read the JSONL file {}: it does not exist", path);
    const auto stamp = std::make_pair(static_cast<std::int64_t>(st.st_mtime),
                                      static_cast<std::int64_t>(st.st_size));
    std::lock_guard<std::mutex> lock(mu_);
    auto it = files_.find(path);
    if (it != files_.end() && it->second.stamp == stamp) return it->second.records;
    std::ifstream in(path, std::ios::binary);
    if (!in) return NotFoundError("cannot open the JSONL file {}", path);
    auto records = std::make_shared<std::vector<json>>();
    std::string line;
    for (std::size_t n = 1; std::getline(in, line); ++n) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      json rec = json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (rec.is_discarded()) return InvalidArgumentError("{}:{}: not valid JSON", path, n);
      if (!rec.is_object())
        return InvalidArgumentError("{}:{}: expected a JSON object per line, found {}", path, n,
                                    genutil::Show(rec));
      records->push_back(std::move(rec));
    }
    if (records->empty()) return InvalidArgumentError("{}: the file has no records", path);
    files_[path] = {stamp, records};
    return std::shared_ptr<const std::vector<json>>(records);
  }

 private:
  struct Entry {
    std::pair<std::int64_t, std::int64_t> stamp;
    std::shared_ptr<const std::vector<json>> records;
  };
  std::mutex mu_;
  std::map<std::string, Entry> files_;
};

StatusOr<json> GenJsonlRecord(const json& args, Rng& rng) {
  static RecordCache* cache = new RecordCache;
  TG_ASSIGN_OR_RETURN(std::string file, GetString(args, "file"));
  TG_ASSIGN_OR_RETURN(std::string base, GetString(args, "$base_dir", std::string()));
  std::string path = file;
  if (!file.empty() && file[0] != '/' && !base.empty()) path = base + "/" + file;
  TG_ASSIGN_OR_RETURN(auto records, cache->Get(path));
  if (args.contains("index")) {
    TG_ASSIGN_OR_RETURN(std::int64_t i, GetInt(args, "index"));
    TG_RETURN_IF_ERROR(
        genutil::CheckRange("index", i, 0, static_cast<std::int64_t>(records->size()) - 1));
    return (*records)[static_cast<std::size_t>(i)];
  }
  return (*records)[rng.Index(records->size())];
}

}  // namespace

void RegisterSearchGenerators(GeneratorRegistry& r) {
  auto add = [&r](GeneratorInfo info) {
    Status s = r.Register(std::move(info));
    TG_CHECK(s.ok());
  };
  add({"search_question",
       "a synthetic world (people, organizations, places, products, events) and a question of "
       "`kind` about it: hop1, hop2, hop3, comparison, aggregation or unanswerable",
       {"kind", "entities", "distractors", "withheld_rate", "unanswerable_rate",
        "unanswerable_answer", "count", "documents"},
       {"kind"},
       GenSearchQuestion});
  GeneratorInfo record{"jsonl_record",
                       "one record (a JSON object) of a JSONL file, by `index` or at random; "
                       "`file` is relative to the scenario file",
                       {"file", "index"},
                       {"file"},
                       GenJsonlRecord};
  record.wants_base_dir = true;
  add(std::move(record));
}

}  // namespace toolgym::scenarios
