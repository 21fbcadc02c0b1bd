#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "frontend/base/asio.hpp"

namespace warden::mcp {

// Renders Graphviz DOT (warden.chain_graph) to SVG with Debian's `dot -Tsvg`, run directly
// (posix_spawn, no shell, an empty environment but for SERVER_NAME and GV_FILE_PATH, which
// make Graphviz refuse to read any file a graph names: an image= or shapefile= cannot reach
// the disk). Bounded: at most kMaxDot bytes in, kMaxSvg out, kRenderTime of wall time (then
// the child is killed). Runs on a thread of its own; nullopt when dot fails or a bound is hit,
// or when the output holds anything that could run script.
class DotRenderer {
 public:
  static constexpr std::size_t kMaxDot = 1 << 20;
  static constexpr std::size_t kMaxSvg = 8 << 20;
  static constexpr std::chrono::seconds kRenderTime{5};

  explicit DotRenderer(std::string dot_path = "/usr/bin/dot") : dot_path_(std::move(dot_path)) {}
  awaitable<std::optional<std::string>> render(std::string dot) const;
  // The same, blocking the calling thread.
  std::optional<std::string> render_now(const std::string& dot) const;

 private:
  std::string dot_path_;
};

}  // namespace warden::mcp
