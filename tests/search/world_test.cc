// Synthetic worlds and their questions (search/world.h): determinism, the documents state
// exactly the facts (and withhold the withheld ones), distractors imitate names, every question
// kind has the answer its facts give, and the named entities are found by searching their names.
#include "search/world.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>

namespace toolgym::search {
namespace {

using ::testing::HasSubstr;

World MakeWorld(std::uint64_t seed, int entities = 60, int distractors = 30) {
  WorldOptions o;
  o.entities = entities;
  o.distractors = distractors;
  auto w = GenerateWorld(seed, o);
  EXPECT_TRUE(w.ok()) << w.status().ToString();
  return w.ok() ? std::move(w).value() : World{};
}

bool HasLine(const std::string& text, const std::string& line) {
  return ("\n" + text + "\n").find("\n" + line + "\n") != std::string::npos;
}

// Edit distance of two short words (for the distractors' names).
int Distance(const std::string& a, const std::string& b) {
  std::vector<int> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = static_cast<int>(j);
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = static_cast<int>(i);
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

TEST(WorldTest, SameSeedSameWorldOtherSeedOtherWorld) {
  const World a = MakeWorld(7), b = MakeWorld(7), c = MakeWorld(8);
  ASSERT_EQ(a.documents.size(), 90u);
  EXPECT_EQ(a.documents, b.documents);
  EXPECT_NE(a.documents, c.documents);
  for (std::size_t i = 0; i < a.entities.size(); ++i) {
    EXPECT_EQ(a.entities[i].name, b.entities[i].name);
    EXPECT_EQ(a.entities[i].withheld, b.entities[i].withheld);
  }
}

TEST(WorldTest, PinnedValuesDoNotDriftAcrossPlatformsOrVersions) {
  // Fixed draws (splitmix64, no std distributions): the same on every platform. A change here
  // changes every shipped search task, so bump the suites' versions with it.
  const World w = MakeWorld(1);
  ASSERT_EQ(w.entities.size(), 90u);
  EXPECT_EQ(w.entities[0].id, "l81d785c");
  EXPECT_EQ(w.entities[0].name, "Fokeburg");
  EXPECT_EQ(w.entities[89].id, "o100448f");
  EXPECT_EQ(w.entities[89].name, "Lik Industries");
  auto q = MakeQuestion(w, QuestionKind::kHop2, 1);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->text, "What is the occupation of the mayor of Blunhaven?");
  EXPECT_EQ(q->answer, "geologist");
}

TEST(WorldTest, IdsAndNamesAreUniqueAndPlain) {
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    const World w = MakeWorld(seed);
    std::set<std::string> ids, names;
    for (const Entity& e : w.entities) {
      EXPECT_TRUE(ids.insert(e.id).second) << e.id;
      EXPECT_TRUE(names.insert(e.name).second) << e.name;
      for (char c : e.name)
        EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == ' ') << e.name;
      EXPECT_GE(e.id.size(), 8u);
    }
  }
}

TEST(WorldTest, TypesAreMixedAsDocumented) {
  const World w = MakeWorld(5, 100, 0);
  std::map<EntityType, int> n;
  for (const Entity& e : w.entities) ++n[e.type];
  EXPECT_EQ(n[EntityType::kPerson], 35);
  EXPECT_EQ(n[EntityType::kOrganization], 20);
  EXPECT_EQ(n[EntityType::kPlace], 20);
  EXPECT_EQ(n[EntityType::kProduct], 15);
  EXPECT_EQ(n[EntityType::kEvent], 10);
}

