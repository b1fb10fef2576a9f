// The "{{ expr }}" template language of scenario files (scenarios/template.h).
#include "scenarios/template.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace toolgym::scenarios {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;

json Ctx() {
  return json::parse(R"({
    "count": 3,
    "file": {"path": "data/report.txt", "size": 120},
    "rows": [{"name": "ann", "age": 31}, {"name": "bob", "age": 27}],
    "words": ["pear", "apple", "fig"],
    "nums": [4, 1, 2.5],
    "ints": [5, 9, 1],
    "flag": true,
    "nothing": null,
    "text": "  Hello World  ",
    "quote": "it's",
    "multi": "a\nb\n\nc\n",
    "pi": 3.14159,
    "neg": -2.5,
    "numstr": " 42 ",
    "floatstr": "7.9",
    "map": {"b": 2, "a": 1},
    "1": "one"
  })");
}

json Render(std::string_view t) {
  auto r = RenderTemplate(t, Ctx());
  EXPECT_TRUE(r.ok()) << t << ": " << r.status().ToString();
  return r.ok() ? *r : json("<error>");
}

std::string Error(std::string_view t) {
  auto r = RenderTemplate(t, Ctx());
  EXPECT_FALSE(r.ok()) << t << " rendered " << (r.ok() ? r->dump() : "");
  return r.ok() ? "" : r.status().message();
}

TEST(TemplateTest, PlainTextIsUnchanged) {
  EXPECT_EQ(Render("no placeholders }} here {"), "no placeholders }} here {");
  EXPECT_EQ(Render(""), "");
}

TEST(TemplateTest, LonePlaceholderKeepsJsonType) {
  EXPECT_EQ(Render("{{ count }}"), json(3));
  EXPECT_TRUE(Render("{{count}}").is_number_integer());
  EXPECT_EQ(Render("{{ file }}"), Ctx()["file"]);
  EXPECT_EQ(Render("{{ words }}"), Ctx()["words"]);
  EXPECT_EQ(Render("{{ flag }}"), json(true));
  EXPECT_EQ(Render("{{ nothing }}"), json(nullptr));
  EXPECT_EQ(Render("{{ pi }}"), json(3.14159));
}

TEST(TemplateTest, EmbeddedPlaceholdersBecomeText) {
  EXPECT_EQ(Render("n={{ count }}"), "n=3");
  EXPECT_EQ(Render(" {{ count }}"), " 3");  // not a lone placeholder: a string
  EXPECT_EQ(Render("{{ file.path }} ({{ file.size }} bytes)"), "data/report.txt (120 bytes)");
  EXPECT_EQ(Render("w={{ words }}"), R"(w=["pear","apple","fig"])");
  EXPECT_EQ(Render("{{ flag }}/{{ nothing }}"), "true/null");
  EXPECT_EQ(Render("{{count}}{{count}}"), "33");
}

TEST(TemplateTest, PathsIndexArraysAndObjects) {
  EXPECT_EQ(Render("{{ rows.1.name }}"), "bob");
  EXPECT_EQ(Render("{{ rows.0.age }}"), json(31));
  EXPECT_EQ(Render("{{ words.2 }}"), "fig");
  EXPECT_EQ(Render("{{ 1 }}"), "one");  // a digit key at the top level is an object key
}

TEST(TemplateTest, EscapedBraces) {
  EXPECT_EQ(Render("{{{{ count }}"), "{{ count }}");
  EXPECT_EQ(Render("a {{{{ b {{ count }}"), "a {{ b 3");
  EXPECT_FALSE(HasPlaceholder("only {{{{ escaped"));
  EXPECT_TRUE(HasPlaceholder("x {{ y }}"));
  EXPECT_TRUE(HasPlaceholder("{{{{ and {{ y }}"));
  EXPECT_FALSE(HasPlaceholder("plain } { text"));
}

TEST(TemplateTest, UnknownNameErrorListsAvailableNames) {
  json ctx = {{"count", 1}, {"file", "x"}};
  auto r = RenderTemplate("{{ cnt }}", ctx);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "unknown name 'cnt' in '{{ cnt }}' (available: count, file)");
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST(TemplateTest, BadPathsNameTheProblem) {
  EXPECT_THAT(Error("{{ file.pth }}"), HasSubstr("'file' has no key 'pth'"));
  EXPECT_THAT(Error("{{ file.pth }}"), HasSubstr("available: path, size"));
  EXPECT_THAT(Error("{{ rows.5 }}"), HasSubstr("index 5 out of range for 'rows' (2 items)"));
  EXPECT_THAT(Error("{{ rows.x }}"), HasSubstr("'rows' is a list; 'x' is not an index"));
  EXPECT_THAT(Error("{{ count.x }}"), HasSubstr("'count' is a number, it has no key 'x'"));
  EXPECT_THAT(Error("{{ rows.0.nme }}"), HasSubstr("'rows.0' has no key 'nme'"));
}

