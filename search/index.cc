// The Xapian index behind search/index.h: building (from JSONL or documents, on disk or in
// memory), opening, BM25 queries with snippets, and documents cut into pages.
//
// How documents become terms (one TermGenerator configuration, shared by every path so that an
// index built from JSONL and one built in memory from the same documents rank alike):
//   - STEM_ALL_Z: every word is indexed as its Snowball stem with prefix "Z", with positions
//     (phrase queries), and QueryParser stems query words the same way. No unstemmed copies: a
//     document's length (what BM25 normalises by) is its number of words. Snippets split and
//     stem the text the same way to find the matched words. Language "none" indexes the
//     lower-cased words themselves, without the prefix.
//   - the title is indexed twice, unprefixed (so plain queries match it, as Pyserini's
//     "contents" field does) and with prefix "S" (title:word, term "ZS<stem>"); the text
//     follows after a gap of 100 positions so that no phrase spans title and text.
//   - the id is a boolean term "Q<id>" (Get looks it up; it adds nothing to the length).
//   - the document data holds id, title and text ("<n>:<id><m>:<title><text>", lengths in bytes).
//   - stopwords are indexed (a quoted phrase may contain them) and dropped from queries only.
// The build options are stored in the database's metadata ("toolgym.*" keys) and read back by
// Open, so a reopened index parses and weighs queries exactly as the one that was built.
#include "search/index.h"

#include <unistd.h>
#include <xapian.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace toolgym::search {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr char kIdPrefix[] = "Q";
constexpr char kTitlePrefix[] = "S";
constexpr char kFormatKey[] = "toolgym.index_format";
constexpr char kFormatVersion[] = "1";
constexpr char kK1Key[] = "toolgym.k1";
constexpr char kBKey[] = "toolgym.b";
constexpr char kLanguageKey[] = "toolgym.language";
constexpr char kStopwordsKey[] = "toolgym.stopwords";

// Xapian terms are at most 245 bytes; the id term adds a one-byte prefix.
constexpr std::size_t kMaxIdBytes = 200;
// Bounds on what an agent controls: longer queries are cut (at a UTF-8 boundary), larger k is
// clamped.
constexpr std::size_t kMaxQueryBytes = 2048;
constexpr int kMaxK = 1000;
// Snippets: about this many bytes, chosen from at most the first kMaxSnippetSourceBytes of the
// text (a snippet's cost grows with the text it scans).
constexpr std::size_t kSnippetBytes = 200;
constexpr std::size_t kMaxSnippetSourceBytes = 16 * 1024;
// Xapian's default: document lengths below half the average count as half the average.
constexpr double kMinNormlen = 0.5;
// Paginate never makes pages smaller than this (a page must hold any UTF-8 sequence).
constexpr std::size_t kMinPageBytes = 16;
// Query syntax: "phrases", AND/OR/NOT/parentheses (upper case only, so the word "and" in a
// question stays a word), +word/-word.
constexpr unsigned kQueryFlags = Xapian::QueryParser::FLAG_PHRASE |
                                 Xapian::QueryParser::FLAG_BOOLEAN |
                                 Xapian::QueryParser::FLAG_LOVEHATE;

// English stopwords (the usual function words: articles, pronouns, auxiliaries, prepositions,
// conjunctions). Only English ships a list; other languages stem without stopping.
constexpr std::string_view kEnglishStopwords[] = {
    "a",      "about",  "above", "after",  "again",    "against",    "all",  "am",
    "an",     "and",    "any",   "are",    "as",       "at",         "be",   "because",
    "been",   "before", "being", "below",  "between",  "both",       "but",  "by",
    "can",    "could",  "did",   "do",     "does",     "doing",      "down", "during",
    "each",   "few",    "for",   "from",   "further",  "had",        "has",  "have",
    "having", "he",     "her",   "here",   "hers",     "herself",    "him",  "himself",
    "his",    "how",    "i",     "if",     "in",       "into",       "is",   "it",
    "its",    "itself", "just",  "me",     "more",     "most",       "my",   "myself",
    "no",     "nor",    "not",   "now",    "of",       "off",        "on",   "once",
    "only",   "or",     "other", "our",    "ours",     "ourselves",  "out",  "over",
    "own",    "same",   "she",   "should", "so",       "some",       "such", "than",
    "that",   "the",    "their", "theirs", "them",     "themselves", "then", "there",
    "these",  "they",   "this",  "those",  "through",  "to",         "too",  "under",
    "until",  "up",     "very",  "was",    "we",       "were",       "what", "when",
    "where",  "which",  "while", "who",    "whom",     "why",        "will", "with",
    "would",  "you",    "your",  "yours",  "yourself", "yourselves", "s",    "t",
};

