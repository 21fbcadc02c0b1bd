#include "frontend/ssf/shared_signals.hpp"

#include <openssl/crypto.h>

#include <iostream>

#include "frontend/net/http_rules.hpp"
#include "frontend/oauth/form.hpp"
#include "frontend/oauth/jws.hpp"
#include "frontend/ssf/set_signature.hpp"

namespace warden::ssf {

namespace {

constexpr std::string_view kStreams = "/ssf/streams";
constexpr std::string_view kStatus = "/ssf/status";
constexpr std::string_view kVerify = "/ssf/verify";
// A SET is small; anything bigger is refused before it is decoded.
constexpr std::size_t kMaxSetBytes = oauth::kMaxJwsSize;

HttpResponse json_response(unsigned status, const json& body) {
  return {status,
          {{"Content-Type", "application/json"}, {"Cache-Control", "no-store"}},
          body.dump(-1, ' ', false, json::error_handler_t::replace)};
}

// SSF stream management errors: a status and a short reason (no body format is specified).
HttpResponse management_error(unsigned status, const std::string& message) {
  return json_response(status, {{"error", message}});
}

std::string stream_id_of(const HttpRequest& request, const json* body) {
  if (body && body->is_object() && body->contains("stream_id") &&
      (*body)["stream_id"].is_string()) {
    return (*body)["stream_id"].get<std::string>();
  }
  auto query = oauth::FormFields::parse(oauth::query_of(request.target));
  return query ? query->get("stream_id") : std::string();
}

bool is_uuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

std::string media_type(const std::string& content_type) {
  std::string t = content_type.substr(0, content_type.find(';'));
  while (!t.empty() && t.back() == ' ') t.pop_back();
  for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return t;
}

}  // namespace

HttpResponse set_error(const std::string& err, const std::string& description) {
  return json_response(400, {{"err", err}, {"description", description}});
}

bool SharedSignals::authenticated(const HttpRequest& request) const {
  auto presented = mcp::bearer_token(request.header("authorization"));
  return !management_token_.empty() && presented && presented->size() == management_token_.size() &&
         CRYPTO_memcmp(presented->data(), management_token_.data(), management_token_.size()) == 0;
}

awaitable<json> SharedSignals::call(const std::string& sql, const std::vector<mcp::Param>& params) {
  auto rows = co_await pool_.query(sql, params);
  if (rows.empty() || !rows.front()[0]) co_return json();
  co_return json::parse(*rows.front()[0], nullptr, false);
}

awaitable<std::optional<HttpResponse>> SharedSignals::handle(const HttpRequest& request,
                                                             const std::string& base_url) {
  const std::string path = request.target.substr(0, request.target.find('?'));
  if (path == kConfigurationPath) {
    if (request.method != "GET") co_return management_error(405, "GET the configuration");
    json config = {{"spec_version", "1_0"},
                   {"issuer", base_url},
                   {"jwks_uri", base_url + "/.well-known/jwks.json"},
                   {"delivery_methods_supported", json::array({"urn:ietf:rfc:8935"})},
                   {"critical_subject_members", json::array()},
                   {"default_subjects", "ALL"}};
    if (!management_token_.empty()) {
      config["configuration_endpoint"] = base_url + std::string(kStreams);
      config["status_endpoint"] = base_url + std::string(kStatus);
      config["verification_endpoint"] = base_url + std::string(kVerify);
      config["authorization_schemes"] = json::array({{{"spec_urn", "urn:ietf:rfc:6750"}}});
    }
    co_return json_response(200, config);
  }
  if (path == "/.well-known/jwks.json" && request.method == "GET") {
    // The keys SETs are signed with (served by the authorization server too, with --issuer).
    try {
      std::vector<mcp::Param> no_params{};
      json keys = co_await call("SELECT warden.public_keys()::text", no_params);
      json body = {{"keys", keys.is_object() ? keys.value("keys", json::array()) : json::array()}};
      co_return json_response(200, body);
    } catch (const std::exception&) {
      co_return management_error(503, "database unreachable");
    }
  }
  if (path == kReceivePath && receive_) co_return co_await receive(request);
  if (path != kStreams && path != kStatus && path != kVerify) co_return std::nullopt;
  if (management_token_.empty()) co_return std::nullopt;
  if (!authenticated(request)) {
    HttpResponse r = management_error(401, "stream management needs the SSF bearer token");
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"ssf\"");
    co_return r;
  }
  try {
    if (path == kStreams) co_return co_await streams(request, base_url);
    if (path == kStatus) co_return co_await status(request);
    co_return co_await verify(request);
  } catch (const mcp::DbError& e) {
    if (e.sqlstate() == "22023" || e.sqlstate() == "22004")
      co_return management_error(400, e.what());
    std::cerr << "warden-mcp: ssf: " << e.what() << "\n";
    co_return management_error(500, "the database refused the request");
  } catch (const mcp::DbUnavailable&) {
    co_return management_error(503, "database unreachable");
  }
}

