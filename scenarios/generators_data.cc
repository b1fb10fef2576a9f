// Data generators: file trees, text, logs, CSV tables, configs and file sets for the shell
// families. Each returns the data together with the facts a verifier or an expert policy needs
// (where the needle is, how many lines match, which file is largest...), all computed from the
// generated data itself so they cannot drift from it.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <utility>

#include "common/check.h"
#include "scenarios/generator_util.h"
#include "scenarios/generators.h"

namespace toolgym::scenarios {
namespace {

using json = nlohmann::json;
using namespace genutil;  // NOLINT: the helpers are this file's vocabulary

std::string JoinPath(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

std::string ShellQuote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::size_t CountOccurrences(std::string_view hay, std::string_view needle) {
  if (needle.empty()) return 0;
  std::size_t n = 0;
  for (std::size_t pos = hay.find(needle); pos != std::string_view::npos;
       pos = hay.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

std::vector<std::string> SplitLines(const std::string& text) {
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

std::string JoinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += l + "\n";
  return out;
}

// The vocabulary minus every word that contains `avoid`, so filler text can never contain it.
std::vector<std::string> Without(const std::vector<std::string>& vocab, std::string_view avoid) {
  std::vector<std::string> out;
  for (const std::string& w : vocab) {
    if (avoid.empty() || w.find(avoid) == std::string::npos) out.push_back(w);
  }
  return out;
}

Status CheckRelativeDir(std::string_view key, const std::string& dir) {
  if (dir.empty()) return OkStatus();
  if (dir.front() == '/' || dir.back() == '/' || dir.find("..") != std::string::npos ||
      dir.find("//") != std::string::npos) {
    return InvalidArgumentError(
        "'{}' must be a relative path without '..' or a leading/trailing '/', got \"{}\"", key,
        dir);
  }
  return OkStatus();
}

// A name not yet in `used`: a word of `vocab`, or word + counter once the words run out.
std::string FreshName(Rng& rng, const std::vector<std::string>& vocab, std::set<std::string>& used,
                      const std::string& suffix = "") {
  for (int attempt = 0; attempt < 64; ++attempt) {
    std::string name = rng.Choice(vocab) + suffix;
    if (used.insert(name).second) return name;
  }
  for (int i = 2;; ++i) {
    std::string name = fmt::format("{}{}{}", rng.Choice(vocab), i, suffix);
    if (used.insert(name).second) return name;
  }
}

// ---------------------------------------------------------------------------------------------
// file_tree

StatusOr<json> GenFileTree(const json& args, Rng& rng) {
  TG_ASSIGN_OR_RETURN(std::int64_t n_dirs, GetInt(args, "dirs", 4));
  TG_ASSIGN_OR_RETURN(std::int64_t n_files, GetInt(args, "files", 8));
  TG_ASSIGN_OR_RETURN(std::int64_t depth, GetInt(args, "depth", 2));
  TG_ASSIGN_OR_RETURN(
      std::vector<std::string> exts,
      GetStrings(args, "exts", 1, std::vector<std::string>{"txt", "md", "log", "csv"}));
  TG_ASSIGN_OR_RETURN(std::int64_t min_size, GetInt(args, "min_size", 40));
  TG_ASSIGN_OR_RETURN(std::int64_t max_size, GetInt(args, "max_size", 400));
  TG_ASSIGN_OR_RETURN(std::string root, GetString(args, "root", ""));
  TG_RETURN_IF_ERROR(CheckRange("dirs", n_dirs, 0, 500));
  TG_RETURN_IF_ERROR(CheckRange("files", n_files, 1, 5000));
  TG_RETURN_IF_ERROR(CheckRange("depth", depth, 1, 10));
  TG_RETURN_IF_ERROR(CheckRange("min_size", min_size, 1, 1 << 20));
  TG_RETURN_IF_ERROR(CheckRange("max_size", max_size, 1, 1 << 20));
  TG_RETURN_IF_ERROR(CheckOrdered("min_size", min_size, "max_size", max_size));
  TG_RETURN_IF_ERROR(CheckRelativeDir("root", root));
  for (std::string& e : exts) {
    if (!e.empty() && e[0] == '.') e.erase(0, 1);
    if (e.find('/') != std::string::npos) {
      return InvalidArgumentError("'exts' must be file extensions, got \"{}\"", e);
    }
  }

  // The needle: a string, {"text": ...}, or true/{} for a generated one.
  bool want_needle = false;
  std::string needle;
  if (args.contains("needle")) {
    const json& nd = args["needle"];
    if (nd.is_string()) {
      want_needle = true;
      needle = nd.get<std::string>();
    } else if (nd.is_boolean()) {
      want_needle = nd.get<bool>();
    } else if (nd.is_object()) {
      want_needle = true;
      for (auto it = nd.begin(); it != nd.end(); ++it) {
        if (it.key() != "text") {
          return InvalidArgumentError("'needle' accepts only \"text\", got '{}'", it.key());
        }
      }
      if (nd.contains("text")) {
        TG_ASSIGN_OR_RETURN(needle, GetString(nd, "text"));
        if (needle.empty()) return InvalidArgumentError("'needle.text' must not be empty");
      }
    } else {
      return InvalidArgumentError("'needle' must be a string, true or {{\"text\": ...}}, got {}",
                                  Show(nd));
    }
    if (want_needle && needle.find('\n') != std::string::npos) {
      return InvalidArgumentError("'needle' must be a single line, got {}", Show(nd));
    }
    if (nd.is_string() && needle.empty()) return InvalidArgumentError("'needle' must not be empty");
  }
  if (want_needle && needle.empty()) needle = "secret-" + HexString(rng, 8);

  const std::vector<std::string>& dir_words = *BuiltinList("nouns");
  std::vector<std::string> vocab = MergeLists({"nouns", "adjectives", "verbs"});
  if (want_needle) vocab = Without(vocab, needle);
  if (vocab.empty()) return InvalidArgumentError("'needle' matches every filler word");

  // Directories: each new one goes under the root or a directory above the depth limit.
  struct Dir {
    std::string path;
    int depth;
    std::set<std::string> names;  // children, to keep sibling names distinct
  };
  std::vector<Dir> all_dirs = {{root, 0, {}}};
  for (std::int64_t i = 0; i < n_dirs; ++i) {
    std::vector<std::size_t> parents;
    for (std::size_t d = 0; d < all_dirs.size(); ++d) {
      if (all_dirs[d].depth < depth) parents.push_back(d);
    }
    std::size_t p = rng.Choice(parents);
    std::string name = FreshName(rng, dir_words, all_dirs[p].names);
    all_dirs.push_back({JoinPath(all_dirs[p].path, name), all_dirs[p].depth + 1, {}});
  }

  std::map<std::string, std::string> files;
  std::vector<std::string> order;  // creation order, for the needle draw
  std::vector<std::string> stems = MergeLists({"adjectives", "nouns"});
  for (std::int64_t i = 0; i < n_files; ++i) {
    Dir& d = all_dirs[rng.Index(all_dirs.size())];
    std::string ext = rng.Choice(exts);
    std::string name = FreshName(rng, stems, d.names, ext.empty() ? "" : "." + ext);
    std::string path = JoinPath(d.path, name);
    std::size_t size = static_cast<std::size_t>(rng.UniformInt(min_size, max_size));
    files[path] = RandomText(rng, vocab, size);
    order.push_back(path);
  }

  json out = json::object();
  if (want_needle) {
    // Filler over the filtered vocabulary cannot contain a one-word needle; a needle with
    // spaces could still form across words, so redraw any file that does.
    for (auto& [path, content] : files) {
      for (int attempt = 0; content.find(needle) != std::string::npos; ++attempt) {
        if (attempt == 50) {
          return InvalidArgumentError(
              "'needle' \"{}\" keeps appearing in filler text; use a rarer text", needle);
        }
        content = RandomText(rng, vocab, content.size());
      }
    }
    const std::string& needle_path = order[rng.Index(order.size())];
    std::vector<std::string> lines = SplitLines(files[needle_path]);
    std::size_t at = rng.Index(lines.size() + 1);
    std::string line = rng.Bernoulli(0.5) ? needle : RandomWords(rng, vocab, 2) + " " + needle;
    lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(at), line);
    files[needle_path] = JoinLines(lines);
    TG_CHECK_EQ(CountOccurrences(files[needle_path], needle), 1u);
    out["needle"] = needle;
    out["needle_path"] = needle_path;
    out["needle_line"] = at + 1;
    out["needle_dir"] = needle_path.find('/') == std::string::npos
                            ? ""
                            : needle_path.substr(0, needle_path.rfind('/'));
  } else {
    out["needle"] = nullptr;
    out["needle_path"] = nullptr;
  }

  json paths = json::array(), sizes = json::object(), by_ext = json::object();
  std::uint64_t total = 0;
  for (const auto& [path, content] : files) {
    paths.push_back(path);
    sizes[path] = content.size();
    total += content.size();
    std::size_t dot = path.rfind('.');
    std::string ext = dot == std::string::npos || path.find('/', dot) != std::string::npos
                          ? ""
                          : path.substr(dot + 1);
    by_ext[ext] = by_ext.value(ext, 0) + 1;
  }
  std::vector<std::string> dirs;
  for (const Dir& d : all_dirs) {
    if (!d.path.empty()) dirs.push_back(d.path);
  }
  std::sort(dirs.begin(), dirs.end());
  out["files"] = files;
  out["paths"] = paths;
  out["dirs"] = dirs;
  out["root"] = root;
  out["sizes"] = sizes;
  out["by_ext"] = by_ext;
  out["count"] = files.size();
  out["total_bytes"] = total;
  return out;
}

// ---------------------------------------------------------------------------------------------
// text_lines

StatusOr<json> GenTextLines(const json& args, Rng& rng) {
  TG_ASSIGN_OR_RETURN(std::int64_t count, GetInt(args, "count", 20));
  TG_RETURN_IF_ERROR(CheckRange("count", count, 1, 100000));
  TG_ASSIGN_OR_RETURN(IntRange wpl, GetIntRange(args, "words_per_line", IntRange{3, 8}, 1, 200));
  TG_ASSIGN_OR_RETURN(bool multi, GetBool(args, "multi", true));
  std::vector<std::string> vocab;
  if (args.contains("list")) {
    TG_ASSIGN_OR_RETURN(vocab, GetWordList(args, "list", "nouns"));
  } else {
    vocab = MergeLists({"nouns", "adjectives", "verbs"});
  }

  std::string word;
  std::int64_t plant_count = -1;
  if (args.contains("plant")) {
    const json& plant = args["plant"];
    if (!plant.is_object()) {
      return InvalidArgumentError("'plant' must be an object {{\"word\", \"count\"}}, got {}",
                                  Show(plant));
    }
    for (auto it = plant.begin(); it != plant.end(); ++it) {
      if (it.key() != "word" && it.key() != "count") {
        return InvalidArgumentError("'plant' accepts only word and count, got '{}'", it.key());
      }
    }
    if (plant.contains("word")) {
      auto w = GetString(plant, "word");
      if (!w.ok()) return w.status().WithContext("'plant'");
      word = *w;
      if (word.empty() || word.find_first_of(" \t\n") != std::string::npos) {
        return InvalidArgumentError("'plant.word' must be one word without spaces, got \"{}\"",
                                    word);
      }
    }
    if (plant.contains("count")) {
      auto c = GetInt(plant, "count");
      if (!c.ok()) return c.status().WithContext("'plant'");
      plant_count = *c;
      if (plant_count < 0 || plant_count > count) {
        return InvalidArgumentError("'plant.count' must be in [0, {}] (the line count), got {}",
                                    count, plant_count);
      }
    }
  }
  if (word.empty()) word = rng.Choice(*BuiltinList("animals"));
  if (plant_count < 0) plant_count = rng.UniformInt(1, std::max<std::int64_t>(1, count / 3));
  vocab = Without(vocab, word);
  if (vocab.empty()) {
    return InvalidArgumentError("every word of 'list' contains the planted word \"{}\"", word);
  }

  std::vector<std::vector<std::string>> words(static_cast<std::size_t>(count));
  for (auto& line : words) {
    std::int64_t n = rng.UniformInt(wpl.min, wpl.max);
    for (std::int64_t i = 0; i < n; ++i) line.push_back(rng.Choice(vocab));
  }
  for (std::size_t li : rng.Sample(words.size(), static_cast<std::size_t>(plant_count))) {
    int copies = multi && rng.Bernoulli(0.25) ? 2 : 1;
    for (int c = 0; c < copies; ++c) {
      auto& line = words[li];
      line.insert(line.begin() + static_cast<std::ptrdiff_t>(rng.Index(line.size() + 1)), word);
    }
  }

  std::vector<std::string> lines;
  json line_numbers = json::array();
  std::size_t occurrences = 0;
  for (std::size_t i = 0; i < words.size(); ++i) {
    lines.push_back(fmt::format("{}", fmt::join(words[i], " ")));
    std::size_t k = CountOccurrences(lines.back(), word);
    occurrences += k;
    if (k > 0) line_numbers.push_back(i + 1);
  }
  json out;
  out["text"] = JoinLines(lines);
  out["lines"] = lines;
  out["line_count"] = lines.size();
  out["word"] = word;
  out["count"] = line_numbers.size();
  out["occurrences"] = occurrences;
  out["line_numbers"] = line_numbers;
  return out;
}

// ---------------------------------------------------------------------------------------------
// log_file

std::string LogMessage(Rng& rng, const std::string& level) {
  static const std::vector<std::string_view> kInfo = {
      "request served in {ms} ms", "user {uid} logged in",     "job {job} finished",
      "cache hit for key k{n}",    "connected to replica {n}", "configuration reloaded",
      "health check passed",       "session {job} opened"};
  static const std::vector<std::string_view> kWarn = {"slow response: {ms} ms",
                                                      "retrying connection (attempt {a})",
                                                      "disk usage at {p} percent",
                                                      "cache miss for key k{n}",
                                                      "queue length {n} above soft limit",
                                                      "deprecated call from user {uid}"};
  static const std::vector<std::string_view> kError = {"connection refused by node-{a}",
                                                       "timeout after {a}0 s",
                                                       "failed to write /var/data/{w}.dat",
                                                       "unhandled exception in job {job}",
                                                       "payment {n} rejected",
                                                       "lost connection to replica {a}"};
  static const std::vector<std::string_view> kDebug = {
      "entering handler {w}", "payload size {n} bytes", "state {w} -> {w}"};
  const auto& templates = level == "WARN" || level == "WARNING"                         ? kWarn
                          : level == "ERROR" || level == "CRITICAL" || level == "FATAL" ? kError
                          : level == "DEBUG" || level == "TRACE"                        ? kDebug
                                                                                        : kInfo;
  std::string_view t = rng.Choice(templates);
  std::string out;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t[i] != '{') {
      out += t[i];
      continue;
    }
    std::size_t close = t.find('}', i);
    std::string_view key = t.substr(i + 1, close - i - 1);
    if (key == "ms") out += fmt::format("{}", rng.UniformInt(3, 2500));
    if (key == "uid") out += fmt::format("{}", rng.UniformInt(100, 9999));
    if (key == "job") out += fmt::format("{}", rng.UniformInt(10000, 99999));
    if (key == "n") out += fmt::format("{}", rng.UniformInt(1, 999));
    if (key == "a") out += fmt::format("{}", rng.UniformInt(1, 9));
    if (key == "p") out += fmt::format("{}", rng.UniformInt(80, 99));
    if (key == "w") out += rng.Choice(*BuiltinList("nouns"));
    i = close;
  }
  return out;
}

StatusOr<std::int64_t> ParseStartTime(const std::string& s) {
  if (s.size() == 10) {
    TG_ASSIGN_OR_RETURN(std::int64_t days, ParseDate("start", s));
    return days * 86400;
  }
  if (s.size() != 19 || (s[10] != ' ' && s[10] != 'T') || s[13] != ':' || s[16] != ':') {
    return InvalidArgumentError(
        "'start' must be \"YYYY-MM-DD\" or \"YYYY-MM-DD HH:MM:SS\", got \"{}\"", s);
  }
  TG_ASSIGN_OR_RETURN(std::int64_t days, ParseDate("start", s.substr(0, 10)));
  auto two = [&](std::size_t at) {
    return (s[at] >= '0' && s[at] <= '9' && s[at + 1] >= '0' && s[at + 1] <= '9')
               ? (s[at] - '0') * 10 + (s[at + 1] - '0')
               : -1;
  };
  int h = two(11), m = two(14), sec = two(17);
  if (h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 59) {
    return InvalidArgumentError("'start' has an invalid time of day, got \"{}\"", s);
  }
  return days * 86400 + h * 3600 + m * 60 + sec;
}

StatusOr<json> GenLogFile(const json& args, Rng& rng) {
  TG_ASSIGN_OR_RETURN(std::int64_t n_lines, GetInt(args, "lines", 50));
  TG_RETURN_IF_ERROR(CheckRange("lines", n_lines, 1, 200000));
  TG_ASSIGN_OR_RETURN(
      std::vector<std::string> levels,
      GetStrings(args, "levels", 1, std::vector<std::string>{"INFO", "WARN", "ERROR"}));
  TG_ASSIGN_OR_RETURN(std::int64_t max_gap, GetInt(args, "max_gap", 90));
  TG_RETURN_IF_ERROR(CheckRange("max_gap", max_gap, 1, 86400));
  std::set<std::string> level_set;
  for (const std::string& l : levels) {
    if (l.empty() || l.find_first_of(" \t\n") != std::string::npos) {
      return InvalidArgumentError("'levels' must be words without spaces, got \"{}\"", l);
    }
    if (!level_set.insert(l).second) {
      return InvalidArgumentError("'levels' has \"{}\" twice", l);
    }
  }
  std::vector<double> weights;
  if (args.contains("weights")) {
    TG_ASSIGN_OR_RETURN(json w, GetArray(args, "weights", 1));
    if (w.size() != levels.size()) {
      return InvalidArgumentError("'weights' must have one weight per level ({}), got {}",
                                  levels.size(), w.size());
    }
    for (std::size_t i = 0; i < w.size(); ++i) {
      if (!w[i].is_number() || w[i].get<double>() < 0) {
        return InvalidArgumentError("'weights' must be numbers >= 0; item {} is {}", i, Show(w[i]));
      }
      weights.push_back(w[i].get<double>());
    }
  } else {
    for (const std::string& l : levels) {
      weights.push_back(l == "ERROR" || l == "CRITICAL" || l == "FATAL" ? 0.15
                        : l == "WARN" || l == "WARNING"                 ? 0.25
                                                                        : 0.6);
    }
  }
  double wsum = 0;
  for (double w : weights) wsum += w;
  if (wsum <= 0) return InvalidArgumentError("'weights' must not all be 0");

  static const std::vector<std::string> kServices = {"auth",      "api",     "db",      "cache",
                                                     "worker",    "billing", "search",  "mailer",
                                                     "scheduler", "gateway", "storage", "metrics"};
  std::vector<std::string> services;
  if (args.contains("services") && args["services"].is_array()) {
    TG_ASSIGN_OR_RETURN(services, GetStrings(args, "services", 1));
    std::set<std::string> seen;
    for (const std::string& s : services) {
      if (s.empty() || s.find_first_of(" \t\n:") != std::string::npos) {
        return InvalidArgumentError("'services' must be names without spaces or ':', got \"{}\"",
                                    s);
      }
      if (!seen.insert(s).second) return InvalidArgumentError("'services' has \"{}\" twice", s);
    }
  } else {
    TG_ASSIGN_OR_RETURN(std::int64_t n, GetInt(args, "services", 4));
    TG_RETURN_IF_ERROR(CheckRange("services", n, 1, static_cast<std::int64_t>(kServices.size())));
    for (std::size_t i : rng.Sample(kServices.size(), static_cast<std::size_t>(n))) {
      services.push_back(kServices[i]);
    }
  }
  // Level names must be findable by grep: no service or message may contain one.
  for (const std::string& s : services) {
    for (const std::string& l : levels) {
      if (s.find(l) != std::string::npos) {
        return InvalidArgumentError("service \"{}\" contains the level name \"{}\"", s, l);
      }
    }
  }

  std::int64_t t = 0;
  if (args.contains("start")) {
    TG_ASSIGN_OR_RETURN(std::string start, GetString(args, "start"));
    TG_ASSIGN_OR_RETURN(t, ParseStartTime(start));
  } else {
    t = rng.UniformInt(DaysFromCivil(2023, 1, 1), DaysFromCivil(2024, 12, 31)) * 86400 +
        rng.UniformInt(0, 12 * 3600);
  }

  std::vector<std::int64_t> service_weight;
  for (std::size_t i = 0; i < services.size(); ++i) service_weight.push_back(rng.UniformInt(1, 6));
  std::int64_t sw_sum = 0;
  for (auto w : service_weight) sw_sum += w;

  struct Entry {
    std::int64_t time;
    std::size_t level;
    std::size_t service;
    std::string message;
  };
  std::vector<Entry> entries;
  for (std::int64_t i = 0; i < n_lines; ++i) {
    Entry e;
    if (i > 0) t += rng.UniformInt(1, max_gap);  // the first line is at the start time
    e.time = t;
    double x = rng.UniformReal() * wsum;
    e.level = levels.size() - 1;
    for (std::size_t l = 0; l < levels.size(); ++l) {
      if (x < weights[l]) {
        e.level = l;
        break;
      }
      x -= weights[l];
    }
    std::int64_t y = rng.UniformInt(0, sw_sum - 1);
    e.service = 0;
    while (y >= service_weight[e.service]) y -= service_weight[e.service++];
    entries.push_back(std::move(e));
  }
  // Every service logs at least once when there are enough lines, so "services" matches what
  // the text shows: a silent service takes over a line of the busiest one.
  if (entries.size() >= services.size()) {
    std::vector<std::int64_t> counts(services.size(), 0);
    for (const Entry& e : entries) ++counts[e.service];
    for (std::size_t s = 0; s < services.size(); ++s) {
      if (counts[s] > 0) continue;
      std::size_t busiest =
          static_cast<std::size_t>(std::max_element(counts.begin(), counts.end()) - counts.begin());
      std::vector<std::size_t> lines_of_busiest;
      for (std::size_t i = 0; i < entries.size(); ++i) {
        if (entries[i].service == busiest) lines_of_busiest.push_back(i);
      }
      entries[rng.Choice(lines_of_busiest)].service = s;
      --counts[busiest];
      ++counts[s];
    }
  }
  // An ERROR level, when there is one, appears at least once so "first_error" exists.
  auto error_it = std::find(levels.begin(), levels.end(), "ERROR");
  if (error_it != levels.end()) {
    std::size_t error_level = static_cast<std::size_t>(error_it - levels.begin());
    bool any = std::any_of(entries.begin(), entries.end(),
                           [&](const Entry& e) { return e.level == error_level; });
    if (!any && weights[error_level] > 0) entries[rng.Index(entries.size())].level = error_level;
  }
  // A unique busiest service: ties are broken by moving one line to the first tied service.
  if (services.size() > 1) {
    std::vector<std::int64_t> counts(services.size(), 0);
    for (const Entry& e : entries) ++counts[e.service];
    std::int64_t top = *std::max_element(counts.begin(), counts.end());
    std::vector<std::size_t> tied;
    for (std::size_t s = 0; s < services.size(); ++s) {
      if (counts[s] == top) tied.push_back(s);
    }
    if (tied.size() > 1) {
      for (Entry& e : entries) {
        if (e.service == tied[1]) {
          e.service = tied[0];
          break;
        }
      }
    }
  }

  std::vector<std::string> lines;
  json counts = json::object(), by_service = json::object(), by_level_service = json::object();
  json first = json::object(), last = json::object();
  for (const std::string& l : levels) {
    counts[l] = 0;
    by_level_service[l] = json::object();
  }
  for (const std::string& s : services) by_service[s] = 0;
  for (Entry& e : entries) {
    const std::string& level = levels[e.level];
    for (int attempt = 0;; ++attempt) {
      e.message = LogMessage(rng, level);
      // grep for a level or "service:" must find exactly the lines that have it.
      bool clash = false;
      for (const std::string& l : levels) clash = clash || e.message.find(l) != std::string::npos;
      for (const std::string& s : services) clash = clash || e.message.find(s) != std::string::npos;
      if (!clash) break;
      if (attempt == 20) {
        return InvalidArgumentError(
            "level names ({}) or service names ({}) keep appearing in log messages; use uppercase "
            "level names and longer service names",
            fmt::join(levels, ", "), fmt::join(services, ", "));
      }
    }
    TG_ASSIGN_OR_RETURN(std::string stamp, FormatTime(e.time, "%Y-%m-%d %H:%M:%S"));
    const std::string& service = services[e.service];
    lines.push_back(fmt::format("{} {} {}: {}", stamp, level, service, e.message));
    counts[level] = counts[level].get<std::int64_t>() + 1;
    by_service[service] = by_service[service].get<std::int64_t>() + 1;
    by_level_service[level][service] = by_level_service[level].value(service, 0) + 1;
    if (!first.contains(level)) first[level] = lines.back();
    last[level] = lines.back();
  }
  std::string top_service;
  std::int64_t top_count = -1;
  for (const std::string& s : services) {
    if (by_service[s].get<std::int64_t>() > top_count) {
      top_count = by_service[s].get<std::int64_t>();
      top_service = s;
    }
  }
  json out;
  out["text"] = JoinLines(lines);
  out["lines"] = lines;
  out["line_count"] = lines.size();
  out["levels"] = levels;
  out["services"] = services;
  out["counts"] = counts;
  out["by_service"] = by_service;
  out["by_level_service"] = by_level_service;
  out["top_service"] = top_service;
  out["first"] = first;
  out["last"] = last;
  out["first_error"] = first.contains("ERROR") ? first["ERROR"] : json(nullptr);
  out["last_error"] = last.contains("ERROR") ? last["ERROR"] : json(nullptr);
  out["first_error_time"] = first.contains("ERROR")
                                ? json(first["ERROR"].get<std::string>().substr(0, 19))
                                : json(nullptr);
  out["start_time"] = lines.front().substr(0, 19);
  out["end_time"] = lines.back().substr(0, 19);
  return out;
}

// ---------------------------------------------------------------------------------------------
// csv_table

struct Column {
  std::string name;
  std::string kind;  // id, int, float, word, name, city, date
  std::int64_t min = 0, max = 0;
  int decimals = 2;  // float: min and max are in units of 10^-decimals
  std::vector<std::string> list;
};

StatusOr<Column> ParseColumn(const json& spec, std::size_t index) {
  auto where = [&](const Status& s) {
    return Status(s.code(), fmt::format("'columns' item {}: {}", index, s.message()));
  };
  if (!spec.is_object())
    return where(InvalidArgumentError("must be an object, got {}", Show(spec)));
  static const std::set<std::string> kFields = {"name", "kind", "min", "max", "decimals", "list"};
  for (auto it = spec.begin(); it != spec.end(); ++it) {
    if (kFields.count(it.key()) == 0) {
      return where(InvalidArgumentError(
          "unknown field '{}'; expected one of: name, kind, min, max, decimals, list", it.key()));
    }
  }
  Column c;
  auto name = GetString(spec, "name");
  if (!name.ok()) return where(name.status());
  c.name = *name;
  if (c.name.empty() || c.name.find_first_of(",;|\t\n\"") != std::string::npos) {
    return where(
        InvalidArgumentError("'name' must be non-empty without delimiters, got \"{}\"", c.name));
  }
  auto kind = GetString(spec, "kind");
  if (!kind.ok()) return where(kind.status());
  c.kind = *kind;
  static const std::set<std::string> kKinds = {"id",   "int",  "float", "word",
                                               "name", "city", "date"};
  if (kKinds.count(c.kind) == 0) {
    return where(InvalidArgumentError(
        "'kind' must be one of id, int, float, word, name, city, date, got \"{}\"", c.kind));
  }
  if (c.kind == "int" || c.kind == "id") {
    std::int64_t def_min = c.kind == "id" ? 1 : 0, def_max = c.kind == "id" ? 1 : 100;
    auto lo = GetInt(spec, "min", def_min);
    if (!lo.ok()) return where(lo.status());
    auto hi = GetInt(spec, "max", def_max);
    if (!hi.ok()) return where(hi.status());
    c.min = *lo;
    c.max = *hi;
    if (c.kind == "int" && c.min > c.max) {
      return where(
          InvalidArgumentError("'max' must be >= 'min', got min = {}, max = {}", c.min, c.max));
    }
    if (std::llabs(c.min) > 1'000'000'000'000 || std::llabs(c.max) > 1'000'000'000'000) {
      return where(InvalidArgumentError("'min' and 'max' must be within 1e12"));
    }
  } else if (c.kind == "float") {
    // Held as integers in units of 10^-decimals, so sums are exact.
    auto d = GetInt(spec, "decimals", 2);
    if (!d.ok()) return where(d.status());
    Status r = CheckRange("decimals", *d, 0, 6);
    if (!r.ok()) return where(r);
    c.decimals = static_cast<int>(*d);
    auto lo = GetNumber(spec, "min", 0);
    if (!lo.ok()) return where(lo.status());
    auto hi = GetNumber(spec, "max", 100);
    if (!hi.ok()) return where(hi.status());
    if (*lo > *hi) {
      return where(
          InvalidArgumentError("'max' must be >= 'min', got min = {}, max = {}", *lo, *hi));
    }
    if (std::fabs(*lo) > 1e9 || std::fabs(*hi) > 1e9) {
      return where(InvalidArgumentError("'min' and 'max' of a float column must be within 1e9"));
    }
    double scale = std::pow(10.0, c.decimals);
    c.min = static_cast<std::int64_t>(std::ceil(*lo * scale - 1e-6));
    c.max = static_cast<std::int64_t>(std::floor(*hi * scale + 1e-6));
    if (c.min > c.max) {
      return where(
          InvalidArgumentError("no value with {} decimals lies in [{}, {}]", c.decimals, *lo, *hi));
    }
  } else if (c.kind == "date") {
    auto lo = GetString(spec, "min", "2020-01-01");
    auto hi = GetString(spec, "max", "2024-12-31");
    if (!lo.ok()) return where(lo.status());
    if (!hi.ok()) return where(hi.status());
    auto dlo = ParseDate("min", *lo);
    auto dhi = ParseDate("max", *hi);
    if (!dlo.ok()) return where(dlo.status());
    if (!dhi.ok()) return where(dhi.status());
    c.min = *dlo;
    c.max = *dhi;
    if (c.min > c.max) {
      return where(
          InvalidArgumentError("'max' must not be before 'min', got min = {}, max = {}", *lo, *hi));
    }
  }
  if (c.kind == "word") {
    auto list = GetWordList(spec, "list", "fruits");
    if (!list.ok()) return where(list.status());
    c.list = *list;
    for (const std::string& w : c.list) {
      if (w.find_first_of(",;|\t\n\"") != std::string::npos) {
        return where(
            InvalidArgumentError("'list' words must not contain delimiters, got \"{}\"", w));
      }
    }
  } else if (spec.contains("list")) {
    return where(InvalidArgumentError("'list' applies only to kind \"word\""));
  }
  return c;
}

std::string Capitalized(std::string s) {
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}

StatusOr<json> GenCsvTable(const json& args, Rng& rng) {
  TG_ASSIGN_OR_RETURN(IntRange rows_range, GetIntRange(args, "rows", IntRange{8, 15}, 1, 100000));
  TG_ASSIGN_OR_RETURN(std::string delimiter, GetString(args, "delimiter", ","));
  if (delimiter != "," && delimiter != ";" && delimiter != "\t" && delimiter != "|") {
    return InvalidArgumentError(
        "'delimiter' must be one of \",\", \";\", \"\\t\", \"|\", got \"{}\"", delimiter);
  }
  json default_columns = json::parse(R"([
      {"name": "id", "kind": "id"}, {"name": "name", "kind": "name"},
      {"name": "city", "kind": "city"}, {"name": "age", "kind": "int", "min": 18, "max": 90},
      {"name": "score", "kind": "float", "min": 0, "max": 100, "decimals": 1}])");
  TG_ASSIGN_OR_RETURN(json column_specs, GetArray(args, "columns", 1, default_columns));
  std::vector<Column> columns;
  std::set<std::string> names;
  for (std::size_t i = 0; i < column_specs.size(); ++i) {
    TG_ASSIGN_OR_RETURN(Column c, ParseColumn(column_specs[i], i));
    if (!names.insert(c.name).second) {
      return InvalidArgumentError("'columns' has the name \"{}\" twice", c.name);
    }
    columns.push_back(std::move(c));
  }
  std::int64_t n_rows = rng.UniformInt(rows_range.min, rows_range.max);