std::string XapianMessage(const Xapian::Error& e) { return e.get_description(); }

// Moves `pos` back to the start of the UTF-8 sequence it falls in (at most 3 bytes back, so
// invalid input cannot make it walk far).
std::size_t BackToUtf8Boundary(std::string_view s, std::size_t pos) {
  for (int steps = 0; steps < 3 && pos > 0 && pos < s.size(); ++steps) {
    if ((static_cast<unsigned char>(s[pos]) & 0xC0) != 0x80) break;
    --pos;
  }
  return pos;
}

std::string_view HeadUtf8(std::string_view s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  return s.substr(0, BackToUtf8Boundary(s, max_bytes));
}

// Appends `s` with each run of whitespace (paragraph breaks included) as one space: a hit's
// snippet is one line.
void AppendCollapsed(std::string& out, std::string_view s) {
  for (char c : s) {
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
}

// A passage of about kSnippetBytes of `text` where the query's terms are densest, matched words
// in **bold**, "..." where it cuts. Written here rather than taken from Xapian's MSet::snippet,
// which highlights nothing for stemmed phrase queries, HTML-escapes its output and (with its
// background model) reads term statistics for every word, which made it most of a query's
// cost (docs/benchmarks.md). Words are split as TermGenerator splits them (Unicode word
// characters, lower-cased) and match when their index term is one of `terms` (sorted).
std::string MakeSnippet(std::string_view text, const std::vector<std::string>& terms,
                        const Xapian::Stem& stem) {
  text = HeadUtf8(text, kMaxSnippetSourceBytes);
  struct Word {
    std::size_t begin, end;
    int term;  // index in `terms`, or -1
  };
  std::vector<Word> words;
  Xapian::Utf8Iterator it(text.data(), text.size()), end;
  std::string lower;
  while (it != end) {
    if (!Xapian::Unicode::is_wordchar(*it)) {
      ++it;
      continue;
    }
    const std::size_t begin = static_cast<std::size_t>(it.raw() - text.data());
    lower.clear();
    while (it != end && Xapian::Unicode::is_wordchar(*it)) {
      Xapian::Unicode::append_utf8(lower, Xapian::Unicode::tolower(*it));
      ++it;
    }
    const std::size_t stop = static_cast<std::size_t>(it.raw() - text.data());
    std::string term = stem.is_none() ? lower : "Z" + stem(lower);
    auto found = std::lower_bound(terms.begin(), terms.end(), term);
    int index =
        found != terms.end() && *found == term ? static_cast<int>(found - terms.begin()) : -1;
    words.push_back({begin, stop, index});
  }
  std::string out;
  if (words.empty()) {
    AppendCollapsed(out, HeadUtf8(text, kSnippetBytes));
    return out;
  }
  // The window of words spanning at most kSnippetBytes with the most distinct matched terms,
  // then the most matches, then the earliest (two pointers: linear in the words).
  const std::size_t n = words.size();
  std::vector<int> counts(terms.size(), 0);
  int distinct = 0, total = 0;
  auto add = [&](const Word& w, int delta) {
    if (w.term < 0) return;
    int& c = counts[static_cast<std::size_t>(w.term)];
    if (delta > 0 && c++ == 0) ++distinct;
    if (delta < 0 && --c == 0) --distinct;
    total += delta;
  };
  std::size_t best_i = 0, best_j = 1, j = 0;
  int best_distinct = -1, best_total = -1;
  for (std::size_t i = 0; i < n; ++i) {
    if (j <= i) {  // a word longer than the whole budget still forms a window
      j = i + 1;
      add(words[i], +1);
    }
    while (j < n && words[j].end - words[i].begin <= kSnippetBytes) add(words[j++], +1);
    if (distinct > best_distinct || (distinct == best_distinct && total > best_total)) {
      best_distinct = distinct;
      best_total = total;
      best_i = i;
      best_j = j;
    }
    add(words[i], -1);
  }
  // Widen the window with the context that still fits, on both sides.
  for (bool grew = true; grew;) {
    grew = false;
    if (best_j < n && words[best_j].end - words[best_i].begin <= kSnippetBytes) {
      ++best_j;
      grew = true;
    }
    if (best_i > 0 && words[best_j - 1].end - words[best_i - 1].begin <= kSnippetBytes) {
      --best_i;
      grew = true;
    }
  }
  if (best_i > 0) out += "...";
  std::size_t pos = best_i == 0 ? 0 : words[best_i].begin;
  for (std::size_t w = best_i; w < best_j; ++w) {
    AppendCollapsed(out, text.substr(pos, words[w].begin - pos));
    std::string_view word = text.substr(words[w].begin, words[w].end - words[w].begin);
    word = HeadUtf8(word, 2 * kSnippetBytes);
    if (words[w].term >= 0) {
      out += "**";
      out += word;
      out += "**";
    } else {
      out += word;
    }
    pos = words[w].end;
  }
  if (best_j == n) {
    AppendCollapsed(out, text.substr(pos));
  } else {
    out += "...";
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string EncodeData(const Document& doc) {
  return fmt::format("{}:{}{}:{}{}", doc.id.size(), doc.id, doc.title.size(), doc.title, doc.text);
}

// Reads one "<n>:" length and the n bytes after it.
bool ReadField(std::string_view& data, std::string* out) {
  std::size_t colon = data.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 20) return false;
  std::size_t n = 0;
  for (char c : data.substr(0, colon)) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<std::size_t>(c - '0');
  }
  data.remove_prefix(colon + 1);
  if (n > data.size()) return false;
  out->assign(data.substr(0, n));
  data.remove_prefix(n);
  return true;
}

StatusOr<Document> DecodeData(std::string_view data) {
  Document doc;
  if (!ReadField(data, &doc.id) || !ReadField(data, &doc.title)) {
    return InternalError("index document data is corrupt (expected \"<n>:<id><m>:<title><text>\")");
  }
  doc.text.assign(data);
  return doc;
}

StatusOr<Xapian::Stem> MakeStemmer(const std::string& language) {
  try {
    return Xapian::Stem(language);  // "none" (and "") give no stemming
  } catch (const Xapian::Error&) {
    return InvalidArgumentError(
        "language \"{}\" has no Snowball stemmer (expected \"none\" or one of: {})", language,
        Xapian::Stem::get_available_languages());
  }
}

Status ValidateOptions(const IndexOptions& options) {
  if (!std::isfinite(options.k1) || options.k1 < 0) {
    return InvalidArgumentError("BM25 k1 must be a finite number >= 0, found {}", options.k1);
  }
  if (!std::isfinite(options.b) || options.b < 0 || options.b > 1) {
    return InvalidArgumentError("BM25 b must be between 0 and 1, found {}", options.b);
  }
  TG_ASSIGN_OR_RETURN(Xapian::Stem stem, MakeStemmer(options.language));
  (void)stem;
  return OkStatus();
}

// A Snowball stemmer that remembers the words it has stemmed: words repeat across a corpus, and
// stemming is a fifth of the cost of indexing a generated world (docs/benchmarks.md). Not
// thread-safe, like the handles that use it: each index and each build makes its own.
class CachedStemmer final : public Xapian::StemImplementation {
 public:
  explicit CachedStemmer(Xapian::Stem stemmer) : stemmer_(std::move(stemmer)) {}
  std::string operator()(const std::string& word) override {
    auto it = cache_.find(word);
    if (it != cache_.end()) return it->second;
    std::string stem = stemmer_(word);
    if (cache_.size() >= kMaxEntries) cache_.clear();  // bounded memory on huge vocabularies
    cache_.emplace(word, stem);
    return stem;
  }
  std::string get_description() const override { return stemmer_.get_description(); }

 private:
  static constexpr std::size_t kMaxEntries = 1 << 18;
  Xapian::Stem stemmer_;
  std::unordered_map<std::string, std::string> cache_;
};

StatusOr<Xapian::Stem> MakeCachedStemmer(const std::string& language) {
  TG_ASSIGN_OR_RETURN(Xapian::Stem stem, MakeStemmer(language));
  if (stem.is_none()) return stem;
  return Xapian::Stem(new CachedStemmer(std::move(stem)));
}

Xapian::TermGenerator MakeTermGenerator(const Xapian::Stem& stem) {
  Xapian::TermGenerator generator;
  generator.set_stemmer(stem);
  // Without a stemmer STEM_ALL_Z would index nothing; language "none" keeps words as they are.
  generator.set_stemming_strategy(stem.is_none() ? Xapian::TermGenerator::STEM_NONE
                                                 : Xapian::TermGenerator::STEM_ALL_Z);
  return generator;
}

Xapian::Document MakeXapianDocument(Xapian::TermGenerator& generator, const Document& doc) {
  Xapian::Document xdoc;
  generator.set_document(xdoc);
  if (!doc.title.empty()) {
    generator.index_text(doc.title, 1, kTitlePrefix);
    generator.index_text(doc.title);
    generator.increase_termpos();
  }
  generator.index_text(doc.text);
  xdoc.add_boolean_term(std::string(kIdPrefix) + doc.id);
  xdoc.set_data(EncodeData(doc));
  return xdoc;
}

// Checks one document before it is indexed; `where` names it in errors ("corpus.jsonl:17").
Status CheckDocument(const Document& doc, const std::string& where,
                     std::unordered_map<std::string, std::string>& first_seen) {
  if (doc.id.empty()) return InvalidArgumentError("{}: \"id\" is empty", where);
  if (doc.id.size() > kMaxIdBytes) {
    return InvalidArgumentError("{}: \"id\" is {} bytes long (at most {})", where, doc.id.size(),
                                kMaxIdBytes);
  }
  auto [it, inserted] = first_seen.emplace(doc.id, where);
  if (!inserted) {
    return InvalidArgumentError("{}: duplicate id \"{}\" (first at {})", where, doc.id, it->second);
  }
  return OkStatus();
}

const char* JsonTypeName(const json& j) { return j.type_name(); }

// One JSONL line into a document. Besides {"id", "title", "text"}, Pyserini's
// {"id", "contents"} is accepted: the first line of contents is the title (quotes stripped),
// the rest the text.
StatusOr<Document> ParseCorpusLine(std::string_view line, const std::string& where) {
  json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgumentError("{}: not valid JSON", where);
  if (!j.is_object()) {
    return InvalidArgumentError("{}: expected a JSON object, found {}", where, JsonTypeName(j));
  }
  Document doc;
  if (!j.contains("id")) return InvalidArgumentError("{}: missing \"id\"", where);
  const json& id = j["id"];
  if (id.is_string()) {
    doc.id = id.get<std::string>();
  } else if (id.is_number_integer()) {
    doc.id = id.dump();  // Pyserini corpora often number their passages
  } else {
    return InvalidArgumentError("{}: \"id\" must be a string, found {}", where, JsonTypeName(id));
  }
  if (j.contains("title")) {
    if (!j["title"].is_string()) {
      return InvalidArgumentError("{}: \"title\" must be a string, found {}", where,
                                  JsonTypeName(j["title"]));
    }
    doc.title = j["title"].get<std::string>();
  }
  if (j.contains("text")) {
    if (!j["text"].is_string()) {
      return InvalidArgumentError("{}: \"text\" must be a string, found {}", where,
                                  JsonTypeName(j["text"]));
    }
    doc.text = j["text"].get<std::string>();
  } else if (j.contains("contents") && j["contents"].is_string()) {
    std::string contents = j["contents"].get<std::string>();
    std::size_t nl = contents.find('\n');
    if (doc.title.empty() && nl != std::string::npos) {
      std::string_view title(contents.data(), nl);
      if (title.size() >= 2 && title.front() == '"' && title.back() == '"') {
        title = title.substr(1, title.size() - 2);
      }
      doc.title = std::string(title);
      doc.text = contents.substr(nl + 1);
    } else {
      doc.text = std::move(contents);
    }
  } else {
    return InvalidArgumentError("{}: missing \"text\" (or Pyserini's \"contents\")", where);
  }
  return doc;
}

// Calls `each(doc, where)` for every document of a JSONL file; blank lines are skipped.
Status ForEachJsonlDocument(const std::string& path,
                            const std::function<Status(Document, const std::string&)>& each) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    return NotFoundError("corpus {}: no such file", path);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("corpus {}: cannot be opened", path);
  std::string line;
  std::uint64_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::string where = fmt::format("{}:{}", path, line_number);
    TG_ASSIGN_OR_RETURN(Document doc, ParseCorpusLine(line, where));
    TG_RETURN_IF_ERROR(each(std::move(doc), where));
  }
  if (in.bad()) return InternalError("corpus {}: read error after line {}", path, line_number);
  return OkStatus();
}

