#include "frontend/approvals/approval_pages.hpp"

#include <cctype>
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

// The paste form's token, double-submitted: set with the form, posted back with it. A page of
// another site can post the form but cannot send this SameSite=Strict cookie, so it cannot
// sign a browser into a session of its choosing (login CSRF).
constexpr const char* kFormCookie = "warden_approver_form";

// The approval pages' CSRF tokens (never valid on the console, nor the console's here).
std::string csrf_token(const std::string& session) {
  return page_forms::csrf_token(session, "warden approval page csrf");
}

std::string page(const std::string& title, const std::string& body) {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<title>" +
         html_escape(title) + "</title></head><body>\n<main>\n" + body +
         "</main>\n</body></html>\n";
}

HttpResponse html(unsigned status, const std::string& title, const std::string& body) {
  return HttpResponse{status, oauth::page_headers(false), page("warden: " + title, body)};
}

HttpResponse error(unsigned status, const std::string& title, const std::string& message) {
  return html(status, title,
              "<h1>" + html_escape(title) + "</h1>\n<p id=\"error\">" + html_escape(message) +
                  "</p>\n<p><a href=\"/approvals\">Pending approvals</a></p>\n");
}

HttpResponse see_other(const std::string& location) {
  return HttpResponse{303, {{"Location", location}, {"Cache-Control", "no-store"}}, ""};
}

std::string sign_in_form(const std::string& next, const std::string& message,
                         const std::string& form_token, bool offer_idp) {
  std::string body = "<h1>Sign in to approve calls</h1>\n";
  if (!message.empty()) body += "<p id=\"error\">" + html_escape(message) + "</p>\n";
  if (offer_idp) {
    body += "<p><a id=\"sign-in-idp\" href=\"/approvals/sign-in/idp?next=" +
            html_escape(oauth::form_encode(next)) +
            "\">Sign in with your identity provider</a></p>\n<p>Or, with a database login "
            "that is an approver:</p>\n";
  }
  body +=
      "<p>Open an approver session with your own database login: <code>SELECT "
      "warden.approver_session();</code> and paste it here.</p>\n"
      "<form method=\"post\" action=\"/approvals/sign-in\">\n"
      "<input type=\"hidden\" name=\"next\" value=\"" +
      html_escape(next) + "\">\n<input type=\"hidden\" name=\"form_token\" value=\"" +
      html_escape(form_token) +
      "\">\n<label>Approver session <input type=\"password\" name=\"session\" id=\"session\" "
      "autocomplete=\"off\" required></label>\n"
      "<button type=\"submit\" id=\"sign-in\">Sign in</button>\n</form>\n";
  return body;
}

std::string row(const char* label, const std::string& id, const std::string& value) {
  return "<tr><th>" + std::string(label) + "</th><td id=\"" + id + "\">" + html_escape(value) +
         "</td></tr>\n";
}

std::string approval_body(const json& a, const std::string& approver, const std::string& csrf) {
  const std::string id = field(a, "approval_id");
  std::string agents;
  if (a.contains("agents") && a["agents"].is_array()) {
    for (const auto& n : a["agents"]) {
      if (!agents.empty()) agents += " \xE2\x86\x92 ";  // →
      agents += n.is_string() ? n.get<std::string>() : n.dump();
    }
  }
  std::string body = "<h1>Approve this call?</h1>\n<p>Signed in as <strong id=\"approver\">" +
                     html_escape(approver) + "</strong>.</p>\n<table>\n";
  body += row("Tool", "tool", field(a, "server") + "/" + field(a, "tool"));
  body += row("Asked by agent", "agent", field(a, "agent"));
  body += row("Through agents", "agents", agents);
  body += row("For the person", "human", field(a, "human"));
  body += row("Purpose of the chain", "purpose", field(a, "purpose"));
  body += row("Grant", "grant", field(a, "grant_id"));
  body += row("Grant's reason", "grant-reason", field(a, "grant_reason"));
  body += row("Asked at", "requested-at", field(a, "requested_at"));
  body += row("Expires at", "expires-at", field(a, "expires_at"));
  body += row("State", "state", field(a, "state"));
  if (!field(a, "approver").empty()) {
    body += row("Decided by", "decided-by", field(a, "approver"));
    body += row("Note", "decided-note", field(a, "note"));
  }
  body += "</table>\n<h2>Arguments (as the audit keeps them)</h2>\n<pre id=\"arguments\">" +
          html_escape(a.contains("arguments") ? a["arguments"].dump(2) : "{}") + "</pre>\n";
  const bool may_decide = a.value("may_decide", false);
  if (may_decide) {
    body += "<form method=\"post\" action=\"/approvals/" + html_escape(id) +
            "\">\n<input type=\"hidden\" name=\"csrf\" value=\"" + html_escape(csrf) +
            "\">\n<label>Note <input type=\"text\" name=\"note\" id=\"note\" maxlength=\"2000\">"
            "</label>\n"
            "<button type=\"submit\" name=\"decision\" value=\"approve\" id=\"approve\">Approve"
            "</button>\n"
            "<button type=\"submit\" name=\"decision\" value=\"deny\" id=\"deny\">Deny</button>\n"
            "</form>\n";
  } else if (!field(a, "refusal").empty() && field(a, "state") == "pending") {
    body += "<p id=\"refusal\">You may not decide this call: " + html_escape(field(a, "refusal")) +
            "</p>\n";
  }
  body += "<p><a href=\"/approvals\">All pending approvals</a></p>\n";
  return body;
}

