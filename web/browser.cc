// Browser: one session on a compiled site. Evaluates values and conditions, lays the current page
// out (lists, sections, conditions), runs effects (checks first), navigates with a history, and
// keeps the layout of the current state cached so that an action and the render after it lay the
// page out once.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "web/site.h"
#include "web/site_internal.h"

namespace toolgym::web {

using internal::Cond;
using internal::Control;
using internal::Effect;
using internal::Element;
using internal::Layout;
using internal::Line;
using internal::Path;
using internal::Root;
using internal::Value;
using nlohmann::json;

namespace {

const json kNull;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A number, or a string that is one ("12", " 3.5 ").
bool ToNumber(const json& v, double* out) {
  if (v.is_number()) {
    *out = v.get<double>();
    return true;
  }
  if (!v.is_string()) return false;
  const std::string& s = v.get_ref<const std::string&>();
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  if (b == e) return false;
  if (s[b] == '+') ++b;
  const auto r = std::from_chars(s.data() + b, s.data() + e, *out);
  return r.ec == std::errc() && r.ptr == s.data() + e && std::isfinite(*out);
}

// Equality for eq/ne/remove: numbers by value (1 == 1.0), everything else as JSON.
bool Equal(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) return a.get<double>() == b.get<double>();
  return a == b;
}

// Membership for contains: strings compare case-insensitively.
bool LooseEqual(const json& a, const json& b) {
  if (a.is_string() && b.is_string())
    return Lower(a.get<std::string>()) == Lower(b.get<std::string>());
  return Equal(a, b);
}

bool IsEmpty(const json& v) {
  return v.is_null() || (v.is_string() && v.get_ref<const std::string&>().empty()) ||
         ((v.is_array() || v.is_object()) && v.empty());
}

json NumberJson(double d) {
  if (std::floor(d) == d && std::fabs(d) < 9e15) return json(static_cast<std::int64_t>(d));
  return json(d);
}

// Where the navigation of an action goes (a link's `to`, or a goto effect).
struct Nav {
  int page = -1;
  std::optional<std::string> item;
};

}  // namespace

struct Browser::Impl {
  std::shared_ptr<const internal::CompiledSite> site;
  json state;
  std::map<std::string, json> changed;  // collections changed by set_data: name -> rows
  int page = 0;
  std::optional<std::string> item;
  struct Entry {
    int page;
    std::optional<std::string> item;
  };
  std::vector<Entry> history;
  json visits = json::array();
  json events = json::array();
  std::vector<std::string> errors;  // messages of the last failed checks
  int scroll = 0;                   // first line of the viewport
  bool ended = false;
  std::string end_reason;
  // The current page laid out; null when something changed since. Points into `state`,
  // `changed` and the site, so it is never copied with the session.
  mutable std::unique_ptr<Layout> layout;

  Impl() = default;
  Impl(const Impl& o)
      : site(o.site),
        state(o.state),
        changed(o.changed),
        page(o.page),
        item(o.item),
        history(o.history),
        visits(o.visits),
        events(o.events),
        errors(o.errors),
        scroll(o.scroll),
        ended(o.ended),
        end_reason(o.end_reason) {}

  // Evaluation context: the rows of the enclosing lists, the page's item, the typed input.
  struct Ctx {
    const json* item = nullptr;
    const json* input = nullptr;
    std::vector<const json*> rows;
  };

  const internal::Page& CurrentPage() const { return site->pages[page]; }

  const json& Collection(const std::string& name) const {
    auto it = changed.find(name);
    if (it != changed.end()) return it->second;
    auto d = site->data.find(name);
    return d == site->data.end() ? kNull : *d;
  }

  const json* ItemOf(int page_index, const std::optional<std::string>& id) const {
    const internal::Page& p = site->pages[page_index];
    if (p.item_of < 0 || !id) return nullptr;
    const internal::Collection& c = site->collections[p.item_of];
    auto it = c.by_id.find(*id);
    if (it == c.by_id.end()) return nullptr;
    const json& rows = Collection(c.name);
    return it->second < rows.size() ? &rows[it->second] : nullptr;
  }

  const json* Resolve(const Path& p, const Ctx& ctx) const {
    const json* v = nullptr;
    switch (p.root) {
      case Root::kState: {
        auto it = state.find(p.name);
        v = it == state.end() ? nullptr : &*it;
        break;
      }
      case Root::kItem:
        v = ctx.item;
        break;
      case Root::kData:
        v = &Collection(p.name);
        break;
      case Root::kInput:
        v = ctx.input;
        break;
      case Root::kRow:
        v = p.slot < static_cast<int>(ctx.rows.size()) ? ctx.rows[p.slot] : nullptr;
        break;
    }
    for (const Path::Step& s : p.steps) {
      if (v == nullptr) return nullptr;
      if (v->is_object()) {
        auto it = v->find(s.key);
        v = it == v->end() ? nullptr : &*it;
      } else if (v->is_array() && s.index >= 0 && static_cast<std::size_t>(s.index) < v->size()) {
        v = &(*v)[s.index];
      } else {
        return nullptr;
      }
    }
    return v;
  }