TEST(WorldTest, DocumentsStateEveryFieldAndNoWithheldOne) {
  int withheld = 0;
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    const World w = MakeWorld(seed);
    for (std::size_t i = 0; i < w.entities.size(); ++i) {
      const Entity& e = w.entities[i];
      const Document& d = w.documents[i];
      EXPECT_EQ(d.id, e.id);
      EXPECT_EQ(d.title, e.name);
      EXPECT_THAT(d.text, HasSubstr(e.name));
      for (const Field& f : e.fields) {
        EXPECT_TRUE(HasLine(d.text, f.label + ": " + f.value)) << e.name << " " << f.label;
        if (f.ref >= 0) {
          // Relations name real entities, never distractors.
          ASSERT_LT(f.ref, w.options.entities);
          EXPECT_EQ(w.entities[static_cast<std::size_t>(f.ref)].name, f.value);
        }
      }
      for (const std::string& label : e.withheld) {
        ++withheld;
        EXPECT_FALSE(e.distractor());
        EXPECT_EQ(e.Find(label), nullptr);
        EXPECT_THAT(d.text, ::testing::Not(HasSubstr("\n" + label + ": "))) << e.name;
      }
    }
  }
  EXPECT_GT(withheld, 50);  // about 10% of the literal facts of 1,200 real entities
}

TEST(WorldTest, DistractorsImitateARealNameAndHaveTheirOwnFacts) {
  const World w = MakeWorld(11);
  int with_other_facts = 0;
  for (int i = w.options.entities; i < static_cast<int>(w.entities.size()); ++i) {
    const Entity& d = w.entities[static_cast<std::size_t>(i)];
    ASSERT_TRUE(d.distractor());
    const Entity& base = w.entities[static_cast<std::size_t>(d.similar_to)];
    EXPECT_EQ(d.type, base.type);
    EXPECT_NE(d.name, base.name);
    EXPECT_LE(Distance(d.name, base.name), 2) << d.name << " / " << base.name;
    bool differs = false;
    for (const Field& f : d.fields) {
      const Field* g = base.Find(f.label);
      differs = differs || g == nullptr || g->value != f.value;
    }
    with_other_facts += differs;
  }
  EXPECT_EQ(with_other_facts, w.options.distractors);
}

TEST(WorldTest, BadOptionsAreErrorsNamingTheOption) {
  WorldOptions o;
  o.entities = 5;
  auto w = GenerateWorld(1, o);
  ASSERT_FALSE(w.ok());
  EXPECT_THAT(w.status().message(), HasSubstr("'entities' must be in [10,"));
  o = {};
  o.withheld_rate = 0.9;
  EXPECT_THAT(GenerateWorld(1, o).status().message(), HasSubstr("'withheld_rate'"));
  auto k = ParseQuestionKind("hop4");
  ASSERT_FALSE(k.ok());
  EXPECT_THAT(k.status().message(), HasSubstr("hop1, hop2, hop3, comparison"));
  QuestionOptions q;
  q.aggregate_count = 9;
  EXPECT_THAT(MakeQuestion(MakeWorld(1), QuestionKind::kAggregation, 1, q).status().message(),
              HasSubstr("'aggregate_count' must be in [2, 5], got 9"));
}

// Follows a question's labels from its entity through the world, as a reader would.
std::string Follow(const World& w, const Question& q, std::vector<std::string>* gold) {
  int at = w.Find(q.entity);
  EXPECT_GE(at, 0);
  EXPECT_LT(at, w.options.entities);  // questions start from real entities
  for (std::size_t i = 0; i < q.labels.size(); ++i) {
    const Entity& e = w.entities[static_cast<std::size_t>(at)];
    gold->push_back(e.id);
    const Field* f = e.Find(q.labels[i]);
    if (f == nullptr) return "<missing " + q.labels[i] + ">";
    if (i + 1 == q.labels.size()) return f->value;
    at = w.Find(f->value);
  }
  return "";
}

TEST(WorldTest, HopQuestionsFollowTheirChain) {
  for (std::uint64_t seed = 0; seed < 60; ++seed) {
    const World w = MakeWorld(seed);
    for (auto [kind, hops] : {std::pair{QuestionKind::kHop1, 1}, std::pair{QuestionKind::kHop2, 2},
                              std::pair{QuestionKind::kHop3, 3}}) {
      auto q = MakeQuestion(w, kind, seed * 31 + hops);
      ASSERT_TRUE(q.ok()) << q.status().ToString();
      ASSERT_EQ(static_cast<int>(q->labels.size()), hops);
      EXPECT_EQ(q->hops, hops);
      std::vector<std::string> gold;
      EXPECT_EQ(Follow(w, *q, &gold), q->answer) << q->text;
      EXPECT_EQ(gold, q->gold);
      EXPECT_EQ(std::set<std::string>(gold.begin(), gold.end()).size(), gold.size());
      EXPECT_TRUE(q->answerable);
      EXPECT_THAT(q->text, HasSubstr(q->entity));
      EXPECT_EQ(q->text.rfind("What is the ", 0), 0u);
    }
  }
}

