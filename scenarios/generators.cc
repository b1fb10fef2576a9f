#include "scenarios/generators.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <set>
#include <utility>

#include "common/check.h"
#include "scenarios/generator_util.h"

namespace toolgym::scenarios {

using json = nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Registry

Status GeneratorRegistry::Register(GeneratorInfo info) {
  if (info.name.empty()) return InvalidArgumentError("a generator needs a name");
  if (!info.generate)
    return InvalidArgumentError("generator '{}' has no generate function", info.name);
  for (const std::string& r : info.required) {
    if (std::find(info.arguments.begin(), info.arguments.end(), r) == info.arguments.end()) {
      return InvalidArgumentError("generator '{}': required argument '{}' is not in its arguments",
                                  info.name, r);
    }
  }
  if (generators_.count(info.name) != 0) {
    return InvalidArgumentError("generator '{}' is already registered", info.name);
  }
  std::string name = info.name;
  generators_.emplace(std::move(name), std::move(info));
  return OkStatus();
}

const GeneratorInfo* GeneratorRegistry::Find(const std::string& name) const {
  auto it = generators_.find(name);
  return it == generators_.end() ? nullptr : &it->second;
}

std::vector<std::string> GeneratorRegistry::Names() const {
  std::vector<std::string> out;
  out.reserve(generators_.size());
  for (const auto& [name, info] : generators_) out.push_back(name);
  return out;
}

StatusOr<json> GeneratorRegistry::Generate(const json& spec, Rng& rng) const {
  if (!spec.is_object()) {
    return InvalidArgumentError("a generator entry must be an object, got {}", genutil::Show(spec));
  }
  auto gen_it = spec.find("gen");
  if (gen_it == spec.end() || !gen_it->is_string()) {
    return InvalidArgumentError("a generator entry needs \"gen\": a generator name, got {}",
                                gen_it == spec.end() ? "none" : genutil::Show(*gen_it));
  }
  const std::string& gen = gen_it->get_ref<const std::string&>();
  const GeneratorInfo* info = Find(gen);
  if (info == nullptr) {
    return InvalidArgumentError("unknown generator '{}' (generators: {})", gen,
                                fmt::join(Names(), ", "));
  }
  json args = json::object();
  for (auto it = spec.begin(); it != spec.end(); ++it) {
    if (it.key() == "gen" || it.key() == "name") continue;
    if (it.key() == "$base_dir" && info->wants_base_dir) {
      args[it.key()] = it.value();
      continue;
    }
    if (std::find(info->arguments.begin(), info->arguments.end(), it.key()) ==
        info->arguments.end()) {
      return InvalidArgumentError(
          "unknown argument '{}' for generator '{}'; expected one of: {}", it.key(), gen,
          info->arguments.empty() ? "(none)" : fmt::format("{}", fmt::join(info->arguments, ", ")));
    }
    args[it.key()] = it.value();
  }
  for (const std::string& r : info->required) {
    if (!args.contains(r)) {
      return InvalidArgumentError("missing argument '{}' for generator '{}'", r, gen);
    }
  }
  auto value = info->generate(args, rng);
  if (!value.ok()) return value.status().WithContext(fmt::format("generator '{}'", gen));
  return value;
}

const GeneratorRegistry& GeneratorRegistry::Default() {
  // Built once, on first use, by a thread-safe static; read-only afterwards.
  static const GeneratorRegistry* const registry = [] {
    auto* r = new GeneratorRegistry();
    RegisterBasicGenerators(*r);
    RegisterDataGenerators(*r);
    RegisterCodeGenerators(*r);
    RegisterWebGenerators(*r);
    RegisterSearchGenerators(*r);
    return r;
  }();
  return *registry;
}

// ---------------------------------------------------------------------------------------------
// Shared helpers (generator_util.h)

namespace genutil {

std::string Show(const json& v) {
  if (v.is_object()) return "an object";
  if (v.is_array()) return fmt::format("a list of {}", v.size());
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 60) s = s.substr(0, 60) + "...";
  return s;
}

namespace {

const json* Arg(const json& args, std::string_view key) {
  if (!args.is_object()) return nullptr;
  auto it = args.find(std::string(key));
  return it == args.end() ? nullptr : &*it;
}

Status Missing(std::string_view key) { return InvalidArgumentError("missing argument '{}'", key); }

}  // namespace

StatusOr<std::int64_t> GetInt(const json& args, std::string_view key,
                              std::optional<std::int64_t> def) {
  const json* v = Arg(args, key);
  if (v == nullptr) {
    if (def) return *def;
    return Missing(key);
  }
  if (v->is_number_integer()) {
    if (v->is_number_unsigned() && v->get<std::uint64_t>() > 9'000'000'000'000'000'000ull) {
      return InvalidArgumentError("'{}' is too large, got {}", key, Show(*v));
    }
    return v->get<std::int64_t>();
  }
  if (v->is_number_float()) {
    double d = v->get<double>();
    if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 9e18) {
      return static_cast<std::int64_t>(d);
    }
  }
  if (v->is_string()) {
    const std::string& s = v->get_ref<const std::string&>();
    std::int64_t out = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (!s.empty() && ec == std::errc() && p == s.data() + s.size()) return out;
  }
  return InvalidArgumentError("'{}' must be an integer, got {}", key, Show(*v));
}