  void AppendPath(const Path& p, const Ctx& ctx, std::string* out) const {
    const json* v = Resolve(p, ctx);
    const json& j = v ? *v : kNull;
    switch (p.format) {
      case Path::Format::kNone:
        internal::AppendValueText(j, out);
        return;
      case Path::Format::kCount: {
        std::size_t n = 0;
        if (j.is_array() || j.is_object()) {
          n = j.size();
        } else if (j.is_string()) {
          for (char c : j.get_ref<const std::string&>())
            n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
        }
        *out += std::to_string(n);
        return;
      }
      case Path::Format::kFixed: {
        double d;
        if (ToNumber(j, &d))
          *out += fmt::format("{:.{}f}", d, p.precision);
        else
          internal::AppendValueText(j, out);
        return;
      }
    }
  }

  json Eval(const Value& v, const Ctx& ctx) const {
    switch (v.kind) {
      case Value::Kind::kConst:
        return v.constant;
      case Value::Kind::kTemplate: {
        if (v.tmpl.raw()) {
          const json* r = Resolve(v.tmpl.paths[0], ctx);
          return r ? *r : json();
        }
        return Text(v, ctx);
      }
      case Value::Kind::kArray: {
        json a = json::array();
        for (const Value& e : v.items) a.push_back(Eval(e, ctx));
        return a;
      }
      case Value::Kind::kObject: {
        json o = json::object();
        for (const auto& [k, e] : v.fields) o[k] = Eval(e, ctx);
        return o;
      }
    }
    return json();
  }

  // Like Eval, without copying a value that already exists somewhere.
  const json& Ref(const Value& v, const Ctx& ctx, json* tmp) const {
    if (v.kind == Value::Kind::kConst) return v.constant;
    if (v.kind == Value::Kind::kTemplate && v.tmpl.raw()) {
      const json* r = Resolve(v.tmpl.paths[0], ctx);
      return r ? *r : kNull;
    }
    *tmp = Eval(v, ctx);
    return *tmp;
  }

  std::string Text(const Value& v, const Ctx& ctx) const {
    if (v.kind == Value::Kind::kConst && v.constant.is_string())
      return v.constant.get<std::string>();
    if (v.kind == Value::Kind::kTemplate && !v.tmpl.raw()) {
      std::string out = v.tmpl.literals[0];
      for (std::size_t i = 0; i < v.tmpl.paths.size(); ++i) {
        AppendPath(v.tmpl.paths[i], ctx, &out);
        out += v.tmpl.literals[i + 1];
      }
      return out;
    }
    json tmp;
    return internal::ValueText(Ref(v, ctx, &tmp));
  }

  bool Holds(const Cond& c, const Ctx& ctx) const {
    json ta, tb;
    switch (c.op) {
      case Cond::Op::kTrue:
        return true;
      case Cond::Op::kFalse:
        return false;
      case Cond::Op::kAnd:
        for (const Cond& s : c.subs)
          if (!Holds(s, ctx)) return false;
        return true;
      case Cond::Op::kOr:
        for (const Cond& s : c.subs)
          if (Holds(s, ctx)) return true;
        return false;
      case Cond::Op::kNot:
        return !Holds(c.subs[0], ctx);
      case Cond::Op::kEmpty:
        return IsEmpty(Ref(c.args[0], ctx, &ta));
      case Cond::Op::kMatches: {
        const json& a = Ref(c.args[0], ctx, &ta);
        const std::string s = a.is_string() ? a.get<std::string>() : internal::ValueText(a);
        return RE2::PartialMatch(s, *c.re);
      }
      case Cond::Op::kEq:
        return Equal(Ref(c.args[0], ctx, &ta), Ref(c.args[1], ctx, &tb));
      case Cond::Op::kNe:
        return !Equal(Ref(c.args[0], ctx, &ta), Ref(c.args[1], ctx, &tb));
      case Cond::Op::kContains: {
        const json& a = Ref(c.args[0], ctx, &ta);
        const json& b = Ref(c.args[1], ctx, &tb);
        if (a.is_array()) {
          for (const json& e : a)
            if (LooseEqual(e, b)) return true;
          return false;
        }
        if (a.is_object()) return b.is_string() && a.contains(b.get<std::string>());
        if (a.is_string())
          return Lower(a.get<std::string>()).find(Lower(internal::ValueText(b))) !=
                 std::string::npos;
        return false;
      }
      default: {
        double x, y;
        if (!ToNumber(Ref(c.args[0], ctx, &ta), &x) || !ToNumber(Ref(c.args[1], ctx, &tb), &y))
          return false;
        switch (c.op) {
          case Cond::Op::kLt:
            return x < y;
          case Cond::Op::kLe:
            return x <= y;
          case Cond::Op::kGt:
            return x > y;
          default:
            return x >= y;
        }
      }
    }
  }

