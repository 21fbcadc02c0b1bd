#include "extension/last_decision.hpp"

namespace warden::pg {

namespace {
std::optional<LastDecision> last;
}  // namespace

void forget_last_decision() {
  last.reset();
}

void remember_last_decision(LastDecision decision) {
  last = std::move(decision);
}

std::optional<LastDecision> take_last_decision() {
  std::optional<LastDecision> taken = std::move(last);
  last.reset();
  return taken;
}

}  // namespace warden::pg