  // Cell values: numbers as scaled integers (exact sums), everything else as text.
  std::vector<std::vector<std::int64_t>> scaled(columns.size());
  std::vector<std::vector<std::string>> text(columns.size());
  for (std::size_t c = 0; c < columns.size(); ++c) {
    const Column& col = columns[c];
    for (std::int64_t r = 0; r < n_rows; ++r) {
      std::int64_t v = 0;
      std::string s;
      if (col.kind == "id") {
        v = col.min + r;
        s = fmt::format("{}", v);
      } else if (col.kind == "int") {
        v = rng.UniformInt(col.min, col.max);
        s = fmt::format("{}", v);
      } else if (col.kind == "float") {
        v = rng.UniformInt(col.min, col.max);
        s = FormatScaled(v, col.decimals);
      } else if (col.kind == "word") {
        s = rng.Choice(col.list);
      } else if (col.kind == "name") {
        s = rng.Choice(*BuiltinList("names"));
      } else if (col.kind == "city") {
        s = Capitalized(rng.Choice(*BuiltinList("cities")));
      } else {
        auto d = FormatTime(rng.UniformInt(col.min, col.max) * 86400, "%Y-%m-%d");
        TG_CHECK(d.ok());
        s = *d;
      }
      scaled[c].push_back(v);
      text[c].push_back(std::move(s));
    }
  }

