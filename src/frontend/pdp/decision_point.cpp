#include "frontend/pdp/decision_point.hpp"

#include <openssl/crypto.h>

#include <chrono>

#include "frontend/base/random.hpp"
#include "frontend/net/http_rules.hpp"

namespace warden::pdp {

namespace {

constexpr std::string_view kMetadataPath = "/.well-known/authzen-configuration";
constexpr std::string_view kEvaluation = "/access/v1/evaluation";
constexpr std::string_view kEvaluations = "/access/v1/evaluations";
constexpr std::string_view kExtAuthz = "/ext_authz";

// The AuthZEN HTTPS binding: an error is its status with "an error message string".
HttpResponse error(unsigned status, const std::string& message) {
  return {status, {{"Content-Type", "text/plain; charset=utf-8"}}, message + "\n"};
}

HttpResponse json_response(unsigned status, const json& body) {
  return {status,
          {{"Content-Type", "application/json"}},
          body.dump(-1, ' ', false, json::error_handler_t::replace)};
}

// X-Request-ID is echoed (the spec's request identification) only when it is a short token of
// visible ASCII: it ends up in a response header and in the audit event.
std::optional<std::string> request_id(const HttpRequest& request) {
  std::string id = request.header("x-request-id");
  if (id.empty() || id.size() > 128) return std::nullopt;
  for (unsigned char c : id) {
    if (c < 0x21 || c > 0x7e) return std::nullopt;
  }
  return id;
}

std::string traceparent_for(const std::string& trace_id) {
  if (trace_id.size() != 32) return {};
  return "00-" + trace_id + "-" + mcp::random_hex(8) + "-01";
}

}  // namespace

bool DecisionPoint::pep_authenticated(const std::string& presented) const {
  return !pep_token_.empty() && presented.size() == pep_token_.size() &&
         CRYPTO_memcmp(presented.data(), pep_token_.data(), pep_token_.size()) == 0;
}

awaitable<std::optional<HttpResponse>> DecisionPoint::handle(const HttpRequest& request,
                                                             const std::string& base_url) {
  std::string path = request.target.substr(0, request.target.find('?'));
  if (path == kMetadataPath) {
    if (request.method != "GET") co_return error(405, "GET the metadata");
    // No search endpoints: warden answers evaluations only.
    co_return json_response(
        200, {{"policy_decision_point", base_url},
              {"access_evaluation_endpoint", base_url + std::string(kEvaluation)},
              {"access_evaluations_endpoint", base_url + std::string(kEvaluations)}});
  }
  if (path == kEvaluation || path == kEvaluations) {
    co_return co_await evaluation(request, path == kEvaluations);
  }
  if (path == kExtAuthz || path.rfind(std::string(kExtAuthz) + "/", 0) == 0) {
    co_return co_await ext_authz(request);
  }
  co_return std::nullopt;
}

awaitable<DecisionPoint::Verdict> DecisionPoint::decide(const std::string& token,
                                                        const std::string& server,
                                                        const std::string& tool,
                                                        const json& arguments, json context) {
  auto started = std::chrono::steady_clock::now();
  json decided_arguments = arguments;
  if (std::string refusal = mcp::arguments_refusal(arguments); !refusal.empty()) {
    context["arguments_error"] = std::move(refusal);
    decided_arguments = json::object();
  }
  // DbUnavailable propagates: the whole request fails closed with 500.
  mcp::Decision d;
  try {
    d = co_await decisions_.authorize(token, server, tool, decided_arguments, context);
  } catch (const mcp::DbError& e) {
    metrics_.count_decision("unavailable");
    Verdict failed;
    failed.context = {
        {"error",
         {{"status", 500}, {"message", std::string("warden could not decide: ") + e.what()}}}};
    co_return failed;
  }
  metrics_.decision_latency().observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  metrics_.count_decision(!d.allowed                           ? "denied"
                          : d.reason.rfind("observe:", 0) == 0 ? "observe"
                                                               : "allowed");
  Verdict v;
  v.decision = d.allowed;
  v.context = {{"reason", d.reason}, {"event_id", d.event_id}};
  if (!d.trace_id.empty()) v.context["trace_id"] = d.trace_id;
  if (!d.chain_id.empty()) v.context["chain_id"] = d.chain_id;
  co_return v;
}

awaitable<HttpResponse> DecisionPoint::evaluation(const HttpRequest& request, bool batch) {
  if (request.method != "POST") {
    HttpResponse r = error(405, "POST an evaluation request");
    r.headers.emplace_back("Allow", "POST");
    co_return r;
  }
  // The PEP first: nothing of the body is read for a caller that is not the configured gateway.
  auto presented = mcp::bearer_token(request.header("authorization"));
  if (!presented || !pep_authenticated(*presented)) {
    HttpResponse r =
        error(401, presented ? "the bearer token is not this PDP's PEP token"
                             : "a bearer token is required (Authorization: Bearer <PEP token>)");
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"warden-authzen\"");
    co_return r;
  }
  if (!mcp::is_json_content_type(request.header("content-type"))) {
    co_return error(415, "Content-Type must be application/json");
  }
  if (request.body.size() > kMaxEvaluationBody) {
    co_return error(
        413, "the request body is larger than " + std::to_string(kMaxEvaluationBody) + " bytes");
  }
  json body = mcp::parse_message(request.body);
  if (body.is_discarded()) {
    co_return error(400, "the body is not JSON (or nests deeper than 128 levels)");
  }
  auto id = request_id(request);
  json base_context = {{"transport", "authzen"}};
  if (id) base_context["request_id"] = *id;
  auto with_id = [&id](HttpResponse r) {
    if (id) r.headers.emplace_back("X-Request-ID", *id);
    return r;
  };
  Evaluations evaluations;
  try {
    if (batch) {
      evaluations = parse_evaluations(body);
    } else {
      evaluations.single = true;
      evaluations.items.emplace_back(parse_evaluation(body));
    }
  } catch (const RequestError& e) {
    co_return with_id(error(400, e.what()));
  }
  json answers = json::array();
  try {
    for (const Evaluation& item : evaluations.items) {
      Verdict v;
      if (const auto* bad = std::get_if<EvaluationError>(&item)) {
        v.context = {{"error", {{"status", bad->status}, {"message", bad->message}}}};
      } else {
        const ToolCall& call = std::get<ToolCall>(item);
        json context = base_context;
        // Nested: the PEP's context is recorded, never read as warden.authorize's own keys.
        if (!call.pep_context.empty()) context["authzen"] = call.pep_context;
        v = co_await decide(call.token, call.server, call.tool, call.arguments, std::move(context));
      }
      json answer = {{"decision", v.decision}, {"context", std::move(v.context)}};
      answers.push_back(std::move(answer));
      if (evaluations.semantic == Semantic::kDenyOnFirstDeny && !v.decision) break;
      if (evaluations.semantic == Semantic::kPermitOnFirstPermit && v.decision) break;
    }
  } catch (const mcp::DbUnavailable& e) {
    metrics_.count_decision("unavailable");
    co_return with_id(error(500, std::string("warden decision service unavailable: ") + e.what()));
  }
  if (evaluations.single) co_return with_id(json_response(200, answers.at(0)));
  co_return with_id(json_response(200, {{"evaluations", std::move(answers)}}));
}