std::string FormatDouble(double v) { return fmt::format("{}", v); }

void WriteOptions(Xapian::WritableDatabase& db, const IndexOptions& options) {
  db.set_metadata(kFormatKey, kFormatVersion);
  db.set_metadata(kK1Key, FormatDouble(options.k1));
  db.set_metadata(kBKey, FormatDouble(options.b));
  db.set_metadata(kLanguageKey, options.language);
  db.set_metadata(kStopwordsKey, options.stopwords ? "1" : "0");
}

StatusOr<IndexOptions> ReadOptions(const Xapian::Database& db, const std::string& db_dir) {
  if (db.get_metadata(kFormatKey) != kFormatVersion) {
    return InvalidArgumentError(
        "{} is a Xapian database but not a toolgym index (metadata {} is \"{}\", expected "
        "\"{}\")",
        db_dir, kFormatKey, db.get_metadata(kFormatKey), kFormatVersion);
  }
  IndexOptions options;
  auto read_double = [&](const char* key, double* out) -> Status {
    std::string s = db.get_metadata(key);
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size()) {
      return InvalidArgumentError("{}: metadata {} is \"{}\", expected a number", db_dir, key, s);
    }
    *out = v;
    return OkStatus();
  };
  TG_RETURN_IF_ERROR(read_double(kK1Key, &options.k1));
  TG_RETURN_IF_ERROR(read_double(kBKey, &options.b));
  options.language = db.get_metadata(kLanguageKey);
  options.stopwords = db.get_metadata(kStopwordsKey) == "1";
  TG_RETURN_IF_ERROR(ValidateOptions(options).WithContext(db_dir));
  return options;
}

