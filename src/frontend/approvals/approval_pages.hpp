#pragma once

#include <string>

#include "frontend/db/decisions.hpp"
#include "frontend/net/http_endpoint.hpp"

namespace warden::mcp {

// The approval page (issue 15): /approvals (the pending calls the signed-in approver may
// decide), /approvals/<id> (one call: who asks, through which agents, for whom, the tool, the
// arguments as the audit keeps them, the grant and its reason; Approve / Deny with a note).
// Sign-in: an approver session opened in SQL by the approver's own login
// (warden.approver_session()), pasted once at /approvals/sign-in and kept in an HttpOnly,
// SameSite=Strict cookie. Every decision is warden.decide_approval with that session: the
// gateway itself can approve nothing. Pages are served like the consent page: CSP without
// script, frame-ancestors 'none', forms post only here, a CSRF token bound to the session, and
// the Origin of a POST must be ours.
class ApprovalPages {
 public:
  explicit ApprovalPages(Decisions& decisions) : decisions_(decisions) {}
  // The gateway's public base URL (the approval URLs it hands out start with it); POSTs must
  // come from its origin.
  void set_base(std::string base) { base_ = std::move(base); }

  static bool handles(const std::string& path) {
    return path == "/approvals" || path.rfind("/approvals/", 0) == 0;
  }
  awaitable<HttpResponse> handle(const HttpRequest& request, const std::string& path);

 private:
  awaitable<HttpResponse> sign_in(const HttpRequest& request);
  awaitable<HttpResponse> decide(const HttpRequest& request, const std::string& session,
                                 const std::string& approval_id);
  bool same_origin(const HttpRequest& request) const;

  Decisions& decisions_;
  std::string base_;
};

}  // namespace warden::mcp