  auto is_numeric = [](const Column& c) {
    return c.kind == "id" || c.kind == "int" || c.kind == "float";
  };
  auto cell = [&](std::size_t c, std::size_t r) -> json {
    const Column& col = columns[c];
    if (col.kind == "float") return ScaledToDouble(scaled[c][r], col.decimals);
    if (is_numeric(col)) return scaled[c][r];
    return text[c][r];
  };

  std::string csv;
  json header = json::array();
  for (std::size_t c = 0; c < columns.size(); ++c) {
    if (c > 0) csv += delimiter;
    csv += columns[c].name;
    header.push_back(columns[c].name);
  }
  csv += '\n';
  json rows = json::array();
  for (std::size_t r = 0; r < static_cast<std::size_t>(n_rows); ++r) {
    json row = json::object();
    for (std::size_t c = 0; c < columns.size(); ++c) {
      if (c > 0) csv += delimiter;
      csv += text[c][r];
      row[columns[c].name] = cell(c, r);
    }
    csv += '\n';
    rows.push_back(std::move(row));
  }

  json sums = json::object(), maxes = json::object(), mins = json::object();
  json distinct = json::object(), values = json::object(), argmax = json::object(),
       argmin = json::object();
  for (std::size_t c = 0; c < columns.size(); ++c) {
    const Column& col = columns[c];
    json column_values = json::array();
    for (std::size_t r = 0; r < static_cast<std::size_t>(n_rows); ++r)
      column_values.push_back(cell(c, r));
    values[col.name] = column_values;
    std::set<std::string> seen(text[c].begin(), text[c].end());
    distinct[col.name] = seen.size();
    if (is_numeric(col)) {
      std::int64_t total = 0;
      for (std::int64_t v : scaled[c]) total += v;
      sums[col.name] =
          col.kind == "float" ? json(ScaledToDouble(total, col.decimals)) : json(total);
      auto [lo, hi] = std::minmax_element(scaled[c].begin(), scaled[c].end());
      std::size_t ilo = static_cast<std::size_t>(lo - scaled[c].begin());
      std::size_t ihi = static_cast<std::size_t>(hi - scaled[c].begin());
      mins[col.name] = cell(c, ilo);
      maxes[col.name] = cell(c, ihi);
      auto unique = [&](std::int64_t v) {
        return std::count(scaled[c].begin(), scaled[c].end(), v) == 1;
      };
      argmax[col.name] = unique(*hi) ? json(ihi) : json(nullptr);
      argmin[col.name] = unique(*lo) ? json(ilo) : json(nullptr);
    } else {
      mins[col.name] = *std::min_element(text[c].begin(), text[c].end());
      maxes[col.name] = *std::max_element(text[c].begin(), text[c].end());
    }
  }
  json out;
  out["text"] = csv;
  out["header"] = header;
  out["delimiter"] = delimiter;
  out["rows"] = rows;
  out["row_count"] = n_rows;
  out["columns"] = values;
  out["column_sums"] = sums;
  out["column_max"] = maxes;
  out["column_min"] = mins;
  out["argmax"] = argmax;
  out["argmin"] = argmin;
  out["distinct_counts"] = distinct;
  return out;
}

// ---------------------------------------------------------------------------------------------
// sized_files

StatusOr<json> GenSizedFiles(const json& args, Rng& rng) {
  TG_ASSIGN_OR_RETURN(std::int64_t count, GetInt(args, "count", 5));
  TG_ASSIGN_OR_RETURN(std::int64_t min_size, GetInt(args, "min_size", 100));
  TG_ASSIGN_OR_RETURN(std::int64_t max_size, GetInt(args, "max_size", 5000));
  TG_ASSIGN_OR_RETURN(std::string dir, GetString(args, "dir", ""));
  TG_RETURN_IF_ERROR(CheckRange("count", count, 1, 2000));
  TG_RETURN_IF_ERROR(CheckRange("min_size", min_size, 1, 16 << 20));
  TG_RETURN_IF_ERROR(CheckRange("max_size", max_size, 1, 16 << 20));
  TG_RETURN_IF_ERROR(CheckOrdered("min_size", min_size, "max_size", max_size));
  TG_RETURN_IF_ERROR(CheckRelativeDir("dir", dir));
  if (max_size - min_size + 1 < count) {
    return InvalidArgumentError(
        "'count' distinct sizes need max_size - min_size + 1 >= count, got min_size = {}, "
        "max_size = {}, count = {}",
        min_size, max_size, count);
  }
  std::vector<std::string> exts;
  if (args.contains("ext") && args["ext"].is_array()) {
    TG_ASSIGN_OR_RETURN(exts, GetStrings(args, "ext", 1));
  } else {
    TG_ASSIGN_OR_RETURN(std::string ext, GetString(args, "ext", "txt"));
    exts.push_back(ext);
  }
  for (std::string& e : exts) {
    if (!e.empty() && e[0] == '.') e.erase(0, 1);
    if (e.find('/') != std::string::npos) return InvalidArgumentError("'ext' must not contain '/'");
  }

  std::vector<std::size_t> size_idx = rng.Sample(static_cast<std::size_t>(max_size - min_size + 1),
                                                 static_cast<std::size_t>(count));
  std::int64_t base =
      rng.UniformInt(DaysFromCivil(2023, 1, 1), DaysFromCivil(2024, 12, 31)) * 86400;
  std::vector<std::size_t> mtime_idx =
      rng.Sample(30 * 86400, static_cast<std::size_t>(count));  // distinct seconds in 30 days
  std::vector<std::string> vocab = MergeLists({"nouns", "adjectives", "verbs"});
  std::vector<std::string> stems = MergeLists({"nouns", "adjectives"});
  std::set<std::string> used;
  json files = json::object(), sizes = json::object(), mtimes = json::object(),
       mtime_text = json::object();
  std::vector<std::pair<std::int64_t, std::string>> by_size, by_mtime;
  std::string touch;
  for (std::int64_t i = 0; i < count; ++i) {
    std::string ext = rng.Choice(exts);
    std::string name = FreshName(rng, stems, used, ext.empty() ? "" : "." + ext);
    std::string path = JoinPath(dir, name);
    std::size_t size = static_cast<std::size_t>(min_size) + size_idx[static_cast<std::size_t>(i)];
    std::string content = RandomText(rng, vocab, size);
    content.resize(size - 1);
    content += '\n';
    std::int64_t mtime = base + static_cast<std::int64_t>(mtime_idx[static_cast<std::size_t>(i)]);
    files[path] = content;
    sizes[path] = size;
    mtimes[path] = mtime;
    TG_ASSIGN_OR_RETURN(std::string mt, FormatTime(mtime, "%Y-%m-%d %H:%M:%S"));
    mtime_text[path] = mt;
    by_size.emplace_back(static_cast<std::int64_t>(size), path);
    by_mtime.emplace_back(mtime, path);
    touch += fmt::format("touch -m -d @{} {}\n", mtime, ShellQuote(path));
  }
  std::sort(by_size.rbegin(), by_size.rend());
  std::sort(by_mtime.rbegin(), by_mtime.rend());
  json order_size = json::array(), order_mtime = json::array();
  std::int64_t total = 0;
  for (const auto& [s, p] : by_size) {
    order_size.push_back(p);
    total += s;
  }
  for (const auto& [t, p] : by_mtime) order_mtime.push_back(p);
  json out;
  out["files"] = files;
  std::vector<std::string> paths;
  for (auto it = files.begin(); it != files.end(); ++it) paths.push_back(it.key());
  out["paths"] = paths;
  out["dir"] = dir;
  out["sizes"] = sizes;
  out["largest"] = by_size.front().second;
  out["smallest"] = by_size.back().second;
  out["order_by_size"] = order_size;
  out["total_size"] = total;
  out["mtimes"] = mtimes;
  out["mtime_text"] = mtime_text;
  out["newest"] = by_mtime.front().second;
  out["oldest"] = by_mtime.back().second;
  out["order_by_mtime"] = order_mtime;
  out["touch_script"] = touch;
  return out;
}

// ---------------------------------------------------------------------------------------------
// config_file

struct ConfigKey {
  const char* name;
  char kind;  // i: int in [lo, hi], b: bool, w: one of `choices`
  std::int64_t lo, hi;
  std::vector<const char*> choices;
};

const std::vector<ConfigKey>& ConfigKeys() {
  static const std::vector<ConfigKey> kKeys = {
      {"port", 'i', 1024, 65535, {}},
      {"timeout", 'i', 1, 120, {}},
      {"max_connections", 'i', 10, 1000, {}},
      {"retries", 'i', 0, 10, {}},
      {"workers", 'i', 1, 64, {}},
      {"cache_size", 'i', 16, 4096, {}},
      {"buffer_size", 'i', 512, 65536, {}},
      {"max_upload_mb", 'i', 1, 500, {}},
      {"pool_size", 'i', 1, 50, {}},
      {"keepalive", 'i', 5, 300, {}},
      {"interval", 'i', 1, 3600, {}},
      {"threshold", 'i', 1, 100, {}},
      {"enabled", 'b', 0, 0, {}},
      {"debug", 'b', 0, 0, {}},
      {"compress", 'b', 0, 0, {}},
      {"verbose", 'b', 0, 0, {}},
      {"use_tls", 'b', 0, 0, {}},
      {"read_only", 'b', 0, 0, {}},
      {"auto_reload", 'b', 0, 0, {}},
      {"host",
       'w',
       0,
       0,
       {"localhost", "db01.internal", "cache.local", "10.0.0.5", "api.example.com",
        "node7.cluster"}},
      {"log_level", 'w', 0, 0, {"debug", "info", "warning", "error"}},
      {"user", 'w', 0, 0, {"admin", "deploy", "service", "backup", "monitor"}},
      {"mode", 'w', 0, 0, {"fast", "safe", "balanced", "strict"}},
      {"data_dir", 'w', 0, 0, {"/var/lib/app", "/srv/data", "/opt/store", "/data/main"}},
      {"region", 'w', 0, 0, {"eu-west", "eu-north", "us-east", "us-west", "ap-south"}},
      {"theme", 'w', 0, 0, {"light", "dark", "solarized", "contrast"}},
      {"backend", 'w', 0, 0, {"sqlite", "postgres", "redis", "memory"}},
      {"format", 'w', 0, 0, {"json", "text", "csv", "yaml"}},
      {"protocol", 'w', 0, 0, {"http", "https", "grpc", "tcp"}},
      {"charset", 'w', 0, 0, {"utf8", "latin1", "ascii"}},
  };
  return kKeys;
}

std::string ConfigValue(Rng& rng, const ConfigKey& k) {
  if (k.kind == 'i') return fmt::format("{}", rng.UniformInt(k.lo, k.hi));
  if (k.kind == 'b') return rng.Bernoulli(0.5) ? "true" : "false";
  return rng.Choice(k.choices);
}

StatusOr<json> GenConfigFile(const json& args, Rng& rng) {
  TG_ASSIGN_OR_RETURN(std::string format, GetString(args, "format", "ini"));
  if (format != "ini" && format != "kv") {
    return InvalidArgumentError("'format' must be \"ini\" or \"kv\", got \"{}\"", format);
  }
  const bool ini = format == "ini";
  TG_ASSIGN_OR_RETURN(std::int64_t n_sections, GetInt(args, "sections", ini ? 3 : 1));
  TG_ASSIGN_OR_RETURN(std::int64_t n_keys, GetInt(args, "keys", ini ? 4 : 6));
  TG_RETURN_IF_ERROR(CheckRange("sections", n_sections, 1, 10));
  TG_RETURN_IF_ERROR(CheckRange("keys", n_keys, 1, 30));
  if (!ini && n_sections != 1) {
    return InvalidArgumentError("'sections' applies to format \"ini\" only, got {} for \"kv\"",
                                n_sections);
  }
  const auto& keys = ConfigKeys();
  if (n_sections * n_keys > static_cast<std::int64_t>(keys.size())) {
    return InvalidArgumentError(
        "sections * keys must be <= {} (every key is distinct), got sections = {}, keys = {}",
        keys.size(), n_sections, n_keys);
  }
  static const std::vector<std::string> kSections = {"server",    "database", "cache",   "logging",
                                                     "auth",      "network",  "storage", "metrics",
                                                     "scheduler", "api"};
  static const std::vector<std::string> kApps = {"webapp", "indexer", "gateway", "tracker",
                                                 "ledger", "relay",   "courier", "harbor"};
  std::string app = rng.Choice(kApps);
  std::vector<std::size_t> key_idx =
      rng.Sample(keys.size(), static_cast<std::size_t>(n_sections * n_keys));
  std::vector<std::size_t> section_idx =
      rng.Sample(kSections.size(), static_cast<std::size_t>(n_sections));

  struct Line {
    std::string text;
    int section = -1;  // for key lines: section index; -1 for other lines
    std::size_t key = 0;
    std::string value;
  };
  std::vector<Line> lines;
  lines.push_back({fmt::format("# {} configuration", app)});
  json entries = json::object();
  for (std::int64_t s = 0; s < n_sections; ++s) {
    const std::string& section = kSections[section_idx[static_cast<std::size_t>(s)]];
    if (ini) {
      lines.push_back({""});
      lines.push_back({"[" + section + "]"});
      entries[section] = json::object();
    }
    for (std::int64_t k = 0; k < n_keys; ++k) {
      const ConfigKey& key = keys[key_idx[static_cast<std::size_t>(s * n_keys + k)]];
      std::string value = ConfigValue(rng, key);
      Line l;
      l.text =
          ini ? fmt::format("{} = {}", key.name, value) : fmt::format("{}={}", key.name, value);
      l.section = static_cast<int>(s);
      l.key = key_idx[static_cast<std::size_t>(s * n_keys + k)];
      l.value = value;
      lines.push_back(l);
      if (ini) {
        entries[section][key.name] = value;
      } else {
        entries[key.name] = value;
      }
    }
  }
  std::vector<std::size_t> key_lines;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].section >= 0) key_lines.push_back(i);
  }
  std::size_t target = rng.Choice(key_lines);
  const ConfigKey& tkey = keys[lines[target].key];
  std::string old_value = lines[target].value, new_value;
  if (tkey.kind == 'b') {
    new_value = old_value == "true" ? "false" : "true";
  } else {
    do {
      new_value = ConfigValue(rng, tkey);
    } while (new_value == old_value);
  }
  std::string text, expected;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    text += lines[i].text + "\n";
    if (i == target) {
      expected += ini ? fmt::format("{} = {}\n", tkey.name, new_value)
                      : fmt::format("{}={}\n", tkey.name, new_value);
    } else {
      expected += lines[i].text + "\n";
    }
  }
  json out;
  out["format"] = format;
  out["app"] = app;
  out["text"] = text;
  out["entries"] = entries;
  out["target_key"] = tkey.name;
  out["target_section"] =
      ini ? json(kSections[section_idx[static_cast<std::size_t>(lines[target].section)]])
          : json(nullptr);
  out["target_line"] = target + 1;
  out["old_value"] = old_value;
  out["new_value"] = new_value;
  out["old_line"] = lines[target].text;
  out["new_line"] = ini ? fmt::format("{} = {}", tkey.name, new_value)
                        : fmt::format("{}={}", tkey.name, new_value);
  out["expected_text"] = expected;
  return out;
}

