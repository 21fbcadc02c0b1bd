#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "frontend/mcp/json_rpc.hpp"

namespace warden::mcp {

// MCP 2026-07-28 (SEP-2243): a tool's inputSchema may mark primitive properties with
// "x-mcp-header": NAME; on Streamable HTTP the argument then travels as an `Mcp-Param-NAME`
// header as well, so that proxies and load balancers can route on it without reading the body.
// The server must check the two agree. warden-mcp is that server for its agents (a request
// whose headers and body disagree is refused before anything is decided: a balancer may have
// routed it by the header while warden would decide on the body), and a client of its
// upstreams (it sends the headers the upstream's schema asks for). Socket-free: unit-tested
// and fuzzed.

// One marked property: where it is in the arguments (a chain of "properties" keys), the header
// name after "Mcp-Param-", and its JSON Schema type (string, integer or boolean).
struct ParamHeader {
  std::vector<std::string> path;
  std::string name;
  std::string type;
};

// The declarations of a tool's inputSchema: empty when it marks nothing; nullopt when a mark is
// invalid (not a non-empty RFC 9110 token, not on a primitive property reachable by
// "properties" alone, or not unique ignoring case) — a conforming client leaves such a tool out.
std::optional<std::vector<ParamHeader>> param_header_declarations(const json& input_schema);

// A header value as SEP-2243 writes it: plain visible ASCII as it is; anything else (non-ASCII,
// control characters, leading or trailing whitespace, or text that looks like the wrapper) as
// "=?base64?" + Base64(UTF-8) + "?=".
std::string encode_header_value(std::string_view text);
// The text a header value stands for; nullopt when it has the wrapper but not canonical Base64
// of UTF-8, or has no wrapper and holds anything but visible ASCII.
std::optional<std::string> decode_header_value(std::string_view value);

// The first disagreement between a request's Mcp-Param-* headers and its arguments, as a
// message for a 400 / -32020 answer; nullopt when they agree. `header` looks a header up by its
// lowercased name ("mcp-param-region"); absent: nullopt. A null or absent argument expects no
// header (one sent anyway is ignored).
std::optional<std::string> param_header_mismatch(
    const std::vector<ParamHeader>& declarations, const json& arguments,
    const std::function<std::optional<std::string>(const std::string&)>& header);

// The headers to send with a call of such a tool: ("Mcp-Param-NAME", value) for each marked
// argument that has a value.
std::vector<std::pair<std::string, std::string>> param_headers_for(
    const std::vector<ParamHeader>& declarations, const json& arguments);

}  // namespace warden::mcp
