// The compiled form of a site, shared by the compiler (site.cc), the session (browser.cc) and
// the renderers (render.cc). Not part of the public API: everything a step needs is resolved
// here once (page indexes, state variables, list-row slots, compiled regexes, search tokens), so
// that a step never looks at the site JSON again.
#pragma once

#include <re2/re2.h>

#include <deque>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "web/site.h"

namespace toolgym::web::internal {

using nlohmann::json;

// Bounds on what a session can grow to, whatever the agent does.
inline constexpr std::size_t kMaxTypedBytes = 1000;  // type(id, text)
inline constexpr std::size_t kMaxListLength = 1000;  // a state list (append)
inline constexpr std::size_t kMaxEvents = 1000;      // the event log
inline constexpr std::size_t kMaxHistory = 200;      // back() depth
inline constexpr std::size_t kMaxVisits = 1000;      // the navigation log
inline constexpr std::size_t kMaxLines = 5000;       // lines of one rendered page
inline constexpr std::size_t kMaxLineBytes = 2000;   // one rendered line
inline constexpr int kMaxRedirects = 8;              // goto chains from on_open
inline constexpr int kMaxNesting = 32;               // sections, lists, conditions
inline constexpr int kMaxListLimit = 1000;           // "limit" of a list
inline constexpr int kDefaultListLimit = 50;

// Where a path starts.
enum class Root { kState, kItem, kData, kInput, kRow };

// `state.cart.0.title`, `p.price:.2f`.
struct Path {
  Root root = Root::kState;
  std::string name;  // state variable, collection, or the row's `as` name
  int slot = 0;      // kRow: index into the row stack
  struct Step {
    std::string key;
    int index = -1;  // >= 0 when the step is all digits (also tried as a key on objects)
  };
  std::vector<Step> steps;
  enum class Format { kNone, kFixed, kCount } format = Format::kNone;
  int precision = 0;  // kFixed
  std::string text;   // as written, for messages
};

// An interpolated string: literals[0] paths[0] literals[1] ... literals[n].
struct Template {
  std::vector<std::string> literals;
  std::vector<Path> paths;
  // Exactly "{path}" without a format: evaluates to the raw JSON value.
  bool raw() const {
    return paths.size() == 1 && literals[0].empty() && literals[1].empty() &&
           paths[0].format == Path::Format::kNone;
  }
};

// A value in the site: a constant, an interpolated string, or an array/object of values.
struct Value {
  enum class Kind { kConst, kTemplate, kArray, kObject } kind = Kind::kConst;
  json constant;
  Template tmpl;
  std::vector<Value> items;
  std::vector<std::pair<std::string, Value>> fields;
};

struct Cond {
  enum class Op {
    kTrue,
    kFalse,
    kEq,
    kNe,
    kLt,
    kLe,
    kGt,
    kGe,
    kContains,
    kMatches,
    kEmpty,
    kAnd,
    kOr,
    kNot
  } op = Op::kTrue;
  std::vector<Value> args;
  std::vector<Cond> subs;
  std::shared_ptr<const RE2> re;  // kMatches
};

struct Effect {
  enum class Kind {
    kCheck,
    kSet,
    kAdd,
    kAppend,
    kRemove,
    kReset,
    kToggle,
    kSetData,
    kEmit,
    kEnd,
    kGoto
  } kind = Kind::kSet;
  std::string pointer;  // JSON pointer in the site, for run-time errors
  std::optional<Cond> when;
  Cond check;
  Value message;              // kCheck
  std::string var;            // state variable
  Value value;                // kSet, kAdd, kAppend, kRemove, kSetData, kEmit
  int collection = -1;        // kSetData
  Value id;                   // kSetData
  std::string field;          // kSetData
  std::string name;           // kEmit event name, kEnd reason
  int page = -1;              // kGoto
  std::optional<Value> item;  // kGoto
};

enum class InputKind { kText, kPassword, kNumber };

struct Element {
  enum class Kind {
    kHeading,
    kText,
    kLink,
    kButton,
    kInput,
    kSelect,
    kCheckbox,
    kList,
    kSection,
    kErrors
  } kind = Kind::kText;
  std::string pointer;
  std::string name;
  std::optional<Cond> when;  // "if"
  Value text;                // heading/text content; label of everything else
  // link, button: navigation. to < 0: none.
  int to = -1;
  std::optional<Value> item;
  std::vector<Effect> effects;  // do / on_type / on_select
  // input, select, checkbox
  std::string var;
  InputKind input_kind = InputKind::kText;
  std::optional<Value> placeholder;
  Value options;  // select
  // list
  Value source;
  int slot = 0;  // row stack slot of `as`
  std::optional<Cond> where;
  std::optional<Value> search_query;
  std::vector<std::string> search_fields;
  int search_index = -1;  // into CompiledSite::search_indexes when the source is data.<name>
  std::string sort_field;
  bool sort_desc = false;
  int limit = kDefaultListLimit;
  std::optional<Value> offset;
  std::optional<Value> empty;
  std::vector<Element> children;  // list rows, section content
  bool interactive() const {
    return kind == Kind::kLink || kind == Kind::kButton || kind == Kind::kInput ||
           kind == Kind::kSelect || kind == Kind::kCheckbox;
  }
};

struct Page {
  std::string id;
  Value title;
  int item_of = -1;              // collection index
  bool item_of_invalid = false;  // item_of names no collection (reported once, not per use)
  std::vector<Element> elements;
  std::vector<Effect> on_open;
};

struct Collection {
  std::string name;
  std::unordered_map<std::string, std::size_t> by_id;  // row index by "id"
};

// Per row of a collection, the sorted distinct words of the searched fields.
struct SearchIndex {
  int collection = -1;
  std::vector<std::string> fields;
  std::vector<std::vector<std::string>> words;
};

class CompiledSite : public Site {
 public:
  const std::string& title() const override { return title_; }
  const nlohmann::json& document() const override { return doc_; }