// ---------------------------------------------------------------------------------------------
// file_pair

StatusOr<json> GenFilePair(const json& args, Rng& rng) {
  TG_ASSIGN_OR_RETURN(std::int64_t n_lines, GetInt(args, "lines", 20));
  TG_ASSIGN_OR_RETURN(std::int64_t changes, GetInt(args, "changes", 3));
  TG_ASSIGN_OR_RETURN(IntRange wpl, GetIntRange(args, "words_per_line", IntRange{3, 8}, 1, 200));
  TG_RETURN_IF_ERROR(CheckRange("lines", n_lines, 1, 100000));
  if (changes < 0 || changes > n_lines) {
    return InvalidArgumentError("'changes' must be in [0, {}] (the line count), got {}", n_lines,
                                changes);
  }
  std::vector<std::string> vocab = MergeLists({"nouns", "adjectives", "verbs"});
  auto line = [&] {
    return RandomWords(rng, vocab, static_cast<std::size_t>(rng.UniformInt(wpl.min, wpl.max)));
  };
  std::vector<std::string> a, b;
  for (std::int64_t i = 0; i < n_lines; ++i) a.push_back(line());
  b = a;
  std::vector<std::size_t> changed = rng.Sample(a.size(), static_cast<std::size_t>(changes));
  std::sort(changed.begin(), changed.end());
  json diff_lines = json::array(), detail = json::array();
  for (std::size_t i : changed) {
    // Usually one word replaced (a realistic edit), sometimes a whole new line.
    if (rng.Bernoulli(0.7)) {
      std::vector<std::string> words;
      std::size_t start = 0;
      const std::string& s = a[i];
      while (start <= s.size()) {
        std::size_t sp = s.find(' ', start);
        if (sp == std::string::npos) sp = s.size();
        words.push_back(s.substr(start, sp - start));
        start = sp + 1;
      }
      std::size_t w = rng.Index(words.size());
      std::string old = words[w];
      do {
        words[w] = rng.Choice(vocab);
      } while (words[w] == old);
      b[i] = fmt::format("{}", fmt::join(words, " "));
    } else {
      do {
        b[i] = line();
      } while (b[i] == a[i]);
    }
    diff_lines.push_back(i + 1);
    detail.push_back({{"line", i + 1}, {"a", a[i]}, {"b", b[i]}});
  }
  json out;
  out["a"] = JoinLines(a);
  out["b"] = JoinLines(b);
  out["lines_a"] = a;
  out["lines_b"] = b;
  out["line_count"] = a.size();
  out["diff_lines"] = diff_lines;
  out["changed_count"] = changed.size();
  out["changes"] = detail;
  return out;
}

