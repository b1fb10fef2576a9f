// Synthetic worlds and their questions (world.h). Everything is drawn from one splitmix64
// stream per world (and one per question), in a fixed order, so that a seed always gives the
// same world on every platform.
#include "search/world.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <iterator>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace toolgym::search {
namespace {

// splitmix64 (Steele, Lea, Flood 2014): a fixed algorithm, unlike the std distributions.
class Rand {
 public:
  explicit Rand(std::uint64_t seed) : state_(seed) {}
  std::uint64_t Next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n), n >= 1, by rejection sampling.
  std::uint64_t Below(std::uint64_t n) {
    const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    std::uint64_t x;
    do x = Next();
    while (x >= limit);
    return x % n;
  }
  // Uniform in [lo, hi].
  std::int64_t Range(std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(Below(static_cast<std::uint64_t>(hi - lo) + 1));
  }
  bool Chance(double p) { return static_cast<double>(Next() >> 11) * 0x1.0p-53 < p; }
  template <typename C>
  const auto& Pick(const C& c) {
    return c[Below(std::size(c))];
  }

 private:
  std::uint64_t state_;
};

// Name parts. Only ASCII letters, so names are safe inside regular expressions.
constexpr std::string_view kOnsets[] = {"b",  "c",  "d",  "f",  "g",  "h",  "j",  "k", "l",  "m",
                                        "n",  "p",  "r",  "s",  "t",  "v",  "w",  "z", "br", "dr",
                                        "gr", "tr", "bl", "cl", "fl", "st", "sh", "th"};
constexpr std::string_view kNuclei[] = {"a", "e", "i", "o", "u", "a", "e", "o", "ai", "ea"};
constexpr std::string_view kCodas[] = {"",  "",  "",   "",   "n", "r", "l",
                                       "s", "m", "nd", "rd", "x", "k", "th"};
constexpr std::string_view kGivenEndings[] = {"a", "o", "en", "is", "ia", "el", "an", "e", "", ""};
constexpr std::string_view kSurnameEndings[] = {"",     "",    "",   "son", "ley", "wood",
                                                "ford", "ton", "er", "ell", "man", "ard"};
constexpr std::string_view kOrgSuffixes[] = {"Industries", "Labs",      "Works",       "Group",
                                             "Systems",    "Holdings",  "Corporation", "Foundry",
                                             "Dynamics",   "Partners",  "Collective",  "Institute",
                                             "Trading",    "Logistics", "Media"};
constexpr std::string_view kPlaceSuffixes[] = {"ville", "ton",   "burg", "ford",  "haven",
                                               "port",  "field", "wick", "mouth", "dale",
                                               "stead", "bury",  "holm", "gate"};
constexpr std::string_view kCountrySuffixes[] = {"ia", "land", "ora", "avia", "ovia", "mark"};
constexpr std::string_view kOccupations[] = {
    "chemist",      "architect", "painter", "engineer",   "historian", "journalist", "botanist",
    "economist",    "sculptor",  "pilot",   "composer",   "surgeon",   "geologist",  "novelist",
    "photographer", "teacher",   "lawyer",  "astronomer", "chef",      "designer"};
constexpr std::string_view kIndustries[] = {
    "software",        "shipbuilding",     "textiles",  "biotechnology",
    "logistics",       "publishing",       "mining",    "aerospace",
    "food processing", "renewable energy", "furniture", "telecommunications",
    "pharmaceuticals", "robotics",         "tourism"};
struct ProductKind {
  std::string_view model;
  std::string_view category;
};
constexpr ProductKind kProductKinds[] = {{"Blender", "kitchen appliance"},
                                         {"Kettle", "kitchen appliance"},
                                         {"Mixer", "kitchen appliance"},
                                         {"Lamp", "lighting"},
                                         {"Lantern", "lighting"},
                                         {"Drone", "electronics"},
                                         {"Headset", "electronics"},
                                         {"Camera", "electronics"},
                                         {"Bicycle", "sporting goods"},
                                         {"Kayak", "sporting goods"},
                                         {"Tent", "outdoor gear"},
                                         {"Backpack", "outdoor gear"},
                                         {"Watch", "accessories"},
                                         {"Chair", "furniture"},
                                         {"Desk", "furniture"},
                                         {"Scooter", "vehicles"},
                                         {"Speaker", "audio"},
                                         {"Turntable", "audio"},
                                         {"Router", "networking"},
                                         {"Printer", "office equipment"}};
constexpr std::string_view kEventSubjects[] = {"Film",   "Jazz", "Book",   "Science",
                                               "Chess",  "Food", "Design", "Robotics",
                                               "Poetry", "Folk", "Wine",   "Theatre"};
constexpr std::string_view kEventTypes[] = {"Festival", "Fair", "Summit",       "Expo",
                                            "Week",     "Gala", "Championship", "Conference"};
constexpr std::string_view kAdjectives[] = {"careful", "bold",      "quiet",    "generous",
                                            "patient", "inventive", "rigorous", "restless",
                                            "modest",  "ambitious", "playful",  "meticulous"};
constexpr std::string_view kNouns[] = {"bridges",  "harbors", "gardens", "archives", "engines",
                                       "textiles", "maps",    "lenses",  "orchards", "clocks",
                                       "ceramics", "rivers",  "markets", "canals",   "lighthouses"};

