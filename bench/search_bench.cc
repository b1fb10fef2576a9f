// search_bench: what retrieval costs in the search env (search/index.h, on Xapian).
//
// Cases (docs/benchmarks.md, section "Retrieval", explains each and records a run):
//   build: Index::BuildOnDisk of a generated corpus (search::GenerateCorpus, 100,000 documents
//     by default, in worlds of 50,000: see MakeCorpus), documents per second, and the database's
//     size on disk;
//   query: Index::Search (k = 10) for 1-, 3- and 8-term queries on that index, opened from disk
//     and warm, p50/p99 per query length, wall and thread CPU time. Distinct terms come from the
//     corpus with a fixed seed, drawn two ways: "vocabulary", each distinct word of the corpus
//     equally likely (mostly rare names; the target is on this draw), and "occurrence", a random
//     document's random words, so each word as often as it occurs (mostly the template words
//     that most generated documents share, each in 20-75% of them: the worst case). Words the
//     index drops as stopwords are skipped. Baseline in the same run: the same queries as raw
//     Xapian (a prebuilt OR query of the stemmed terms, the same BM25 weights, top 10 docids,
//     no parsing, no document data, no snippets): what the engine costs, against which
//     Index::Search's own work is measured. Each query runs both ways, back to back, the order
//     alternating, so drift hits both alike;
//   episode: what a search task pays per episode: Index::InMemory over a generated world of 300
//     documents (Xapian's InMemory backend), against the alternative, a glass database in a
//     temporary directory (BuildOnDisk + Open); Clone of the in-memory index (an env fork); a
//     3-term query on it.
// Prints a Markdown report with PASS/FAIL target lines on stdout and progress on stderr; --json
// writes the numbers and every query sample. Exit status: 0 when every case ran and every query
// gave the expected result (Index::Search's ranking equals raw Xapian's for every query), 2
// otherwise, 1 on bad options. Targets never affect it.
#include <time.h>
#include <xapian.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "common/status.h"
#include "search/index.h"
#include "search/world.h"

namespace toolgym::bench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using search::Document;
using search::Hit;
using search::Index;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// CPU time of the calling thread, seconds. On a shared machine a query's wall time includes
// waiting for a CPU; its CPU time does not, so the report gives both.
double ThreadCpuSeconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

struct Options {
  std::size_t docs = 100000;         // corpus size for build and query
  std::size_t world_docs = 1000000;  // documents per generated world (see MakeCorpus)
  int queries = 500;                 // queries per query length
  int k = 10;                        // hits per query
  std::uint64_t seed = 1;            // corpus and query seed
  std::size_t episode_docs = 300;    // documents of an episode's world
  int episode_builds = 30;           // episode index builds per backend
  std::string dir;    // where the on-disk index goes (default: a temporary directory)
  bool keep = false;  // keep the on-disk index
  std::string json_path;
  bool quick = false;
};

json StatsJson(const Stats& s, double scale) {
  return {{"n", s.n},
          {"p50", s.median * scale},
          {"p90", s.p90 * scale},
          {"p99", s.p99 * scale},
          {"mean", s.mean * scale},
          {"min", s.min * scale},
          {"max", s.max * scale}};
}

std::string Ms(double seconds) { return fmt::format("{:.3f} ms", seconds * 1e3); }

std::uint64_t DirectoryBytes(const fs::path& dir) {
  std::uint64_t total = 0;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec)) {
    if (e.is_regular_file(ec)) total += e.file_size(ec);
  }
  return total;
}

// Lower-case ASCII words of 3+ letters in `text` (the query vocabulary; no digits or
// punctuation, so QueryParser and a hand-built query see the same terms).
std::vector<std::string> Words(const std::string& text) {
  std::vector<std::string> words;
  std::string w;
  auto flush = [&] {
    if (w.size() >= 3) words.push_back(w);
    w.clear();
  };
  for (char c : text) {
    if (c >= 'a' && c <= 'z') {
      w += c;
    } else if (c >= 'A' && c <= 'Z') {
      w += static_cast<char>(c - 'A' + 'a');
    } else {
      flush();
    }
  }
  flush();
  return words;
}