// ---------------------------------------------------------------------------------------------
// rename_set

// A rename pattern: literal text around exactly one number field, "{n}" or "{n:0W}" (zero
// padded to width W).
struct Pattern {
  std::string prefix, suffix;
  int width = 0;
  std::string source;

  std::string Render(std::int64_t n) const {
    return prefix + (width > 0 ? fmt::format("{:0{}}", n, width) : fmt::format("{}", n)) + suffix;
  }
  std::string Glob() const { return prefix + "*" + suffix; }
  std::string Regex() const {
    auto esc = [](const std::string& s) {
      std::string out;
      for (char c : s) {
        if (std::string_view(".^$|()[]{}*+?\\").find(c) != std::string_view::npos) out += '\\';
        out += c;
      }
      return out;
    };
    return "^" + esc(prefix) + "([0-9]+)" + esc(suffix) + "$";
  }
};

StatusOr<Pattern> ParsePattern(std::string_view key, const std::string& s) {
  std::size_t open = s.find('{');
  auto bad = [&](std::string_view why) {
    return InvalidArgumentError(
        "'{}' must contain one number field {{n}} or {{n:03}} ({}), got \"{}\"", key, why, s);
  };
  if (open == std::string::npos) return bad("none found");
  std::size_t close = s.find('}', open);
  if (close == std::string::npos) return bad("unclosed '{'");
  Pattern p;
  p.source = s;
  p.prefix = s.substr(0, open);
  p.suffix = s.substr(close + 1);
  std::string field = s.substr(open + 1, close - open - 1);
  if (field == "n") {
    p.width = 0;
  } else if (field.size() >= 4 && field.substr(0, 3) == "n:0" &&
             std::all_of(field.begin() + 3, field.end(),
                         [](char c) { return c >= '0' && c <= '9'; })) {
    p.width = std::stoi(field.substr(3));
    if (p.width < 1 || p.width > 9) return bad("width must be 1-9");
  } else {
    return bad(fmt::format("unknown field {{{}}}", field));
  }
  if (p.prefix.find_first_of("{}") != std::string::npos ||
      p.suffix.find_first_of("{}") != std::string::npos) {
    return bad("more than one field");
  }
  if (s.find('/') != std::string::npos || s.find_first_of("*?[\n") != std::string::npos) {
    return bad("file names only, without '/' or glob characters");
  }
  if (p.prefix.empty() && p.suffix.empty()) return bad("no text around the number");
  if (!p.prefix.empty() && p.prefix.back() >= '0' && p.prefix.back() <= '9') {
    return bad("the text before the number must not end with a digit");
  }
  if (!p.suffix.empty() && p.suffix.front() >= '0' && p.suffix.front() <= '9') {
    return bad("the text after the number must not start with a digit");
  }
  return p;
}

