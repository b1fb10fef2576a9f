#include "envs/search_env.h"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <mutex>
#include <optional>
#include <unordered_set>

#include "envs/render.h"
#include "envs/utf8.h"
#include "search/world.h"

namespace toolgym::envs {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr int kMinPageBytes = 256;
constexpr int kMaxPageBytes = 65536;
// Generated worlds are indexed in memory at every reset; this keeps a reset under a second.
constexpr int kMaxWorldEntities = 20000;

std::string Show(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

// Task::options read into what BeginEpisode needs.
struct CorpusSpec {
  enum class Kind { kDocuments, kWorld, kJsonl } kind = Kind::kDocuments;
  std::vector<search::Document> documents;  // kDocuments
  std::uint64_t world_seed = 0;             // kWorld
  search::WorldOptions world;
  std::string jsonl_path;  // kJsonl, resolved against the task's base_dir
  std::string index_path;  // kJsonl with "index"; empty: index the file in memory
  search::IndexOptions index_options;
  bool search_given = false;  // "search" was set: an existing on-disk index must agree with it
  std::size_t page_bytes = SearchEnv::kDefaultPageBytes;
  std::string key;  // identifies the corpus and its index options
};

std::string Resolve(const std::string& base_dir, const std::string& path) {
  fs::path p(path);
  if (p.is_absolute() || base_dir.empty()) return p.lexically_normal().string();
  return (fs::path(base_dir) / p).lexically_normal().string();
}

// Collects problems as TaskErrors whose paths are JSON pointers under the options.
class OptionReader {
 public:
  explicit OptionReader(std::vector<TaskError>* errors) : errors_(errors) {}
  void Error(std::string path, std::string message, std::string file = "") {
    errors_->push_back({std::move(file), std::move(path), std::move(message)});
  }
  void Unknown(const json& obj, const std::string& path, const std::vector<std::string>& known) {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      if (std::find(known.begin(), known.end(), it.key()) != known.end()) continue;
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      Error(path + "/" + it.key(),
            fmt::format("unknown option '{}'; expected one of: {}", it.key(), list));
    }
  }
  // A number in [lo, hi] (integer when `integer`); nullopt after recording an error.
  std::optional<double> Number(const json& v, const std::string& path, double lo, double hi,
                               bool integer) {
    const bool ok = v.is_number() && (!integer || v.is_number_integer()) &&
                    std::isfinite(v.get<double>()) && v.get<double>() >= lo &&
                    v.get<double>() <= hi;
    if (!ok) {
      Error(path, fmt::format("expected {} in [{:g}, {:g}], found {}",
                              integer ? "an integer" : "a number", lo, hi, Show(v)));
      return std::nullopt;
    }
    return v.get<double>();
  }

 private:
  std::vector<TaskError>* errors_;
};

void ReadDocuments(const json& docs, CorpusSpec* spec, OptionReader& r) {
  const std::string path = "/corpus/documents";
  if (!docs.is_array() || docs.empty()) {
    r.Error(path, "expected a non-empty array of {\"id\", \"title\", \"text\"} objects, found " +
                      Show(docs));
    return;
  }
  std::unordered_set<std::string> seen;
  for (std::size_t i = 0; i < docs.size(); ++i) {
    const std::string at = fmt::format("{}/{}", path, i);
    const json& d = docs[i];
    if (!d.is_object()) {
      r.Error(at, "expected a document {\"id\", \"title\", \"text\"}, found " + Show(d));
      continue;
    }
    search::Document doc;
    if (!d.contains("id") || !d["id"].is_string() || d["id"].get<std::string>().empty()) {
      r.Error(at + "/id", "expected a non-empty string, found " +
                              (d.contains("id") ? Show(d["id"]) : std::string("nothing")));
      continue;
    }
    doc.id = d["id"].get<std::string>();
    if (!seen.insert(doc.id).second) {
      r.Error(at + "/id", fmt::format("duplicate document id \"{}\"", doc.id));
      continue;
    }
    if (d.contains("title")) {
      if (!d["title"].is_string()) {
        r.Error(at + "/title", "expected a string, found " + Show(d["title"]));
        continue;
      }
      doc.title = d["title"].get<std::string>();
    }
    if (!d.contains("text") || !d["text"].is_string()) {
      r.Error(at + "/text", "expected a string, found " +
                                (d.contains("text") ? Show(d["text"]) : std::string("nothing")));
      continue;
    }
    doc.text = d["text"].get<std::string>();
    spec->documents.push_back(std::move(doc));
  }
}

void ReadWorld(const json& w, CorpusSpec* spec, OptionReader& r) {
  const std::string path = "/corpus/world";
  if (!w.is_object()) {
    r.Error(path, "expected {\"seed\", \"entities\", \"distractors\"}, found " + Show(w));
    return;
  }
  r.Unknown(w, path, {"seed", "entities", "distractors", "withheld_rate"});
  if (!w.contains("seed") || !w["seed"].is_number_unsigned()) {
    r.Error(path + "/seed", "expected an integer >= 0, found " +
                                (w.contains("seed") ? Show(w["seed"]) : std::string("nothing")));
  } else {
    spec->world_seed = w["seed"].get<std::uint64_t>();
  }
  if (w.contains("entities")) {
    if (auto n = r.Number(w["entities"], path + "/entities", 10, kMaxWorldEntities, true))
      spec->world.entities = static_cast<int>(*n);
  }
  if (w.contains("distractors")) {
    if (auto n = r.Number(w["distractors"], path + "/distractors", 0, kMaxWorldEntities, true))
      spec->world.distractors = static_cast<int>(*n);
  }
  if (w.contains("withheld_rate")) {
    if (auto x = r.Number(w["withheld_rate"], path + "/withheld_rate", 0, 0.5, false))
      spec->world.withheld_rate = *x;
  }
}

void ReadSearchOptions(const json& s, CorpusSpec* spec, OptionReader& r) {
  if (!s.is_object()) {
    r.Error("/search", "expected {\"k1\", \"b\", \"language\", \"stopwords\"}, found " + Show(s));
    return;
  }
  spec->search_given = true;
  r.Unknown(s, "/search", {"k1", "b", "language", "stopwords"});
  search::IndexOptions& o = spec->index_options;
  if (s.contains("k1")) {
    if (auto x = r.Number(s["k1"], "/search/k1", 0, 100, false)) o.k1 = *x;
  }
  if (s.contains("b")) {
    if (auto x = r.Number(s["b"], "/search/b", 0, 1, false)) o.b = *x;
  }
  if (s.contains("language")) {
    if (!s["language"].is_string())
      r.Error("/search/language",
              "expected a Snowball language name such as \"english\" or "
              "\"none\", found " +
                  Show(s["language"]));
    else
      o.language = s["language"].get<std::string>();
  }
  if (s.contains("stopwords")) {
    if (!s["stopwords"].is_boolean())
      r.Error("/search/stopwords", "expected true or false, found " + Show(s["stopwords"]));
    else
      o.stopwords = s["stopwords"].get<bool>();
  }
}

// Reads Task::options. Problems go to `errors`; the spec is usable only when none were added.
CorpusSpec ReadOptions(const Task& task, std::vector<TaskError>* errors) {
  OptionReader r(errors);
  CorpusSpec spec;
  const json& o = task.options;
  if (!o.is_object()) {
    r.Error("", "expected an object with \"corpus\", found " + Show(o));
    return spec;
  }
  r.Unknown(o, "", {"corpus", "search", "page_bytes"});
  if (o.contains("search")) ReadSearchOptions(o["search"], &spec, r);
  if (o.contains("page_bytes")) {
    if (auto n = r.Number(o["page_bytes"], "/page_bytes", kMinPageBytes, kMaxPageBytes, true))
      spec.page_bytes = static_cast<std::size_t>(*n);
  }
  if (!o.contains("corpus")) {
    r.Error("/corpus",
            "missing: the search env needs a corpus: {\"documents\": [...]}, {\"world\": {...}} "
            "or {\"jsonl\": \"corpus.jsonl\"}");
    return spec;
  }
  const json& c = o["corpus"];
  if (!c.is_object()) {
    r.Error(
        "/corpus",
        "expected {\"documents\": ...}, {\"world\": ...} or {\"jsonl\": ...}, found " + Show(c));
    return spec;
  }
  r.Unknown(c, "/corpus", {"documents", "world", "jsonl", "index"});
  const int sources = static_cast<int>(c.contains("documents")) +
                      static_cast<int>(c.contains("world")) + static_cast<int>(c.contains("jsonl"));
  if (sources != 1) {
    r.Error("/corpus", fmt::format("expected exactly one of \"documents\", \"world\" and "
                                   "\"jsonl\", found {}",
                                   sources));
    return spec;
  }
  if (c.contains("index") && !c.contains("jsonl"))
    r.Error("/corpus/index", "\"index\" goes with \"jsonl\": it is where that file is indexed");
  if (c.contains("documents")) {
    spec.kind = CorpusSpec::Kind::kDocuments;
    ReadDocuments(c["documents"], &spec, r);
  } else if (c.contains("world")) {
    spec.kind = CorpusSpec::Kind::kWorld;
    ReadWorld(c["world"], &spec, r);
  } else {
    spec.kind = CorpusSpec::Kind::kJsonl;
    if (!c["jsonl"].is_string() || c["jsonl"].get<std::string>().empty()) {
      r.Error("/corpus/jsonl",
              "expected the path of a JSONL corpus (relative to the scenario file), found " +
                  Show(c["jsonl"]));
    } else {
      spec.jsonl_path = Resolve(task.base_dir, c["jsonl"].get<std::string>());
    }
    if (c.contains("index")) {
      if (!c["index"].is_string() || c["index"].get<std::string>().empty())
        r.Error("/corpus/index",
                "expected a directory path for the on-disk index (relative to the scenario "
                "file), found " +
                    Show(c["index"]));
      else
        spec.index_path = Resolve(task.base_dir, c["index"].get<std::string>());
    }
  }
  json key = {{"corpus", c},
              {"k1", spec.index_options.k1},
              {"b", spec.index_options.b},
              {"language", spec.index_options.language},
              {"stopwords", spec.index_options.stopwords},
              {"base", task.base_dir}};
  spec.key = key.dump(-1, ' ', false, json::error_handler_t::replace);
  return spec;
}

bool SameOptions(const search::IndexOptions& a, const search::IndexOptions& b) {
  return std::fabs(a.k1 - b.k1) < 1e-9 && std::fabs(a.b - b.b) < 1e-9 && a.language == b.language &&
         a.stopwords == b.stopwords;
}

std::string DescribeOptions(const search::IndexOptions& o) {
  return fmt::format("k1 {:g}, b {:g}, language {}, stopwords {}", o.k1, o.b, o.language,
                     o.stopwords ? "on" : "off");
}

// Opens the on-disk index, building it first if it is not there. A build writes a temporary
// directory next to the index and renames it into place: another process that builds at the
// same time loses the rename and uses the winner's index, and nobody opens a half-built one.
StatusOr<std::unique_ptr<search::Index>> OpenOrBuild(const CorpusSpec& spec) {
  static std::mutex build_mu;  // one build at a time in this process
  static std::atomic<std::uint64_t> counter{0};
  std::error_code ec;
  if (!fs::exists(spec.index_path, ec)) {
    std::lock_guard<std::mutex> lock(build_mu);
    if (!fs::exists(spec.index_path, ec)) {
      const std::string tmp =
          fmt::format("{}.tmp-{}-{}", spec.index_path, ::getpid(), counter.fetch_add(1));
      fs::remove_all(tmp, ec);
      auto built = search::Index::BuildFromJsonl(spec.jsonl_path, tmp, spec.index_options);
      if (!built.ok()) {
        fs::remove_all(tmp, ec);
        return built.status().WithContext("building the index " + spec.index_path);
      }
      fs::rename(tmp, spec.index_path, ec);
      if (ec) {
        std::error_code ignored;
        fs::remove_all(tmp, ignored);
        if (!fs::exists(spec.index_path, ignored))
          return InternalError("cannot move the new index {} to {}: {}", tmp, spec.index_path,
                               ec.message());
      }
    }
  }
  TG_ASSIGN_OR_RETURN(std::unique_ptr<search::Index> index, search::Index::Open(spec.index_path));
  if (spec.search_given && !SameOptions(index->options(), spec.index_options))
    return FailedPreconditionError(
        "the index {} was built with {}, but the scenario asks for {}; delete the index to "
        "rebuild it",
        spec.index_path, DescribeOptions(index->options()), DescribeOptions(spec.index_options));
  return index;
}

StatusOr<std::unique_ptr<search::Index>> MakeIndex(const CorpusSpec& spec) {
  switch (spec.kind) {
    case CorpusSpec::Kind::kDocuments:
      return search::Index::InMemory(spec.documents, spec.index_options);
    case CorpusSpec::Kind::kWorld: {
      TG_ASSIGN_OR_RETURN(search::World world, search::GenerateWorld(spec.world_seed, spec.world));
      return search::Index::InMemory(world.documents, spec.index_options);
    }
    case CorpusSpec::Kind::kJsonl: {
      if (!spec.index_path.empty()) return OpenOrBuild(spec);
      TG_ASSIGN_OR_RETURN(std::vector<search::Document> docs,
                          search::Index::ReadJsonl(spec.jsonl_path));
      return search::Index::InMemory(docs, spec.index_options);
    }
  }
  return InternalError("unknown corpus kind");
}

// Text for one line of an observation: valid UTF-8, line breaks and tabs as spaces, runs of
// spaces as one.
std::string OneLine(std::string_view s) {
  std::string clean = SanitizeUtf8(s);
  std::string out;
  out.reserve(clean.size());
  for (char c : clean) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
    out += c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string Cut(const std::string& text, std::uint64_t max_bytes) {
  bool cut = false;
  std::string out = Truncate(text, max_bytes, &cut);
  if (cut)
    out += fmt::format("\n[output truncated: {} of {} bytes shown]", out.size(), text.size());
  return out;
}

}  // namespace

SearchEnv::SearchEnv(std::shared_ptr<const TaskSource> source, EnvOptions options)
    : ToolEnv(std::move(source), std::move(options)) {}

SearchEnv::~SearchEnv() = default;

std::vector<ToolSpec> SearchEnv::AllTools(bool requires_answer) {
  std::vector<ToolSpec> tools;
  tools.push_back(
      {"search",
       "Search the document collection. Returns the best-matching documents, ranked by BM25, "
       "with their titles, ids and snippets. Plain words are ranked; \"quoted phrases\", AND, "
       "OR, NOT and title:word are understood.",
       {{"type", "object"},
        {"properties",
         {{"query",
           {{"type", "string"},
            {"minLength", 1},
            {"maxLength", kMaxQueryBytes},
            {"description", "What to look for"}}},
          {"k",
           {{"type", "integer"},
            {"minimum", 1},
            {"maximum", kMaxK},
            {"description", fmt::format("How many results (default {})", kDefaultK)}}}}},
        {"required", {"query"}},
        {"additionalProperties", false}}});
  tools.push_back(
      {"open",
       "Read a document by its id (from the search results), one page at a time.",
       {{"type", "object"},
        {"properties",
         {{"doc_id",
           {{"type", "string"},
            {"maxLength", 256},
            {"description", "The document's id, as search shows it"}}},
          {"page",
           {{"type", "integer"}, {"minimum", 1}, {"description", "Which page (default 1)"}}}}},
        {"required", {"doc_id"}},
        {"additionalProperties", false}}});
  tools.push_back(SubmitTool(requires_answer));
  return tools;
}

std::vector<TaskError> SearchEnv::Validate(const Task& task) {
  std::vector<TaskError> errors;
  CorpusSpec spec = ReadOptions(task, &errors);
  if (!errors.empty()) return errors;
  // The analysis options, checked by the index itself (an unknown language, say).
  if (auto probe = search::Index::InMemory({}, spec.index_options); !probe.ok())
    errors.push_back({"", "/search", probe.status().message()});
  if (spec.kind == CorpusSpec::Kind::kJsonl) {
    std::error_code ec;
    if (!spec.index_path.empty() && fs::exists(spec.index_path, ec)) {
      auto index = search::Index::Open(spec.index_path);
      if (!index.ok()) {
        errors.push_back({spec.index_path, "", index.status().message()});
      } else if (spec.search_given && !SameOptions((*index)->options(), spec.index_options)) {
        errors.push_back(
            {spec.index_path, "",
             fmt::format("built with {}, but the scenario's /options/search asks for {}; delete "
                         "the index to rebuild it",
                         DescribeOptions((*index)->options()),
                         DescribeOptions(spec.index_options))});
      }
    } else if (!fs::is_regular_file(spec.jsonl_path, ec)) {
      errors.push_back(
          {"", "/corpus/jsonl",
           fmt::format("the corpus file {} does not exist or is not a file", spec.jsonl_path)});
    } else if (auto docs = search::Index::ReadJsonl(spec.jsonl_path); !docs.ok()) {
      errors.push_back({spec.jsonl_path, "", docs.status().message()});
    } else if (docs->empty()) {
      errors.push_back({spec.jsonl_path, "", "the corpus has no documents"});
    }
  } else if (spec.kind == CorpusSpec::Kind::kWorld) {
    if (auto w = search::GenerateWorld(spec.world_seed, spec.world); !w.ok())
      errors.push_back({"", "/corpus/world", w.status().message()});
  }
  return errors;
}

std::vector<ToolSpec> SearchEnv::KindTools(const Task& task) const {
  return AllTools(task.requires_answer);
}

std::string SearchEnv::KindRules(const Task&) const {
  return fmt::format(
      "You answer questions from a collection of {} documents, which you can only reach through "
      "the tools. search(query, k) returns the k best-matching documents (BM25 ranking, default "
      "{}, at most {}) with titles, ids and snippets; open(doc_id, page) shows a document one "
      "page ({} bytes) at a time. Base the answer on what the documents say, not on memory.",
      index_ ? index_->size() : 0, kDefaultK, kMaxK, page_bytes_);
}

Status SearchEnv::BeginEpisode(const Task& task) {
  std::vector<TaskError> problems;
  CorpusSpec spec = ReadOptions(task, &problems);
  if (!problems.empty()) {
    std::string all;
    for (const auto& p : problems)
      all += fmt::format("{}{}{}: {}", all.empty() ? "" : "; ",
                         p.file.empty() ? "/options" : p.file, p.path, p.message);
    return InvalidArgumentError("search env options of {}: {}", task.scenario_id, all);
  }
  if (!index_ || spec.key != corpus_key_) {
    index_.reset();
    corpus_key_.clear();
    TG_ASSIGN_OR_RETURN(index_, MakeIndex(spec));
    corpus_key_ = spec.key;
  }
  page_bytes_ = spec.page_bytes;
  state_ = {{"retrieved", json::array()}, {"opened", json::array()}, {"searches", 0}};
  return OkStatus();
}

void SearchEnv::Remember(const char* list, const std::string& id) {
  json& l = state_[list];
  for (const json& x : l)
    if (x.get_ref<const std::string&>() == id) return;
  l.push_back(id);
}

ToolEnv::ToolOutcome SearchEnv::Search(const ToolCall& call) {
  ToolOutcome o;
  const std::string query = call.arguments.at("query").get<std::string>();
  const int k = call.arguments.contains("k") ? call.arguments["k"].get<int>() : kDefaultK;
  const std::string shown = OneLine(query);
  state_["searches"] = state_["searches"].get<int>() + 1;
  if (shown.empty() || query.size() > kMaxQueryBytes) {
    o.error = true;
    o.output = shown.empty() ? "search needs words to look for; the query was empty."
                             : fmt::format("The query has {} bytes; at most {} are allowed.",
                                           query.size(), kMaxQueryBytes);
    return o;
  }
  auto hits = index_->Search(query, k);
  if (!hits.ok()) {
    o.error = true;
    o.output = "search failed: " + hits.status().message();
    return o;
  }
  if (hits->empty()) {
    o.output = fmt::format("No documents match \"{}\". Try other words.", shown);
    return o;
  }
  o.output = fmt::format("Search results for \"{}\" ({} shown):", shown, hits->size());
  for (const search::Hit& h : *hits) {
    o.output += fmt::format("\n{}. {} (id: {})", h.rank, OneLine(h.title), OneLine(h.id));
    const std::string snippet = OneLine(h.snippet);
    if (!snippet.empty()) o.output += "\n   " + snippet;
    Remember("retrieved", h.id);
  }
  return o;
}

ToolEnv::ToolOutcome SearchEnv::Open(const ToolCall& call) {
  ToolOutcome o;
  const std::string id = call.arguments.at("doc_id").get<std::string>();
  const std::int64_t page =
      call.arguments.contains("page") ? call.arguments["page"].get<std::int64_t>() : 1;
  auto doc = index_->Get(id);
  if (!doc.ok()) {
    o.error = true;
    o.output = doc.status().code() == StatusCode::kNotFound
                   ? fmt::format(
                         "No document has the id \"{}\". Use an id that search showed, "
                         "as in \"(id: ...)\".",
                         OneLine(id))
                   : "open failed: " + doc.status().message();
    return o;
  }
  const std::vector<std::string> pages = search::Paginate(*doc, page_bytes_);
  const std::int64_t n = static_cast<std::int64_t>(pages.size());
  if (page > n) {
    o.error = true;
    o.output = fmt::format("Document {} has {} page{}; there is no page {}.", OneLine(id), n,
                           n == 1 ? "" : "s", page);
    return o;
  }
  std::string text = SanitizeUtf8(pages[static_cast<std::size_t>(page - 1)]);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  o.output = fmt::format("{} · {} · page {} of {}\n\n{}", OneLine(doc->id), OneLine(doc->title),
                         page, n, text);
  if (page < n)
    o.output += fmt::format("\n[page {} of {}: open page {} for more]", page, n, page + 1);
  Remember("opened", doc->id);
  return o;
}

ToolEnv::ToolOutcome SearchEnv::Execute(const ToolCall& call) {
  const ToolLimits& limits = current_task().limits_for(call.name);
  ToolOutcome o;
  if (call.name == "search") {
    o = Search(call);
  } else if (call.name == "open") {
    o = Open(call);
  } else {
    o.error = true;
    o.output = "tool '" + call.name + "' is not available in the search env";
  }
  o.output = Cut(o.output, limits.max_output_bytes);
  return o;
}

StatusOr<std::unique_ptr<ToolEnv>> SearchEnv::ForkKind() {
  auto copy = std::make_unique<SearchEnv>(source(), options());
  if (index_) {
    TG_ASSIGN_OR_RETURN(copy->index_, index_->Clone());
  }
  copy->corpus_key_ = corpus_key_;
  copy->page_bytes_ = page_bytes_;
  copy->state_ = state_;
  return std::unique_ptr<ToolEnv>(std::move(copy));
}

}  // namespace toolgym::envs
