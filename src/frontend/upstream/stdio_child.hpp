#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace warden::mcp {

// The unprivileged OS user stdio upstreams run as (--stdio-user; `nobody` when warden-mcp runs
// as root), so that a child cannot read the gateway's files or /proc entries.
struct StdioUser {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
};
// Throws std::invalid_argument when the user does not exist or is root.
StdioUser lookup_stdio_user(const std::string& name);

// A fresh private HOME for one child (mode 0700, owned by the child's user), removed with all
// its contents when this object goes away.
class ChildHome {
 public:
  explicit ChildHome(const std::optional<StdioUser>& user);
  ~ChildHome();
  ChildHome(const ChildHome&) = delete;
  ChildHome& operator=(const ChildHome&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// All a child gets of an environment: PATH and LANG (the gateway's, or defaults), its private
// HOME, and the vended "NAME=value" entry when there is one. Nothing else of warden-mcp's
// environment (PGPASSWORD, WARDEN_DB, ...) reaches it.
std::vector<std::string> clean_child_environment(const std::string& home,
                                                 const std::optional<std::string>& vended);

struct ChildLaunch {
  std::string program;            // absolute path, executed with execve (never a shell)
  std::vector<std::string> argv;  // argv[0] included
  std::vector<std::string> env;
  std::string home;               // also its working directory
  std::optional<StdioUser> user;  // switch to this user before exec
  int stdin_fd = -1;
  int stdout_fd = -1;
};

// Starts the child in its own process group (stderr shared with warden-mcp); returns its pid.
// Throws std::runtime_error naming the reason when it could not be executed.
pid_t launch_child(const ChildLaunch& launch);

}  // namespace warden::mcp