  Ctx PageCtx() const {
    Ctx ctx;
    ctx.item = ItemOf(page, item);
    return ctx;
  }

  // ---- Layout ----

  struct Builder {
    const Impl* b;
    Layout* out;
    bool errors_placed = false;

    bool Full() {
      if (out->lines.size() < internal::kMaxLines) return false;
      out->cut = true;
      return true;
    }

    Line& Add(Line::Kind kind, int indent, std::string label) {
      out->lines.emplace_back();
      Line& l = out->lines.back();
      l.kind = kind;
      l.indent = indent;
      l.label = std::move(label);
      return l;
    }

    void AddErrors(int indent) {
      for (const std::string& e : b->errors)
        if (!Full()) Add(Line::Kind::kError, indent, e);
      errors_placed = true;
    }

    void Control(const Element& el, Ctx& ctx, int indent) {
      if (Full()) return;
      Line::Kind kind = Line::Kind::kLink;
      switch (el.kind) {
        case Element::Kind::kButton:
          kind = Line::Kind::kButton;
          break;
        case Element::Kind::kInput:
          kind = Line::Kind::kInput;
          break;
        case Element::Kind::kSelect:
          kind = Line::Kind::kSelect;
          break;
        case Element::Kind::kCheckbox:
          kind = Line::Kind::kCheckbox;
          break;
        default:
          break;
      }
      std::string label = b->Text(el.text, ctx);
      if (label.empty() && !el.var.empty()) label = el.var;
      Line& l = Add(kind, indent, std::move(label));
      l.id = static_cast<int>(out->controls.size()) + 1;
      out->controls.push_back({&el, ctx.rows, out->lines.size() - 1});
      if (!el.var.empty()) {
        auto it = b->state.find(el.var);
        const json& v = it == b->state.end() ? kNull : *it;
        if (el.kind == Element::Kind::kCheckbox)
          l.checked = v.is_boolean() && v.get<bool>();
        else
          l.value = internal::ValueText(v);
      }
      if (el.kind == Element::Kind::kInput) {
        l.input_kind = el.input_kind;
        if (el.placeholder) l.placeholder = b->Text(*el.placeholder, ctx);
      }
      if (el.kind == Element::Kind::kSelect) {
        json tmp;
        const json& opts = b->Ref(el.options, ctx, &tmp);
        if (opts.is_array())
          for (const json& o : opts) l.options.push_back(internal::ValueText(o));
      }
    }

    void Elements(const std::vector<Element>& els, Ctx& ctx, int indent) {
      for (const Element& el : els) {
        if (Full()) return;
        if (el.when && !b->Holds(*el.when, ctx)) continue;
        switch (el.kind) {
          case Element::Kind::kHeading:
            Add(Line::Kind::kHeading, indent, b->Text(el.text, ctx));
            break;
          case Element::Kind::kText:
            Add(Line::Kind::kText, indent, b->Text(el.text, ctx));
            break;
          case Element::Kind::kSection:
            Add(Line::Kind::kSection, indent, b->Text(el.text, ctx));
            Elements(el.children, ctx, indent + 2);
            break;
          case Element::Kind::kErrors:
            AddErrors(indent);
            break;
          case Element::Kind::kList:
            List(el, ctx, indent);
            break;
          default:
            Control(el, ctx, indent);
        }
      }
    }