awaitable<HttpResponse> SharedSignals::streams(const HttpRequest& request,
                                               const std::string& base_url) {
  if (request.method == "POST") {
    json body = json::parse(request.body, nullptr, false);
    if (!body.is_object()) co_return management_error(400, "the body must be a JSON object");
    std::vector<mcp::Param> config_and_issuer{body.dump(), base_url};
    json created =
        co_await call("SELECT warden.ssf_create_stream($1::jsonb, $2)::text", config_and_issuer);
    co_return json_response(201, created);
  }
  if (request.method == "PATCH" || request.method == "PUT")
    co_return co_await update_stream(request);
  const std::string id = stream_id_of(request, nullptr);
  if (!id.empty() && !is_uuid(id)) co_return management_error(404, "no such stream");
  if (request.method == "GET") {
    mcp::Param param = id.empty() ? mcp::Param() : mcp::Param(id);
    std::vector<mcp::Param> stream{param};
    json found = co_await call("SELECT warden.ssf_stream($1::uuid)::text", stream);
    if (found.is_null()) co_return management_error(404, "no such stream");
    co_return json_response(200, found);
  }
  if (request.method == "DELETE") {
    if (id.empty()) co_return management_error(400, "DELETE needs ?stream_id=");
    std::vector<mcp::Param> stream{id};
    json deleted = co_await call("SELECT warden.ssf_delete_stream($1::uuid)::text", stream);
    if (deleted != true) co_return management_error(404, "no such stream");
    co_return HttpResponse{204, {}, ""};
  }
  HttpResponse r = management_error(405, "GET, POST, PATCH, PUT or DELETE a stream");
  r.headers.emplace_back("Allow", "GET, POST, PATCH, PUT, DELETE");
  co_return r;
}

awaitable<HttpResponse> SharedSignals::update_stream(const HttpRequest& request) {
  // SSF 1.0: the body is the stream configuration with its stream_id; PATCH changes the
  // properties it has, PUT replaces them all. 200 with the whole new configuration.
  json body = json::parse(request.body, nullptr, false);
  if (!body.is_object()) co_return management_error(400, "the body must be a JSON object");
  if (!body.contains("stream_id")) {
    co_return management_error(400, request.method + " needs the stream_id in the body");
  }
  const std::string id = stream_id_of(request, &body);
  if (!is_uuid(id)) co_return management_error(404, "no such stream");
  std::vector<mcp::Param> stream_and_config{id, body.dump(),
                                            request.method == "PUT" ? "true" : "false"};
  json updated = co_await call(
      "SELECT warden.ssf_update_stream($1::uuid, $2::jsonb, $3::boolean)::text", stream_and_config);
  if (updated.is_null()) co_return management_error(404, "no such stream");
  co_return json_response(200, updated);
}