// Field labels (world.h lists them by type). The order of the arrays is the infobox order.
constexpr char kBirthYear[] = "Birth year";
constexpr char kBirthplace[] = "Birthplace";
constexpr char kEmployer[] = "Employer";
constexpr char kOccupation[] = "Occupation";
constexpr char kFoundingYear[] = "Founding year";
constexpr char kFounder[] = "Founder";
constexpr char kHeadquarters[] = "Headquarters";
constexpr char kIndustry[] = "Industry";
constexpr char kEmployeeCount[] = "Employee count";
constexpr char kPopulation[] = "Population";
constexpr char kCountry[] = "Country";
constexpr char kMayor[] = "Mayor";
constexpr char kManufacturer[] = "Manufacturer";
constexpr char kPrice[] = "Price";
constexpr char kReleaseYear[] = "Release year";
constexpr char kCategory[] = "Category";
constexpr char kYear[] = "Year";
constexpr char kHostCity[] = "Host city";
constexpr char kOrganizer[] = "Organizer";
constexpr char kAttendance[] = "Attendance";

// Literal facts that may be withheld (Category is not: a product's name gives it away).
bool Withholdable(std::string_view label) { return label != kCategory && label != kCountry; }

// The literal labels of a type, in infobox order.
std::vector<std::string_view> LiteralLabels(EntityType t) {
  switch (t) {
    case EntityType::kPerson:
      return {kBirthYear, kOccupation};
    case EntityType::kOrganization:
      return {kFoundingYear, kIndustry, kEmployeeCount};
    case EntityType::kPlace:
      return {kPopulation, kCountry};
    case EntityType::kProduct:
      return {kPrice, kReleaseYear, kCategory};
    case EntityType::kEvent:
      return {kYear, kAttendance};
  }
  return {};
}