StatusOr<json> GenRenameSet(const json& args, Rng& rng) {
  TG_ASSIGN_OR_RETURN(std::int64_t count, GetInt(args, "count", 5));
  TG_ASSIGN_OR_RETURN(std::int64_t extra, GetInt(args, "extra", 2));
  TG_ASSIGN_OR_RETURN(std::string dir, GetString(args, "dir", ""));
  TG_RETURN_IF_ERROR(CheckRange("count", count, 1, 500));
  TG_RETURN_IF_ERROR(CheckRange("extra", extra, 0, 100));
  TG_RETURN_IF_ERROR(CheckRelativeDir("dir", dir));
  if (args.contains("from") != args.contains("to")) {
    return InvalidArgumentError("'from' and 'to' must be given together (or neither)");
  }

  std::string from_s, to_s, style;
  if (args.contains("from")) {
    TG_ASSIGN_OR_RETURN(from_s, GetString(args, "from"));
    TG_ASSIGN_OR_RETURN(to_s, GetString(args, "to"));
    style = "given";
  } else {
    // A design per seed: prefix change, extension change, both, zero padding, or separator.
    static const std::vector<std::string> kFromPrefix = {
        "IMG_", "DSC", "scan-", "photo_", "doc", "report-", "track", "shot_", "page"};
    static const std::vector<std::string> kToPrefix = {"image_", "pic-", "file_",
                                                       "item",   "img-", "capture_"};
    static const std::vector<std::pair<std::string, std::string>> kExts = {
        {"jpeg", "jpg"}, {"JPG", "jpg"},     {"TXT", "txt"},  {"htm", "html"},
        {"yml", "yaml"}, {"markdown", "md"}, {"text", "txt"}, {"PNG", "png"}};
    const auto& [e1, e2] = rng.Choice(kExts);
    std::string p1 = rng.Choice(kFromPrefix), p2 = rng.Choice(kToPrefix);
    std::string pad1 = rng.Bernoulli(0.3) ? ":04" : "";
    switch (rng.Index(5)) {
      case 0:
        style = "prefix";
        from_s = fmt::format("{}{{n{}}}.{}", p1, pad1, e2);
        to_s = fmt::format("{}{{n}}.{}", p2, e2);
        break;
      case 1:
        style = "extension";
        from_s = fmt::format("{}{{n{}}}.{}", p1, pad1, e1);
        to_s = fmt::format("{}{{n{}}}.{}", p1, pad1, e2);
        break;
      case 2:
        style = "prefix_and_extension";
        from_s = fmt::format("{}{{n{}}}.{}", p1, pad1, e1);
        to_s = fmt::format("{}{{n}}.{}", p2, e2);
        break;
      case 3:
        style = "padding";
        from_s = fmt::format("{}{{n}}.{}", p1, e2);
        // Four digits: every number below 1000 changes its name.
        to_s = fmt::format("{}{{n:04}}.{}", p1, e2);
        break;
      default: {
        style = "separator";
        std::string w = rng.Choice(*BuiltinList("nouns"));
        from_s = fmt::format("{}-{{n}}.{}", w, e2);
        to_s = fmt::format("{}_{{n}}.{}", w, e2);
      }
    }
  }
  TG_ASSIGN_OR_RETURN(Pattern from, ParsePattern("from", from_s));
  TG_ASSIGN_OR_RETURN(Pattern to, ParsePattern("to", to_s));

  std::int64_t max_n = std::max<std::int64_t>(999, count * 3);
  std::vector<std::size_t> numbers =
      rng.Sample(static_cast<std::size_t>(max_n), static_cast<std::size_t>(count));
  std::sort(numbers.begin(), numbers.end());
  std::vector<std::string> vocab = MergeLists({"nouns", "adjectives", "verbs"});
  json files = json::object(), renames = json::object(), expected = json::object();
  std::set<std::string> old_names, new_names;
  for (std::size_t k : numbers) {
    std::int64_t n = static_cast<std::int64_t>(k) + 1;
    std::string old_name = from.Render(n), new_name = to.Render(n);
    if (!old_names.insert(old_name).second || !new_names.insert(new_name).second) {
      return InvalidArgumentError("patterns give colliding names (\"{}\" -> \"{}\")", old_name,
                                  new_name);
    }
    std::string content = fmt::format("item {}\n{}\n", n, RandomWords(rng, vocab, 6));
    files[JoinPath(dir, old_name)] = content;
    renames[JoinPath(dir, old_name)] = JoinPath(dir, new_name);
    expected[JoinPath(dir, new_name)] = content;
  }
  // Distractors that the rename must leave alone: the glob of `from` never matches them.
  json untouched = json::array();
  static const std::vector<std::string> kOther = {"notes.txt", "README.md", "index.html",
                                                  "todo.list", "data.csv",  "keep.me"};
  for (std::int64_t i = 0, attempts = 0; i < extra && attempts < 1000; ++attempts) {
    std::string name;
    if (rng.Bernoulli(0.5)) {
      name = rng.Choice(kOther);
      if (attempts > 20) name = fmt::format("{}_{}", rng.Choice(vocab), name);
    } else {
      name = from.prefix + fmt::format("{}", rng.UniformInt(1, max_n)) + ".bak";
    }
    // fnmatch-like check against prefix*suffix, the only glob `from` produces.
    bool matches_from =
        name.size() >= from.prefix.size() + from.suffix.size() &&
        name.compare(0, from.prefix.size(), from.prefix) == 0 &&
        name.compare(name.size() - from.suffix.size(), from.suffix.size(), from.suffix) == 0;
    if (matches_from || old_names.count(name) || new_names.count(name) ||
        files.contains(JoinPath(dir, name))) {
      continue;
    }
    std::string content = fmt::format("{}\n", RandomWords(rng, vocab, 5));
    files[JoinPath(dir, name)] = content;
    expected[JoinPath(dir, name)] = content;
    untouched.push_back(JoinPath(dir, name));
    ++i;
  }
  json expected_paths = json::array();
  for (auto it = expected.begin(); it != expected.end(); ++it) expected_paths.push_back(it.key());
  json out;
  out["dir"] = dir;
  out["style"] = style;
  out["from"] = from.source;
  out["to"] = to.source;
  out["from_glob"] = from.Glob();
  out["from_regex"] = from.Regex();
  out["to_glob"] = to.Glob();
  out["files"] = files;
  out["renames"] = renames;
  out["untouched"] = untouched;
  out["expected_files"] = expected;
  out["expected_paths"] = expected_paths;
  out["count"] = renames.size();
  return out;
}

