// Drawing a laid-out page (site_internal.h's Layout): as numbered accessibility-tree text for the
// agent, and as an HTML document for people (toolgym serve-site). Both draw the same lines with
// the same ids, so what a person clicks is what the agent would click.
#include <fmt/format.h>

#include <algorithm>

#include "web/site_internal.h"

namespace toolgym::web::internal {

namespace {

// Cuts at a UTF-8 boundary so a line never ends in half a character.
void CutUtf8(std::string* s, std::size_t max) {
  if (s->size() <= max) return;
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>((*s)[cut]) & 0xC0) == 0x80) --cut;
  s->resize(cut);
  *s += "...";
}

// "text" with quotes, backslashes and control characters escaped, so that one element is always
// one line.
void AppendQuoted(const std::string& s, std::string* out) {
  *out += '"';
  for (char c : s) {
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\t':
        *out += "\\t";
        break;
      case '\r':
        *out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
          *out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
        else
          *out += c;
    }
  }
  *out += '"';
}

std::string HtmlEscape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

constexpr const char* kPassword = "\xE2\x80\xA2\xE2\x80\xA2\xE2\x80\xA2\xE2\x80\xA2";  // ••••

}  // namespace

std::string LineText(const Line& line) {
  std::string out;
  if (line.id > 0) out += fmt::format("[{}] ", line.id);
  switch (line.kind) {
    case Line::Kind::kHeading:
      out += "heading ";
      break;
    case Line::Kind::kText:
      out += "text ";
      break;
    case Line::Kind::kSection:
      out += "section ";
      break;
    case Line::Kind::kError:
      out += "error ";
      break;
    case Line::Kind::kLink:
      out += "link ";
      break;
    case Line::Kind::kButton:
      out += "button ";
      break;
    case Line::Kind::kInput:
      out += "input ";
      break;
    case Line::Kind::kSelect:
      out += "select ";
      break;
    case Line::Kind::kCheckbox:
      out += "checkbox ";
      break;
  }
  AppendQuoted(line.label, &out);
  if (line.kind == Line::Kind::kInput) {
    if (line.input_kind == InputKind::kPassword) out += " type=password";
    if (line.input_kind == InputKind::kNumber) out += " type=number";
    out += " value=";
    AppendQuoted(
        line.input_kind == InputKind::kPassword && !line.value.empty() ? kPassword : line.value,
        &out);
    if (line.value.empty() && !line.placeholder.empty()) {
      out += " placeholder=";
      AppendQuoted(line.placeholder, &out);
    }
  } else if (line.kind == Line::Kind::kSelect) {
    out += " value=";
    AppendQuoted(line.value, &out);
    out += " options=[";
    for (std::size_t i = 0; i < line.options.size(); ++i) {
      if (i) out += ", ";
      out += line.options[i];
    }
    out += "]";
  } else if (line.kind == Line::Kind::kCheckbox) {
    out += line.checked ? " checked" : " unchecked";
  }
  CutUtf8(&out, kMaxLineBytes);
  return out;
}

std::string RenderText(const std::string& site_title, const Layout& layout, int first,
                       int viewport_lines) {
  const int total = static_cast<int>(layout.lines.size());
  first = std::clamp(first, 0, std::max(0, total - viewport_lines));
  const int end = std::min(total, first + viewport_lines);
  std::string out = site_title + " | " + layout.title + "\n";
  for (int i = first; i < end; ++i) {
    const Line& line = layout.lines[i];
    out.append(static_cast<std::size_t>(line.indent), ' ');
    out += LineText(line);
    out += '\n';
  }
  if (total == 0) out += "(this page is empty)\n";
  if (total > viewport_lines) {
    const char* more = first == 0     ? "scroll down for more"
                       : end == total ? "scroll up for more"
                                      : "scroll up or down for more";
    out += fmt::format("(lines {}-{} of {}; {})\n", first + 1, end, total, more);
  }
  return out;
}