std::string Capitalize(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

bool IsVowel(char c) {
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// "a" or "an" for a word of the lists above (none starts with a silent or a "you" sound).
std::string Article(std::string_view word) {
  return !word.empty() && IsVowel(word[0]) ? "an" : "a";
}

std::string JoinNames(const std::vector<std::string>& names, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += sep;
    out += names[i];
  }
  return out;
}

std::string WithCommas(std::int64_t v) {
  std::string digits = std::to_string(v < 0 ? -v : v);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return v < 0 ? "-" + out : out;
}

// A pronounceable made-up word of 3 to `max_len` letters, lower case: one or two syllables.
std::string Syllables(Rand& r, std::size_t max_len = 7) {
  for (;;) {
    const int n = r.Chance(0.65) ? 2 : 1;
    std::string s;
    for (int i = 0; i < n; ++i) {
      if (i > 0 || !r.Chance(0.15)) s += r.Pick(kOnsets);
      s += r.Pick(kNuclei);
      if (i == n - 1 || r.Chance(0.2)) s += r.Pick(kCodas);
    }
    if (s.size() >= 3 && s.size() <= max_len) return s;
  }
}

// `word` with one small change that keeps it pronounceable ("Varno" -> "Varnow", "Verno",
// "Varmo"): what a distractor's name is made of.
std::string Misspell(const std::string& word, Rand& r) {
  static constexpr std::pair<char, char> kSimilar[] = {{'m', 'n'}, {'t', 'd'}, {'b', 'p'},
                                                       {'k', 'c'}, {'s', 'z'}, {'v', 'w'},
                                                       {'r', 'l'}, {'g', 'k'}, {'f', 'v'}};
  static constexpr char kVowels[] = {'a', 'e', 'i', 'o', 'u'};
  for (int attempt = 0; attempt < 32; ++attempt) {
    std::string w = word;
    const std::size_t limit = std::min<std::size_t>(w.size(), 6);
    switch (r.Below(4)) {
      case 0: {  // another vowel
        std::vector<std::size_t> pos;
        for (std::size_t i = 1; i < limit; ++i)
          if (IsVowel(w[i])) pos.push_back(i);
        if (pos.empty()) continue;
        const std::size_t i = r.Pick(pos);
        w[i] = r.Pick(kVowels);
        break;
      }
      case 1: {  // a similar consonant
        std::vector<std::size_t> pos;
        for (std::size_t i = 1; i < limit; ++i)
          for (const auto& [a, b] : kSimilar)
            if (w[i] == a || w[i] == b) pos.push_back(i);
        if (pos.empty()) continue;
        const std::size_t i = r.Pick(pos);
        for (const auto& [a, b] : kSimilar) {
          if (w[i] == a) {
            w[i] = b;
            break;
          }
          if (w[i] == b) {
            w[i] = a;
            break;
          }
        }
        break;
      }
      case 2:  // a letter more at the end
        w += IsVowel(w.back()) ? (r.Chance(0.5) ? 'n' : 'w') : (r.Chance(0.5) ? 'e' : 'a');
        break;
      default:  // a letter less at the end
        if (w.size() <= 4) continue;
        w.pop_back();
        break;
    }
    if (w != word) return w;
  }
  return word + "e";
}

// Words of three or more letters on Snowball's English stopword list (Xapian's, which the
// index drops from queries) that the syllable generator can produce.
bool HasStopword(std::string_view name) {
  static const std::unordered_set<std::string> kStop = {
      "all",   "and",   "any",   "are",   "but",   "can",   "did",   "few",   "for",   "had",
      "has",   "her",   "him",   "his",   "how",   "its",   "nor",   "not",   "off",   "our",
      "out",   "own",   "she",   "the",   "too",   "was",   "who",   "why",   "you",   "been",
      "both",  "does",  "down",  "each",  "from",  "have",  "here",  "hers",  "into",  "more",
      "most",  "once",  "only",  "over",  "same",  "some",  "such",  "than",  "that",  "them",
      "then",  "they",  "this",  "very",  "were",  "what",  "when",  "whom",  "with",  "your",
      "ours",  "there", "these", "those", "where", "which", "while", "their", "under", "until",
      "about", "above", "after", "again", "below"};
  std::size_t start = 0;
  while (start < name.size()) {
    std::size_t end = name.find(' ', start);
    if (end == std::string_view::npos) end = name.size();
    std::string word(name.substr(start, end - start));
    for (char& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (kStop.count(word)) return true;
    start = end + 1;
  }
  return false;
}

struct TypeCounts {
  int person, organization, place, product, event;
};

TypeCounts SplitByType(int n) {
  TypeCounts c;
  c.person = std::max(2, n * 35 / 100);
  c.organization = std::max(2, n * 20 / 100);
  c.place = std::max(2, n * 20 / 100);
  c.product = std::max(2, n * 15 / 100);
  c.event = n - c.person - c.organization - c.place - c.product;
  if (c.event < 2) {  // only for the smallest worlds
    c.person -= 2 - c.event;
    c.event = 2;
  }
  return c;
}

// Builds a world in a fixed order of draws: names by type, then facts, then distractors, ids,
// and documents.
class WorldBuilder {
 public:
  WorldBuilder(std::uint64_t seed, const WorldOptions& options) : r_(seed) {
    w_.seed = seed;
    w_.options = options;
  }

  World Build() {
    const int n = w_.options.entities;
    const TypeCounts c = SplitByType(n);
    w_.entities.reserve(static_cast<std::size_t>(n + w_.options.distractors));
    names_.reserve(static_cast<std::size_t>(2 * (n + w_.options.distractors)));
    const int countries = std::clamp(n / 12, 3, 40);
    for (int i = 0; i < countries; ++i)
      countries_.push_back(UniqueName(
          [&] { return Capitalize(Syllables(r_)) + std::string(r_.Pick(kCountrySuffixes)); }));
    // First names repeat across people (as they do in real corpora); surnames mostly do not.
    for (int i = 0; i < std::clamp(n / 4, 24, 4000); ++i)
      given_.push_back(Capitalize(Syllables(r_, 5)) + std::string(r_.Pick(kGivenEndings)));

    AddEntities(EntityType::kPlace, c.place);
    AddEntities(EntityType::kPerson, c.person);
    AddEntities(EntityType::kOrganization, c.organization);
    AddEntities(EntityType::kProduct, c.product);
    AddEntities(EntityType::kEvent, c.event);
    for (int i = 0; i < n; ++i) AssignFacts(i, /*distractor=*/false);
    for (int i = 0; i < w_.options.distractors; ++i) AddDistractor();
    AssignIds();
    CollectMentions();
    w_.documents.reserve(w_.entities.size());
    for (std::size_t i = 0; i < w_.entities.size(); ++i)
      w_.documents.push_back({w_.entities[i].id, w_.entities[i].name, Text(static_cast<int>(i))});
    return std::move(w_);
  }

 private:
  // A name no other entity has, none of whose words is an English stopword (a query drops
  // those, so "For Corporation" could not be searched for by its first word).
  template <typename F>
  std::string UniqueName(F make) {
    for (;;) {
      std::string s = make();
      if (!HasStopword(s) && names_.insert(s).second) return s;
    }
  }

  const std::vector<int>& OfType(EntityType t) { return by_type_[static_cast<int>(t)]; }
  int RandomOf(EntityType t) { return r_.Pick(OfType(t)); }

  void AddEntities(EntityType type, int count) {
    for (int i = 0; i < count; ++i) {
      Entity e;
      e.type = type;
      int host = -1;
      switch (type) {
        case EntityType::kPerson:
          e.name = UniqueName([&] {
            return r_.Pick(given_) + " " + Capitalize(Syllables(r_, 6)) +
                   std::string(r_.Pick(kSurnameEndings));
          });
          break;
        case EntityType::kOrganization:
          e.name = UniqueName(
              [&] { return Capitalize(Syllables(r_)) + " " + std::string(r_.Pick(kOrgSuffixes)); });
          break;
        case EntityType::kPlace:
          e.name = UniqueName(
              [&] { return Capitalize(Syllables(r_, 5)) + std::string(r_.Pick(kPlaceSuffixes)); });
          break;
        case EntityType::kProduct:
          e.name = UniqueName([&] {
            std::string s =
                Capitalize(Syllables(r_)) + " " + std::string(r_.Pick(kProductKinds).model);
            if (r_.Chance(0.3)) s += " " + std::to_string(100 * r_.Range(1, 9));
            return s;
          });
          break;
        case EntityType::kEvent:
          // Named after its host city half of the time, as festivals often are.
          host = RandomOf(EntityType::kPlace);
          e.name = UniqueName([&] {
            const std::string first =
                r_.Chance(0.5) ? w_.entities[host].name : Capitalize(Syllables(r_));
            return first + " " + std::string(r_.Pick(kEventSubjects)) + " " +
                   std::string(r_.Pick(kEventTypes));
          });
          break;
      }
      by_type_[static_cast<int>(type)].push_back(static_cast<int>(w_.entities.size()));
      if (host >= 0) event_host_[static_cast<int>(w_.entities.size())] = host;
      w_.entities.push_back(std::move(e));
    }
  }

  // Facts of entity i; literal facts of real entities may be withheld.
  void AssignFacts(int i, bool distractor) {
    Entity& e = w_.entities[static_cast<std::size_t>(i)];
    auto literal = [&](std::string_view label, std::string value) {
      if (!distractor && Withholdable(label) && r_.Chance(w_.options.withheld_rate)) {
        e.withheld.emplace_back(label);
        return;
      }
      e.fields.push_back({std::string(label), std::move(value), -1});
    };
    auto relation = [&](std::string_view label, int ref) {
      e.fields.push_back(
          {std::string(label), w_.entities[static_cast<std::size_t>(ref)].name, ref});
    };
    switch (e.type) {
      case EntityType::kPerson:
        literal(kBirthYear, std::to_string(r_.Range(1930, 2000)));
        relation(kBirthplace, RandomOf(EntityType::kPlace));
        relation(kEmployer, RandomOf(EntityType::kOrganization));
        literal(kOccupation, std::string(r_.Pick(kOccupations)));
        break;
      case EntityType::kOrganization:
        literal(kFoundingYear, std::to_string(r_.Range(1850, 2015)));
        relation(kFounder, RandomOf(EntityType::kPerson));
        relation(kHeadquarters, RandomOf(EntityType::kPlace));
        literal(kIndustry, std::string(r_.Pick(kIndustries)));
        literal(kEmployeeCount, std::to_string(r_.Range(12, 48000)));
        break;
      case EntityType::kPlace:
        literal(kPopulation, std::to_string(r_.Range(800, 2400000)));
        literal(kCountry, r_.Pick(countries_));
        relation(kMayor, RandomOf(EntityType::kPerson));
        break;
      case EntityType::kProduct: {
        relation(kManufacturer, RandomOf(EntityType::kOrganization));
        literal(kPrice, "$" + std::to_string(r_.Range(5, 2400)));
        literal(kReleaseYear, std::to_string(r_.Range(1990, 2023)));
        std::string_view category = kProductKinds[0].category;
        for (const ProductKind& k : kProductKinds)
          if (e.name.find(std::string(" ") + std::string(k.model)) != std::string::npos)
            category = k.category;
        literal(kCategory, std::string(category));
        break;
      }
      case EntityType::kEvent: {
        literal(kYear, std::to_string(r_.Range(1950, 2023)));
        auto it = event_host_.find(i);
        relation(kHostCity, it != event_host_.end() ? it->second : RandomOf(EntityType::kPlace));
        relation(kOrganizer, RandomOf(EntityType::kOrganization));
        literal(kAttendance, std::to_string(r_.Range(200, 90000)));
        break;
      }
    }
  }

  // A distractor imitates a random real entity's name (one word misspelled) and has facts of
  // its own.
  // A distractor imitates a random real entity's name (one word misspelled) and has facts of
  // its own. A name has only a few one-letter variants, so when they are taken another base is
  // drawn, and after that the word is misspelled twice: the loop always ends.
  void AddDistractor() {
    Entity e;
    int base = 0;
    for (int attempt = 0;; ++attempt) {
      if (attempt % 8 == 0)
        base = static_cast<int>(r_.Below(static_cast<std::uint64_t>(w_.options.entities)));
      const Entity& b = w_.entities[static_cast<std::size_t>(base)];
      std::string name = SimilarName(b.name, b.type, r_, 1 + attempt / 32);
      if (!HasStopword(name) && names_.insert(name).second) {
        e.name = std::move(name);
        e.type = b.type;
        e.similar_to = base;
        break;
      }
    }
    const int i = static_cast<int>(w_.entities.size());
    w_.entities.push_back(std::move(e));
    AssignFacts(i, /*distractor=*/true);
  }

 public:
  // The name of a person or place is misspelled in its last or only word; other names in their
  // first word (the brand, the organization's stem, the event's first word).
  static std::string SimilarName(const std::string& name, EntityType type, Rand& r, int edits = 1) {
    auto misspell = [&](std::string w) {
      for (int i = 0; i < edits; ++i) w = Misspell(w, r);
      return w;
    };
    const std::size_t space = name.find(' ');
    if (space == std::string::npos) return misspell(name);
    if (type == EntityType::kPerson && r.Chance(0.75))
      return name.substr(0, space + 1) + misspell(name.substr(space + 1));
    return misspell(name.substr(0, space)) + name.substr(space);
  }

 private:
  void AssignIds() {
    std::unordered_set<std::string> used;
    used.reserve(w_.entities.size() * 2);
    for (Entity& e : w_.entities) {
      static constexpr char kLetters[] = {'p', 'o', 'l', 'r', 'e'};  // by EntityType
      const char letter = kLetters[static_cast<int>(e.type)];
      for (;;) {
        std::string id = fmt::format("{}{:07x}", letter, r_.Next() & 0xFFFFFFF);
        if (used.insert(id).second) {
          e.id = std::move(id);
          break;
        }
      }
    }
  }

  // Who else a real entity's document names: the organizations a person founded, the place a
  // person is mayor of, an organization's products and events, a place's organizations and
  // events (at most three each; only between real entities).
  void CollectMentions() {
    mentions_.assign(w_.entities.size(), {});
    for (int i = 0; i < w_.options.entities; ++i) {
      for (const Field& f : w_.entities[static_cast<std::size_t>(i)].fields) {
        if (f.ref < 0) continue;
        const bool wanted = f.label == kFounder || f.label == kMayor || f.label == kManufacturer ||
                            f.label == kOrganizer || f.label == kHostCity ||
                            f.label == kHeadquarters;
        auto& list = mentions_[static_cast<std::size_t>(f.ref)];
        if (wanted && list.size() < 3) list.push_back({f.label, i});
      }
    }
  }

  std::string TwoAdjectives() {
    const std::size_t a = r_.Below(std::size(kAdjectives));
    const std::size_t b = (a + 1 + r_.Below(std::size(kAdjectives) - 1)) % std::size(kAdjectives);
    return fmt::format("{} and {}", kAdjectives[a], kAdjectives[b]);
  }

  const std::string& NameOf(int i) const { return w_.entities[static_cast<std::size_t>(i)].name; }

  std::string Text(int i) {
    const Entity& e = w_.entities[static_cast<std::size_t>(i)];
    auto value = [&](std::string_view label) -> const std::string* {
      const Field* f = e.Find(label);
      return f == nullptr ? nullptr : &f->value;
    };
    std::string lead, more;
    auto add = [](std::string& to, const std::string& sentence) {
      if (!to.empty()) to += ' ';
      to += sentence;
    };
    const std::string& n = e.name;
    const auto v = [&](int k) { return static_cast<int>(r_.Below(static_cast<std::uint64_t>(k))); };
    switch (e.type) {
      case EntityType::kPerson: {
        const std::string surname = n.substr(n.rfind(' ') + 1);
        const std::string* occ = value(kOccupation);
        const std::string& place = *value(kBirthplace);
        const std::string who = occ ? Article(*occ) + " " + *occ : "a resident";
        switch (v(3)) {
          case 0:
            add(lead, fmt::format("{} is {} from {}.", n, who, place));
            break;
          case 1:
            add(lead, fmt::format("{} is {} who was born in {}.", n, who, place));
            break;
          default:
            add(lead, fmt::format("Born in {}, {} is {}.", place, n, who));
        }
        if (const std::string* y = value(kBirthYear)) {
          switch (v(3)) {
            case 0:
              add(lead, fmt::format("{} was born in {}.", n, *y));
              break;
            case 1:
              add(lead, fmt::format("Records give {} as the year of {}'s birth.", *y, surname));
              break;
            default:
              add(lead, fmt::format("{}'s birth year is {}.", n, *y));
          }
        }
        const std::string& employer = *value(kEmployer);
        switch (v(3)) {
          case 0:
            add(lead, fmt::format("{} works for {}.", n, employer));
            break;
          case 1:
            add(lead, fmt::format("{} is employed by {}.", n, employer));
            break;
          default:
            add(lead, fmt::format("Since {}, {} has worked at {}.", r_.Range(1975, 2020), surname,
                                  employer));
        }
        for (const auto& [label, other] : mentions_[static_cast<std::size_t>(i)]) {
          if (label == kFounder) add(more, fmt::format("{} founded {}.", surname, NameOf(other)));
          if (label == kMayor)
            add(more, fmt::format("{} is the mayor of {}.", surname, NameOf(other)));
        }
        add(more, fmt::format("Colleagues describe {} as {}.", n, TwoAdjectives()));
        add(more,
            fmt::format("In {}, {} received the {} Prize for work on {}.", r_.Range(1970, 2023),
                        surname, Capitalize(Syllables(r_)), r_.Pick(kNouns)));
        break;
      }
      case EntityType::kOrganization: {
        const std::string* industry = value(kIndustry);
        const std::string& hq = *value(kHeadquarters);
        const std::string kind =
            industry ? Article(*industry) + " " + *industry + " company" : "a company";
        switch (v(3)) {
          case 0:
            add(lead, fmt::format("{} is {} headquartered in {}.", n, kind, hq));
            break;
          case 1:
            add(lead, fmt::format("{} is {} based in {}.", n, kind, hq));
            break;
          default:
            add(lead, fmt::format("Based in {}, {} is {}.", hq, n, kind));
        }
        const std::string& founder = *value(kFounder);
        if (const std::string* y = value(kFoundingYear)) {
          switch (v(3)) {
            case 0:
              add(lead, fmt::format("{} was founded in {} by {}.", n, *y, founder));
              break;
            case 1:
              add(lead, fmt::format("{} founded {} in {}.", founder, n, *y));
              break;
            default:
              add(lead, fmt::format("{} traces its origins to {}, when {} established it.", n, *y,
                                    founder));
          }
        } else {
          add(lead, fmt::format("{} was founded by {}.", n, founder));
        }
        if (const std::string* staff = value(kEmployeeCount)) {
          const std::string count = WithCommas(std::stoll(*staff));
          switch (v(3)) {
            case 0:
              add(lead, fmt::format("{} employs {} people.", n, count));
              break;
            case 1:
              add(lead, fmt::format("{} has a staff of {}.", n, count));
              break;
            default:
              add(lead, fmt::format("{} reports {} employees.", n, count));
          }
        }
        std::vector<std::string> products, events;
        for (const auto& [label, other] : mentions_[static_cast<std::size_t>(i)]) {
          if (label == kManufacturer) products.push_back(NameOf(other));
          if (label == kOrganizer) events.push_back(NameOf(other));
        }
        if (!products.empty())
          add(more, fmt::format("Its products include the {}.", JoinNames(products, ", the ")));
        for (const std::string& ev : events) add(more, fmt::format("It organized the {}.", ev));
        add(more, fmt::format("In {}, it opened a second office in {}.", r_.Range(1950, 2023),
                              NameOf(RandomOf(EntityType::kPlace))));
        add(more, fmt::format("Its best-known project is the {} {} initiative.",
                              Capitalize(Syllables(r_)), r_.Pick(kNouns)));
        break;
      }
      case EntityType::kPlace: {
        const std::string* country = value(kCountry);
        const std::string kind = r_.Chance(0.5) ? "city" : "town";
        add(lead, country ? fmt::format("{} is a {} in {}.", n, kind, *country)
                          : fmt::format("{} is a {}.", n, kind));
        if (const std::string* pop = value(kPopulation)) {
          const std::string p = WithCommas(std::stoll(*pop));
          switch (v(3)) {
            case 0:
              add(lead, fmt::format("{} has a population of {}.", n, p));
              break;
            case 1:
              add(lead, fmt::format("{} is home to {} residents.", n, p));
              break;
            default:
              add(lead, fmt::format("The last census of {} counted {} inhabitants.", n, p));
          }
        }
        const std::string& mayor = *value(kMayor);
        add(lead, v(2) == 0 ? fmt::format("The mayor of {} is {}.", n, mayor)
                            : fmt::format("{} serves as the mayor of {}.", mayor, n));
        for (const auto& [label, other] : mentions_[static_cast<std::size_t>(i)]) {
          if (label == kHeadquarters)
            add(more, fmt::format("{} has its headquarters here.", NameOf(other)));
          if (label == kHostCity) add(more, fmt::format("It hosted the {}.", NameOf(other)));
        }
        add(more,
            fmt::format("The {} river runs through the {}.", Capitalize(Syllables(r_)), kind));
        add(more, fmt::format("{} is known for its {} {}; its first market opened in {}.", n,
                              r_.Pick(kAdjectives), r_.Pick(kNouns), r_.Range(1200, 1900)));
        break;
      }
      case EntityType::kProduct: {
        const std::string& maker = *value(kManufacturer);
        std::string model = "product";
        for (const ProductKind& k : kProductKinds)
          if (n.find(std::string(" ") + std::string(k.model)) != std::string::npos)
            model = Lower(std::string(k.model));
        const std::string a = Article(model);
        add(lead, v(2) == 0
                      ? fmt::format("The {} is {} {} made by {}.", n, a, model, maker)
                      : fmt::format("The {} is {} {} manufactured by {}.", n, a, model, maker));
        if (const std::string* cat = value(kCategory))
          add(lead, fmt::format("It belongs to the {} category.", *cat));
        if (const std::string* price = value(kPrice))
          add(lead, v(2) == 0 ? fmt::format("The {} sells for {}.", n, *price)
                              : fmt::format("The list price of the {} is {}.", n, *price));
        const std::string* year = value(kReleaseYear);
        if (year != nullptr)
          add(lead, v(2) == 0 ? fmt::format("The {} was released in {}.", n, *year)
                              : fmt::format("{} launched the {} in {}.", maker, n, *year));
        add(more, fmt::format("Reviewers praised its {} design and its {}.", r_.Pick(kAdjectives),
                              r_.Pick(kNouns)));
        add(more, fmt::format("A revised edition followed in {}.",
                              year ? std::stoi(*year) + r_.Range(1, 6) : r_.Range(1995, 2024)));
        break;
      }
      case EntityType::kEvent: {
        const std::string& city = *value(kHostCity);
        if (const std::string* y = value(kYear)) {
          add(lead, v(2) == 0 ? fmt::format("The {} took place in {} in {}.", n, city, *y)
                              : fmt::format("The {} was held in {} in {}.", n, city, *y));
        } else {
          add(lead, fmt::format("The {} took place in {}.", n, city));
        }
        const std::string& org = *value(kOrganizer);
        add(lead, v(2) == 0 ? fmt::format("The {} was organized by {}.", n, org)
                            : fmt::format("{} organized the {}.", org, n));
        if (const std::string* a = value(kAttendance)) {
          const std::string count = WithCommas(std::stoll(*a));
          add(lead, v(2) == 0 ? fmt::format("The {} drew {} visitors.", n, count)
                              : fmt::format("Attendance at the {} reached {}.", n, count));
        }
        add(more, fmt::format("The program featured {} sessions on {}.", r_.Range(4, 60),
                              r_.Pick(kNouns)));
        add(more, fmt::format("Critics called it {}.", TwoAdjectives()));
        break;
      }
    }
    std::string text = lead + "\n\n";
    for (const Field& f : e.fields) text += f.label + ": " + f.value + "\n";
    text += "\n" + more;
    return text;
  }

  Rand r_;
  World w_;
  std::unordered_set<std::string> names_;
  std::vector<std::string> countries_, given_;
  std::array<std::vector<int>, 5> by_type_;
  std::unordered_map<int, int> event_host_;
  std::vector<std::vector<std::pair<std::string_view, int>>> mentions_;
};

// Numeric value of a literal ("$129" -> 129).
std::int64_t NumberOf(const std::string& value) {
  std::int64_t v = 0;
  for (char c : value)
    if (c >= '0' && c <= '9') v = v * 10 + (c - '0');
  return v;
}

std::string HopText(const std::vector<std::string>& labels, const std::string& entity) {
  std::string t = "What is the";
  for (std::size_t i = labels.size(); i-- > 0;) {
    t += " " + Lower(labels[i]) + " of";
    if (i > 0) t += " the";
  }
  return t + " " + entity + "?";
}

std::vector<int> RealOf(const World& w, EntityType t) {
  std::vector<int> out;
  for (int i = 0; i < w.options.entities; ++i)
    if (w.entities[static_cast<std::size_t>(i)].type == t) out.push_back(i);
  return out;
}

void AddAnswerAliases(Question& q) {
  if (!q.answer.empty() && q.answer[0] == '$') q.aliases.push_back(q.answer.substr(1));
}

StatusOr<Question> HopQuestion(const World& w, int hops, Rand& r) {
  const int real = w.options.entities;
  for (int attempt = 0; attempt < 10000; ++attempt) {
    std::vector<int> path = {static_cast<int>(r.Below(static_cast<std::uint64_t>(real)))};
    std::vector<std::string> labels;
    bool ok = true;
    for (int h = 0; h + 1 < hops && ok; ++h) {
      std::vector<const Field*> next;
      for (const Field& f : w.entities[static_cast<std::size_t>(path.back())].fields)
        if (f.ref >= 0 && std::find(path.begin(), path.end(), f.ref) == path.end())
          next.push_back(&f);
      if (next.empty()) {
        ok = false;
        break;
      }
      const Field* f = r.Pick(next);
      labels.push_back(f->label);
      path.push_back(f->ref);
    }
    if (!ok) continue;
    std::vector<const Field*> finals;
    for (const Field& f : w.entities[static_cast<std::size_t>(path.back())].fields)
      if (f.ref < 0 || std::find(path.begin(), path.end(), f.ref) == path.end())
        finals.push_back(&f);
    if (finals.empty()) continue;
    const Field* f = r.Pick(finals);
    labels.push_back(f->label);
    Question q;
    q.kind = hops == 1   ? QuestionKind::kHop1
             : hops == 2 ? QuestionKind::kHop2
                         : QuestionKind::kHop3;
    q.entity = w.entities[static_cast<std::size_t>(path[0])].name;
    q.entities = {q.entity};
    q.labels = labels;
    q.answer = f->value;
    AddAnswerAliases(q);
    for (int p : path) q.gold.push_back(w.entities[static_cast<std::size_t>(p)].id);
    q.hops = hops;
    q.text = HopText(labels, q.entity);
    return q;
  }
  return FailedPreconditionError("the world (seed {}) has no chain of {} documents", w.seed, hops);
}

struct Quantity {
  EntityType type;
  const char* label;
  const char* extreme;  // comparisons ask for the smaller value
};
constexpr Quantity kComparable[] = {{EntityType::kPerson, kBirthYear, "earlier"},
                                    {EntityType::kOrganization, kFoundingYear, "earlier"},
                                    {EntityType::kPlace, kPopulation, "smaller"},
                                    {EntityType::kProduct, kPrice, "lower"},
                                    {EntityType::kEvent, kAttendance, "smaller"}};
constexpr Quantity kSummable[] = {{EntityType::kOrganization, kEmployeeCount, ""},
                                  {EntityType::kPlace, kPopulation, ""},
                                  {EntityType::kProduct, kPrice, ""},
                                  {EntityType::kEvent, kAttendance, ""}};

// `count` real entities of the quantity's type that state it, with distinct values.
std::vector<int> PickWithDistinctValues(const World& w, const Quantity& qty, int count, Rand& r) {
  std::vector<int> candidates;
  for (int i : RealOf(w, qty.type))
    if (w.entities[static_cast<std::size_t>(i)].Find(qty.label)) candidates.push_back(i);
  std::vector<int> chosen;
  std::vector<std::int64_t> values;
  while (!candidates.empty() && static_cast<int>(chosen.size()) < count) {
    const std::size_t k = r.Below(candidates.size());
    const int i = candidates[k];
    candidates.erase(candidates.begin() + static_cast<std::ptrdiff_t>(k));
    const std::int64_t v = NumberOf(w.entities[static_cast<std::size_t>(i)].Find(qty.label)->value);
    if (std::find(values.begin(), values.end(), v) != values.end()) continue;
    chosen.push_back(i);
    values.push_back(v);
  }
  return static_cast<int>(chosen.size()) == count ? chosen : std::vector<int>{};
}

StatusOr<Question> ComparisonQuestion(const World& w, Rand& r) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    const Quantity& qty = r.Pick(kComparable);
    std::vector<int> pair = PickWithDistinctValues(w, qty, 2, r);
    if (pair.empty()) continue;
    Question q;
    q.kind = QuestionKind::kComparison;
    q.labels = {qty.label};
    q.extreme = qty.extreme;
    std::int64_t best = INT64_MAX;
    for (int i : pair) {
      const Entity& e = w.entities[static_cast<std::size_t>(i)];
      q.entities.push_back(e.name);
      q.gold.push_back(e.id);
      const std::int64_t v = NumberOf(e.Find(qty.label)->value);
      if (v < best) best = v, q.answer = e.name;
    }
    q.entity = q.entities[0];
    q.hops = 2;
    q.text = fmt::format("Of {} and {}, which has the {} {}?", q.entities[0], q.entities[1],
                         q.extreme, Lower(qty.label));
    return q;
  }
  return FailedPreconditionError("the world (seed {}) has no two entities to compare", w.seed);
}

