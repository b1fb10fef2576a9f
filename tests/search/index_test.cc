// Tests for search/index.h: BM25 ranking against scores computed by hand, the on-disk round
// trip, stemming, stopwords, phrase and boolean queries, malformed queries, snippets, top-k and
// ties, corpus and directory errors, clones (also across threads), pagination and determinism.
#include "search/index.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace toolgym::search {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A directory under $TMPDIR, removed with everything in it at the end of the test.
class TempDir {
 public:
  TempDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr ? tmp : "/tmp") + "/index_test.XXXXXX";
    path_ = ::mkdtemp(pattern.data()) != nullptr ? pattern : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  std::string Path(const std::string& name) const { return path_ + "/" + name; }
  std::string Write(const std::string& name, const std::string& content) const {
    std::ofstream(Path(name), std::ios::binary) << content;
    return Path(name);
  }

 private:
  std::string path_;
};

std::vector<std::string> Ids(const std::vector<Hit>& hits) {
  std::vector<std::string> ids;
  for (const Hit& h : hits) ids.push_back(h.id);
  return ids;
}

std::vector<Hit> MustSearch(const Index& index, const std::string& query, int k = 10) {
  StatusOr<std::vector<Hit>> hits = index.Search(query, k);
  EXPECT_TRUE(hits.ok()) << query << ": " << hits.status().ToString();
  return hits.ok() ? *hits : std::vector<Hit>{};
}

std::unique_ptr<Index> MustInMemory(const std::vector<Document>& docs,
                                    const IndexOptions& options = {}) {
  StatusOr<std::unique_ptr<Index>> index = Index::InMemory(docs, options);
  EXPECT_TRUE(index.ok()) << index.status().ToString();
  return index.ok() ? std::move(index).value() : nullptr;
}

// ---------------------------------------------------------------------------------------------
// BM25 against hand-computed scores.
//
// Xapian's BM25Weight(k1, k2 = 0, k3 = 1, b, min_normlen = 0.5), with no relevance set, scores a
// document d for query terms t (each once in the query) as
//   sum_t  log(tw_t) * (k1 + 1) * wdf(t, d) / (k1 * (normlen(d) * b + 1 - b) + wdf(t, d))
//   tw_t = (N - n_t + 0.5) / (n_t + 0.5), replaced by tw_t / 2 + 1 when below 2 (so that a
//          term in more than half the documents still weighs something)
//   normlen(d) = max(len(d) / avg_len, 0.5)
// (the k3 factor (k3 + 1) * wqf / (k3 + wqf) is 1 for wqf = 1; k2 = 0 drops the extra term).
//
// Language "none" and no stopwords, so a term is a word and len(d) is the number of words.
// Query "apple banana". N = 7, lengths 6, 6, 2, 10, 4, 3, 2: avg_len = 33 / 7 = 4.714286.
//   apple:  n = 2, tw = 5.5 / 2.5 = 2.2,                      log = 0.788457
//   banana: n = 3, tw = 4.5 / 3.5 = 1.285714 -> 1.642857,     log = 0.496437
//   normlen: d1, d2 = 1.272727; d3 = 0.424242 -> 0.5; d4 = 2.121212
// Defaults k1 = 0.9, b = 0.4 (k1 + 1 = 1.9):
//   d1 (apple x4):            1.9 * 0.788457 * 4 / (0.9 * (1.272727 * 0.4 + 0.6) + 4)
//                           = 1.498069 * 4 / 4.998182                       = 1.198891
//   d2 (apple, banana):      (1.498069 + 1.9 * 0.496437) / 1.998182          = 1.221760
//   d3 (banana, short):       0.943230 / (0.9 * (0.5 * 0.4 + 0.6) + 1)        = 0.548390
//   d4 (banana x2, long):     0.943230 * 2 / (0.9 * (2.121212 * 0.4 + 0.6) + 2) = 0.571025
//   order d2, d1, d4, d3.
// k1 = 3 (tf saturates later, so apple x4 counts more): d1 1.721693 > d2 1.187717, then d4
//   0.625880, d3 0.584043: order d1, d2, d4, d3.
// b = 1 (full length normalisation, so the long d4 drops): d1 1.164577, d2 1.137894,
//   d3 0.650504, d4 0.482583: order d1, d2, d3, d4.
// (Figures to 12 places from the same formulas in double precision.)
std::vector<Document> Bm25Corpus() {
  return {
      {"d1", "", "apple apple apple apple cherry cherry"},
      {"d2", "", "apple banana cherry date fig grape"},
      {"d3", "", "banana date"},
      {"d4", "", "banana banana date elder fig grape cherry cherry elder date"},
      {"d5", "", "cherry date elder fig"},
      {"d6", "", "elder fig grape"},
      {"d7", "", "cherry grape"},
  };
}