bool IsToolgymIndex(const std::string& dir) {
  try {
    Xapian::Database db(dir);
    return db.get_metadata(kFormatKey) == kFormatVersion;
  } catch (const Xapian::Error&) {
    return false;
  }
}

// What an index and its clones share. On disk, each clone opens its own database (Clone
// reopens the directory); in memory, clones share one database and its documents, so that a
// fork costs nothing, and take turns through `mu` (Xapian handles, even their reference counts,
// are not thread-safe).
struct SharedDatabase {
  std::mutex mu;
  Xapian::Database db;  // guarded by mu
  std::string db_dir;   // on disk: where Clone reopens
  bool in_memory = false;
  std::vector<Document> docs;                          // in memory: docid i+1 is docs[i]
  std::unordered_map<std::string, std::size_t> by_id;  // in memory: id -> index in docs
};

bool HasEnglishStopwords(const IndexOptions& options) {
  return options.stopwords && (options.language == "english" || options.language == "en");
}

class XapianIndex final : public Index {
 public:
  XapianIndex(std::shared_ptr<SharedDatabase> shared, IndexOptions options, Xapian::Stem stem)
      : shared_(std::move(shared)),
        options_(std::move(options)),
        stem_(std::move(stem)),
        weight_(options_.k1, /*k2=*/0, /*k3=*/1, options_.b, kMinNormlen) {
    if (HasEnglishStopwords(options_)) {
      for (std::string_view w : kEnglishStopwords) {
        stopper_.add(std::string(w));
        stopword_terms_.insert(stem_.is_none() ? std::string(w) : "Z" + stem_(std::string(w)));
      }
      parser_.set_stopper(&stopper_);
    }
    parser_.set_stemmer(stem_);
    parser_.set_stemming_strategy(stem_.is_none() ? Xapian::QueryParser::STEM_NONE
                                                  : Xapian::QueryParser::STEM_ALL_Z);
    parser_.set_default_op(Xapian::Query::OP_OR);
    parser_.add_prefix("title", kTitlePrefix);
  }

