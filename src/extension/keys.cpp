#include "extension/keys.hpp"

#include <sodium.h>

#include <string>
#include <variant>

#include "core/error.hpp"
#include "extension/postgres_headers.hpp"

namespace warden::pg {

const char* root_key_file();
const char* root_key_command();

namespace {

// Lives for the life of the process; never freed because backends fork from the postmaster.
KeyRing* key_ring = nullptr;
// Why loading failed, kept so that every later use can say so. Never contains key bytes.
char load_failure[512] = "warden was not loaded through shared_preload_libraries";
char load_failure_setting[64] = "shared_preload_libraries";

void remember_failure(const RootKeyError& e) {
  snprintf(load_failure, sizeof load_failure, "%s", e.message.c_str());
  snprintf(load_failure_setting, sizeof load_failure_setting, "%s", e.setting.c_str());
}

}  // namespace

void load_root_key_at_startup() {
  std::string complaint;
  try {
    const char* file = root_key_file();
    const char* command = root_key_command();
    RootKeyResult result =
        (file != nullptr && file[0] != '\0') ? read_root_key_file(file)
        : (command != nullptr && command[0] != '\0')
            ? read_root_key_command(command)
            : RootKeyResult(
                  RootKeyError{"warden.root_key_file",
                               "neither warden.root_key_file nor warden.root_key_command is set"});
    if (auto* failure = std::get_if<RootKeyError>(&result)) {
      remember_failure(*failure);
      complaint = failure->message;
    } else {
      auto& root = std::get<0>(result);
      key_ring = new KeyRing();
      key_ring->install_root(root.data());
      sodium_memzero(root.data(), root.size());
    }
  } catch (const std::exception& e) {
    remember_failure(RootKeyError{"warden.root_key_file", e.what()});
    complaint = e.what();
  }
  // The server still starts: functions that need keys fail with this reason, and the
  // operator can fix the setting without losing access to the database.
  if (!complaint.empty()) {
    ereport(WARNING,
            (errmsg("warden: root key not loaded: %s", complaint.c_str()),
             errhint("Set %s in postgresql.conf and restart the server.", load_failure_setting)));
  }
}

const KeyRing& require_key_ring() {
  if (key_ring == nullptr || !key_ring->loaded()) {
    throw Error(sqlstate::kConfigFileError,
                std::string("warden root key is not available: ") + load_failure,
                std::string("setting: ") + load_failure_setting,
                "Set warden.root_key_file (or warden.root_key_command) in postgresql.conf, keep "
                "shared_preload_libraries = 'warden', and restart the server.");
  }
  return *key_ring;
}

}  // namespace warden::pg
