// Synthetic worlds for the search env: people, organizations, places, products and events with
// attributes and relations, deterministic from a seed, written into encyclopedia-style
// documents, with questions that need 1, 2 or 3 hops, a comparison or an aggregation, or that
// the corpus cannot answer. Distractor documents about entities with similar names ("Varno
// Industries" and "Varnow Industries") carry different facts, so that reading the wrong
// document gives a wrong answer.
//
// A document is one entity: a lead paragraph of prose that states its facts in varied
// sentences, an infobox of "Label: value" lines (the same facts, one per line, in a fixed order
// per type), and a paragraph of further prose with numbers that are not the asked facts:
//
//   Varno Industries is a shipbuilding company headquartered in Tarsville. Mara Quill founded
//   Varno Industries in 1987.
//
//   Founding year: 1987
//   Founder: Mara Quill
//   Headquarters: Tarsville
//   Industry: shipbuilding
//   Employee count: 4200
//
//   In 2003 it opened a second office in Kelmport. ...
//
// The facts by type (relations point at other entities of the world, by name):
//   person        Birth year, Birthplace (place), Employer (organization), Occupation
//   organization  Founding year, Founder (person), Headquarters (place), Industry, Employee count
//   place         Population, Country, Mayor (person)
//   product       Manufacturer (organization), Price ("$129"), Release year, Category
//   event         Year, Host city (place), Organizer (organization), Attendance
// Some literal facts of some entities are withheld: neither the infobox nor any prose states
// them, and no other document does either (documents name related entities, never their
// attributes), so a question about one is unanswerable.
//
// Names are made up from syllables (no real people or places), contain only ASCII letters,
// digits and spaces (so they can be put into a regular expression as they are), no English
// stopword (a query would drop it), and are unique within a world. A document states its own
// name several times, so that searching a name ranks its document first or nearly so, above the
// documents that mention it once or twice. Document ids are opaque ("o3f2a19c"): an agent finds
// them only by searching.
//
// Determinism: every draw comes from splitmix64 with rejection sampling, never from the
// implementation-defined std distributions, so a world is the same on every platform.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "search/index.h"

namespace toolgym::search {

enum class EntityType { kPerson, kOrganization, kPlace, kProduct, kEvent };
// "person", "organization", "place", "product", "event".
std::string_view EntityTypeName(EntityType type);

// One infobox line. `ref` is the index (in World::entities) of the entity a relation names, or
// -1 for a literal attribute.
struct Field {
  std::string label;
  std::string value;
  int ref = -1;
};

struct Entity {
  std::string id;  // the document id
  EntityType type = EntityType::kPerson;
  std::string name;
  std::vector<Field> fields;          // stated facts, in infobox order
  std::vector<std::string> withheld;  // labels of literal facts the corpus never states
  int similar_to = -1;  // for a distractor: the entity whose name it imitates, else -1
  bool distractor() const { return similar_to >= 0; }
  // The stated field with this label, or null.
  const Field* Find(std::string_view label) const;
};

struct WorldOptions {
  int entities = 60;           // real entities, >= 10 (at least 2 of each type)
  int distractors = 30;        // entities with names similar to real ones, >= 0
  double withheld_rate = 0.1;  // chance that a literal fact of a real entity is withheld
  static constexpr int kMaxEntities = 1'000'000;
};

struct World {
  std::uint64_t seed = 0;
  WorldOptions options;
  std::vector<Entity> entities;     // the real entities first, then the distractors
  std::vector<Document> documents;  // documents[i] is about entities[i]
  // Index of the entity with this exact name, or -1.
  int Find(std::string_view name) const;
};

// A world from a seed. Errors name the option that is out of range.
StatusOr<World> GenerateWorld(std::uint64_t seed, const WorldOptions& options = {});

enum class QuestionKind { kHop1, kHop2, kHop3, kComparison, kAggregation, kUnanswerable };
// "hop1", "hop2", "hop3", "comparison", "aggregation", "unanswerable".
std::string_view QuestionKindName(QuestionKind kind);
StatusOr<QuestionKind> ParseQuestionKind(std::string_view name);

// A question about a world, with everything a verifier and an expert need. The question's text
// is built from its parts, so that a scenario can compose the same sentence from `entity`,
// `entities`, `labels` and `extreme` (and an expert can use exactly what the agent is shown):
//   hop1..3, unanswerable  "What is the <labels[n-1]> of the ... of the <labels[0]> of <entity>?"
//   comparison             "Of <entities[0]> and <entities[1]>, which has the <extreme>
//                           <labels[0]>?"   (always the smaller value: earlier, smaller, lower)
//   aggregation            "What is the total <labels[0]> of <e0>, <e1> and <e2>?"
// with labels in lower case.
struct Question {
  QuestionKind kind = QuestionKind::kHop1;
  std::string text;
  std::string answer;                // the canonical answer; the fixed string when unanswerable
  std::vector<std::string> aliases;  // other accepted forms of the answer ("129" for "$129")
  bool answerable = true;
  // Why an unanswerable question cannot be answered: "missing_entity" (no document is about
  // the entity; one about a similar name is) or "missing_fact" (the entity's document does not
  // state the fact). Empty when answerable.
  std::string reason;
  std::string entity;                 // the entity the question starts from (hops, unanswerable)
  std::vector<std::string> entities;  // every entity the question names, in its order
  std::vector<std::string> labels;    // the infobox labels the question follows, in order
  std::string extreme;                // comparison: "earlier", "smaller" or "lower"
  // Ids of the documents that hold the answer, in the order they are needed (for a
  // missing_entity question: the document about the similar name).
  std::vector<std::string> gold;
  int hops = 1;  // documents that must be read
};

struct QuestionOptions {
  std::string unanswerable_answer = "unanswerable";
  // kUnanswerable: the share of instances that are unanswerable; the others are answerable
  // one-hop questions of the same form, so that always answering "unanswerable" does not pay.
  double unanswerable_rate = 0.5;
  int aggregate_count = 3;  // kAggregation: entities summed, 2..5
};

// A question of `kind` about `world`, drawn from `seed`. Fails (FailedPrecondition) only for a
// world too small to hold one.
StatusOr<Question> MakeQuestion(const World& world, QuestionKind kind, std::uint64_t seed,
                                const QuestionOptions& options = {});

// `n` documents of one generated world (two thirds entities, one third distractors),
// deterministic from `seed`: the corpus the retrieval benchmark indexes (bench/search_bench.cc).
// Scales linearly (100,000 documents in well under a second).
std::vector<Document> GenerateCorpus(std::uint64_t seed, std::size_t n);

}  // namespace toolgym::search
