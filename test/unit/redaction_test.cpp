#include <gtest/gtest.h>

#include "core/audit_arguments.hpp"
#include "core/bounded_json.hpp"
#include "core/redaction.hpp"

namespace warden {
namespace {

using nlohmann::json;

TEST(Redaction, SensitiveKeysMatchCaseInsensitively) {
  for (const char* key : {"password", "DB_PASSWD", "clientSecret", "access_token", "apiKey",
                          "Authorization", "credentials", "Set-Cookie", "private_key"}) {
    EXPECT_TRUE(is_sensitive_key(key)) << key;
  }
  for (const char* key : {"path", "user", "title", "pass", "tok", ""}) {
    EXPECT_FALSE(is_sensitive_key(key)) << key;
  }
}

TEST(Redaction, ReplacesValuesAndKeepsStructure) {
  json args = json::parse(R"({
    "user": "alice",
    "Password": "hunter2",
    "headers": {"Authorization": "Bearer x", "accept": "json"},
    "items": [{"api_key": {"nested": 1}, "n": 2}, 3],
    "tokens": [1, 2]
  })");
  json expected = json::parse(R"({
    "user": "alice",
    "Password": "[redacted]",
    "headers": {"Authorization": "[redacted]", "accept": "json"},
    "items": [{"api_key": "[redacted]", "n": 2}, 3],
    "tokens": "[redacted]"
  })");
  EXPECT_EQ(redact_arguments(args), expected);
  EXPECT_EQ(redact_arguments("secret"), json("secret"));  // only keys trigger redaction
  EXPECT_EQ(redact_arguments(nullptr), json(nullptr));
}

TEST(Redaction, TruncatesBeyondDepthLimit) {
  json deep = "leaf";
  for (int i = 0; i < 10000; ++i) {
    json outer = json::object();
    outer["k"] = std::move(deep);
    deep = std::move(outer);
  }
  json out = redact_arguments(deep);
  const json* cursor = &out;
  size_t depth = 0;
  while (cursor->is_object()) {
    cursor = &(*cursor)["k"];
    ++depth;
  }
  EXPECT_EQ(depth, kRedactionMaxDepth);
  EXPECT_EQ(*cursor, json("[truncated]"));

  std::string text = std::string(10000, '[') + std::string(10000, ']');
  EXPECT_FALSE(parse_json_bounded(text, 64, 1 << 20).has_value());
}

TEST(Redaction, ShallowValuesAreNotTruncated) {
  json args = json::parse(R"({"a": [[[{"b": [1]}]]]})");
  EXPECT_EQ(redact_arguments(args), args);
}

TEST(Redaction, Finding13RedactedExcerptRedactsLikeTheAuditCopy) {
  json value = json::parse(R"({"a": [{"Password": "hunter2"}], "token": {"x": "hunter2"}})");
  EXPECT_EQ(redacted_excerpt(value, 200),
            R"({"a":[{"Password":"[redacted]"}],"token":"[redacted]"})");
  EXPECT_EQ(json::parse(redacted_excerpt(value, 200)), audit_copy_of_arguments(value, 200));
  // Scalars carry no keys; long ones are cut, not copied whole.
  EXPECT_EQ(redacted_excerpt("hunter2", 200), R"("hunter2")");
  EXPECT_EQ(redacted_excerpt(std::string(1 << 20, 'x'), 10), R"("xxxxxxxxx...)");
  // Cutting happens after redaction, so a cut never exposes part of a secret.
  json long_secret = {{"secret", std::string(100, 's')}, {"z", 1}};
  EXPECT_EQ(redacted_excerpt(long_secret, 20).find("sss"), std::string::npos);
}

}  // namespace
}  // namespace warden