StatusOr<double> GetNumber(const json& args, std::string_view key, std::optional<double> def) {
  const json* v = Arg(args, key);
  if (v == nullptr) {
    if (def) return *def;
    return Missing(key);
  }
  if (v->is_number()) {
    double d = v->get<double>();
    if (std::isfinite(d)) return d;
  }
  if (v->is_string()) {
    const std::string& s = v->get_ref<const std::string&>();
    char* end = nullptr;
    double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && end == s.c_str() + s.size() && std::isfinite(d)) return d;
  }
  return InvalidArgumentError("'{}' must be a number, got {}", key, Show(*v));
}

StatusOr<bool> GetBool(const json& args, std::string_view key, std::optional<bool> def) {
  const json* v = Arg(args, key);
  if (v == nullptr) {
    if (def) return *def;
    return Missing(key);
  }
  if (v->is_boolean()) return v->get<bool>();
  if (v->is_string() && (*v == "true" || *v == "false")) return *v == "true";
  return InvalidArgumentError("'{}' must be true or false, got {}", key, Show(*v));
}

StatusOr<std::string> GetString(const json& args, std::string_view key,
                                std::optional<std::string> def) {
  const json* v = Arg(args, key);
  if (v == nullptr) {
    if (def) return *def;
    return Missing(key);
  }
  if (v->is_string()) return v->get<std::string>();
  return InvalidArgumentError("'{}' must be a string, got {}", key, Show(*v));
}

StatusOr<json> GetArray(const json& args, std::string_view key, std::size_t min_size,
                        std::optional<json> def) {
  const json* v = Arg(args, key);
  if (v == nullptr) {
    if (def) return *def;
    return Missing(key);
  }
  if (!v->is_array()) return InvalidArgumentError("'{}' must be a list, got {}", key, Show(*v));
  if (v->size() < min_size) {
    return InvalidArgumentError("'{}' must have at least {} item{}, got {}", key, min_size,
                                min_size == 1 ? "" : "s", v->size());
  }
  return *v;
}

StatusOr<std::vector<std::string>> GetStrings(const json& args, std::string_view key,
                                              std::size_t min_size,
                                              std::optional<std::vector<std::string>> def) {
  const json* v = Arg(args, key);
  if (v == nullptr && def) return *def;
  TG_ASSIGN_OR_RETURN(json arr, GetArray(args, key, min_size));
  std::vector<std::string> out;
  for (std::size_t i = 0; i < arr.size(); ++i) {
    if (!arr[i].is_string()) {
      return InvalidArgumentError("'{}' must be a list of strings; item {} is {}", key, i,
                                  Show(arr[i]));
    }
    out.push_back(arr[i].get<std::string>());
  }
  return out;
}

Status CheckRange(std::string_view key, std::int64_t v, std::int64_t lo, std::int64_t hi) {
  if (v < lo || v > hi)
    return InvalidArgumentError("'{}' must be in [{}, {}], got {}", key, lo, hi, v);
  return OkStatus();
}

Status CheckOrdered(std::string_view lo_key, double lo, std::string_view hi_key, double hi) {
  if (lo > hi) {
    return InvalidArgumentError("'{}' must be >= '{}', got {} = {}, {} = {}", hi_key, lo_key,
                                lo_key, lo, hi_key, hi);
  }
  return OkStatus();
}

StatusOr<IntRange> GetIntRange(const json& args, std::string_view key, std::optional<IntRange> def,
                               std::int64_t lo, std::int64_t hi) {
  const json* v = Arg(args, key);
  if (v == nullptr) {
    if (def) return *def;
    return Missing(key);
  }
  IntRange r;
  if (v->is_object()) {
    for (auto it = v->begin(); it != v->end(); ++it) {
      if (it.key() != "min" && it.key() != "max") {
        return InvalidArgumentError("'{}' accepts only min and max, got '{}'", key, it.key());
      }
    }
    TG_ASSIGN_OR_RETURN(r.min, GetInt(*v, "min"));
    TG_ASSIGN_OR_RETURN(r.max, GetInt(*v, "max"));
    auto named = [&](Status s) {
      return s.ok() ? s : Status(s.code(), fmt::format("'{}': {}", key, s.message()));
    };
    TG_RETURN_IF_ERROR(named(CheckRange("min", r.min, lo, hi)));
    TG_RETURN_IF_ERROR(named(CheckRange("max", r.max, lo, hi)));
    if (r.min > r.max) {
      return InvalidArgumentError("'{}.max' must be >= '{}.min', got min = {}, max = {}", key, key,
                                  r.min, r.max);
    }
    return r;
  }
  TG_ASSIGN_OR_RETURN(std::int64_t fixed, GetInt(args, key));
  TG_RETURN_IF_ERROR(CheckRange(key, fixed, lo, hi));
  return IntRange{fixed, fixed};
}