TEST(TemplateTest, SyntaxErrors) {
  EXPECT_THAT(Error("{{ count"), HasSubstr("unterminated placeholder '{{ count'"));
  EXPECT_THAT(Error("{{ }}"), HasSubstr("expected a name"));
  EXPECT_THAT(Error("{{ a b }}"), HasSubstr("expected '|' or '}}'"));
  EXPECT_THAT(Error("{{ count| }}"), HasSubstr("expected a filter name"));
  EXPECT_THAT(Error("{{ words|join(',' }}"), HasSubstr("expected ',' or ')'"));
  EXPECT_THAT(Error("{{ words|join(\"x) }}"), HasSubstr("unterminated"));
  EXPECT_THAT(Error("{{ words|join(sep) }}"), HasSubstr("expected a string, number"));
  EXPECT_THAT(Error("{{ file. }}"), HasSubstr("expected a name or index after '.'"));
}

TEST(TemplateTest, ClosingBracesInsideQuotedArguments) {
  EXPECT_EQ(Render("{{ words|join(\"}}\") }}"), "pear}}apple}}fig");
  EXPECT_EQ(Render("{{ missing|default('a}}b') }}"), "a}}b");
}

TEST(TemplateTest, StringFilters) {
  EXPECT_EQ(Render("{{ text|upper }}"), "  HELLO WORLD  ");
  EXPECT_EQ(Render("{{ text|lower }}"), "  hello world  ");
  EXPECT_EQ(Render("{{ text|trim }}"), "Hello World");
  EXPECT_EQ(Render("{{ text|trim|upper }}"), "HELLO WORLD");
  EXPECT_EQ(Render("{{ multi|lines }}"), json({"a", "b", "", "c"}));
  EXPECT_EQ(Render("{{ file.path|basename }}"), "report.txt");
  EXPECT_EQ(Render("{{ file.path|dirname }}"), "data");
  EXPECT_THAT(Error("{{ count|upper }}"), HasSubstr("filter 'upper' needs a string, got a number"));
}

TEST(TemplateTest, PathFiltersFollowPosixpath) {
  json ctx = {{"a", "x.txt"}, {"b", "/x"}, {"c", "a/b/"}, {"d", "//x"}};
  EXPECT_EQ(RenderTemplate("{{ a|dirname }}", ctx).value(), "");
  EXPECT_EQ(RenderTemplate("{{ a|basename }}", ctx).value(), "x.txt");
  EXPECT_EQ(RenderTemplate("{{ b|dirname }}", ctx).value(), "/");
  EXPECT_EQ(RenderTemplate("{{ c|basename }}", ctx).value(), "");
  EXPECT_EQ(RenderTemplate("{{ c|dirname }}", ctx).value(), "a/b");
  EXPECT_EQ(RenderTemplate("{{ d|dirname }}", ctx).value(), "//");
}

TEST(TemplateTest, LenJsonStr) {
  EXPECT_EQ(Render("{{ words|len }}"), json(3));
  EXPECT_EQ(Render("{{ file|len }}"), json(2));
  EXPECT_EQ(Render("{{ quote|len }}"), json(4));
  EXPECT_THAT(Error("{{ count|len }}"), HasSubstr("filter 'len' needs a string, list or object"));
  EXPECT_EQ(Render("{{ file|json }}"), R"({"path":"data/report.txt","size":120})");
  EXPECT_EQ(Render("{{ quote|json }}"), "\"it's\"");
  EXPECT_EQ(Render("{{ count|str }}"), "3");
  EXPECT_EQ(Render("{{ quote|str }}"), "it's");
}