TEST(WorldTest, HopTextComposesTheLabels) {
  const World w = MakeWorld(3);
  auto q = MakeQuestion(w, QuestionKind::kHop3, 9);
  ASSERT_TRUE(q.ok());
  auto lower = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  EXPECT_EQ(q->text, "What is the " + lower(q->labels[2]) + " of the " + lower(q->labels[1]) +
                         " of the " + lower(q->labels[0]) + " of " + q->entity + "?");
}

std::int64_t Number(const std::string& v) {
  std::int64_t n = 0;
  for (char c : v)
    if (std::isdigit(static_cast<unsigned char>(c))) n = n * 10 + (c - '0');
  return n;
}

TEST(WorldTest, ComparisonAsksForTheSmallerOfTwoDistinctValues) {
  std::set<std::string> labels;
  for (std::uint64_t seed = 0; seed < 80; ++seed) {
    const World w = MakeWorld(seed);
    auto q = MakeQuestion(w, QuestionKind::kComparison, seed);
    ASSERT_TRUE(q.ok()) << q.status().ToString();
    ASSERT_EQ(q->entities.size(), 2u);
    ASSERT_EQ(q->gold.size(), 2u);
    labels.insert(q->labels[0]);
    const Entity& a = w.entities[static_cast<std::size_t>(w.Find(q->entities[0]))];
    const Entity& b = w.entities[static_cast<std::size_t>(w.Find(q->entities[1]))];
    EXPECT_EQ(a.type, b.type);
    const std::int64_t va = Number(a.Find(q->labels[0])->value);
    const std::int64_t vb = Number(b.Find(q->labels[0])->value);
    EXPECT_NE(va, vb);
    EXPECT_EQ(q->answer, va < vb ? a.name : b.name);
    EXPECT_EQ(q->gold, (std::vector<std::string>{a.id, b.id}));
    EXPECT_THAT(q->text, HasSubstr("which has the " + q->extreme));
  }
  EXPECT_GE(labels.size(), 4u);  // years, populations, prices, attendances
}

TEST(WorldTest, AggregationSumsTheNamedEntities) {
  for (std::uint64_t seed = 0; seed < 60; ++seed) {
    const World w = MakeWorld(seed);
    QuestionOptions o;
    o.aggregate_count = 2 + static_cast<int>(seed % 4);
    auto q = MakeQuestion(w, QuestionKind::kAggregation, seed, o);
    ASSERT_TRUE(q.ok()) << q.status().ToString();
    ASSERT_EQ(static_cast<int>(q->entities.size()), o.aggregate_count);
    std::int64_t total = 0;
    for (const std::string& name : q->entities) {
      const Entity& e = w.entities[static_cast<std::size_t>(w.Find(name))];
      total += Number(e.Find(q->labels[0])->value);
    }
    EXPECT_EQ(Number(q->answer), total) << q->text;
    if (q->answer[0] == '$') {
      EXPECT_EQ(q->aliases, (std::vector<std::string>{q->answer.substr(1)}));
    }
  }
}

