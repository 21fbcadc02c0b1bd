#pragma once

#include <optional>
#include <string>

namespace warden::pg {

// The event_id of the call this backend's most recent warden.authorize allowed, so that a
// front-end can send authorize and the credential request in one round trip (libpq pipeline
// mode) without knowing the event_id yet: see warden.credential_for_last_decision. Backend-local
// memory only; every authorize replaces it (a denial or an error clears it), and taking it
// clears it.
void forget_last_decision();
void remember_last_decision(const std::string& event_id);
std::optional<std::string> take_last_decision();

}  // namespace warden::pg