std::string list_body(const json& view) {
  std::string body = "<h1>Calls waiting for you</h1>\n<p>Signed in as <strong id=\"approver\">" +
                     html_escape(field(view, "approver")) + "</strong>.</p>\n";
  const json pending =
      view.contains("pending") && view["pending"].is_array() ? view["pending"] : json::array();
  if (pending.empty()) return body + "<p id=\"none\">Nothing is waiting for you.</p>\n";
  body += "<ul id=\"pending\">\n";
  for (const auto& a : pending) {
    const std::string id = field(a, "approval_id");
    body += "<li><a href=\"/approvals/" + html_escape(id) + "\">" +
            html_escape(field(a, "server") + "/" + field(a, "tool")) + "</a> by " +
            html_escape(field(a, "agent")) + " for " + html_escape(field(a, "human")) +
            ", expires " + html_escape(field(a, "expires_at")) + "</li>\n";
  }
  return body + "</ul>\n";
}

// "/approvals" or "/approvals/<uuid>".
bool is_approvals_path(const std::string& path) {
  constexpr std::string_view kList = "/approvals";
  if (path == kList) return true;
  if (path.size() != kList.size() + 1 + 36 || path.rfind("/approvals/", 0) != 0) return false;
  const std::string_view id = std::string_view(path).substr(kList.size() + 1);
  for (std::size_t i = 0; i < id.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? id[i] != '-' : !std::isxdigit(static_cast<unsigned char>(id[i]))) return false;
  }
  return true;
}

}  // namespace

HttpResponse ApprovalPages::sign_in_page(unsigned status, const std::string& next,
                                         const std::string& message) const {
  const std::string form_token = random_cookie_secret();
  const bool tls = base_.rfind("https://", 0) == 0;
  HttpResponse r =
      html(status, "sign in", sign_in_form(next, message, form_token, sign_in_server_ != nullptr));
  r.headers.emplace_back("Set-Cookie", std::string(kFormCookie) + "=" + form_token +
                                           "; Path=/approvals/sign-in; HttpOnly; SameSite=Strict" +
                                           (tls ? "; Secure" : ""));
  return r;
}

bool ApprovalPages::same_origin(const HttpRequest& request) const {
  std::string origin = request.header("origin");
  // Absent, or "null" (our pages send no Referer, so browsers post with Origin: null): the
  // SameSite=Strict cookie and the CSRF token still hold.
  if (origin.empty() || origin == "null") return true;
  auto ours = parse_url(base_);
  auto from = parse_url(origin);
  return ours && from && ours->host == from->host && ours->port == from->port &&
         ours->tls == from->tls;
}