IndexOptions PlainOptions(double k1, double b) {
  IndexOptions o;
  o.k1 = k1;
  o.b = b;
  o.language = "none";
  o.stopwords = false;
  return o;
}

void ExpectRanking(const std::vector<Hit>& hits, const std::vector<std::string>& ids,
                   const std::vector<double>& scores) {
  ASSERT_EQ(Ids(hits), ids);
  for (std::size_t i = 0; i < hits.size(); ++i) {
    EXPECT_NEAR(hits[i].score, scores[i], 1e-9) << hits[i].id;
    EXPECT_EQ(hits[i].rank, static_cast<int>(i) + 1);
  }
}

TEST(IndexBm25, DefaultsMatchHandComputedOrderAndScores) {
  IndexOptions defaults;
  EXPECT_EQ(defaults.k1, 0.9);
  EXPECT_EQ(defaults.b, 0.4);
  auto index = MustInMemory(Bm25Corpus(), PlainOptions(0.9, 0.4));
  ExpectRanking(MustSearch(*index, "apple banana"), {"d2", "d1", "d4", "d3"},
                {1.221760225458, 1.198891148171, 0.571025367307, 0.548389583719});
}

TEST(IndexBm25, LargerK1PutsTheHighFrequencyDocumentFirst) {
  auto index = MustInMemory(Bm25Corpus(), PlainOptions(3.0, 0.4));
  ExpectRanking(MustSearch(*index, "apple banana"), {"d1", "d2", "d4", "d3"},
                {1.721693491614, 1.187717370879, 0.625880315124, 0.584043395663});
}

TEST(IndexBm25, FullLengthNormalisationPutsTheShortDocumentAboveTheLongOne) {
  auto index = MustInMemory(Bm25Corpus(), PlainOptions(0.9, 1.0));
  ExpectRanking(MustSearch(*index, "apple banana"), {"d1", "d2", "d3", "d4"},
                {1.164576595874, 1.137893633711, 0.650503506204, 0.482582833673});
}

TEST(IndexBm25, OnDiskIndexScoresAsInMemory) {
  TempDir tmp;
  ASSERT_TRUE(Index::BuildOnDisk(Bm25Corpus(), tmp.Path("db"), PlainOptions(0.9, 0.4)).ok());
  auto index = Index::Open(tmp.Path("db"));
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  ExpectRanking(MustSearch(**index, "apple banana"), {"d2", "d1", "d4", "d3"},
                {1.221760225458, 1.198891148171, 0.571025367307, 0.548389583719});
}

TEST(IndexBm25, TiesKeepDocumentOrderAndKCutsTheList) {
  std::vector<Document> docs;
  for (const char* id : {"z", "y", "x", "w"}) docs.push_back({id, "", "same words here"});
  docs.push_back({"v", "", "other text"});
  auto index = MustInMemory(docs);
  std::vector<Hit> all = MustSearch(*index, "words", 10);
  EXPECT_THAT(Ids(all), ElementsAre("z", "y", "x", "w"));
  EXPECT_EQ(all[0].score, all[3].score);
  EXPECT_THAT(Ids(MustSearch(*index, "words", 2)), ElementsAre("z", "y"));
  EXPECT_THAT(Ids(MustSearch(*index, "words", 1)), ElementsAre("z"));
  // k is clamped, not an error.
  EXPECT_EQ(MustSearch(*index, "words", 1 << 30).size(), 4u);
  StatusOr<std::vector<Hit>> zero = index->Search("words", 0);
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(zero.status().message(), HasSubstr("found 0"));
}

// ---------------------------------------------------------------------------------------------
// Text analysis and query syntax.

std::vector<Document> TextCorpus() {
  return {
      {"runner", "Morning Runner", "She runs every morning along the river & the <park>."},
      {"keeper", "Lighthouse", "The old lighthouse keeper lived on the island."},
      {"old", "Harbour", "The lighthouse is old; the harbour is older still."},
      {"island", "Island", "An island with no lighthouse, only a harbour."},
  };
}