std::string RenderHtmlPage(const std::string& site_title, const std::string& page_id,
                           const Layout& layout, const std::string& agent_view,
                           const std::string& notice) {
  const std::string title = HtmlEscape(site_title + " | " + layout.title);
  std::string out = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n"
      "<style>\n"
      "body{{font-family:sans-serif;max-width:52em;margin:1em auto;padding:0 1em}}\n"
      "form{{margin:.25em 0}} .tg-id{{color:#888;font-size:.8em;margin-right:.3em}}\n"
      "button.tg-link{{background:none;border:none;color:#0645ad;text-decoration:underline;"
      "cursor:pointer;padding:0;font-size:1em}}\n"
      ".tg-error{{color:#b00020;font-weight:bold}} .tg-notice{{background:#fff3cd;padding:.5em}}\n"
      "header{{border-bottom:1px solid #ccc;padding-bottom:.5em;display:flex;gap:1em;"
      "align-items:center}}\n"
      "</style>\n</head>\n<body>\n<header><form method=\"post\" action=\"/act\">"
      "<input type=\"hidden\" name=\"op\" value=\"back\"><button type=\"submit\" "
      "id=\"tg-back\">&larr; Back</button></form><strong>{}</strong>"
      "<form method=\"post\" action=\"/reset\"><button type=\"submit\" id=\"tg-reset\">Restart"
      "</button></form></header>\n",
      title, HtmlEscape(site_title));
  if (!notice.empty())
    out += fmt::format("<p class=\"tg-notice\" role=\"alert\" id=\"tg-notice\">{}</p>\n",
                       HtmlEscape(notice));
  out += fmt::format("<main data-tg-page=\"{}\">\n<h1>{}</h1>\n", HtmlEscape(page_id),
                     HtmlEscape(layout.title));
  for (const Line& line : layout.lines) {
    const std::string style =
        line.indent > 0 ? fmt::format(" style=\"margin-left:{}em\"", line.indent * 0.6) : "";
    const std::string id = std::to_string(line.id);
    const std::string badge = fmt::format("<span class=\"tg-id\">[{}]</span>", line.id);
    const std::string label = HtmlEscape(line.label);
    const auto form_open = [&](const char* op) {
      return fmt::format(
          "<form method=\"post\" action=\"/act\"{}><input type=\"hidden\" name=\"op\" "
          "value=\"{}\"><input type=\"hidden\" name=\"id\" value=\"{}\">",
          style, op, id);
    };
    switch (line.kind) {
      case Line::Kind::kHeading:
        out += fmt::format("<h2{}>{}</h2>\n", style, label);
        break;
      case Line::Kind::kText:
        out += fmt::format("<p{}>{}</p>\n", style, label);
        break;
      case Line::Kind::kSection:
        out += fmt::format("<h3{}>{}</h3>\n", style, label);
        break;
      case Line::Kind::kError:
        out += fmt::format("<p class=\"tg-error\" role=\"alert\"{}>{}</p>\n", style, label);
        break;
      case Line::Kind::kLink:
      case Line::Kind::kButton:
        out += form_open("click") +
               fmt::format(
                   "{}<button type=\"submit\" class=\"{}\" data-tg-id=\"{}\">{}</button>"
                   "</form>\n",
                   badge, line.kind == Line::Kind::kLink ? "tg-link" : "tg-button", id, label);
        break;
      case Line::Kind::kCheckbox:
        out += form_open("click") +
               fmt::format(
                   "{}<button type=\"submit\" role=\"checkbox\" aria-checked=\"{}\" "
                   "data-tg-id=\"{}\">{} {}</button></form>\n",
                   badge, line.checked ? "true" : "false", id, line.checked ? "&#9745;" : "&#9744;",
                   label);
        break;
      case Line::Kind::kInput:
        out += form_open("type") +
               fmt::format(
                   "{}<label>{} <input name=\"text\" type=\"{}\" value=\"{}\" "
                   "placeholder=\"{}\" data-tg-id=\"{}\"></label> <button "
                   "type=\"submit\">Enter</button></form>\n",
                   badge, label, line.input_kind == InputKind::kPassword ? "password" : "text",
                   HtmlEscape(line.value), HtmlEscape(line.placeholder), id);
        break;
      case Line::Kind::kSelect: {
        std::string opts;
        for (const std::string& o : line.options)
          opts += fmt::format("<option{}>{}</option>", o == line.value ? " selected" : "",
                              HtmlEscape(o));
        if (std::find(line.options.begin(), line.options.end(), line.value) == line.options.end())
          opts = "<option selected disabled value=\"\">(choose)</option>" + opts;
        out +=
            form_open("select") + fmt::format(
                                      "{}<label>{} <select name=\"option\" data-tg-id=\"{}\" "
                                      "onchange=\"this.form.submit()\">{}</select></label> <button "
                                      "type=\"submit\">Choose</button></form>\n",
                                      badge, label, id, opts);
        break;
      }
    }
  }
  out += "</main>\n<details><summary>What the agent sees</summary>\n<pre id=\"tg-agent-view\">" +
         HtmlEscape(agent_view) + "</pre>\n</details>\n</body>\n</html>\n";
  return out;
}

}  // namespace toolgym::web::internal