namespace {

const std::vector<std::string> kNouns = {
    "anchor",  "arrow",    "badge",    "basket",  "beacon",  "beam",    "bell",     "blade",
    "blanket", "board",    "bottle",   "bridge",  "brush",   "bucket",  "button",   "cabin",
    "cable",   "camera",   "candle",   "canvas",  "canyon",  "castle",  "chain",    "chair",
    "chimney", "circle",   "clock",    "cloud",   "coin",    "compass", "copper",   "corner",
    "cottage", "crystal",  "curtain",  "delta",   "desk",    "diamond", "drum",     "echo",
    "ember",   "engine",   "fabric",   "feather", "fence",   "field",   "flag",     "flame",
    "forest",  "fountain", "garden",   "garnet",  "gate",    "glacier", "glass",    "glove",
    "hammer",  "harbor",   "harvest",  "hatch",   "helmet",  "hill",    "horizon",  "icicle",
    "island",  "jacket",   "jewel",    "jigsaw",  "journal", "kernel",  "kettle",   "key",
    "knot",    "ladder",   "lagoon",   "lamp",    "lantern", "leaf",    "letter",   "lever",
    "library", "magnet",   "map",      "marble",  "meadow",  "mirror",  "mosaic",   "mountain",
    "napkin",  "nest",     "nugget",   "oasis",   "ocean",   "orbit",   "orchard",  "paddle",
    "paper",   "parcel",   "pebble",   "pencil",  "pillow",  "pipe",    "planet",   "pocket",
    "prism",   "puzzle",   "quarry",   "quartz",  "quilt",   "rail",    "relic",    "ribbon",
    "river",   "rocket",   "saddle",   "sail",    "satchel", "scroll",  "shadow",   "shelf",
    "shell",   "signal",   "silver",   "socket",  "spoon",   "spring",  "stone",    "storm",
    "string",  "summit",   "table",    "tablet",  "thread",  "ticket",  "timber",   "tower",
    "trail",   "tunnel",   "umbrella", "valley",  "vault",   "vessel",  "violin",   "wagon",
    "wall",    "wheel",    "whistle",  "willow",  "window",  "wire",    "workshop", "yard",
    "zipper"};

const std::vector<std::string> kAdjectives = {
    "ancient", "bold",    "brave",  "bright", "brisk",  "calm",   "clever", "cold",   "cozy",
    "crisp",   "curious", "daring", "deep",   "dusty",  "eager",  "early",  "easy",   "faint",
    "fancy",   "fast",    "fierce", "fresh",  "gentle", "giant",  "glad",   "golden", "grand",
    "happy",   "hidden",  "hollow", "humble", "icy",    "jolly",  "keen",   "kind",   "large",
    "lazy",    "little",  "lively", "lonely", "loud",   "lucky",  "mellow", "mighty", "misty",
    "modern",  "narrow",  "noble",  "odd",    "pale",   "plain",  "polite", "proud",  "quick",
    "quiet",   "rapid",   "rare",   "rough",  "round",  "rusty",  "shiny",  "silent", "simple",
    "sleepy",  "slow",    "smooth", "soft",   "solid",  "sparse", "steady", "sturdy", "sunny",
    "swift",   "tall",    "tame",   "tidy",   "tiny",   "vast",   "warm",   "wild",   "wise",
    "witty",   "young",   "zesty"};

const std::vector<std::string> kVerbs = {
    "accept", "adjust",  "allow",  "answer",  "arrive",  "bake",    "balance", "build",   "carry",
    "catch",  "change",  "check",  "climb",   "collect", "compare", "count",   "cover",   "create",
    "dance",  "deliver", "design", "divide",  "draw",    "drift",   "enter",   "explore", "fetch",
    "fill",   "find",    "fix",    "float",   "fold",    "follow",  "gather",  "grow",    "guide",
    "handle", "hold",    "hunt",   "improve", "invite",  "join",    "jump",    "keep",    "knock",
    "launch", "learn",   "lift",   "listen",  "measure", "mix",     "move",    "open",    "paint",
    "pass",   "plant",   "play",   "pour",    "print",   "pull",    "push",    "reach",   "read",
    "repair", "return",  "ride",   "rise",    "roll",    "scan",    "search",  "send",    "share",
    "shift",  "sing",    "sort",   "split",   "start",   "stir",    "swim",    "throw",   "travel",
    "turn",   "visit",   "walk",   "wander",  "wash",    "watch",   "weave",   "write"};

const std::vector<std::string> kColors = {
    "amber",   "azure",   "beige",     "black",  "blue",  "bronze", "brown", "coral",
    "crimson", "cyan",    "gold",      "gray",   "green", "indigo", "ivory", "lavender",
    "lime",    "magenta", "maroon",    "navy",   "olive", "orange", "pink",  "purple",
    "red",     "teal",    "turquoise", "violet", "white", "yellow"};

const std::vector<std::string> kAnimals = {
    "badger", "bear",    "beaver",  "bison",  "camel",   "cat",      "cheetah", "cobra",   "crane",
    "crow",   "deer",    "dolphin", "donkey", "eagle",   "falcon",   "ferret",  "fox",     "frog",
    "gecko",  "giraffe", "goat",    "goose",  "hawk",    "hedgehog", "heron",   "horse",   "jaguar",
    "koala",  "lemur",   "leopard", "lion",   "lizard",  "llama",    "lynx",    "moose",   "mouse",
    "otter",  "owl",     "panda",   "parrot", "pelican", "penguin",  "rabbit",  "raccoon", "raven",
    "salmon", "seal",    "shark",   "sheep",  "sparrow", "squirrel", "swan",    "tiger",   "turtle",
    "walrus", "whale",   "wolf",    "zebra"};

const std::vector<std::string> kFruits = {
    "apple",     "apricot",    "banana",    "blackberry", "blueberry",  "cherry",      "coconut",
    "cranberry", "date",       "fig",       "grape",      "grapefruit", "guava",       "kiwi",
    "lemon",     "lime",       "lychee",    "mango",      "melon",      "nectarine",   "orange",
    "papaya",    "peach",      "pear",      "pineapple",  "plum",       "pomegranate", "quince",
    "raspberry", "strawberry", "tangerine", "watermelon"};

const std::vector<std::string> kCities = {
    "amsterdam", "athens",   "bangkok",   "barcelona", "berlin",     "bogota",    "boston",
    "brussels",  "budapest", "cairo",     "chicago",   "copenhagen", "dublin",    "edinburgh",
    "florence",  "geneva",   "hamburg",   "helsinki",  "istanbul",   "jakarta",   "kyoto",
    "lagos",     "lima",     "lisbon",    "london",    "madrid",     "manila",    "marseille",
    "melbourne", "milan",    "montreal",  "moscow",    "mumbai",     "munich",    "nairobi",
    "oslo",      "paris",    "prague",    "quito",     "reykjavik",  "riga",      "rome",
    "santiago",  "seattle",  "seoul",     "shanghai",  "singapore",  "stockholm", "sydney",
    "tokyo",     "toronto",  "vancouver", "venice",    "vienna",     "warsaw",    "zurich"};

const std::vector<std::string> kNames = {
    "Aiko",   "Alice",     "Amir",   "Ana",   "Andrea",  "Arjun",  "Ava",   "Beatriz", "Ben",
    "Bruno",  "Carlos",    "Chen",   "Chloe", "Clara",   "Daniel", "David", "Diego",   "Dmitri",
    "Elena",  "Emma",      "Ethan",  "Eva",   "Farid",   "Fatima", "Felix", "Gita",    "Grace",
    "Hana",   "Hannah",    "Hiro",   "Hugo",  "Ibrahim", "Ines",   "Isaac", "Ivan",    "Jack",
    "James",  "Jana",      "Javier", "Julia", "Kai",     "Kenji",  "Laila", "Lars",    "Lena",
    "Leo",    "Liam",      "Lucas",  "Lucia", "Maya",    "Mei",    "Mia",   "Mohamed", "Nadia",
    "Nina",   "Noah",      "Nora",   "Olga",  "Omar",    "Oscar",  "Paula", "Pedro",   "Priya",
    "Rafael", "Rosa",      "Ruth",   "Sam",   "Sara",    "Sofia",  "Tariq", "Theo",    "Tom",
    "Uma",    "Valentina", "Victor", "Wei",   "Yara",    "Yusuf",  "Zara",  "Zoe"};

const std::vector<std::string> kSurnames = {
    "Adams",    "Ahmed",   "Alvarez", "Baker",  "Becker", "Brown",  "Costa",    "Cruz",   "Dubois",
    "Evans",    "Fischer", "Garcia",  "Gupta",  "Hansen", "Hughes", "Ito",      "Jensen", "Kim",
    "Kowalski", "Lee",     "Lopez",   "Martin", "Meyer",  "Moreau", "Nakamura", "Nguyen", "Novak",
    "Okafor",   "Olsen",   "Park",    "Patel",  "Perez",  "Petrov", "Rossi",    "Santos", "Schmidt",
    "Silva",    "Singh",   "Smith",   "Suzuki", "Tanaka", "Taylor", "Torres",   "Wagner", "Walker",
    "Wang",     "Weber",   "Wilson",  "Yilmaz", "Zhang"};

}  // namespace