TEST(IndexQuery, StemmingMatchesOtherFormsOfAWord) {
  auto index = MustInMemory(TextCorpus());
  EXPECT_THAT(Ids(MustSearch(*index, "running")), ElementsAre("runner"));
  EXPECT_THAT(Ids(MustSearch(*index, "islands")), ElementsAre("island", "keeper"));
  // Without a stemmer only the exact word matches.
  IndexOptions none;
  none.language = "none";
  auto plain = MustInMemory(TextCorpus(), none);
  EXPECT_TRUE(MustSearch(*plain, "running").empty());
  EXPECT_THAT(Ids(MustSearch(*plain, "runs")), ElementsAre("runner"));
}

TEST(IndexQuery, StopwordsAreDroppedFromQueries) {
  auto index = MustInMemory(TextCorpus());
  std::vector<Hit> with = MustSearch(*index, "the lighthouse of");
  std::vector<Hit> without = MustSearch(*index, "lighthouse");
  ASSERT_EQ(Ids(with), Ids(without));
  ASSERT_EQ(with.size(), 3u);
  for (std::size_t i = 0; i < with.size(); ++i) EXPECT_EQ(with[i].score, without[i].score);
  // A query of stopwords only matches nothing.
  EXPECT_TRUE(MustSearch(*index, "the of").empty());
  EXPECT_TRUE(MustSearch(*index, "").empty());
  EXPECT_TRUE(MustSearch(*index, "   ").empty());
  // With stopwords off, "the" is a word like any other.
  IndexOptions keep;
  keep.stopwords = false;
  auto all = MustInMemory(TextCorpus(), keep);
  EXPECT_EQ(MustSearch(*all, "the").size(), 3u);
  EXPECT_GT(MustSearch(*all, "the lighthouse")[0].score, MustSearch(*all, "lighthouse")[0].score);
}

TEST(IndexQuery, QuotedPhraseMatchesOnlyAdjacentWords) {
  auto index = MustInMemory(TextCorpus());
  EXPECT_THAT(Ids(MustSearch(*index, "\"old lighthouse\"")), ElementsAre("keeper"));
  // Unquoted, both documents with both words match.
  std::vector<std::string> loose = Ids(MustSearch(*index, "old lighthouse"));
  EXPECT_THAT(loose, ::testing::Contains("old"));
  EXPECT_THAT(loose, ::testing::Contains("keeper"));
  // Order matters inside a phrase.
  EXPECT_TRUE(MustSearch(*index, "\"lighthouse old\"").empty());
  // A phrase does not run from the title into the text.
  EXPECT_TRUE(MustSearch(*index, "\"harbour the lighthouse\"").empty());
}

TEST(IndexQuery, BooleanOperators) {
  auto index = MustInMemory(TextCorpus());
  EXPECT_THAT(Ids(MustSearch(*index, "lighthouse AND keeper")), ElementsAre("keeper"));
  EXPECT_THAT(Ids(MustSearch(*index, "lighthouse NOT keeper")),
              ::testing::UnorderedElementsAre("old", "island"));
  std::vector<std::string> either = Ids(MustSearch(*index, "river OR keeper"));
  std::sort(either.begin(), either.end());
  EXPECT_THAT(either, ElementsAre("keeper", "runner"));
  EXPECT_THAT(Ids(MustSearch(*index, "(river OR keeper) AND island")), ElementsAre("keeper"));
  EXPECT_THAT(Ids(MustSearch(*index, "+harbour -island")), ElementsAre("old"));
  EXPECT_THAT(Ids(MustSearch(*index, "title:lighthouse")), ElementsAre("keeper"));
  // Lower-case "and" is a word (a stopword), not an operator.
  EXPECT_EQ(MustSearch(*index, "lighthouse and keeper").size(), 3u);
}