  StatusOr<std::vector<Hit>> Search(const std::string& query, int k) const override {
    if (k < 1) return InvalidArgumentError("k must be at least 1, found {}", k);
    k = std::min(k, kMaxK);
    std::string bounded(HeadUtf8(query, kMaxQueryBytes));
    std::lock_guard<std::mutex> lock(shared_->mu);
    try {
      return SearchOnce(bounded, k);
    } catch (const Xapian::DatabaseModifiedError&) {
      // The database on disk was rebuilt under us: read the new revision once.
      try {
        shared_->db.reopen();
        return SearchOnce(bounded, k);
      } catch (const Xapian::Error& e) {
        return InternalError("search \"{}\": {}", bounded, XapianMessage(e));
      }
    } catch (const Xapian::Error& e) {
      return InternalError("search \"{}\": {}", bounded, XapianMessage(e));
    }
  }

  StatusOr<Document> Get(const std::string& id) const override {
    if (shared_->in_memory) {
      auto it = shared_->by_id.find(id);
      if (it == shared_->by_id.end()) {
        return NotFoundError("no document with id \"{}\"", HeadUtf8(id, 256));
      }
      return shared_->docs[it->second];
    }
    if (id.empty() || id.size() > kMaxIdBytes) {
      return NotFoundError("no document with id \"{}\"", HeadUtf8(id, 256));
    }
    std::lock_guard<std::mutex> lock(shared_->mu);
    try {
      std::string term = std::string(kIdPrefix) + id;
      Xapian::PostingIterator p = shared_->db.postlist_begin(term);
      if (p == shared_->db.postlist_end(term)) {
        return NotFoundError("no document with id \"{}\"", id);
      }
      return DecodeData(shared_->db.get_document(*p).get_data());
    } catch (const Xapian::Error& e) {
      return InternalError("reading document \"{}\": {}", id, XapianMessage(e));
    }
  }

