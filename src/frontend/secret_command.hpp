#pragma once

#include <string>

namespace warden::mcp {

// warden-mcp secret put --db CONNINFO --server NAME [--header H] [--template T]
int run_secret_put(const std::string& conninfo, const std::string& server,
                   const std::string& header, const std::string& secret_template);

// warden-mcp secret put --db CONNINFO --idp NAME: the identity provider's client secret (for
// its token endpoint), read and sealed the same way, stored with warden.put_idp_secret.
int run_idp_secret_put(const std::string& conninfo, const std::string& idp);

// warden-mcp secret put --db CONNINFO --export NAME: an export destination's secret (the
// Splunk HEC token), stored with warden.put_export_secret.
int run_export_secret_put(const std::string& conninfo, const std::string& name);

}  // namespace warden::mcp
