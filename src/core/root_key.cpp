#include "core/core_only.hpp"

#include "core/root_key.hpp"

#include <sodium.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace warden {

namespace {
constexpr char kKdfContext[crypto_kdf_CONTEXTBYTES + 1] = "wardenkd";
constexpr size_t kSubkeyCount = 3;
constexpr size_t kMaxKeyText = 256;

RootKeyError error(const std::string& setting, const std::string& message) {
  return RootKeyError{setting, message};
}
}  // namespace

KeyRing::KeyRing() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  memory_ = static_cast<uint8_t*>(sodium_malloc(kKeyBytes * kSubkeyCount));
  if (memory_ == nullptr) throw std::bad_alloc();
  sodium_mprotect_noaccess(memory_);
}

KeyRing::~KeyRing() {
  sodium_free(memory_);
}

void KeyRing::install_root(const uint8_t* root) {
  static_assert(kKeyBytes == crypto_kdf_KEYBYTES);
  sodium_mprotect_readwrite(memory_);
  for (uint64_t id = 1; id <= kSubkeyCount; ++id) {
    crypto_kdf_derive_from_key(memory_ + (id - 1) * kKeyBytes, kKeyBytes, id, kKdfContext, root);
  }
  sodium_mprotect_readonly(memory_);
  loaded_ = true;
}

Key32View KeyRing::subkey(Subkey which) const {
  if (!loaded_) throw std::logic_error("no root key is installed");
  return Key32View(memory_ + (static_cast<uint64_t>(which) - 1) * kKeyBytes, kKeyBytes);
}

RootKeyResult parse_root_key_text(const std::string& text, const std::string& setting) {
  size_t end = text.size();
  while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r')) --end;
  if (end != kKeyBytes * 2) {
    return error(setting,
                 "the root key must be exactly 64 hexadecimal characters (32 bytes), found " +
                     std::to_string(end) + " characters");
  }
  std::array<uint8_t, kKeyBytes> key{};
  size_t written = 0;
  if (sodium_hex2bin(key.data(), key.size(), text.data(), end, nullptr, &written, nullptr) != 0 ||
      written != kKeyBytes) {
    sodium_memzero(key.data(), key.size());
    return error(setting, "the root key contains characters that are not hexadecimal");
  }
  return key;
}

RootKeyResult read_root_key_file(const std::string& path) {
  const std::string setting = "warden.root_key_file";
  if (path.empty()) return error(setting, "warden.root_key_file is not set");
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    return error(setting, "cannot read root key file \"" + path + "\": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode))
    return error(setting, "root key file \"" + path + "\" is not a regular file");
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return error(setting,
                 "root key file \"" + path +
                     "\" is accessible by other users; it must have mode 0600 or stricter");
  }
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return error(setting, "cannot open root key file \"" + path + "\": " + std::strerror(errno));
  }
  std::string text(kMaxKeyText, '\0');
  size_t n = std::fread(text.data(), 1, text.size(), f);
  std::fclose(f);
  text.resize(n);
  RootKeyResult result = parse_root_key_text(text, setting);
  sodium_memzero(text.data(), text.size());
  return result;
}

RootKeyResult read_root_key_command(const std::string& command) {
  const std::string setting = "warden.root_key_command";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr)
    return error(setting, std::string("cannot run root key command: ") + std::strerror(errno));
  std::string text(kMaxKeyText, '\0');
  size_t n = std::fread(text.data(), 1, text.size(), pipe);
  int status = pclose(pipe);
  text.resize(n);
  if (status != 0) {
    sodium_memzero(text.data(), text.size());
    return error(setting, "root key command exited with status " + std::to_string(status));
  }
  RootKeyResult result = parse_root_key_text(text, setting);
  sodium_memzero(text.data(), text.size());
  return result;
}

}  // namespace warden
