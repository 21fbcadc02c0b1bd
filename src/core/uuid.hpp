#pragma once

#include <string>

namespace warden {

// A fresh random (version 4, RFC 9562) uuid in its 36-character text form: event ids, seal
// ids, audit writer ids.
std::string random_uuid();

}  // namespace warden
