#include "core/root_key.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <variant>

namespace warden {
namespace {

bool is_key(const RootKeyResult& r) {
  return std::holds_alternative<std::array<uint8_t, kKeyBytes>>(r);
}

const std::string kHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

TEST(RootKey, ParsesHexWithOrWithoutNewline) {
  for (const std::string& text : {kHex, kHex + "\n", kHex + "\r\n"}) {
    auto r = parse_root_key_text(text, "warden.root_key_file");
    ASSERT_TRUE(is_key(r)) << text;
    EXPECT_EQ(std::get<0>(r)[31], 0x1f);
  }
}

TEST(RootKey, RejectsWrongLengthAndNonHexNamingTheSetting) {
  for (const std::string& text :
       {std::string(), kHex.substr(2), kHex + "00", "zz" + kHex.substr(2)}) {
    auto r = parse_root_key_text(text, "warden.root_key_command");
    ASSERT_TRUE(std::holds_alternative<RootKeyError>(r)) << text;
    EXPECT_EQ(std::get<RootKeyError>(r).setting, "warden.root_key_command");
    // The message must never echo key material back.
    EXPECT_EQ(std::get<RootKeyError>(r).message.find(kHex.substr(4, 16)), std::string::npos);
  }
}

TEST(RootKey, RefusesFilesOthersCanRead) {
  std::string path = ::testing::TempDir() + "/warden-root-key-test";
  { std::ofstream(path) << kHex << "\n"; }
  chmod(path.c_str(), 0644);
  auto open = read_root_key_file(path);
  ASSERT_TRUE(std::holds_alternative<RootKeyError>(open));
  EXPECT_NE(std::get<RootKeyError>(open).message.find("0600"), std::string::npos);
  chmod(path.c_str(), 0600);
  EXPECT_TRUE(is_key(read_root_key_file(path)));
  std::remove(path.c_str());
  auto missing = read_root_key_file(path);
  ASSERT_TRUE(std::holds_alternative<RootKeyError>(missing));
  EXPECT_EQ(std::get<RootKeyError>(missing).setting, "warden.root_key_file");
}

TEST(RootKey, CommandOutputIsTheKeyAndFailureIsReported) {
  auto ok = read_root_key_command("echo " + kHex);
  ASSERT_TRUE(is_key(ok));
  auto failing = read_root_key_command("exit 3");
  ASSERT_TRUE(std::holds_alternative<RootKeyError>(failing));
}

TEST(RootKey, SubkeysAreDistinctDeterministicAndNotTheRoot) {
  auto root = std::get<0>(parse_root_key_text(kHex, "t"));
  KeyRing a, b;
  EXPECT_THROW(a.subkey(Subkey::kAuditMac), std::logic_error);
  a.install_root(root.data());
  b.install_root(root.data());
  const Subkey all[] = {Subkey::kTokenWrap, Subkey::kAuditMac, Subkey::kVaultWrap};
  for (Subkey s : all) {
    EXPECT_EQ(std::memcmp(a.subkey(s).data(), b.subkey(s).data(), kKeyBytes), 0);
    EXPECT_NE(std::memcmp(a.subkey(s).data(), root.data(), kKeyBytes), 0);
    for (Subkey t : all) {
      if (s != t) {
        EXPECT_NE(std::memcmp(a.subkey(s).data(), a.subkey(t).data(), kKeyBytes), 0);
      }
    }
  }
}

}  // namespace
}  // namespace warden