TEST(TemplateTest, JoinNeedsAList) {
  EXPECT_EQ(Render("{{ words|join(', ') }}"), "pear, apple, fig");
  EXPECT_EQ(Render("{{ words|join }}"), "pearapplefig");
  EXPECT_EQ(Render("{{ ints|join('+') }}"), "5+9+1");
  EXPECT_THAT(Error("{{ count|join(',') }}"),
              HasSubstr("filter 'join' needs a list, got a number"));
  EXPECT_THAT(Error("{{ count|join(',') }}"), HasSubstr("in '{{ count|join(',') }}'"));
  EXPECT_THAT(Error("{{ words|join(1) }}"), HasSubstr("filter 'join' needs a string argument"));
}

TEST(TemplateTest, ListFilters) {
  EXPECT_EQ(Render("{{ words|first }}"), "pear");
  EXPECT_EQ(Render("{{ words|last }}"), "fig");
  EXPECT_EQ(Render("{{ quote|first }}"), "i");
  EXPECT_EQ(Render("{{ words|sorted }}"), json({"apple", "fig", "pear"}));
  EXPECT_EQ(Render("{{ nums|sorted }}"), json({1, 2.5, 4}));
  EXPECT_EQ(Render("{{ words|sorted|first }}"), "apple");
  EXPECT_EQ(Render("{{ map|keys }}"), json({"a", "b"}));
  EXPECT_EQ(Render("{{ map|values }}"), json({1, 2}));
  EXPECT_EQ(Render("{{ ints|sum }}"), json(15));
  EXPECT_TRUE(Render("{{ ints|sum }}").is_number_integer());
  EXPECT_EQ(Render("{{ nums|sum }}"), json(7.5));
  EXPECT_EQ(Render("{{ nums|min }}"), json(1));
  EXPECT_EQ(Render("{{ nums|max }}"), json(4));
  EXPECT_EQ(Render("{{ words|max }}"), "pear");
  EXPECT_THAT(Error("{{ rows|sorted }}"), HasSubstr("needs a list of numbers or of strings"));
  EXPECT_THAT(Error("{{ words|sum }}"), HasSubstr("filter 'sum' needs a list of numbers"));
  EXPECT_THAT(Error("{{ words|keys }}"), HasSubstr("filter 'keys' needs an object, got an array"));
  json ctx = {{"empty", json::array()}};
  auto r = RenderTemplate("{{ empty|first }}", ctx);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("empty list"));
  EXPECT_EQ(RenderTemplate("{{ empty|sum }}", ctx).value(), json(0));
}

