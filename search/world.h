// Synthetic worlds for the search env: people, organizations, places, products and events with
// attributes and relations, deterministic from a seed, written into encyclopedia-style
// documents, with questions that need 1, 2 or 3 hops, comparisons or aggregation, and
// distractor documents with similar names. (Filled in by the search suites; docs/envs.md.)
#pragma once

#include <cstdint>
#include <vector>

#include "search/index.h"

namespace toolgym::search {

// `n` documents of one generated world (entities and distractors), deterministic from `seed`:
// the corpus the retrieval benchmark indexes (bench/search_bench.cc).
std::vector<Document> GenerateCorpus(std::uint64_t seed, std::size_t n);

}  // namespace toolgym::search