const std::vector<std::string>* BuiltinList(std::string_view name) {
  if (name == "nouns") return &kNouns;
  if (name == "adjectives") return &kAdjectives;
  if (name == "verbs") return &kVerbs;
  if (name == "colors") return &kColors;
  if (name == "animals") return &kAnimals;
  if (name == "fruits") return &kFruits;
  if (name == "cities") return &kCities;
  if (name == "names") return &kNames;
  if (name == "surnames") return &kSurnames;
  return nullptr;
}

std::vector<std::string> BuiltinListNames() {
  return {"nouns",  "adjectives", "verbs", "colors",  "animals",
          "fruits", "cities",     "names", "surnames"};
}

StatusOr<std::vector<std::string>> GetWordList(const json& args, std::string_view key,
                                               std::string_view def) {
  const json* v = Arg(args, key);
  if (v == nullptr) {
    const auto* list = BuiltinList(def);
    TG_CHECK(list != nullptr);
    return *list;
  }
  if (v->is_string()) {
    const auto* list = BuiltinList(v->get_ref<const std::string&>());
    if (list == nullptr) {
      return InvalidArgumentError("'{}' names no builtin list, got {} (lists: {})", key, Show(*v),
                                  fmt::join(BuiltinListNames(), ", "));
    }
    return *list;
  }
  TG_ASSIGN_OR_RETURN(std::vector<std::string> words, GetStrings(args, key, 1));
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (std::string& w : words) {
    if (seen.insert(w).second) out.push_back(std::move(w));
  }
  return out;
}

std::vector<std::string> MergeLists(const std::vector<std::string_view>& names) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (std::string_view n : names) {
    const auto* list = BuiltinList(n);
    TG_CHECK(list != nullptr);
    for (const std::string& w : *list) {
      if (seen.insert(w).second) out.push_back(w);
    }
  }
  return out;
}