// `n` generated documents: one world when n <= world_docs (the default: one world of any size
// up to 1,000,000), else worlds of world_docs documents (seeds seed, seed + 1, ...) with ids
// prefixed "w<i>-".
std::vector<Document> MakeCorpus(std::uint64_t seed, std::size_t n, std::size_t world_docs) {
  if (n <= world_docs) return search::GenerateCorpus(seed, n);
  std::vector<Document> out;
  out.reserve(n);
  for (std::uint64_t w = 0; out.size() < n; ++w) {
    std::vector<Document> part =
        search::GenerateCorpus(seed + w, std::min(world_docs, n - out.size()));
    if (part.empty()) break;
    for (Document& d : part) {
      d.id = fmt::format("w{}-{}", w, d.id);
      out.push_back(std::move(d));
    }
  }
  return out;
}

// One benchmark query: its text for Index::Search and its terms for the raw Xapian baseline.
struct Query {
  std::string text;
  std::vector<std::string> words;
};

// How a query's words are drawn (see the top of the file).
enum class Draw {
  kVocabulary,  // each distinct word of the corpus equally likely: mostly rare names
  kOccurrence,  // each word as often as it occurs: mostly the corpus's most common words
};

const char* DrawName(Draw d) { return d == Draw::kVocabulary ? "vocabulary" : "occurrence"; }

// `count` queries of `length` distinct words each. `usable` says whether a word survives the
// index's query processing (not a stopword).
std::vector<Query> DrawQueries(const std::vector<Document>& corpus,
                               const std::vector<std::string>& vocabulary, Draw draw, int length,
                               int count, std::mt19937_64& rng,
                               const std::function<bool(const std::string&)>& usable) {
  std::vector<Query> out;
  int attempts = 0;
  while (static_cast<int>(out.size()) < count && attempts < count * 100) {
    ++attempts;
    std::vector<std::string> words;
    if (draw == Draw::kOccurrence) words = Words(corpus[rng() % corpus.size()].text);
    std::set<std::string> chosen;
    Query q;
    for (int tries = 0; tries < 200 && static_cast<int>(q.words.size()) < length; ++tries) {
      const std::string& w = draw == Draw::kVocabulary
                                 ? vocabulary[rng() % vocabulary.size()]
                                 : (words.empty() ? vocabulary[0] : words[rng() % words.size()]);
      if (chosen.contains(w) || !usable(w)) continue;
      chosen.insert(w);
      q.words.push_back(w);
    }
    if (static_cast<int>(q.words.size()) != length) continue;
    for (const auto& w : q.words) q.text += (q.text.empty() ? "" : " ") + w;
    out.push_back(std::move(q));
  }
  return out;
}

// One set of queries (a draw and a length) with its samples, seconds.
struct QuerySet {
  Draw draw;
  int length;
  std::vector<Query> queries;
  std::vector<Xapian::Query> prepared;  // for the raw baseline
  std::vector<double> search_wall, search_cpu, raw_wall, raw_cpu;
  double hits = 0;  // total hits Index::Search returned
  std::string Name() const { return fmt::format("{}/{}", DrawName(draw), length); }
};

// The raw-Xapian baseline: the stemmed terms ORed, weighed as Index weighs them.
class RawXapian {
 public:
  RawXapian(const std::string& dir, const search::IndexOptions& options)
      : db_(dir), stem_(options.language), weight_(options.k1, 0, 1, options.b, 0.5) {}

  Xapian::Query Prepare(const Query& q) {
    std::vector<Xapian::Query> terms;
    for (const auto& w : q.words) terms.emplace_back("Z" + stem_(w));
    return Xapian::Query(Xapian::Query::OP_OR, terms.begin(), terms.end());
  }
  std::vector<Xapian::docid> Run(const Xapian::Query& query, int k) {
    Xapian::Enquire enquire(db_);
    enquire.set_weighting_scheme(weight_);
    enquire.set_query(query);
    Xapian::MSet mset = enquire.get_mset(0, static_cast<Xapian::doccount>(k));
    std::vector<Xapian::docid> ids;
    for (auto it = mset.begin(); it != mset.end(); ++it) ids.push_back(*it);
    return ids;
  }
  // The document id stored with `did` (Index's data format: "<n>:<id>...").
  std::string IdOf(Xapian::docid did) {
    std::string data = db_.get_document(did).get_data();
    std::size_t colon = data.find(':');
    std::size_t n = std::strtoull(data.substr(0, colon).c_str(), nullptr, 10);
    return data.substr(colon + 1, n);
  }

 private:
  Xapian::Database db_;
  Xapian::Stem stem_;
  Xapian::BM25Weight weight_;
};