// ---------------------------------------------------------------------------------------------
// mode_set

StatusOr<json> GenModeSet(const json& args, Rng& rng) {
  TG_ASSIGN_OR_RETURN(std::int64_t count, GetInt(args, "count", 6));
  TG_ASSIGN_OR_RETURN(std::string dir, GetString(args, "dir", ""));
  TG_RETURN_IF_ERROR(CheckRange("count", count, 3, 200));
  TG_RETURN_IF_ERROR(CheckRelativeDir("dir", dir));
  // The policy the task states: scripts 0755, secrets 0600, everything else 0644. Each kind
  // appears at least once and some files start out wrong.
  struct Kind {
    const char* ext;
    const char* mode;
    std::vector<const char*> wrong;
  };
  static const std::vector<Kind> kKinds = {{"sh", "0755", {"0644", "0700", "0777", "0744"}},
                                           {"key", "0600", {"0644", "0640", "0666", "0604"}},
                                           {"txt", "0644", {"0600", "0666", "0755", "0640"}}};
  std::vector<std::string> stems = MergeLists({"nouns", "verbs"});
  std::set<std::string> used;
  json tree = json::object();
  json files = json::object(), modes = json::object(), expected = json::object();
  json to_fix = json::array();
  std::string chmod;
  std::vector<std::size_t> kinds;
  for (std::int64_t i = 0; i < count; ++i)
    kinds.push_back(i < 3 ? static_cast<std::size_t>(i) : rng.Index(3));
  rng.Shuffle(kinds);
  bool any_wrong = false;
  for (std::size_t i = 0; i < kinds.size(); ++i) {
    const Kind& k = kKinds[kinds[i]];
    std::string path = JoinPath(dir, FreshName(rng, stems, used, std::string(".") + k.ext));
    bool wrong = rng.Bernoulli(0.5) || (!any_wrong && i + 1 == kinds.size());
    std::string mode = wrong ? rng.Choice(k.wrong) : k.mode;
    any_wrong = any_wrong || wrong;
    std::string content = kinds[i] == 0   ? fmt::format("#!/bin/sh\necho {}\n", rng.Choice(stems))
                          : kinds[i] == 1 ? fmt::format("KEY={}\n", HexString(rng, 32))
                                          : RandomText(rng, stems, 40);
    files[path] = content;
    modes[path] = mode;
    tree[path] = {{"content", content}, {"mode", mode}};
    expected[path] = k.mode;
    if (wrong) to_fix.push_back(path);
    chmod += fmt::format("chmod {} {}\n", mode, ShellQuote(path));
  }
  json out;
  out["dir"] = dir;
  out["files"] = files;
  out["modes"] = modes;
  out["tree"] = tree;  // for "workspace": {"from_param": "x.tree"}: files with their modes
  out["expected_modes"] = expected;
  out["to_fix"] = to_fix;
  out["chmod_script"] = chmod;
  out["policy"] = "*.sh files 0755, *.key files 0600, all other files 0644";
  return out;
}

}  // namespace