TEST(IndexQuery, MalformedQueriesFallBackToWords) {
  auto index = MustInMemory(TextCorpus());
  for (const char* q : {"\"old lighthouse", "AND", "lighthouse AND", "NOT", "(", ")))",
                        "title:", "\"", "AND OR NOT", "((lighthouse", "-", "+", "keeper NOT"}) {
    StatusOr<std::vector<Hit>> hits = index->Search(q, 5);
    EXPECT_TRUE(hits.ok()) << q << ": " << hits.status().ToString();
  }
  EXPECT_THAT(Ids(MustSearch(*index, "\"old lighthouse")), ElementsAre("keeper"));
  EXPECT_THAT(Ids(MustSearch(*index, "river AND")), ElementsAre("runner"));
  EXPECT_TRUE(MustSearch(*index, "AND").empty());
  // Hostile sizes: a 1 MB query is cut, not refused.
  std::string huge;
  while (huge.size() < (1 << 20)) huge += "lighthouse \"(AND ";
  EXPECT_TRUE(index->Search(huge, 5).ok());
  // Invalid UTF-8 is not an error either.
  EXPECT_TRUE(index->Search("light\xff\xfehouse \xc3", 5).ok());
}

TEST(IndexQuery, SnippetsHighlightMatchedTermsAsPlainText) {
  auto index = MustInMemory(TextCorpus());
  std::vector<Hit> hits = MustSearch(*index, "running river");
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].title, "Morning Runner");
  EXPECT_THAT(hits[0].snippet, HasSubstr("**runs**"));
  EXPECT_THAT(hits[0].snippet, HasSubstr("**river**"));
  EXPECT_THAT(hits[0].snippet, HasSubstr("& the <park>"));  // not HTML-escaped
  EXPECT_THAT(hits[0].snippet, ::testing::Not(HasSubstr("**every**")));
  // Long texts give a bounded passage around the match.
  std::string text;
  for (int i = 0; i < 400; ++i) text += "filler words go on and on. ";
  text += "Here the treasure lies buried. ";
  for (int i = 0; i < 400; ++i) text += "more filler after it. ";
  auto long_index = MustInMemory({{"t", "Treasure", text}});
  std::vector<Hit> found = MustSearch(*long_index, "treasure");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_THAT(found[0].snippet, HasSubstr("**treasure**"));
  EXPECT_LT(found[0].snippet.size(), 400u);
  EXPECT_TRUE(found[0].snippet.starts_with("...")) << found[0].snippet;
  EXPECT_TRUE(found[0].snippet.ends_with("...")) << found[0].snippet;
  // A short text is shown whole, on one line; every word of a phrase is highlighted.
  auto para = MustInMemory(
      {{"p", "", "First paragraph about boats.\n\nSecond paragraph about the old lighthouse."}});
  std::vector<Hit> phrase = MustSearch(*para, "\"old lighthouse\"");
  ASSERT_EQ(phrase.size(), 1u);
  EXPECT_EQ(phrase[0].snippet,
            "First paragraph about boats. Second paragraph about the **old** **lighthouse**.");
  // Non-ASCII words are matched case-insensitively, as they are indexed.
  auto accents = MustInMemory({{"a", "", "Le Café Étoile ouvre à Zürich."}});
  std::vector<Hit> cafe = MustSearch(*accents, "étoile zürich");
  ASSERT_EQ(cafe.size(), 1u);
  EXPECT_EQ(cafe[0].snippet, "Le Café **Étoile** ouvre à **Zürich**.");
}

// ---------------------------------------------------------------------------------------------
// On disk: round trip, JSONL, errors.