    void List(const Element& el, Ctx& ctx, int indent) {
      // Rows of a computed list are kept in the layout: the controls drawn below point into them
      // and are used after this returns (a click binds its row then).
      json owned;
      const json* src = &b->Ref(el.source, ctx, &owned);
      if (src == &owned) src = &out->owned_lists.emplace_back(std::move(owned));
      std::vector<std::pair<std::size_t, const json*>> rows;
      if (src->is_array()) {
        rows.reserve(src->size());
        for (std::size_t i = 0; i < src->size(); ++i) rows.emplace_back(i, &(*src)[i]);
      }
      if (ctx.rows.size() <= static_cast<std::size_t>(el.slot)) ctx.rows.resize(el.slot + 1);
      if (el.where) {
        std::vector<std::pair<std::size_t, const json*>> kept;
        for (const auto& r : rows) {
          ctx.rows[el.slot] = r.second;
          if (b->Holds(*el.where, ctx)) kept.push_back(r);
        }
        rows.swap(kept);
      }
      if (el.search_query) Search(el, ctx, &rows);
      if (!el.sort_field.empty()) {
        const std::string& f = el.sort_field;
        const auto field = [&](const json* row) -> const json* {
          if (!row->is_object()) return nullptr;
          auto it = row->find(f);
          return it == row->end() || it->is_null() ? nullptr : &*it;
        };
        std::stable_sort(rows.begin(), rows.end(), [&](const auto& x, const auto& y) {
          const json* a = field(x.second);
          const json* c = field(y.second);
          if (a == nullptr || c == nullptr) return a != nullptr && c == nullptr;
          if (el.sort_desc) std::swap(a, c);
          if (a->is_number() && c->is_number()) return a->get<double>() < c->get<double>();
          return internal::ValueText(*a) < internal::ValueText(*c);
        });
      }
      std::size_t offset = 0;
      if (el.offset) {
        json tmp;
        double d;
        if (ToNumber(b->Ref(*el.offset, ctx, &tmp), &d) && d > 0)
          offset = static_cast<std::size_t>(std::min(d, 1e9));
      }
      const std::size_t begin = std::min(offset, rows.size());
      const std::size_t end = std::min(rows.size(), begin + static_cast<std::size_t>(el.limit));
      if (begin == end) {
        if (el.empty) Add(Line::Kind::kText, indent, b->Text(*el.empty, ctx));
        return;
      }
      for (std::size_t i = begin; i < end && !Full(); ++i) {
        ctx.rows[el.slot] = rows[i].second;
        const std::size_t first = out->lines.size();
        Elements(el.children, ctx, indent);
        for (std::size_t l = first + 1; l < out->lines.size(); ++l) out->lines[l].indent += 4;
      }
      ctx.rows[el.slot] = nullptr;
    }

    // Keeps the rows sharing a word with the query, most shared words first (stable).
    void Search(const Element& el, Ctx& ctx,
                std::vector<std::pair<std::size_t, const json*>>* rows) {
      std::vector<std::string> query = internal::Words(b->Text(*el.search_query, ctx));
      if (query.size() > 32) query.resize(32);
      const internal::SearchIndex* index = nullptr;
      if (el.search_index >= 0) {
        const internal::SearchIndex& s = b->site->search_indexes[el.search_index];
        if (!b->changed.count(b->site->collections[s.collection].name)) index = &s;
      }
      std::vector<std::pair<int, std::pair<std::size_t, const json*>>> scored;
      std::vector<std::string> live;
      for (const auto& r : *rows) {
        const std::vector<std::string>* words;
        if (index != nullptr && r.first < index->words.size()) {
          words = &index->words[r.first];
        } else {
          live.clear();
          if (r.second->is_object())
            for (const std::string& f : el.search_fields) {
              auto it = r.second->find(f);
              if (it != r.second->end()) internal::AppendWords(*it, &live);
            }
          std::sort(live.begin(), live.end());
          words = &live;
        }
        int n = 0;
        for (const std::string& q : query) n += std::binary_search(words->begin(), words->end(), q);
        if (n > 0) scored.emplace_back(n, r);
      }
      std::stable_sort(scored.begin(), scored.end(),
                       [](const auto& a, const auto& c) { return a.first > c.first; });
      rows->clear();
      for (auto& s : scored) rows->push_back(s.second);
    }
  };

  const Layout& GetLayout() const {
    if (layout) return *layout;
    auto l = std::make_unique<Layout>();
    l->lines.reserve(64);
    l->controls.reserve(32);
    Ctx ctx = PageCtx();
    const internal::Page& p = CurrentPage();
    l->title = Text(p.title, ctx);
    Builder builder{this, l.get()};
    builder.Elements(p.elements, ctx, 0);
    if (!builder.errors_placed && !errors.empty()) {
      std::vector<Line> top;
      for (const std::string& e : errors) {
        Line line;
        line.kind = Line::Kind::kError;
        line.label = e;
        top.push_back(std::move(line));
      }
      l->lines.insert(l->lines.begin(), top.begin(), top.end());
      for (Control& c : l->controls) c.line += top.size();
    }
    if (l->cut) {
      Line line;
      line.label = fmt::format("(the page is cut at {} lines)", internal::kMaxLines);
      l->lines.push_back(std::move(line));
    }
    layout = std::move(l);
    return *layout;
  }