// Howard Hinnant's days_from_civil / civil_from_days.
std::int64_t DaysFromCivil(std::int64_t y, int m, int d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void CivilFromDays(std::int64_t z, std::int64_t& y, int& m, int& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  y = yoe + era * 400 + (m <= 2);
}

StatusOr<std::int64_t> ParseDate(std::string_view key, std::string_view text) {
  auto bad = [&] {
    return InvalidArgumentError("'{}' must be a date YYYY-MM-DD, got \"{}\"", key, text);
  };
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return bad();
  int y = 0, m = 0, d = 0;
  auto num = [&](std::size_t at, std::size_t len, int& out) {
    auto [p, ec] = std::from_chars(text.data() + at, text.data() + at + len, out);
    return ec == std::errc() && p == text.data() + at + len;
  };
  if (!num(0, 4, y) || !num(5, 2, m) || !num(8, 2, d)) return bad();
  if (m < 1 || m > 12 || d < 1 || d > 31) return bad();
  std::int64_t days = DaysFromCivil(y, m, d);
  std::int64_t yy = 0;
  int mm = 0, dd = 0;
  CivilFromDays(days, yy, mm, dd);
  if (yy != y || mm != m || dd != d) {
    return InvalidArgumentError("'{}' is not a calendar date, got \"{}\"", key, text);
  }
  return days;
}

StatusOr<std::string> FormatTime(std::int64_t t, std::string_view format) {
  static const char* kMonths[] = {"January",   "February", "March",    "April",
                                  "May",       "June",     "July",     "August",
                                  "September", "October",  "November", "December"};
  static const char* kDays[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                "Thursday", "Friday", "Saturday"};
  std::int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
  std::int64_t secs = t - days * 86400;
  std::int64_t y = 0;
  int m = 0, d = 0;
  CivilFromDays(days, y, m, d);
  int weekday = static_cast<int>(((days % 7) + 7 + 4) % 7);  // 1970-01-01 was a Thursday
  int yday = static_cast<int>(days - DaysFromCivil(y, 1, 1)) + 1;
  std::string out;
  for (std::size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') {
      out += format[i];
      continue;
    }
    if (i + 1 >= format.size()) return InvalidArgumentError("date format ends with a lone '%'");
    char c = format[++i];
    switch (c) {
      case 'Y':
        out += fmt::format("{:04}", y);
        break;
      case 'y':
        out += fmt::format("{:02}", ((y % 100) + 100) % 100);
        break;
      case 'm':
        out += fmt::format("{:02}", m);
        break;
      case 'd':
        out += fmt::format("{:02}", d);
        break;
      case 'e':
        out += fmt::format("{:2}", d);
        break;
      case 'j':
        out += fmt::format("{:03}", yday);
        break;
      case 'b':
        out += std::string(kMonths[m - 1]).substr(0, 3);
        break;
      case 'B':
        out += kMonths[m - 1];
        break;
      case 'a':
        out += std::string(kDays[weekday]).substr(0, 3);
        break;
      case 'A':
        out += kDays[weekday];
        break;
      case 'u':
        out += fmt::format("{}", weekday == 0 ? 7 : weekday);
        break;
      case 'w':
        out += fmt::format("{}", weekday);
        break;
      case 'H':
        out += fmt::format("{:02}", secs / 3600);
        break;
      case 'M':
        out += fmt::format("{:02}", secs / 60 % 60);
        break;
      case 'S':
        out += fmt::format("{:02}", secs % 60);
        break;
      case 'F':
        out += fmt::format("{:04}-{:02}-{:02}", y, m, d);
        break;
      case 'T':
        out += fmt::format("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
        break;
      case '%':
        out += '%';
        break;
      default:
        return InvalidArgumentError(
            "unsupported date directive '%{}' (supported: %Y %y %m %d %e %j %b %B %a %A %u %w %H "
            "%M %S %F %T %%)",
            c);
    }
  }
  return out;
}

std::string RandomWords(Rng& rng, const std::vector<std::string>& vocab, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0) out += ' ';
    out += rng.Choice(vocab);
  }
  return out;
}

std::string RandomText(Rng& rng, const std::vector<std::string>& vocab, std::size_t target_bytes,
                       int min_words, int max_words) {
  std::string out;
  do {
    out += RandomWords(rng, vocab, static_cast<std::size_t>(rng.UniformInt(min_words, max_words)));
    out += '\n';
  } while (out.size() < target_bytes);
  return out;
}

std::string HexString(Rng& rng, std::size_t length) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < length; ++i) out += kHex[rng.Index(16)];
  return out;
}

std::string FormatScaled(std::int64_t scaled, int decimals) {
  if (decimals == 0) return fmt::format("{}", scaled);
  std::int64_t p = 1;
  for (int i = 0; i < decimals; ++i) p *= 10;
  std::uint64_t mag = scaled < 0 ? 0 - static_cast<std::uint64_t>(scaled) : scaled;
  return fmt::format("{}{}.{:0{}}", scaled < 0 ? "-" : "", mag / p, mag % p, decimals);
}

double ScaledToDouble(std::int64_t scaled, int decimals) {
  return std::strtod(FormatScaled(scaled, decimals).c_str(), nullptr);
}

}  // namespace genutil

