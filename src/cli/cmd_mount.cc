// mount: serves a Tessera path as a local directory through FUSE
// (src/fuse: TesseraFs over this CLI's connection and credentials).
//
// `tessera mount [-o OPTS] [--foreground] PATH MOUNTPOINT`; the options are
// listed in fuse/mount_options.h. With --foreground the command serves
// until SIGINT, SIGTERM or an unmount (fusermount3 -u), flushes what open
// files still buffer, and exits 0. Without it, the command starts itself
// again in the background — a new session with its standard streams on
// /dev/null, given --foreground and a hidden --ready-fd — waits until that
// process has mounted or failed, and exits with its result. It re-executes
// rather than fork()s because gRPC's threads do not survive a fork.

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "cli/app.h"
#include "cli/context.h"
#include "client/connection.h"
#include "fuse/fuse_mount.h"
#include "fuse/mount_options.h"
#include "fuse/tessera_fs.h"

namespace tessera::cli {
namespace {

// What the background process writes to --ready-fd: "ok", or an Errc name,
// a space and the message.
constexpr char kReadyOk[] = "ok";
constexpr size_t kReadyMessageBytesMax = 4096;

struct MountArgs {
  std::string path;
  std::string mountpoint;
  std::vector<std::string> options;
  bool foreground = false;
  int ready_fd = -1;
};

void report_ready(int fd, const Status& s) {
  if (fd < 0) return;
  std::string msg = s.is_ok() ? kReadyOk : std::string(errc_name(s.code())) + " " + s.message();
  if (msg.size() > kReadyMessageBytesMax) msg.resize(kReadyMessageBytesMax);
  size_t done = 0;
  while (done < msg.size()) {
    ssize_t w = ::write(fd, msg.data() + done, msg.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    done += static_cast<size_t>(w);
  }
  ::close(fd);
}

Status serve(Context& ctx, const MountArgs& a) {
  TESSERA_ASSIGN_OR_RETURN(fuse::MountOptions opts, fuse::parse_mount_options(a.options));
  std::error_code ec;
  std::string mountpoint = std::filesystem::absolute(a.mountpoint, ec).lexically_normal();
  if (ec) return Status(Errc::invalid_argument, a.mountpoint + ": " + ec.message());
  if (mountpoint.size() > 1 && mountpoint.back() == '/') mountpoint.pop_back();
  // The CLI's own connection names the endpoint and credentials; the mount
  // gets one of its own with the call deadline of -o timeout.
  TESSERA_ASSIGN_OR_RETURN(client::Connection * cli_conn, ctx.connect());
  client::ConnectionOptions co;
  co.endpoint = cli_conn->endpoint();
  co.credentials = cli_conn->credentials();
  co.unary_timeout_ms = opts.call_timeout_ms;
  client::Connection conn(std::move(co));
  fuse::TesseraFs fs(conn, opts);
  fuse::FuseMount mount(fs, mountpoint);
  Status s = fs.start(a.path);
  if (s.is_ok()) s = mount.mount();
  report_ready(a.ready_fd, s);
  TESSERA_TRY(s);
  if (a.ready_fd >= 0 && ::chdir("/") != 0) {
    // Stay where we are; nothing depends on the working directory now.
  }
  return mount.serve();
}

Result<std::vector<std::string>> own_command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (all.empty()) return Status(Errc::internal, "cannot read /proc/self/cmdline");
  std::vector<std::string> argv;
  size_t pos = 0;
  while (pos < all.size()) {
    size_t end = all.find('\0', pos);
    if (end == std::string::npos) end = all.size();
    argv.push_back(all.substr(pos, end - pos));
    pos = end + 1;
  }
  return argv;
}

Status start_background(const MountArgs& a) {
  // Bad options are usage errors here, not in a process nobody watches.
  TESSERA_TRY(fuse::parse_mount_options(a.options).status());
  TESSERA_ASSIGN_OR_RETURN(std::vector<std::string> argv_s, own_command_line());
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Status(Errc::internal, std::string("pipe: ") + std::strerror(errno));
  argv_s.push_back("--foreground");
  argv_s.push_back("--ready-fd");
  argv_s.push_back(std::to_string(fds[1]));
  std::vector<char*> argv;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return Status(Errc::internal, std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::setsid();
    int null_fd = ::open("/dev/null", O_RDWR);
    if (null_fd >= 0) {
      ::dup2(null_fd, STDIN_FILENO);
      ::dup2(null_fd, STDOUT_FILENO);
      ::dup2(null_fd, STDERR_FILENO);
    }
    ::fcntl(fds[1], F_SETFD, 0);  // the ready pipe survives exec
    ::execv("/proc/self/exe", argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  std::string msg;
  char buf[512];
  while (true) {
    ssize_t n = ::read(fds[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    msg.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  if (msg == kReadyOk) return Status::ok();
  int wstatus = 0;
  ::waitpid(pid, &wstatus, 0);
  if (msg.empty()) {
    return Status(Errc::internal, a.mountpoint + ": the mount process exited before mounting (status " +
                                      std::to_string(WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1) +
                                      "); run with --foreground to see why");
  }
  size_t space = msg.find(' ');
  Errc code = errc_from_name(msg.substr(0, space));
  if (code == Errc::ok) code = Errc::internal;
  return Status(code, space == std::string::npos ? msg : msg.substr(space + 1));
}

}  // namespace

void register_mount_command(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<MountArgs>();
  auto* cmd = app.add_subcommand(
      "mount", "Mount PATH at the local directory MOUNTPOINT with FUSE (unmount: fusermount3 -u)");
  cmd->add_option("PATH", a->path, "Tessera path to mount")->required();
  cmd->add_option("MOUNTPOINT", a->mountpoint, "Local directory")->required();
  cmd->add_option("-o", a->options,
                  "Mount options, comma-separated: attr_timeout=SEC, entry_timeout=SEC (default "
                  "1), direct_io, timeout=SEC (metadata calls, default 30), allow_other, allow_root, "
                  "auto_unmount, ro, rw, fsname=, subtype=, max_read=")
      ->type_name("OPTS")
      ->allow_extra_args(false);
  cmd->add_flag("-f,--foreground", a->foreground,
                "Stay in the foreground until SIGINT/SIGTERM or an unmount");
  cmd->add_option("--ready-fd", a->ready_fd, "internal: report the mount's outcome on this fd")
      ->group("");
  on_run(cmd, ctx, [&ctx, a]() -> Status {
    if (!a->foreground) return start_background(*a);
    return serve(ctx, *a);
  });
}

}  // namespace tessera::cli