struct Target {
  std::string text;
  bool pass = false;
};

int Run(const Options& o) {
  const Machine m = DescribeMachine();
  auto die = [](const std::string& what) {
    std::fprintf(stderr, "search_bench: %s\n", what.c_str());
    return 2;
  };

  // Corpus.
  std::fprintf(stderr, "search_bench: generating %zu documents (seed %llu)\n", o.docs,
               static_cast<unsigned long long>(o.seed));
  auto gen_start = Clock::now();
  std::vector<Document> corpus = MakeCorpus(o.seed, o.docs, o.world_docs);
  const double gen_seconds = Seconds(Clock::now() - gen_start);
  if (corpus.size() != o.docs) {
    return die(
        fmt::format("GenerateCorpus gave {} documents, asked for {}", corpus.size(), o.docs));
  }
  const std::size_t worlds = (o.docs + o.world_docs - 1) / o.world_docs;
  std::uint64_t corpus_bytes = 0, corpus_words = 0;
  for (const Document& d : corpus) {
    corpus_bytes += d.title.size() + d.text.size();
    corpus_words += Words(d.text).size();
  }

  // Build on disk.
  fs::path base;
  if (o.dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr ? tmp : "/tmp") + "/search_bench.XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) return die("cannot create a temporary directory");
    base = pattern;
  } else {
    base = o.dir;
  }
  const fs::path index_dir = base / "index";
  search::IndexOptions options;  // defaults: k1 0.9, b 0.4, english, stopwords
  std::fprintf(stderr, "search_bench: building the index in %s\n", index_dir.c_str());
  StatusOr<search::BuildStats> built =
      Index::BuildOnDisk(corpus, index_dir.string(), options, /*overwrite=*/true);
  if (!built.ok()) return die("build: " + built.status().ToString());
  const double build_rate = static_cast<double>(built->documents) / built->seconds;
  const std::uint64_t index_bytes = DirectoryBytes(index_dir);

  // Queries.
  StatusOr<std::unique_ptr<Index>> opened = Index::Open(index_dir.string());
  if (!opened.ok()) return die("open: " + opened.status().ToString());
  Index& index = **opened;
  RawXapian raw(index_dir.string(), options);
  std::map<std::string, bool> usable_cache;
  auto usable = [&](const std::string& w) {
    auto it = usable_cache.find(w);
    if (it != usable_cache.end()) return it->second;
    StatusOr<std::vector<Hit>> hits = index.Search(w, 1);
    bool ok = hits.ok() && !hits->empty();
    usable_cache.emplace(w, ok);
    return ok;
  };
  std::vector<std::string> vocabulary;
  {
    std::set<std::string> distinct;
    for (const Document& d : corpus) {
      for (std::string& w : Words(d.text)) distinct.insert(std::move(w));
    }
    vocabulary.assign(distinct.begin(), distinct.end());
  }
  if (vocabulary.empty()) return die("the corpus has no words");
  std::mt19937_64 rng(o.seed * 7919 + 17);
  std::vector<QuerySet> sets;
  for (Draw draw : {Draw::kVocabulary, Draw::kOccurrence}) {
    for (int length : {1, 3, 8}) {
      QuerySet set{.draw = draw, .length = length};
      set.queries = DrawQueries(corpus, vocabulary, draw, length, o.queries, rng, usable);
      if (static_cast<int>(set.queries.size()) != o.queries) {
        return die(fmt::format("could draw only {} {} queries", set.queries.size(), set.Name()));
      }
      sets.push_back(std::move(set));
    }
  }

  // Warm-up pass, which is also the correctness check: Index::Search ranks as raw Xapian does.
  std::fprintf(stderr, "search_bench: warm-up and check (%d queries per set)\n", o.queries);
  std::vector<std::string> failures;
  for (QuerySet& set : sets) {
    for (const Query& q : set.queries) {
      set.prepared.push_back(raw.Prepare(q));
      StatusOr<std::vector<Hit>> hits = index.Search(q.text, o.k);
      std::vector<Xapian::docid> raw_ids = raw.Run(set.prepared.back(), o.k);
      if (!hits.ok()) {
        failures.push_back(fmt::format("\"{}\": {}", q.text, hits.status().ToString()));
        continue;
      }
      std::vector<std::string> ours, theirs;
      for (const Hit& h : *hits) ours.push_back(h.id);
      for (Xapian::docid d : raw_ids) theirs.push_back(raw.IdOf(d));
      if (ours.empty() || ours != theirs) {
        failures.push_back(fmt::format("\"{}\": Index::Search gave [{}], raw Xapian [{}]", q.text,
                                       fmt::join(ours, ", "), fmt::join(theirs, ", ")));
      }
    }
  }

  std::fprintf(stderr, "search_bench: timing queries\n");
  for (QuerySet& set : sets) {
    for (std::size_t i = 0; i < set.queries.size(); ++i) {
      auto time_search = [&] {
        const double c0 = ThreadCpuSeconds();
        auto t0 = Clock::now();
        StatusOr<std::vector<Hit>> hits = index.Search(set.queries[i].text, o.k);
        set.search_wall.push_back(Seconds(Clock::now() - t0));
        set.search_cpu.push_back(ThreadCpuSeconds() - c0);
        if (hits.ok()) set.hits += static_cast<double>(hits->size());
      };
      auto time_raw = [&] {
        const double c0 = ThreadCpuSeconds();
        auto t0 = Clock::now();
        std::vector<Xapian::docid> ids = raw.Run(set.prepared[i], o.k);
        set.raw_wall.push_back(Seconds(Clock::now() - t0));
        set.raw_cpu.push_back(ThreadCpuSeconds() - c0);
      };
      if (i % 2 == 0) {
        time_search();
        time_raw();
      } else {
        time_raw();
        time_search();
      }
    }
  }

  // Episode-sized indexes.
  std::fprintf(stderr, "search_bench: episode indexes (%d builds of %zu documents)\n",
               o.episode_builds, o.episode_docs);
  std::vector<double> inmemory_build, glass_build, clone_times, episode_query;
  std::uint64_t episode_words = 0;
  const fs::path episode_dir = base / "episode";
  for (int r = 0; r < o.episode_builds; ++r) {
    std::vector<Document> world = search::GenerateCorpus(o.seed + 1000 + r, o.episode_docs);
    for (const Document& d : world) episode_words += Words(d.text).size();
    auto run_inmemory = [&]() -> Status {
      auto t0 = Clock::now();
      StatusOr<std::unique_ptr<Index>> idx = Index::InMemory(world, options);
      inmemory_build.push_back(Seconds(Clock::now() - t0));
      if (!idx.ok()) return idx.status();
      auto t1 = Clock::now();
      StatusOr<std::unique_ptr<Index>> clone = (*idx)->Clone();
      clone_times.push_back(Seconds(Clock::now() - t1));
      if (!clone.ok()) return clone.status();
      std::vector<std::string> words = Words(world[r % world.size()].text);
      std::string q = words.size() >= 3 ? words[0] + " " + words[1] + " " + words[2] : "the";
      auto t2 = Clock::now();
      StatusOr<std::vector<Hit>> hits = (*clone)->Search(q, o.k);
      episode_query.push_back(Seconds(Clock::now() - t2));
      if (!hits.ok()) return hits.status();
      return OkStatus();
    };
    auto run_glass = [&]() -> Status {
      auto t0 = Clock::now();
      StatusOr<search::BuildStats> s =
          Index::BuildOnDisk(world, episode_dir.string(), options, /*overwrite=*/true);
      if (!s.ok()) return s.status();
      StatusOr<std::unique_ptr<Index>> idx = Index::Open(episode_dir.string());
      glass_build.push_back(Seconds(Clock::now() - t0));
      return idx.status();
    };
    Status a = r % 2 == 0 ? run_inmemory() : run_glass();
    Status b = r % 2 == 0 ? run_glass() : run_inmemory();
    if (!a.ok() || !b.ok()) return die("episode index: " + (a.ok() ? b : a).ToString());
  }

  if (!o.keep && o.dir.empty()) {
    std::error_code ec;
    fs::remove_all(base, ec);
  }

  // Report.
  std::string out;
  out += "# search_bench\n\n";
  out += fmt::format(
      "Machine: {} ({} CPUs online, {} allowed), {:.1f} GiB, {}; load average {}\n\n", m.cpu_model,
      m.cpus_online, m.cpus_allowed, m.memory_gib, m.kernel, LoadAverage());
  out += fmt::format(
      "Corpus: search::GenerateCorpus, {} documents in {} world(s) from seed {}: {:.1f} MB of "
      "text, {:.0f} words per document on average (generated in {:.2f} s)\n\n",
      o.docs, worlds, o.seed, static_cast<double>(corpus_bytes) / 1e6,
      static_cast<double>(corpus_words) / static_cast<double>(o.docs), gen_seconds);
  out += "## Build (on disk, glass)\n\n";
  out += "| documents | seconds | docs/s | index size |\n|---:|---:|---:|---:|\n";
  out += fmt::format("| {} | {:.2f} | {:.0f} | {:.1f} MB |\n\n", built->documents, built->seconds,
                     build_rate, static_cast<double>(index_bytes) / 1e6);
  out += fmt::format(
      "## Query latency (k = {}, {} queries per set, index opened from disk and warm)\n\n", o.k,
      o.queries);
  out +=
      "| draw | terms | Index::Search p50 | p99 | CPU p50 | raw Xapian p50 | p99 | CPU p50 | "
      "Search - raw (p50) | mean hits |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  std::map<std::string, Stats> search_stats, search_cpu_stats, raw_stats, raw_cpu_stats;
  for (const QuerySet& set : sets) {
    const std::string n = set.Name();
    search_stats[n] = Summarize(set.search_wall);
    search_cpu_stats[n] = Summarize(set.search_cpu);
    raw_stats[n] = Summarize(set.raw_wall);
    raw_cpu_stats[n] = Summarize(set.raw_cpu);
    out +=
        fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.1f} |\n", DrawName(set.draw),
                    set.length, Ms(search_stats[n].median), Ms(search_stats[n].p99),
                    Ms(search_cpu_stats[n].median), Ms(raw_stats[n].median), Ms(raw_stats[n].p99),
                    Ms(raw_cpu_stats[n].median), Ms(search_stats[n].median - raw_stats[n].median),
                    set.hits / static_cast<double>(set.queries.size()));
  }
  out +=
      "\nWall time per query; CPU is the thread's CPU time, which excludes waiting for a CPU on "
      "a loaded machine. vocabulary: words drawn uniformly from the corpus's distinct words "
      "(mostly rare names); occurrence: words drawn as often as they occur (mostly the "
      "template words that most documents share: the worst case).\n";
  Stats inmem = Summarize(inmemory_build), glass = Summarize(glass_build),
        clone = Summarize(clone_times), equery = Summarize(episode_query);
  out += fmt::format(
      "\n## Episode index ({} documents, {:.0f} words per document, {} builds each)\n\n",
      o.episode_docs,
      static_cast<double>(episode_words) /
          static_cast<double>(o.episode_docs * static_cast<std::size_t>(o.episode_builds)),
      o.episode_builds);
  out += "| case | p50 | p90 | max |\n|---|---:|---:|---:|\n";
  out += fmt::format("| Index::InMemory (Xapian InMemory backend) | {} | {} | {} |\n",
                     Ms(inmem.median), Ms(inmem.p90), Ms(inmem.max));
  out += fmt::format(
      "| baseline: glass in a temporary directory (BuildOnDisk + Open) | {} | {} | {} |\n",
      Ms(glass.median), Ms(glass.p90), Ms(glass.max));
  out += fmt::format("| Clone of the in-memory index | {} | {} | {} |\n", Ms(clone.median),
                     Ms(clone.p90), Ms(clone.max));
  out += fmt::format("| 3-term Search on the clone | {} | {} | {} |\n", Ms(equery.median),
                     Ms(equery.p90), Ms(equery.max));

  std::vector<Target> targets = {
      {fmt::format("3-term query p50 {} < 1 ms on {} documents (vocabulary draw)",
                   Ms(search_stats["vocabulary/3"].median), o.docs),
       search_stats["vocabulary/3"].median < 1e-3},
  };
  out += "\nTargets:\n\n";
  for (const Target& t : targets)
    out += fmt::format("- {}: {}\n", t.pass ? "PASS" : "FAIL", t.text);
  if (!failures.empty()) {
    out += fmt::format(
        "\nQueries where Index::Search disagreed with raw Xapian ({}; the run "
        "fails):\n\n",
        failures.size());
    for (std::size_t i = 0; i < failures.size() && i < 20; ++i) out += "- " + failures[i] + "\n";
  }
  if (o.quick) out += "\n(--quick: a small corpus and few queries; the numbers are rough)\n";
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);

  if (!o.json_path.empty()) {
    json j;
    j["machine"] = {{"cpu_model", m.cpu_model},
                    {"cpus_online", m.cpus_online},
                    {"cpus_allowed", m.cpus_allowed},
                    {"memory_gib", m.memory_gib},
                    {"kernel", m.kernel},
                    {"load_average", LoadAverage()}};
    j["options"] = {{"docs", o.docs},
                    {"world_docs", o.world_docs},
                    {"queries", o.queries},
                    {"k", o.k},
                    {"seed", o.seed},
                    {"episode_docs", o.episode_docs},
                    {"episode_builds", o.episode_builds},
                    {"quick", o.quick}};
    j["corpus"] = {{"bytes", corpus_bytes}, {"words", corpus_words}, {"seconds", gen_seconds}};
    j["build"] = {{"documents", built->documents},
                  {"seconds", built->seconds},
                  {"docs_per_second", build_rate},
                  {"index_bytes", index_bytes}};
    json jq = json::object();
    for (const QuerySet& set : sets) {
      const std::string n = set.Name();
      json samples = json::array();
      for (std::size_t i = 0; i < set.queries.size(); ++i) {
        samples.push_back({{"query", set.queries[i].text},
                           {"search_ms", set.search_wall[i] * 1e3},
                           {"search_cpu_ms", set.search_cpu[i] * 1e3},
                           {"raw_ms", set.raw_wall[i] * 1e3},
                           {"raw_cpu_ms", set.raw_cpu[i] * 1e3}});
      }
      jq[n] = {{"search_ms", StatsJson(search_stats[n], 1e3)},
               {"search_cpu_ms", StatsJson(search_cpu_stats[n], 1e3)},
               {"raw_xapian_ms", StatsJson(raw_stats[n], 1e3)},
               {"raw_xapian_cpu_ms", StatsJson(raw_cpu_stats[n], 1e3)},
               {"mean_hits", set.hits / static_cast<double>(set.queries.size())},
               {"samples", samples}};
    }
    j["query"] = jq;
    j["episode"] = {{"inmemory_build_ms", StatsJson(inmem, 1e3)},
                    {"glass_build_ms", StatsJson(glass, 1e3)},
                    {"clone_ms", StatsJson(clone, 1e3)},
                    {"query_3_terms_ms", StatsJson(equery, 1e3)}};
    json jt = json::array();
    for (const Target& t : targets) jt.push_back({{"target", t.text}, {"pass", t.pass}});
    j["targets"] = jt;
    j["failures"] = failures;
    std::ofstream f(o.json_path);
    f << j.dump(2) << "\n";
    if (!f) return die("cannot write " + o.json_path);
  }
  return failures.empty() ? 0 : 2;
}

}  // namespace
}  // namespace toolgym::bench

