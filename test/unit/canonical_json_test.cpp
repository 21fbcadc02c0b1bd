#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/bounded_json.hpp"
#include "core/canonical_json.hpp"

namespace warden {
namespace {

using nlohmann::json;

TEST(CanonicalJson, SortsKeysAndDropsWhitespace) {
  EXPECT_EQ(canonical_json(json::parse(R"( { "b" : [ 1 , { "d":true, "c":null } ], "a" : "x" } )")),
            R"({"a":"x","b":[1,{"c":null,"d":true}]})");
  EXPECT_EQ(canonical_json(json::object()), "{}");
  EXPECT_EQ(canonical_json(json::array()), "[]");
}

TEST(CanonicalJson, EscapesStringsLikeRfc8785) {
  EXPECT_EQ(canonical_json("a\"b\\c\b\f\n\r\t\x01\x1f\x7f/"), R"("a\"b\\c\b\f\n\r\t\u0001\u001f)"
                                                              "\x7f"
                                                              R"(/")");
  EXPECT_EQ(canonical_json("\xE2\x82\xAC"), "\"\xE2\x82\xAC\"");
  EXPECT_EQ(canonical_json(json::parse(R"("\u20ac\u00e9")")), "\"\xE2\x82\xAC\xC3\xA9\"");
}

TEST(CanonicalJson, IntegersAreExact) {
  EXPECT_EQ(canonical_json(json(int64_t{-9223372036854775807 - 1})), "-9223372036854775808");
  EXPECT_EQ(canonical_json(json(uint64_t{18446744073709551615ull})), "18446744073709551615");
  EXPECT_EQ(canonical_json(json(0)), "0");
}

TEST(CanonicalJson, EqualNumbersSerializeIdentically) {
  EXPECT_EQ(canonical_json(json(1.0)), "1");
  EXPECT_EQ(canonical_json(json::parse("1e0")), "1");
  EXPECT_EQ(canonical_json(json(-0.0)), "0");
  EXPECT_EQ(canonical_json(json(9223372036854775808.0)), "9223372036854775808");
  EXPECT_EQ(canonical_json(json(-9223372036854775808.0)), "-9223372036854775808");
  EXPECT_EQ(canonical_json(json::parse("100.000")), canonical_json(json::parse("1e2")));
}

TEST(CanonicalJson, DoublesUseEcmascriptForm) {
  EXPECT_EQ(canonical_json(json(1.5)), "1.5");
  EXPECT_EQ(canonical_json(json(-0.25)), "-0.25");
  EXPECT_EQ(canonical_json(json(0.1)), "0.1");
  EXPECT_EQ(canonical_json(json(1e-6)), "0.000001");
  EXPECT_EQ(canonical_json(json(1e-7)), "1e-7");
  EXPECT_EQ(canonical_json(json(1.25e-7)), "1.25e-7");
  EXPECT_EQ(canonical_json(json(1e21)), "1e+21");
  EXPECT_EQ(canonical_json(json(1e300)), "1e+300");
  EXPECT_EQ(canonical_json(json(123456.789)), "123456.789");
  EXPECT_EQ(canonical_json(json(5e-324)), "5e-324");
  EXPECT_EQ(canonical_json(json(1.7976931348623157e308)), "1.7976931348623157e+308");
  EXPECT_EQ(canonical_json(json(std::numeric_limits<double>::quiet_NaN())), "null");
  EXPECT_EQ(canonical_json(json(INFINITY)), "null");
}

TEST(CanonicalJson, RoundTripsThroughParser) {
  for (const char* text : {R"({"a":[1,2.5,"x",null,true,{"b":{}}],"c":-3e-9})", R"("é")", "[]"}) {
    json once = json::parse(text);
    std::string canon = canonical_json(once);
    EXPECT_EQ(canonical_json(json::parse(canon)), canon);
    EXPECT_EQ(json::parse(canon), once);
  }
}

TEST(CanonicalJson, DeepValuesDoNotRecurse) {
  // Built iteratively; nlohmann destroys values iteratively too.
  json deep = json::array();
  for (int i = 0; i < 100000; ++i) {
    json outer = json::array();
    outer.push_back(std::move(deep));
    deep = std::move(outer);
  }
  const std::string canon = canonical_json(deep);
  EXPECT_EQ(canon.size(), 2u * 100001);
  EXPECT_EQ(canon.substr(0, 3), "[[[");
}

TEST(CanonicalJson, TruncatedStopsAtUtf8Boundary) {
  const std::string canon = canonical_json_truncated(std::string(1000, '\xE2'), 10);
  EXPECT_LE(canon.size(), 13u);
  EXPECT_EQ(canonical_json_truncated(json("\xC3\xA9\xC3\xA9\xC3\xA9"), 4), "\"\xC3\xA9...");
  EXPECT_EQ(canonical_json_truncated(json("ab"), 10), "\"ab\"");
  const std::string huge(10 * 1024 * 1024, 'x');
  EXPECT_EQ(canonical_json_truncated(json(huge), 5), "\"xxxx...");
}

}  // namespace
}  // namespace warden