TEST(TemplateTest, ShellQuoteIsSafeForBash) {
  EXPECT_EQ(Render("{{ quote|shell_quote }}"), R"('it'\''s')");
  EXPECT_EQ(Render("{{ count|shell_quote }}"), "'3'");
  // Round trip hostile strings through bash: printf %s of the quoted word prints it back.
  std::vector<std::string> hostile = {"it's", "$(touch /tmp/x)", "a b\tc\nd", "`id`", "'''",
                                      "",     "\\ \" ; | & > <", "-n"};
  for (const std::string& s : hostile) {
    auto q = RenderTemplate("{{ s|shell_quote }}", json{{"s", s}});
    ASSERT_TRUE(q.ok());
    std::string script = "/tmp/toolgym_template_test_quote.sh";
    {
      std::ofstream f(script);
      f << "printf '%s' " << q->get<std::string>();
    }
    FILE* p = popen(("bash " + script).c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::string out;
    char buf[256];
    std::size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    EXPECT_EQ(pclose(p), 0);
    EXPECT_EQ(out, s) << "quoted as " << q->get<std::string>();
    std::remove(script.c_str());
  }
}

TEST(TemplateTest, DefaultAppliesOnlyToMissingOrNull) {
  EXPECT_EQ(Render("{{ missing|default(\"x\") }}"), "x");
  EXPECT_EQ(Render("{{ missing|default(5) }}"), json(5));
  EXPECT_EQ(Render("{{ missing|default }}"), "");
  EXPECT_EQ(Render("{{ nothing|default('n') }}"), "n");
  EXPECT_EQ(Render("{{ count|default(9) }}"), json(3));
  EXPECT_EQ(Render("{{ file.missing|default('d') }}"), "d");
  EXPECT_EQ(Render("{{ rows.9.name|default('none') }}"), "none");
  EXPECT_EQ(Render("{{ missing|default('abc')|upper }}"), "ABC");
  // A filter before default still sees the missing value.
  EXPECT_THAT(Error("{{ missing|upper|default('x') }}"), HasSubstr("unknown name 'missing'"));
}

TEST(TemplateTest, IntConversions) {
  EXPECT_EQ(Render("{{ numstr|int }}"), json(42));
  EXPECT_EQ(Render("{{ floatstr|int }}"), json(7));
  EXPECT_EQ(Render("{{ pi|int }}"), json(3));
  EXPECT_EQ(Render("{{ neg|int }}"), json(-2));  // truncates toward zero like Python
  EXPECT_EQ(Render("{{ count|int }}"), json(3));
  EXPECT_EQ(Render("{{ flag|int }}"), json(1));
  EXPECT_THAT(Error("{{ quote|int }}"),
              HasSubstr("filter 'int' needs a number or a numeric string"));
  EXPECT_THAT(Error("{{ words|int }}"), HasSubstr("got an array"));
}

TEST(TemplateTest, Round) {
  EXPECT_EQ(Render("{{ pi|round(2) }}"), json(3.14));
  EXPECT_EQ(Render("{{ pi|round(3) }}"), json(3.142));
  EXPECT_EQ(Render("{{ pi|round }}"), json(3));
  EXPECT_TRUE(Render("{{ pi|round }}").is_number_integer());
  EXPECT_EQ(Render("{{ neg|round }}"), json(-2));  // ties to even, like Python's round
  EXPECT_EQ(Render("{{ count|round(2) }}"), json(3));
  EXPECT_EQ(Render("x={{ pi|round(1) }}"), "x=3.1");
  EXPECT_THAT(Error("{{ pi|round(99) }}"), HasSubstr("integer argument in [0, 15]"));
  EXPECT_THAT(Error("{{ quote|round }}"), HasSubstr("filter 'round' needs a number"));
}

TEST(TemplateTest, Indent) {
  EXPECT_EQ(Render("{{ multi|indent(2) }}"), "a\n  b\n\n  c\n");
  EXPECT_EQ(Render("{{ multi|indent }}"), "a\n    b\n\n    c\n");
}

TEST(TemplateTest, UnknownFilterAndArity) {
  std::string e = Error("{{ count|uper }}");
  EXPECT_THAT(e, HasSubstr("unknown filter 'uper'"));
  EXPECT_THAT(e, HasSubstr("filters: upper, lower, trim"));
  EXPECT_THAT(e, HasSubstr("in '{{ count|uper }}'"));
  EXPECT_THAT(Error("{{ text|upper(1) }}"), HasSubstr("filter 'upper' takes no arguments, got 1"));
  EXPECT_THAT(Error("{{ words|join('a', 'b') }}"), HasSubstr("takes at most 1 argument, got 2"));
}

TEST(TemplateTest, RenderStringStringifies) {
  EXPECT_EQ(RenderString("{{ count }}", Ctx()).value(), "3");
  EXPECT_EQ(RenderString("{{ words }}", Ctx()).value(), R"(["pear","apple","fig"])");
  EXPECT_EQ(RenderString("{{ quote }}", Ctx()).value(), "it's");
  EXPECT_FALSE(RenderString("{{ nope }}", Ctx()).ok());
}

TEST(TemplateTest, RenderJsonRendersValuesNotKeys) {
  json spec = json::parse(R"({
    "type": "exact",
    "expected": "{{ count }}",
    "{{ count }}": "key stays",
    "list": ["{{ words.0 }}", 7, {"deep": "n={{ count }}"}, "{{{{ literal"],
    "plain": "x"
  })");
  auto r = RenderJson(spec, Ctx());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["expected"], json(3));
  EXPECT_EQ((*r)["{{ count }}"], "key stays");
  EXPECT_EQ((*r)["list"], json::parse(R"(["pear", 7, {"deep": "n=3"}, "{{ literal"])"));
  EXPECT_EQ((*r)["plain"], "x");
  EXPECT_EQ(spec["expected"], "{{ count }}");  // the input is untouched
}

TEST(TemplateTest, RenderJsonErrorCarriesPointer) {
  json spec = json::parse(R"({"of": [{"type": "x"}, {"a/b": "{{ nope }}"}]})");
  auto r = RenderJson(spec, Ctx());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("at /of/1/a~1b: unknown name 'nope'"));
  auto root = RenderJson(json("{{ nope }}"), Ctx());
  ASSERT_FALSE(root.ok());
  EXPECT_THAT(root.status().message(), HasSubstr("at (root)"));
}