  void Changed() { layout.reset(); }

  // ---- Actions ----

  static ActionResult Fail(std::string message) {
    ActionResult r;
    r.ok = false;
    r.error = std::move(message);
    return r;
  }

  // The control with id `id`, or an error naming what ids exist.
  const Control* Find(int id, std::string* error) const {
    const Layout& l = GetLayout();
    if (id >= 1 && static_cast<std::size_t>(id) <= l.controls.size()) return &l.controls[id - 1];
    if (l.controls.empty())
      *error = fmt::format("no element [{}]: this page has no interactive elements", id);
    else
      *error = fmt::format("no element [{}] on this page; ids go from [1] to [{}]", id,
                           l.controls.size());
    return nullptr;
  }

  std::string KindName(const Element& el) const {
    switch (el.kind) {
      case Element::Kind::kLink:
        return "a link";
      case Element::Kind::kButton:
        return "a button";
      case Element::Kind::kInput:
        return "an input";
      case Element::Kind::kSelect:
        return "a select";
      case Element::Kind::kCheckbox:
        return "a checkbox";
      default:
        return "not interactive";
    }
  }

  // The ids of the page's controls of one kind: "[3], [7]".
  std::string IdsOf(Element::Kind kind) const {
    std::string out;
    int n = 0;
    for (const Control& c : GetLayout().controls) {
      if (c.element->kind != kind) continue;
      if (n == 10) {
        out += ", ...";
        break;
      }
      out += fmt::format("{}[{}]", n++ ? ", " : "", &c - GetLayout().controls.data() + 1);
    }
    return out.empty() ? "none" : out;
  }

  // Runs effects: checks first (failures become the page's errors and stop everything), then
  // the rest in order. Returns false with *error on a run-time error of the site.
  bool Run(const std::vector<Effect>& effects, const Ctx& ctx, Nav* nav, bool* checks_failed,
           std::string* error) {
    std::vector<std::string> failed;
    bool any_check = false;
    for (const Effect& e : effects) {
      if (e.kind != Effect::Kind::kCheck) continue;
      any_check = true;
      if (!Holds(e.check, ctx)) failed.push_back(Text(e.message, ctx));
    }
    if (!failed.empty()) {
      errors = std::move(failed);
      Changed();
      *checks_failed = true;
      return true;
    }
    if (any_check && !errors.empty()) {
      errors.clear();
      Changed();
    }
    for (const Effect& e : effects) {
      if (e.kind == Effect::Kind::kCheck) continue;
      if (e.when && !Holds(*e.when, ctx)) continue;
      if (!Apply(e, ctx, nav, error)) {
        *error = fmt::format("site error at {}: {}", e.pointer, *error);
        return false;
      }
    }
    return true;
  }

  bool Apply(const Effect& e, const Ctx& ctx, Nav* nav, std::string* error) {
    switch (e.kind) {
      case Effect::Kind::kCheck:
        return true;
      case Effect::Kind::kSet:
        state[e.var] = Eval(e.value, ctx);
        break;
      case Effect::Kind::kAdd: {
        double a, d;
        if (!ToNumber(state[e.var], &a) || !ToNumber(Eval(e.value, ctx), &d)) {
          *error = fmt::format("\"add\" needs numbers; state.{} is {}", e.var, state[e.var].dump());
          return false;
        }
        state[e.var] = NumberJson(a + d);
        break;
      }
      case Effect::Kind::kAppend: {
        json& list = state[e.var];
        if (!list.is_array()) {
          *error = fmt::format("state.{} is not a list", e.var);
          return false;
        }
        if (list.size() >= internal::kMaxListLength) {
          *error = fmt::format("state.{} is full ({} items)", e.var, internal::kMaxListLength);
          return false;
        }
        list.push_back(Eval(e.value, ctx));
        break;
      }
      case Effect::Kind::kRemove: {
        json& list = state[e.var];
        if (!list.is_array()) {
          *error = fmt::format("state.{} is not a list", e.var);
          return false;
        }
        const json v = Eval(e.value, ctx);
        json kept = json::array();
        for (json& x : list)
          if (!Equal(x, v)) kept.push_back(std::move(x));
        list = std::move(kept);
        break;
      }
      case Effect::Kind::kReset:
        state[e.var] = site->initial_state[e.var];
        break;
      case Effect::Kind::kToggle: {
        json& v = state[e.var];
        v = !(v.is_boolean() && v.get<bool>());
        break;
      }
      case Effect::Kind::kSetData: {
        const internal::Collection& c = site->collections[e.collection];
        const std::string id = Text(e.id, ctx);
        auto it = c.by_id.find(id);
        if (it == c.by_id.end()) {
          *error = fmt::format("no item \"{}\" in collection \"{}\"", id, c.name);
          return false;
        }
        json value = Eval(e.value, ctx);
        auto ch = changed.find(c.name);
        if (ch == changed.end()) ch = changed.emplace(c.name, site->data.at(c.name)).first;
        ch->second[it->second][e.field] = std::move(value);
        break;
      }
      case Effect::Kind::kEmit: {
        if (events.size() >= internal::kMaxEvents) {
          *error = fmt::format("the event log is full ({} events)", internal::kMaxEvents);
          return false;
        }
        events.push_back(
            {{"event", e.name}, {"value", Eval(e.value, ctx)}, {"page", CurrentPage().id}});
        break;
      }
      case Effect::Kind::kEnd:
        ended = true;
        end_reason = e.name;
        break;
      case Effect::Kind::kGoto:
        nav->page = e.page;
        nav->item.reset();
        if (e.item) nav->item = Text(*e.item, ctx);
        break;
    }
    Changed();
    return true;
  }