  std::uint64_t size() const override {
    std::lock_guard<std::mutex> lock(shared_->mu);
    return shared_->db.get_doccount();
  }
  const IndexOptions& options() const override { return options_; }

  StatusOr<std::unique_ptr<Index>> Clone() const override {
    if (!shared_->in_memory) return Index::Open(shared_->db_dir);
    TG_ASSIGN_OR_RETURN(Xapian::Stem stem, MakeCachedStemmer(options_.language));
    return std::unique_ptr<Index>(new XapianIndex(shared_, options_, std::move(stem)));
  }

 private:
  // Called with shared_->mu held. Everything that touches a Xapian handle (the MSet included)
  // is gone when it returns.
  std::vector<Hit> SearchOnce(const std::string& query, int k) const {
    Xapian::Query parsed = Parse(query);
    if (parsed.empty() || OnlyStopwords(parsed)) return {};
    Xapian::Enquire enquire(shared_->db);
    enquire.set_weighting_scheme(weight_);
    enquire.set_docid_order(Xapian::Enquire::ASCENDING);  // ties: document order
    enquire.set_query(parsed);
    Xapian::MSet mset = enquire.get_mset(0, static_cast<Xapian::doccount>(k));
    const std::vector<std::string> terms(parsed.get_unique_terms_begin(),
                                         parsed.get_unique_terms_end());  // sorted
    std::vector<Hit> hits;
    hits.reserve(mset.size());
    for (Xapian::MSetIterator it = mset.begin(); it != mset.end(); ++it) {
      Document stored;
      const Document* doc = nullptr;
      if (shared_->in_memory) {
        doc = &shared_->docs[*it - 1];
      } else {
        StatusOr<Document> decoded = DecodeData(it.get_document().get_data());
        if (!decoded.ok()) continue;
        stored = std::move(decoded).value();
        doc = &stored;
      }
      Hit hit;
      hit.id = doc->id;
      hit.title = doc->title;
      hit.snippet = MakeSnippet(doc->text, terms, stem_);
      hit.score = it.get_weight();
      hit.rank = static_cast<int>(hits.size()) + 1;
      hits.push_back(std::move(hit));
    }
    return hits;
  }

  // Agents write stray quotes and lone operators: a query the full syntax rejects is read
  // again as plain words.
  Xapian::Query Parse(const std::string& query) const {
    try {
      return parser_.parse_query(query, kQueryFlags);
    } catch (const Xapian::QueryParserError&) {
    }
    try {
      return parser_.parse_query(query, 0);
    } catch (const Xapian::QueryParserError&) {
      return Xapian::Query();
    }
  }

  // QueryParser keeps stopwords when a query has nothing else ("the of"); such a query matches
  // nearly every document at random-looking scores, so it gets no hits instead.
  bool OnlyStopwords(const Xapian::Query& query) const {
    if (stopword_terms_.empty()) return false;
    for (auto t = query.get_unique_terms_begin(); t != query.get_unique_terms_end(); ++t) {
      if (!stopword_terms_.contains(*t)) return false;
    }
    return true;
  }

  std::shared_ptr<SharedDatabase> shared_;
  IndexOptions options_;
  // The stemmer caches and the parser keeps state between calls; an index is used by one
  // thread at a time (index.h), so const methods may use them.
  Xapian::Stem stem_;
  Xapian::SimpleStopper stopper_;
  std::unordered_set<std::string> stopword_terms_;  // each stopword's query term
  mutable Xapian::QueryParser parser_;
  Xapian::BM25Weight weight_;
};

