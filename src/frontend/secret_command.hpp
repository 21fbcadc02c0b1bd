#pragma once

#include <string>

namespace warden::mcp {

// warden-mcp secret put --db CONNINFO --server NAME [--header H] [--template T]
int run_secret_put(const std::string& conninfo, const std::string& server,
                   const std::string& header, const std::string& secret_template);

}  // namespace warden::mcp