int main(int argc, char** argv) {
  toolgym::bench::Options o;
  CLI::App app{
      "search_bench: index build rate, query latency (1, 3, 8 terms) against raw Xapian, and "
      "episode-sized in-memory indexes; prints a Markdown report"};
  app.add_option("--docs", o.docs, "corpus size")->check(CLI::Range(100, 10000000));
  app.add_option("--world-docs", o.world_docs, "documents per generated world")
      ->check(CLI::Range(100, 1000000));
  app.add_option("--queries", o.queries, "queries per query length")->check(CLI::PositiveNumber);
  app.add_option("-k", o.k, "hits per query")->check(CLI::Range(1, 1000));
  app.add_option("--seed", o.seed, "corpus and query seed");
  app.add_option("--episode-docs", o.episode_docs, "documents of an episode's world")
      ->check(CLI::Range(10, 100000));
  app.add_option("--episode-builds", o.episode_builds, "episode index builds per backend")
      ->check(CLI::PositiveNumber);
  app.add_option("--dir", o.dir, "build the index here (kept) instead of a temporary directory");
  app.add_flag("--keep", o.keep, "keep the temporary index directory");
  app.add_option("--json", o.json_path, "also write the results (and every sample) as JSON here");
  app.add_flag("--quick", o.quick, "a smoke run: 3,000 documents, 40 queries per length");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  if (o.quick) {
    if (app.count("--docs") == 0) o.docs = 3000;
    if (app.count("--queries") == 0) o.queries = 40;
    if (app.count("--episode-builds") == 0) o.episode_builds = 4;
  }
  return toolgym::bench::Run(o);
}
