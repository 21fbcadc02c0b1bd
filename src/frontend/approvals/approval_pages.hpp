#pragma once

#include <string>

#include "frontend/db/decisions.hpp"
#include "frontend/net/http_endpoint.hpp"

namespace warden::oauth {
class AuthorizationServer;
}

namespace warden::mcp {

// The approval page (issue 15): /approvals (the pending calls the signed-in approver may
// decide), /approvals/<id> (one call: who asks, through which agents, for whom, the tool, the
// arguments as the audit keeps them, the grant and its reason; Approve / Deny with a note).
// Sign-in: through the identity provider (/approvals/sign-in/idp, when warden-mcp is the OAuth
// authorization server: see approver_sign_in.sql), or with an approver session opened in SQL
// by the approver's own login (warden.approver_session()), pasted once at /approvals/sign-in
// (a form token in a SameSite=Strict cookie: no other site can sign a browser in). Either is
// kept in an HttpOnly, SameSite=Strict cookie. Every decision is warden.decide_approval with that
// session: the gateway itself can approve nothing. Pages are served like the consent page: CSP
// without script, frame-ancestors 'none', forms post only here, a CSRF token bound to the session,
// and the Origin of a POST must be ours.
class ApprovalPages {
 public:
  explicit ApprovalPages(Decisions& decisions) : decisions_(decisions) {}
  // The gateway's public base URL (the approval URLs it hands out start with it); POSTs must
  // come from its origin.
  void set_base(std::string base) { base_ = std::move(base); }
  // Offers sign-in through the identity provider of this authorization server.
  void set_sign_in(oauth::AuthorizationServer* server) { sign_in_server_ = server; }

  static bool handles(const std::string& path) {
    return path == "/approvals" || path.rfind("/approvals/", 0) == 0;
  }
  awaitable<HttpResponse> handle(const HttpRequest& request, const std::string& path);

 private:
  awaitable<HttpResponse> sign_in(const HttpRequest& request);
  awaitable<HttpResponse> decide(const HttpRequest& request, const std::string& session,
                                 const std::string& approval_id);
  bool same_origin(const HttpRequest& request) const;
  // The sign-in page, with a fresh form token in its cookie.
  HttpResponse sign_in_page(unsigned status, const std::string& next,
                            const std::string& message) const;

  Decisions& decisions_;
  std::string base_;
  oauth::AuthorizationServer* sign_in_server_ = nullptr;
};

}  // namespace warden::mcp