StatusOr<Question> AggregationQuestion(const World& w, int count, Rand& r) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    const Quantity& qty = r.Pick(kSummable);
    std::vector<int> chosen = PickWithDistinctValues(w, qty, count, r);
    if (chosen.empty()) continue;
    Question q;
    q.kind = QuestionKind::kAggregation;
    q.labels = {qty.label};
    std::int64_t total = 0;
    for (int i : chosen) {
      const Entity& e = w.entities[static_cast<std::size_t>(i)];
      q.entities.push_back(e.name);
      q.gold.push_back(e.id);
      total += NumberOf(e.Find(qty.label)->value);
    }
    q.entity = q.entities[0];
    q.hops = count;
    q.answer = (std::string_view(qty.label) == kPrice ? "$" : "") + std::to_string(total);
    AddAnswerAliases(q);
    std::string names;
    for (std::size_t i = 0; i < q.entities.size(); ++i)
      names += (i == 0 ? "" : i + 1 == q.entities.size() ? " and " : ", ") + q.entities[i];
    q.text = fmt::format("What is the total {} of {}?", Lower(qty.label), names);
    return q;
  }
  return FailedPreconditionError("the world (seed {}) has no {} entities to sum", w.seed, count);
}

StatusOr<Question> UnanswerableQuestion(const World& w, const QuestionOptions& o, Rand& r) {
  const int real = w.options.entities;
  const bool unanswerable = r.Chance(o.unanswerable_rate);
  const bool missing_fact = r.Chance(0.5);
  Question q;
  q.kind = QuestionKind::kUnanswerable;
  q.hops = 1;
  if (unanswerable && missing_fact) {
    std::vector<std::pair<int, std::string>> withheld;
    for (int i = 0; i < real; ++i)
      for (const std::string& label : w.entities[static_cast<std::size_t>(i)].withheld)
        withheld.push_back({i, label});
    if (!withheld.empty()) {
      const auto& [i, label] = r.Pick(withheld);
      const Entity& e = w.entities[static_cast<std::size_t>(i)];
      q.answerable = false;
      q.reason = "missing_fact";
      q.entity = e.name;
      q.labels = {label};
      q.gold = {e.id};
    }
  }
  if (unanswerable && q.reason.empty()) {
    // A name like a real entity's (same type, one word misspelled) that no document is about.
    for (int attempt = 0; attempt < 1000 && q.reason.empty(); ++attempt) {
      const Entity& e = w.entities[r.Below(static_cast<std::uint64_t>(real))];
      if (e.name.find(' ') == std::string::npos) continue;  // keep a word the corpus has
      std::string name = WorldBuilder::SimilarName(e.name, e.type, r);
      if (w.Find(name) >= 0 || HasStopword(name)) continue;
      const std::vector<std::string_view> labels = LiteralLabels(e.type);
      q.answerable = false;
      q.reason = "missing_entity";
      q.entity = std::move(name);
      q.labels = {std::string(r.Pick(labels))};
      q.gold = {e.id};
    }
  }
  if (q.reason.empty()) {
    // Answerable: a literal fact that the entity's document states.
    for (int attempt = 0; attempt < 10000; ++attempt) {
      const Entity& e = w.entities[r.Below(static_cast<std::uint64_t>(real))];
      std::vector<const Field*> literals;
      for (const Field& f : e.fields)
        if (f.ref < 0) literals.push_back(&f);
      if (literals.empty()) continue;
      const Field* f = r.Pick(literals);
      q.entity = e.name;
      q.labels = {f->label};
      q.answer = f->value;
      AddAnswerAliases(q);
      q.gold = {e.id};
      break;
    }
    if (q.gold.empty())
      return FailedPreconditionError("the world (seed {}) states no literal fact", w.seed);
  } else {
    q.answer = o.unanswerable_answer;
  }
  q.entities = {q.entity};
  q.text = HopText(q.labels, q.entity);
  return q;
}

}  // namespace