  std::string title_;
  json doc_;
  int viewport_lines = 30;
  int start = 0;
  json initial_state = json::object();
  json data = json::object();           // collection name -> array
  std::vector<Collection> collections;  // in name order
  std::map<std::string, int> collection_index;
  std::vector<Page> pages;  // in id order
  std::map<std::string, int> page_index;
  std::vector<SearchIndex> search_indexes;
};

// One rendered page: the lines in document order and the interactive elements ([1] is
// controls[0]). Built by browser.cc from the session, drawn by render.cc as text or HTML.
struct Line {
  enum class Kind {
    kHeading,
    kText,
    kSection,
    kError,
    kLink,
    kButton,
    kInput,
    kSelect,
    kCheckbox
  } kind = Kind::kText;
  int indent = 0;
  int id = 0;         // [id] for interactive lines, else 0
  std::string label;  // the text of non-interactive lines
  std::string value;  // inputs and selects
  std::vector<std::string> options;
  std::string placeholder;
  InputKind input_kind = InputKind::kText;
  bool checked = false;
};

struct Control {
  const Element* element = nullptr;
  std::vector<const json*> rows;  // the list rows in scope where it was drawn
  std::size_t line = 0;           // index into Layout::lines
};

struct Layout {
  std::string title;  // the page's title, interpolated
  std::vector<Line> lines;
  std::vector<Control> controls;
  bool cut = false;  // the page had more than kMaxLines lines
  // Lists whose rows were computed while laying out (an inline list, a template that builds
  // one): the controls drawn in their rows point into these, so they live as long as the layout.
  // A deque, so that adding one never moves the others.
  std::deque<json> owned_lists;
};

// The agent's view: "Site | Page" header, the lines of the viewport starting at `first`, and a
// footer saying where the viewport is when the page is longer than it.
std::string RenderText(const std::string& site_title, const Layout& layout, int first,
                       int viewport_lines);
// One line as the agent sees it, without the indent: `[3] input "Email" value=""`.
std::string LineText(const Line& line);
// The same page as an HTML document (docs/sites.md, "Serving a site").
std::string RenderHtmlPage(const std::string& site_title, const std::string& page_id,
                           const Layout& layout, const std::string& agent_view,
                           const std::string& notice);

// Shared helpers (site.cc).

// Lowercase words, ASCII punctuation as separators, sorted and distinct.
std::vector<std::string> Words(const json& v);
void AppendWords(const json& v, std::vector<std::string>* out);
// The text form of a value: strings as they are, numbers in shortest form, lists joined with
// ", ", null as "".
std::string ValueText(const json& v);
void AppendValueText(const json& v, std::string* out);

}  // namespace toolgym::web::internal