TEST(IndexDisk, SaveLoadRoundTripKeepsHitsDocumentsAndOptions) {
  TempDir tmp;
  IndexOptions options;
  options.k1 = 1.3;
  options.b = 0.65;
  options.language = "english";
  options.stopwords = false;
  StatusOr<BuildStats> stats = Index::BuildOnDisk(TextCorpus(), tmp.Path("db"), options);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->documents, 4u);
  EXPECT_GT(stats->seconds, 0);
  auto opened = Index::Open(tmp.Path("db"));
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  const Index& disk = **opened;
  EXPECT_EQ(disk.size(), 4u);
  EXPECT_EQ(disk.options().k1, 1.3);
  EXPECT_EQ(disk.options().b, 0.65);
  EXPECT_EQ(disk.options().language, "english");
  EXPECT_FALSE(disk.options().stopwords);
  auto memory = MustInMemory(TextCorpus(), options);
  for (const char* q : {"lighthouse", "the island", "\"old lighthouse\"", "running OR harbour"}) {
    std::vector<Hit> a = MustSearch(disk, q), b = MustSearch(*memory, q);
    ASSERT_EQ(Ids(a), Ids(b)) << q;
    ASSERT_FALSE(a.empty()) << q;
    for (std::size_t i = 0; i < a.size(); ++i) {
      EXPECT_DOUBLE_EQ(a[i].score, b[i].score) << q;
      EXPECT_EQ(a[i].snippet, b[i].snippet) << q;
      EXPECT_EQ(a[i].title, b[i].title) << q;
    }
  }
  for (const Document& doc : TextCorpus()) {
    StatusOr<Document> got = disk.Get(doc.id);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, doc);
  }
  StatusOr<Document> missing = disk.Get("nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("nope"));
  EXPECT_EQ(disk.Get("").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(disk.Get(std::string(5000, 'x')).status().code(), StatusCode::kNotFound);
}

TEST(IndexDisk, BuildsFromJsonlIncludingPyseriniContents) {
  TempDir tmp;
  std::string corpus = tmp.Write(
      "corpus.jsonl",
      "{\"id\": \"a\", \"title\": \"Alpha\", \"text\": \"first document text\", \"extra\": 1}\n"
      "\n"
      "{\"id\": \"b\", \"text\": \"second document, no title\"}\n"
      "{\"id\": 7, \"contents\": \"\\\"Gamma Title\\\"\\nthird document body\"}\n");
  StatusOr<std::vector<Document>> docs = Index::ReadJsonl(corpus);
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  ASSERT_EQ(docs->size(), 3u);
  EXPECT_EQ((*docs)[0], (Document{"a", "Alpha", "first document text"}));
  EXPECT_EQ((*docs)[1], (Document{"b", "", "second document, no title"}));
  EXPECT_EQ((*docs)[2], (Document{"7", "Gamma Title", "third document body"}));

  StatusOr<BuildStats> stats = Index::BuildFromJsonl(corpus, tmp.Path("db/"), {});
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->documents, 3u);
  auto index = Index::Open(tmp.Path("db"));
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  EXPECT_THAT(Ids(MustSearch(**index, "third")), ElementsAre("7"));
  EXPECT_THAT(Ids(MustSearch(**index, "gamma")), ElementsAre("7"));
  EXPECT_EQ((*index)->Get("a").value(), (*docs)[0]);
  // No partial directory is left next to the index.
  int entries = 0;
  for (const auto& e : fs::directory_iterator(tmp.Path(""))) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 2);  // corpus.jsonl and db
}

void ExpectCorpusError(const std::string& content, const std::string& phrase) {
  TempDir tmp;
  std::string corpus = tmp.Write("c.jsonl", content);
  StatusOr<BuildStats> built = Index::BuildFromJsonl(corpus, tmp.Path("db"), {});
  ASSERT_FALSE(built.ok()) << content;
  EXPECT_EQ(built.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(built.status().message(), HasSubstr(phrase)) << content;
  EXPECT_FALSE(fs::exists(tmp.Path("db"))) << "a failed build leaves no index";
  StatusOr<std::vector<Document>> read = Index::ReadJsonl(corpus);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().message(), built.status().message());
}

TEST(IndexDisk, CorpusErrorsNameFileLineAndProblem) {
  ExpectCorpusError("{\"id\": \"a\", \"text\": \"x\"}\n{\"id\": \"b\", \"text\": \"y\"\n",
                    "c.jsonl:2: not valid JSON");
  ExpectCorpusError("[1, 2]\n", "c.jsonl:1: expected a JSON object, found array");
  ExpectCorpusError("{\"id\": \"a\", \"text\": \"x\"}\n\n{\"text\": \"y\"}\n",
                    "c.jsonl:3: missing \"id\"");
  ExpectCorpusError("{\"id\": \"a\", \"text\": \"x\"}\n{\"id\": \"a\", \"text\": \"y\"}\n",
                    "c.jsonl:2: duplicate id \"a\" (first at ");
  ExpectCorpusError("{\"id\": \"a\", \"text\": \"x\"}\n{\"id\": \"a\", \"text\": \"y\"}\n",
                    "c.jsonl:1)");
  ExpectCorpusError("{\"id\": \"\", \"text\": \"x\"}\n", "c.jsonl:1: \"id\" is empty");
  ExpectCorpusError("{\"id\": [1], \"text\": \"x\"}\n",
                    "c.jsonl:1: \"id\" must be a string, found array");
  ExpectCorpusError("{\"id\": \"a\"}\n", "c.jsonl:1: missing \"text\"");
  ExpectCorpusError("{\"id\": \"a\", \"text\": 5}\n", "c.jsonl:1: \"text\" must be a string");
  ExpectCorpusError("{\"id\": \"a\", \"title\": null, \"text\": \"x\"}\n",
                    "c.jsonl:1: \"title\" must be a string, found null");
  ExpectCorpusError("{\"id\": \"" + std::string(300, 'i') + "\", \"text\": \"x\"}\n",
                    "c.jsonl:1: \"id\" is 300 bytes long");
}

