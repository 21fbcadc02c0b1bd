#include "core/secret_bytes.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <type_traits>
#include <utility>

namespace warden {
namespace {

bool all_zero(const Key32& key) {
  return std::all_of(key.view().begin(), key.view().end(), [](uint8_t b) { return b == 0; });
}

Key32 filled(uint8_t value) {
  std::array<uint8_t, 32> bytes{};
  bytes.fill(value);
  return Key32(bytes);
}

TEST(SecretBytes, CannotBeCopied) {
  static_assert(!std::is_copy_constructible_v<Key32>);
  static_assert(!std::is_copy_assignable_v<Key32>);
  static_assert(std::is_nothrow_move_constructible_v<Key32>);
}

TEST(SecretBytes, StartsZeroedAndHoldsWhatItWasGiven) {
  Key32 empty;
  EXPECT_TRUE(all_zero(empty));
  Key32 key = filled(7);
  EXPECT_EQ(key.view()[0], 7);
  EXPECT_EQ(key.view()[31], 7);
}

TEST(SecretBytes, MovingWipesTheSource) {
  Key32 source = filled(9);
  Key32 moved(std::move(source));
  EXPECT_TRUE(all_zero(source));  // NOLINT(bugprone-use-after-move): the point of the test
  EXPECT_EQ(moved.view()[5], 9);

  Key32 assigned;
  assigned = std::move(moved);
  EXPECT_TRUE(all_zero(moved));  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(assigned.view()[5], 9);
}

TEST(SecretBytes, WipeZeroes) {
  Key32 key = filled(3);
  key.wipe();
  EXPECT_TRUE(all_zero(key));
}

TEST(SecretBytes, DestructionWipesTheBytes) {
  // Destroyed in place; the storage is then read as plain bytes (it is still ours).
  alignas(Key32) unsigned char storage[sizeof(Key32)];
  auto* key = new (storage) Key32(filled(5));
  EXPECT_EQ(key->view()[0], 5);
  key->~Key32();
  // Read through volatile: the object's lifetime has ended, and GCC 12 at -O3 otherwise
  // treats its bytes as indeterminate (-Wmaybe-uninitialized) and may drop the read.
  const volatile unsigned char* bytes = storage;
  bool zero = true;
  for (std::size_t i = 0; i < sizeof storage; ++i) zero = zero && bytes[i] == 0;
  EXPECT_TRUE(zero);
}

}  // namespace
}  // namespace warden