  // Goes to a page (pushing the current one on the history unless `push` is false, as for
  // redirects) and runs its on_open effects.
  bool Navigate(int target, std::optional<std::string> target_item, bool push, int redirects,
                std::string* error) {
    const internal::Page& p = site->pages[target];
    if (p.item_of >= 0) {
      const internal::Collection& c = site->collections[p.item_of];
      if (!target_item || !c.by_id.count(*target_item)) {
        *error = fmt::format("no item \"{}\" in collection \"{}\" for page \"{}\"",
                             target_item.value_or(""), c.name, p.id);
        return false;
      }
    } else {
      target_item.reset();
    }
    if (push) {
      history.push_back({page, item});
      if (history.size() > internal::kMaxHistory) history.erase(history.begin());
    }
    page = target;
    item = std::move(target_item);
    scroll = 0;
    errors.clear();
    if (visits.size() < internal::kMaxVisits) visits.push_back(p.id);
    Changed();
    if (p.on_open.empty()) return true;
    Ctx ctx = PageCtx();
    json item_copy = ctx.item ? *ctx.item : json();
    if (ctx.item) ctx.item = &item_copy;
    Nav nav;
    bool checks_failed = false;
    if (!Run(p.on_open, ctx, &nav, &checks_failed, error)) return false;
    if (nav.page < 0) return true;
    if (redirects >= internal::kMaxRedirects) {
      *error = fmt::format("site error: more than {} redirects from on_open (at page \"{}\")",
                           internal::kMaxRedirects, p.id);
      return false;
    }
    return Navigate(nav.page, nav.item, /*push=*/false, redirects + 1, error);
  }

  // A control's list rows and the page's item, copied: effects may change the lists they point
  // into, and every change drops the layout that the control lives in.
  struct Bound {
    std::vector<json> rows;
    std::optional<json> item;
  };
  Bound Bind(const Control& c) const {
    Bound bound;
    bound.rows.reserve(c.rows.size());
    for (const json* r : c.rows) bound.rows.push_back(r ? *r : json());
    if (const json* it = ItemOf(page, item)) bound.item = *it;
    return bound;
  }

  // Runs a control's effects with its rows, then navigates to the goto target or `to`.
  ActionResult Activate(const Bound& bound, const json* input, const std::vector<Effect>& effects,
                        int to, const std::optional<Value>& item_value) {
    Ctx ctx;
    if (bound.item) ctx.item = &*bound.item;
    for (const json& r : bound.rows) ctx.rows.push_back(&r);
    ctx.input = input;
    Nav nav;
    nav.page = to;
    if (to >= 0 && item_value) nav.item = Text(*item_value, ctx);
    bool checks_failed = false;
    std::string error;
    if (!Run(effects, ctx, &nav, &checks_failed, &error)) return Fail(error);
    if (!checks_failed && nav.page >= 0 && !Navigate(nav.page, nav.item, /*push=*/true, 0, &error))
      return Fail(error);
    return Done();
  }

  ActionResult Done() const {
    ActionResult r;
    r.ended = ended;
    r.end_reason = end_reason;
    return r;
  }

  ActionResult Ended() const {
    return Fail(fmt::format("the session has ended ({}); no more actions are possible",
                            end_reason.empty() ? "end" : end_reason));
  }
};

