#include <cstdio>
#include <cstring>

// warden-mcp: the governed MCP front-end. Until the front-end lands it only reports its
// version, so that packaging and `make run` can already depend on the binary existing.
int main(int argc, char** argv) {
  if (argc > 1 && (std::strcmp(argv[1], "--version") == 0 || std::strcmp(argv[1], "version") == 0)) {
    std::printf("warden-mcp %s\n", WARDEN_VERSION);
    return 0;
  }
  std::fprintf(stderr, "warden-mcp %s: the front-end is not built yet; only --version works\n",
               WARDEN_VERSION);
  return 2;
}
