#include "frontend/console/dot_renderer.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <memory>
#include <thread>

#include "frontend/base/event.hpp"

namespace warden::mcp {

namespace {

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

// An attribute such as onload= (dot writes none; text content is escaped by it).
bool has_event_attribute(const std::string& lower) {
  for (std::size_t at = lower.find(" on"); at != std::string::npos;
       at = lower.find(" on", at + 1)) {
    std::size_t i = at + 3;
    while (i < lower.size() && lower[i] >= 'a' && lower[i] <= 'z') ++i;
    while (i < lower.size() && lower[i] == ' ') ++i;
    if (i > at + 3 && i < lower.size() && lower[i] == '=') return true;
  }
  return false;
}

bool may_run_script(const std::string& svg) {
  std::string lower;
  lower.reserve(svg.size());
  for (char c : svg)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return lower.find("<script") != std::string::npos ||
         lower.find("javascript:") != std::string::npos ||
         lower.find("<foreignobject") != std::string::npos || has_event_attribute(lower);
}

}  // namespace

std::optional<std::string> DotRenderer::render_now(const std::string& dot) const {
  if (dot.size() > kMaxDot) return std::nullopt;
  int in_pipe[2], out_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0) return std::nullopt;
  Fd in_read{in_pipe[0]}, in_write{in_pipe[1]};
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return std::nullopt;
  Fd out_read{out_pipe[0]}, out_write{out_pipe[1]};

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_read.fd, 0);
  posix_spawn_file_actions_adddup2(&actions, out_write.fd, 1);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  std::string path = dot_path_;
  std::string arg0 = "dot", arg1 = "-Tsvg";
  char* argv[] = {arg0.data(), arg1.data(), nullptr};
  std::string env0 = "SERVER_NAME=warden", env1 = "GV_FILE_PATH=/nonexistent/";
  char* envp[] = {env0.data(), env1.data(), nullptr};
  pid_t pid = -1;
  int spawned = ::posix_spawn(&pid, path.c_str(), &actions, nullptr, argv, envp);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return std::nullopt;
  in_read.reset();
  out_write.reset();
  ::fcntl(in_write.fd, F_SETFL, O_NONBLOCK);
  ::fcntl(out_read.fd, F_SETFL, O_NONBLOCK);

  const auto deadline = std::chrono::steady_clock::now() + kRenderTime;
  std::size_t written = 0;
  std::string svg;
  bool failed = false;
  if (dot.empty()) in_write.reset();
  while (!failed) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      failed = true;
      break;
    }
    pollfd fds[2] = {{out_read.fd, POLLIN, 0}, {in_write.fd, POLLOUT, 0}};
    const int n = ::poll(fds, in_write.fd >= 0 ? 2 : 1, static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR) failed = true;
    if (n <= 0) continue;
    if (in_write.fd >= 0 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
      const ssize_t w = ::write(in_write.fd, dot.data() + written, dot.size() - written);
      if (w > 0) written += static_cast<std::size_t>(w);
      if (w < 0 && errno != EAGAIN) failed = true;
      if (written == dot.size()) in_write.reset();
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[16384];
      const ssize_t r = ::read(out_read.fd, buf, sizeof buf);
      if (r == 0) break;
      if (r < 0 && errno != EAGAIN) failed = true;
      if (r > 0) svg.append(buf, static_cast<std::size_t>(r));
      if (svg.size() > kMaxSvg) failed = true;
    }
  }
  ::kill(pid, SIGKILL);  // gone already, or over a bound
  int status = 0;
  ::waitpid(pid, &status, 0);  // SIGCHLD may be ignored: then the kernel reaps it
  if (failed || svg.find("</svg>") == std::string::npos || may_run_script(svg)) return std::nullopt;
  const std::size_t start = svg.find("<svg");
  if (start == std::string::npos) return std::nullopt;
  return svg.substr(start);
}

awaitable<std::optional<std::string>> DotRenderer::render(std::string dot) const {
  auto ex = co_await asio::this_coro::executor;
  auto done = std::make_shared<Pending<std::optional<std::string>>>(ex);
  std::thread([this, ex, done, dot = std::move(dot)] {
    auto svg = render_now(dot);
    asio::post(ex, [done, svg = std::move(svg)]() mutable { done->set(std::move(svg)); });
  }).detach();
  auto result = co_await done->wait(kRenderTime + std::chrono::seconds(5));
  co_return result ? std::move(*result) : std::nullopt;
}

}  // namespace warden::mcp
