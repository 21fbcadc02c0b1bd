#pragma once

namespace warden {

// Initialises libsodium exactly once; safe to call from any thread and on every hot path.
// Throws std::runtime_error if libsodium cannot initialise (no usable RNG).
void ensure_sodium();

}  // namespace warden
