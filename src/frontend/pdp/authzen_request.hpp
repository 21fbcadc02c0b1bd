#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace warden::pdp {

using json = nlohmann::json;

// How warden reads an AuthZEN 1.0 Access Evaluation (the Authorization API) and an Envoy
// ext_authz check. Pure: no sockets, no database; the decision itself is warden.authorize's.
//
//   subject  {"type": any, "id": "<warden task token>"}
//   action   {"name": "tools/call"}
//   resource {"type": "tool", "id": "<server>/<tool>"}
//   context  {"arguments": {...}, ...}   (arguments: the call's; the rest is recorded only)

inline constexpr std::size_t kMaxEvaluationBody = 1024 * 1024;  // bytes, one request
inline constexpr std::size_t kMaxEvaluations = 64;              // per /evaluations request
inline constexpr std::string_view kAction = "tools/call";
inline constexpr std::string_view kResourceType = "tool";

// A payload-level error: the HTTP status (400) and a message the PEP's operator can act on.
struct RequestError : std::runtime_error {
  explicit RequestError(const std::string& message) : std::runtime_error(message) {}
};

// One evaluation, as warden.authorize takes it.
struct ToolCall {
  std::string token;   // subject.id
  std::string server;  // resource.id before the first '/'
  std::string tool;    // resource.id after it
  json arguments = json::object();
  // The PEP's context without "arguments": recorded with the decision, never interpreted
  // (it is nested, so it can never set a key warden.authorize reads).
  json pep_context = json::object();
};

// An evaluation of a batch that cannot be decided: answered as a denial with this error.
struct EvaluationError {
  unsigned status = 400;
  std::string message;
};

using Evaluation = std::variant<ToolCall, EvaluationError>;

enum class Semantic { kExecuteAll, kDenyOnFirstDeny, kPermitOnFirstPermit };

struct Evaluations {
  std::vector<Evaluation> items;
  Semantic semantic = Semantic::kExecuteAll;
  // No (or an empty) "evaluations" array: the request is a single evaluation and is answered
  // as one ({"decision": ...}), as the spec's backwards-compatible rule says.
  bool single = false;
};

// POST /access/v1/evaluation. Throws RequestError.
ToolCall parse_evaluation(const json& body);
// POST /access/v1/evaluations: the top-level subject, action, resource and context are the
// defaults of each item (an item's own key wins, whole). Throws RequestError for the payload
// (not an object, evaluations not an array, more than kMaxEvaluations, an unknown semantic);
// an item that cannot be read becomes an EvaluationError.
Evaluations parse_evaluations(const json& body);
const char* to_string(Semantic semantic);

// Envoy ext_authz (HTTP service): the MCP request Envoy holds. tools/call and prompts/get are
// decided; session set-up, lists, notifications, responses and GET/DELETE without a body are let
// through; everything else is denied (default deny), as is a key that shadows a JSON-RPC member
// or name/arguments by case (mcp::has_shadowing_key).
struct ExtAuthzAllow {};
struct ExtAuthzDeny {
  std::string message;
};
struct ExtAuthzDecide {
  std::string server, tool;
  json arguments = json::object();
};
using ExtAuthzCheck = std::variant<ExtAuthzAllow, ExtAuthzDeny, ExtAuthzDecide>;
// method: the original request's method; body: its body (empty when Envoy sent none). A body
// that is not one JSON-RPC message (not JSON, a batch) is denied: a batch could carry a call
// past the check.
ExtAuthzCheck ext_authz_check(const std::string& method, const std::string& body);

}  // namespace warden::pdp