// ---------------------------------------------------------------------------------------------
// Basic generators

namespace {

using namespace genutil;  // NOLINT: the helpers are this file's vocabulary

constexpr std::int64_t kMaxItems = 100000;

StatusOr<json> GenInt(const json& args, Rng& rng) {
  TG_ASSIGN_OR_RETURN(std::int64_t lo, GetInt(args, "min"));
  TG_ASSIGN_OR_RETURN(std::int64_t hi, GetInt(args, "max"));
  if (lo > hi) {
    return InvalidArgumentError("'max' must be >= 'min', got min = {}, max = {}", lo, hi);
  }
  return json(rng.UniformInt(lo, hi));
}

StatusOr<json> GenFloat(const json& args, Rng& rng) {
  TG_ASSIGN_OR_RETURN(double lo, GetNumber(args, "min"));
  TG_ASSIGN_OR_RETURN(double hi, GetNumber(args, "max"));
  TG_ASSIGN_OR_RETURN(std::int64_t decimals, GetInt(args, "decimals", 2));
  TG_RETURN_IF_ERROR(CheckRange("decimals", decimals, 0, 9));
  TG_RETURN_IF_ERROR(CheckOrdered("min", lo, "max", hi));
  // Drawn on the grid of multiples of 10^-decimals inside [min, max], so the value prints with
  // at most `decimals` places and is never rounded out of range.
  double scale = std::pow(10.0, static_cast<double>(decimals));
  double glo = std::ceil(lo * scale - 1e-9), ghi = std::floor(hi * scale + 1e-9);
  if (std::fabs(glo) > 1e15 || std::fabs(ghi) > 1e15) {
    return InvalidArgumentError("'min'/'max' too large for {} decimals, got min = {}, max = {}",
                                decimals, lo, hi);
  }
  if (glo > ghi) {
    return InvalidArgumentError(
        "no value with {} decimals lies in [min, max], got min = {}, max = {}", decimals, lo, hi);
  }
  std::int64_t k = rng.UniformInt(static_cast<std::int64_t>(glo), static_cast<std::int64_t>(ghi));
  return json(ScaledToDouble(k, static_cast<int>(decimals)));
}

StatusOr<json> GenChoice(const json& args, Rng& rng) {
  TG_ASSIGN_OR_RETURN(json values, GetArray(args, "values", 1));
  if (!args.contains("weights")) return values[rng.Index(values.size())];
  TG_ASSIGN_OR_RETURN(json weights, GetArray(args, "weights", 1));
  if (weights.size() != values.size()) {
    return InvalidArgumentError("'weights' must have one weight per value ({}), got {}",
                                values.size(), weights.size());
  }
  double total = 0;
  std::vector<double> w;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    if (!weights[i].is_number() || weights[i].get<double>() < 0 ||
        !std::isfinite(weights[i].get<double>())) {
      return InvalidArgumentError("'weights' must be numbers >= 0; item {} is {}", i,
                                  Show(weights[i]));
    }
    w.push_back(weights[i].get<double>());
    total += w.back();
  }
  if (total <= 0) return InvalidArgumentError("'weights' must not all be 0");
  double x = rng.UniformReal() * total;
  for (std::size_t i = 0; i < w.size(); ++i) {
    if (x < w[i]) return values[i];
    x -= w[i];
  }
  for (std::size_t i = w.size(); i > 0; --i) {
    if (w[i - 1] > 0) return values[i - 1];
  }
  return values.back();
}

json Distinct(const json& values) {
  json out = json::array();
  for (const json& v : values) {
    if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
  }
  return out;
}

StatusOr<json> GenSample(const json& args, Rng& rng) {
  TG_ASSIGN_OR_RETURN(json values, GetArray(args, "values", 1));
  TG_ASSIGN_OR_RETURN(std::int64_t count, GetInt(args, "count"));
  json distinct = Distinct(values);
  if (count < 0 || count > static_cast<std::int64_t>(distinct.size())) {
    return InvalidArgumentError(
        "'count' must be in [0, {}] (the number of distinct values), got {}", distinct.size(),
        count);
  }
  json out = json::array();
  for (std::size_t i : rng.Sample(distinct.size(), static_cast<std::size_t>(count))) {
    out.push_back(distinct[i]);
  }
  return out;
}

StatusOr<json> GenShuffle(const json& args, Rng& rng) {
  TG_ASSIGN_OR_RETURN(json values, GetArray(args, "values"));
  std::vector<json> items(values.begin(), values.end());
  rng.Shuffle(items);
  return json(std::move(items));
}

StatusOr<json> GenBool(const json& args, Rng& rng) {
  TG_ASSIGN_OR_RETURN(double p, GetNumber(args, "p", 0.5));
  if (p < 0 || p > 1) return InvalidArgumentError("'p' must be in [0, 1], got {}", p);
  return json(rng.Bernoulli(p));
}

StatusOr<json> GenWord(const json& args, Rng& rng) {
  TG_ASSIGN_OR_RETURN(std::vector<std::string> list, GetWordList(args, "list", "nouns"));
  return json(rng.Choice(list));
}