TEST(TemplateTest, HugeInputsDoNotRecurse) {
  // A long template with many placeholders.
  std::string text;
  for (int i = 0; i < 200000; ++i) text += "{{ count }},";
  auto r = RenderString(text, Ctx());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 400000u);
  // Deeply nested JSON: rendered with an explicit stack.
  json deep = "{{ count }}";
  for (int i = 0; i < 100000; ++i) {
    json wrap = json::array();
    wrap.push_back(std::move(deep));
    deep = std::move(wrap);
  }
  auto d = RenderJson(deep, Ctx());
  ASSERT_TRUE(d.ok());
  const json* cur = &*d;
  int depth = 0;
  while (cur->is_array()) {
    cur = &(*cur)[0];
    ++depth;
  }
  EXPECT_EQ(depth, 100000);
  EXPECT_EQ(*cur, json(3));
  // A placeholder with a huge, unterminated expression fails cleanly.
  std::string open = "{{ " + std::string(1 << 20, 'a');
  auto u = RenderTemplate(open, Ctx());
  ASSERT_FALSE(u.ok());
  EXPECT_LT(u.status().message().size(), 200u);
}

TEST(TemplateTest, RandomTemplatesNeverCrash) {
  // Token soup from the grammar's pieces: every outcome is a value or an InvalidArgument error.
  const std::vector<std::string> pieces = {"{{", "}}", "{{{{", "|",       "(",     ")",     "'",
                                           "\"", ",",  ".",    " ",       "count", "words", "rows",
                                           "0",  "9",  "join", "default", "round", "int",   "upper",
                                           "x",  "\\", "-1.5", "true",    "}"};
  std::uint64_t state = 12345;
  auto next = [&state] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return state >> 33;
  };
  int ok = 0, errors = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string t;
    for (std::uint64_t n = next() % 12; n > 0; --n) t += pieces[next() % pieces.size()];
    auto r = RenderTemplate(t, Ctx());
    if (r.ok()) {
      ++ok;
    } else {
      ++errors;
      ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument) << t;
      ASSERT_FALSE(r.status().message().empty()) << t;
    }
  }
  EXPECT_GT(ok, 1000);
  EXPECT_GT(errors, 1000);
}

// Filters the search suites' experts use to read observations (appended with them).

json CtxWith(const char* key, json value) {
  json c = Ctx();
  c[key] = std::move(value);
  return c;
}

TEST(TemplateTest, MatchReturnsGroupOneTheWholeMatchOrNull) {
  const json c =
      CtxWith("page", "p1 · Varno Works · page 1 of 1\nFounding year: 1987\nEmployee count: 420\n");
  auto r = [&](std::string_view t) {
    auto v = RenderTemplate(t, c);
    EXPECT_TRUE(v.ok()) << t << ": " << v.status().ToString();
    return v.ok() ? *v : json("<error>");
  };
  EXPECT_EQ(r("{{ page|match('Founding year: ([0-9]+)') }}"), "1987");
  EXPECT_EQ(r("{{ page|match('[0-9]+') }}"), "1");  // no group: the whole (first) match
  EXPECT_EQ(r("{{ page|match('Mayor: (.*)') }}"), nullptr);
  EXPECT_EQ(r("{{ page|match('Mayor: (.*)')|default('none') }}"), "none");
  // A group that takes no part in the match gives "".
  EXPECT_EQ(r("{{ page|match('Varno (Labs)?') }}"), "");
  // A rewrite reorders the groups.
  EXPECT_EQ(r("{{ page|match('· ([^·]+) ·.*\\n.*: ([0-9]+)', '\\\\2=\\\\1') }}"),
            "1987=Varno Works");
  // Escapes of the template literal: '\\n' is a newline, '\\\\d' reaches RE2 as \d.
  EXPECT_EQ(r("{{ page|match('count: (\\\\d+)\\n') }}"), "420");
}

TEST(TemplateTest, MatchOnAListKeepsTheItemsThatMatch) {
  const json c = CtxWith("outs", {"Search results", "Price: $12", "nothing", "Price: $7"});
  auto v = RenderTemplate("{{ outs|match('Price: [$]([0-9]+)') }}", c);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, json({"12", "7"}));
  auto total = RenderTemplate("{{ outs|match('Price: [$]([0-9]+)')|map('int')|sum }}", c);
  ASSERT_TRUE(total.ok()) << total.status().ToString();
  EXPECT_EQ(*total, json(19));
}

