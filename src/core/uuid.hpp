#pragma once

#include <string>

namespace warden {

// A fresh random (version 4, RFC 9562) uuid in its 36-character text form: seal ids, audit
// writer ids (event ids are time_ordered_uuid).
std::string random_uuid();

// A version 7 uuid (RFC 9562): the Unix time in milliseconds, then 74 random bits. For the keys
// of append-mostly tables (audit events): new keys land at the right edge of the primary-key
// index instead of on a random leaf, so an insert touches a page that is already in memory and,
// after a checkpoint, logs one full-page image instead of one per insert. Reveals the time of
// its making, which the event row states anyway; unguessable in its 74 random bits.
std::string time_ordered_uuid();

}  // namespace warden
