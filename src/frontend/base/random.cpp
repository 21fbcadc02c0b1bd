#include "frontend/base/random.hpp"

#include <sys/random.h>

#include <stdexcept>
#include <vector>

#include "core/hex.hpp"

namespace warden::mcp {

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  std::size_t got = 0;
  while (got < bytes) {
    ssize_t n = getrandom(buf.data() + got, bytes - got, 0);
    if (n <= 0) throw std::runtime_error("getrandom failed");
    got += static_cast<std::size_t>(n);
  }
  return warden::to_hex(buf);
}

}  // namespace warden::mcp
