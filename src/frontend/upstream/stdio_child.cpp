#include "frontend/upstream/stdio_child.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace warden::mcp {

namespace {

constexpr const char* kDefaultPath = "/usr/local/bin:/usr/bin:/bin";
constexpr const char* kDefaultLang = "C.UTF-8";

// What the child was doing when it failed, reported to the parent with errno.
enum class ChildStep : int { kDescriptors, kSwitchUser, kEnterHome, kExecute };

std::string describe(ChildStep step, const std::string& program, const std::string& home,
                     const std::optional<StdioUser>& user) {
  switch (step) {
    case ChildStep::kDescriptors:
      return "cannot set up the process group and pipes of " + program;
    case ChildStep::kSwitchUser:
      return "cannot switch to the OS user " + (user ? user->name : std::string("?")) + " for " +
             program;
    case ChildStep::kEnterHome:
      return "cannot enter the child's HOME " + home + " (can its user reach that folder?)";
    case ChildStep::kExecute:
      break;
  }
  return "cannot execute " + program;
}

struct ChildFailure {
  ChildStep step;
  int error;
};

std::string env_or(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value && *value ? value : fallback;
}

// Runs in the forked child: only async-signal-safe calls, no allocation. Reports errno on
// `report` (close-on-exec, so a successful exec reports nothing) and exits.
[[noreturn]] void exec_child(const ChildLaunch& launch, char* const* argv, char* const* envp,
                             int report) {
  sigset_t all;
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, nullptr);
  struct sigaction defaults {};
  defaults.sa_handler = SIG_DFL;
  sigaction(SIGPIPE, &defaults, nullptr);
  sigaction(SIGCHLD, &defaults, nullptr);
  ChildFailure failure{ChildStep::kDescriptors, 0};
  auto fail = [&](ChildStep step, int err) {
    failure = {step, err};
    [[maybe_unused]] ssize_t n = ::write(report, &failure, sizeof failure);
    ::_exit(127);
  };
  if (::setpgid(0, 0) != 0) fail(ChildStep::kDescriptors, errno);
  if (::dup2(launch.stdin_fd, 0) < 0 || ::dup2(launch.stdout_fd, 1) < 0) {
    fail(ChildStep::kDescriptors, errno);
  }
  if (::dup2(report, 3) < 0) fail(ChildStep::kDescriptors, errno);
  report = 3;
  ::fcntl(report, F_SETFD, FD_CLOEXEC);
  ::syscall(SYS_close_range, 4U, ~0U, 0U);
  if (launch.user) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(launch.user->gid) != 0 ||
        ::setuid(launch.user->uid) != 0) {
      fail(ChildStep::kSwitchUser, errno);
    }
  }
  // The parent-death signal is cleared by a change of credentials: set it afterwards.
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::chdir(launch.home.c_str()) != 0) fail(ChildStep::kEnterHome, errno);
  ::execve(launch.program.c_str(), argv, envp);
  fail(ChildStep::kExecute, errno);
  ::_exit(127);
}

}  // namespace

StdioUser lookup_stdio_user(const std::string& name) {
  struct passwd* pw = ::getpwnam(name.c_str());
  if (pw == nullptr) {
    throw std::invalid_argument("--stdio-user: no OS user named " + name);
  }
  if (pw->pw_uid == 0) {
    throw std::invalid_argument("--stdio-user: " + name +
                                " is root; stdio upstreams must run unprivileged");
  }
  return StdioUser{name, pw->pw_uid, pw->pw_gid};
}

ChildHome::ChildHome(const std::optional<StdioUser>& user) {
  std::string base = env_or("TMPDIR", "/tmp");
  std::string pattern = base + "/warden-mcp-home-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("cannot create a home folder for a stdio upstream in " + base + ": " +
                             std::strerror(errno));
  }
  path_ = pattern;
  if (user && ::chown(path_.c_str(), user->uid, user->gid) != 0) {
    int err = errno;
    std::filesystem::remove(path_);
    throw std::runtime_error("cannot give " + path_ + " to " + user->name + ": " +
                             std::strerror(err));
  }
}

ChildHome::~ChildHome() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::vector<std::string> clean_child_environment(const std::string& home,
                                                 const std::optional<std::string>& vended) {
  std::vector<std::string> env = {"PATH=" + env_or("PATH", kDefaultPath), "HOME=" + home,
                                  "LANG=" + env_or("LANG", kDefaultLang)};
  if (vended) env.push_back(*vended);
  return env;
}

pid_t launch_child(const ChildLaunch& launch) {
  // Everything the child needs is built before fork: after it, only async-signal-safe calls.
  std::vector<std::string> argv_storage = launch.argv, env_storage = launch.env;
  std::vector<char*> argv, envp;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);

  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("cannot create a pipe: ") + std::strerror(errno));
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    ::close(report[0]);
    ::close(report[1]);
    throw std::runtime_error(std::string("cannot fork: ") + std::strerror(err));
  }
  if (pid == 0) {
    ::close(report[0]);
    exec_child(launch, argv.data(), envp.data(), report[1]);
  }
  ::close(report[1]);
  ChildFailure failure{};
  ssize_t n;
  do {
    n = ::read(report[0], &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  ::close(report[0]);
  if (n == static_cast<ssize_t>(sizeof failure)) {
    ::waitpid(pid, nullptr, 0);  // SIGCHLD is ignored, so this just waits for the exit
    throw std::runtime_error(describe(failure.step, launch.program, launch.home, launch.user) +
                             ": " + std::strerror(failure.error));
  }
  return pid;
}

}  // namespace warden::mcp