TEST(IndexDisk, DirectoryErrors) {
  TempDir tmp;
  // A corpus that does not exist.
  StatusOr<BuildStats> missing = Index::BuildFromJsonl(tmp.Path("none.jsonl"), tmp.Path("db"), {});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("none.jsonl"));
  EXPECT_EQ(Index::ReadJsonl(tmp.Path("none.jsonl")).status().code(), StatusCode::kNotFound);

  // An existing index is replaced only with overwrite.
  ASSERT_TRUE(Index::BuildOnDisk(TextCorpus(), tmp.Path("db"), {}).ok());
  StatusOr<BuildStats> again = Index::BuildOnDisk(Bm25Corpus(), tmp.Path("db"), {});
  ASSERT_FALSE(again.ok());
  EXPECT_THAT(again.status().message(), HasSubstr("already exists"));
  EXPECT_THAT(again.status().message(), HasSubstr("overwrite"));
  EXPECT_EQ(Index::Open(tmp.Path("db")).value()->size(), 4u);  // untouched
  ASSERT_TRUE(Index::BuildOnDisk(Bm25Corpus(), tmp.Path("db"), {}, /*overwrite=*/true).ok());
  EXPECT_EQ(Index::Open(tmp.Path("db")).value()->size(), 7u);
  // A failed rebuild keeps the old index.
  StatusOr<BuildStats> dup =
      Index::BuildOnDisk({{"x", "", "a"}, {"x", "", "b"}}, tmp.Path("db"), {}, /*overwrite=*/true);
  ASSERT_FALSE(dup.ok());
  EXPECT_THAT(dup.status().message(), HasSubstr("document 2: duplicate id \"x\""));
  EXPECT_EQ(Index::Open(tmp.Path("db")).value()->size(), 7u);

  // overwrite never deletes a directory that is not an index.
  fs::create_directories(tmp.Path("precious"));
  tmp.Write("precious/notes.txt", "keep me");
  StatusOr<BuildStats> refused =
      Index::BuildOnDisk(TextCorpus(), tmp.Path("precious"), {}, /*overwrite=*/true);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("is not a toolgym index"));
  EXPECT_TRUE(fs::exists(tmp.Path("precious/notes.txt")));

  // Open: a missing directory, a directory that is not a database.
  StatusOr<std::unique_ptr<Index>> none = Index::Open(tmp.Path("nowhere"));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(none.status().message(), HasSubstr("nowhere"));
  StatusOr<std::unique_ptr<Index>> notdb = Index::Open(tmp.Path("precious"));
  ASSERT_FALSE(notdb.ok());
  EXPECT_THAT(notdb.status().message(), HasSubstr("precious"));
}

TEST(IndexOptionsTest, BadOptionsAreRefused) {
  IndexOptions bad_k1;
  bad_k1.k1 = -1;
  EXPECT_THAT(Index::InMemory(TextCorpus(), bad_k1).status().message(),
              HasSubstr("k1 must be a finite number >= 0, found -1"));
  IndexOptions bad_b;
  bad_b.b = 1.5;
  EXPECT_THAT(Index::InMemory(TextCorpus(), bad_b).status().message(),
              HasSubstr("b must be between 0 and 1, found 1.5"));
  IndexOptions bad_language;
  bad_language.language = "klingon";
  StatusOr<std::unique_ptr<Index>> index = Index::InMemory(TextCorpus(), bad_language);
  ASSERT_FALSE(index.ok());
  EXPECT_THAT(index.status().message(), HasSubstr("\"klingon\""));
  EXPECT_THAT(index.status().message(), HasSubstr("english"));
  TempDir tmp;
  EXPECT_FALSE(Index::BuildOnDisk(TextCorpus(), tmp.Path("db"), bad_language).ok());
  EXPECT_FALSE(fs::exists(tmp.Path("db")));
  // Another Snowball language stems its own words.
  IndexOptions french;
  french.language = "french";
  auto fr = MustInMemory({{"f", "", "les chanteuses chantaient"}}, french);
  EXPECT_THAT(Ids(MustSearch(*fr, "chanteuse")), ElementsAre("f"));
}