awaitable<HttpResponse> SharedSignals::status(const HttpRequest& request) {
  json body;
  if (request.method == "POST") {
    body = json::parse(request.body, nullptr, false);
    if (!body.is_object() || !body.contains("status") || !body["status"].is_string()) {
      co_return management_error(400, "POST {\"stream_id\", \"status\", \"reason\"?}");
    }
  } else if (request.method != "GET") {
    co_return management_error(405, "GET or POST the status");
  }
  const std::string id = stream_id_of(request, request.method == "POST" ? &body : nullptr);
  if (!is_uuid(id)) co_return management_error(404, "no such stream");
  mcp::Param new_status, reason;
  if (body.is_object()) {
    new_status = body["status"].get<std::string>();
    if (body.contains("reason") && body["reason"].is_string())
      reason = body["reason"].get<std::string>();
  }
  std::vector<mcp::Param> stream_and_status{id, new_status, reason};
  json answer =
      co_await call("SELECT warden.ssf_stream_status($1::uuid, $2, $3)::text", stream_and_status);
  if (answer.is_null()) co_return management_error(404, "no such stream");
  co_return json_response(200, answer);
}

awaitable<HttpResponse> SharedSignals::verify(const HttpRequest& request) {
  if (request.method != "POST") co_return management_error(405, "POST a verification request");
  json body = json::parse(request.body, nullptr, false);
  if (!body.is_object()) co_return management_error(400, "the body must be a JSON object");
  const std::string id = stream_id_of(request, &body);
  if (!is_uuid(id)) co_return management_error(404, "no such stream");
  mcp::Param state;
  if (body.contains("state") && body["state"].is_string()) state = body["state"].get<std::string>();
  std::vector<mcp::Param> stream_and_state{id, state};
  json found = co_await call("SELECT warden.ssf_verify($1::uuid, $2)::text", stream_and_state);
  if (found != true) co_return management_error(404, "no such stream");
  co_return HttpResponse{204, {}, ""};
}

awaitable<HttpResponse> SharedSignals::refuse(const HttpRequest& request, const std::string& err,
                                              const std::string& description,
                                              const std::string& iss, const json& claims) {
  if (!refusals_.try_refuse(request.peer_address)) {
    // Past this address's bucket: answered without a database write, counted in /metrics.
    metrics_.count_ssf_refusal_limited();
    HttpResponse r = json_response(
        429, {{"err", err},
              {"description", "too many refused SETs from this address; send again later"}});
    r.headers.emplace_back("Retry-After",
                           std::to_string(refusals_.retry_after(request.peer_address)));
    co_return r;
  }
  // Audited in the database (warden.receive_security_event with the refusal), then answered;
  // the row also counts this address's refusals answered 429 since its last audited one.
  json refusal = {{"err", err}, {"description", description}};
  if (const auto suppressed = refusals_.take_suppressed(request.peer_address); suppressed > 0) {
    refusal["suppressed"] = suppressed;
  }
  mcp::Param issuer = iss.empty() ? mcp::Param() : mcp::Param(iss);
  std::vector<mcp::Param> refused{issuer, claims.is_object() ? claims.dump() : std::string("{}"),
                                  refusal.dump()};
  json answer = co_await call(
      "SELECT warden.receive_security_event($1, $2::jsonb, $3::jsonb)::text", refused);
  if (!answer.is_object() || !answer.contains("err")) answer = refusal;
  co_return set_error(answer.value("err", err), answer.value("description", description));
}

awaitable<json> SharedSignals::refetched_keys(const std::string& iss, const json& cached,
                                              bool& limited) {
  const std::string name = cached.contains("idp") && cached["idp"].is_string()
                               ? cached["idp"].get<std::string>()
                               : std::string();
  // Only for an accepted issuer (cached is its row), and at most once a minute per issuer: a
  // flood of made-up kids costs the provider one fetch a minute.
  if (name.empty()) co_return json();
  if (!key_refresh_.try_acquire(iss)) {
    limited = true;
    co_return json();
  }
  oauth::IdpResult discovered = co_await idp_.discover(name);
  if (!discovered.ok()) {
    std::cerr << "warden-mcp: ssf receive: fetching the keys of " << name
              << " again failed: " << discovered.error << "\n";
    co_return json();
  }
  std::vector<mcp::Param> issuer{iss};
  co_return co_await call("SELECT warden.ssf_issuer_keys($1)::text", issuer);
}