StatusOr<std::unique_ptr<Index>> BuildInMemory(std::vector<Document> docs,
                                               const IndexOptions& options) {
  auto shared = std::make_shared<SharedDatabase>();
  shared->in_memory = true;
  shared->docs = std::move(docs);
  shared->by_id.reserve(shared->docs.size());
  for (std::size_t i = 0; i < shared->docs.size(); ++i) {
    shared->by_id.emplace(shared->docs[i].id, i);
  }
  TG_ASSIGN_OR_RETURN(Xapian::Stem stem, MakeCachedStemmer(options.language));
  try {
    // Xapian's InMemory backend: faster to build than a glass database in a temporary
    // directory (docs/benchmarks.md, "Retrieval") and nothing to clean up.
    Xapian::WritableDatabase db(std::string(), Xapian::DB_BACKEND_INMEMORY);
    Xapian::TermGenerator generator = MakeTermGenerator(stem);
    for (const Document& doc : shared->docs) db.add_document(MakeXapianDocument(generator, doc));
    shared->db = db;
  } catch (const Xapian::Error& e) {
    return InternalError("building an in-memory index: {}", XapianMessage(e));
  }
  return std::unique_ptr<Index>(new XapianIndex(std::move(shared), options, std::move(stem)));
}

// `db_dir` without a trailing separator ("idx/" -> "idx").
fs::path NormalizeDir(const std::string& db_dir) {
  fs::path p = fs::path(db_dir).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  return p;
}

// Writes a database at `db_dir` from the documents `next` yields (it returns false at the
// end). The database is built in a sibling directory and renamed into place, so a failed build
// leaves an existing index untouched.
StatusOr<BuildStats> BuildDatabase(
    const std::function<StatusOr<bool>(const std::function<Status(Document, const std::string&)>&)>&
        for_each,
    const std::string& db_dir, const IndexOptions& options, bool overwrite) {
  auto start = Clock::now();
  TG_RETURN_IF_ERROR(ValidateOptions(options));
  if (db_dir.empty()) return InvalidArgumentError("index directory is empty");
  fs::path target = NormalizeDir(db_dir);
  std::error_code ec;
  if (fs::exists(target, ec)) {
    if (!overwrite) {
      return InvalidArgumentError(
          "index directory {} already exists (set overwrite, --overwrite on the command line, to "
          "replace it)",
          target.string());
    }
    if (!fs::is_directory(target, ec)) {
      return InvalidArgumentError("{} exists and is not a directory", target.string());
    }
    if (!fs::is_empty(target, ec) && !IsToolgymIndex(target.string())) {
      return InvalidArgumentError("{} exists and is not a toolgym index; refusing to replace it",
                                  target.string());
    }
  }
  if (target.has_parent_path()) {
    fs::create_directories(target.parent_path(), ec);
    if (ec) {
      return InternalError("creating {}: {}", target.parent_path().string(), ec.message());
    }
  }
  fs::path partial = target;
  partial += fmt::format(".partial-{}", ::getpid());
  fs::remove_all(partial, ec);

  TG_ASSIGN_OR_RETURN(Xapian::Stem stem, MakeCachedStemmer(options.language));
  BuildStats stats;
  Status status;
  try {
    // DB_NO_SYNC: the build is all-or-nothing through the rename below, so fsync buys nothing.
    // DB_NO_TERMLIST: per-document term lists serve deletion, replacement and query expansion,
    // none of which an index does; without them the database is 12% smaller.
    Xapian::WritableDatabase db(partial.string(), Xapian::DB_CREATE | Xapian::DB_BACKEND_GLASS |
                                                      Xapian::DB_NO_SYNC | Xapian::DB_NO_TERMLIST);
    Xapian::TermGenerator generator = MakeTermGenerator(stem);
    std::unordered_map<std::string, std::string> first_seen;
    StatusOr<bool> walked = for_each([&](Document doc, const std::string& where) -> Status {
      TG_RETURN_IF_ERROR(CheckDocument(doc, where, first_seen));
      db.add_document(MakeXapianDocument(generator, doc));
      ++stats.documents;
      return OkStatus();
    });
    if (walked.ok()) {
      WriteOptions(db, options);
      db.commit();
      db.close();
    } else {
      status = walked.status();
    }
  } catch (const Xapian::Error& e) {
    status = InternalError("writing index {}: {}", target.string(), XapianMessage(e));
  }
  if (!status.ok()) {
    fs::remove_all(partial, ec);
    return status;
  }
  fs::remove_all(target, ec);
  if (ec) return InternalError("removing the old index {}: {}", target.string(), ec.message());
  fs::rename(partial, target, ec);
  if (ec) {
    fs::remove_all(partial, ec);
    return InternalError("moving the new index into {}: {}", target.string(), ec.message());
  }
  stats.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return stats;
}

}  // namespace

