#include "extension/last_decision.hpp"

namespace warden::pg {

namespace {
std::optional<std::string> last;
}  // namespace

void forget_last_decision() {
  last.reset();
}

void remember_last_decision(const std::string& event_id) {
  last = event_id;
}

std::optional<std::string> take_last_decision() {
  std::optional<std::string> taken = std::move(last);
  last.reset();
  return taken;
}

}  // namespace warden::pg