Browser::Browser(std::shared_ptr<const Site> site) : impl_(std::make_unique<Impl>()) {
  impl_->site = std::static_pointer_cast<const internal::CompiledSite>(std::move(site));
  impl_->state = impl_->site->initial_state;
  impl_->page = impl_->site->start;
  impl_->visits.push_back(impl_->site->pages[impl_->page].id);
  const internal::Page& p = impl_->site->pages[impl_->page];
  if (!p.on_open.empty()) {
    Impl::Ctx ctx = impl_->PageCtx();
    Nav nav;
    bool checks_failed = false;
    std::string error;
    if (impl_->Run(p.on_open, ctx, &nav, &checks_failed, &error) && nav.page >= 0)
      impl_->Navigate(nav.page, nav.item, /*push=*/false, 1, &error);
    if (!error.empty()) impl_->errors.push_back(error);
  }
}

Browser::~Browser() = default;
Browser::Browser(const Browser& o) : impl_(std::make_unique<Impl>(*o.impl_)) {}
Browser& Browser::operator=(const Browser& o) {
  if (this != &o) impl_ = std::make_unique<Impl>(*o.impl_);
  return *this;
}

ActionResult Browser::Click(int id) {
  Impl& b = *impl_;
  if (b.ended) return b.Ended();
  std::string error;
  const Control* c = b.Find(id, &error);
  if (c == nullptr) return Impl::Fail(error);
  const Element& el = *c->element;
  switch (el.kind) {
    case Element::Kind::kInput:
      return Impl::Fail(fmt::format("[{}] is an input: use type({}, text) to fill it in", id, id));
    case Element::Kind::kSelect:
      return Impl::Fail(
          fmt::format("[{}] is a select: use select({}, option) to choose an option", id, id));
    case Element::Kind::kCheckbox: {
      const Impl::Bound bound = b.Bind(*c);
      json& v = b.state[el.var];
      v = !(v.is_boolean() && v.get<bool>());
      b.Changed();
      return b.Activate(bound, nullptr, el.effects, -1, std::nullopt);
    }
    default: {
      const Impl::Bound bound = b.Bind(*c);
      if (!b.errors.empty()) {
        b.errors.clear();
        b.Changed();
      }
      return b.Activate(bound, nullptr, el.effects, el.to, el.item);
    }
  }
}

ActionResult Browser::Type(int id, const std::string& text) {
  Impl& b = *impl_;
  if (b.ended) return b.Ended();
  if (text.size() > internal::kMaxTypedBytes)
    return Impl::Fail(fmt::format("the text has {} bytes; an input takes at most {}", text.size(),
                                  internal::kMaxTypedBytes));
  std::string error;
  const Control* c = b.Find(id, &error);
  if (c == nullptr) return Impl::Fail(error);
  const Element& el = *c->element;
  if (el.kind != Element::Kind::kInput)
    return Impl::Fail(fmt::format("[{}] is {}; type() works on inputs (inputs on this page: {})",
                                  id, b.KindName(el), b.IdsOf(Element::Kind::kInput)));
  json value = text;
  if (el.input_kind == internal::InputKind::kNumber) {
    double d;
    if (!ToNumber(value, &d))
      return Impl::Fail(fmt::format("[{}] \"{}\" takes a number; got \"{}\"", id,
                                    b.GetLayout().lines[c->line].label, text));
    value = NumberJson(d);
  }
  const Impl::Bound bound = b.Bind(*c);
  b.state[el.var] = value;
  b.Changed();
  return b.Activate(bound, &value, el.effects, -1, std::nullopt);
}

ActionResult Browser::Select(int id, const std::string& option) {
  Impl& b = *impl_;
  if (b.ended) return b.Ended();
  std::string error;
  const Control* c = b.Find(id, &error);
  if (c == nullptr) return Impl::Fail(error);
  const Element& el = *c->element;
  if (el.kind != Element::Kind::kSelect)
    return Impl::Fail(
        fmt::format("[{}] is {}; select() works on selects (selects on this page: "
                    "{})",
                    id, b.KindName(el), b.IdsOf(Element::Kind::kSelect)));
  const Line& line = b.GetLayout().lines[c->line];
  // The options as shown; the chosen one's JSON value is stored (a number stays a number).
  std::vector<json> values;
  {
    Impl::Ctx ctx = b.PageCtx();
    for (const json* r : c->rows) ctx.rows.push_back(r);
    json tmp;
    const json& opts = b.Ref(el.options, ctx, &tmp);
    if (opts.is_array()) values.assign(opts.begin(), opts.end());
  }
  int found = -1;
  for (std::size_t i = 0; i < line.options.size(); ++i)
    if (line.options[i] == option) found = static_cast<int>(i);
  if (found < 0) {
    const std::string want = Lower(option);
    for (std::size_t i = 0; i < line.options.size(); ++i) {
      if (Lower(line.options[i]) != want) continue;
      if (found >= 0) {  // ambiguous without case
        found = -1;
        break;
      }
      found = static_cast<int>(i);
    }
  }
  if (found < 0 || static_cast<std::size_t>(found) >= values.size()) {
    std::string opts;
    for (std::size_t i = 0; i < line.options.size(); ++i) opts += (i ? ", " : "") + line.options[i];
    return Impl::Fail(fmt::format("[{}] \"{}\" has no option \"{}\"; options: {}", id, line.label,
                                  option.substr(0, 200), opts.empty() ? "(none)" : opts));
  }
  json value = values[found];
  const Impl::Bound bound = b.Bind(*c);
  b.state[el.var] = value;
  b.Changed();
  return b.Activate(bound, &value, el.effects, -1, std::nullopt);
}