std::string_view EntityTypeName(EntityType type) {
  switch (type) {
    case EntityType::kPerson:
      return "person";
    case EntityType::kOrganization:
      return "organization";
    case EntityType::kPlace:
      return "place";
    case EntityType::kProduct:
      return "product";
    case EntityType::kEvent:
      return "event";
  }
  return "?";
}

const Field* Entity::Find(std::string_view label) const {
  for (const Field& f : fields)
    if (f.label == label) return &f;
  return nullptr;
}

int World::Find(std::string_view name) const {
  for (std::size_t i = 0; i < entities.size(); ++i)
    if (entities[i].name == name) return static_cast<int>(i);
  return -1;
}

StatusOr<World> GenerateWorld(std::uint64_t seed, const WorldOptions& options) {
  if (options.entities < 10 || options.entities > WorldOptions::kMaxEntities)
    return InvalidArgumentError("world option 'entities' must be in [10, {}], got {}",
                                WorldOptions::kMaxEntities, options.entities);
  if (options.distractors < 0 || options.distractors > WorldOptions::kMaxEntities)
    return InvalidArgumentError("world option 'distractors' must be in [0, {}], got {}",
                                WorldOptions::kMaxEntities, options.distractors);
  if (!(options.withheld_rate >= 0 && options.withheld_rate <= 0.5))
    return InvalidArgumentError("world option 'withheld_rate' must be in [0, 0.5], got {}",
                                options.withheld_rate);
  return WorldBuilder(seed, options).Build();
}

