// Search index commands (search/index.h; docs/envs.md, "Search index"):
//   toolgym index build CORPUS.jsonl --out DIR [--k1 X] [--b Y] [--language L]
//                       [--no-stopwords] [--overwrite]
//                                      a Xapian database from a JSONL corpus; prints the number
//                                      of documents and the build rate
//   toolgym index query DIR QUERY [-k N]
//                                      the ranked hits with scores and highlighted snippets
//   toolgym index show DIR ID [--page N] [--page-bytes B]
//                                      one page of a document, as the search env's open shows it
// Exit status: 0 on success, 1 when the corpus, index, query or document is bad (the message
// names it), CLI11's nonzero codes on bad options.
#include <fmt/format.h>

#include <cstdio>
#include <string>

#include "apps/commands.h"
#include "search/index.h"

namespace toolgym::apps {
namespace {

int Build(const std::string& corpus, const std::string& out, const search::IndexOptions& options,
          bool overwrite) {
  StatusOr<search::BuildStats> stats =
      search::Index::BuildFromJsonl(corpus, out, options, overwrite);
  if (!stats.ok()) {
    std::fprintf(stderr, "toolgym index build: %s\n", stats.status().message().c_str());
    return 1;
  }
  double rate = stats->seconds > 0 ? static_cast<double>(stats->documents) / stats->seconds : 0;
  std::printf("indexed %llu documents into %s in %.3f s (%.0f docs/s)\n",
              static_cast<unsigned long long>(stats->documents), out.c_str(), stats->seconds, rate);
  std::printf("bm25 k1=%g b=%g, language %s, stopwords %s\n", options.k1, options.b,
              options.language.c_str(), options.stopwords ? "on" : "off");
  return 0;
}

int Query(const std::string& dir, const std::string& query, int k) {
  StatusOr<std::unique_ptr<search::Index>> index = search::Index::Open(dir);
  if (!index.ok()) {
    std::fprintf(stderr, "toolgym index query: %s\n", index.status().message().c_str());
    return 1;
  }
  StatusOr<std::vector<search::Hit>> hits = (*index)->Search(query, k);
  if (!hits.ok()) {
    std::fprintf(stderr, "toolgym index query: %s\n", hits.status().message().c_str());
    return 1;
  }
  for (const search::Hit& hit : *hits) {
    std::printf("%d. %s [%s] score %.4f\n   %s\n", hit.rank, hit.title.c_str(), hit.id.c_str(),
                hit.score, hit.snippet.c_str());
  }
  std::printf("%zu hit(s) of %llu documents\n", hits->size(),
              static_cast<unsigned long long>((*index)->size()));
  return 0;
}

int Show(const std::string& dir, const std::string& id, int page, int page_bytes) {
  StatusOr<std::unique_ptr<search::Index>> index = search::Index::Open(dir);
  if (!index.ok()) {
    std::fprintf(stderr, "toolgym index show: %s\n", index.status().message().c_str());
    return 1;
  }
  StatusOr<search::Document> doc = (*index)->Get(id);
  if (!doc.ok()) {
    std::fprintf(stderr, "toolgym index show: %s\n", doc.status().message().c_str());
    return 1;
  }
  std::vector<std::string> pages = search::Paginate(*doc, static_cast<std::size_t>(page_bytes));
  if (page < 1 || static_cast<std::size_t>(page) > pages.size()) {
    std::fprintf(stderr, "toolgym index show: document \"%s\" has %zu page(s), asked for page %d\n",
                 id.c_str(), pages.size(), page);
    return 1;
  }
  std::printf("[%s] page %d of %zu\n%s\n", doc->id.c_str(), page, pages.size(),
              pages[static_cast<std::size_t>(page - 1)].c_str());
  return 0;
}

}  // namespace

void AddIndexCommands(CLI::App& app) {
  static std::string corpus, out, dir, query, id;
  static search::IndexOptions options;
  static bool no_stopwords = false, overwrite = false;
  static int k = 10, page = 1, page_bytes = 2000;

  auto* index = app.add_subcommand("index", "Build and query BM25 search indexes (Xapian)");
  index->require_subcommand(1);

  auto* build =
      index->add_subcommand("build", "Index a JSONL corpus ({\"id\", \"title\", \"text\"})");
  build->add_option("corpus", corpus, "Corpus file, one JSON document per line")->required();
  build->add_option("--out", out, "Index directory to write")->required();
  build->add_option("--k1", options.k1, "BM25 k1 (term-frequency saturation)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  build->add_option("--b", options.b, "BM25 b (document-length normalisation)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  build->add_option("--language", options.language, "Snowball stemmer language, or none")
      ->capture_default_str();
  build->add_flag("--no-stopwords", no_stopwords, "Keep stopwords in queries");
  build->add_flag("--overwrite", overwrite, "Replace an existing index at --out");
  build->callback([] {
    search::IndexOptions o = options;
    o.stopwords = !no_stopwords;
    SetExitCode(Build(corpus, out, o, overwrite));
  });

  auto* q = index->add_subcommand("query", "Search an index and print the ranked hits");
  q->add_option("dir", dir, "Index directory")->required();
  q->add_option("query", query, "Query (words, \"phrases\", AND/OR/NOT, title:word)")->required();
  q->add_option("-k", k, "Number of hits")->capture_default_str()->check(CLI::Range(1, 1000));
  q->callback([] { SetExitCode(Query(dir, query, k)); });

  auto* show = index->add_subcommand("show", "Print one page of a document");
  show->add_option("dir", dir, "Index directory")->required();
  show->add_option("id", id, "Document id")->required();
  show->add_option("--page", page, "Page number (from 1)")->capture_default_str();
  show->add_option("--page-bytes", page_bytes, "Page size in bytes")
      ->capture_default_str()
      ->check(CLI::Range(16, 1 << 20));
  show->callback([] { SetExitCode(Show(dir, id, page, page_bytes)); });
}

}  // namespace toolgym::apps
