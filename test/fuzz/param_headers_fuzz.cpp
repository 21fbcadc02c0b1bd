// SEP-2243 Mcp-Param-* headers (src/frontend/net/param_headers.*): the header values and tool
// schemas warden-mcp reads come from agents and upstreams.
// Input: three fields separated by NUL bytes: a header value, a tool inputSchema (JSON) and
// arguments (JSON). Besides crashes, it checks the promises: a value that decodes encodes back
// to a header that decodes to the same text; encoded values are visible ASCII; and the headers
// warden-mcp sends for some arguments are always accepted by its own check of them.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "frontend/net/param_headers.hpp"

namespace {

using namespace warden::mcp;

void require(bool condition) {
  if (!condition) std::abort();
}

std::vector<std::string_view> fields(std::string_view input) {
  std::vector<std::string_view> out;
  while (out.size() < 2) {
    auto at = input.find('\0');
    if (at == std::string_view::npos) break;
    out.push_back(input.substr(0, at));
    input.remove_prefix(at + 1);
  }
  out.push_back(input);
  while (out.size() < 3) out.emplace_back();
  return out;
}

std::string lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto f = fields(std::string_view(reinterpret_cast<const char*>(data), size));

  if (auto text = decode_header_value(f[0])) {
    std::string again = encode_header_value(*text);
    for (char c : again) require(c >= 0x20 && c <= 0x7e);
    auto back = decode_header_value(again);
    require(back && *back == *text);
  }

  json schema = json::parse(f[1], nullptr, false);
  json arguments = json::parse(f[2], nullptr, false);
  if (schema.is_discarded() || arguments.is_discarded()) return 0;
  auto declarations = param_header_declarations(schema);
  if (!declarations) return 0;
  std::map<std::string, std::string> sent;
  for (const auto& [name, value] : param_headers_for(*declarations, arguments)) {
    for (char c : value) require(c >= 0x20 && c <= 0x7e);
    sent[lower(name)] = value;
  }
  auto mismatch = param_header_mismatch(
      *declarations, arguments, [&sent](const std::string& name) -> std::optional<std::string> {
        auto it = sent.find(name);
        if (it == sent.end()) return std::nullopt;
        return it->second;
      });
  require(!mismatch);
  return 0;
}
