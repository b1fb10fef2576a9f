// Full-text retrieval for the search env, on Xapian (Debian's libxapian-dev): BM25 ranking
// with configurable k1 and b, Snowball stemming, stopwords, phrase and boolean queries, top-k
// hits with highlighted snippets. Written over Xapian rather than by hand: Xapian is the
// well-kept C++ search library, with on-disk databases that open without rebuilding.
//
// A corpus is JSONL, one document per line: {"id": "...", "title": "...", "text": "..."}.
// Ids are unique non-empty strings of at most 200 bytes (an integer id is read as its digits);
// title may be missing or empty; other fields are ignored; blank lines are skipped. Pyserini's
// {"id", "contents"} is accepted too: the first line of contents is the title.
//
// Two kinds of index:
//   - on disk: Index::BuildFromJsonl writes a Xapian (glass) database directory once; later
//     runs Index::Open it without rebuilding. The build options (language, stopwords, k1, b)
//     are stored in the database's metadata, so queries are parsed as the documents were.
//   - in memory: Index::InMemory for small generated corpora (a search task's synthetic
//     world): nothing touches the disk (Xapian's InMemory backend).
//
// Query syntax (Xapian's QueryParser, documented in docs/envs.md): plain words are ORed and
// ranked by BM25; "quoted phrases"; AND, OR, NOT and parentheses; +word / -word; title:word.
// A query that does not parse falls back to plain words, so an agent's stray quote is never an
// error. Queries are cut at 2,048 bytes and k at 1,000 (agent input is bounded).
//
// Thread-safety: an Index is used by one thread at a time (Xapian database handles are not
// thread-safe). Clone() gives another handle to the same data for another thread or a forked
// env: an on-disk index reopens its directory; an in-memory one shares its immutable database
// with its clones (about 0.1 ms), which take turns on it through a mutex. A clone may outlive
// the index it came from. docs/envs.md, "Search index", has the details.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace toolgym::search {

struct Document {
  std::string id;
  std::string title;
  std::string text;
  bool operator==(const Document&) const = default;
};

struct IndexOptions {
  // BM25 parameters. The defaults are Pyserini's (k1 0.9, b 0.4), which Search-R1 uses.
  double k1 = 0.9;
  double b = 0.4;
  std::string language = "english";  // Snowball stemmer; "none" disables stemming
  bool stopwords = true;             // drop the language's stopwords from queries
};

struct Hit {
  std::string id;
  std::string title;
  std::string snippet;  // ~200 bytes, one line, where the terms are densest; matched words in
                        // **bold**, "..." where the text is cut
  double score = 0;     // BM25
  int rank = 0;         // 1-based
};

struct BuildStats {
  std::uint64_t documents = 0;
  double seconds = 0;
};

class Index {
 public:
  virtual ~Index() = default;

  // Reads a JSONL corpus and writes a database at `db_dir` (created; an existing database
  // there is replaced only when `overwrite`, and a directory that is not an index never is).
  // Errors name the file and line: "corpus.jsonl:17: missing \"id\"", duplicate ids, a
  // directory that exists without overwrite. The database is built beside `db_dir` and renamed
  // into place: a failed build leaves no directory and an existing index untouched.
  static StatusOr<BuildStats> BuildFromJsonl(const std::string& jsonl_path,
                                             const std::string& db_dir, const IndexOptions& options,
                                             bool overwrite = false);
  // The same from documents already in memory (the benchmark's generated corpus).
  static StatusOr<BuildStats> BuildOnDisk(const std::vector<Document>& docs,
                                          const std::string& db_dir, const IndexOptions& options,
                                          bool overwrite = false);
  // Opens a database written by BuildFromJsonl / BuildOnDisk.
  static StatusOr<std::unique_ptr<Index>> Open(const std::string& db_dir);
  // An index that lives in memory only.
  static StatusOr<std::unique_ptr<Index>> InMemory(const std::vector<Document>& docs,
                                                   const IndexOptions& options = {});
  // Reads a JSONL corpus into documents (same checks as BuildFromJsonl).
  static StatusOr<std::vector<Document>> ReadJsonl(const std::string& jsonl_path);

  // The top `k` documents for `query` (k >= 1), best first; ties broken by document order.
  // An empty or all-stopword query returns no hits.
  virtual StatusOr<std::vector<Hit>> Search(const std::string& query, int k) const = 0;
  // The document with this id, or NotFound.
  virtual StatusOr<Document> Get(const std::string& id) const = 0;
  virtual std::uint64_t size() const = 0;
  virtual const IndexOptions& options() const = 0;
  virtual StatusOr<std::unique_ptr<Index>> Clone() const = 0;
};

// A document cut into pages of at most `page_bytes` bytes of text (at least 16), at paragraph
// or line breaks (else spaces) where possible and never inside a UTF-8 sequence. The pages
// joined are exactly `title + "\n\n" + text` (just the text when the title is empty), so page 1
// starts with the title; an empty document is one empty page.
std::vector<std::string> Paginate(const Document& doc, std::size_t page_bytes);

}  // namespace toolgym::search