std::string_view QuestionKindName(QuestionKind kind) {
  switch (kind) {
    case QuestionKind::kHop1:
      return "hop1";
    case QuestionKind::kHop2:
      return "hop2";
    case QuestionKind::kHop3:
      return "hop3";
    case QuestionKind::kComparison:
      return "comparison";
    case QuestionKind::kAggregation:
      return "aggregation";
    case QuestionKind::kUnanswerable:
      return "unanswerable";
  }
  return "?";
}

StatusOr<QuestionKind> ParseQuestionKind(std::string_view name) {
  for (QuestionKind k :
       {QuestionKind::kHop1, QuestionKind::kHop2, QuestionKind::kHop3, QuestionKind::kComparison,
        QuestionKind::kAggregation, QuestionKind::kUnanswerable})
    if (QuestionKindName(k) == name) return k;
  return InvalidArgumentError(
      "unknown question kind \"{}\"; expected one of: hop1, hop2, hop3, comparison, aggregation, "
      "unanswerable",
      name);
}

StatusOr<Question> MakeQuestion(const World& world, QuestionKind kind, std::uint64_t seed,
                                const QuestionOptions& options) {
  if (options.aggregate_count < 2 || options.aggregate_count > 5)
    return InvalidArgumentError("'aggregate_count' must be in [2, 5], got {}",
                                options.aggregate_count);
  if (!(options.unanswerable_rate >= 0 && options.unanswerable_rate <= 1))
    return InvalidArgumentError("'unanswerable_rate' must be in [0, 1], got {}",
                                options.unanswerable_rate);
  if (options.unanswerable_answer.empty())
    return InvalidArgumentError("'unanswerable_answer' must not be empty");
  Rand r(seed ^ 0x5EA7C4E5ull);
  switch (kind) {
    case QuestionKind::kHop1:
      return HopQuestion(world, 1, r);
    case QuestionKind::kHop2:
      return HopQuestion(world, 2, r);
    case QuestionKind::kHop3:
      return HopQuestion(world, 3, r);
    case QuestionKind::kComparison:
      return ComparisonQuestion(world, r);
    case QuestionKind::kAggregation:
      return AggregationQuestion(world, options.aggregate_count, r);
    case QuestionKind::kUnanswerable:
      return UnanswerableQuestion(world, options, r);
  }
  return InvalidArgumentError("unknown question kind");
}

std::vector<Document> GenerateCorpus(std::uint64_t seed, std::size_t n) {
  if (n == 0) return {};
  WorldOptions o;
  o.entities = static_cast<int>(std::max<std::size_t>(10, n - n / 3));
  o.distractors = static_cast<int>(n / 3);
  World w = WorldBuilder(seed, o).Build();
  w.documents.resize(std::min(n, w.documents.size()));
  return std::move(w.documents);
}

}  // namespace toolgym::search