awaitable<HttpResponse> SharedSignals::receive(const HttpRequest& request) {
  if (request.method != "POST") {
    HttpResponse r = management_error(405, "POST a Security Event Token (RFC 8935)");
    r.headers.emplace_back("Allow", "POST");
    co_return r;
  }
  try {
    if (request.body.size() > kMaxSetBytes) {
      co_return co_await refuse(request, "invalid_request", "the SET is larger than 32 KiB", "",
                                json());
    }
    if (media_type(request.header("content-type")) != "application/secevent+jwt") {
      co_return co_await refuse(request, "invalid_request",
                                "Content-Type must be application/secevent+jwt", "", json());
    }
    std::string compact = request.body;
    while (!compact.empty() && (compact.back() == '\n' || compact.back() == '\r'))
      compact.pop_back();
    auto parsed = oauth::parse_jws(compact);
    if (!parsed) {
      const bool alg = parsed.error() == oauth::OAuthError::alg_not_allowed;
      co_return co_await refuse(request, alg ? "invalid_key" : "invalid_request",
                                alg ? "the SET's alg is not an asymmetric signature algorithm"
                                    : "the body is not a compact JWS",
                                "", json());
    }
    const oauth::Jws& jws = parsed.value();
    const json& claims = jws.payload;
    const std::string iss =
        claims.contains("iss") && claims["iss"].is_string() ? claims["iss"].get<std::string>() : "";
    if (iss.empty() || iss.size() > 2048) {
      co_return co_await refuse(request, "invalid_issuer", "the SET has no iss", "", claims);
    }
    const std::string typ = jws.header.contains("typ") && jws.header["typ"].is_string()
                                ? jws.header["typ"].get<std::string>()
                                : std::string();
    if (typ != "secevent+jwt" && typ != "application/secevent+jwt") {
      co_return co_await refuse(request, "invalid_request", "the SET's typ must be secevent+jwt",
                                iss, claims);
    }
    std::vector<mcp::Param> issuer{iss};
    json keys = co_await call("SELECT warden.ssf_issuer_keys($1)::text", issuer);
    if (!keys.is_object() || !keys.contains("keys") || !keys["keys"].is_array()) {
      co_return co_await refuse(request, "invalid_issuer", "SETs from this issuer are not accepted",
                                iss, claims);
    }
    KeyMatch match = match_set_key(jws, keys);
    bool refetch_limited = false;
    if (should_refetch_keys(jws, match)) {
      // The provider may have rotated its keys since they were fetched.
      json fresh = co_await refetched_keys(iss, keys, refetch_limited);
      if (!fresh.is_null()) match = match_set_key(jws, fresh);
    }
    if (!match.verified && !match.kid_known && refetch_limited) {
      // The keys were fetched again moments ago (perhaps for someone sending made-up kids):
      // a provider that has just rotated is asked to send again, not refused for good (RFC 8935
      // transmitters do not retry a 400). Nothing is audited: nothing was verified or refused.
      HttpResponse r = management_error(503, "the issuer's keys are being refreshed; send again");
      r.headers.emplace_back("Retry-After", "60");
      co_return r;
    }
    if (!match.verified) {
      co_return co_await refuse(request, "invalid_key",
                                match.kid_known
                                    ? "the SET's signature does not verify with the issuer's key"
                                    : "the SET's kid is not one of the issuer's keys",
                                iss, claims);
    }
    std::vector<mcp::Param> issuer_and_claims{iss, claims.dump()};
    json answer =
        co_await call("SELECT warden.receive_security_event($1, $2::jsonb, NULL::jsonb)::text",
                      issuer_and_claims);
    if (answer.is_object() && answer.contains("err")) {
      co_return set_error(answer.value("err", "invalid_request"), answer.value("description", ""));
    }
    co_return HttpResponse{202, {}, ""};
  } catch (const mcp::DbError& e) {
    std::cerr << "warden-mcp: ssf receive: " << e.what() << "\n";
    co_return management_error(500, "the SET could not be processed; send it again");
  } catch (const mcp::DbUnavailable&) {
    co_return management_error(503, "database unreachable; send the SET again");
  }
}

}  // namespace warden::ssf