TEST(TemplateTest, MatchErrors) {
  EXPECT_THAT(Error("{{ text|match('(') }}"), HasSubstr("invalid regular expression /(/"));
  EXPECT_THAT(Error("{{ text|match }}"), HasSubstr("filter 'match' needs a regular expression"));
  EXPECT_THAT(Error("{{ count|match('3') }}"), HasSubstr("needs a string or a list of strings"));
  EXPECT_THAT(Error("{{ nums|match('3') }}"), HasSubstr("needs a list of strings"));
  EXPECT_THAT(Error("{{ text|match('(H)', '\\\\3') }}"), HasSubstr("bad rewrite"));
  EXPECT_THAT(Error("{{ text|match(5) }}"), HasSubstr("needs a string argument"));
}

TEST(TemplateTest, MatchIsLinearOnHostileText) {
  // A pattern that backtracks exponentially in std::regex; RE2 answers at once.
  const json c = CtxWith("evil", std::string(100000, 'a') + "!");
  auto v = RenderTemplate("{{ evil|match('^(a+)+$') }}", c);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, nullptr);
}

TEST(TemplateTest, MapAppliesAFilterToEachItem) {
  EXPECT_EQ(Render("{{ words|map('upper') }}"), json({"PEAR", "APPLE", "FIG"}));
  EXPECT_EQ(Render("{{ words|map('first')|join }}"), "paf");
  EXPECT_EQ(Render("{{ nums|map('round')|sum }}"), json(7));  // 4 + 1 + 2 (2.5 ties to even)
  EXPECT_EQ(Render("{{ words|map('match', 'p(.)')|map('default', 'none') }}"),
            json({"e", "p", "none"}));
  EXPECT_THAT(Error("{{ words|map('int') }}"), HasSubstr("filter 'map'"));
  EXPECT_THAT(Error("{{ words|map('nosuch') }}"), HasSubstr("unknown filter 'nosuch'"));
  EXPECT_THAT(Error("{{ text|map('upper') }}"), HasSubstr("filter 'map' needs a list"));
  EXPECT_THAT(Error("{{ words|map }}"), HasSubstr("filter 'map' needs a filter name"));
}

TEST(TemplateTest, NatsortedComparesDigitRunsAsNumbers) {
  const json c = CtxWith("v", {"950\tKelmport", "1200\tTarsville", "87\tOssford", "x10", "x9"});
  auto v = RenderTemplate("{{ v|natsorted }}", c);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, json({"87\tOssford", "950\tKelmport", "1200\tTarsville", "x9", "x10"}));
  // Plain `sorted` orders the same strings byte by byte.
  auto plain = RenderTemplate("{{ v|sorted|first }}", c);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(*plain, "1200\tTarsville");
  // Leading zeros: equal values, the shorter spelling first; a total order.
  auto z = RenderTemplate("{{ v|natsorted }}", CtxWith("v", {"a007", "a7", "a07", "a6"}));
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(*z, json({"a6", "a7", "a07", "a007"}));
  EXPECT_EQ(Render("{{ ints|natsorted }}"), json({1, 5, 9}));
  EXPECT_THAT(Error("{{ rows|natsorted }}"), HasSubstr("numbers or of strings"));
  EXPECT_THAT(Error("{{ text|natsorted }}"), HasSubstr("needs a list"));
}

TEST(TemplateTest, DefaultWithTrueReplacesFalsyValuesToo) {
  const json c = CtxWith("empty", "");
  auto r = [&](std::string_view t) {
    auto v = RenderTemplate(t, c);
    EXPECT_TRUE(v.ok()) << t << ": " << v.status().ToString();
    return v.ok() ? *v : json("<error>");
  };
  EXPECT_EQ(r("{{ empty|default('x') }}"), "");  // without true: only missing or null
  EXPECT_EQ(r("{{ empty|default('x', true) }}"), "x");
  EXPECT_EQ(r("{{ empty|default('x', false) }}"), "");
  EXPECT_EQ(r("{{ missing|default('x', true) }}"), "x");
  EXPECT_EQ(r("{{ count|default('x', true) }}"), json(3));
  EXPECT_EQ(r("{{ text|default('x', true) }}"), "  Hello World  ");
  EXPECT_THAT(Error("{{ count|default('x', 'yes') }}"), HasSubstr("true or false"));
  EXPECT_THAT(Error("{{ count|default('x', true, 1) }}"), HasSubstr("at most 2 arguments"));
}

}  // namespace
}  // namespace toolgym::scenarios
