#pragma once

#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace warden {

// A key, or other fixed-size secret, that never outlives its owner in memory: zeroed with
// sodium_memzero when destroyed and when moved from, and never copied (a copy would be one
// more place to wipe). Pass it on as a span (`view()`), never as pointer and length.
template <size_t N>
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(std::span<const uint8_t, N> bytes) {
    for (size_t i = 0; i < N; ++i) bytes_[i] = bytes[i];
  }
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  SecretBytes(SecretBytes&& other) noexcept : bytes_(other.bytes_) { other.wipe(); }
  SecretBytes& operator=(SecretBytes&& other) noexcept {
    if (this != &other) {
      bytes_ = other.bytes_;
      other.wipe();
    }
    return *this;
  }
  ~SecretBytes() { wipe(); }

  std::span<const uint8_t, N> view() const { return std::span<const uint8_t, N>(bytes_); }
  std::span<uint8_t, N> writable() { return std::span<uint8_t, N>(bytes_); }
  uint8_t* data() { return bytes_.data(); }
  const uint8_t* data() const { return bytes_.data(); }
  static constexpr size_t size() { return N; }
  void wipe() { sodium_memzero(bytes_.data(), N); }

 private:
  std::array<uint8_t, N> bytes_{};
};

// A 32-byte symmetric key (task-token keys, audit keys, PASETO v4.local keys), and the way one
// is passed: a fixed-size view, so a wrong length does not compile.
using Key32 = SecretBytes<32>;
using Key32View = std::span<const uint8_t, 32>;

}  // namespace warden
