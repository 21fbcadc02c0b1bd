// SEP-2243 Mcp-Param-* headers: which tool schema marks are valid, how values are written and
// read, and when a request's headers disagree with its arguments.
#include "frontend/net/param_headers.hpp"

#include <gtest/gtest.h>

#include <map>

namespace warden::mcp {
namespace {

json schema(json properties) {
  return {{"type", "object"}, {"properties", std::move(properties)}};
}

std::optional<std::string> mismatch(const json& input_schema, const json& arguments,
                                    const std::map<std::string, std::string>& headers) {
  auto declarations = param_header_declarations(input_schema);
  EXPECT_TRUE(declarations);
  return param_header_mismatch(*declarations, arguments,
                               [&](const std::string& name) -> std::optional<std::string> {
                                 auto it = headers.find(name);
                                 if (it == headers.end()) return std::nullopt;
                                 return it->second;
                               });
}

const json kRegion = schema({{"region", {{"type", "string"}, {"x-mcp-header", "Region"}}},
                             {"priority", {{"type", "integer"}, {"x-mcp-header", "Priority"}}},
                             {"query", {{"type", "string"}}}});

TEST(ParamHeaders, ValidAndInvalidMarks) {
  auto ok = param_header_declarations(kRegion);
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->size(), 2u);
  auto nested = param_header_declarations(
      schema({{"a",
               {{"type", "object"},
                {"properties", {{"b", {{"type", "boolean"}, {"x-mcp-header", "B"}}}}}}}}));
  ASSERT_TRUE(nested);
  EXPECT_EQ((*nested)[0].path, (std::vector<std::string>{"a", "b"}));
  // Not a token, not primitive, a number, duplicated ignoring case, under items or oneOf.
  EXPECT_FALSE(param_header_declarations(
      schema({{"v", {{"type", "string"}, {"x-mcp-header", "My Region"}}}})));
  EXPECT_FALSE(
      param_header_declarations(schema({{"v", {{"type", "string"}, {"x-mcp-header", ""}}}})));
  EXPECT_FALSE(
      param_header_declarations(schema({{"v", {{"type", "object"}, {"x-mcp-header", "V"}}}})));
  EXPECT_FALSE(
      param_header_declarations(schema({{"v", {{"type", "number"}, {"x-mcp-header", "V"}}}})));
  EXPECT_FALSE(param_header_declarations(
      schema({{"a", {{"type", "string"}, {"x-mcp-header", "MyField"}}},
              {"b", {{"type", "string"}, {"x-mcp-header", "myfield"}}}})));
  EXPECT_FALSE(param_header_declarations(
      {{"type", "object"},
       {"properties",
        {{"list", {{"type", "array"}, {"items", {{"type", "string"}, {"x-mcp-header", "I"}}}}}}}}));
  EXPECT_FALSE(param_header_declarations(
      {{"oneOf", json::array({schema({{"v", {{"type", "string"}, {"x-mcp-header", "V"}}}})})}}));
  EXPECT_TRUE(param_header_declarations(schema({{"q", {{"type", "string"}}}}))->empty());
}

TEST(ParamHeaders, ValuesAreWrappedWhenNotPlain) {
  EXPECT_EQ(encode_header_value("us-west1"), "us-west1");
  EXPECT_EQ(encode_header_value("Hello"), "Hello");
  EXPECT_EQ(encode_header_value(" padded "), "=?base64?IHBhZGRlZCA=?=");
  EXPECT_EQ(encode_header_value("caf\xc3\xa9"), "=?base64?Y2Fmw6k=?=");
  EXPECT_EQ(encode_header_value("a\r\nb"), "=?base64?YQ0KYg==?=");
  EXPECT_EQ(encode_header_value("=?base64?x"), "=?base64?PT9iYXNlNjQ/eA==?=");
  EXPECT_EQ(decode_header_value("=?base64?SGVsbG8=?="), "Hello");
  EXPECT_EQ(decode_header_value("SGVsbG8="), "SGVsbG8=");                    // no wrapper: literal
  EXPECT_EQ(decode_header_value("=?base64?SGVsbG8="), "=?base64?SGVsbG8=");  // half a wrapper
  EXPECT_FALSE(decode_header_value("=?base64?SGVsbG8?="));                   // bad padding
  EXPECT_FALSE(decode_header_value("=?base64?SGVs!!!bG8=?="));               // not the alphabet
  EXPECT_FALSE(decode_header_value("=?base64?SGVsbG9=?="));                  // bits past the data
  EXPECT_FALSE(decode_header_value("=?base64?/w==?="));                      // not UTF-8
  EXPECT_FALSE(decode_header_value("caf\xc3\xa9"));  // raw bytes past ASCII, not wrapped
}

TEST(ParamHeaders, HeadersMustAgreeWithTheBody) {
  json args = {{"region", "eu"}, {"priority", 3}, {"query", "x"}};
  EXPECT_FALSE(mismatch(kRegion, args, {{"mcp-param-region", "eu"}, {"mcp-param-priority", "3"}}));
  EXPECT_FALSE(mismatch(kRegion, args,
                        {{"mcp-param-region", "=?base64?ZXU=?="}, {"mcp-param-priority", "3.0"}}));
  EXPECT_TRUE(mismatch(kRegion, args, {{"mcp-param-priority", "3"}}));  // missing
  EXPECT_TRUE(mismatch(kRegion, args, {{"mcp-param-region", "us"}, {"mcp-param-priority", "3"}}));
  EXPECT_TRUE(mismatch(kRegion, args, {{"mcp-param-region", "eu"}, {"mcp-param-priority", "0x3"}}));
  EXPECT_TRUE(mismatch(kRegion, args,
                       {{"mcp-param-region", "=?base64?ZXU?="}, {"mcp-param-priority", "3"}}));
  // Integers are compared exactly, never through a double.
  const json big = schema({{"n", {{"type", "integer"}, {"x-mcp-header", "N"}}}});
  EXPECT_TRUE(mismatch(big, {{"n", 9007199254740993LL}}, {{"mcp-param-n", "9007199254740992"}}));
  EXPECT_FALSE(mismatch(big, {{"n", 9007199254740993LL}}, {{"mcp-param-n", "9007199254740993"}}));
  EXPECT_TRUE(mismatch(big, {{"n", 1}}, {{"mcp-param-n", "1.0000000000000001"}}));
  // Null or absent in the body: no header expected, one sent is ignored.
  EXPECT_FALSE(mismatch(kRegion, {{"region", nullptr}}, {{"mcp-param-region", "anything"}}));
  EXPECT_FALSE(mismatch(kRegion, json::object(), {}));
}

TEST(ParamHeaders, WhatWardenSendsItsOwnCheckAccepts) {
  json args = {{"region", " caf\xc3\xa9 "}, {"priority", 7}, {"query", "not mirrored"}};
  auto declarations = *param_header_declarations(kRegion);
  auto sent = param_headers_for(declarations, args);
  ASSERT_EQ(sent.size(), 2u);
  std::map<std::string, std::string> headers;
  for (const auto& [name, value] : sent) {
    EXPECT_EQ(name.rfind("Mcp-Param-", 0), 0u);
    std::string lowered = name;
    for (char& c : lowered) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    headers[lowered] = value;
  }
  EXPECT_EQ(headers["mcp-param-priority"], "7");
  EXPECT_EQ(headers["mcp-param-region"].rfind("=?base64?", 0), 0u);
  EXPECT_FALSE(mismatch(kRegion, args, headers));
}

}  // namespace
}  // namespace warden::mcp
