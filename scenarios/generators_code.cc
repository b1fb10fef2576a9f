// Code-task generators: Python functions with a reference implementation, a natural-language
// spec and value tests, a planted-bug variant, and black-box modules to explore.
//
// Every expected value is computed here by a C++ twin of the Python reference (no Python runs at
// generation time). Each twin takes a bug index (0 = correct) so py_buggy knows, without
// running anything, which tests the planted bug fails. tests/scenarios/generators_test.cc runs
// the Python sources under /usr/bin/python3 and checks the twins against them.
#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "common/check.h"
#include "scenarios/generator_util.h"
#include "scenarios/generators.h"

namespace toolgym::scenarios {
namespace {

using json = nlohmann::json;
using namespace genutil;  // NOLINT: the helpers are this file's vocabulary

// ---------------------------------------------------------------------------------------------
// Python literals and small string helpers with Python's semantics (ASCII inputs only).

std::string PyStr(std::string_view s) {
  bool single = s.find('\'') != std::string_view::npos;
  bool dbl = s.find('"') != std::string_view::npos;
  char q = single && !dbl ? '"' : '\'';
  std::string out(1, q);
  for (unsigned char c : s) {
    if (c == static_cast<unsigned char>(q) || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  out += q;
  return out;
}

std::string PyRepr(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "None";
    case json::value_t::boolean:
      return v.get<bool>() ? "True" : "False";
    case json::value_t::string:
      return PyStr(v.get_ref<const std::string&>());
    case json::value_t::array: {
      std::string out = "[";
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (i > 0) out += ", ";
        out += PyRepr(v[i]);
      }
      return out + "]";
    }
    case json::value_t::object: {
      std::string out = "{";
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!first) out += ", ";
        first = false;
        out += PyStr(it.key()) + ": " + PyRepr(it.value());
      }
      return out + "}";
    }
    default:
      return v.dump();
  }
}

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) { return IsLower(c) || IsUpper(c) || IsDigit(c); }
char ToLower(char c) { return IsUpper(c) ? static_cast<char>(c - 'A' + 'a') : c; }
char ToUpper(char c) { return IsLower(c) ? static_cast<char>(c - 'a' + 'A') : c; }
std::string Lower(std::string s) {
  for (char& c : s) c = ToLower(c);
  return s;
}

// str.split() without arguments.
std::vector<std::string> SplitWs(const std::string& s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && IsSpace(s[i])) ++i;
    std::size_t start = i;
    while (i < s.size() && !IsSpace(s[i])) ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

// str.split(sep) with a one-character separator: keeps empty pieces.
std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    std::size_t p = s.find(sep, start);
    if (p == std::string::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, p - start));
    start = p + 1;
  }
}

std::string Strip(const std::string& s) {
  std::size_t b = 0, e = s.size();
  while (b < e && IsSpace(s[b])) ++b;
  while (e > b && IsSpace(s[e - 1])) --e;
  return s.substr(b, e - b);
}

std::string Join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += sep;
    out += v[i];
  }
  return out;
}

std::int64_t PyMod(std::int64_t a, std::int64_t m) { return ((a % m) + m) % m; }

std::string Sub(std::string s, const std::vector<std::pair<std::string, std::string>>& subs) {
  for (const auto& [from, to] : subs) {
    for (std::size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) {
      s.replace(p, from.size(), to);
    }
  }
  return s;
}