ActionResult Browser::Back() {
  Impl& b = *impl_;
  if (b.ended) return b.Ended();
  if (b.history.empty())
    return Impl::Fail("there is no previous page: this is the first page of the session");
  Impl::Entry e = b.history.back();
  b.history.pop_back();
  b.page = e.page;
  b.item = e.item;
  b.scroll = 0;
  b.errors.clear();
  if (b.visits.size() < internal::kMaxVisits) b.visits.push_back(b.site->pages[e.page].id);
  b.Changed();
  return b.Done();
}

ActionResult Browser::Scroll(const std::string& direction) {
  Impl& b = *impl_;
  if (b.ended) return b.Ended();
  const int total = static_cast<int>(b.GetLayout().lines.size());
  const int vp = b.site->viewport_lines;
  const int max_first = std::max(0, total - vp);
  b.scroll = std::clamp(b.scroll, 0, max_first);
  if (direction == "down") {
    if (b.scroll >= max_first)
      return Impl::Fail(fmt::format("already at the bottom of the page (lines {}-{} of {})",
                                    b.scroll + 1, std::min(total, b.scroll + vp), total));
    b.scroll = std::min(max_first, b.scroll + vp - 2);
  } else if (direction == "up") {
    if (b.scroll == 0)
      return Impl::Fail(fmt::format("already at the top of the page (lines 1-{} of {})",
                                    std::min(total, vp), total));
    b.scroll = std::max(0, b.scroll - (vp - 2));
  } else {
    return Impl::Fail(fmt::format("scroll direction must be \"up\" or \"down\"; got \"{}\"",
                                  direction.substr(0, 50)));
  }
  return b.Done();
}

std::string Browser::Render() const {
  return internal::RenderText(impl_->site->title(), impl_->GetLayout(), impl_->scroll,
                              impl_->site->viewport_lines);
}

std::string Browser::RenderHtml(const std::string& notice) const {
  return internal::RenderHtmlPage(impl_->site->title(), page(), impl_->GetLayout(), Render(),
                                  notice);
}

std::vector<ElementRef> Browser::Elements() const {
  std::vector<ElementRef> out;
  const Layout& l = impl_->GetLayout();
  for (std::size_t i = 0; i < l.controls.size(); ++i) {
    const Control& c = l.controls[i];
    const Line& line = l.lines[c.line];
    ElementRef r;
    r.id = line.id;
    switch (c.element->kind) {
      case Element::Kind::kLink:
        r.kind = "link";
        break;
      case Element::Kind::kButton:
        r.kind = "button";
        break;
      case Element::Kind::kInput:
        r.kind = "input";
        break;
      case Element::Kind::kSelect:
        r.kind = "select";
        break;
      default:
        r.kind = "checkbox";
    }
    r.label = line.label;
    r.value =
        c.element->kind == Element::Kind::kCheckbox ? (line.checked ? "checked" : "") : line.value;
    r.options = line.options;
    r.name = c.element->name;
    out.push_back(std::move(r));
  }
  return out;
}

const std::string& Browser::page() const { return impl_->CurrentPage().id; }
std::optional<std::string> Browser::item() const { return impl_->item; }
const json& Browser::state() const { return impl_->state; }
const json& Browser::events() const { return impl_->events; }
const Site& Browser::site() const { return *impl_->site; }

json Browser::Snapshot() const {
  const Impl& b = *impl_;
  json data = json::object();
  for (const auto& [name, rows] : b.changed) data[name] = rows;
  return {{"page", page()},     {"item", b.item ? json(*b.item) : json()},
          {"state", b.state},   {"data", std::move(data)},
          {"events", b.events}, {"history", b.visits}};
}

}  // namespace toolgym::web
