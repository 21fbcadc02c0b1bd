#include "frontend/oauth/authorization_server.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <iostream>

#include "frontend/net/url.hpp"
#include "frontend/oauth/approver_cookies.hpp"
#include "frontend/oauth/client_metadata.hpp"
#include "frontend/oauth/consent_page.hpp"
#include "frontend/oauth/fetcher.hpp"
#include "frontend/oauth/form.hpp"
#include "frontend/oauth/jws.hpp"
#include "frontend/oauth/metadata.hpp"

namespace warden::oauth {

namespace {

using mcp::awaitable;
using mcp::DbError;
using mcp::HttpRequest;
using mcp::HttpResponse;
using nlohmann::json;

using Params = std::vector<std::pair<std::string, std::string>>;

constexpr std::string_view kIdpScope = "openid email profile";
constexpr std::string_view kTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange";
constexpr std::string_view kJwtBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer";
constexpr std::string_view kClientAssertionType =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
constexpr std::string_view kTokenTypePrefix = "urn:ietf:params:oauth:token-type:";

json refusal(const std::string& error, const std::string& description) {
  return {{"error", error}, {"error_description", description}};
}

int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string string_field(const json& object, const char* name) {
  if (!object.is_object()) return {};
  auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

HttpResponse json_response(unsigned status, const json& body) {
  return {status,
          {{"Content-Type", "application/json"}, {"Cache-Control", "no-store"}},
          body.dump(-1, ' ', false, json::error_handler_t::replace)};
}

// RFC 6749 5.2 (and RFC 7009, RFC 7591) error bodies.
HttpResponse oauth_error(unsigned status, const std::string& error,
                         const std::string& description) {
  json body = {{"error", error}};
  if (!description.empty()) body["error_description"] = description;
  return json_response(status, body);
}

HttpResponse page_response(unsigned status, std::string html) {
  HttpResponse r{status, page_headers(), std::move(html)};
  return r;
}

HttpResponse error_page_response(unsigned status, std::string_view title,
                                 std::string_view message) {
  return page_response(status, error_page(title, message));
}

HttpResponse redirect(const std::string& location) {
  HttpResponse r{302, {{"Location", location}, {"Cache-Control", "no-store"}}, ""};
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  return r;
}

// "invalid_request: state is required" -> {"invalid_request", "state is required"}.
std::pair<std::string, std::string> split_error(const std::string& message) {
  auto colon = message.find(':');
  if (colon == std::string::npos) return {"server_error", message};
  std::string description = message.substr(colon + 1);
  if (!description.empty() && description.front() == ' ') description.erase(0, 1);
  return {message.substr(0, colon), description};
}

bool is_form(const std::string& content_type) {
  auto semicolon = content_type.find(';');
  std::string type = content_type.substr(0, semicolon);
  while (!type.empty() && type.back() == ' ') type.pop_back();
  for (auto& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return type == "application/x-www-form-urlencoded";
}

bool looks_like_uuid(const std::string& text) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-' : !std::isxdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

// The path of a request target, without the query.
std::string path_of(const std::string& target) {
  return target.substr(0, target.find('?'));
}

}  // namespace

bool RegistrationLimiter::try_acquire(const std::string& address, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = windows_.find(address);
  if (it == windows_.end()) {
    if (windows_.size() >= 4096) {
      auto oldest = std::min_element(
          windows_.begin(), windows_.end(),
          [](const auto& a, const auto& b) { return a.second.started < b.second.started; });
      windows_.erase(oldest);
    }
    it = windows_.emplace(address, Window{now, 0}).first;
  }
  if (now - it->second.started >= kRegistrationWindow) it->second = Window{now, 0};
  if (it->second.count >= per_window_) return false;
  ++it->second.count;
  return true;
}

void RegistrationLimiter::refund(const std::string& address) {
  std::lock_guard lock(mutex_);
  auto it = windows_.find(address);
  if (it != windows_.end() && it->second.count > 0) --it->second.count;
}

AuthorizationServer::AuthorizationServer(mcp::OAuthStore& store, AuthorizationServerOptions options)
    : store_(store),
      issuer_(normalize_issuer(options.issuer)),
      options_(std::move(options)),
      idp_(store, options_.fetch),
      replay_(options_.dpop_replay_capacity) {
  auto url = mcp::parse_url(issuer_);
  if (!url) throw std::invalid_argument("--issuer must be an http(s) URL");
  prefix_ = url->target == "/" ? std::string() : url->target;
}

awaitable<void> AuthorizationServer::start() {
  if (!options_.idp) {
    std::cerr << "warden-mcp: no --idp: the only identity provider is looked up at the first "
                 "sign-in\n";
    co_return;
  }
  IdpResult discovered = co_await idp_.discover(*options_.idp);
  if (!discovered.ok()) {
    std::cerr << "warden-mcp: identity provider discovery failed (tried again at the first "
                 "sign-in): "
              << discovered.error << "\n";
  } else {
    std::cerr << "warden-mcp: identity provider metadata stored: " << discovered.value.dump()
              << "\n";
  }
}

awaitable<std::optional<HttpResponse>> AuthorizationServer::handle(const HttpRequest& request) {
  std::string path = path_of(request.target);
  bool get = request.method == "GET";
  bool post = request.method == "POST";
  if (get && path == authorization_server_metadata_path(issuer_)) {
    co_return json_response(200, authorization_server_metadata(issuer_));
  }
  if (get && path == openid_configuration_path(issuer_)) {
    co_return json_response(200, openid_configuration(issuer_));
  }
  if (path.rfind(prefix_, 0) != 0) co_return std::nullopt;
  std::string route = path.substr(prefix_.size());
  if (get && route == "/.well-known/jwks.json") co_return co_await jwks();
  if (get && route == "/authorize") co_return co_await authorize(request);
  if (get && route == "/callback") co_return co_await callback(request);
  if (post && route == "/consent") co_return co_await consent(request);
  if (post && route == "/token") co_return co_await token(request);
  if (post && route == "/revoke") co_return co_await revoke(request);
  if (post && route == "/register") co_return co_await register_client(request);
  if (route == "/authorize" || route == "/callback" || route == "/consent" || route == "/token" ||
      route == "/revoke" || route == "/register") {
    co_return oauth_error(405, "invalid_request", "method not allowed");
  }
  co_return std::nullopt;
}

awaitable<HttpResponse> AuthorizationServer::jwks() {
  json keys;
  try {
    keys = co_await store_.public_keys();
  } catch (const std::exception& e) {
    // The database's words stay in the gateway's log: this route answers anyone.
    std::cerr << "warden-mcp: /.well-known/jwks.json: " << e.what() << "\n";
    co_return oauth_error(503, "temporarily_unavailable", "the signing keys cannot be read now");
  }
  json body = {{"keys", keys.value("keys", json::array())}};
  HttpResponse r{200, {{"Content-Type", "application/json"}}, body.dump()};
  co_return r;
}

HttpResponse AuthorizationServer::to_client(const std::string& redirect_uri, Params params,
                                            const std::string& state) const {
  if (!state.empty()) params.emplace_back("state", state);
  params.emplace_back("iss", issuer_);  // RFC 9207
  return redirect(with_query(redirect_uri, params));
}

awaitable<std::optional<std::string>> AuthorizationServer::register_metadata_client(
    std::string client_id, std::string peer_address) {
  // A new client_id URL makes a pending agent: the same per-address budget as /register. The
  // database knows whether the client is new; a known one never needs the budget, and an
  // unspent one is given back.
  // Fetches of documents that never turned out good count against the address (one address
  // must not make warden-mcp an open fetcher of public URLs); a client whose document was good
  // before is not held back by them, even behind a proxy all clients share.
  const bool known_good = good_documents_.contains(client_id);
  if (!known_good && !metadata_fetches_.try_acquire(peer_address)) {
    co_return "too many client metadata documents asked for from this address; try again in a "
              "minute";
  }
  const bool may_create = registrations_.try_acquire(peer_address);
  bool created = false;
  std::optional<std::string> refused = co_await fetch_and_register(client_id, may_create, created);
  if (may_create && !created) registrations_.refund(peer_address);
  if (!refused && !known_good) {
    if (good_documents_.size() >= 10'000) good_documents_.clear();
    good_documents_.insert(client_id);
    metadata_fetches_.refund(peer_address);
  }
  co_return refused;
}

awaitable<std::optional<std::string>> AuthorizationServer::fetch_and_register(
    const std::string& client_id, bool may_create, bool& created) {
  FetchOptions outsider = options_.fetch;
  outsider.outsider_host = true;
  auto fetched = co_await fetch_document(client_id, outsider);
  if (!fetched) {
    co_return "the client's metadata document could not be fetched (" +
        std::string(to_string(fetched.error())) + ")";
  }
  if (fetched.value().status != 200) {
    co_return "the client's metadata document answered HTTP " +
        std::to_string(fetched.value().status);
  }
  std::string reason;
  auto checked = check_client_metadata_document(client_id, fetched.value().body, &reason);
  if (!checked) co_return "the client's metadata document was refused: " + reason;
  json metadata = {{"client_id", checked.value().client_id},
                   {"redirect_uris", checked.value().redirect_uris}};
  if (!checked.value().client_name.empty()) metadata["client_name"] = checked.value().client_name;
  try {
    json registered = co_await store_.register_metadata_client(client_id, metadata, may_create);
    created = registered.is_object() && registered.value("created", false);
  } catch (const DbError& e) {
    if (e.sqlstate() == "WR429") co_return split_error(e.what()).second;
    co_return std::string(e.what());
  }
  co_return std::nullopt;
}

awaitable<HttpResponse> AuthorizationServer::authorize(const HttpRequest& request) {
  auto query = FormFields::parse(query_of(request.target));
  if (!query || query->has_repeats()) {
    co_return error_page_response(400, "Bad request",
                                  "The authorization request is malformed or repeats a "
                                  "parameter.");
  }
  std::string client_id = query->get("client_id");
  std::string redirect_uri = query->get("redirect_uri");
  std::string state = query->get("state");
  if (query->get("response_type") != "code") {
    // Nothing is known good yet: no redirect.
    co_return error_page_response(400, "Bad request",
                                  "response_type must be \"code\" (OAuth 2.1 code flow).");
  }
  if (is_client_id_url(client_id)) {
    std::optional<std::string> refused =
        co_await register_metadata_client(client_id, request.peer_address);
    if (refused) co_return error_page_response(400, "Unknown application", *refused);
  }
  json began;
  try {
    began = co_await store_.begin_authorization(
        client_id, redirect_uri, query->get("code_challenge"), query->get("code_challenge_method"),
        state, query->get("scope"), query->get("resource"), options_.idp);
  } catch (const DbError& e) {
    auto [error, description] = split_error(e.what());
    if (e.sqlstate() == "WA302") co_return to_client(redirect_uri, {{"error", error}}, state);
    if (e.sqlstate() == "WA400") {
      co_return error_page_response(400, "This sign-in cannot continue", description);
    }
    std::cerr << "warden-mcp: /authorize: " << e.what() << "\n";
    co_return error_page_response(500, "Server error", "The request could not be stored.");
  } catch (const std::exception& e) {
    std::cerr << "warden-mcp: /authorize: " << e.what() << "\n";
    co_return error_page_response(503, "Unavailable", "The database cannot be reached.");
  }
  // Tokens are audience-restricted to this gateway's /mcp (RFC 8707): another resource is not ours
  // to grant. (Checked once the client and redirect_uri are known good, so the client hears.)
  if (query->get("resource") != resource()) {
    co_return to_client(redirect_uri, {{"error", "invalid_target"}}, state);
  }
  std::optional<std::string> to_idp = co_await idp_authorization_url(began);
  if (!to_idp) co_return to_client(redirect_uri, {{"error", "temporarily_unavailable"}}, state);
  co_return redirect(*to_idp);
}

awaitable<std::optional<std::string>> AuthorizationServer::idp_authorization_url(
    const json& began) {
  IdpResult provider = co_await idp_.provider(string_field(began, "idp"));
  std::string endpoint = provider.ok()
                             ? string_field(provider.value["discovery"], "authorization_endpoint")
                             : std::string();
  if (endpoint.empty()) {
    std::cerr << "warden-mcp: sign-in: identity provider unusable: " << provider.error << "\n";
    co_return std::nullopt;
  }
  // A console sign-in also asks for the person's groups (warden.begin_approver_sign_in says
  // which scope names them at this provider).
  std::string scope(kIdpScope);
  if (!string_field(began, "idp_extra_scope").empty()) {
    scope += " " + string_field(began, "idp_extra_scope");
  }
  Params params{{"response_type", "code"},
                {"client_id", string_field(provider.value, "client_id")},
                {"redirect_uri", issuer_ + "/callback"},
                {"scope", scope},
                {"state", string_field(began, "idp_state")},
                {"nonce", string_field(began, "idp_nonce")},
                {"code_challenge", string_field(began, "idp_code_challenge")},
                {"code_challenge_method", "S256"}};
  // Approver and console sign-ins ask for a login now (the database checks auth_time).
  if (auto max_age = began.find("idp_max_age");
      max_age != began.end() && max_age->is_number_unsigned()) {
    params.emplace_back("max_age", std::to_string(max_age->get<std::uint64_t>()));
  }
  co_return with_query(endpoint, params);
}

awaitable<HttpResponse> AuthorizationServer::callback(const HttpRequest& request) {
  auto query = FormFields::parse(query_of(request.target));
  if (!query || query->has_repeats() || query->get("state").empty()) {
    co_return error_page_response(400, "Bad request", "The sign-in response is malformed.");
  }
  std::string idp_state = query->get("state");
  json pending;
  try {
    pending = co_await store_.idp_callback(idp_state);
  } catch (const DbError& e) {
    co_return error_page_response(400, "This sign-in cannot continue",
                                  split_error(e.what()).second);
  } catch (const std::exception& e) {
    co_return error_page_response(503, "Unavailable", "The database cannot be reached.");
  }
  json claims;
  std::string id_token;
  std::optional<std::string> refusal = co_await verify_callback(*query, pending, claims, id_token);
  if (string_field(pending, "for") == "approver") {
    co_return co_await finish_approver_sign_in(request, idp_state, id_token, refusal);
  }
  json view;
  try {
    view = co_await store_.complete_sign_in(idp_state, claims, refusal, id_token);
  } catch (const DbError& e) {
    co_return error_page_response(400, "This sign-in cannot continue",
                                  split_error(e.what()).second);
  } catch (const std::exception& e) {
    co_return error_page_response(503, "Unavailable", "The database cannot be reached.");
  }
  if (view.contains("error")) {
    std::string redirect_uri = string_field(view, "redirect_uri");
    if (redirect_uri.empty()) {
      co_return error_page_response(403, "Sign-in refused",
                                    string_field(view, "error_description"));
    }
    co_return to_client(redirect_uri, {{"error", string_field(view, "error")}},
                        string_field(view, "state"));
  }
  HttpResponse page{200, page_headers(true), consent_page(view)};
  co_return page;
}

awaitable<std::optional<std::string>> AuthorizationServer::verify_callback(const FormFields& query,
                                                                           const json& pending,
                                                                           json& claims,
                                                                           std::string& id_token) {
  std::string failure;
  if (!query.get("error").empty()) {
    // The provider's error code is attacker-reachable text (anyone can open /callback with a
    // live state): only its shape goes into the audit and the log.
    std::string code = query.get("error").substr(0, 64);
    for (char& c : code) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') c = '?';
    }
    failure = "the identity provider answered " + code;
  } else if (query.get("code").empty()) {
    failure = "the identity provider sent no code";
  } else {
    IdpResult provider = co_await idp_.provider(string_field(pending, "idp"));
    IdpResult tokens;
    if (provider.ok()) {
      tokens = co_await idp_.exchange_code(provider.value, query.get("code"),
                                           string_field(pending, "idp_code_verifier"),
                                           issuer_ + "/callback");
    }
    IdpResult verified;
    if (!provider.ok()) {
      failure = provider.error;
    } else if (!tokens.ok()) {
      failure = tokens.error;
    } else if (string_field(tokens.value, "id_token").empty()) {
      failure = "the identity provider sent no ID token";
    } else {
      id_token = string_field(tokens.value, "id_token");
      verified = co_await idp_.verify_id_token(provider.value, id_token);
      if (verified.ok()) {
        claims = verified.value;
      } else {
        failure = verified.error;
      }
    }
  }
  if (failure.empty()) co_return std::nullopt;
  std::cerr << "warden-mcp: sign-in refused: " << failure << "\n";
  // Ends the sign-in (single use) and audits why; for a client's sign-in, when the client is
  // known good, says so to it (access_denied; the reason stays here).
  claims = json::object();
  co_return failure;
}

awaitable<HttpResponse> AuthorizationServer::begin_approver_sign_in(
    const std::string& next, const std::string& binding, const std::string& peer_address) {
  if (!approver_sign_ins_.try_acquire(peer_address)) {
    HttpResponse busy = error_page_response(429, "Too many sign-ins",
                                            "Too many sign-ins from this address; try again in a "
                                            "minute.");
    busy.headers.emplace_back("Retry-After", std::to_string(kRegistrationWindow.count()));
    co_return busy;
  }
  json began;
  try {
    began = co_await store_.begin_approver_sign_in(options_.idp, next, binding);
  } catch (const DbError& e) {
    co_return error_page_response(e.sqlstate() == "WA503" ? 503 : 400, "Cannot sign in here",
                                  split_error(e.what()).second);
  } catch (const std::exception&) {
    co_return error_page_response(503, "Unavailable", "The database cannot be reached.");
  }
  std::optional<std::string> to_idp = co_await idp_authorization_url(began);
  if (!to_idp) {
    co_return error_page_response(503, "Unavailable",
                                  "The identity provider cannot be reached; try again later.");
  }
  co_return redirect(*to_idp);
}

awaitable<HttpResponse> AuthorizationServer::finish_approver_sign_in(
    const HttpRequest& request, const std::string& idp_state, const std::string& id_token,
    const std::optional<std::string>& refusal) {
  const bool tls = issuer_.rfind("https://", 0) == 0;
  const std::string binding =
      mcp::cookie_value(request.header("cookie"), mcp::kApproverBindingCookie);
  json outcome;
  try {
    outcome = co_await store_.complete_approver_sign_in(idp_state, binding, id_token, refusal);
  } catch (const DbError& e) {
    co_return error_page_response(400, "This sign-in cannot continue",
                                  split_error(e.what()).second);
  } catch (const std::exception&) {
    co_return error_page_response(503, "Unavailable", "The database cannot be reached.");
  }
  if (string_field(outcome, "session").empty()) {
    HttpResponse refused =
        error_page_response(403, "Sign-in refused", string_field(outcome, "error_description"));
    refused.headers.emplace_back("Set-Cookie", mcp::approver_binding_cookie_cleared(tls));
    co_return refused;
  }
  // The page the approver asked for, by a link (and a refresh) from this page of ours: a
  // navigation our own page starts carries the SameSite=Strict session cookie, where the
  // redirect chain the provider started would not.
  const std::string next = string_field(outcome, "next");
  HttpResponse r = page_response(
      200,
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta http-equiv=\"refresh\" content=\"0;url=" +
          html_escape(next) +
          "\"><title>warden: signed in</title></head><body>\n<main>\n<h1>Signed in</h1>\n"
          "<p>Signed in as <strong id=\"approver\">" +
          html_escape(string_field(outcome, "approver")) +
          "</strong>.</p>\n<p><a id=\"continue\" href=\"" + html_escape(next) +
          "\">Continue</a></p>\n</main>\n</body></html>\n");
  const bool console = !string_field(outcome, "console_role").empty();
  r.headers.emplace_back(
      "Set-Cookie", console ? mcp::console_session_cookie(string_field(outcome, "session"), tls)
                            : mcp::approver_session_cookie(string_field(outcome, "session"), tls));
  r.headers.emplace_back("Set-Cookie", mcp::approver_binding_cookie_cleared(tls));
  co_return r;
}

awaitable<HttpResponse> AuthorizationServer::consent(const HttpRequest& request) {
  auto form = FormFields::parse(request.body);
  if (!is_form(request.header("content-type")) || !form || form->has_repeats()) {
    co_return error_page_response(400, "Bad request", "The consent form is malformed.");
  }
  // form-action 'self' keeps our page posting here; a page elsewhere must not.
  std::string origin = request.header("origin");
  if (!origin.empty() && origin != "null") {
    auto url = mcp::parse_url(issuer_);
    auto from = mcp::parse_url(origin);
    if (!url || !from || url->host != from->host || url->port != from->port ||
        url->tls != from->tls) {
      co_return error_page_response(403, "Refused", "The consent form came from another site.");
    }
  }
  std::string request_id = form->get("request_id");
  std::string decision = form->get("decision");
  if (!looks_like_uuid(request_id) || form->get("consent_token").empty() ||
      (decision != "approve" && decision != "deny")) {
    co_return error_page_response(400, "Bad request", "The consent form is incomplete.");
  }
  json outcome;
  try {
    outcome =
        co_await store_.consent(request_id, form->get("consent_token"), decision == "approve");
  } catch (const DbError& e) {
    co_return error_page_response(400, "This sign-in cannot continue",
                                  split_error(e.what()).second);
  } catch (const std::exception& e) {
    co_return error_page_response(503, "Unavailable", "The database cannot be reached.");
  }
  std::string redirect_uri = string_field(outcome, "redirect_uri");
  if (redirect_uri.empty()) {
    co_return error_page_response(400, "This sign-in cannot continue",
                                  string_field(outcome, "error_description"));
  }
  if (!string_field(outcome, "code").empty()) {
    co_return to_client(redirect_uri, {{"code", string_field(outcome, "code")}},
                        string_field(outcome, "state"));
  }
  co_return to_client(redirect_uri, {{"error", string_field(outcome, "error")}},
                      string_field(outcome, "state"));
}

awaitable<HttpResponse> AuthorizationServer::token(const HttpRequest& request) {
  auto form = FormFields::parse(request.body);
  if (!is_form(request.header("content-type")) || !form) {
    co_return oauth_error(400, "invalid_request",
                          "the body must be application/x-www-form-urlencoded");
  }
  const std::string machine_grant_type = form->get("grant_type");
  const bool machine = machine_grant_type == kTokenExchange || machine_grant_type == kJwtBearer;
  if (form->has_repeats()) {
    if (machine) {
      try {
        co_await refused_at_gateway(machine_grant_type, "invalid_request", "parameter_repeats", "");
      } catch (const std::exception& e) {
        co_return oauth_error(503, "temporarily_unavailable", "");
      }
    }
    co_return oauth_error(400, "invalid_request", "a parameter repeats");
  }
  std::optional<std::string> jkt;
  // The proof is recorded before the database is asked (a replay, or a copy racing the
  // original, is refused before any code or refresh token is spent) and forgotten again when
  // the grant is refused for good, so that proofs sent with made-up codes do not fill the
  // cache. (Kept when the database could not answer: the request may have been done.)
  std::optional<DpopProof> reserved;
  std::string proof = request.header("dpop");
  if (!proof.empty()) {
    DpopRequest expected;
    expected.method = "POST";
    expected.url = issuer_ + "/token";
    expected.now = now_seconds();
    Outcome<DpopProof> verified = verify_dpop_proof(proof, expected, replay_);
    if (!verified) {
      if (machine) {
        try {
          co_await refused_at_gateway(machine_grant_type, "invalid_dpop_proof", "bad_dpop_proof",
                                      "");
        } catch (const std::exception& e) {
          co_return oauth_error(503, "temporarily_unavailable", "");
        }
      }
      co_return oauth_error(400, "invalid_dpop_proof", std::string(to_string(verified.error())));
    }
    jkt = verified.value().jkt;
    reserved = std::move(verified.value());
  }
  std::string grant_type = form->get("grant_type");
  json result;
  try {
    if (grant_type == "authorization_code") {
      result = co_await store_.redeem_authorization_code(
          form->get("code"), form->get("code_verifier"), form->get("client_id"),
          form->get("redirect_uri"), form->get("resource"), jkt);
    } else if (grant_type == "refresh_token") {
      result = co_await store_.refresh_access_token(form->get("refresh_token"),
                                                    form->get("client_id"), jkt);
    } else if (grant_type == kTokenExchange || grant_type == kJwtBearer) {
      result = co_await machine_grant(*form, grant_type);
    } else {
      if (reserved) replay_.forget(reserved->jkt, reserved->jti);
      co_return oauth_error(400, "unsupported_grant_type",
                            "grant_type must be authorization_code, refresh_token, " +
                                std::string(kTokenExchange) + " or " + std::string(kJwtBearer));
    }
  } catch (const DbError& e) {
    std::cerr << "warden-mcp: /token: " << e.what() << "\n";
    co_return oauth_error(500, "server_error", "");
  } catch (const std::exception& e) {
    co_return oauth_error(503, "temporarily_unavailable", "");
  }
  if (result.contains("error")) {
    if (reserved) replay_.forget(reserved->jkt, reserved->jti);
    std::string error = string_field(result, "error");
    co_return oauth_error(error == "invalid_client" ? 401 : 400, error,
                          string_field(result, "error_description"));
  }
  co_return json_response(200, result);
}

awaitable<HttpResponse> AuthorizationServer::revoke(const HttpRequest& request) {
  auto form = FormFields::parse(request.body);
  if (!is_form(request.header("content-type")) || !form || form->has_repeats() ||
      form->get("token").empty()) {
    co_return oauth_error(400, "invalid_request", "token is required");
  }
  if (form->get("client_id").empty()) {
    co_return oauth_error(401, "invalid_client", "client_id is required");
  }
  try {
    co_await store_.revoke_oauth_token(form->get("token"), form->get("client_id"));
  } catch (const DbError& e) {
    std::cerr << "warden-mcp: /revoke: " << e.what() << "\n";
    co_return oauth_error(500, "server_error", "");
  } catch (const std::exception& e) {
    co_return oauth_error(503, "temporarily_unavailable", "");
  }
  co_return json_response(200, json::object());
}

awaitable<HttpResponse> AuthorizationServer::register_client(const HttpRequest& request) {
  if (request.body.size() > kMaxRegistrationBytes) {
    co_return oauth_error(
        400, "invalid_client_metadata",
        "the registration is larger than " + std::to_string(kMaxRegistrationBytes / 1024) + " KiB");
  }
  if (!registrations_.try_acquire(request.peer_address)) {
    HttpResponse r = oauth_error(429, "temporarily_unavailable",
                                 "too many registrations from this address; try again later");
    r.headers.emplace_back("Retry-After", std::to_string(kRegistrationWindow.count()));
    co_return r;
  }
  json metadata = json::parse(request.body, nullptr, false);
  if (!metadata.is_object()) {
    registrations_.refund(request.peer_address);
    co_return oauth_error(400, "invalid_client_metadata", "the body must be a JSON object");
  }
  json registered;
  try {
    registered = co_await store_.register_dynamic_client(metadata);
  } catch (const DbError& e) {
    registrations_.refund(request.peer_address);
    if (e.sqlstate() == "WR400") {
      auto [error, description] = split_error(e.what());
      co_return oauth_error(400, error, description);
    }
    std::cerr << "warden-mcp: /register: " << e.what() << "\n";
    co_return oauth_error(500, "server_error", "");
  } catch (const std::exception& e) {
    registrations_.refund(request.peer_address);
    co_return oauth_error(503, "temporarily_unavailable", "");
  }
  co_return json_response(201, registered);
}

awaitable<json> AuthorizationServer::verified_jwt(std::string token) {
  auto parsed = parse_jws(token);
  if (!parsed) co_return json{{"error", std::string(to_string(parsed.error()))}};
  const Jws& jws = parsed.value();
  std::string iss = string_field(jws.payload, "iss");
  std::string sub = string_field(jws.payload, "sub");
  json found = co_await store_.assertion_keys(iss, sub);
  json keys = found.value("keys", json::array());
  if (!keys.is_array() || keys.empty()) co_return json{{"error", "untrusted_issuer"}};
  // The header's kid picks the key; without one, each key of the issuer is tried.
  auto kid = jws.header.find("kid");
  bool any = false;
  std::string last = "unknown_kid";
  for (const auto& key : keys) {
    if (kid != jws.header.end() && (!kid->is_string() || !key.is_object() ||
                                    key.value("kid", "") != kid->get<std::string>())) {
      continue;
    }
    any = true;
    if (!key.is_object()) continue;
    auto verified = verify_jws(jws, key.value("jwk", json::object()), kAllJwsAlgs);
    if (verified) {
      // The JWT itself too: for a provider whose keys an admin pinned, the database verifies it
      // again and believes only its own verification (warden._pinned_jwt).
      co_return json{{"header", jws.header},
                     {"claims", jws.payload},
                     {"kid", key.value("kid", "")},
                     {"jwt", token}};
    }
    last = std::string(to_string(verified.error()));
  }
  if (!any) last = "unknown_kid";
  co_return json{{"error", last}};
}

awaitable<json> AuthorizationServer::machine_grant(const FormFields& form, std::string grant_type) {
  json request = {
      {"grant_type", grant_type}, {"issuer", issuer_}, {"expected_resource", resource()}};
  if (form.has("resource")) request["resource"] = form.get("resource");
  if (form.has("scope")) request["scope"] = form.get("scope");
  if (form.has("expires_in")) {
    std::string text = form.get("expires_in");
    if (text.empty() || text.size() > 6 ||
        text.find_first_not_of("0123456789") != std::string::npos) {
      json refused = co_await refused_at_gateway(grant_type, "invalid_request", "bad_expires_in",
                                                 "expires_in must be a number of seconds");
      co_return refused;
    }
    request["expires_in"] = std::stoi(text);
  }
  if (form.has("audience")) request["audience"] = form.get("audience");
  if (grant_type == kTokenExchange) {
    std::string requested = form.get("requested_token_type");
    if (!requested.empty() && requested != std::string(kTokenTypePrefix) + "access_token" &&
        requested != std::string(kTokenTypePrefix) + "jwt") {
      json refused = co_await refused_at_gateway(
          grant_type, "invalid_request", "unsupported_token_type",
          "requested_token_type: urn:ietf:params:oauth:token-type:access_token (a task token) or "
          "urn:ietf:params:oauth:token-type:jwt (a JWT access token) is issued");
      co_return refused;
    }
    if (!requested.empty()) request["requested_token_type"] = requested;
    std::string subject = form.get("subject_token");
    std::string subject_type = form.get("subject_token_type");
    std::string actor = form.get("actor_token");
    if (subject.empty() || subject_type.empty()) {
      json refused =
          co_await refused_at_gateway(grant_type, "invalid_request", "no_subject_token",
                                      "subject_token and subject_token_type are required");
      co_return refused;
    }
    if (actor.empty() || form.get("actor_token_type") != std::string(kTokenTypePrefix) + "jwt") {
      json refused = co_await refused_at_gateway(
          grant_type, "invalid_request", "no_actor_token",
          "the agent proves itself: actor_token (its signed assertion or JWT-SVID) with "
          "actor_token_type urn:ietf:params:oauth:token-type:jwt is required");
      co_return refused;
    }
    if (subject_type == std::string(kTokenTypePrefix) + "access_token" &&
        subject.rfind("v4.local.", 0) == 0) {
      request["subject"] = {{"task_token", subject}};
    } else if (subject_type == std::string(kTokenTypePrefix) + "id_token" ||
               subject_type == std::string(kTokenTypePrefix) + "jwt" ||
               subject_type == std::string(kTokenTypePrefix) + "access_token") {
      json verified = co_await verified_jwt(subject);
      request["subject"] = std::move(verified);
    } else {
      json refused = co_await refused_at_gateway(grant_type, "invalid_request",
                                                 "unsupported_subject_token_type",
                                                 "unsupported subject_token_type");
      co_return refused;
    }
    json verified_actor = co_await verified_jwt(actor);
    request["actor"] = std::move(verified_actor);
  } else {
    std::string assertion = form.get("assertion");
    if (assertion.empty()) {
      json refused = co_await refused_at_gateway(grant_type, "invalid_request", "no_assertion",
                                                 "assertion is required");
      co_return refused;
    }
    json verified = co_await verified_jwt(assertion);
    request["assertion"] = std::move(verified);
    // The client authenticates with its own key (RFC 7523 private_key_jwt); without one the
    // database refuses it as invalid_client and audits that.
    if (form.get("client_assertion_type") == kClientAssertionType &&
        !form.get("client_assertion").empty()) {
      std::string client_assertion = form.get("client_assertion");
      json client = co_await verified_jwt(client_assertion);
      request["client"] = std::move(client);
    }
    std::string client_id = form.get("client_id");
    if (client_id.empty() && request.contains("client") && request["client"].contains("claims")) {
      client_id = string_field(request["client"]["claims"], "sub");
    }
    request["client_id"] = client_id;
  }
  json result = co_await store_.exchange_token(request);
  co_return result;
}

awaitable<json> AuthorizationServer::refused_at_gateway(std::string grant_type, std::string error,
                                                        std::string reason,
                                                        std::string description) {
  json request = {{"grant_type", grant_type},
                  {"issuer", issuer_},
                  {"expected_resource", resource()},
                  {"refused", {{"error", error}, {"reason", reason}}}};
  co_await store_.exchange_token(request);
  co_return refusal(error, description);
}

Outcome<DpopProof> AuthorizationServer::verify_resource_proof(const std::string& proof,
                                                              const std::string& method,
                                                              const std::string& access_token) {
  DpopRequest expected;
  expected.method = method;
  expected.url = resource();
  expected.now = now_seconds();
  expected.access_token = access_token;
  return verify_dpop_proof_unrecorded(proof, expected);
}

Outcome<DpopProof> AuthorizationServer::spend_resource_proof(DpopProof proof) {
  return record_dpop_proof(std::move(proof), replay_, now_seconds());
}

}  // namespace warden::oauth
