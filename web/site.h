// The simulated-web site engine. A site is JSON ("toolgym.site/1", docs/sites.md has the full
// format): pages of text, links, inputs, selects, checkboxes, buttons, lists and sections, with
// state variables, data collections, conditions and effects. Site::FromJson validates it once
// into an immutable compiled form; a Browser is one visitor's session on it: state, current page,
// history, scroll position and an event log.
//
// Rendering is deterministic: the same state renders byte-identically, and interactive elements
// are numbered [1], [2], ... in document order over the whole page, so ids do not move when the
// agent scrolls. RenderHtml gives the same page as HTML for people (toolgym serve-site), with
// the same ids on the same elements.
//
// Thread-safety: a Site is immutable and may be shared by any number of Browsers on any
// threads; a Browser is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace toolgym::web {

// One validation problem: the file (as given to FromJson), the JSON pointer, and what was
// expected ("unknown page \"chekout\"; pages: cart, checkout, home").
struct SiteError {
  std::string file;
  std::string path;
  std::string message;
  std::string ToString() const;  // "shop.json: /pages/cart/elements/3/to: unknown page ..."
};

class Site {
 public:
  // Validates everything (structure, types, page references, state variables, collections,
  // conditions, effects, regexes) and returns null with every problem in `errors`.
  static std::shared_ptr<const Site> FromJson(const nlohmann::json& doc, const std::string& file,
                                              std::vector<SiteError>* errors);
  static std::shared_ptr<const Site> FromFile(const std::string& path,
                                              std::vector<SiteError>* errors);
  virtual ~Site() = default;
  virtual const std::string& title() const = 0;
  virtual const nlohmann::json& document() const = 0;  // as given
};

// An interactive element as the agent sees it on the current page.
struct ElementRef {
  int id = 0;                        // [id] in the rendering
  std::string kind;                  // "link", "button", "input", "select", "checkbox"
  std::string label;                 // visible text
  std::string value;                 // inputs, selects: current value; checkboxes: "checked" / ""
  std::vector<std::string> options;  // selects
  std::string name;                  // the element's "name" in the site JSON, if any
};

// The result of one action: ok, or an error the agent sees (never an exception). `ended` is set
// when an effect ended the episode ({"end": "reason"}). A site check that fails (a form field
// left empty) is not an error of the action: it is ok, and the page shows the check's messages.
struct ActionResult {
  bool ok = true;
  std::string error;  // "no element [12] on this page; ids go from [1] to [9]"
  bool ended = false;
  std::string end_reason;
};

class Browser {
 public:
  // A session at the site's start page with the initial state (the start page's on_open has
  // run). `site` comes from Site::FromJson or Site::FromFile and is not null.
  explicit Browser(std::shared_ptr<const Site> site);
  ~Browser();
  Browser(const Browser&);  // a fork: an independent copy of the whole session
  Browser& operator=(const Browser&);

  ActionResult Click(int id);
  ActionResult Type(int id, const std::string& text);
  ActionResult Select(int id, const std::string& option);
  ActionResult Back();
  ActionResult Scroll(const std::string& direction);  // "up" / "down"

  // The page as the agent sees it: header line, the viewport's lines, a footer saying where
  // the viewport is when the page is longer than it.
  std::string Render() const;
  // The whole current page as an HTML document whose interactive elements carry
  // data-tg-id="N" (the same N as Render) and post actions back as described in
  // docs/sites.md ("Serving a site"). `notice` is shown above the page (the server's message
  // about the last action, e.g. its error).
  std::string RenderHtml(const std::string& notice = "") const;
  std::vector<ElementRef> Elements() const;  // interactive elements of the whole page

  const std::string& page() const;          // current page id
  std::optional<std::string> item() const;  // current item id on item pages
  const nlohmann::json& state() const;      // current state variables
  const nlohmann::json& events() const;     // emitted events, in order
  // {"page", "item", "state", "data" (changed collections only), "events", "history"}: what
  // verifiers see (envs::VerifyContext::env_state).
  nlohmann::json Snapshot() const;
  const Site& site() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace toolgym::web
