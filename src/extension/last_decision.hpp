#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace warden::pg {

// The call this backend's most recent warden.authorize allowed, so that a front-end can send
// authorize and the credential request in one round trip (libpq pipeline mode) without knowing
// the event_id yet: see warden.credential_for_last_decision. It carries what the credential
// step needs to know about the decision, so that step does not look the event up again (a
// lookup by event_id probes every daily partition of warden.events). Backend-local memory
// only; every authorize replaces it (a denial or an error clears it), and taking it clears it.
struct LastDecision {
  std::string event_id, server, tool, agent, human, chain_id, token_id;
  bool observed = false;        // allowed only by observe mode
  std::uint32_t xid = 0;        // the (sub)transaction that wrote the event (its xmin)
  std::int64_t decided_at = 0;  // TimestampTz, taken before the event was written
  // Asked for with the decision (authorize's context {"credential": "with_decision"}): the
  // credential was minted, and its vend recorded, inside the decision's own transaction; it
  // is handed out only once that transaction has committed.
  bool with_decision = false;
  std::optional<std::string> credential;  // its JSON; nullopt: the server takes none
  std::optional<std::string> refusal;     // why none could be had (e.g. no secret stored)
  // What a transaction token states about the call: base64url SHA-256 of its canonical
  // arguments, and the chain's agents from the first to the caller. Set with with_decision.
  std::string arguments_sha256{};
  std::vector<std::string> actors{};
};

// Mints the credential of an allowed call inside its decision's transaction and records the
// vend there too (a child event of the decision: it exists only if the decision commits).
// Fills decision.credential or decision.refusal. Needs an open SPI connection.
void mint_with_decision(LastDecision& decision);

void forget_last_decision();
void remember_last_decision(LastDecision decision);
std::optional<LastDecision> take_last_decision();

}  // namespace warden::pg
