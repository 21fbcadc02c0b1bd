#include "core/base64url.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "core/byte_view.hpp"

namespace warden {
namespace {

// Suite names start with "Paseto" so the PASETO filter picks them up.
TEST(PasetoBase64url, Rfc4648Vectors) {
  const std::pair<std::string, std::string> cases[] = {
      {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
      {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : cases) {
    EXPECT_EQ(base64url_encode(byte_view(plain)), encoded);
    auto decoded = base64url_decode(encoded);
    ASSERT_TRUE(decoded);
    EXPECT_EQ(char_view(*decoded), plain);
    EXPECT_EQ(base64url_encoded_size(plain.size()), encoded.size());
  }
}

TEST(PasetoBase64url, UrlAlphabet) {
  const std::vector<uint8_t> bytes = {0xfb, 0xff, 0xbf};
  EXPECT_EQ(base64url_encode(bytes), "-_-_");
  EXPECT_EQ(*base64url_decode("-_-_"), bytes);
}

TEST(PasetoBase64url, RejectsNonCanonicalInput) {
  for (const char* bad : {"Zg==", "Zg=", "Zm8=", "+/+/", "Zm9v Yg", "Zm9v\nYg", "Z", "Zm9vY", "Zh",
                          "Zm9", "Zm-", "\xff\xff", "Zm9v.", "Zm\0v"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(base64url_decode(bad));
  }
  // Trailing bits must be zero: "Zh" and "Zm9" carry stray low bits.
  EXPECT_TRUE(base64url_decode("Zg"));
  EXPECT_FALSE(base64url_decode(std::string_view("Zm\0v", 4)));
}

TEST(PasetoBase64url, RandomRoundTripAndAllCharacters) {
  std::mt19937 rng(7);
  for (int n = 0; n < 300; ++n) {
    std::vector<uint8_t> data(n);
    for (auto& b : data) b = static_cast<uint8_t>(rng());
    const auto encoded = base64url_encode(data);
    EXPECT_EQ(encoded.size(), base64url_encoded_size(data.size()));
    EXPECT_EQ(*base64url_decode(encoded), data);
  }
  // Exactly the 64 URL-safe characters decode.
  int accepted = 0;
  for (int c = 0; c < 256; ++c) {
    const std::string s = {static_cast<char>(c), 'A', 'A', 'A'};
    if (base64url_decode(s)) ++accepted;
  }
  EXPECT_EQ(accepted, 64);
}

}  // namespace
}  // namespace warden