StatusOr<json> GenWords(const json& args, Rng& rng) {
  TG_ASSIGN_OR_RETURN(std::int64_t count, GetInt(args, "count"));
  TG_ASSIGN_OR_RETURN(std::vector<std::string> list, GetWordList(args, "list", "nouns"));
  TG_ASSIGN_OR_RETURN(bool distinct, GetBool(args, "distinct", true));
  TG_RETURN_IF_ERROR(CheckRange("count", count, 0, kMaxItems));
  if (distinct && count > static_cast<std::int64_t>(list.size())) {
    return InvalidArgumentError(
        "'count' must be <= the list size ({}) when 'distinct' is true, got {}", list.size(),
        count);
  }
  std::vector<std::string> words;
  if (distinct) {
    for (std::size_t i : rng.Sample(list.size(), static_cast<std::size_t>(count))) {
      words.push_back(list[i]);
    }
  } else {
    for (std::int64_t i = 0; i < count; ++i) words.push_back(rng.Choice(list));
  }
  if (args.contains("join")) {
    TG_ASSIGN_OR_RETURN(std::string sep, GetString(args, "join"));
    return json(fmt::format("{}", fmt::join(words, sep)));
  }
  return json(words);
}

StatusOr<json> GenName(const json& args, Rng& rng) {
  TG_ASSIGN_OR_RETURN(bool full, GetBool(args, "full", false));
  std::string first = rng.Choice(*BuiltinList("names"));
  if (!full) return json(first);
  return json(first + " " + rng.Choice(*BuiltinList("surnames")));
}

StatusOr<json> GenHex(const json& args, Rng& rng) {
  TG_ASSIGN_OR_RETURN(std::int64_t length, GetInt(args, "length"));
  TG_RETURN_IF_ERROR(CheckRange("length", length, 1, 4096));
  return json(HexString(rng, static_cast<std::size_t>(length)));
}

StatusOr<json> GenToken(const json& args, Rng& rng) {
  TG_ASSIGN_OR_RETURN(std::int64_t length, GetInt(args, "length"));
  TG_ASSIGN_OR_RETURN(std::string alphabet,
                      GetString(args, "alphabet", "abcdefghijklmnopqrstuvwxyz0123456789"));
  TG_RETURN_IF_ERROR(CheckRange("length", length, 1, 4096));
  if (alphabet.empty()) return InvalidArgumentError("'alphabet' must not be empty");
  std::string out;
  for (std::int64_t i = 0; i < length; ++i) out += alphabet[rng.Index(alphabet.size())];
  return json(out);
}

StatusOr<json> GenFilename(const json& args, Rng& rng) {
  TG_ASSIGN_OR_RETURN(std::int64_t stem_words, GetInt(args, "stem_words", 2));
  TG_RETURN_IF_ERROR(CheckRange("stem_words", stem_words, 1, 6));
  TG_ASSIGN_OR_RETURN(std::string sep, GetString(args, "sep", "_"));
  std::string ext = "txt";
  if (args.contains("ext") && args["ext"].is_array()) {
    TG_ASSIGN_OR_RETURN(std::vector<std::string> exts, GetStrings(args, "ext", 1));
    ext = rng.Choice(exts);
  } else {
    TG_ASSIGN_OR_RETURN(ext, GetString(args, "ext", "txt"));
  }
  if (ext.find('/') != std::string::npos || sep.find('/') != std::string::npos) {
    return InvalidArgumentError(
        "'ext' and 'sep' must not contain '/', got ext = \"{}\", sep = \"{}\"", ext, sep);
  }
  std::vector<std::string> vocab = MergeLists({"adjectives", "nouns"});
  std::string stem;
  for (std::int64_t i = 0; i < stem_words; ++i) {
    if (i > 0) stem += sep;
    stem += rng.Choice(vocab);
  }
  if (!ext.empty() && ext[0] == '.') ext.erase(0, 1);
  return json(ext.empty() ? stem : stem + "." + ext);
}

StatusOr<json> GenDate(const json& args, Rng& rng) {
  TG_ASSIGN_OR_RETURN(std::string start_s, GetString(args, "start", "2020-01-01"));
  TG_ASSIGN_OR_RETURN(std::string end_s, GetString(args, "end", "2024-12-31"));
  TG_ASSIGN_OR_RETURN(std::string format, GetString(args, "format", "%Y-%m-%d"));
  TG_ASSIGN_OR_RETURN(std::int64_t start, ParseDate("start", start_s));
  TG_ASSIGN_OR_RETURN(std::int64_t end, ParseDate("end", end_s));
  if (start > end) {
    return InvalidArgumentError("'end' must not be before 'start', got start = {}, end = {}",
                                start_s, end_s);
  }
  auto text = FormatTime(rng.UniformInt(start, end) * 86400, format);
  if (!text.ok()) return text.status().WithContext("'format'");
  return json(*text);
}

StatusOr<json> GenValue(const json& args, Rng&) {
  if (!args.contains("value")) return InvalidArgumentError("missing argument 'value'");
  return args["value"];
}