StatusOr<BuildStats> Index::BuildFromJsonl(const std::string& jsonl_path, const std::string& db_dir,
                                           const IndexOptions& options, bool overwrite) {
  std::error_code ec;
  if (!fs::is_regular_file(jsonl_path, ec)) {
    return NotFoundError("corpus {}: no such file", jsonl_path);
  }
  return BuildDatabase(
      [&](const std::function<Status(Document, const std::string&)>& each) -> StatusOr<bool> {
        TG_RETURN_IF_ERROR(ForEachJsonlDocument(jsonl_path, each));
        return true;
      },
      db_dir, options, overwrite);
}

StatusOr<BuildStats> Index::BuildOnDisk(const std::vector<Document>& docs,
                                        const std::string& db_dir, const IndexOptions& options,
                                        bool overwrite) {
  return BuildDatabase(
      [&](const std::function<Status(Document, const std::string&)>& each) -> StatusOr<bool> {
        for (std::size_t i = 0; i < docs.size(); ++i) {
          TG_RETURN_IF_ERROR(each(docs[i], fmt::format("document {}", i + 1)));
        }
        return true;
      },
      db_dir, options, overwrite);
}

StatusOr<std::unique_ptr<Index>> Index::Open(const std::string& db_dir) {
  std::error_code ec;
  if (!fs::is_directory(db_dir, ec)) {
    return NotFoundError("no index at {}: the directory does not exist", db_dir);
  }
  try {
    Xapian::Database db(db_dir);
    TG_ASSIGN_OR_RETURN(IndexOptions options, ReadOptions(db, db_dir));
    TG_ASSIGN_OR_RETURN(Xapian::Stem stem, MakeCachedStemmer(options.language));
    auto shared = std::make_shared<SharedDatabase>();
    shared->db = std::move(db);
    shared->db_dir = db_dir;
    return std::unique_ptr<Index>(
        new XapianIndex(std::move(shared), std::move(options), std::move(stem)));
  } catch (const Xapian::DatabaseOpeningError& e) {
    return InvalidArgumentError("{} is not a Xapian database ({})", db_dir, XapianMessage(e));
  } catch (const Xapian::Error& e) {
    return InternalError("opening index {}: {}", db_dir, XapianMessage(e));
  }
}

StatusOr<std::unique_ptr<Index>> Index::InMemory(const std::vector<Document>& docs,
                                                 const IndexOptions& options) {
  TG_RETURN_IF_ERROR(ValidateOptions(options));
  std::unordered_map<std::string, std::string> first_seen;
  first_seen.reserve(docs.size());
  for (std::size_t i = 0; i < docs.size(); ++i) {
    TG_RETURN_IF_ERROR(CheckDocument(docs[i], fmt::format("document {}", i + 1), first_seen));
  }
  return BuildInMemory(docs, options);
}

StatusOr<std::vector<Document>> Index::ReadJsonl(const std::string& jsonl_path) {
  std::vector<Document> docs;
  std::unordered_map<std::string, std::string> first_seen;
  TG_RETURN_IF_ERROR(
      ForEachJsonlDocument(jsonl_path, [&](Document doc, const std::string& where) -> Status {
        TG_RETURN_IF_ERROR(CheckDocument(doc, where, first_seen));
        docs.push_back(std::move(doc));
        return OkStatus();
      }));
  return docs;
}

std::vector<std::string> Paginate(const Document& doc, std::size_t page_bytes) {
  page_bytes = std::max(page_bytes, kMinPageBytes);
  std::string content = doc.title.empty() ? doc.text : doc.title + "\n\n" + doc.text;
  std::vector<std::string> pages;
  std::string_view rest(content);
  while (rest.size() > page_bytes) {
    // Break after the last paragraph break, line break or space in the window's second half
    // (searching only the window keeps this linear); else at the last UTF-8 boundary.
    std::string_view window = rest.substr(0, page_bytes);
    std::size_t cut = 0;
    for (std::string_view sep :
         {std::string_view("\n\n"), std::string_view("\n"), std::string_view(" ")}) {
      std::size_t at = window.rfind(sep);
      if (at != std::string_view::npos && at + sep.size() >= page_bytes / 2) {
        cut = at + sep.size();
        break;
      }
    }
    if (cut == 0) cut = BackToUtf8Boundary(rest, page_bytes);
    if (cut == 0) cut = page_bytes;  // unreachable with kMinPageBytes >= 4
    pages.emplace_back(rest.substr(0, cut));
    rest.remove_prefix(cut);
  }
  if (!rest.empty() || pages.empty()) pages.emplace_back(rest);
  return pages;
}

}  // namespace toolgym::search
