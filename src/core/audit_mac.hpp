#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

// Digests are shown as hex (to_hex); users of this header get it too.
#include "core/hex.hpp"

#include "core/secret_bytes.hpp"

namespace warden {

// Tamper evidence for audit events. Each database backend that writes events is a "writer"
// with its own sequence: event n of a writer carries MAC_n = BLAKE2b-256 keyed with the audit
// subkey over (writer, n, MAC_{n-1}, every column of the event). Without the root key nobody can
// forge or alter an event (its MAC breaks) or delete one in the middle (the next link breaks);
// deleting a writer's newest events is caught by signed seals, which record each writer's head.
// Writers never share state, so concurrent sessions never wait on each other to append.
using Mac = std::array<uint8_t, 32>;

struct EventLink {
  std::string writer;  // uuid of the writing backend
  int64_t seq = 0;     // 1, 2, 3, ... within the writer
  Mac prev{};          // MAC of the writer's previous event; zeros for seq 1
};

// The event's columns in a fixed order; nullopt for SQL NULL (distinct from an empty string).
using EventColumns = std::vector<std::optional<std::string>>;

Mac event_mac(Key32View audit_key, const EventLink& link, const EventColumns& columns);

// Keyed digest of a call's full arguments, so the audit can prove what was sent even where the
// stored copy is redacted or truncated.
Mac arguments_digest(Key32View audit_key, const std::string& canonical_arguments);

}  // namespace warden