std::string Base64(std::string_view data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    std::uint32_t v = (static_cast<unsigned char>(data[i]) << 16) |
                      (static_cast<unsigned char>(data[i + 1]) << 8) |
                      static_cast<unsigned char>(data[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == data.size()) {
    std::uint32_t v = static_cast<unsigned char>(data[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == data.size()) {
    std::uint32_t v = (static_cast<unsigned char>(data[i]) << 16) |
                      (static_cast<unsigned char>(data[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

const std::vector<std::string>& Vocab() {
  static const std::vector<std::string> v = MergeLists({"nouns", "adjectives"});
  return v;
}

std::vector<std::string> SomeWords(Rng& rng, std::int64_t n) {
  std::vector<std::string> out;
  for (std::int64_t i = 0; i < n; ++i) out.push_back(rng.Choice(Vocab()));
  return out;
}

std::string RandomCase(Rng& rng, std::string s, double p) {
  for (char& c : s) {
    if (rng.Bernoulli(p)) c = ToUpper(c);
  }
  return s;
}

std::vector<std::int64_t> Ints(const json& v) {
  std::vector<std::int64_t> out;
  for (const json& x : v) out.push_back(x.get<std::int64_t>());
  return out;
}

json RandInts(Rng& rng, std::int64_t min_n, std::int64_t max_n, std::int64_t lo, std::int64_t hi) {
  json out = json::array();
  std::int64_t n = rng.UniformInt(min_n, max_n);
  for (std::int64_t i = 0; i < n; ++i) out.push_back(rng.UniformInt(lo, hi));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Operations: one Python function each, with its C++ twin.

struct Bug {
  std::string find;  // text of the reference replaced by `replace`; occurs exactly once
  std::string replace;
  std::string kind;  // off_by_one, wrong_operator, wrong_comparison, swapped_operands,
                     // missing_step, wrong_constant, missing_normalization
  std::string description;
};

struct PyOp {
  std::string op, family, name, signature, description, source;
  std::function<json(Rng&)> draw;  // a JSON array of arguments
  std::vector<json> edges;         // argument arrays for edge cases (hidden tests only)
  // The result for the arguments under bug `bug` (0: the reference, i: bugs[i - 1]).
  std::function<json(const json& args, int bug)> eval;
  std::vector<Bug> bugs;
  std::string module_body;  // explore: the Python defining mystery(...)
  bool int_query = false;   // explore: mystery maps ints to ints; offers a search query
  std::string domain;       // explore: the inputs the tests use, in words
};

json A(json v) { return json::array({std::move(v)}); }
json A(json v, json w) { return json::array({std::move(v), std::move(w)}); }

// --- string_transform ---

PyOp ReverseWords(Rng&) {
  PyOp o;
  o.op = "reverse_words";
  o.family = "string_transform";
  o.name = "reverse_words";
  o.signature = "def reverse_words(s: str) -> str";
  o.description =
      "Return the words of `s` in reverse order, joined by single spaces. Words are separated by "
      "runs of whitespace; leading and trailing whitespace is ignored.";
  o.source = "def reverse_words(s):\n    return ' '.join(reversed(s.split()))\n";
  o.bugs = {{"reversed(s.split())", "s.split()[:0:-1]", "off_by_one",
             "the slice [:0:-1] reverses but drops the first word"}};
  o.draw = [](Rng& rng) {
    auto words = SomeWords(rng, rng.UniformInt(1, 6));
    std::string s;
    for (std::size_t i = 0; i < words.size(); ++i) {
      if (i > 0) s += rng.Bernoulli(0.15) ? "  " : " ";
      s += words[i];
    }
    if (rng.Bernoulli(0.15)) s = " " + s;
    if (rng.Bernoulli(0.15)) s += " ";
    return A(s);
  };
  o.edges = {A(""), A("single"), A("  two   words ")};
  o.eval = [](const json& a, int bug) -> json {
    auto w = SplitWs(a[0].get<std::string>());
    std::reverse(w.begin(), w.end());
    if (bug == 1 && !w.empty()) w.pop_back();
    return Join(w, " ");
  };
  return o;
}

PyOp CaesarShift(Rng& rng) {
  std::int64_t k = rng.UniformInt(1, 25);
  PyOp o;
  o.op = "caesar_shift";
  o.family = "string_transform";
  o.name = "caesar_shift";
  o.signature = "def caesar_shift(s: str) -> str";
  o.description = fmt::format(
      "Shift every ASCII letter of `s` forward by {} positions in the alphabet, wrapping around "
      "from z to a; upper-case letters stay upper case and lower-case letters stay lower case. "
      "Every other character is unchanged.",
      k);
  o.source =
      Sub("def caesar_shift(s):\n"
          "    out = []\n"
          "    for ch in s:\n"
          "        if 'a' <= ch <= 'z':\n"
          "            out.append(chr((ord(ch) - ord('a') + $K) % 26 + ord('a')))\n"
          "        elif 'A' <= ch <= 'Z':\n"
          "            out.append(chr((ord(ch) - ord('A') + $K) % 26 + ord('A')))\n"
          "        else:\n"
          "            out.append(ch)\n"
          "    return ''.join(out)\n",
          {{"$K", std::to_string(k)}});
  o.bugs = {{"if 'a' <= ch <= 'z':", "if 'a' < ch <= 'z':", "wrong_comparison",
             "'a' < ch excludes the letter a, which is left unshifted"}};
  o.draw = [](Rng& rng) {
    static const std::vector<std::string> kSeps = {" ", " ", ", ", "! ", ". ", "-"};
    auto words = SomeWords(rng, rng.UniformInt(1, 4));
    std::string s;
    for (std::size_t i = 0; i < words.size(); ++i) {
      if (i > 0) s += rng.Choice(kSeps);
      std::string w = words[i];
      if (rng.Bernoulli(0.3)) w[0] = ToUpper(w[0]);
      s += w;
    }
    if (rng.Bernoulli(0.3)) s += "!";
    return A(s);
  };
  o.edges = {A(""), A("Zebra, xylophone!"), A("abc XYZ")};
  o.eval = [k](const json& a, int bug) -> json {
    std::string s = a[0].get<std::string>();
    for (char& c : s) {
      bool lower = bug == 1 ? (c > 'a' && c <= 'z') : IsLower(c);
      if (lower) {
        c = static_cast<char>((c - 'a' + k) % 26 + 'a');
      } else if (IsUpper(c)) {
        c = static_cast<char>((c - 'A' + k) % 26 + 'A');
      }
    }
    return s;
  };
  return o;
}

PyOp RunLengthEncode(Rng&) {
  PyOp o;
  o.op = "run_length_encode";
  o.family = "string_transform";
  o.name = "run_length_encode";
  o.signature = "def run_length_encode(s: str) -> str";
  o.description =
      "Run-length encode `s`: replace every maximal run of the same character by the character "
      "followed by the run's length in decimal (\"aaab\" -> \"a3b1\"). The empty string encodes "
      "to the empty string.";
  o.source =
      "def run_length_encode(s):\n"
      "    if not s:\n"
      "        return ''\n"
      "    out = []\n"
      "    prev = s[0]\n"
      "    count = 1\n"
      "    for ch in s[1:]:\n"
      "        if ch == prev:\n"
      "            count += 1\n"
      "        else:\n"
      "            out.append(prev + str(count))\n"
      "            prev = ch\n"
      "            count = 1\n"
      "    out.append(prev + str(count))\n"
      "    return ''.join(out)\n";
  o.bugs = {{"            prev = ch\n            count = 1\n",
             "            prev = ch\n            count = 0\n", "off_by_one",
             "the count restarts at 0 instead of 1, so every run after the first is one short"}};
  o.draw = [](Rng& rng) {
    static const std::string kLetters = "abcxyz";
    std::string s;
    char prev = 0;
    std::int64_t runs = rng.UniformInt(1, 6);
    for (std::int64_t r = 0; r < runs; ++r) {
      char c;
      do {
        c = kLetters[rng.Index(kLetters.size())];
      } while (c == prev);
      s.append(static_cast<std::size_t>(rng.UniformInt(1, rng.Bernoulli(0.1) ? 12 : 5)), c);
      prev = c;
    }
    return A(s);
  };
  o.edges = {A(""), A("a"), A("zzzzzzzzzzzz")};
  o.eval = [](const json& a, int bug) -> json {
    std::string s = a[0].get<std::string>();
    if (s.empty()) return "";
    std::string out;
    char prev = s[0];
    std::int64_t count = 1;
    for (std::size_t i = 1; i < s.size(); ++i) {
      if (s[i] == prev) {
        ++count;
      } else {
        out += prev + std::to_string(count);
        prev = s[i];
        count = bug == 1 ? 0 : 1;
      }
    }
    out += prev + std::to_string(count);
    return out;
  };
  return o;
}

PyOp CountVowels(Rng&) {
  PyOp o;
  o.op = "count_vowels";
  o.family = "string_transform";
  o.name = "count_vowels";
  o.signature = "def count_vowels(s: str) -> int";
  o.description =
      "Return how many characters of `s` are vowels (a, e, i, o, u), counting upper-case vowels "
      "too.";
  o.source = "def count_vowels(s):\n    return sum(1 for ch in s.lower() if ch in 'aeiou')\n";
  o.bugs = {{"for ch in s.lower()", "for ch in s", "missing_normalization",
             "without lower() upper-case vowels are not counted"}};
  o.draw = [](Rng& rng) {
    return A(RandomCase(rng, Join(SomeWords(rng, rng.UniformInt(1, 4)), " "), 0.3));
  };
  o.edges = {A(""), A("AEIOU"), A("rhythm")};
  o.eval = [](const json& a, int bug) -> json {
    std::string s = a[0].get<std::string>();
    if (bug != 1) s = Lower(s);
    std::int64_t n = 0;
    for (char c : s) n += std::string_view("aeiou").find(c) != std::string_view::npos;
    return n;
  };
  return o;
}

std::string Capitalize(const std::string& s) {
  std::string out = Lower(s);
  if (!out.empty()) out[0] = ToUpper(out[0]);
  return out;
}

PyOp SnakeToCamel(Rng&) {
  PyOp o;
  o.op = "snake_to_camel";
  o.family = "string_transform";
  o.name = "snake_to_camel";
  o.signature = "def snake_to_camel(s: str) -> str";
  o.description =
      "Convert a snake_case identifier to camelCase: the first part stays as it is, every later "
      "part gets an upper-case first letter and lower-case rest, and the underscores are "
      "removed (\"max_open_files\" -> \"maxOpenFiles\").";
  o.source =
      "def snake_to_camel(s):\n"
      "    parts = s.split('_')\n"
      "    return parts[0] + ''.join(p.capitalize() for p in parts[1:])\n";
  o.bugs = {{"parts[1:]", "parts[2:]", "off_by_one", "parts[2:] drops the second part"}};
  o.draw = [](Rng& rng) { return A(Join(SomeWords(rng, rng.UniformInt(1, 4)), "_")); };
  o.edges = {A("word"), A("a_b_c"), A("")};
  o.eval = [](const json& a, int bug) -> json {
    auto parts = Split(a[0].get<std::string>(), '_');
    std::string out = parts[0];
    for (std::size_t i = bug == 1 ? 2 : 1; i < parts.size(); ++i) out += Capitalize(parts[i]);
    return out;
  };
  return o;
}

PyOp DedupeChars(Rng&) {
  PyOp o;
  o.op = "dedupe_chars";
  o.family = "string_transform";
  o.name = "dedupe_chars";
  o.signature = "def dedupe_chars(s: str) -> str";
  o.description =
      "Return `s` with every repeated character removed, keeping only the first occurrence of "
      "each character, in order (\"banana\" -> \"ban\").";
  o.source =
      "def dedupe_chars(s):\n"
      "    seen = set()\n"
      "    out = []\n"
      "    for ch in s:\n"
      "        if ch not in seen:\n"
      "            seen.add(ch)\n"
      "            out.append(ch)\n"
      "    return ''.join(out)\n";
  o.bugs = {{"            seen.add(ch)\n", "", "missing_step",
             "characters are never added to `seen`, so nothing is removed"}};
  o.draw = [](Rng& rng) {
    if (rng.Bernoulli(0.4)) return A(rng.Choice(Vocab()));
    static const std::string kLetters = "abcdefgh";
    std::size_t alphabet = static_cast<std::size_t>(rng.UniformInt(2, 6));
    std::string s;
    std::int64_t n = rng.UniformInt(1, 14);
    for (std::int64_t i = 0; i < n; ++i) s += kLetters[rng.Index(alphabet)];
    return A(s);
  };
  o.edges = {A(""), A("aaaa"), A("mississippi")};
  o.eval = [](const json& a, int bug) -> json {
    std::string s = a[0].get<std::string>();
    if (bug == 1) return s;
    std::string out;
    for (char c : s) {
      if (out.find(c) == std::string::npos) out += c;
    }
    return out;
  };
  return o;
}

PyOp IsPalindrome(Rng&) {
  PyOp o;
  o.op = "is_palindrome";
  o.family = "string_transform";
  o.name = "is_palindrome";
  o.signature = "def is_palindrome(s: str) -> bool";
  o.description =
      "Return True when `s` reads the same forwards and backwards after removing every character "
      "that is not a letter or digit and ignoring case; False otherwise.";
  o.source =
      "def is_palindrome(s):\n"
      "    cleaned = [ch.lower() for ch in s if ch.isalnum()]\n"
      "    return cleaned == cleaned[::-1]\n";
  o.bugs = {{"[ch.lower() for ch in s", "[ch for ch in s", "missing_normalization",
             "without lower() the comparison is case-sensitive"}};
  o.draw = [](Rng& rng) {
    std::string s;
    if (rng.Bernoulli(0.6)) {
      std::string core = rng.Choice(Vocab());
      if (rng.Bernoulli(0.2)) core += std::to_string(rng.UniformInt(1, 99));
      std::string rev(core.rbegin(), core.rend());
      std::string full =
          core + (rng.Bernoulli(0.5) ? std::string(1, 'a' + rng.Index(26)) : "") + rev;
      static const std::vector<std::string> kPunct = {" ", ", ", "-", "! ", " "};
      for (char c : full) {
        if (!s.empty() && rng.Bernoulli(0.15)) s += rng.Choice(kPunct);
        s += rng.Bernoulli(0.3) ? ToUpper(c) : c;
      }
    } else {
      s = RandomCase(rng, Join(SomeWords(rng, rng.UniformInt(1, 3)), " "), 0.2);
    }
    return A(s);
  };
  o.edges = {A(""), A("A man, a plan, a canal: Panama"), A("No lemon, no melon"), A("hello")};
  o.eval = [](const json& a, int bug) -> json {
    std::string cleaned;
    for (char c : a[0].get<std::string>()) {
      if (IsAlnum(c)) cleaned += bug == 1 ? c : ToLower(c);
    }
    return std::equal(cleaned.begin(), cleaned.end(), cleaned.rbegin());
  };
  return o;
}

// --- number_theory ---

std::int64_t Gcd(std::int64_t a, std::int64_t b) {
  while (b != 0) {
    std::int64_t t = a % b;
    a = b;
    b = t;
  }
  return a;
}

PyOp GcdList(Rng&) {
  PyOp o;
  o.op = "gcd_list";
  o.family = "number_theory";
  o.name = "gcd_list";
  o.signature = "def gcd_list(nums: list[int]) -> int";
  o.description =
      "Return the greatest common divisor of the non-negative integers in `nums` (0 for an empty "
      "list or a list of zeros).";
  o.source =
      "def gcd_list(nums):\n"
      "    result = 0\n"
      "    for n in nums:\n"
      "        a, b = result, n\n"
      "        while b:\n"
      "            a, b = b, a % b\n"
      "        result = a\n"
      "    return result\n";
  o.bugs = {{"    result = 0\n", "    result = 1\n", "wrong_constant",
             "starting from 1 makes every gcd 1"}};
  o.draw = [](Rng& rng) {
    std::int64_t g = rng.UniformInt(1, 30);
    json nums = json::array();
    std::int64_t n = rng.UniformInt(2, 6);
    for (std::int64_t i = 0; i < n; ++i) nums.push_back(g * rng.UniformInt(1, 40));
    return A(nums);
  };
  o.edges = {A(json::array({0, 0})), A(json::array({7})), A(json::array({0, 5})), A(json::array())};
  o.eval = [](const json& a, int bug) -> json {
    std::int64_t r = bug == 1 ? 1 : 0;
    for (std::int64_t n : Ints(a[0])) r = Gcd(r, n);
    return r;
  };
  return o;
}

PyOp CountPrimes(Rng&) {
  PyOp o;
  o.op = "count_primes";
  o.family = "number_theory";
  o.name = "count_primes";
  o.signature = "def count_primes(n: int) -> int";
  o.description = "Return how many prime numbers are less than or equal to `n` (0 for n < 2).";
  o.source =
      "def count_primes(n):\n"
      "    count = 0\n"
      "    for k in range(2, n + 1):\n"
      "        is_prime = True\n"
      "        d = 2\n"
      "        while d * d <= k:\n"
      "            if k % d == 0:\n"
      "                is_prime = False\n"
      "                break\n"
      "            d += 1\n"
      "        if is_prime:\n"
      "            count += 1\n"
      "    return count\n";
  o.bugs = {{"range(2, n + 1)", "range(2, n)", "off_by_one", "range(2, n) never tests n itself"},
            {"while d * d <= k:", "while d * d < k:", "wrong_comparison",
             "d * d < k misses square divisors, so squares of primes count as primes"}};
  o.draw = [](Rng& rng) { return A(rng.UniformInt(0, 2000)); };
  o.edges = {A(0), A(1), A(2), A(97), A(4)};
  o.eval = [](const json& a, int bug) -> json {
    std::int64_t n = a[0].get<std::int64_t>(), count = 0;
    for (std::int64_t k = 2; k < (bug == 1 ? n : n + 1); ++k) {
      bool prime = true;
      for (std::int64_t d = 2; bug == 2 ? d * d < k : d * d <= k; ++d) {
        if (k % d == 0) {
          prime = false;
          break;
        }
      }
      count += prime;
    }
    return count;
  };
  return o;
}

PyOp DigitPowerSum(Rng& rng) {
  std::int64_t p = rng.UniformInt(2, 5);
  PyOp o;
  o.op = "digit_power_sum";
  o.family = "number_theory";
  o.name = "digit_power_sum";
  o.signature = "def digit_power_sum(n: int) -> int";
  o.description = fmt::format(
      "Return the sum of the decimal digits of the non-negative integer `n`, each raised to the "
      "power {}.",
      p);
  o.source = Sub("def digit_power_sum(n):\n    return sum(int(d) ** $P for d in str(n))\n",
                 {{"$P", std::to_string(p)}});
  o.bugs = {{"for d in str(n))", "for d in str(n)[1:])", "off_by_one",
             "str(n)[1:] skips the first digit"}};
  o.draw = [](Rng& rng) {
    return A(rng.Bernoulli(0.5) ? rng.UniformInt(10, 99999) : rng.UniformInt(0, 1'000'000'000));
  };
  o.edges = {A(0), A(9), A(1000)};
  o.eval = [p](const json& a, int bug) -> json {
    std::string s = std::to_string(a[0].get<std::int64_t>());
    std::int64_t total = 0;
    for (std::size_t i = bug == 1 ? 1 : 0; i < s.size(); ++i) {
      std::int64_t d = s[i] - '0', v = 1;
      for (std::int64_t e = 0; e < p; ++e) v *= d;
      total += v;
    }
    return total;
  };
  return o;
}

PyOp FibMod(Rng& rng) {
  static const std::vector<std::int64_t> kMods = {10, 97, 100, 1000, 1009, 10007, 1000000007};
  std::int64_t m = rng.Choice(kMods);
  PyOp o;
  o.op = "fib_mod";
  o.family = "number_theory";
  o.name = "fib_mod";
  o.signature = "def fib_mod(n: int) -> int";
  o.description = fmt::format(
      "Return the n-th Fibonacci number modulo {}, where F(0) = 0, F(1) = 1 and F(k) = F(k-1) + "
      "F(k-2).",
      m);
  o.source =
      Sub("def fib_mod(n):\n"
          "    a, b = 0, 1\n"
          "    for _ in range(n):\n"
          "        a, b = b, (a + b) % $M\n"
          "    return a\n",
          {{"$M", std::to_string(m)}});
  o.bugs = {{"range(n)", "range(n - 1)", "off_by_one", "range(n - 1) stops one step early"}};
  o.draw = [](Rng& rng) { return A(rng.UniformInt(0, 3000)); };
  o.edges = {A(0), A(1), A(2), A(90)};
  o.eval = [m](const json& a, int bug) -> json {
    std::int64_t n = a[0].get<std::int64_t>(), x = 0, y = 1;
    for (std::int64_t i = 0; i < (bug == 1 ? n - 1 : n); ++i) {
      std::int64_t t = (x + y) % m;
      x = y;
      y = t;
    }
    return x;
  };
  return o;
}

PyOp CollatzSteps(Rng&) {
  PyOp o;
  o.op = "collatz_steps";
  o.family = "number_theory";
  o.name = "collatz_steps";
  o.signature = "def collatz_steps(n: int) -> int";
  o.description =
      "Return how many Collatz steps take the positive integer `n` to 1, where a step maps an "
      "even number k to k // 2 and an odd number k to 3 * k + 1 (0 for n = 1).";
  o.source =
      "def collatz_steps(n):\n"
      "    steps = 0\n"
      "    while n != 1:\n"
      "        if n % 2 == 0:\n"
      "            n //= 2\n"
      "        else:\n"
      "            n = 3 * n + 1\n"
      "        steps += 1\n"
      "    return steps\n";
  o.bugs = {{"while n != 1:", "while n > 2:", "wrong_comparison",
             "the loop stops at 2, one step before reaching 1"}};
  o.draw = [](Rng& rng) { return A(rng.UniformInt(1, 100000)); };
  o.edges = {A(1), A(2), A(27)};
  o.eval = [](const json& a, int bug) -> json {
    std::int64_t n = a[0].get<std::int64_t>(), steps = 0;
    while (bug == 1 ? n > 2 : n != 1) {
      n = n % 2 == 0 ? n / 2 : 3 * n + 1;
      ++steps;
    }
    return steps;
  };
  return o;
}

PyOp SumProperDivisors(Rng&) {
  PyOp o;
  o.op = "sum_proper_divisors";
  o.family = "number_theory";
  o.name = "sum_proper_divisors";
  o.signature = "def sum_proper_divisors(n: int) -> int";
  o.description =
      "Return the sum of the proper divisors of the positive integer `n`: every divisor d of n "
      "with d < n (0 for n = 1).";
  o.source =
      "def sum_proper_divisors(n):\n"
      "    total = 0\n"
      "    for d in range(1, n // 2 + 1):\n"
      "        if n % d == 0:\n"
      "            total += d\n"
      "    return total\n";
  o.bugs = {{"range(1, n // 2 + 1)", "range(1, n // 2)", "off_by_one",
             "range(1, n // 2) misses the divisor n / 2 of even numbers"}};
  o.draw = [](Rng& rng) { return A(rng.UniformInt(1, 20000)); };
  o.edges = {A(1), A(6), A(28), A(97)};
  o.eval = [](const json& a, int bug) -> json {
    std::int64_t n = a[0].get<std::int64_t>(), total = 0;
    for (std::int64_t d = 1; d < (bug == 1 ? n / 2 : n / 2 + 1); ++d) {
      if (n % d == 0) total += d;
    }
    return total;
  };
  return o;
}

PyOp ToBase(Rng& rng) {
  static const std::vector<std::int64_t> kBases = {2, 3, 5, 7, 8, 12, 16};
  std::int64_t b = rng.Choice(kBases);
  PyOp o;
  o.op = "to_base";
  o.family = "number_theory";
  o.name = "to_base";
  o.signature = "def to_base(n: int) -> str";
  o.description = fmt::format(
      "Return the base-{} representation of the non-negative integer `n` as a string, using the "
      "digits 0-9 and then lower-case letters a-f, without prefix or leading zeros (\"0\" for 0).",
      b);
  o.source =
      Sub("def to_base(n):\n"
          "    digits = '0123456789abcdef'\n"
          "    if n == 0:\n"
          "        return '0'\n"
          "    out = ''\n"
          "    while n > 0:\n"
          "        out = digits[n % $B] + out\n"
          "        n //= $B\n"
          "    return out\n",
          {{"$B", std::to_string(b)}});
  o.bugs = {{Sub("out = digits[n % $B] + out", {{"$B", std::to_string(b)}}),
             Sub("out = out + digits[n % $B]", {{"$B", std::to_string(b)}}), "swapped_operands",
             "appending instead of prepending writes the digits in reverse order"}};
  o.draw = [](Rng& rng) { return A(rng.UniformInt(0, 1'000'000)); };
  o.edges = {A(0), A(1), A(b), A(255)};
  o.eval = [b](const json& a, int bug) -> json {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::int64_t n = a[0].get<std::int64_t>();
    if (n == 0) return "0";
    std::string out;
    while (n > 0) {
      char d = kDigits[n % b];
      out = bug == 1 ? out + d : std::string(1, d) + out;
      n /= b;
    }
    return out;
  };
  return o;
}

PyOp LcmUpto(Rng&) {
  PyOp o;
  o.op = "lcm_upto";
  o.family = "number_theory";
  o.name = "lcm_upto";
  o.signature = "def lcm_upto(n: int) -> int";
  o.description =
      "Return the least common multiple of all integers from 1 to `n` inclusive (1 for n = 1).";
  o.source =
      "def lcm_upto(n):\n"
      "    result = 1\n"
      "    for k in range(2, n + 1):\n"
      "        a, b = result, k\n"
      "        while b:\n"
      "            a, b = b, a % b\n"
      "        result = result * k // a\n"
      "    return result\n";
  o.bugs = {{"range(2, n + 1)", "range(2, n)", "off_by_one", "range(2, n) leaves out n"}};
  o.draw = [](Rng& rng) { return A(rng.UniformInt(1, 30)); };
  o.edges = {A(1), A(2), A(10)};
  o.eval = [](const json& a, int bug) -> json {
    std::int64_t n = a[0].get<std::int64_t>(), r = 1;
    for (std::int64_t k = 2; k < (bug == 1 ? n : n + 1); ++k) r = r * k / Gcd(r, k);
    return r;
  };
  return o;
}

// --- parse_format ---

PyOp KvSum(Rng&) {
  PyOp o;
  o.op = "kv_sum";
  o.family = "parse_format";
  o.name = "kv_sum";
  o.signature = "def kv_sum(s: str) -> int";
  o.description =
      "`s` holds key=value pairs separated by ';' (\"a=3;b=-5\"); values are integers and empty "
      "pieces (from a trailing ';') are ignored. Return the sum of all values (0 when there are "
      "none).";
  o.source =
      "def kv_sum(s):\n"
      "    total = 0\n"
      "    for part in s.split(';'):\n"
      "        if not part:\n"
      "            continue\n"
      "        key, value = part.split('=')\n"
      "        total += int(value)\n"
      "    return total\n";
  o.bugs = {
      {"in s.split(';'):", "in s.split(';')[1:]:", "off_by_one", "[1:] skips the first pair"}};
  o.draw = [](Rng& rng) {
    std::vector<std::size_t> keys =
        rng.Sample(BuiltinList("nouns")->size(), static_cast<std::size_t>(rng.UniformInt(1, 6)));
    std::string s;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (i > 0) s += ';';
      s += fmt::format("{}={}", (*BuiltinList("nouns"))[keys[i]], rng.UniformInt(-50, 100));
    }
    if (rng.Bernoulli(0.3)) s += ';';
    return A(s);
  };
  o.edges = {A("x=1"), A(""), A("a=0;")};
  o.eval = [](const json& a, int bug) -> json {
    auto parts = Split(a[0].get<std::string>(), ';');
    std::int64_t total = 0;
    for (std::size_t i = bug == 1 ? 1 : 0; i < parts.size(); ++i) {
      if (parts[i].empty()) continue;
      total += std::stoll(parts[i].substr(parts[i].find('=') + 1));
    }
    return total;
  };
  return o;
}

PyOp KvLookup(Rng&) {
  PyOp o;
  o.op = "kv_lookup";
  o.family = "parse_format";
  o.name = "kv_lookup";
  o.signature = "def kv_lookup(s: str, key: str) -> int | None";
  o.description =
      "`s` holds key=value pairs separated by ';', with optional spaces around keys and values "
      "(\"port = 80;host=3\"); values are integers. Return the integer value of `key` (compared "
      "after stripping surrounding whitespace), or None when the key is absent.";
  o.source =
      "def kv_lookup(s, key):\n"
      "    for part in s.split(';'):\n"
      "        if not part:\n"
      "            continue\n"
      "        k, v = part.split('=', 1)\n"
      "        if k.strip() == key:\n"
      "            return int(v)\n"
      "    return None\n";
  o.bugs = {{"if k.strip() == key:", "if k == key:", "missing_normalization",
             "keys with spaces around them no longer match"}};
  o.draw = [](Rng& rng) {
    const auto& nouns = *BuiltinList("nouns");
    std::vector<std::size_t> keys =
        rng.Sample(nouns.size(), static_cast<std::size_t>(rng.UniformInt(1, 6)));
    static const std::vector<std::string> kEq = {"=", "=", " = ", " =", "= "};
    std::string s;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (i > 0) s += rng.Bernoulli(0.3) ? "; " : ";";
      s += nouns[keys[i]] + rng.Choice(kEq) + std::to_string(rng.UniformInt(-50, 500));
    }
    std::string key = rng.Bernoulli(0.8) ? nouns[keys[rng.Index(keys.size())]] : rng.Choice(nouns);
    return A(s, key);
  };
  o.edges = {A("a=1;b=2", "b"), A("", "a"), A(" x = 7 ", "x")};
  o.eval = [](const json& a, int bug) -> json {
    std::string key = a[1].get<std::string>();
    for (const std::string& part : Split(a[0].get<std::string>(), ';')) {
      if (part.empty()) continue;
      std::size_t eq = part.find('=');
      std::string k = part.substr(0, eq), v = part.substr(eq + 1);
      if ((bug == 1 ? k : Strip(k)) == key) return std::stoll(Strip(v));
    }
    return nullptr;
  };
  return o;
}

PyOp DurationSeconds(Rng&) {
  PyOp o;
  o.op = "duration_seconds";
  o.family = "parse_format";
  o.name = "duration_seconds";
  o.signature = "def duration_seconds(s: str) -> int";
  o.description =
      "Parse a duration such as \"1h23m5s\" or \"2d4h\" and return it in seconds. It is a "
      "sequence of integers each followed by a unit: d (days), h (hours), m (minutes) or s "
      "(seconds).";
  o.source =
      "def duration_seconds(s):\n"
      "    units = {'d': 86400, 'h': 3600, 'm': 60, 's': 1}\n"
      "    total = 0\n"
      "    number = ''\n"
      "    for ch in s:\n"
      "        if ch.isdigit():\n"
      "            number += ch\n"
      "        else:\n"
      "            total += int(number) * units[ch]\n"
      "            number = ''\n"
      "    return total\n";
  o.bugs = {{"'h': 3600", "'h': 360", "wrong_constant", "an hour is taken as 360 seconds"}};
  o.draw = [](Rng& rng) {
    std::string s;
    static const char kUnits[] = {'d', 'h', 'm', 's'};
    static const std::int64_t kMax[] = {9, 23, 59, 59};
    while (s.empty()) {
      for (int u = 0; u < 4; ++u) {
        if (rng.Bernoulli(u == 0 ? 0.2 : 0.6))
          s += std::to_string(rng.UniformInt(u == 0 ? 1 : 0, kMax[u])) + kUnits[u];
      }
    }
    return A(s);
  };
  o.edges = {A("0s"), A("1d"), A("2h")};
  o.eval = [](const json& a, int bug) -> json {
    std::int64_t total = 0, number = 0;
    for (char c : a[0].get<std::string>()) {
      if (IsDigit(c)) {
        number = number * 10 + (c - '0');
        continue;
      }
      std::int64_t unit = c == 'd' ? 86400 : c == 'h' ? (bug == 1 ? 360 : 3600) : c == 'm' ? 60 : 1;
      total += number * unit;
      number = 0;
    }
    return total;
  };
  return o;
}

std::string ToRoman(std::int64_t n) {
  static const std::vector<std::pair<std::int64_t, const char*>> kTable = {
      {1000, "M"}, {900, "CM"}, {500, "D"}, {400, "CD"}, {100, "C"}, {90, "XC"}, {50, "L"},
      {40, "XL"},  {10, "X"},   {9, "IX"},  {5, "V"},    {4, "IV"},  {1, "I"}};
  std::string out;
  for (const auto& [v, s] : kTable) {
    while (n >= v) {
      out += s;
      n -= v;
    }
  }
  return out;
}

PyOp RomanToInt(Rng&) {
  PyOp o;
  o.op = "roman_to_int";
  o.family = "parse_format";
  o.name = "roman_to_int";
  o.signature = "def roman_to_int(s: str) -> int";
  o.description =
      "Convert a valid Roman numeral (I, V, X, L, C, D, M; 1 to 3999, with subtractive pairs such "
      "as IV and CM) to its integer value.";
  o.source =
      "def roman_to_int(s):\n"
      "    values = {'I': 1, 'V': 5, 'X': 10, 'L': 50, 'C': 100, 'D': 500, 'M': 1000}\n"
      "    total = 0\n"
      "    for i, ch in enumerate(s):\n"
      "        v = values[ch]\n"
      "        if i + 1 < len(s) and values[s[i + 1]] > v:\n"
      "            total -= v\n"
      "        else:\n"
      "            total += v\n"
      "    return total\n";
  o.bugs = {{"values[s[i + 1]] > v", "values[s[i + 1]] >= v", "wrong_comparison",
             ">= subtracts repeated numerals (II becomes 0)"}};
  o.draw = [](Rng& rng) { return A(ToRoman(rng.UniformInt(1, 3999))); };
  o.edges = {A("I"), A("MMMCMXCIX"), A("XLII"), A("III")};
  o.eval = [](const json& a, int bug) -> json {
    auto value = [](char c) -> std::int64_t {
      switch (c) {
        case 'I':
          return 1;
        case 'V':
          return 5;
        case 'X':
          return 10;
        case 'L':
          return 50;
        case 'C':
          return 100;
        case 'D':
          return 500;
        default:
          return 1000;
      }
    };
    std::string s = a[0].get<std::string>();
    std::int64_t total = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
      std::int64_t v = value(s[i]);
      bool sub = i + 1 < s.size() && (bug == 1 ? value(s[i + 1]) >= v : value(s[i + 1]) > v);
      total += sub ? -v : v;
    }
    return total;
  };
  return o;
}

PyOp CompareVersions(Rng&) {
  PyOp o;
  o.op = "compare_versions";
  o.family = "parse_format";
  o.name = "compare_versions";
  o.signature = "def compare_versions(a: str, b: str) -> int";
  o.description =
      "Compare two version strings made of dot-separated non-negative integers (\"1.10.2\"). "
      "Components compare numerically from left to right and missing components count as 0 "
      "(\"1.2\" equals \"1.2.0\"). Return -1 if a < b, 1 if a > b and 0 if they are equal.";
  o.source =
      "def compare_versions(a, b):\n"
      "    pa = [int(x) for x in a.split('.')]\n"
      "    pb = [int(x) for x in b.split('.')]\n"
      "    n = max(len(pa), len(pb))\n"
      "    pa += [0] * (n - len(pa))\n"
      "    pb += [0] * (n - len(pb))\n"
      "    if pa < pb:\n"
      "        return -1\n"
      "    if pa > pb:\n"
      "        return 1\n"
      "    return 0\n";
  o.bugs = {{"    pa += [0] * (n - len(pa))\n    pb += [0] * (n - len(pb))\n", "", "missing_step",
             "without padding \"1.2\" compares less than \"1.2.0\""}};
  o.draw = [](Rng& rng) {
    std::vector<std::int64_t> a;
    std::int64_t n = rng.UniformInt(1, 4);
    for (std::int64_t i = 0; i < n; ++i) a.push_back(rng.UniformInt(0, 20));
    std::vector<std::int64_t> b = a;
    switch (rng.Index(4)) {
      case 0:
        break;
      case 1: {
        std::size_t i = rng.Index(b.size());
        b[i] =
            std::max<std::int64_t>(0, b[i] + (rng.Bernoulli(0.5) ? 1 : -1) * rng.UniformInt(1, 9));
        break;
      }
      case 2:
        b.push_back(0);
        break;
      default:
        b.clear();
        for (std::int64_t i = rng.UniformInt(1, 4); i > 0; --i) b.push_back(rng.UniformInt(0, 20));
    }
    auto str = [](const std::vector<std::int64_t>& v) {
      std::vector<std::string> parts;
      for (auto x : v) parts.push_back(std::to_string(x));
      return Join(parts, ".");
    };
    return rng.Bernoulli(0.5) ? A(str(a), str(b)) : A(str(b), str(a));
  };
  o.edges = {A("1.0", "1"), A("1.10", "1.9"), A("2", "2"), A("0.1", "0.0.5")};
  o.eval = [](const json& a, int bug) -> json {
    auto parse = [](const std::string& s) {
      std::vector<std::int64_t> v;
      for (const std::string& p : Split(s, '.')) v.push_back(std::stoll(p));
      return v;
    };
    auto pa = parse(a[0].get<std::string>()), pb = parse(a[1].get<std::string>());
    if (bug != 1) {
      std::size_t n = std::max(pa.size(), pb.size());
      pa.resize(n, 0);
      pb.resize(n, 0);
    }
    return pa < pb ? -1 : pa > pb ? 1 : 0;
  };
  return o;
}

PyOp HexToRgb(Rng&) {
  PyOp o;
  o.op = "hex_to_rgb";
  o.family = "parse_format";
  o.name = "hex_to_rgb";
  o.signature = "def hex_to_rgb(s: str) -> list[int]";
  o.description =
      "Parse a colour written as six hex digits, optionally preceded by '#' (\"#1a2B3c\", either "
      "case), and return [red, green, blue] as integers 0-255.";
  o.source =
      "def hex_to_rgb(s):\n"
      "    s = s.lstrip('#')\n"
      "    return [int(s[i:i + 2], 16) for i in range(0, 6, 2)]\n";
  o.bugs = {{"range(0, 6, 2)", "range(0, 4, 2)", "off_by_one", "range(0, 4, 2) drops blue"}};
  o.draw = [](Rng& rng) {
    std::string s = RandomCase(rng, HexString(rng, 6), 0.4);
    return A(rng.Bernoulli(0.8) ? "#" + s : s);
  };
  o.edges = {A("#000000"), A("#FFFFFF"), A("ff8000")};
  o.eval = [](const json& a, int bug) -> json {
    std::string s = a[0].get<std::string>();
    s.erase(0, s.find_first_not_of('#') == std::string::npos ? s.size() : s.find_first_not_of('#'));
    json out = json::array();
    for (std::size_t i = 0; i < (bug == 1 ? 4u : 6u); i += 2) {
      out.push_back(std::stoll(s.substr(i, 2), nullptr, 16));
    }
    return out;
  };
  return o;
}

PyOp AddMinutes(Rng&) {
  PyOp o;
  o.op = "add_minutes";
  o.family = "parse_format";
  o.name = "add_minutes";
  o.signature = "def add_minutes(t: str, minutes: int) -> str";
  o.description =
      "`t` is a 24-hour time \"HH:MM\". Return the time `minutes` later (earlier if negative) on "
      "a 24-hour clock, formatted \"HH:MM\" with two digits each; days wrap around.";
  o.source =
      "def add_minutes(t, minutes):\n"
      "    h, m = t.split(':')\n"
      "    total = (int(h) * 60 + int(m) + minutes) % (24 * 60)\n"
      "    return '%02d:%02d' % (total // 60, total % 60)\n";
  o.bugs = {{"% (24 * 60)", "% (12 * 60)", "wrong_constant", "wraps at 12 hours instead of 24"}};
  o.draw = [](Rng& rng) {
    return A(fmt::format("{:02}:{:02}", rng.UniformInt(0, 23), rng.UniformInt(0, 59)),
             rng.UniformInt(-3000, 3000));
  };
  o.edges = {A("23:59", 1), A("00:00", -1), A("12:00", 0)};
  o.eval = [](const json& a, int bug) -> json {
    std::string t = a[0].get<std::string>();
    std::int64_t total = PyMod(
        std::stoll(t.substr(0, 2)) * 60 + std::stoll(t.substr(3, 2)) + a[1].get<std::int64_t>(),
        bug == 1 ? 720 : 1440);
    return fmt::format("{:02}:{:02}", total / 60, total % 60);
  };
  return o;
}

// --- data_structure ---

PyOp StackMachine(Rng&) {
  PyOp o;
  o.op = "stack_machine";
  o.family = "data_structure";
  o.name = "stack_machine";
  o.signature = "def stack_machine(ops: list[str]) -> list[int]";
  o.description =
      "Run stack operations on an initially empty stack and return the final stack as a list "
      "(bottom first). Operations: \"push N\" pushes the integer N; \"pop\" removes the top; "
      "\"dup\" pushes a copy of the top; \"add\" and \"sub\" pop b (the top) then a and push a + b "
      "or a - b. Every operation is valid for the stack it gets.";
  o.source =
      "def stack_machine(ops):\n"
      "    stack = []\n"
      "    for op in ops:\n"
      "        parts = op.split()\n"
      "        if parts[0] == 'push':\n"
      "            stack.append(int(parts[1]))\n"
      "        elif parts[0] == 'pop':\n"
      "            stack.pop()\n"
      "        elif parts[0] == 'dup':\n"
      "            stack.append(stack[-1])\n"
      "        elif parts[0] == 'add':\n"
      "            b = stack.pop()\n"
      "            a = stack.pop()\n"
      "            stack.append(a + b)\n"
      "        elif parts[0] == 'sub':\n"
      "            b = stack.pop()\n"
      "            a = stack.pop()\n"
      "            stack.append(a - b)\n"
      "    return stack\n";
  o.bugs = {{"stack.append(a - b)", "stack.append(b - a)", "swapped_operands",
             "sub computes b - a instead of a - b"}};
  o.draw = [](Rng& rng) {
    json ops = json::array();
    std::size_t depth = 0;
    std::int64_t n = rng.UniformInt(3, 12);
    for (std::int64_t i = 0; i < n; ++i) {
      std::vector<std::string> choices = {"push"};
      if (depth >= 1) choices.insert(choices.end(), {"pop", "dup"});
      if (depth >= 2) choices.insert(choices.end(), {"add", "sub", "sub"});
      std::string op = rng.Choice(choices);
      if (op == "push") {
        ops.push_back(fmt::format("push {}", rng.UniformInt(-9, 20)));
        ++depth;
      } else {
        ops.push_back(op);
        depth += op == "dup" ? 1 : -1;
      }
    }
    return A(ops);
  };
  o.edges = {A(json::array()), A(json::array({"push 5", "dup", "sub"}))};
  o.eval = [](const json& a, int bug) -> json {
    std::vector<std::int64_t> st;
    for (const json& j : a[0]) {
      std::string op = j.get<std::string>();
      if (op.rfind("push", 0) == 0) {
        st.push_back(std::stoll(op.substr(5)));
      } else if (op == "pop") {
        st.pop_back();
      } else if (op == "dup") {
        st.push_back(st.back());
      } else {
        std::int64_t b = st.back();
        st.pop_back();
        std::int64_t x = st.back();
        st.pop_back();
        st.push_back(op == "add" ? x + b : bug == 1 ? b - x : x - b);
      }
    }
    return st;
  };
  return o;
}

PyOp MergeIntervals(Rng&) {
  PyOp o;
  o.op = "merge_intervals";
  o.family = "data_structure";
  o.name = "merge_intervals";
  o.signature = "def merge_intervals(intervals: list[list[int]]) -> list[list[int]]";
  o.description =
      "Merge overlapping closed intervals. `intervals` is a list of [start, end] pairs with start "
      "<= end, in any order. Return the merged intervals sorted by start, as [start, end] lists; "
      "intervals that touch ([1, 3] and [3, 5]) merge.";
  o.source =
      "def merge_intervals(intervals):\n"
      "    result = []\n"
      "    for start, end in sorted(intervals):\n"
      "        if result and start <= result[-1][1]:\n"
      "            result[-1][1] = max(result[-1][1], end)\n"
      "        else:\n"
      "            result.append([start, end])\n"
      "    return result\n";
  o.bugs = {{"start <= result[-1][1]", "start < result[-1][1]", "wrong_comparison",
             "touching intervals are no longer merged"},
            {"max(result[-1][1], end)", "end", "missing_step",
             "an interval inside the previous one shrinks it"}};
  o.draw = [](Rng& rng) {
    json iv = json::array();
    std::int64_t n = rng.UniformInt(1, 7);
    std::int64_t last_end = -1;
    for (std::int64_t i = 0; i < n; ++i) {
      std::int64_t s = last_end >= 0 && rng.Bernoulli(0.3) ? last_end : rng.UniformInt(0, 40);
      std::int64_t e = s + rng.UniformInt(0, 8);
      iv.push_back(json::array({s, e}));
      last_end = e;
    }
    std::vector<json> items(iv.begin(), iv.end());
    rng.Shuffle(items);
    return A(json(items));
  };
  o.edges = {A(json::array()), A(json::parse("[[1, 4], [2, 3]]")),
             A(json::parse("[[1, 2], [2, 3]]"))};
  o.eval = [](const json& a, int bug) -> json {
    std::vector<std::pair<std::int64_t, std::int64_t>> iv;
    for (const json& p : a[0]) iv.emplace_back(p[0].get<std::int64_t>(), p[1].get<std::int64_t>());
    std::sort(iv.begin(), iv.end());
    std::vector<std::pair<std::int64_t, std::int64_t>> r;
    for (auto [s, e] : iv) {
      if (!r.empty() && (bug == 1 ? s < r.back().second : s <= r.back().second)) {
        r.back().second = bug == 2 ? e : std::max(r.back().second, e);
      } else {
        r.emplace_back(s, e);
      }
    }
    json out = json::array();
    for (auto [s, e] : r) out.push_back(json::array({s, e}));
    return out;
  };
  return o;
}

PyOp TopKFrequent(Rng&) {
  PyOp o;
  o.op = "top_k_frequent";
  o.family = "data_structure";
  o.name = "top_k_frequent";
  o.signature = "def top_k_frequent(words: list[str], k: int) -> list[str]";
  o.description =
      "Return the `k` most frequent words of `words`, most frequent first; words with equal "
      "counts are ordered alphabetically. If there are fewer than k distinct words, return them "
      "all.";
  o.source =
      "def top_k_frequent(words, k):\n"
      "    counts = {}\n"
      "    for w in words:\n"
      "        counts[w] = counts.get(w, 0) + 1\n"
      "    ordered = sorted(counts, key=lambda w: (-counts[w], w))\n"
      "    return ordered[:k]\n";
  o.bugs = {{"(-counts[w], w)", "(counts[w], w)", "wrong_operator",
             "sorting by +count puts the least frequent words first"}};
  o.draw = [](Rng& rng) {
    const auto& fruits = *BuiltinList("fruits");
    std::vector<std::size_t> pick =
        rng.Sample(fruits.size(), static_cast<std::size_t>(rng.UniformInt(3, 7)));
    json words = json::array();
    std::int64_t n = rng.UniformInt(4, 18);
    for (std::int64_t i = 0; i < n; ++i) words.push_back(fruits[pick[rng.Index(pick.size())]]);
    return A(words, rng.UniformInt(1, 4));
  };
  o.edges = {A(json::array({"pear", "apple", "pear"}), 1), A(json::array(), 3),
             A(json::array({"b", "a", "c"}), 2)};
  o.eval = [](const json& a, int bug) -> json {
    std::map<std::string, std::int64_t> counts;
    for (const json& w : a[0]) ++counts[w.get<std::string>()];
    std::vector<std::pair<std::int64_t, std::string>> order;
    for (const auto& [w, c] : counts) order.emplace_back(bug == 1 ? c : -c, w);
    std::sort(order.begin(), order.end());
    json out = json::array();
    std::int64_t k = a[1].get<std::int64_t>();
    for (std::size_t i = 0; i < order.size() && static_cast<std::int64_t>(i) < k; ++i) {
      out.push_back(order[i].second);
    }
    return out;
  };
  return o;
}

PyOp CountAnagramGroups(Rng&) {
  PyOp o;
  o.op = "count_anagram_groups";
  o.family = "data_structure";
  o.name = "count_anagram_groups";
  o.signature = "def count_anagram_groups(words: list[str]) -> int";
  o.description =
      "Return how many groups the words fall into when words that are anagrams of each other "
      "(same letters with the same counts, in any order) share a group.";
  o.source =
      "def count_anagram_groups(words):\n"
      "    groups = set()\n"
      "    for w in words:\n"
      "        groups.add(''.join(sorted(w)))\n"
      "    return len(groups)\n";
  o.bugs = {{"groups.add(''.join(sorted(w)))", "groups.add(w)", "missing_normalization",
             "without sorting the letters every distinct word is its own group"}};
  o.draw = [](Rng& rng) {
    json words = json::array();
    std::int64_t bases = rng.UniformInt(1, 4);
    std::vector<std::string> all;
    for (std::int64_t b = 0; b < bases; ++b) {
      std::string base = rng.Choice(*BuiltinList("nouns"));
      std::int64_t variants = rng.UniformInt(1, 3);
      for (std::int64_t v = 0; v < variants; ++v) {
        std::vector<char> letters(base.begin(), base.end());
        rng.Shuffle(letters);
        all.emplace_back(letters.begin(), letters.end());
      }
    }
    rng.Shuffle(all);
    return A(json(all));
  };
  o.edges = {A(json::array()), A(json::array({"abc", "bca", "cab"})), A(json::array({"a", "a"}))};
  o.eval = [](const json& a, int bug) -> json {
    std::set<std::string> groups;
    for (const json& w : a[0]) {
      std::string s = w.get<std::string>();
      if (bug != 1) std::sort(s.begin(), s.end());
      groups.insert(s);
    }
    return groups.size();
  };
  return o;
}

PyOp RotateMatrix(Rng&) {
  PyOp o;
  o.op = "rotate_matrix";
  o.family = "data_structure";
  o.name = "rotate_matrix";
  o.signature = "def rotate_matrix(m: list[list[int]]) -> list[list[int]]";
  o.description =
      "Rotate the rectangular matrix `m` (a non-empty list of equally long rows) 90 degrees "
      "clockwise and return it as a list of rows.";
  o.source = "def rotate_matrix(m):\n    return [list(row) for row in zip(*m[::-1])]\n";
  o.bugs = {{"zip(*m[::-1])", "zip(*m)", "missing_step",
             "without reversing the rows this transposes instead of rotating"}};
  o.draw = [](Rng& rng) {
    std::int64_t r = rng.UniformInt(2, 4), c = rng.UniformInt(1, 4);
    json m = json::array();
    for (std::int64_t i = 0; i < r; ++i) m.push_back(RandInts(rng, c, c, 0, 9));
    return A(m);
  };
  o.edges = {A(json::parse("[[1]]")), A(json::parse("[[1, 2], [3, 4]]")),
             A(json::parse("[[1, 2, 3]]"))};
  o.eval = [](const json& a, int bug) -> json {
    const json& m = a[0];
    std::size_t rows = m.size(), cols = m[0].size();
    json out = json::array();
    for (std::size_t c = 0; c < cols; ++c) {
      json row = json::array();
      for (std::size_t r = 0; r < rows; ++r) row.push_back(m[bug == 1 ? r : rows - 1 - r][c]);
      out.push_back(row);
    }
    return out;
  };
  return o;
}

json Nested(Rng& rng, int depth) {
  json arr = json::array();
  std::int64_t n = rng.UniformInt(depth == 0 ? 1 : 0, 4);
  for (std::int64_t i = 0; i < n; ++i) {
    if (depth < 3 && rng.Bernoulli(0.35)) {
      arr.push_back(Nested(rng, depth + 1));
    } else {
      arr.push_back(rng.UniformInt(0, 99));
    }
  }
  return arr;
}

void FlattenInto(const json& v, json& out) {
  for (const json& x : v) {
    if (x.is_array()) {
      FlattenInto(x, out);
    } else {
      out.push_back(x);
    }
  }
}

PyOp Flatten(Rng&) {
  PyOp o;
  o.op = "flatten";
  o.family = "data_structure";
  o.name = "flatten";
  o.signature = "def flatten(nested: list) -> list[int]";
  o.description =
      "`nested` is a list whose items are integers or, recursively, such lists. Return all the "
      "integers in one flat list, in order of appearance.";
  o.source =
      "def flatten(nested):\n"
      "    out = []\n"
      "    for item in nested:\n"
      "        if isinstance(item, list):\n"
      "            out.extend(flatten(item))\n"
      "        else:\n"
      "            out.append(item)\n"
      "    return out\n";
  o.bugs = {{"out.extend(flatten(item))", "out.extend(item)", "missing_step",
             "lists nested two deep are not flattened"}};
  o.draw = [](Rng& rng) { return A(Nested(rng, 0)); };
  o.edges = {A(json::array()), A(json::parse("[1, [2, [3, [4]]]]")), A(json::parse("[[], [[]]]"))};
  o.eval = [](const json& a, int bug) -> json {
    json out = json::array();
    if (bug == 1) {
      for (const json& x : a[0]) {
        if (x.is_array()) {
          for (const json& y : x) out.push_back(y);
        } else {
          out.push_back(x);
        }
      }
    } else {
      FlattenInto(a[0], out);
    }
    return out;
  };
  return o;
}

PyOp PairSumCount(Rng&) {
  PyOp o;
  o.op = "pair_sum_count";
  o.family = "data_structure";
  o.name = "pair_sum_count";
  o.signature = "def pair_sum_count(nums: list[int], target: int) -> int";
  o.description =
      "Return the number of index pairs (i, j) with i < j such that nums[i] + nums[j] == target.";
  o.source =
      "def pair_sum_count(nums, target):\n"
      "    count = 0\n"
      "    for i in range(len(nums)):\n"
      "        for j in range(i + 1, len(nums)):\n"
      "            if nums[i] + nums[j] == target:\n"
      "                count += 1\n"
      "    return count\n";
  o.bugs = {{"range(i + 1, len(nums))", "range(i, len(nums))", "off_by_one",
             "j starts at i, so an element pairs with itself"}};
  o.draw = [](Rng& rng) {
    json nums = RandInts(rng, 2, 10, -5, 10);
    std::int64_t target = rng.Bernoulli(0.5) ? 2 * nums[rng.Index(nums.size())].get<std::int64_t>()
                                             : rng.UniformInt(-5, 15);
    return A(nums, target);
  };
  o.edges = {A(json::array(), 0), A(json::array({2, 2, 2}), 4), A(json::array({1, 2, 3}), 10)};
  o.eval = [](const json& a, int bug) -> json {
    auto v = Ints(a[0]);
    std::int64_t t = a[1].get<std::int64_t>(), count = 0;
    for (std::size_t i = 0; i < v.size(); ++i) {
      for (std::size_t j = bug == 1 ? i : i + 1; j < v.size(); ++j) count += v[i] + v[j] == t;
    }
    return count;
  };
  return o;
}

PyOp RunningMax(Rng&) {
  PyOp o;
  o.op = "running_max";
  o.family = "data_structure";
  o.name = "running_max";
  o.signature = "def running_max(nums: list[int]) -> list[int]";
  o.description =
      "Return a list whose i-th item is the largest of nums[0] .. nums[i] (an empty list for "
      "empty input).";
  o.source =
      "def running_max(nums):\n"
      "    out = []\n"
      "    best = None\n"
      "    for x in nums:\n"
      "        if best is None or x > best:\n"
      "            best = x\n"
      "        out.append(best)\n"
      "    return out\n";
  o.bugs = {{"or x > best:", "or x < best:", "wrong_comparison", "x < best tracks the minimum"}};
  o.draw = [](Rng& rng) { return A(RandInts(rng, 2, 10, -20, 20)); };
  o.edges = {A(json::array()), A(json::array({5})), A(json::array({3, 3, 1}))};
  o.eval = [](const json& a, int bug) -> json {
    json out = json::array();
    std::optional<std::int64_t> best;
    for (std::int64_t x : Ints(a[0])) {
      if (!best || (bug == 1 ? x < *best : x > *best)) best = x;
      out.push_back(*best);
    }
    return out;
  };
  return o;
}

// --- from_examples: the spec is the examples; the function is always called f ---

PyOp FromExamples(const char* op, const char* signature, const char* source,
                  std::function<json(Rng&)> draw, std::vector<json> edges,
                  std::function<json(const json&)> eval) {
  PyOp o;
  o.op = op;
  o.family = "from_examples";
  o.name = "f";
  o.signature = signature;
  o.description =
      "The behaviour of `f` is specified only by the examples; infer the rule from them. Hidden "
      "tests check other inputs of the same kind.";
  o.source = source;
  o.draw = std::move(draw);
  o.edges = std::move(edges);
  o.eval = [eval = std::move(eval)](const json& a, int) { return eval(a); };
  return o;
}

PyOp SwapReverse(Rng&) {
  return FromExamples(
      "swap_reverse", "def f(s: str) -> str", "def f(s):\n    return s[::-1].swapcase()\n",
      [](Rng& rng) { return A(RandomCase(rng, rng.Choice(Vocab()), 0.4)); }, {A(""), A("Ab")},
      [](const json& a) -> json {
        std::string s = a[0].get<std::string>();
        std::reverse(s.begin(), s.end());
        for (char& c : s) c = IsUpper(c) ? ToLower(c) : ToUpper(c);
        return s;
      });
}

PyOp DigitSquareSum(Rng&) {
  return FromExamples(
      "digit_square_sum", "def f(n: int) -> int",
      "def f(n):\n    return sum(int(d) ** 2 for d in str(n))\n",
      [](Rng& rng) { return A(rng.UniformInt(0, 99999)); }, {A(0), A(7)},
      [](const json& a) -> json {
        std::int64_t t = 0;
        for (char c : std::to_string(a[0].get<std::int64_t>())) t += (c - '0') * (c - '0');
        return t;
      });
}

PyOp EveryOther(Rng&) {
  return FromExamples(
      "every_other", "def f(s: str) -> str", "def f(s):\n    return s[::2]\n",
      [](Rng& rng) { return A(rng.Choice(Vocab())); }, {A(""), A("a")},
      [](const json& a) -> json {
        std::string s = a[0].get<std::string>(), out;
        for (std::size_t i = 0; i < s.size(); i += 2) out += s[i];
        return out;
      });
}

PyOp Diffs(Rng&) {
  return FromExamples(
      "diffs", "def f(nums: list[int]) -> list[int]",
      "def f(nums):\n    return [b - a for a, b in zip(nums, nums[1:])]\n",
      [](Rng& rng) { return A(RandInts(rng, 2, 7, -10, 30)); },
      {A(json::array()), A(json::array({4}))},
      [](const json& a) -> json {
        auto v = Ints(a[0]);
        json out = json::array();
        for (std::size_t i = 1; i < v.size(); ++i) out.push_back(v[i] - v[i - 1]);
        return out;
      });
}

PyOp Triangular(Rng&) {
  return FromExamples(
      "triangular", "def f(n: int) -> int", "def f(n):\n    return n * (n + 1) // 2\n",
      [](Rng& rng) { return A(rng.UniformInt(0, 500)); }, {A(0), A(1)},
      [](const json& a) -> json {
        std::int64_t n = a[0].get<std::int64_t>();
        return n * (n + 1) / 2;
      });
}

PyOp Acronym(Rng&) {
  return FromExamples(
      "acronym", "def f(s: str) -> str",
      "def f(s):\n    return ''.join(w[0].upper() for w in s.split())\n",
      [](Rng& rng) { return A(Join(SomeWords(rng, rng.UniformInt(2, 5)), " ")); },
      {A(""), A("single")},
      [](const json& a) -> json {
        std::string out;
        for (const std::string& w : SplitWs(a[0].get<std::string>())) out += ToUpper(w[0]);
        return out;
      });
}

PyOp Cumsum(Rng&) {
  return FromExamples(
      "cumsum", "def f(nums: list[int]) -> list[int]",
      "def f(nums):\n"
      "    out = []\n"
      "    total = 0\n"
      "    for x in nums:\n"
      "        total += x\n"
      "        out.append(total)\n"
      "    return out\n",
      [](Rng& rng) { return A(RandInts(rng, 1, 7, -10, 20)); }, {A(json::array())},
      [](const json& a) -> json {
        json out = json::array();
        std::int64_t t = 0;
        for (std::int64_t x : Ints(a[0])) out.push_back(t += x);
        return out;
      });
}

PyOp Spread(Rng&) {
  return FromExamples(
      "spread", "def f(nums: list[int]) -> int", "def f(nums):\n    return max(nums) - min(nums)\n",
      [](Rng& rng) { return A(RandInts(rng, 1, 8, -30, 60)); }, {A(json::array({5}))},
      [](const json& a) -> json {
        auto v = Ints(a[0]);
        return *std::max_element(v.begin(), v.end()) - *std::min_element(v.begin(), v.end());
      });
}

PyOp Interleave(Rng&) {
  return FromExamples(
      "interleave", "def f(a: str, b: str) -> str",
      "def f(a, b):\n    return ''.join(x + y for x, y in zip(a, b)) + a[len(b):] + b[len(a):]\n",
      [](Rng& rng) { return A(rng.Choice(Vocab()), rng.Choice(Vocab())); },
      {A("", "xyz"), A("ab", "")},
      [](const json& a) -> json {
        std::string x = a[0].get<std::string>(), y = a[1].get<std::string>(), out;
        std::size_t n = std::min(x.size(), y.size());
        for (std::size_t i = 0; i < n; ++i) {
          out += x[i];
          out += y[i];
        }
        return out + x.substr(n) + y.substr(n);
      });
}

// --- explore: a scrambled blackbox.py defines mystery(); the task reproduces it as solve() ---

PyOp Explore(const char* op, std::string signature, std::string body_expr, std::string domain,
             bool int_query, std::function<json(Rng&)> draw, std::vector<json> edges,
             std::function<json(const json&)> eval, const char* param = "x") {
  PyOp o;
  o.op = op;
  o.family = "explore";
  o.name = "solve";
  o.signature = std::move(signature);
  o.domain = std::move(domain);
  o.description = fmt::format(
      "The module blackbox.py defines mystery({0}); its source is scrambled on purpose. Call it "
      "(for example from a Python interpreter) to discover what it computes, then write "
      "solve({0}) that returns the same value as mystery({0}) for {1}. Do not import blackbox in "
      "your solution.",
      param, o.domain);
  o.source = fmt::format("def solve({}):\n    return {}\n", param, body_expr);
  o.module_body = fmt::format("def mystery({}):\n    return {}\n", param, body_expr);
  o.int_query = int_query;
  o.draw = std::move(draw);
  o.edges = std::move(edges);
  o.eval = [eval = std::move(eval)](const json& a, int) { return eval(a); };
  return o;
}

PyOp AffineMod(Rng& rng) {
  std::int64_t a = rng.UniformInt(2, 30), b = rng.UniformInt(0, 50), m = rng.UniformInt(50, 500);
  return Explore(
      "affine_mod", "def solve(x: int) -> int", fmt::format("(x * {} + {}) % {}", a, b, m),
      "every integer 0 <= x <= 1000", true, [](Rng& r) { return A(r.UniformInt(0, 1000)); },
      {A(0), A(1000)},
      [=](const json& v) -> json { return PyMod(v[0].get<std::int64_t>() * a + b, m); });
}

PyOp DivideOrGrow(Rng& rng) {
  std::int64_t d = rng.UniformInt(2, 5), c = rng.UniformInt(2, 4), e = rng.UniformInt(1, 9);
  return Explore(
      "divide_or_grow", "def solve(x: int) -> int",
      fmt::format("x // {0} if x % {0} == 0 else x * {1} + {2}", d, c, e),
      "every integer 0 <= x <= 1000", true, [](Rng& r) { return A(r.UniformInt(0, 1000)); },
      {A(0), A(d)},
      [=](const json& v) -> json {
        std::int64_t x = v[0].get<std::int64_t>();
        return x % d == 0 ? x / d : x * c + e;
      });
}

PyOp ReverseAdd(Rng& rng) {
  std::int64_t k = rng.UniformInt(1, 99);
  return Explore(
      "reverse_add", "def solve(x: int) -> int", fmt::format("int(str(x)[::-1]) + {}", k),
      "every integer 0 <= x <= 1000", true, [](Rng& r) { return A(r.UniformInt(0, 1000)); },
      {A(0), A(100), A(1000)},
      [=](const json& v) -> json {
        std::string s = std::to_string(v[0].get<std::int64_t>());
        std::reverse(s.begin(), s.end());
        return std::stoll(s) + k;
      });
}

PyOp XorAdd(Rng& rng) {
  std::int64_t k = rng.UniformInt(1, 255), s = rng.UniformInt(1, 20);
  return Explore(
      "xor_add", "def solve(x: int) -> int", fmt::format("(x ^ {}) + {}", k, s),
      "every integer 0 <= x <= 1000", true, [](Rng& r) { return A(r.UniformInt(0, 1000)); },
      {A(0), A(255)}, [=](const json& v) -> json { return (v[0].get<std::int64_t>() ^ k) + s; });
}

PyOp IndexShift(Rng& rng) {
  std::int64_t k = rng.UniformInt(1, 7);
  return Explore(
      "index_shift", "def solve(s: str) -> str",
      fmt::format("''.join(chr((ord(c) - 97 + i * {}) % 26 + 97) for i, c in enumerate(s))", k),
      "every string of lower-case letters a-z", false, [](Rng& r) { return A(r.Choice(Vocab())); },
      {A(""), A("a"), A("zzzz")},
      [=](const json& v) -> json {
        std::string s = v[0].get<std::string>();
        for (std::size_t i = 0; i < s.size(); ++i) {
          s[i] = static_cast<char>(PyMod(s[i] - 97 + static_cast<std::int64_t>(i) * k, 26) + 97);
        }
        return s;
      },
      "s");
}

PyOp CountSet(Rng& rng) {
  std::string letters = "abcdefghijklmnopqrstuvwxyz";
  std::string set;
  for (std::size_t i : rng.Sample(26, static_cast<std::size_t>(rng.UniformInt(3, 6))))
    set += letters[i];
  std::sort(set.begin(), set.end());
  return Explore(
      "count_set", "def solve(s: str) -> int", fmt::format("sum(1 for c in s if c in '{}')", set),
      "every string of lower-case letters a-z", false,
      [](Rng& r) { return A(Join(SomeWords(r, r.UniformInt(1, 3)), "")); }, {A(""), A(letters)},
      [=](const json& v) -> json {
        std::int64_t n = 0;
        for (char c : v[0].get<std::string>()) n += set.find(c) != std::string::npos;
        return n;
      },
      "s");
}

struct OpEntry {
  const char* op;
  const char* family;
  PyOp (*make)(Rng&);
};

const std::vector<OpEntry>& Ops() {
  static const std::vector<OpEntry> kOps = {
      {"reverse_words", "string_transform", ReverseWords},
      {"caesar_shift", "string_transform", CaesarShift},
      {"run_length_encode", "string_transform", RunLengthEncode},
      {"count_vowels", "string_transform", CountVowels},
      {"snake_to_camel", "string_transform", SnakeToCamel},
      {"dedupe_chars", "string_transform", DedupeChars},
      {"is_palindrome", "string_transform", IsPalindrome},
      {"gcd_list", "number_theory", GcdList},
      {"count_primes", "number_theory", CountPrimes},
      {"digit_power_sum", "number_theory", DigitPowerSum},
      {"fib_mod", "number_theory", FibMod},
      {"collatz_steps", "number_theory", CollatzSteps},
      {"sum_proper_divisors", "number_theory", SumProperDivisors},
      {"to_base", "number_theory", ToBase},
      {"lcm_upto", "number_theory", LcmUpto},
      {"kv_sum", "parse_format", KvSum},
      {"kv_lookup", "parse_format", KvLookup},
      {"duration_seconds", "parse_format", DurationSeconds},
      {"roman_to_int", "parse_format", RomanToInt},
      {"compare_versions", "parse_format", CompareVersions},
      {"hex_to_rgb", "parse_format", HexToRgb},
      {"add_minutes", "parse_format", AddMinutes},
      {"stack_machine", "data_structure", StackMachine},
      {"merge_intervals", "data_structure", MergeIntervals},
      {"top_k_frequent", "data_structure", TopKFrequent},
      {"count_anagram_groups", "data_structure", CountAnagramGroups},
      {"rotate_matrix", "data_structure", RotateMatrix},
      {"flatten", "data_structure", Flatten},
      {"pair_sum_count", "data_structure", PairSumCount},
      {"running_max", "data_structure", RunningMax},
      {"swap_reverse", "from_examples", SwapReverse},
      {"digit_square_sum", "from_examples", DigitSquareSum},
      {"every_other", "from_examples", EveryOther},
      {"diffs", "from_examples", Diffs},
      {"triangular", "from_examples", Triangular},
      {"acronym", "from_examples", Acronym},
      {"cumsum", "from_examples", Cumsum},
      {"spread", "from_examples", Spread},
      {"interleave", "from_examples", Interleave},
      {"affine_mod", "explore", AffineMod},
      {"divide_or_grow", "explore", DivideOrGrow},
      {"reverse_add", "explore", ReverseAdd},
      {"xor_add", "explore", XorAdd},
      {"index_shift", "explore", IndexShift},
      {"count_set", "explore", CountSet},
  };
  return kOps;
}

const std::vector<std::string> kFamilies = {"string_transform", "number_theory", "parse_format",
                                            "data_structure",   "from_examples", "explore"};
// Families whose operations carry planted bugs (py_buggy).
const std::vector<std::string> kBugFamilies = {"string_transform", "number_theory", "parse_format",
                                               "data_structure"};

// Picks an operation by the optional "family" and "op" arguments among `families`.
StatusOr<const OpEntry*> PickOp(const json& args, Rng& rng,
                                const std::vector<std::string>& families) {
  TG_ASSIGN_OR_RETURN(std::string family, GetString(args, "family", ""));
  TG_ASSIGN_OR_RETURN(std::string op, GetString(args, "op", ""));
  if (!family.empty() && std::find(families.begin(), families.end(), family) == families.end()) {
    return InvalidArgumentError("'family' must be one of {}, got \"{}\"", fmt::join(families, ", "),
                                family);
  }
  std::vector<const OpEntry*> candidates;
  std::vector<std::string> known;
  for (const OpEntry& e : Ops()) {
    if (std::find(families.begin(), families.end(), e.family) == families.end()) continue;
    if (!family.empty() && family != e.family) continue;
    known.push_back(e.op);
    if (op.empty() || op == e.op) candidates.push_back(&e);
  }
  if (candidates.empty()) {
    return InvalidArgumentError("'op' must be one of {}{}, got \"{}\"", fmt::join(known, ", "),
                                family.empty() ? "" : fmt::format(" (family {})", family), op);
  }
  return rng.Choice(candidates);
}

std::string Call(const PyOp& o, const json& args, const std::string& name = "") {
  std::vector<std::string> parts;
  for (const json& a : args) parts.push_back(PyRepr(a));
  return fmt::format("{}({})", name.empty() ? o.name : name, Join(parts, ", "));
}

struct Case {
  json args;
  std::string call;
  json expect;
};

// Draws `n` cases with calls distinct from those in `seen`.
StatusOr<std::vector<Case>> DrawCases(const PyOp& o, Rng& rng, std::size_t n,
                                      std::set<std::string>& seen) {
  std::vector<Case> out;
  for (int attempt = 0; out.size() < n; ++attempt) {
    if (attempt == 2000) {
      return InternalError("operation '{}' cannot produce {} distinct test inputs", o.op, n);
    }
    json args = o.draw(rng);
    std::string call = Call(o, args);
    if (!seen.insert(call).second) continue;
    out.push_back({args, call, o.eval(args, 0)});
  }
  return out;
}

json TestSpecs(const std::vector<Case>& cases, std::string_view prefix) {
  json out = json::array();
  for (std::size_t i = 0; i < cases.size(); ++i) {
    out.push_back({{"name", fmt::format("{}_{}", prefix, i + 1)},
                   {"call", cases[i].call},
                   {"expect", cases[i].expect}});
  }
  return out;
}

// A unittest module for the public tests: `python3 test_solution.py` next to solution.py.
std::string TestSource(const PyOp& o, const std::vector<Case>& cases) {
  std::string out = fmt::format(
      "import unittest\n\nfrom solution import {0}\n\n\nclass Test{1}(unittest.TestCase):\n",
      o.name, [&] {
        std::string camel;
        for (const std::string& p : Split(o.name, '_')) camel += Capitalize(p);
        return camel;
      }());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    out += fmt::format("    def test_example_{}(self):\n        self.assertEqual({}, {})\n\n",
                       i + 1, cases[i].call, PyRepr(cases[i].expect));
  }
  out += "\nif __name__ == '__main__':\n    unittest.main()\n";
  return out;
}

// The same tests as a plain script with deterministic output ("PASS example_1", "FAIL
// example_2: expected 3, got 4", "3 of 4 passed"; exit status 1 on any failure). unittest's
// summary carries the wall time, which makes episodes that show it irreproducible.
std::string TestScript(const PyOp& o, const std::vector<Case>& cases) {
  std::string out = fmt::format(
      "\"\"\"Public tests for solution.py. Run: python3 test_solution.py\"\"\"\nimport sys\n\n"
      "from solution import {}\n\nTESTS = [\n",
      o.name);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    out += fmt::format("    ('example_{}', lambda: {}, {}),\n", i + 1, cases[i].call,
                       PyRepr(cases[i].expect));
  }
  out +=
      "]\n\n\n"
      "def main():\n"
      "    failed = 0\n"
      "    for name, run, expected in TESTS:\n"
      "        try:\n"
      "            got = run()\n"
      "        except Exception as e:\n"
      "            failed += 1\n"
      "            print(f'FAIL {name}: raised {type(e).__name__}: {e}')\n"
      "            continue\n"
      "        if got == expected:\n"
      "            print(f'PASS {name}')\n"
      "        else:\n"
      "            failed += 1\n"
      "            print(f'FAIL {name}: expected {expected!r}, got {got!r}')\n"
      "    print(f'{len(TESTS) - failed} of {len(TESTS)} passed')\n"
      "    return 1 if failed else 0\n"
      "\n\n"
      "if __name__ == '__main__':\n"
      "    sys.exit(main())\n";
  return out;
}

std::string ExamplesText(const std::vector<Case>& cases) {
  std::string out;
  for (const Case& c : cases) out += fmt::format("{} == {}\n", c.call, PyRepr(c.expect));
  return out;
}

json Examples(const std::vector<Case>& cases) {
  json out = json::array();
  for (const Case& c : cases) out.push_back({{"call", c.call}, {"expect", c.expect}});
  return out;
}

std::string ModuleSource(const PyOp& o, Rng& rng) {
  std::int64_t key = rng.UniformInt(1, 255);
  std::string scrambled = o.module_body;
  for (char& c : scrambled) c = static_cast<char>(static_cast<unsigned char>(c) ^ key);
  std::string encoded = Base64(scrambled);
  std::string out =
      "\"\"\"A black box: import it and call mystery(...) to find out what it computes.\"\"\"\n"
      "import base64 as _b\n\n"
      "_k = " +
      std::to_string(key) + "\n_p = (\n";
  for (std::size_t i = 0; i < encoded.size(); i += 64)
    out += "    '" + encoded.substr(i, 64) + "'\n";
  out += ")\nexec(bytes(_c ^ _k for _c in _b.b64decode(_p)).decode(), globals())\n";
  return out;
}

StatusOr<json> GenPyFunctionFor(const json& args, Rng& rng,
                                const std::vector<std::string>& families) {
  TG_ASSIGN_OR_RETURN(const OpEntry* entry, PickOp(args, rng, families));
  PyOp o = entry->make(rng);
  bool from_examples = o.family == "from_examples";
  TG_ASSIGN_OR_RETURN(std::int64_t n_examples, GetInt(args, "examples", from_examples ? 5 : 3));
  TG_ASSIGN_OR_RETURN(std::int64_t n_hidden, GetInt(args, "hidden", rng.UniformInt(8, 10)));
  TG_RETURN_IF_ERROR(CheckRange("examples", n_examples, 0, 20));
  TG_RETURN_IF_ERROR(CheckRange("hidden", n_hidden, 1, 50));

  std::set<std::string> seen;
  TG_ASSIGN_OR_RETURN(std::vector<Case> examples,
                      DrawCases(o, rng, static_cast<std::size_t>(n_examples), seen));
  // Hidden tests: up to two edge cases, then fresh draws.
  std::vector<Case> hidden;
  std::vector<json> edges = o.edges;
  rng.Shuffle(edges);
  for (const json& e : edges) {
    if (hidden.size() >= 2 || static_cast<std::int64_t>(hidden.size()) >= n_hidden) break;
    std::string call = Call(o, e);
    if (seen.insert(call).second) hidden.push_back({e, call, o.eval(e, 0)});
  }
  TG_ASSIGN_OR_RETURN(std::vector<Case> more,
                      DrawCases(o, rng, static_cast<std::size_t>(n_hidden) - hidden.size(), seen));
  hidden.insert(hidden.end(), more.begin(), more.end());
  rng.Shuffle(hidden);

  json out;
  out["family"] = o.family;
  out["op"] = o.op;
  out["name"] = o.name;
  out["signature"] = o.signature;
  out["description"] = o.description;
  out["reference"] = o.source;
  out["examples"] = Examples(examples);
  out["examples_text"] = ExamplesText(examples);
  out["public_tests"] = TestSpecs(examples, "example");
  out["hidden"] = TestSpecs(hidden, "hidden");
  out["test_source"] = TestSource(o, examples);
  out["test_script"] = TestScript(o, examples);
  if (o.family == "explore") {
    out["module_path"] = "blackbox.py";
    out["module_function"] = "mystery";
    out["module_source"] = ModuleSource(o, rng);
    out["domain"] = o.domain;
    if (o.int_query) {
      // "Find the smallest x in [0, limit] with mystery(x) == target": an answer task.
      constexpr std::int64_t kLimit = 1000;
      json target = o.eval(A(rng.UniformInt(0, kLimit)), 0);
      std::int64_t answer = -1, matches = 0;
      for (std::int64_t x = 0; x <= kLimit; ++x) {
        if (o.eval(A(x), 0) == target) {
          if (answer < 0) answer = x;
          ++matches;
        }
      }
      out["query"] = {
          {"limit", kLimit}, {"target", target}, {"answer", answer}, {"matches", matches}};
    } else {
      out["query"] = nullptr;
    }
  }
  return out;
}

StatusOr<json> GenPyFunction(const json& args, Rng& rng) {
  return GenPyFunctionFor(args, rng, kFamilies);
}

StatusOr<json> GenPyExplore(const json& args, Rng& rng) {
  return GenPyFunctionFor(args, rng, {"explore"});
}

StatusOr<json> GenPyBuggy(const json& args, Rng& rng) {
  TG_ASSIGN_OR_RETURN(std::string kind, GetString(args, "kind", ""));
  TG_ASSIGN_OR_RETURN(std::int64_t n_public, GetInt(args, "public", 4));
  TG_ASSIGN_OR_RETURN(std::int64_t n_hidden, GetInt(args, "hidden", rng.UniformInt(8, 10)));
  TG_RETURN_IF_ERROR(CheckRange("public", n_public, 1, 20));
  TG_RETURN_IF_ERROR(CheckRange("hidden", n_hidden, 1, 50));
  static const std::vector<std::string> kKinds = {
      "off_by_one",   "wrong_operator", "wrong_comparison",     "swapped_operands",
      "missing_step", "wrong_constant", "missing_normalization"};
  if (!kind.empty() && std::find(kKinds.begin(), kKinds.end(), kind) == kKinds.end()) {
    return InvalidArgumentError("'kind' must be one of {}, got \"{}\"", fmt::join(kKinds, ", "),
                                kind);
  }
  // An op with a bug of the requested kind; with no "op"/"family" filter, retry the draw.
  PyOp o;
  std::vector<int> bug_ids;
  for (int attempt = 0;; ++attempt) {
    TG_ASSIGN_OR_RETURN(const OpEntry* entry, PickOp(args, rng, kBugFamilies));
    o = entry->make(rng);
    bug_ids.clear();
    for (std::size_t i = 0; i < o.bugs.size(); ++i) {
      if (kind.empty() || o.bugs[i].kind == kind) bug_ids.push_back(static_cast<int>(i) + 1);
    }
    if (!bug_ids.empty()) break;
    if (attempt == 200) {
      return InvalidArgumentError("no operation matching 'family'/'op' has a bug of kind \"{}\"",
                                  kind);
    }
  }
  int bug = rng.Choice(bug_ids);
  const Bug& b = o.bugs[static_cast<std::size_t>(bug - 1)];
  std::size_t at = o.source.find(b.find);
  if (at == std::string::npos || o.source.find(b.find, at + 1) != std::string::npos) {
    return InternalError("bug text of '{}' must occur exactly once in its source", o.op);
  }
  std::string buggy = o.source;
  buggy.replace(at, b.find.size(), b.replace);

  // A pool of distinct cases split by whether the bug shows.
  std::set<std::string> seen;
  std::vector<Case> failing, passing;
  auto consider = [&](const json& a) {
    std::string call = Call(o, a);
    if (!seen.insert(call).second) return;
    Case c{a, call, o.eval(a, 0)};
    (o.eval(a, bug) != c.expect ? failing : passing).push_back(std::move(c));
  };
  for (const json& e : o.edges) consider(e);
  std::size_t need = static_cast<std::size_t>(n_public + n_hidden);
  for (int attempt = 0;
       attempt < 3000 && (failing.size() + passing.size() < need + 8 || failing.size() < 3);
       ++attempt) {
    consider(o.draw(rng));
  }
  if (failing.empty()) return InternalError("the bug in '{}' shows on no drawn input", o.op);
  if (failing.size() + passing.size() < need) {
    return InternalError("operation '{}' cannot produce {} distinct test inputs", o.op, need);
  }
  rng.Shuffle(failing);
  rng.Shuffle(passing);
  // Public: one or two failing tests, the rest passing where possible; hidden: at least one
  // failing test when any is left.
  std::vector<Case> pub, hidden;
  std::size_t pub_fail = std::min<std::size_t>(failing.size() > 1 ? rng.UniformInt(1, 2) : 1,
                                               static_cast<std::size_t>(n_public));
  std::size_t fi = 0, pi = 0;
  for (; fi < pub_fail; ++fi) pub.push_back(failing[fi]);
  while (static_cast<std::int64_t>(pub.size()) < n_public) {
    pub.push_back(pi < passing.size() ? passing[pi++] : failing[fi++]);
  }
  if (fi < failing.size()) hidden.push_back(failing[fi++]);
  while (static_cast<std::int64_t>(hidden.size()) < n_hidden) {
    bool take_fail = fi < failing.size() && (pi >= passing.size() || rng.Bernoulli(0.4));
    hidden.push_back(take_fail ? failing[fi++] : passing[pi++]);
  }
  rng.Shuffle(pub);
  rng.Shuffle(hidden);
  json failing_public = json::array();
  for (std::size_t i = 0; i < pub.size(); ++i) {
    if (o.eval(pub[i].args, bug) != pub[i].expect)
      failing_public.push_back(fmt::format("example_{}", i + 1));
  }

  json out;
  out["family"] = o.family;
  out["op"] = o.op;
  out["name"] = o.name;
  out["signature"] = o.signature;
  out["description"] = o.description;
  out["reference"] = o.source;
  out["buggy_source"] = buggy;
  out["bug_kind"] = b.kind;
  out["bug_description"] = b.description;
  out["examples"] = Examples(pub);
  out["examples_text"] = ExamplesText(pub);
  out["public_tests"] = TestSpecs(pub, "example");
  out["failing_public"] = failing_public;
  out["hidden"] = TestSpecs(hidden, "hidden");
  out["test_source"] = TestSource(o, pub);
  out["test_script"] = TestScript(o, pub);
  return out;
}

}  // namespace

void RegisterCodeGenerators(GeneratorRegistry& r) {
  auto add = [&r](GeneratorInfo info) {
    Status s = r.Register(std::move(info));
    TG_CHECK(s.ok());
  };
  add({"py_function",
       "a Python function task: spec, reference source, public examples and hidden tests "
       "(family: string_transform, number_theory, parse_format, data_structure, from_examples, "
       "explore)",
       {"family", "op", "examples", "hidden"},
       {},
       GenPyFunction});
  add({"py_buggy",
       "a Python function with one planted bug, its reference and tests of which at least one "
       "public test fails on the bug",
       {"family", "op", "kind", "public", "hidden"},
       {},
       GenPyBuggy});
  add({"py_explore",
       "py_function of family explore: a scrambled blackbox.py to probe, the function to "
       "reproduce and a search query",
       {"op", "examples", "hidden"},
       {},
       GenPyExplore});
}

}  // namespace toolgym::scenarios