StatusOr<json> GenRange(const json& args, Rng&) {
  TG_ASSIGN_OR_RETURN(std::int64_t start, GetInt(args, "start", 0));
  TG_ASSIGN_OR_RETURN(std::int64_t stop, GetInt(args, "stop"));
  TG_ASSIGN_OR_RETURN(std::int64_t step, GetInt(args, "step", 1));
  if (step == 0) return InvalidArgumentError("'step' must not be 0");
  if (std::llabs(start) > 1'000'000'000'000 || std::llabs(stop) > 1'000'000'000'000) {
    return InvalidArgumentError("'start' and 'stop' must be within 1e12, got start = {}, stop = {}",
                                start, stop);
  }
  json out = json::array();
  for (std::int64_t v = start; step > 0 ? v < stop : v > stop; v += step) {
    if (static_cast<std::int64_t>(out.size()) == kMaxItems) {
      return InvalidArgumentError("range has more than {} items (start = {}, stop = {}, step = {})",
                                  kMaxItems, start, stop, step);
    }
    out.push_back(v);
  }
  return out;
}

StatusOr<json> GenPermutation(const json& args, Rng& rng) {
  TG_ASSIGN_OR_RETURN(std::int64_t n, GetInt(args, "n"));
  TG_ASSIGN_OR_RETURN(std::int64_t start, GetInt(args, "start", 0));
  TG_RETURN_IF_ERROR(CheckRange("n", n, 0, kMaxItems));
  std::vector<std::int64_t> v(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = start + i;
  rng.Shuffle(v);
  return json(v);
}

StatusOr<json> GenInts(const json& args, Rng& rng) {
  TG_ASSIGN_OR_RETURN(std::int64_t count, GetInt(args, "count"));
  TG_ASSIGN_OR_RETURN(std::int64_t lo, GetInt(args, "min"));
  TG_ASSIGN_OR_RETURN(std::int64_t hi, GetInt(args, "max"));
  TG_ASSIGN_OR_RETURN(bool distinct, GetBool(args, "distinct", false));
  TG_ASSIGN_OR_RETURN(bool sorted, GetBool(args, "sorted", false));
  TG_RETURN_IF_ERROR(CheckRange("count", count, 0, kMaxItems));
  if (lo > hi) {
    return InvalidArgumentError("'max' must be >= 'min', got min = {}, max = {}", lo, hi);
  }
  std::vector<std::int64_t> v;
  if (distinct) {
    std::uint64_t span = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo);
    if (span < static_cast<std::uint64_t>(count) - 1 && count > 0) {
      return InvalidArgumentError(
          "'count' must be <= max - min + 1 ({}) when 'distinct' is true, got {}", span + 1, count);
    }
    std::set<std::int64_t> seen;
    while (static_cast<std::int64_t>(v.size()) < count) {
      std::int64_t x = rng.UniformInt(lo, hi);
      if (seen.insert(x).second) v.push_back(x);
    }
  } else {
    for (std::int64_t i = 0; i < count; ++i) v.push_back(rng.UniformInt(lo, hi));
  }
  if (sorted) std::sort(v.begin(), v.end());
  return json(v);
}

}  // namespace

void RegisterBasicGenerators(GeneratorRegistry& r) {
  auto add = [&r](GeneratorInfo info) {
    Status s = r.Register(std::move(info));
    TG_CHECK(s.ok());
  };
  add({"int", "uniform integer in [min, max]", {"min", "max"}, {"min", "max"}, GenInt});
  add({"float",
       "uniform number in [min, max] with at most `decimals` places (default 2)",
       {"min", "max", "decimals"},
       {"min", "max"},
       GenFloat});
  add({"choice",
       "one of `values` (optional `weights`)",
       {"values", "weights"},
       {"values"},
       GenChoice});
  add({"sample",
       "`count` distinct items of `values`, in random order",
       {"values", "count"},
       {"values", "count"},
       GenSample});
  add({"shuffle", "`values` in random order", {"values"}, {"values"}, GenShuffle});
  add({"bool", "true with probability `p` (default 0.5)", {"p"}, {}, GenBool});
  add({"word",
       "a word of a builtin list (default nouns) or of an inline list",
       {"list"},
       {},
       GenWord});
  add({"words",
       "`count` words (distinct by default), a list or joined with `join`",
       {"count", "list", "distinct", "join"},
       {"count"},
       GenWords});
  add({"name", "a person's first name, or \"First Last\" with full: true", {"full"}, {}, GenName});
  add({"hex", "`length` lowercase hex digits", {"length"}, {"length"}, GenHex});
  add({"token",
       "`length` characters of `alphabet` (default a-z0-9)",
       {"length", "alphabet"},
       {"length"},
       GenToken});
  add({"filename",
       "a file name like \"quiet_river.txt\" (`stem_words`, `ext`, `sep`)",
       {"ext", "stem_words", "sep"},
       {},
       GenFilename});
  add({"date",
       "a date in [start, end] (YYYY-MM-DD) formatted with `format` (default %Y-%m-%d)",
       {"start", "end", "format"},
       {},
       GenDate});
  add({"const", "`value` as given (after rendering)", {"value"}, {"value"}, GenValue});
  add({"value",
       "`value` as given (after rendering): computes a param from earlier ones",
       {"value"},
       {"value"},
       GenValue});
  add({"range",
       "the integers of Python's range(start, stop, step)",
       {"start", "stop", "step"},
       {"stop"},
       GenRange});
  add({"permutation",
       "the integers start..start+n-1 in random order",
       {"n", "start"},
       {"n"},
       GenPermutation});
  add({"ints",
       "`count` integers in [min, max] (`distinct`, `sorted` optional)",
       {"count", "min", "max", "distinct", "sorted"},
       {"count", "min", "max"},
       GenInts});
}

}  // namespace toolgym::scenarios
