#include "frontend/console/console_pages.hpp"

#include <set>
#include <stdexcept>
#include <utility>
#include <string_view>

#include "frontend/db/pg_connection.hpp"
#include "frontend/net/page_forms.hpp"
#include "frontend/net/url.hpp"
#include "frontend/oauth/approver_cookies.hpp"
#include "frontend/oauth/authorization_server.hpp"
#include "frontend/oauth/consent_page.hpp"
#include "frontend/oauth/form.hpp"

namespace warden::mcp {

namespace {

using oauth::html_escape;
using page_forms::equal_in_constant_time;
using page_forms::field;
using page_forms::is_form;
using page_forms::looks_like_uuid;

constexpr std::string_view kRungs[] = {"shadow", "tracked", "governed", "full"};

// Pages and their names in the navigation, in focus order.
constexpr std::pair<const char*, const char*> kNav[] = {{"/console", "Overview"},
                                                        {"/console/inventory", "Inventory"},
                                                        {"/console/calls", "Live calls"},
                                                        {"/console/chains", "Chains"},
                                                        {"/console/kill", "Kill switch"},
                                                        {"/console/grants", "Grants"},
                                                        {"/console/approvals", "Approvals"},
                                                        {"/console/review", "Access review"},
                                                        {"/console/evidence", "Evidence"}};

constexpr const char* kCss =
    R"(body{font-family:system-ui,sans-serif;margin:0;color:#1b1f24;background:#fafafa}
header{background:#1d3557;color:#fff;padding:.5rem 1rem}header a{color:#fff}
nav ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.75rem}
nav a[aria-current=page]{font-weight:bold;text-decoration:underline}
main{padding:1rem;max-width:75rem}table{border-collapse:collapse;margin:.5rem 0 1rem}
th,td{border:1px solid #ccd;padding:.25rem .5rem;text-align:left;vertical-align:top;font-size:.9rem}
th{background:#e8edf3}.ladder{display:flex;gap:.5rem;list-style:none;padding:0}
.ladder li{padding:.5rem 1rem;border:2px solid #99a;border-radius:.25rem;background:#fff}
.ladder li.current{border-color:#1d3557;background:#1d3557;color:#fff;font-weight:bold}
.error{color:#a00;font-weight:bold}.inline{display:inline}label{display:block;margin:.5rem 0}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:.5rem;background:#fff;color:#000}
a:focus,button:focus,input:focus,select:focus,textarea:focus{outline:3px solid #f4a261}
.danger{background:#b00020;color:#fff;border:0;padding:.4rem .8rem}dl{margin:0}dt{font-weight:bold}
img.chain{max-width:100%;background:#fff;border:1px solid #ccd}
@media print{header,form,.noprint{display:none}})";

// Live calls: replaces the table's rows on each event of /console/calls/stream. Only
// textContent and attributes are set: nothing an agent names is ever parsed as HTML.
constexpr const char* kJs = R"('use strict';
(function () {
  var table = document.getElementById('calls');
  if (!table || !window.EventSource) return;
  var admin = table.getAttribute('data-admin') === 'yes';
  var body = table.querySelector('tbody');
  var status = document.getElementById('live-status');
  var source = new EventSource('/console/calls/stream');
  function cell(tr, text) { var td = document.createElement('td'); td.textContent = text; tr.appendChild(td); return td; }
  function link(td, href, text, id) {
    var a = document.createElement('a'); a.href = href; a.textContent = text; if (id) a.id = id;
    td.appendChild(a);
  }
  source.onmessage = function (e) {
    var m = JSON.parse(e.data);
    var calls = m.calls || [];
    while (body.firstChild) body.removeChild(body.firstChild);
    calls.forEach(function (c) {
      var tr = document.createElement('tr');
      cell(tr, new Date(c.started_ms).toISOString());
      cell(tr, c.agent);
      cell(tr, c.server + '/' + c.tool);
      link(cell(tr, ''), '/console/chain?id=' + encodeURIComponent(c.chain_id), c.chain_id);
      if (admin) {
        link(cell(tr, ''), '/console/kill?kind=chain&target=' + encodeURIComponent(c.chain_id),
             'Kill chain', 'kill-' + c.call);
      }
      body.appendChild(tr);
    });
    status.textContent = calls.length + ' call(s) in flight (live)';
  };
  source.onerror = function () { status.textContent = 'Live updates interrupted; reload the page.'; };
})();
)";

std::vector<std::pair<std::string, std::string>> console_headers(const std::string& type) {
  return {{"Content-Type", type},
          {"Content-Security-Policy",
           "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
           "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"},
          {"X-Frame-Options", "DENY"},
          {"Cache-Control", "no-store"},
          {"Referrer-Policy", "no-referrer"},
          {"X-Content-Type-Options", "nosniff"}};
}

// The console's CSRF tokens (never valid on the approval pages, nor theirs here).
std::string csrf_token(const std::string& session) {
  return page_forms::csrf_token(session, "warden console csrf");
}

std::string csrf_input(const std::string& session) {
  return "<input type=\"hidden\" name=\"csrf\" value=\"" + csrf_token(session) + "\">\n";
}

// Any JSON as HTML: arrays of objects as tables, objects as definition lists.
std::string render(const json& v, const std::string& id = "") {
  const std::string id_attr = id.empty() ? "" : " id=\"" + id + "\"";
  if (v.is_null()) return "";
  if (v.is_string()) return html_escape(v.get<std::string>());
  if (v.is_primitive()) return html_escape(v.dump());
  if (v.is_array()) {
    bool objects = !v.empty();
    for (const auto& e : v) objects = objects && e.is_object();
    if (!objects) {
      if (v.empty() && !id.empty()) return "<p" + id_attr + ">None.</p>";
      std::string out;
      for (const auto& e : v) out += (out.empty() ? "" : ", ") + render(e);
      return id.empty() ? out : "<p" + id_attr + ">" + out + "</p>";
    }
    std::vector<std::string> keys;
    std::set<std::string> seen;
    for (const auto& e : v) {
      for (const auto& [k, _] : e.items()) {
        if (seen.insert(k).second) keys.push_back(k);
      }
    }
    std::string out = "<table" + id_attr + "><thead><tr>";
    for (const auto& k : keys) out += "<th scope=\"col\">" + html_escape(k) + "</th>";
    out += "</tr></thead><tbody>\n";
    for (const auto& e : v) {
      out += "<tr>";
      for (const auto& k : keys) out += "<td>" + (e.contains(k) ? render(e[k]) : "") + "</td>";
      out += "</tr>\n";
    }
    return out + "</tbody></table>\n";
  }
  std::string out = "<dl" + id_attr + ">";
  for (const auto& [k, e] : v.items())
    out += "<dt>" + html_escape(k) + "</dt><dd>" + render(e) + "</dd>";
  return out + "</dl>\n";
}

HttpResponse html(unsigned status, const std::string& title, const std::string& body) {
  return HttpResponse{status, console_headers("text/html; charset=utf-8"),
                      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                      "<title>warden console: " +
                          html_escape(title) +
                          "</title><link rel=\"stylesheet\" href=\"/console/console.css\">"
                          "<script src=\"/console/console.js\" defer></script></head><body>\n" +
                          body + "</body></html>\n"};
}

// A page of a signed-in person: navigation, who they are, sign-out, then the content.
HttpResponse shell(unsigned status, const std::string& path, const std::string& title,
                   const std::string& subject, const std::string& role, const std::string& session,
                   const std::string& content) {
  std::string nav =
      "<a class=\"skip\" href=\"#main\">Skip to content</a>\n<header>\n"
      "<nav aria-label=\"Console\"><ul>\n";
  for (const auto& [href, name] : kNav) {
    nav += std::string("<li><a href=\"") + href + "\"" +
           (path == href ? " aria-current=\"page\"" : "") + ">" + name + "</a></li>\n";
  }
  nav += "</ul></nav>\n<p>Signed in as <strong id=\"who\">" + html_escape(subject) +
         "</strong> (<span id=\"role\">" + html_escape(role) +
         "</span>)</p>\n<form class=\"inline\" method=\"post\" action=\"/console/sign-out\">" +
         csrf_input(session) +
         "<button type=\"submit\" id=\"sign-out\">Sign out</button></form>\n"
         "</header>\n<main id=\"main\" tabindex=\"-1\">\n<h1>" +
         html_escape(title) + "</h1>\n";
  return html(status, title, nav + content + "</main>\n");
}

HttpResponse plain_error(unsigned status, const std::string& title, const std::string& message) {
  return html(status, title,
              "<main id=\"main\"><h1>" + html_escape(title) +
                  "</h1>\n<p id=\"error\" class=\"error\">" + html_escape(message) +
                  "</p>\n<p><a href=\"/console\">Console</a></p></main>\n");
}

HttpResponse see_other(const std::string& location) {
  return HttpResponse{303, {{"Location", location}, {"Cache-Control", "no-store"}}, ""};
}

// "/console" or "/console/<letters>": where a sign-in may return to.
std::string next_page(const std::string& path) {
  if (path == "/console") return path;
  if (path.rfind("/console/", 0) != 0 || path.size() > 29) return "/console";
  for (std::size_t i = 9; i < path.size(); ++i) {
    if (path[i] < 'a' || path[i] > 'z') return "/console";
  }
  return path.size() > 9 ? path : "/console";
}

std::string overview(const json& data) {
  std::string org_rung;
  json agents = json::array();
  for (const auto& row : data.value("maturity", json::array())) {
    if (field(row, "agent").empty()) {
      org_rung = field(row, "rung");
    } else {
      agents.push_back(row);
    }
  }
  std::string out = "<h2>Where the organisation stands</h2>\n<ol class=\"ladder\" id=\"ladder\">\n";
  for (auto rung : kRungs) {
    const bool here = rung == org_rung;
    out += std::string("<li") +
           (here ? " class=\"current\" aria-current=\"step\" id=\"org-rung\"" : "") + ">" +
           std::string(rung) + "</li>\n";
  }
  out += "</ol>\n";
  for (const auto& row : data.value("maturity", json::array())) {
    if (field(row, "agent").empty()) {
      out += "<h2>What holds and what is missing</h2>\n" +
             render(row.value("reasons", json::object()), "org-reasons");
    }
  }
  out += "<h2>Agents</h2>\n" + render(agents, "agent-rungs");
  return out;
}

std::string calls_table(const json& calls, bool admin) {
  std::string out =
      std::string("<p id=\"live-status\" aria-live=\"polite\">") + std::to_string(calls.size()) +
      " call(s) in flight when this page was made.</p>\n<table id=\"calls\" data-admin=\"" +
      (admin ? "yes" : "no") +
      "\"><thead><tr><th scope=\"col\">Started (ms since epoch)</th><th scope=\"col\">Agent</th>"
      "<th scope=\"col\">Tool</th><th scope=\"col\">Chain</th>" +
      (admin ? "<th scope=\"col\">Action</th>" : "") + "</tr></thead><tbody>\n";
  for (const auto& c : calls) {
    const std::string chain = field(c, "chain_id");
    out += "<tr><td>" + html_escape(field(c, "started_ms")) + "</td><td>" +
           html_escape(field(c, "agent")) + "</td><td>" +
           html_escape(field(c, "server") + "/" + field(c, "tool")) +
           "</td><td><a href=\"/console/chain?id=" + html_escape(chain) + "\">" +
           html_escape(chain) + "</a></td>";
    if (admin) {
      out += "<td><a id=\"kill-" + html_escape(field(c, "call")) +
             "\" href=\"/console/kill?kind=chain&amp;target=" + html_escape(chain) +
             "\">Kill chain</a></td>";
    }
    out += "</tr>\n";
  }
  return out + "</tbody></table>\n";
}

std::string kill_form(const std::string& session, const std::string& kind,
                      const std::string& target, const std::string& reason) {
  auto option = [&](const char* value, const char* label) {
    return std::string("<option value=\"") + value + "\"" + (kind == value ? " selected" : "") +
           ">" + label + "</option>";
  };
  return "<p>Revokes the agent, chain or token at once: its calls in flight are aborted and "
         "every later call is refused. You confirm on the next page.</p>\n"
         "<form method=\"post\" action=\"/console/kill\" id=\"kill-form\">\n" +
         csrf_input(session) +
         "<label for=\"kind\">What to kill</label><select name=\"kind\" id=\"kind\">" +
         option("agent", "An agent (by name)") + option("chain", "A chain (by id)") +
         option("token", "A token (by id)") +
         "</select>\n<label for=\"target\">Agent name or id</label><input type=\"text\" "
         "name=\"target\" id=\"target\" required maxlength=\"200\" value=\"" +
         html_escape(target) +
         "\">\n<label for=\"reason\">Reason (kept in the audit)</label><textarea name=\"reason\" "
         "id=\"reason\" required maxlength=\"2000\">" +
         html_escape(reason) +
         "</textarea>\n<p><button type=\"submit\" id=\"review-kill\">Review the kill</button></p>\n"
         "</form>\n";
}

std::string grant_form(const std::string& session, const json& data) {
  std::string agents, tools;
  for (const auto& a : data.value("agents", json::array())) {
    agents +=
        "<option>" + html_escape(a.is_string() ? a.get<std::string>() : a.dump()) + "</option>";
  }
  for (const auto& t : data.value("tools", json::array())) {
    tools +=
        "<option value=\"" + html_escape(t.is_string() ? t.get<std::string>() : t.dump()) + "\">";
  }
  return "<h2>New grant</h2>\n<p>The database checks everything (known agent and server, the "
         "constraints' shape, a lifetime of at most 366 days), as warden.grant does.</p>\n"
         "<form method=\"post\" action=\"/console/grant\" id=\"grant-form\">\n" +
         csrf_input(session) +
         "<label for=\"g-agent\">Agent</label><select name=\"agent\" id=\"g-agent\">" + agents +
         "</select>\n<label for=\"g-tool\">Tool (server/tool or server/*)</label><input "
         "type=\"text\" name=\"tool\" id=\"g-tool\" list=\"tool-names\" required maxlength=\"300\">"
         "<datalist id=\"tool-names\">" +
         tools +
         "</datalist>\n<label for=\"g-constraints\">Constraints (JSON)</label><textarea "
         "name=\"constraints\" id=\"g-constraints\" maxlength=\"20000\">{}</textarea>\n"
         "<label for=\"g-ttl\">Lifetime</label><input type=\"text\" name=\"ttl\" id=\"g-ttl\" "
         "value=\"1 hour\" required maxlength=\"50\">\n<label for=\"g-max\">Call budget "
         "(empty: none)</label><input type=\"number\" min=\"1\" name=\"max_calls\" id=\"g-max\">\n"
         "<label for=\"g-reason\">Reason</label><input type=\"text\" name=\"reason\" "
         "id=\"g-reason\" required maxlength=\"2000\">\n<p><button type=\"submit\" "
         "id=\"create-grant\">Create grant</button></p>\n</form>\n";
}

std::string grants_table(const std::string& session, const json& grants, bool admin) {
  if (grants.empty()) return "<p id=\"grants\">No live grants.</p>\n";
  std::string out = std::string(
                        "<table id=\"grants\"><thead><tr><th scope=\"col\">Agent</th><th "
                        "scope=\"col\">Tool</th><th scope=\"col\">Constraints</th><th "
                        "scope=\"col\">Expires</th><th scope=\"col\">Calls</th><th "
                        "scope=\"col\">Reason</th>") +
                    (admin ? "<th scope=\"col\">Revoke</th>" : "") + "</tr></thead><tbody>\n";
  for (const auto& g : grants) {
    const std::string id = field(g, "grant_id");
    out += "<tr><td>" + html_escape(field(g, "agent")) + "</td><td>" +
           html_escape(field(g, "tool")) + "</td><td><code>" +
           html_escape(g.contains("constraints") ? g["constraints"].dump() : "{}") +
           "</code></td><td>" + html_escape(field(g, "expires_at")) + "</td><td>" +
           html_escape(field(g, "calls_used")) +
           (field(g, "max_calls").empty() ? "" : " / " + html_escape(field(g, "max_calls"))) +
           "</td><td>" + html_escape(field(g, "reason")) + "</td>";
    if (admin) {
      out += "<td><form method=\"post\" action=\"/console/revoke\">" + csrf_input(session) +
             "<input type=\"hidden\" name=\"grant_id\" value=\"" + html_escape(id) +
             "\"><label>Reason <input type=\"text\" name=\"reason\" maxlength=\"2000\"></label>"
             "<button type=\"submit\" id=\"revoke-" +
             html_escape(id) + "\">Revoke</button></form></td>";
    }
    out += "</tr>\n";
  }
  return out + "</tbody></table>\n";
}

std::string evidence_form() {
  return "<p>The controls of SOC 2, ISO/IEC 27001:2022 and NIST SP 800-53 mapped to facts from "
         "the audit (warden.evidence) for a period. Each download is audited.</p>\n"
         "<form method=\"get\" action=\"/console/evidence\" id=\"evidence-form\">\n"
         "<label for=\"from\">From (date or timestamp)</label><input type=\"text\" name=\"from\" "
         "id=\"from\" required placeholder=\"2026-01-01\">\n<label for=\"to\">To</label><input "
         "type=\"text\" name=\"to\" id=\"to\" required placeholder=\"2026-12-31\">\n<fieldset>"
         "<legend>Format</legend><label><input type=\"radio\" name=\"format\" value=\"html\" "
         "checked> Printable report</label><label><input type=\"radio\" name=\"format\" "
         "value=\"json\"> JSON</label></fieldset>\n<p><button type=\"submit\" "
         "id=\"evidence-get\">Get evidence</button></p>\n</form>\n";
}

}  // namespace

bool ConsolePages::same_origin(const HttpRequest& request) const {
  std::string origin = request.header("origin");
  if (origin.empty() || origin == "null") return true;  // the cookie and the token still hold
  auto ours = parse_url(base_);
  auto from = parse_url(origin);
  return ours && from && ours->host == from->host && ours->port == from->port &&
         ours->tls == from->tls;
}

awaitable<json> ConsolePages::page_data(const std::string& session, const std::string& page,
                                        const std::string& arg) {
  std::vector<Param> params{session, page, arg.empty() ? Param() : Param(arg)};
  auto rows = co_await pool_.query("SELECT warden.console_page($1, $2, $3)", params);
  if (rows.size() != 1 || !rows[0][0]) throw std::runtime_error("warden.console_page: no row");
  co_return json::parse(*rows[0][0]);
}

awaitable<HttpResponse> ConsolePages::begin_sign_in(const HttpRequest& request) {
  if (sign_in_server_ == nullptr) {
    co_return plain_error(404, "No sign-in here",
                          "The console signs people in through the identity provider: start "
                          "warden-mcp with --issuer and an identity provider.");
  }
  auto query = oauth::FormFields::parse(oauth::query_of(request.target));
  const std::string next = next_page(query ? query->get("next") : std::string());
  const std::string binding = random_cookie_secret();
  HttpResponse r =
      co_await sign_in_server_->begin_approver_sign_in(next, binding, request.peer_address);
  if (r.status == 302)
    r.headers.emplace_back("Set-Cookie", approver_binding_cookie(binding, tls()));
  co_return r;
}

awaitable<HttpResponse> ConsolePages::handle(const HttpRequest& request, const std::string& path) {
  if (path == "/console/console.css" || path == "/console/console.js") {
    const bool css = path.back() == 's' && path[path.size() - 2] == 's';
    HttpResponse r{
        200, console_headers(css ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8"),
        css ? kCss : kJs};
    co_return r;
  }
  if (path == "/console/sign-in") co_return co_await begin_sign_in(request);
  const std::string session = cookie_value(request.header("cookie"), kConsoleCookie);
  if (request.method == "POST") {
    if (session.empty()) co_return plain_error(403, "Refused", "Sign in first.");
    co_return co_await action(request, path, session);
  }
  if (request.method != "GET" && request.method != "HEAD") {
    co_return plain_error(405, "Not allowed", "Use GET or POST.");
  }
  if (session.empty()) {
    const std::string next = next_page(path);
    co_return html(401, "sign in",
                   "<main id=\"main\"><h1>warden console</h1>\n<p>Sign in to see where you stand, "
                   "what runs now, and to act on it.</p>\n<p><a id=\"sign-in\" "
                   "href=\"/console/sign-in?next=" +
                       html_escape(oauth::form_encode(next)) +
                       "\">Sign in with your identity provider</a></p></main>\n");
  }
  if (path == "/console/calls/stream") co_return co_await live_stream(session);
  co_return co_await page(request, path, session);
}

awaitable<HttpResponse> ConsolePages::page(const HttpRequest& request, const std::string& path,
                                           const std::string& session) {
  auto query = oauth::FormFields::parse(oauth::query_of(request.target));
  auto q = [&](const char* key) { return query ? query->get(key) : std::string(); };
  std::string name, arg;
  if (path == "/console") {
    name = "overview";
  } else if (path == "/console/inventory") {
    name = "inventory";
  } else if (path == "/console/grants") {
    name = "grants";
  } else if (path == "/console/chains") {
    name = "chains";
  } else if (path == "/console/chain" || path == "/console/chain.svg") {
    name = "chain";
    arg = q("id");
    if (!looks_like_uuid(arg)) co_return plain_error(404, "Not found", "No such chain.");
  } else if (path == "/console/review") {
    name = "review";
  } else if (path == "/console/evidence" && !q("from").empty()) {
    name = "evidence";
    arg = q("from") + "/" + q("to");
  } else if (path == "/console/calls" || path == "/console/kill" || path == "/console/approvals" ||
             path == "/console/evidence") {
    name = "whoami";
  } else {
    co_return plain_error(404, "Not found", "No such console page.");
  }
  json view;
  try {
    view = co_await page_data(session, name, arg);
  } catch (const DbError& e) {
    if (e.sqlstate() == "28000") {
      HttpResponse r = see_other("/console/sign-in?next=" + oauth::form_encode(next_page(path)));
      r.headers.emplace_back("Set-Cookie", console_session_cookie_cleared(tls()));
      co_return r;
    }
    co_return plain_error(e.sqlstate() == "42501"   ? 403
                          : e.sqlstate() == "42704" ? 404
                                                    : 400,
                          "Cannot show this", e.what());
  } catch (const std::exception&) {
    co_return plain_error(503, "Unavailable", "The database cannot be reached.");
  }
  const std::string subject = field(view, "subject"), role = field(view, "role");
  const bool admin = role == "admin";
  const json& data = view["data"];
  auto show = [&](const std::string& title, const std::string& content) {
    return shell(200, path, title, subject, role, session, content);
  };

  if (path == "/console") co_return show("Overview", overview(data));
  if (path == "/console/inventory") {
    co_return show(
        "Inventory",
        "<h2>People</h2>\n" + render(data["humans"], "humans") +
            "<h2>Agents (pending ones first)</h2>\n" + render(data["agents"], "agents") +
            "<h2>Servers</h2>\n" + render(data["servers"], "servers") +
            "<h2>Tools (pinned: a definition was approved; changed: it differs now)</h2>\n" +
            render(data["tools"], "tools"));
  }
  if (path == "/console/calls") {
    co_return show("Live calls",
                   "<p>Governed calls this gateway has forwarded and not yet "
                   "answered; the list updates itself as calls start and end.</p>\n" +
                       calls_table(gateway_.calls_in_flight(), admin));
  }
  if (path == "/console/chains") {
    std::string rows;
    for (const auto& c : data.value("chains", json::array())) {
      const std::string id = field(c, "chain_id");
      rows += "<tr><td><a href=\"/console/chain?id=" + html_escape(id) + "\">" + html_escape(id) +
              "</a></td><td>" + html_escape(field(c, "human")) + "</td><td>" +
              html_escape(field(c, "agent")) + "</td><td>" + html_escape(field(c, "purpose")) +
              "</td><td>" + html_escape(field(c, "created_at")) + "</td><td>" +
              html_escape(field(c, "revoked_at")) + "</td></tr>\n";
    }
    co_return show("Chains",
                   "<table id=\"chains\"><thead><tr><th scope=\"col\">Chain</th><th "
                   "scope=\"col\">Person</th><th scope=\"col\">First agent</th><th "
                   "scope=\"col\">Purpose</th><th scope=\"col\">Started</th><th "
                   "scope=\"col\">Revoked</th></tr></thead><tbody>\n" +
                       rows + "</tbody></table>\n");
  }
  if (path == "/console/chain.svg") {
    std::optional<std::string> svg = co_await renderer_.render(field(data, "dot"));
    if (!svg) co_return plain_error(500, "Not drawn", "The chain could not be drawn.");
    // Shown through <img> (no script runs there), and locked down when opened by itself.
    HttpResponse r{200,
                   {{"Content-Type", "image/svg+xml"},
                    {"Content-Security-Policy",
                     "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; "
                     "sandbox"},
                    {"Cache-Control", "no-store"},
                    {"X-Content-Type-Options", "nosniff"}},
                   std::move(*svg)};
    co_return r;
  }
  if (path == "/console/chain") {
    const std::string id = field(data, "chain_id");
    co_return show(
        "Chain " + id,
        "<p>The person, the agents by delegation, their calls (allowed, denied, revoked) and "
        "approvals.</p>\n<img class=\"chain\" id=\"chain-svg\" src=\"/console/chain.svg?id=" +
            html_escape(id) + "\" alt=\"The chain drawn as a graph; its DOT text follows.\">\n" +
            (admin ? "<p><a id=\"kill-chain\" href=\"/console/kill?kind=chain&amp;target=" +
                         html_escape(id) + "\">Kill this chain</a></p>\n"
                   : std::string()) +
            "<details><summary>DOT text</summary><pre id=\"dot\">" +
            html_escape(field(data, "dot")) + "</pre></details>\n");
  }
  if (path == "/console/kill") {
    if (!admin) {
      co_return shell(403, path, "Kill switch", subject, role, session,
                      "<p id=\"error\" class=\"error\">Only console admins may kill.</p>\n");
    }
    co_return show("Kill switch", kill_form(session, q("kind"), q("target"), ""));
  }
  if (path == "/console/grants") {
    co_return show("Grants", grants_table(session, data.value("grants", json::array()), admin) +
                                 (admin ? grant_form(session, data) : std::string()));
  }
  if (path == "/console/approvals") {
    co_return show("Approvals",
                   "<p>Calls that need a person's approval are decided on the approval pages, "
                   "where approvers sign in with the same identity provider; which calls each "
                   "person may decide is each grant's approvers list.</p>\n<p><a "
                   "id=\"approvals-link\" href=\"/approvals\">Open the approvals queue</a></p>\n");
  }
  if (path == "/console/review") {
    co_return show("Access review",
                   "<p>Unused and broad grants, agents without an active owner, secrets past "
                   "rotation, tools approved long ago and changed since "
                   "(warden.access_review).</p>\n" +
                       render(data.value("findings", json::array()), "findings"));
  }
  if (path == "/console/evidence" && name == "evidence") {
    if (q("format") == "json") {
      HttpResponse r{200,
                     {{"Content-Type", "application/json"},
                      {"Content-Disposition", "attachment; filename=\"warden-evidence.json\""},
                      {"Cache-Control", "no-store"},
                      {"X-Content-Type-Options", "nosniff"}},
                     data.dump(2)};
      co_return r;
    }
    co_return show("Evidence " + q("from") + " to " + q("to"),
                   "<p class=\"noprint\">Print this page for the auditor (the navigation is left "
                   "out of the print).</p>\n" +
                       render(data, "evidence"));
  }
  co_return show("Evidence", evidence_form());
}

awaitable<HttpResponse> ConsolePages::action(const HttpRequest& request, const std::string& path,
                                             const std::string& session) {
  auto form = oauth::FormFields::parse(request.body);
  if (!is_form(request.header("content-type")) || !form || form->has_repeats()) {
    co_return plain_error(400, "Bad request", "The form is malformed.");
  }
  if (!same_origin(request) || !equal_in_constant_time(form->get("csrf"), csrf_token(session))) {
    co_return plain_error(403, "Refused",
                          "The form did not come from this console; open it again.");
  }
  if (path == "/console/sign-out") {
    std::vector<Param> params{session};
    try {
      co_await pool_.query("SELECT warden.console_sign_out($1)", params);
    } catch (const std::exception&) {
      co_return plain_error(503, "Unavailable", "The database cannot be reached.");
    }
    HttpResponse r = see_other("/console");
    r.headers.emplace_back("Set-Cookie", console_session_cookie_cleared(tls()));
    co_return r;
  }
  std::string sql;
  std::vector<Param> params{session};
  auto optional = [](const std::string& v) { return v.empty() ? Param() : Param(v); };
  const std::string kind = form->get("kind"), target = form->get("target"),
                    reason = form->get("reason");
  if (path == "/console/kill") {
    if (kind != "agent" && kind != "chain" && kind != "token") {
      co_return plain_error(400, "Bad request", "Kill an agent, a chain or a token.");
    }
    if ((kind == "chain" || kind == "token") && !looks_like_uuid(target)) {
      co_return plain_error(400, "Bad request", "A chain or token is named by its id.");
    }
    if (form->get("confirm") != "yes") {
      // The confirmation step: what will happen, and the same form once more.
      json who;
      try {
        const std::string page = "whoami", none;
        who = co_await page_data(session, page, none);
      } catch (const DbError& e) {
        co_return plain_error(e.sqlstate() == "42501" ? 403 : 400, "Refused", e.what());
      } catch (const std::exception&) {
        co_return plain_error(503, "Unavailable", "The database cannot be reached.");
      }
      if (field(who, "role") != "admin") {
        co_return plain_error(403, "Refused", "Only console admins may kill.");
      }
      co_return shell(
          200, path, "Confirm the kill", field(who, "subject"), field(who, "role"), session,
          "<p id=\"confirm-text\">Kill the " + html_escape(kind) + " <strong>" +
              html_escape(target) +
              "</strong>? Its calls in flight are aborted now, and it "
              "cannot call again until reinstated in SQL.</p>\n<p>Reason: " +
              html_escape(reason) + "</p>\n<form method=\"post\" action=\"/console/kill\">" +
              csrf_input(session) + "<input type=\"hidden\" name=\"kind\" value=\"" +
              html_escape(kind) + "\"><input type=\"hidden\" name=\"target\" value=\"" +
              html_escape(target) + "\"><input type=\"hidden\" name=\"reason\" value=\"" +
              html_escape(reason) +
              "\"><input type=\"hidden\" name=\"confirm\" value=\"yes\">\n<button type=\"submit\" "
              "class=\"danger\" id=\"confirm-kill\">Kill now</button> <a href=\"/console/kill\" "
              "id=\"cancel-kill\">Cancel</a></form>\n");
    }
    sql = "SELECT warden.console_kill($1, $2, $3::uuid, $4::uuid, $5)::text";
    params.push_back(kind == "agent" ? Param(target) : Param());
    params.push_back(kind == "chain" ? Param(target) : Param());
    params.push_back(kind == "token" ? Param(target) : Param());
    params.push_back(reason);
  } else if (path == "/console/grant") {
    sql = "SELECT warden.console_grant($1, $2, $3, $4::jsonb, $5::interval, $6::int, $7)::text";
    params.push_back(form->get("agent"));
    params.push_back(form->get("tool"));
    params.push_back(optional(form->get("constraints")));
    params.push_back(form->get("ttl"));
    params.push_back(optional(form->get("max_calls")));
    params.push_back(reason);
  } else if (path == "/console/revoke") {
    if (!looks_like_uuid(form->get("grant_id"))) {
      co_return plain_error(400, "Bad request", "Name a grant by its id.");
    }
    sql = "SELECT warden.console_revoke_grant($1, $2::uuid, $3)::text";
    params.push_back(form->get("grant_id"));
    params.push_back(optional(reason));
  } else {
    co_return plain_error(404, "Not found", "No such console action.");
  }
  std::string answer;
  try {
    auto rows = co_await pool_.query(sql, params);
    if (!rows.empty() && rows[0][0]) answer = *rows[0][0];
  } catch (const DbError& e) {
    if (e.sqlstate() == "28000") co_return plain_error(403, "Refused", "Sign in again.");
    co_return plain_error(e.sqlstate() == "42501" ? 403 : 400, "Not done", e.what());
  } catch (const std::exception&) {
    co_return plain_error(503, "Unavailable", "The database cannot be reached.");
  }
  if (path == "/console/kill") {
    json killed = json::parse(answer, nullptr, false);
    co_return html(200, "killed",
                   "<main id=\"main\"><h1>Killed</h1>\n<p id=\"killed\">Killed the " +
                       html_escape(kind + " " + target) + ": " +
                       html_escape(killed.is_object() ? field(killed, "tokens") : "?") +
                       " token(s) revoked, their calls in flight aborted.</p>\n<p><a "
                       "href=\"/console/calls\">Live calls</a></p></main>\n");
  }
  co_return see_other("/console/grants");
}

awaitable<HttpResponse> ConsolePages::live_stream(const std::string& session) {
  try {
    const std::string page = "whoami", none;
    co_await page_data(session, page, none);
  } catch (const DbError& e) {
    co_return plain_error(e.sqlstate() == "42501" ? 403 : 401, "Refused", e.what());
  } catch (const std::exception&) {
    co_return plain_error(503, "Unavailable", "The database cannot be reached.");
  }
  auto ex = co_await asio::this_coro::executor;
  auto stream = std::make_shared<SseStream>(ex);
  asio::co_spawn(ex, run_live_stream(session, stream), asio::detached);
  HttpResponse r{
      200,
      {{"Content-Type", "text/event-stream"}, {"Cache-Control", "no-cache, no-transform"}},
      "",
      stream};
  co_return r;
}

awaitable<void> ConsolePages::run_live_stream(std::string session,
                                              std::shared_ptr<SseStream> stream) {
  // The session is asked again every half minute: a signed-out or unmapped person's stream ends.
  auto checked = std::chrono::steady_clock::now();
  while (stream->open()) {
    json message = json::object();
    message["calls"] = gateway_.calls_in_flight();
    stream->push(message);
    co_await gateway_.in_flight_changed().wait(std::chrono::seconds(15));
    if (std::chrono::steady_clock::now() - checked > std::chrono::seconds(30)) {
      checked = std::chrono::steady_clock::now();
      bool live = true;
      try {
        const std::string page = "whoami", none;
        co_await page_data(session, page, none);
      } catch (const std::exception&) {
        live = false;
      }
      if (!live) break;
    }
  }
  stream->finish();
}

}  // namespace warden::mcp