TEST(IndexMemory, InMemoryErrorsNameTheDocument) {
  StatusOr<std::unique_ptr<Index>> dup =
      Index::InMemory({{"a", "", "x"}, {"b", "", "y"}, {"a", "", "z"}});
  ASSERT_FALSE(dup.ok());
  EXPECT_THAT(dup.status().message(),
              HasSubstr("document 3: duplicate id \"a\" (first at document 1)"));
  StatusOr<std::unique_ptr<Index>> empty_id = Index::InMemory({{"", "", "x"}});
  ASSERT_FALSE(empty_id.ok());
  EXPECT_THAT(empty_id.status().message(), HasSubstr("document 1: \"id\" is empty"));
  // An empty corpus is an index with nothing in it.
  auto none = MustInMemory({});
  EXPECT_EQ(none->size(), 0u);
  EXPECT_TRUE(MustSearch(*none, "anything").empty());
}

// ---------------------------------------------------------------------------------------------
// Clones and determinism.

TEST(IndexClone, InMemoryCloneIsIndependentOfTheOriginal) {
  auto index = MustInMemory(TextCorpus());
  std::vector<Hit> before = MustSearch(*index, "lighthouse island");
  StatusOr<std::unique_ptr<Index>> clone = index->Clone();
  ASSERT_TRUE(clone.ok()) << clone.status().ToString();
  index.reset();  // the clone outlives the original
  std::vector<Hit> after = MustSearch(**clone, "lighthouse island");
  ASSERT_EQ(Ids(after), Ids(before));
  for (std::size_t i = 0; i < after.size(); ++i) EXPECT_EQ(after[i].score, before[i].score);
  EXPECT_EQ((*clone)->size(), 4u);
  EXPECT_EQ((*clone)->Get("keeper").value().title, "Lighthouse");
  EXPECT_EQ((*clone)->options().k1, 0.9);
}

TEST(IndexClone, OnDiskCloneReopens) {
  TempDir tmp;
  IndexOptions options;
  options.k1 = 1.7;
  ASSERT_TRUE(Index::BuildOnDisk(TextCorpus(), tmp.Path("db"), options).ok());
  auto index = Index::Open(tmp.Path("db")).value();
  auto clone = index->Clone();
  ASSERT_TRUE(clone.ok()) << clone.status().ToString();
  index.reset();
  EXPECT_EQ((*clone)->options().k1, 1.7);
  EXPECT_THAT(Ids(MustSearch(**clone, "\"old lighthouse\"")), ElementsAre("keeper"));
}

