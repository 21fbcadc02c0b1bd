#include "core/core_only.hpp"

#include "core/sodium_init.hpp"

#include <sodium.h>

#include <stdexcept>

namespace warden {

void ensure_sodium() {
  // A function-local static gives thread-safe one-time init; sodium_init returns 1 when
  // already initialised, which is fine.
  static const bool ok = sodium_init() >= 0;
  if (!ok) throw std::runtime_error("libsodium initialisation failed");
}

}  // namespace warden
