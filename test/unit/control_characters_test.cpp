#include <gtest/gtest.h>

#include <string>

#include "core/control_characters.hpp"

namespace warden {
namespace {

TEST(ControlCharacters, Finding14PlainNamesHaveNone) {
  for (const char* name : {"", "tickets", "update_ticket", "server__tool", "a b-c.d/e:f",
                           "caf\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xC2\xA0"}) {
    EXPECT_FALSE(has_control_characters(name)) << name;
  }
}

TEST(ControlCharacters, Finding14NulAndOtherC0ControlsAndDel) {
  EXPECT_TRUE(has_control_characters(std::string("tool\0x", 6)));
  EXPECT_TRUE(has_control_characters(std::string(1, '\0')));
  for (int c = 0x01; c < 0x20; ++c) {
    std::string text = "a_b";  // not "a" + ... + "b": GCC 12 -O3 warns a false -Wrestrict
    text[1] = static_cast<char>(c);
    EXPECT_TRUE(has_control_characters(text)) << c;
  }
  EXPECT_TRUE(has_control_characters("tool\n2026-01-01 forged log line"));
  EXPECT_TRUE(has_control_characters("\x1b[31mred"));
  EXPECT_TRUE(has_control_characters("a\x7F"));
}

TEST(ControlCharacters, Finding14C1Controls) {
  EXPECT_TRUE(has_control_characters("a\xC2\x80"));  // U+0080
  EXPECT_TRUE(has_control_characters("a\xC2\x85"));  // U+0085 NEL, a line break to some readers
  EXPECT_TRUE(
      has_control_characters("\xC2\x9B"
                             "31m"));                // U+009B CSI
  EXPECT_FALSE(has_control_characters("\xC2\xA0"));  // U+00A0 is no control
}

TEST(ControlCharacters, Finding14MalformedUtf8CountsAsControl) {
  for (const char* bad : {"\x85",              // lone C1 byte, NEL in Latin-1
                          "a\x9B",             // lone C1 byte, CSI in Latin-1
                          "\xC0\x8A",          // overlong newline
                          "\xE0\x80\x8A",      // overlong newline, three bytes
                          "\xC2",              // truncated
                          "\xE2\x82",          // truncated
                          "\xED\xA0\x80",      // surrogate U+D800
                          "\xF4\x90\x80\x80",  // above U+10FFFF
                          "\xF8\x88\x80\x80\x80", "\xFF"}) {
    EXPECT_TRUE(has_control_characters(bad)) << bad;
  }
}

}  // namespace
}  // namespace warden
