#pragma once

#include "core/root_key.hpp"

namespace warden::pg {

// Reads the root key named by the warden.* settings; called once, in the postmaster, while
// shared_preload_libraries loads warden. Forked backends inherit the guarded memory.
void load_root_key_at_startup();

// The loaded key ring, or a warden::Error naming the setting that is missing or wrong.
const KeyRing& require_key_ring();

}  // namespace warden::pg
