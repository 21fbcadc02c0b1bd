#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/json_values.hpp"

namespace warden::mcp {

using json = nlohmann::json;

// JSON-RPC 2.0 codes, plus the implementation-defined server errors (-32000..-32099) that
// warden-mcp uses. Every refusal by warden is a JSON-RPC error (tools/call, resources/read and
// prompts/get alike) so that clients see one shape; data.reason carries the decision reason.
namespace rpc_code {
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;
inline constexpr int kDecisionUnavailable = -32000;  // database unreachable: fail closed
inline constexpr int kDenied = -32001;               // warden.authorize said no
inline constexpr int kUpstreamFailed = -32010;       // upstream unreachable or broken
inline constexpr int kHeaderMismatch = -32020;       // Mcp-Method/Mcp-Name disagree with the body
inline constexpr int kRequestCancelled = -32800;     // the agent cancelled (or disconnected)
}  // namespace rpc_code

enum class MessageKind { kRequest, kNotification, kResponse, kInvalid };

// Deepest nesting accepted in a message from an agent or an upstream: code that walks a value
// (copying, comparing, dumping) recurses, so a body of a million '[' would exhaust the stack.
inline constexpr std::size_t kMaxMessageDepth = 128;

// Parses one incoming message; a discarded value (is_discarded()) when the text is not JSON or
// is nested deeper than kMaxMessageDepth. Never throws.
json parse_message(std::string_view text);

// True when an object has a key that is not one of `known` but folds to one of them: ASCII
// case, and the two non-ASCII letters that some JSON decoders fold to ASCII (U+017F to "s",
// U+212A to "k"; Go's encoding/json matches keys that way). warden reads "arguments" while
// such an upstream may read "Arguments" or "argumentſ": the call decided would not be
// the call made, so a message with such a key is refused.
bool has_shadowing_key(const json& object, std::initializer_list<std::string_view> known);

// True when some object in `value`, at any depth, has two keys that fold (as above) to the same
// text: {"filePath": "/srv/public/a", "filepath": "/etc/passwd"}. A grant's constraint reads the
// exact key while an upstream that folds keys may read the other, so such arguments are denied.
bool has_folding_keys(const json& value);

// Why a call's arguments cannot be decided as they are (they hold U+0000, or keys that fold
// together); empty when they can. The call is then decided with no arguments and this as the
// context's arguments_error: denied (invalid_arguments) and audited, never sent.
std::string arguments_refusal(const json& arguments);

// A member of JSON another party wrote (an agent or an upstream): its value when `object` is an
// object holding `key` with that type, else `fallback`. (nlohmann's value() throws when the
// member has another type, which must not end the handling of a call.)
std::string string_member(const json& object, const char* key, std::string fallback = "");
bool bool_member(const json& object, const char* key, bool fallback = false);

// holds_nul (core/json_values.hpp): arguments holding U+0000 cannot be passed to a decision as
// they are (jsonb cannot hold it), yet the call must still be decided (denied) and audited.
// The same value with every U+0000 (in strings and keys) replaced by U+FFFD: for what must be
// stored whatever it holds, such as an upstream's error message in a call's outcome.
void replace_nul(json& value);

// Classifies one decoded JSON-RPC message (not a batch).
MessageKind classify(const json& message);

json rpc_error(const json& id, int code, std::string_view message, const json& data = nullptr);
json rpc_result(const json& id, json result);
// The agent's response for an upstream's answer ({"result": …} or {"error": …}) to request id.
json reply_from_answer(const json& id, const json& answer);

}  // namespace warden::mcp