void RegisterDataGenerators(GeneratorRegistry& r) {
  auto add = [&r](GeneratorInfo info) {
    Status s = r.Register(std::move(info));
    TG_CHECK(s.ok());
  };
  add({"file_tree",
       "a directory tree of text files; with `needle`, exactly one file contains the needle line",
       {"dirs", "files", "depth", "exts", "needle", "min_size", "max_size", "root"},
       {},
       GenFileTree});
  add({"text_lines",
       "lines of words with a planted word; counts of matching lines and occurrences",
       {"count", "words_per_line", "plant", "list", "multi"},
       {},
       GenTextLines});
  add({"log_file",
       "a timestamped log (\"YYYY-MM-DD HH:MM:SS LEVEL service: message\") with per-level and "
       "per-service counts",
       {"lines", "levels", "weights", "services", "start", "max_gap"},
       {},
       GenLogFile});
  add({"csv_table",
       "a delimited table with typed columns and its sums, minima, maxima and distinct counts",
       {"rows", "columns", "delimiter"},
       {},
       GenCsvTable});
  add({"sized_files",
       "files of distinct sizes and distinct modification times; largest, newest, orders",
       {"count", "min_size", "max_size", "dir", "ext"},
       {},
       GenSizedFiles});
  add({"config_file",
       "an ini or key=value config and one key to change, with the exact expected text",
       {"format", "sections", "keys"},
       {},
       GenConfigFile});
  add({"file_pair",
       "two texts of equal line count differing in `changes` lines",
       {"lines", "changes", "words_per_line"},
       {},
       GenFilePair});
  add({"rename_set",
       "files named by a numbered pattern, the renames to another pattern, and distractors",
       {"count", "from", "to", "extra", "dir"},
       {},
       GenRenameSet});
  add({"mode_set",
       "files with wrong permission bits and the modes a stated policy expects",
       {"count", "dir"},
       {},
       GenModeSet});
}

}  // namespace toolgym::scenarios