TEST(WorldTest, UnanswerableQuestionsAreMixedAndReallyUnanswerable) {
  std::map<std::string, int> reasons;
  for (std::uint64_t seed = 0; seed < 400; ++seed) {
    const World w = MakeWorld(seed % 40);
    auto q = MakeQuestion(w, QuestionKind::kUnanswerable, seed);
    ASSERT_TRUE(q.ok()) << q.status().ToString();
    ++reasons[q->reason];
    ASSERT_EQ(q->labels.size(), 1u);
    ASSERT_EQ(q->gold.size(), 1u);
    if (q->answerable) {
      std::vector<std::string> gold;
      EXPECT_EQ(Follow(w, *q, &gold), q->answer);
      continue;
    }
    EXPECT_EQ(q->answer, "unanswerable");
    if (q->reason == "missing_fact") {
      const int i = w.Find(q->entity);
      ASSERT_GE(i, 0);
      EXPECT_EQ(w.entities[static_cast<std::size_t>(i)].Find(q->labels[0]), nullptr);
      EXPECT_THAT(w.documents[static_cast<std::size_t>(i)].text,
                  ::testing::Not(HasSubstr(q->labels[0] + ":")));
    } else {
      ASSERT_EQ(q->reason, "missing_entity");
      EXPECT_EQ(w.Find(q->entity), -1) << q->entity;
      // The gold document is about a name one word away.
      bool similar = false;
      for (const Entity& e : w.entities)
        if (e.id == q->gold[0]) similar = Distance(e.name, q->entity) <= 2;
      EXPECT_TRUE(similar) << q->entity;
    }
  }
  EXPECT_GT(reasons[""], 150);
  EXPECT_GT(reasons["missing_fact"], 60);
  EXPECT_GT(reasons["missing_entity"], 60);
  QuestionOptions never;
  never.unanswerable_rate = 0;
  auto q = MakeQuestion(MakeWorld(1), QuestionKind::kUnanswerable, 3, never);
  ASSERT_TRUE(q.ok());
  EXPECT_TRUE(q->answerable);
}

TEST(WorldTest, QuestionsAreDeterministic) {
  const World w = MakeWorld(4);
  for (QuestionKind k : {QuestionKind::kHop2, QuestionKind::kComparison, QuestionKind::kAggregation,
                         QuestionKind::kUnanswerable}) {
    auto a = MakeQuestion(w, k, 77), b = MakeQuestion(w, k, 77), c = MakeQuestion(w, k, 78);
    ASSERT_TRUE(a.ok() && b.ok() && c.ok());
    EXPECT_EQ(a->text, b->text);
    EXPECT_EQ(a->gold, b->gold);
    EXPECT_EQ(a->answer, b->answer);
  }
}

// What the search suites' experts rely on: searching an entity's name, plainly or as a phrase,
// shows its document among the first five results (the experts ask for 10 and 5).
TEST(WorldTest, SearchingANameFindsItsDocumentInTheTopFive) {
  int checked = 0;
  for (std::uint64_t seed = 0; seed < 25; ++seed) {
    const World w = MakeWorld(seed);
    auto index = Index::InMemory(w.documents);
    ASSERT_TRUE(index.ok()) << index.status().ToString();
    for (int i = 0; i < w.options.entities; ++i) {
      const Entity& e = w.entities[static_cast<std::size_t>(i)];
      for (const std::string& query : {e.name, "\"" + e.name + "\""}) {
        auto hits = (*index)->Search(query, 5);
        ASSERT_TRUE(hits.ok());
        bool found = false;
        for (const Hit& h : *hits) found = found || h.id == e.id;
        EXPECT_TRUE(found) << "seed " << seed << ": " << query;
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 25 * 60);
}

TEST(WorldTest, GenerateCorpusGivesNDocumentsWithUniqueIds) {
  for (std::size_t n : {1u, 9u, 10u, 250u}) {
    const std::vector<Document> docs = GenerateCorpus(3, n);
    ASSERT_EQ(docs.size(), n);
    std::set<std::string> ids;
    for (const Document& d : docs) ids.insert(d.id);
    EXPECT_EQ(ids.size(), n);
  }
  EXPECT_EQ(GenerateCorpus(3, 250), GenerateCorpus(3, 250));
  EXPECT_NE(GenerateCorpus(3, 250), GenerateCorpus(4, 250));
  EXPECT_TRUE(GenerateCorpus(3, 0).empty());
}

TEST(WorldTest, GenerateCorpusScalesToTheBenchmarkSize) {
  const std::vector<Document> docs = GenerateCorpus(1, 100000);
  ASSERT_EQ(docs.size(), 100000u);
  std::set<std::string> ids;
  std::size_t bytes = 0;
  for (const Document& d : docs) {
    ids.insert(d.id);
    bytes += d.text.size();
  }
  EXPECT_EQ(ids.size(), docs.size());
  EXPECT_GT(bytes / docs.size(), 250u);  // encyclopedia-sized, not stubs
}

}  // namespace
}  // namespace toolgym::search