TEST(IndexClone, ClonesServeThreadsConcurrently) {
  std::vector<Document> docs;
  for (int i = 0; i < 200; ++i) {
    docs.push_back({"doc" + std::to_string(i), "Title " + std::to_string(i),
                    "alpha beta gamma " + std::string(i % 7 + 1, 'x') + " delta" +
                        std::to_string(i % 13) + " lighthouse" + std::to_string(i % 5)});
  }
  auto index = MustInMemory(docs);
  const std::vector<std::string> queries = {"alpha delta3", "lighthouse2 xx", "\"beta gamma\"",
                                            "delta7 OR delta8", "title:12"};
  std::vector<std::vector<std::string>> expected;
  for (const auto& q : queries) expected.push_back(Ids(MustSearch(*index, q, 20)));
  std::vector<std::unique_ptr<Index>> clones;
  for (int t = 0; t < 4; ++t) clones.push_back(index->Clone().value());
  std::vector<int> mismatches(clones.size(), 0);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < clones.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 50; ++round) {
        for (std::size_t q = 0; q < queries.size(); ++q) {
          StatusOr<std::vector<Hit>> hits = clones[t]->Search(queries[q], 20);
          if (!hits.ok() || Ids(*hits) != expected[q]) ++mismatches[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

TEST(IndexDeterminism, SameDocumentsGiveTheSameResults) {
  std::vector<Document> docs;
  for (int i = 0; i < 100; ++i) {
    docs.push_back({"d" + std::to_string(i), "Entity " + std::to_string(i % 10),
                    "word" + std::to_string(i % 17) + " common text word" + std::to_string(i % 3) +
                        " lighthouse"});
  }
  auto a = MustInMemory(docs);
  auto b = MustInMemory(docs);
  TempDir tmp;
  ASSERT_TRUE(Index::BuildOnDisk(docs, tmp.Path("db"), {}).ok());
  auto c = Index::Open(tmp.Path("db")).value();
  for (const char* q : {"word3 common", "lighthouse", "entity 4", "word1 OR word2"}) {
    std::vector<Hit> ha = MustSearch(*a, q, 30), hb = MustSearch(*b, q, 30),
                     hc = MustSearch(*c, q, 30);
    ASSERT_FALSE(ha.empty()) << q;
    ASSERT_EQ(Ids(ha), Ids(hb)) << q;
    ASSERT_EQ(Ids(ha), Ids(hc)) << q;
    for (std::size_t i = 0; i < ha.size(); ++i) {
      EXPECT_EQ(ha[i].score, hb[i].score);
      EXPECT_EQ(ha[i].snippet, hb[i].snippet);
      EXPECT_DOUBLE_EQ(ha[i].score, hc[i].score);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Paginate.

std::string Join(const std::vector<std::string>& pages) {
  std::string all;
  for (const auto& p : pages) all += p;
  return all;
}

bool IsValidUtf8Boundary(const std::string& s) {
  return s.empty() || ((static_cast<unsigned char>(s.front()) & 0xC0) != 0x80);
}

TEST(Paginate, PagesAreBoundedCoverTheTextAndStartWithTheTitle) {
  std::string text;
  for (int p = 0; p < 30; ++p) {
    text += "Paragraph " + std::to_string(p) + " says something about lighthouses and ships.\n\n";
  }
  Document doc{"id", "The Title", text};
  std::vector<std::string> pages = Paginate(doc, 300);
  ASSERT_GT(pages.size(), 5u);
  EXPECT_TRUE(pages[0].starts_with("The Title\n\n"));
  EXPECT_EQ(Join(pages), "The Title\n\n" + text);
  for (const auto& page : pages) {
    EXPECT_LE(page.size(), 300u);
    EXPECT_FALSE(page.empty());
  }
  // Breaks fall at paragraph ends where there is one in reach.
  for (std::size_t i = 0; i + 1 < pages.size(); ++i) EXPECT_TRUE(pages[i].ends_with("\n\n"));
}

TEST(Paginate, NeverSplitsAUtf8Sequence) {
  std::string text;
  for (int i = 0; i < 500; ++i) text += "é漢😀";  // 2-, 3- and 4-byte sequences, no spaces
  Document doc{"u", "", text};
  for (std::size_t page_bytes : {16u, 17u, 18u, 19u, 50u, 101u}) {
    std::vector<std::string> pages = Paginate(doc, page_bytes);
    EXPECT_EQ(Join(pages), text);
    for (const auto& page : pages) {
      EXPECT_LE(page.size(), page_bytes);
      EXPECT_TRUE(IsValidUtf8Boundary(page)) << page_bytes;
      // The page ends on a whole sequence: the next page starts on a lead byte (checked above),
      // and the page itself decodes: its last lead byte's sequence is complete.
    }
  }
}

TEST(Paginate, SmallAndEmptyDocuments) {
  EXPECT_THAT(Paginate({"e", "", ""}, 100), ElementsAre(""));
  EXPECT_THAT(Paginate({"t", "Only Title", ""}, 100), ElementsAre("Only Title\n\n"));
  EXPECT_THAT(Paginate({"s", "", "short"}, 100), ElementsAre("short"));
  // A page size below the minimum is raised to 16 bytes rather than looping forever.
  std::vector<std::string> pages = Paginate({"z", "", std::string(100, 'a')}, 0);
  EXPECT_EQ(pages.size(), 7u);
  EXPECT_EQ(pages[0].size(), 16u);
  // Lines break at spaces when there is no paragraph break.
  std::vector<std::string> words = Paginate({"w", "", "one two three four five six seven"}, 16);
  EXPECT_EQ(Join(words), "one two three four five six seven");
  EXPECT_EQ(words[0], "one two three ");
}

}  // namespace
}  // namespace toolgym::search
