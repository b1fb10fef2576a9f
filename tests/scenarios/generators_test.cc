// Parameter generators (scenarios/generators.h): registry, argument errors, determinism and the
// validity of every derived fact. The code generators' expected values are checked against
// /usr/bin/python3 running the reference sources.
#include "scenarios/generators.h"

#include <fnmatch.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include "scenarios/generator_util.h"

namespace toolgym::scenarios {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;

const GeneratorRegistry& Reg() { return GeneratorRegistry::Default(); }

json Gen(const json& spec, std::uint64_t seed = 1) {
  Rng rng(seed);
  auto r = Reg().Generate(spec, rng);
  EXPECT_TRUE(r.ok()) << spec.dump() << ": " << r.status().ToString();
  return r.ok() ? *r : json();
}

std::string GenError(const json& spec, std::uint64_t seed = 1) {
  Rng rng(seed);
  auto r = Reg().Generate(spec, rng);
  EXPECT_FALSE(r.ok()) << spec.dump() << " generated " << (r.ok() ? r->dump() : "");
  return r.ok() ? "" : r.status().message();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    out.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

std::size_t Count(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t p = hay.find(needle); p != std::string::npos;
       p = hay.find(needle, p + needle.size()))
    ++n;
  return n;
}

// ---------------------------------------------------------------------------------------------
// Registry

TEST(GeneratorRegistryTest, DefaultHasEveryGenerator) {
  std::vector<std::string> expected = {
      "bool",        "choice",      "config_file", "const",        "csv_table",
      "date",        "file_pair",   "file_tree",   "filename",     "float",
      "hex",         "int",         "ints",        "jsonl_record", "log_file",
      "mode_set",    "name",        "permutation", "py_buggy",     "py_explore",
      "py_function", "range",       "rename_set",  "sample",       "search_question",
      "shuffle",     "sized_files", "text_lines",  "token",        "value",
      "web_admin",   "web_form",    "web_shop",    "web_wiki",     "word",
      "words"};
  EXPECT_EQ(Reg().Names(), expected);
  for (const std::string& n : expected) {
    const GeneratorInfo* info = Reg().Find(n);
    ASSERT_NE(info, nullptr) << n;
    EXPECT_EQ(info->name, n);
    EXPECT_FALSE(info->summary.empty()) << n;
    for (const std::string& r : info->required) {
      EXPECT_NE(std::find(info->arguments.begin(), info->arguments.end(), r),
                info->arguments.end());
    }
  }
  EXPECT_EQ(Reg().Find("nope"), nullptr);
}

TEST(GeneratorRegistryTest, DefaultIsBuiltOnceAcrossThreads) {
  std::vector<const GeneratorRegistry*> seen(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back(
        [&seen, i] { seen[static_cast<std::size_t>(i)] = &GeneratorRegistry::Default(); });
  }
  for (auto& t : threads) t.join();
  for (const auto* p : seen) EXPECT_EQ(p, seen[0]);
}

TEST(GeneratorRegistryTest, RegisterRejectsDuplicatesAndBadInfo) {
  GeneratorRegistry r;
  auto gen = [](const json&, Rng&) -> StatusOr<json> { return json(1); };
  EXPECT_TRUE(r.Register({"one", "s", {}, {}, gen}).ok());
  Status dup = r.Register({"one", "s", {}, {}, gen});
  EXPECT_FALSE(dup.ok());
  EXPECT_THAT(dup.message(), HasSubstr("generator 'one' is already registered"));
  EXPECT_THAT(r.Register({"two", "s", {"a"}, {"b"}, gen}).message(),
              HasSubstr("required argument 'b' is not in its arguments"));
  EXPECT_THAT(r.Register({"three", "s", {}, {}, nullptr}).message(), HasSubstr("no generate"));
  EXPECT_EQ(r.Names(), std::vector<std::string>{"one"});
}

TEST(GeneratorRegistryTest, GenerateChecksArguments) {
  EXPECT_EQ(GenError({{"name", "n"}, {"gen", "int"}, {"min", 1}, {"maxx", 3}}),
            "unknown argument 'maxx' for generator 'int'; expected one of: min, max");
  EXPECT_EQ(GenError({{"gen", "int"}, {"min", 1}}), "missing argument 'max' for generator 'int'");
  EXPECT_THAT(GenError({{"gen", "nope"}}),
              HasSubstr("unknown generator 'nope' (generators: bool, "));
  EXPECT_THAT(GenError({{"name", "x"}}), HasSubstr("needs \"gen\""));
  EXPECT_THAT(GenError(json::array()), HasSubstr("must be an object"));
  EXPECT_EQ(GenError({{"gen", "int"}, {"min", 5}, {"max", 3}}),
            "generator 'int': 'max' must be >= 'min', got min = 5, max = 3");
  EXPECT_EQ(Gen({{"name", "n"}, {"gen", "int"}, {"min", 4}, {"max", 4}}), json(4));
}

// ---------------------------------------------------------------------------------------------
// Determinism over every generator

std::vector<json> RepresentativeSpecs() {
  return {
      {{"gen", "int"}, {"min", 0}, {"max", 1000000}},
      {{"gen", "float"}, {"min", 0}, {"max", 1000}, {"decimals", 3}},
      {{"gen", "choice"}, {"values", json::array({1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                                                  11, 12, 13, 14, 15, 16, 17, 18, 19, 20})}},
      {{"gen", "sample"}, {"values", json::array({1, 2, 3, 4, 5, 6, 7, 8})}, {"count", 4}},
      {{"gen", "shuffle"}, {"values", json::array({1, 2, 3, 4, 5, 6, 7, 8})}},
      {{"gen", "bool"}},
      {{"gen", "word"}},
      {{"gen", "words"}, {"count", 4}},
      {{"gen", "name"}, {"full", true}},
      {{"gen", "hex"}, {"length", 16}},
      {{"gen", "token"}, {"length", 12}},
      {{"gen", "filename"}},
      {{"gen", "date"}},
      {{"gen", "permutation"}, {"n", 10}},
      {{"gen", "ints"}, {"count", 5}, {"min", 0}, {"max", 100}},
      {{"gen", "file_tree"}, {"needle", true}},
      {{"gen", "text_lines"}},
      {{"gen", "log_file"}},
      {{"gen", "csv_table"}},
      {{"gen", "sized_files"}},
      {{"gen", "config_file"}},
      {{"gen", "file_pair"}},
      {{"gen", "rename_set"}},
      {{"gen", "mode_set"}},
      {{"gen", "py_function"}},
      {{"gen", "py_buggy"}},
      {{"gen", "py_explore"}},
  };
}

TEST(GeneratorDeterminismTest, SameSeedSameValueDifferentSeedsDiffer) {
  for (const json& spec : RepresentativeSpecs()) {
    std::set<std::string> distinct;
    for (std::uint64_t seed = 0; seed < 10; ++seed) {
      std::string a = Gen(spec, seed).dump();
      EXPECT_EQ(a, Gen(spec, seed).dump()) << spec.dump();
      distinct.insert(a);
    }
    EXPECT_GE(distinct.size(), spec["gen"] == "bool" ? 2u : 8u) << spec.dump();
  }
}

TEST(GeneratorDeterminismTest, ConcurrentDrawsMatchSerialOnes) {
  // The registry is read from many threads at once (one Rng per task): results must not depend
  // on what runs beside them.
  std::vector<json> specs = RepresentativeSpecs();
  std::vector<std::string> serial;
  for (const json& spec : specs) serial.push_back(Gen(spec, 77).dump());
  std::vector<std::thread> threads;
  std::vector<int> mismatches(8, 0);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round) {
        for (std::size_t i = 0; i < specs.size(); ++i) {
          std::size_t k = (i + static_cast<std::size_t>(t) * 5) % specs.size();
          Rng rng(77);
          auto r = Reg().Generate(specs[k], rng);
          if (!r.ok() || r->dump() != serial[k]) ++mismatches[static_cast<std::size_t>(t)];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

TEST(GeneratorDeterminismTest, GoldenValues) {
  // Pinned so that an accidental change to any draw (and so to every generated task) shows. A
  // deliberate change updates these values and bumps the version of the affected scenarios.
  EXPECT_EQ(Gen({{"gen", "int"}, {"min", 1}, {"max", 100}}, 42), json(7));
  EXPECT_EQ(Gen({{"gen", "word"}, {"list", json::array({"a", "b", "c", "d"})}}, 42), json("c"));
  EXPECT_EQ(Gen({{"gen", "date"}, {"start", "2024-01-01"}, {"end", "2024-12-31"}}, 42),
            json("2024-03-01"));
  std::map<std::string, std::uint64_t> golden = {
      {"int", 0x8982a45050f443ull},           {"float", 0x64add9cf1c14c82full},
      {"choice", 0xaf63aa4c86019796ull},      {"sample", 0x6f614de1d5e8eab4ull},
      {"shuffle", 0xb8f61e98b861f1fdull},     {"bool", 0xb5fae2c14238b978ull},
      {"word", 0x5c46c3a94f63437bull},        {"words", 0x29e186f4e0dc2899ull},
      {"name", 0x74042bd8d8c718a5ull},        {"hex", 0x61631e1138fd3d53ull},
      {"token", 0x9ea22531726e085bull},       {"filename", 0xb92ef659e8fc0312ull},
      {"date", 0x644ddae2d2d03d89ull},        {"permutation", 0x6a15e3d8715f9ad8ull},
      {"ints", 0x51891361e353857full},        {"file_tree", 0x6b42332b04aa0d07ull},
      {"text_lines", 0x5a2dd4cb1e38d3bdull},  {"log_file", 0xd930a0a81915f4ddull},
      {"csv_table", 0x99bcaef402294b78ull},   {"sized_files", 0x377e47b6fd449a48ull},
      {"config_file", 0x536245d8188f2175ull}, {"file_pair", 0x1dbeea330bd0b35full},
      {"rename_set", 0x1274d4ca97b0c2cdull},  {"mode_set", 0xc9d5459f3ee30ef6ull},
      {"py_function", 0x122db600d72c9674ull}, {"py_buggy", 0xb6cfe39500eacc27ull},
      {"py_explore", 0xa907b233470a7d0ull},
  };
  for (const json& spec : RepresentativeSpecs()) {
    std::uint64_t h = Fnv1a64(Gen(spec, 42).dump());
    auto it = golden.find(spec["gen"].get<std::string>());
    if (it == golden.end()) {
      ADD_FAILURE() << "no golden hash for " << spec["gen"];
      continue;
    }
    EXPECT_EQ(h, it->second) << spec.dump();
  }
}

// ---------------------------------------------------------------------------------------------
// Basic generators

TEST(BasicGeneratorsTest, IntCoversTheClosedRange) {
  std::set<std::int64_t> seen;
  for (std::uint64_t s = 0; s < 300; ++s) {
    json v = Gen({{"gen", "int"}, {"min", -2}, {"max", 2}}, s);
    ASSERT_TRUE(v.is_number_integer());
    seen.insert(v.get<std::int64_t>());
  }
  EXPECT_EQ(seen, (std::set<std::int64_t>{-2, -1, 0, 1, 2}));
  EXPECT_EQ(Gen({{"gen", "int"}, {"min", "3"}, {"max", 3.0}}), json(3));  // rendered text, floats
  EXPECT_EQ(GenError({{"gen", "int"}, {"min", "x"}, {"max", 3}}),
            "generator 'int': 'min' must be an integer, got \"x\"");
  EXPECT_THAT(GenError({{"gen", "int"}, {"min", 1.5}, {"max", 3}}),
              HasSubstr("'min' must be an integer, got 1.5"));
}

TEST(BasicGeneratorsTest, FloatHonoursDecimalsAndRange) {
  for (std::uint64_t s = 0; s < 200; ++s) {
    double v =
        Gen({{"gen", "float"}, {"min", 1.5}, {"max", 2.5}, {"decimals", 1}}, s).get<double>();
    ASSERT_GE(v, 1.5);
    ASSERT_LE(v, 2.5);
    std::string text = json(v).dump();
    ASSERT_LE(text.size() - text.find('.') - 1, 1u) << text;
  }
  EXPECT_THAT(GenError({{"gen", "float"}, {"min", 2}, {"max", 1}}),
              HasSubstr("'max' must be >= 'min', got min = 2, max = 1"));
  EXPECT_THAT(GenError({{"gen", "float"}, {"min", 0}, {"max", 1}, {"decimals", 12}}),
              HasSubstr("'decimals' must be in [0, 9], got 12"));
  EXPECT_THAT(GenError({{"gen", "float"}, {"min", 0.11}, {"max", 0.19}, {"decimals", 0}}),
              HasSubstr("no value with 0 decimals"));
}

TEST(BasicGeneratorsTest, ChoiceAndWeights) {
  std::set<std::string> seen;
  for (std::uint64_t s = 0; s < 100; ++s) {
    seen.insert(Gen({{"gen", "choice"}, {"values", {"x", "y"}}}, s).get<std::string>());
    EXPECT_EQ(Gen({{"gen", "choice"}, {"values", {"x", "y", "z"}}, {"weights", {0, 1, 0}}}, s),
              "y");
  }
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_THAT(GenError({{"gen", "choice"}, {"values", json::array()}}),
              HasSubstr("'values' must have at least 1 item, got 0"));
  EXPECT_THAT(GenError({{"gen", "choice"}, {"values", "abc"}}),
              HasSubstr("'values' must be a list"));
  EXPECT_THAT(GenError({{"gen", "choice"}, {"values", {1, 2}}, {"weights", {1}}}),
              HasSubstr("one weight per value (2), got 1"));
  EXPECT_THAT(GenError({{"gen", "choice"}, {"values", {1, 2}}, {"weights", {1, -1}}}),
              HasSubstr("'weights' must be numbers >= 0; item 1"));
  EXPECT_THAT(GenError({{"gen", "choice"}, {"values", {1, 2}}, {"weights", {0, 0}}}),
              HasSubstr("must not all be 0"));
}

TEST(BasicGeneratorsTest, SampleShufflePermutation) {
  for (std::uint64_t s = 0; s < 50; ++s) {
    json v = Gen({{"gen", "sample"}, {"values", {1, 2, 2, 3, 4}}, {"count", 4}}, s);
    std::set<json> u(v.begin(), v.end());
    ASSERT_EQ(u.size(), 4u) << v.dump();  // duplicates in values are dropped first
    json sh = Gen({{"gen", "shuffle"}, {"values", {3, 1, 2}}}, s);
    std::vector<int> sorted = sh.get<std::vector<int>>();
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(sorted, (std::vector<int>{1, 2, 3}));
    json p = Gen({{"gen", "permutation"}, {"n", 5}, {"start", 1}}, s);
    std::vector<int> ps = p.get<std::vector<int>>();
    std::sort(ps.begin(), ps.end());
    EXPECT_EQ(ps, (std::vector<int>{1, 2, 3, 4, 5}));
  }
  EXPECT_THAT(GenError({{"gen", "sample"}, {"values", {1, 1, 2}}, {"count", 3}}),
              HasSubstr("'count' must be in [0, 2] (the number of distinct values), got 3"));
  EXPECT_THAT(GenError({{"gen", "permutation"}, {"n", -1}}),
              HasSubstr("'n' must be in [0, 100000]"));
}

TEST(BasicGeneratorsTest, BoolProbability) {
  for (std::uint64_t s = 0; s < 50; ++s) {
    EXPECT_EQ(Gen({{"gen", "bool"}, {"p", 0}}, s), json(false));
    EXPECT_EQ(Gen({{"gen", "bool"}, {"p", 1}}, s), json(true));
  }
  EXPECT_THAT(GenError({{"gen", "bool"}, {"p", 1.5}}), HasSubstr("'p' must be in [0, 1], got 1.5"));
}

TEST(BasicGeneratorsTest, WordListsAreCleanAndDistinct) {
  std::size_t total = 0;
  for (const std::string& name : genutil::BuiltinListNames()) {
    const auto* list = genutil::BuiltinList(name);
    ASSERT_NE(list, nullptr) << name;
    std::set<std::string> u(list->begin(), list->end());
    EXPECT_EQ(u.size(), list->size()) << name << " has duplicates";
    bool capitalized = name == "names" || name == "surnames";
    for (const std::string& w : *list) {
      ASSERT_FALSE(w.empty());
      for (std::size_t i = 0; i < w.size(); ++i) {
        char c = w[i];
        bool ok = (c >= 'a' && c <= 'z') || (capitalized && i == 0 && c >= 'A' && c <= 'Z');
        ASSERT_TRUE(ok) << name << ": " << w;
      }
    }
    if (name != "names" && name != "surnames") total += list->size();
  }
  EXPECT_GE(total, 300u);
  EXPECT_GE(genutil::BuiltinList("names")->size(), 75u);
  EXPECT_GE(genutil::BuiltinList("colors")->size(), 20u);
  EXPECT_EQ(genutil::BuiltinList("nope"), nullptr);
}

TEST(BasicGeneratorsTest, WordAndWords) {
  const auto& colors = *genutil::BuiltinList("colors");
  for (std::uint64_t s = 0; s < 30; ++s) {
    std::string w = Gen({{"gen", "word"}, {"list", "colors"}}, s).get<std::string>();
    EXPECT_NE(std::find(colors.begin(), colors.end(), w), colors.end()) << w;
    EXPECT_THAT(
        std::vector<std::string>({"p", "q"}),
        ::testing::Contains(Gen({{"gen", "word"}, {"list", {"p", "q"}}}, s).get<std::string>()));
    json ws = Gen({{"gen", "words"}, {"count", 5}, {"list", "animals"}}, s);
    std::set<std::string> u;
    for (const json& x : ws) u.insert(x.get<std::string>());
    EXPECT_EQ(u.size(), 5u);
    std::string joined = Gen({{"gen", "words"}, {"count", 3}, {"join", "/"}}, s).get<std::string>();
    EXPECT_EQ(std::count(joined.begin(), joined.end(), '/'), 2);
  }
  EXPECT_EQ(
      Gen({{"gen", "words"}, {"count", 6}, {"list", {"a"}}, {"distinct", false}, {"join", ""}}),
      "aaaaaa");
  EXPECT_THAT(GenError({{"gen", "word"}, {"list", "planets"}}),
              HasSubstr("'list' names no builtin list, got \"planets\" (lists: nouns, adjectives"));
  EXPECT_THAT(GenError({{"gen", "words"}, {"count", 3}, {"list", {"a", "b"}}}),
              HasSubstr("'count' must be <= the list size (2) when 'distinct' is true, got 3"));
  EXPECT_THAT(GenError({{"gen", "words"}, {"count", 2}, {"list", {"a", 1}}}),
              HasSubstr("'list' must be a list of strings; item 1 is 1"));
}

TEST(BasicGeneratorsTest, NameHexTokenFilename) {
  for (std::uint64_t s = 0; s < 30; ++s) {
    std::string first = Gen({{"gen", "name"}}, s).get<std::string>();
    EXPECT_EQ(first.find(' '), std::string::npos);
    std::string full = Gen({{"gen", "name"}, {"full", true}}, s).get<std::string>();
    EXPECT_EQ(std::count(full.begin(), full.end(), ' '), 1) << full;
    std::string hex = Gen({{"gen", "hex"}, {"length", 12}}, s).get<std::string>();
    EXPECT_TRUE(std::regex_match(hex, std::regex("[0-9a-f]{12}"))) << hex;
    std::string tok =
        Gen({{"gen", "token"}, {"length", 8}, {"alphabet", "AB"}}, s).get<std::string>();
    EXPECT_TRUE(std::regex_match(tok, std::regex("[AB]{8}"))) << tok;
    std::string fn =
        Gen({{"gen", "filename"}, {"ext", ".log"}, {"stem_words", 3}}, s).get<std::string>();
    EXPECT_TRUE(std::regex_match(fn, std::regex("[a-z]+_[a-z]+_[a-z]+\\.log"))) << fn;
    std::string bare =
        Gen({{"gen", "filename"}, {"ext", ""}, {"stem_words", 1}}, s).get<std::string>();
    EXPECT_TRUE(std::regex_match(bare, std::regex("[a-z]+"))) << bare;
    std::string multi = Gen({{"gen", "filename"}, {"ext", {"c", "h"}}}, s).get<std::string>();
    EXPECT_TRUE(std::regex_match(multi, std::regex("[a-z]+_[a-z]+\\.[ch]"))) << multi;
  }
  EXPECT_THAT(GenError({{"gen", "hex"}, {"length", 0}}),
              HasSubstr("'length' must be in [1, 4096], got 0"));
  EXPECT_THAT(GenError({{"gen", "token"}, {"length", 3}, {"alphabet", ""}}),
              HasSubstr("'alphabet' must not be empty"));
  EXPECT_THAT(GenError({{"gen", "filename"}, {"ext", "a/b"}}), HasSubstr("must not contain '/'"));
  EXPECT_THAT(GenError({{"gen", "name"}, {"full", "yes"}}),
              HasSubstr("'full' must be true or false"));
}

TEST(BasicGeneratorsTest, DatesAreCalendarCorrect) {
  // Fixed dates pin the calendar arithmetic, independent of the host's time zone.
  auto fixed = [](const std::string& d, const std::string& fmt) {
    return Gen({{"gen", "date"}, {"start", d}, {"end", d}, {"format", fmt}}).get<std::string>();
  };
  EXPECT_EQ(fixed("2024-01-01", "%A %a %u %w"), "Monday Mon 1 1");
  EXPECT_EQ(fixed("2024-02-29", "%d/%m/%y %j %B %b"), "29/02/24 060 February Feb");
  EXPECT_EQ(fixed("1970-01-01", "%F %T %%"), "1970-01-01 00:00:00 %");
  EXPECT_EQ(fixed("2000-12-31", "%j %e"), "366 31");
  EXPECT_EQ(fixed("1969-12-31", "%A %Y-%m-%d"), "Wednesday 1969-12-31");
  for (std::uint64_t s = 0; s < 100; ++s) {
    std::string d = Gen({{"gen", "date"}, {"start", "2023-12-30"}, {"end", "2024-01-02"}}, s)
                        .get<std::string>();
    EXPECT_THAT(std::vector<std::string>({"2023-12-30", "2023-12-31", "2024-01-01", "2024-01-02"}),
                ::testing::Contains(d));
  }
  EXPECT_THAT(GenError({{"gen", "date"}, {"start", "2023-02-30"}}),
              HasSubstr("'start' is not a calendar date, got \"2023-02-30\""));
  EXPECT_THAT(GenError({{"gen", "date"}, {"end", "31/12/2024"}}),
              HasSubstr("'end' must be a date YYYY-MM-DD, got \"31/12/2024\""));
  EXPECT_THAT(GenError({{"gen", "date"}, {"start", "2024-02-01"}, {"end", "2024-01-01"}}),
              HasSubstr("'end' must not be before 'start'"));
  EXPECT_THAT(GenError({{"gen", "date"}, {"format", "%Q"}}),
              HasSubstr("unsupported date directive '%Q'"));
}

TEST(BasicGeneratorsTest, ConstValueRangeInts) {
  json v = {{"a", {1, 2}}, {"b", nullptr}};
  EXPECT_EQ(Gen({{"gen", "const"}, {"value", v}}), v);
  EXPECT_EQ(Gen({{"gen", "value"}, {"value", "x"}}), "x");
  EXPECT_EQ(Gen({{"gen", "range"}, {"stop", 4}}), json({0, 1, 2, 3}));
  EXPECT_EQ(Gen({{"gen", "range"}, {"start", 10}, {"stop", 0}, {"step", -3}}), json({10, 7, 4, 1}));
  EXPECT_EQ(Gen({{"gen", "range"}, {"start", 5}, {"stop", 5}}), json::array());
  EXPECT_THAT(GenError({{"gen", "range"}, {"stop", 4}, {"step", 0}}),
              HasSubstr("'step' must not be 0"));
  EXPECT_THAT(GenError({{"gen", "range"}, {"stop", 1000000}}), HasSubstr("more than 100000 items"));
  for (std::uint64_t s = 0; s < 30; ++s) {
    json d = Gen({{"gen", "ints"},
                  {"count", 10},
                  {"min", 1},
                  {"max", 10},
                  {"distinct", true},
                  {"sorted", true}},
                 s);
    EXPECT_EQ(d, json({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
  }
  EXPECT_THAT(
      GenError({{"gen", "ints"}, {"count", 11}, {"min", 1}, {"max", 10}, {"distinct", true}}),
      HasSubstr("'count' must be <= max - min + 1 (10)"));
}

// ---------------------------------------------------------------------------------------------
// Data generators

TEST(DataGeneratorsTest, FileTreeNeedleInExactlyOneFile) {
  for (std::uint64_t s = 0; s < 60; ++s) {
    json spec = {{"gen", "file_tree"}, {"dirs", 6}, {"files", 15}, {"depth", 3}, {"root", "proj"}};
    if (s % 3 == 0)
      spec["needle"] = {{"text", "apple"}};  // a word filler text could contain
    else if (s % 3 == 1)
      spec["needle"] = "the red fox";  // spaces: could span filler words
    else
      spec["needle"] = true;
    json t = Gen(spec, s);
    const std::string needle = t["needle"];
    ASSERT_FALSE(needle.empty());
    int holders = 0;
    for (auto it = t["files"].begin(); it != t["files"].end(); ++it) {
      std::string content = it.value();
      std::size_t n = Count(content, needle);
      if (n > 0) {
        ++holders;
        EXPECT_EQ(n, 1u);
        EXPECT_EQ(it.key(), t["needle_path"]);
        EXPECT_EQ(Lines(content)[t["needle_line"].get<std::size_t>() - 1].find(needle) !=
                      std::string::npos,
                  true);
      }
      EXPECT_EQ(t["sizes"][it.key()], content.size());
      EXPECT_EQ(content.back(), '\n');
    }
    EXPECT_EQ(holders, 1) << "seed " << s;
    // Paths: every file sits under the root in a listed directory; depth is respected.
    std::set<std::string> dirs;
    for (const json& d : t["dirs"]) dirs.insert(d.get<std::string>());
    EXPECT_TRUE(dirs.count("proj"));
    EXPECT_EQ(t["paths"].size(), t["files"].size());
    EXPECT_EQ(t["count"], t["files"].size());
    for (const json& p : t["paths"]) {
      std::string path = p;
      ASSERT_TRUE(t["files"].contains(path));
      EXPECT_EQ(path.rfind("proj/", 0), 0u) << path;
      EXPECT_TRUE(dirs.count(path.substr(0, path.rfind('/')))) << path;
    }
    for (const std::string& d : dirs) {
      EXPECT_LE(std::count(d.begin(), d.end(), '/'), 3) << d;
      if (d != "proj") {
        EXPECT_TRUE(dirs.count(d.substr(0, d.rfind('/')))) << d;
      }
    }
    EXPECT_EQ(dirs.size(), 7u);
    EXPECT_EQ(t["needle_dir"], t["needle_path"].get<std::string>().substr(
                                   0, t["needle_path"].get<std::string>().rfind('/')));
  }
}

TEST(DataGeneratorsTest, FileTreeWithoutNeedleAndErrors) {
  json t = Gen(
      {{"gen", "file_tree"}, {"files", 3}, {"exts", {"py"}}, {"min_size", 10}, {"max_size", 20}});
  EXPECT_TRUE(t["needle"].is_null());
  EXPECT_EQ(t["by_ext"], json({{"py", 3}}));
  for (const json& p : t["paths"])
    EXPECT_EQ(p.get<std::string>().substr(p.get<std::string>().size() - 3), ".py");
  EXPECT_THAT(GenError({{"gen", "file_tree"}, {"files", 0}}),
              HasSubstr("'files' must be in [1, 5000], got 0"));
  EXPECT_THAT(GenError({{"gen", "file_tree"}, {"min_size", 50}, {"max_size", 10}}),
              HasSubstr("'max_size' must be >= 'min_size'"));
  EXPECT_THAT(GenError({{"gen", "file_tree"}, {"root", "/abs"}}),
              HasSubstr("'root' must be a relative path"));
  EXPECT_THAT(GenError({{"gen", "file_tree"}, {"needle", 5}}),
              HasSubstr("'needle' must be a string, true or"));
  EXPECT_THAT(GenError({{"gen", "file_tree"}, {"needle", {{"txt", "x"}}}}),
              HasSubstr("accepts only \"text\""));
  EXPECT_THAT(GenError({{"gen", "file_tree"}, {"needle", "a\nb"}}), HasSubstr("single line"));
}

TEST(DataGeneratorsTest, TextLinesCountsMatchTheText) {
  for (std::uint64_t s = 0; s < 80; ++s) {
    json spec = {
        {"gen", "text_lines"}, {"count", 30}, {"words_per_line", {{"min", 2}, {"max", 6}}}};
    if (s % 2 == 0) spec["plant"] = {{"word", "cat"}, {"count", 7}};  // "cat" hides in "catch"
    json t = Gen(spec, s);
    std::string w = t["word"];
    auto lines = Lines(t["text"]);
    ASSERT_EQ(lines.size(), 30u);
    EXPECT_EQ(json(lines), t["lines"]);
    std::size_t with = 0, occ = 0;
    json numbers = json::array();
    for (std::size_t i = 0; i < lines.size(); ++i) {
      std::size_t n = Count(lines[i], w);
      occ += n;
      if (n > 0) {
        ++with;
        numbers.push_back(i + 1);
      }
      // Substring counts equal whole-word counts: no filler word contains the planted word.
      std::istringstream ws(lines[i]);
      std::string tok;
      std::size_t words = 0, exact = 0;
      while (ws >> tok) {
        ++words;
        exact += tok == w;
      }
      EXPECT_EQ(exact, n);
      EXPECT_GE(words, 2u);
    }
    EXPECT_EQ(t["count"], with);
    EXPECT_EQ(t["occurrences"], occ);
    EXPECT_EQ(t["line_numbers"], numbers);
    if (s % 2 == 0) {
      EXPECT_EQ(with, 7u);
    }
  }
  EXPECT_THAT(GenError({{"gen", "text_lines"}, {"count", 5}, {"plant", {{"count", 6}}}}),
              HasSubstr("'plant.count' must be in [0, 5] (the line count), got 6"));
  EXPECT_THAT(GenError({{"gen", "text_lines"}, {"plant", {{"word", "two words"}}}}),
              HasSubstr("'plant.word' must be one word"));
  EXPECT_THAT(
      GenError({{"gen", "text_lines"}, {"plant", {{"word", "a"}}}, {"list", {"cat", "bat"}}}),
      HasSubstr("every word of 'list' contains the planted word \"a\""));
  EXPECT_THAT(
      GenError({{"gen", "text_lines"}, {"words_per_line", {{"min", 5}, {"max", 2}}}}),
      HasSubstr("'words_per_line.max' must be >= 'words_per_line.min', got min = 5, max = 2"));
  EXPECT_THAT(GenError({{"gen", "text_lines"}, {"plant", {{"word", "x"}, {"cnt", 1}}}}),
              HasSubstr("'plant' accepts only word and count, got 'cnt'"));
}

TEST(DataGeneratorsTest, LogFileFactsMatchTheLines) {
  std::regex line_re(R"((\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) ([A-Z]+) ([a-z]+): (.+))");
  for (std::uint64_t s = 0; s < 60; ++s) {
    json log = Gen({{"gen", "log_file"}, {"lines", 40 + static_cast<int>(s)}}, s);
    auto lines = Lines(log["text"]);
    ASSERT_EQ(lines.size(), 40 + s);
    std::map<std::string, int> counts, by_service;
    std::string first_error, prev_time;
    for (const std::string& l : lines) {
      std::smatch m;
      ASSERT_TRUE(std::regex_match(l, m, line_re)) << l;
      EXPECT_GE(m[1].str(), prev_time);  // timestamps never go back
      prev_time = m[1];
      ++counts[m[2]];
      ++by_service[m[3]];
      if (m[2] == "ERROR" && first_error.empty()) first_error = l;
      // grep -c LEVEL works: a level name appears in no other field.
      for (const char* level : {"INFO", "WARN", "ERROR"}) {
        EXPECT_EQ(Count(l, level), m[2] == level ? 1u : 0u) << l;
      }
    }
    for (const auto& [level, n] : counts) EXPECT_EQ(log["counts"][level], n) << level;
    for (const auto& [svc, n] : by_service) EXPECT_EQ(log["by_service"][svc], n) << svc;
    EXPECT_EQ(by_service.size(), log["services"].size()) << "every service logs at least once";
    // grep "svc:" counts exactly the service's lines: no message mentions a service.
    for (const json& svc : log["services"]) {
      std::size_t mentions = 0;
      for (const std::string& l : lines) mentions += Count(l, svc.get<std::string>()) > 0;
      EXPECT_EQ(mentions, log["by_service"][svc.get<std::string>()].get<std::size_t>()) << svc;
    }
    ASSERT_FALSE(first_error.empty());  // at least one ERROR line is guaranteed
    EXPECT_EQ(log["first_error"], first_error);
    EXPECT_EQ(log["first_error_time"], first_error.substr(0, 19));
    int top = 0, top_n = 0;
    for (const auto& [svc, n] : by_service) {
      if (n > top) {
        top = n;
        top_n = 1;
      } else if (n == top) {
        ++top_n;
      }
    }
    EXPECT_EQ(top_n, 1) << "the busiest service must be unique";
    EXPECT_EQ(by_service[log["top_service"]], top);
    EXPECT_EQ(log["start_time"], lines.front().substr(0, 19));
    EXPECT_EQ(log["end_time"], lines.back().substr(0, 19));
  }
}

TEST(DataGeneratorsTest, LogFileOptionsAndErrors) {
  json log = Gen({{"gen", "log_file"},
                  {"lines", 5},
                  {"levels", {"DEBUG", "INFO"}},
                  {"weights", {1, 0}},
                  {"services", {"alpha"}},
                  {"start", "2024-02-28 23:59:30"},
                  {"max_gap", 60}});
  EXPECT_EQ(log["counts"], json({{"DEBUG", 5}, {"INFO", 0}}));
  EXPECT_EQ(log["by_service"], json({{"alpha", 5}}));
  EXPECT_TRUE(log["first_error"].is_null());
  EXPECT_EQ(log["start_time"], "2024-02-28 23:59:30");
  EXPECT_THAT(GenError({{"gen", "log_file"}, {"levels", {"INFO", "INFO"}}}),
              HasSubstr("\"INFO\" twice"));
  EXPECT_THAT(GenError({{"gen", "log_file"}, {"levels", {"A", "B"}}, {"weights", {1}}}),
              HasSubstr("one weight per level (2), got 1"));
  EXPECT_THAT(GenError({{"gen", "log_file"}, {"services", 99}}),
              HasSubstr("'services' must be in [1, 12], got 99"));
  EXPECT_THAT(GenError({{"gen", "log_file"}, {"start", "yesterday"}}),
              HasSubstr("'start' must be"));
  EXPECT_THAT(GenError({{"gen", "log_file"}, {"services", {"INFOsvc"}}}),
              HasSubstr("service \"INFOsvc\" contains the level name \"INFO\""));
  EXPECT_THAT(GenError({{"gen", "log_file"}, {"services", {"e"}}}),
              HasSubstr("service names (e) keep appearing in log messages"));
}

TEST(DataGeneratorsTest, CsvTableFactsMatchTheRows) {
  json columns = json::parse(R"([
    {"name": "id", "kind": "id", "min": 100},
    {"name": "who", "kind": "name"},
    {"name": "town", "kind": "city"},
    {"name": "qty", "kind": "int", "min": -5, "max": 50},
    {"name": "price", "kind": "float", "min": 0, "max": 20, "decimals": 2},
    {"name": "fruit", "kind": "word"},
    {"name": "day", "kind": "date", "min": "2024-01-01", "max": "2024-03-31"}])");
  for (std::uint64_t s = 0; s < 40; ++s) {
    json t =
        Gen({{"gen", "csv_table"}, {"rows", {{"min", 5}, {"max", 30}}}, {"columns", columns}}, s);
    auto lines = Lines(t["text"]);
    std::size_t n = t["rows"].size();
    ASSERT_EQ(lines.size(), n + 1);
    EXPECT_EQ(lines[0], "id,who,town,qty,price,fruit,day");
    EXPECT_EQ(t["row_count"], n);
    std::int64_t qty_sum = 0, price_cents = 0, qmax = INT64_MIN;
    std::set<std::string> fruits;
    for (std::size_t r = 0; r < n; ++r) {
      const json& row = t["rows"][r];
      // The text row is the row object's values in header order.
      std::vector<std::string> cells;
      std::stringstream ss(lines[r + 1]);
      std::string cell;
      while (std::getline(ss, cell, ',')) cells.push_back(cell);
      ASSERT_EQ(cells.size(), 7u) << lines[r + 1];
      EXPECT_EQ(row["id"], 100 + static_cast<std::int64_t>(r));
      EXPECT_EQ(cells[1], row["who"]);
      EXPECT_EQ(cells[2], row["town"]);
      EXPECT_EQ(std::stoll(cells[3]), row["qty"].get<std::int64_t>());
      EXPECT_DOUBLE_EQ(std::stod(cells[4]), row["price"].get<double>());
      EXPECT_EQ(cells[4].size() - cells[4].find('.'), 3u) << cells[4];  // always 2 decimals
      EXPECT_TRUE(std::regex_match(cells[6], std::regex("2024-0[1-3]-[0-3][0-9]"))) << cells[6];
      qty_sum += row["qty"].get<std::int64_t>();
      qmax = std::max(qmax, row["qty"].get<std::int64_t>());
      price_cents += std::llround(row["price"].get<double>() * 100);
      fruits.insert(row["fruit"].get<std::string>());
    }
    EXPECT_EQ(t["column_sums"]["qty"], qty_sum);
    EXPECT_EQ(std::llround(t["column_sums"]["price"].get<double>() * 100), price_cents);
    EXPECT_EQ(t["column_max"]["qty"], qmax);
    EXPECT_EQ(t["distinct_counts"]["fruit"], fruits.size());
    EXPECT_EQ(t["column_min"]["fruit"], *fruits.begin());
    EXPECT_EQ(t["column_max"]["fruit"], *fruits.rbegin());
    EXPECT_FALSE(t["column_sums"].contains("who"));
    if (!t["argmax"]["qty"].is_null()) {
      EXPECT_EQ(t["rows"][t["argmax"]["qty"].get<std::size_t>()]["qty"], qmax);
    }
    EXPECT_EQ(t["columns"]["qty"].size(), n);
  }
}

TEST(DataGeneratorsTest, CsvFloatColumnsWithFractionalBounds) {
  json columns =
      json::parse(R"([{"name": "p", "kind": "float", "min": 0.5, "max": 1.25, "decimals": 2}])");
  std::set<double> seen;
  for (std::uint64_t s = 0; s < 20; ++s) {
    json t = Gen({{"gen", "csv_table"}, {"rows", 10}, {"columns", columns}}, s);
    for (const json& row : t["rows"]) {
      double v = row["p"].get<double>();
      EXPECT_GE(v, 0.5);
      EXPECT_LE(v, 1.25);
      seen.insert(v);
    }
  }
  EXPECT_GT(seen.size(), 30u);
  EXPECT_THAT(
      GenError(
          {{"gen", "csv_table"},
           {"columns",
            json::parse(
                R"([{"name": "p", "kind": "float", "min": 0.11, "max": 0.19, "decimals": 1}])")}}),
      HasSubstr("no value with 1 decimals lies in [0.11, 0.19]"));
}

TEST(DataGeneratorsTest, CsvTableDefaultsDelimiterAndErrors) {
  json t = Gen({{"gen", "csv_table"}, {"rows", 4}, {"delimiter", ";"}});
  EXPECT_EQ(Lines(t["text"])[0], "id;name;city;age;score");
  EXPECT_EQ(t["rows"].size(), 4u);
  EXPECT_THAT(GenError({{"gen", "csv_table"}, {"columns", {{{"name", "a"}, {"kind", "blob"}}}}}),
              HasSubstr("'columns' item 0: 'kind' must be one of id, int, float"));
  EXPECT_THAT(GenError({{"gen", "csv_table"},
                        {"columns", {{{"name", "a"}, {"kind", "int"}, {"min", 9}, {"max", 1}}}}}),
              HasSubstr("'columns' item 0: 'max' must be >= 'min', got min = 9, max = 1"));
  EXPECT_THAT(GenError({{"gen", "csv_table"}, {"columns", {{{"name", "a,b"}, {"kind", "int"}}}}}),
              HasSubstr("without delimiters"));
  EXPECT_THAT(
      GenError({{"gen", "csv_table"}, {"columns", {{{"name", "a"}, {"kind", "int"}, {"mx", 1}}}}}),
      HasSubstr("unknown field 'mx'"));
  EXPECT_THAT(GenError({{"gen", "csv_table"},
                        {"columns",
                         {{{"name", "a"}, {"kind", "int"}}, {{"name", "a"}, {"kind", "city"}}}}}),
              HasSubstr("the name \"a\" twice"));
  EXPECT_THAT(GenError({{"gen", "csv_table"}, {"delimiter", ":"}}),
              HasSubstr("'delimiter' must be one of"));
  EXPECT_THAT(GenError({{"gen", "csv_table"}, {"rows", 0}}),
              HasSubstr("'rows' must be in [1, 100000], got 0"));
}

TEST(DataGeneratorsTest, SizedFilesHaveDistinctSizesAndTimes) {
  for (std::uint64_t s = 0; s < 40; ++s) {
    json f = Gen(
        {{"gen", "sized_files"}, {"count", 8}, {"min_size", 10}, {"max_size", 30}, {"dir", "in"}},
        s);
    std::set<std::size_t> sizes;
    std::set<std::int64_t> times;
    std::size_t largest = 0, smallest = SIZE_MAX;
    for (auto it = f["files"].begin(); it != f["files"].end(); ++it) {
      std::size_t n = it.value().get<std::string>().size();
      EXPECT_EQ(f["sizes"][it.key()], n);
      EXPECT_GE(n, 10u);
      EXPECT_LE(n, 30u);
      EXPECT_EQ(it.key().rfind("in/", 0), 0u);
      sizes.insert(n);
      times.insert(f["mtimes"][it.key()].get<std::int64_t>());
      largest = std::max(largest, n);
      smallest = std::min(smallest, n);
    }
    EXPECT_EQ(sizes.size(), 8u);
    EXPECT_EQ(times.size(), 8u);
    EXPECT_EQ(f["sizes"][f["largest"].get<std::string>()], largest);
    EXPECT_EQ(f["sizes"][f["smallest"].get<std::string>()], smallest);
    for (std::size_t i = 1; i < 8; ++i) {
      EXPECT_GT(f["sizes"][f["order_by_size"][i - 1].get<std::string>()],
                f["sizes"][f["order_by_size"][i].get<std::string>()]);
      EXPECT_GT(f["mtimes"][f["order_by_mtime"][i - 1].get<std::string>()],
                f["mtimes"][f["order_by_mtime"][i].get<std::string>()]);
    }
    EXPECT_EQ(f["newest"], f["order_by_mtime"][0]);
    EXPECT_EQ(Count(f["touch_script"], "touch -m -d @"), 8u);
  }
  EXPECT_THAT(
      GenError({{"gen", "sized_files"}, {"count", 5}, {"min_size", 1}, {"max_size", 3}}),
      HasSubstr("max_size - min_size + 1 >= count, got min_size = 1, max_size = 3, count = 5"));
  EXPECT_THAT(GenError({{"gen", "sized_files"}, {"dir", "../up"}}),
              HasSubstr("'dir' must be a relative path"));
}

TEST(DataGeneratorsTest, ConfigFileExpectedTextChangesOnlyTheTarget) {
  for (std::uint64_t s = 0; s < 60; ++s) {
    bool ini = s % 2 == 0;
    json c = Gen({{"gen", "config_file"}, {"format", ini ? "ini" : "kv"}}, s);
    auto before = Lines(c["text"]), after = Lines(c["expected_text"]);
    ASSERT_EQ(before.size(), after.size());
    std::size_t target = c["target_line"].get<std::size_t>() - 1;
    for (std::size_t i = 0; i < before.size(); ++i) {
      if (i == target) {
        EXPECT_NE(before[i], after[i]);
        EXPECT_EQ(before[i], c["old_line"]);
        EXPECT_EQ(after[i], c["new_line"]);
      } else {
        EXPECT_EQ(before[i], after[i]);
      }
    }
    std::string key = c["target_key"], sep = ini ? " = " : "=";
    EXPECT_EQ(after[target], key + sep + c["new_value"].get<std::string>());
    EXPECT_NE(c["old_value"], c["new_value"]);
    // Entries match the text, and the target key occurs on exactly one line.
    std::string section;
    int key_lines = 0;
    for (const std::string& l : before) {
      if (!l.empty() && l[0] == '[') section = l.substr(1, l.size() - 2);
      std::size_t eq = l.find(sep);
      if (l.empty() || l[0] == '#' || l[0] == '[' || eq == std::string::npos) continue;
      std::string k = l.substr(0, eq), v = l.substr(eq + sep.size());
      key_lines += k == key;
      EXPECT_EQ(ini ? c["entries"][section][k] : c["entries"][k], v) << l;
      if (k == key && ini) {
        EXPECT_EQ(c["target_section"], section);
      }
    }
    EXPECT_EQ(key_lines, 1);
  }
  EXPECT_THAT(GenError({{"gen", "config_file"}, {"format", "yaml"}}),
              HasSubstr("'format' must be \"ini\" or \"kv\""));
  EXPECT_THAT(GenError({{"gen", "config_file"}, {"sections", 8}, {"keys", 8}}),
              HasSubstr("sections * keys must be <= 30"));
  EXPECT_THAT(GenError({{"gen", "config_file"}, {"format", "kv"}, {"sections", 2}}),
              HasSubstr("'sections' applies to format \"ini\" only"));
}

TEST(DataGeneratorsTest, FilePairDiffersExactlyAtDiffLines) {
  for (std::uint64_t s = 0; s < 60; ++s) {
    json p = Gen({{"gen", "file_pair"}, {"lines", 25}, {"changes", static_cast<int>(s % 6)}}, s);
    auto a = Lines(p["a"]), b = Lines(p["b"]);
    ASSERT_EQ(a.size(), 25u);
    ASSERT_EQ(b.size(), 25u);
    json diff = json::array();
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (a[i] != b[i]) diff.push_back(i + 1);
    }
    EXPECT_EQ(p["diff_lines"], diff);
    EXPECT_EQ(p["changed_count"], s % 6);
    EXPECT_EQ(diff.size(), s % 6);
  }
  EXPECT_THAT(GenError({{"gen", "file_pair"}, {"lines", 3}, {"changes", 4}}),
              HasSubstr("'changes' must be in [0, 3] (the line count), got 4"));
}

TEST(DataGeneratorsTest, RenameSetIsConsistent) {
  std::set<std::string> styles;
  for (std::uint64_t s = 0; s < 80; ++s) {
    json r = Gen({{"gen", "rename_set"}, {"count", 6}, {"extra", 3}, {"dir", "pics"}}, s);
    styles.insert(r["style"].get<std::string>());
    EXPECT_EQ(r["renames"].size(), 6u);
    EXPECT_EQ(r["untouched"].size(), 3u);
    std::regex from_re(r["from_regex"].get<std::string>());
    std::string glob = r["from_glob"];
    json after = json::object();
    for (auto it = r["files"].begin(); it != r["files"].end(); ++it) {
      std::string name = it.key().substr(5);  // strip "pics/"
      bool renamed = r["renames"].contains(it.key());
      EXPECT_EQ(std::regex_match(name, from_re), renamed) << name;
      EXPECT_EQ(fnmatch(glob.c_str(), name.c_str(), 0) == 0, renamed) << name << " vs " << glob;
      after[renamed ? r["renames"][it.key()].get<std::string>() : it.key()] = it.value();
    }
    EXPECT_EQ(after, r["expected_files"]);
    EXPECT_EQ(after.size(), 9u);  // no rename collides with another file
    // The number survives the rename.
    for (auto it = r["renames"].begin(); it != r["renames"].end(); ++it) {
      std::smatch m;
      std::string old_name = it.key().substr(5);
      ASSERT_TRUE(std::regex_match(old_name, m, from_re));
      std::string digits = m[1];
      std::string new_name = it.value();
      EXPECT_NE(new_name.find(std::to_string(std::stoll(digits))), std::string::npos) << new_name;
    }
  }
  EXPECT_GE(styles.size(), 4u);
  json given = Gen({{"gen", "rename_set"},
                    {"count", 3},
                    {"extra", 0},
                    {"from", "IMG_{n:04}.jpeg"},
                    {"to", "photo_{n}.jpg"}});
  for (auto it = given["renames"].begin(); it != given["renames"].end(); ++it) {
    EXPECT_TRUE(std::regex_match(it.key(), std::regex("IMG_[0-9]{4}\\.jpeg"))) << it.key();
    EXPECT_TRUE(
        std::regex_match(it.value().get<std::string>(), std::regex("photo_[1-9][0-9]*\\.jpg")));
  }
  EXPECT_THAT(GenError({{"gen", "rename_set"}, {"from", "IMG.jpeg"}, {"to", "x_{n}"}}),
              HasSubstr("'from' must contain one number field {n} or {n:03} (none found)"));
  EXPECT_THAT(GenError({{"gen", "rename_set"}, {"from", "a{n}"}}),
              HasSubstr("'from' and 'to' must be given together"));
  EXPECT_THAT(GenError({{"gen", "rename_set"}, {"from", "a{n}{n}"}, {"to", "b{n}"}}),
              HasSubstr("more than one field"));
  EXPECT_THAT(GenError({{"gen", "rename_set"}, {"from", "a{m}"}, {"to", "b{n}"}}),
              HasSubstr("unknown field {m}"));
}

TEST(DataGeneratorsTest, ModeSetPolicy) {
  for (std::uint64_t s = 0; s < 30; ++s) {
    json m = Gen({{"gen", "mode_set"}, {"count", 7}}, s);
    EXPECT_EQ(m["files"].size(), 7u);
    std::set<std::string> exts;
    for (auto it = m["expected_modes"].begin(); it != m["expected_modes"].end(); ++it) {
      std::string ext = it.key().substr(it.key().rfind('.') + 1);
      exts.insert(ext);
      EXPECT_EQ(it.value(), ext == "sh" ? "0755" : ext == "key" ? "0600" : "0644");
      bool wrong = m["modes"][it.key()] != it.value();
      EXPECT_EQ(wrong, std::find(m["to_fix"].begin(), m["to_fix"].end(), json(it.key())) !=
                           m["to_fix"].end());
    }
    EXPECT_EQ(exts, (std::set<std::string>{"sh", "key", "txt"}));
    EXPECT_GE(m["to_fix"].size(), 1u);
  }
  EXPECT_THAT(GenError({{"gen", "mode_set"}, {"count", 2}}),
              HasSubstr("'count' must be in [3, 200], got 2"));
}

// ---------------------------------------------------------------------------------------------
// Code generators, checked against Python

struct PyCall {
  bool ok = false;
  json value;
  std::string error;
};

// Runs each {source, calls} item in a fresh namespace of one python3 -I process.
std::vector<std::vector<PyCall>> RunPython(const json& items) {
  static const char* kDriver = R"PY(
import json, sys
items = json.load(open(sys.argv[1]))
out = []
for item in items:
    ns = {}
    exec(item["source"], ns)
    results = []
    for call in item["calls"]:
        try:
            results.append({"ok": True, "value": json.loads(json.dumps(eval(call, ns)))})
        except Exception as e:
            results.append({"ok": False, "error": type(e).__name__ + ": " + str(e)})
    out.append(results)
json.dump(out, open(sys.argv[2], "w"))
)PY";
  std::string dir = ::testing::TempDir() + "gen_py_" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/driver.py") << kDriver;
  std::ofstream(dir + "/in.json") << items.dump();
  std::string cmd = "timeout 300 /usr/bin/python3 -I " + dir + "/driver.py " + dir + "/in.json " +
                    dir + "/out.json";
  int rc = std::system(cmd.c_str());
  EXPECT_EQ(rc, 0) << cmd;
  std::ifstream in(dir + "/out.json");
  json out = json::parse(in, nullptr, false);
  std::filesystem::remove_all(dir);
  std::vector<std::vector<PyCall>> results;
  if (!out.is_array()) {
    ADD_FAILURE() << "python produced no results";
    return results;
  }
  for (const json& item : out) {
    std::vector<PyCall> calls;
    for (const json& r : item) {
      calls.push_back({r["ok"].get<bool>(), r.value("value", json()), r.value("error", "")});
    }
    results.push_back(std::move(calls));
  }
  return results;
}

// Seeds per family for the Python cross-checks; TOOLGYM_GEN_SEEDS raises it for a deeper run.
std::uint64_t PySeeds() {
  const char* env = std::getenv("TOOLGYM_GEN_SEEDS");
  return env != nullptr && std::atoi(env) > 0 ? static_cast<std::uint64_t>(std::atoi(env)) : 50;
}

json AllTests(const json& task) {
  json all = task["public_tests"];
  for (const json& t : task["hidden"]) all.push_back(t);
  return all;
}

TEST(CodeGeneratorsTest, PyFunctionExpectationsMatchPython) {
  for (const std::string family : {"string_transform", "number_theory", "parse_format",
                                   "data_structure", "from_examples", "explore"}) {
    json items = json::array();
    std::vector<json> tasks;
    std::set<std::string> ops;
    for (std::uint64_t s = 0; s < PySeeds(); ++s) {
      json t = Gen({{"gen", "py_function"}, {"family", family}}, s * 7919 + 1);
      ASSERT_EQ(t["family"], family);
      ops.insert(t["op"].get<std::string>());
      json tests = AllTests(t);
      EXPECT_EQ(t["examples"].size(), family == "from_examples" ? 5u : 3u);
      EXPECT_GE(t["hidden"].size(), 8u);
      EXPECT_LE(t["hidden"].size(), 10u);
      std::set<std::string> calls;
      json call_list = json::array();
      for (const json& test : tests) {
        calls.insert(test["call"].get<std::string>());
        call_list.push_back(test["call"]);
        EXPECT_EQ(test["call"].get<std::string>().rfind(t["name"].get<std::string>() + "(", 0), 0u);
      }
      EXPECT_EQ(calls.size(), tests.size()) << "calls must be distinct";
      EXPECT_THAT(t["reference"].get<std::string>(),
                  HasSubstr("def " + t["name"].get<std::string>() + "("));
      EXPECT_FALSE(t["description"].get<std::string>().empty());
      items.push_back({{"source", t["reference"]}, {"calls", call_list}});
      if (family == "explore") {
        // The scrambled module computes the same values under the name mystery.
        json mystery_calls = json::array();
        for (const json& c : call_list)
          mystery_calls.push_back("mystery" + c.get<std::string>().substr(5));
        if (!t["query"].is_null()) {
          std::string target = t["query"]["target"].dump();
          mystery_calls.push_back("min(x for x in range(0, 1001) if mystery(x) == " + target + ")");
          mystery_calls.push_back("sum(1 for x in range(0, 1001) if mystery(x) == " + target + ")");
        }
        EXPECT_EQ(t["module_source"].get<std::string>().find("def mystery"), std::string::npos)
            << "the module source must be scrambled";
        items.push_back({{"source", t["module_source"]}, {"calls", mystery_calls}});
      }
      tasks.push_back(t);
    }
    EXPECT_GE(ops.size(), 5u) << family << " should vary its operation";
    auto results = RunPython(items);
    ASSERT_EQ(results.size(), items.size());
    std::size_t idx = 0;
    for (const json& t : tasks) {
      json tests = AllTests(t);
      const auto& ref = results[idx++];
      for (std::size_t i = 0; i < tests.size(); ++i) {
        ASSERT_TRUE(ref[i].ok) << tests[i]["call"] << ": " << ref[i].error;
        EXPECT_EQ(ref[i].value.dump(), tests[i]["expect"].dump())
            << t["op"] << " " << tests[i]["call"] << "\n"
            << t["reference"].get<std::string>();
      }
      if (family == "explore") {
        const auto& mod = results[idx++];
        for (std::size_t i = 0; i < tests.size(); ++i) {
          ASSERT_TRUE(mod[i].ok) << mod[i].error;
          EXPECT_EQ(mod[i].value.dump(), tests[i]["expect"].dump()) << t["op"];
        }
        if (!t["query"].is_null()) {
          EXPECT_EQ(mod[tests.size()].value, t["query"]["answer"]) << t["op"];
          EXPECT_EQ(mod[tests.size() + 1].value, t["query"]["matches"]) << t["op"];
        }
      }
    }
  }
}

TEST(CodeGeneratorsTest, PyBuggyFailsExactlyTheAdvertisedPublicTests) {
  for (const std::string family :
       {"string_transform", "number_theory", "parse_format", "data_structure"}) {
    json items = json::array();
    std::vector<json> tasks;
    std::set<std::string> ops;
    for (std::uint64_t s = 0; s < PySeeds(); ++s) {
      json t = Gen({{"gen", "py_buggy"}, {"family", family}}, s * 104729 + 3);
      ops.insert(t["op"].get<std::string>());
      EXPECT_NE(t["buggy_source"], t["reference"]);
      EXPECT_EQ(t["public_tests"].size(), 4u);
      EXPECT_GE(t["failing_public"].size(), 1u);
      json calls = json::array();
      for (const json& test : AllTests(t)) calls.push_back(test["call"]);
      items.push_back({{"source", t["reference"]}, {"calls", calls}});
      items.push_back({{"source", t["buggy_source"]}, {"calls", calls}});
      tasks.push_back(t);
    }
    EXPECT_GE(ops.size(), 5u) << family;
    auto results = RunPython(items);
    ASSERT_EQ(results.size(), items.size());
    for (std::size_t k = 0; k < tasks.size(); ++k) {
      const json& t = tasks[k];
      json tests = AllTests(t);
      const auto& ref = results[2 * k];
      const auto& bug = results[2 * k + 1];
      std::set<std::string> failing;
      bool hidden_fails = false;
      for (std::size_t i = 0; i < tests.size(); ++i) {
        ASSERT_TRUE(ref[i].ok) << ref[i].error;
        EXPECT_EQ(ref[i].value.dump(), tests[i]["expect"].dump())
            << t["op"] << " " << tests[i]["call"];
        bool fails = !bug[i].ok || bug[i].value.dump() != tests[i]["expect"].dump();
        if (i < t["public_tests"].size() && fails)
          failing.insert(tests[i]["name"].get<std::string>());
        if (i >= t["public_tests"].size() && fails) hidden_fails = true;
      }
      std::set<std::string> advertised;
      for (const json& n : t["failing_public"]) advertised.insert(n.get<std::string>());
      EXPECT_EQ(failing, advertised) << t["op"] << " " << t["bug_kind"] << "\n"
                                     << t["buggy_source"].get<std::string>();
      EXPECT_FALSE(failing.empty());
      EXPECT_TRUE(hidden_fails) << t["op"];
    }
  }
}

TEST(CodeGeneratorsTest, EveryPlantedBugApplies) {
  const std::vector<std::string> ops = {"reverse_words",
                                        "caesar_shift",
                                        "run_length_encode",
                                        "count_vowels",
                                        "snake_to_camel",
                                        "dedupe_chars",
                                        "is_palindrome",
                                        "gcd_list",
                                        "count_primes",
                                        "digit_power_sum",
                                        "fib_mod",
                                        "collatz_steps",
                                        "sum_proper_divisors",
                                        "to_base",
                                        "lcm_upto",
                                        "kv_sum",
                                        "kv_lookup",
                                        "duration_seconds",
                                        "roman_to_int",
                                        "compare_versions",
                                        "hex_to_rgb",
                                        "add_minutes",
                                        "stack_machine",
                                        "merge_intervals",
                                        "top_k_frequent",
                                        "count_anagram_groups",
                                        "rotate_matrix",
                                        "flatten",
                                        "pair_sum_count",
                                        "running_max"};
  std::set<std::string> kinds;
  for (const std::string& op : ops) {
    std::set<std::string> buggy_sources;
    for (std::uint64_t s = 0; s < 12; ++s) {
      json t = Gen({{"gen", "py_buggy"}, {"op", op}}, s);
      ASSERT_EQ(t["op"], op);
      kinds.insert(t["bug_kind"].get<std::string>());
      buggy_sources.insert(t["bug_description"].get<std::string>());
    }
  }
  EXPECT_GE(kinds.size(), 6u);
  EXPECT_EQ(Gen({{"gen", "py_buggy"}, {"kind", "swapped_operands"}}, 5)["bug_kind"],
            "swapped_operands");
}

// Runs `command` in `dir`; returns the exit status and stdout.
std::pair<int, std::string> RunIn(const std::string& dir, const std::string& command) {
  std::string cmd = "cd " + dir + " && timeout 60 " + command + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return {-1, ""};
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST(CodeGeneratorsTest, TestFilesRunAgainstReferenceAndBug) {
  for (std::uint64_t s = 0; s < 6; ++s) {
    json t = Gen({{"gen", "py_buggy"}}, s);
    std::string dir = ::testing::TempDir() + "gen_unittest_" + std::to_string(getpid());
    std::filesystem::create_directories(dir);
    std::ofstream(dir + "/test_unittest.py") << t["test_source"].get<std::string>();
    std::ofstream(dir + "/test_script.py") << t["test_script"].get<std::string>();
    auto with = [&](const std::string& source, const std::string& test) {
      std::ofstream(dir + "/solution.py") << source;
      return RunIn(dir, "/usr/bin/python3 -B " + test);
    };
    EXPECT_EQ(with(t["reference"], "test_unittest.py").first, 0)
        << t["test_source"].get<std::string>();
    EXPECT_NE(with(t["buggy_source"], "test_unittest.py").first, 0)
        << t["buggy_source"].get<std::string>();
    auto [ref_rc, ref_out] = with(t["reference"], "test_script.py");
    EXPECT_EQ(ref_rc, 0) << ref_out;
    EXPECT_THAT(ref_out, HasSubstr("4 of 4 passed"));
    EXPECT_EQ(Count(ref_out, "PASS example_"), 4u);
    auto [bug_rc, bug_out] = with(t["buggy_source"], "test_script.py");
    EXPECT_EQ(bug_rc, 1) << bug_out;
    for (const json& name : t["failing_public"]) {
      EXPECT_THAT(bug_out, HasSubstr("FAIL " + name.get<std::string>() + ": expected ")) << bug_out;
    }
    EXPECT_EQ(Count(bug_out, "FAIL "), t["failing_public"].size());
    EXPECT_EQ(with(t["buggy_source"], "test_script.py").second, bug_out)
        << "output must be reproducible";
    std::filesystem::remove_all(dir);
  }
}

TEST(CodeGeneratorsTest, ExamplesTextAndSpecs) {
  json t = Gen({{"gen", "py_function"}, {"op", "caesar_shift"}, {"examples", 2}, {"hidden", 4}}, 9);
  EXPECT_EQ(t["family"], "string_transform");
  EXPECT_EQ(t["examples"].size(), 2u);
  EXPECT_EQ(t["hidden"].size(), 4u);
  EXPECT_EQ(t["public_tests"][0]["name"], "example_1");
  EXPECT_EQ(t["hidden"][0]["name"].get<std::string>().rfind("hidden_", 0), 0u);
  EXPECT_EQ(Lines(t["examples_text"]).size(), 2u);
  EXPECT_THAT(t["examples_text"].get<std::string>(),
              HasSubstr(t["examples"][0]["call"].get<std::string>() + " == "));
  EXPECT_THAT(t["test_source"].get<std::string>(), HasSubstr("from solution import caesar_shift"));
}

TEST(CodeGeneratorsTest, ArgumentErrors) {
  EXPECT_THAT(GenError({{"gen", "py_function"}, {"family", "poetry"}}),
              HasSubstr("'family' must be one of string_transform, number_theory"));
  EXPECT_THAT(
      GenError({{"gen", "py_function"}, {"family", "number_theory"}, {"op", "caesar_shift"}}),
      HasSubstr("'op' must be one of gcd_list, count_primes"));
  EXPECT_THAT(GenError({{"gen", "py_function"}, {"hidden", 0}}),
              HasSubstr("'hidden' must be in [1, 50], got 0"));
  EXPECT_THAT(GenError({{"gen", "py_buggy"}, {"family", "explore"}}),
              HasSubstr("'family' must be one of"));
  EXPECT_THAT(GenError({{"gen", "py_buggy"}, {"kind", "typo"}}),
              HasSubstr("'kind' must be one of off_by_one"));
  EXPECT_THAT(GenError({{"gen", "py_buggy"}, {"op", "to_base"}, {"kind", "off_by_one"}}),
              HasSubstr("has a bug of kind \"off_by_one\""));
  EXPECT_THAT(GenError({{"gen", "py_explore"}, {"op", "reverse_words"}}),
              HasSubstr("'op' must be one of affine_mod"));
}

}  // namespace
}  // namespace toolgym::scenarios