awaitable<HttpResponse> DecisionPoint::ext_authz(const HttpRequest& request) {
  if (!pep_authenticated(request.header("x-warden-pep-token"))) {
    co_return error(401, "X-Warden-PEP-Token must be this PDP's PEP token");
  }
  auto check = ext_authz_check(request.method, request.body);
  if (auto* deny = std::get_if<ExtAuthzDeny>(&check)) {
    co_return json_response(
        403, mcp::rpc_error(nullptr, mcp::rpc_code::kInvalidRequest, "warden: " + deny->message));
  }
  if (std::holds_alternative<ExtAuthzAllow>(check)) co_return HttpResponse{200, {}, ""};
  const auto& call = std::get<ExtAuthzDecide>(check);
  json message = mcp::parse_message(request.body);
  json rpc_id = message.contains("id") ? message["id"] : json(nullptr);
  // A local, not a temporary, across the co_await (GCC 12).
  std::string token = mcp::bearer_token(request.header("authorization")).value_or("");
  json context = {{"transport", "ext_authz"}};
  if (auto id = request_id(request)) context["request_id"] = *id;
  Verdict v;
  try {
    v = co_await decide(token, call.server, call.tool, call.arguments, std::move(context));
  } catch (const mcp::DbUnavailable& e) {
    metrics_.count_decision("unavailable");
    co_return json_response(
        503, mcp::rpc_error(rpc_id, mcp::rpc_code::kDecisionUnavailable,
                            std::string("warden decision service unavailable: ") + e.what()));
  }
  if (!v.decision) {
    std::string reason = v.context.value("reason", std::string("error"));
    co_return json_response(
        403, mcp::rpc_error(rpc_id, mcp::rpc_code::kDenied,
                            "warden denied " + call.server + "__" + call.tool + ": " + reason,
                            v.context));
  }
  // Envoy passes these upstream when listed in allowed_upstream_headers: the call carries the
  // chain's trace and the decision it was allowed by.
  HttpResponse allowed{200, {}, ""};
  std::string traceparent = traceparent_for(v.context.value("trace_id", std::string()));
  if (!traceparent.empty()) allowed.headers.emplace_back("traceparent", traceparent);
  allowed.headers.emplace_back("x-warden-event-id", v.context.value("event_id", std::string()));
  co_return allowed;
}

}  // namespace warden::pdp
