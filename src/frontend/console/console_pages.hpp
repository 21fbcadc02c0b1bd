#pragma once

#include <string>

#include "frontend/console/dot_renderer.hpp"
#include "frontend/db/db_pool.hpp"
#include "frontend/net/http_endpoint.hpp"

namespace warden::oauth {
class AuthorizationServer;
}

namespace warden::mcp {

// The operator console (issue 16) at /console: overview (the maturity ladder), inventory, live
// calls (pushed over an event stream as they start and end), chains as pictures, the kill
// switch, grants, the approvals queue (the approval pages), access review and evidence.
//
// Sign-in is the approvers' sign-in through the identity provider (approver_sign_in.sql) started
// from /console: the database opens a console session when the person's ID-token groups map to
// a console role (warden.map_group); the session id lives in an HttpOnly, SameSite=Strict cookie
// scoped to /console. Every page and action is one SECURITY DEFINER function taking that session
// (warden.console_page, console_kill, console_grant, console_revoke_grant), which checks the
// role (auditors read, admins act) and audits actions: the gateway's own role can neither read
// nor change anything here without a live session. Pages are server-rendered and readable
// without script; console.js (served from here) only adds the live updates. CSP: scripts and
// styles from this origin only, no inline script, frame-ancestors 'none'. Every POST carries a
// CSRF token bound to the session and must come from our origin.
class ConsolePages {
 public:
  ConsolePages(DbPool& pool, Gateway& gateway) : pool_(pool), gateway_(gateway) {}
  void set_base(std::string base) { base_ = std::move(base); }
  void set_sign_in(oauth::AuthorizationServer* server) { sign_in_server_ = server; }

  static bool handles(const std::string& path) {
    return path == "/console" || path.rfind("/console/", 0) == 0;
  }
  awaitable<HttpResponse> handle(const HttpRequest& request, const std::string& path);

 private:
  struct Viewer {
    std::string subject, role;
    bool admin() const { return role == "admin"; }
  };
  awaitable<json> page_data(const std::string& session, const std::string& page,
                            const std::string& arg);
  awaitable<HttpResponse> page(const HttpRequest& request, const std::string& path,
                               const std::string& session);
  awaitable<HttpResponse> action(const HttpRequest& request, const std::string& path,
                                 const std::string& session);
  awaitable<HttpResponse> live_stream(const std::string& session);
  awaitable<void> run_live_stream(std::string session, std::shared_ptr<SseStream> stream);
  awaitable<HttpResponse> begin_sign_in(const HttpRequest& request);
  bool same_origin(const HttpRequest& request) const;
  bool tls() const { return base_.rfind("https://", 0) == 0; }

  DbPool& pool_;
  Gateway& gateway_;
  DotRenderer renderer_;
  std::string base_;
  oauth::AuthorizationServer* sign_in_server_ = nullptr;
};

}  // namespace warden::mcp