awaitable<HttpResponse> ApprovalPages::handle(const HttpRequest& request, const std::string& path) {
  if (path == "/approvals/sign-in") {
    if (request.method == "POST") co_return co_await sign_in(request);
    if (request.method != "GET") co_return error(405, "Not allowed", "Use GET or POST.");
    auto query = oauth::FormFields::parse(oauth::query_of(request.target));
    std::string next = query ? query->get("next") : std::string();
    if (!is_approvals_path(next)) next = "/approvals";
    co_return sign_in_page(200, next, "");
  }
  if (path == "/approvals/sign-in/idp") {
    if (request.method != "GET") co_return error(405, "Not allowed", "Use GET.");
    if (sign_in_server_ == nullptr) {
      co_return error(404, "Not found",
                      "This gateway signs approvers in with database sessions only.");
    }
    auto query = oauth::FormFields::parse(oauth::query_of(request.target));
    std::string next = query ? query->get("next") : std::string();
    if (!is_approvals_path(next)) next = "/approvals";
    const std::string binding = random_cookie_secret();
    HttpResponse r =
        co_await sign_in_server_->begin_approver_sign_in(next, binding, request.peer_address);
    if (r.status == 302) {
      r.headers.emplace_back("Set-Cookie",
                             approver_binding_cookie(binding, base_.rfind("https://", 0) == 0));
    }
    co_return r;
  }
  const std::string session = cookie_value(request.header("cookie"), kApproverCookie);
  std::string approval_id;
  if (path != "/approvals") {
    approval_id = path.substr(std::string("/approvals/").size());
    if (!looks_like_uuid(approval_id)) co_return error(404, "Not found", "No such approval.");
  }
  if (session.empty()) {
    if (request.method != "GET") co_return error(403, "Refused", "Sign in first.");
    co_return see_other("/approvals/sign-in?next=" + oauth::form_encode(path));
  }
  if (request.method == "POST" && !approval_id.empty()) {
    co_return co_await decide(request, session, approval_id);
  }
  if (request.method != "GET") co_return error(405, "Not allowed", "Use GET or POST.");
  json view;
  try {
    view = co_await decisions_.approval_page(session, approval_id);
  } catch (const DbError& e) {
    if (e.sqlstate() == "28000") {
      co_return see_other("/approvals/sign-in?next=" + oauth::form_encode(path));
    }
    co_return error(e.sqlstate() == "42704" ? 404 : 400, "Cannot show this", e.what());
  } catch (const std::exception&) {
    co_return error(503, "Unavailable", "The database cannot be reached.");
  }
  if (approval_id.empty()) co_return html(200, "approvals", list_body(view));
  co_return html(
      200,
      "approve " + field(view["approval"], "server") + "/" + field(view["approval"], "tool") + "?",
      approval_body(view["approval"], field(view, "approver"), csrf_token(session)));
}

awaitable<HttpResponse> ApprovalPages::sign_in(const HttpRequest& request) {
  auto form = oauth::FormFields::parse(request.body);
  if (!is_form(request.header("content-type")) || !form || form->has_repeats()) {
    co_return error(400, "Bad request", "The sign-in form is malformed.");
  }
  if (!same_origin(request)) co_return error(403, "Refused", "The form came from another site.");
  const std::string form_token = cookie_value(request.header("cookie"), kFormCookie);
  if (form_token.empty() || !equal_in_constant_time(form->get("form_token"), form_token)) {
    co_return error(403, "Refused", "The form did not come from this page; open it again.");
  }
  std::string session = form->get("session");
  std::string next = form->get("next");
  // Only a page of ours, exactly: the list or one approval (never an open redirect, and nothing
  // that could end the Location header early).
  if (!is_approvals_path(next)) next = "/approvals";
  bool ok = false;
  std::string why;
  const std::string all;  // a local, not a temporary, across the co_await (GCC 12)
  try {
    co_await decisions_.approval_page(session, all);
    ok = true;
  } catch (const DbError& e) {
    why = e.sqlstate() == "28000" ? "That is not a live approver session." : e.what();
  } catch (const std::exception&) {
    why = "The database cannot be reached.";
  }
  if (!ok) co_return sign_in_page(403, next, why);
  HttpResponse r = see_other(next);
  const bool tls = base_.rfind("https://", 0) == 0;
  r.headers.emplace_back("Set-Cookie", approver_session_cookie(session, tls));
  co_return r;
}

awaitable<HttpResponse> ApprovalPages::decide(const HttpRequest& request,
                                              const std::string& session,
                                              const std::string& approval_id) {
  auto form = oauth::FormFields::parse(request.body);
  if (!is_form(request.header("content-type")) || !form || form->has_repeats()) {
    co_return error(400, "Bad request", "The approval form is malformed.");
  }
  if (!same_origin(request) || !equal_in_constant_time(form->get("csrf"), csrf_token(session))) {
    co_return error(403, "Refused", "The form did not come from this page.");
  }
  std::string decision = form->get("decision");
  if (decision != "approve" && decision != "deny") {
    co_return error(400, "Bad request", "Approve or deny.");
  }
  const std::string note = form->get("note");
  const bool approve = decision == "approve";
  try {
    co_await decisions_.decide_approval(session, approval_id, approve, note);
  } catch (const DbError& e) {
    if (e.sqlstate() == "28000") co_return see_other("/approvals/sign-in?next=/approvals");
    co_return error(e.sqlstate() == "42501" ? 403 : 409, "Not decided", e.what());
  } catch (const std::exception&) {
    co_return error(503, "Unavailable", "The database cannot be reached.");
  }
  co_return see_other("/approvals/" + approval_id);
}

}  // namespace warden::mcp
