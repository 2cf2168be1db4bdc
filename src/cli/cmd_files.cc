// File commands: put, get, cat.
//
// put streams a local file (or stdin, '-') in kChunkBytes WriteRequests; the
// first creates and truncates the remote file. get and cat stream Read
// responses, checking that offsets arrive in order. get opens the local file
// only once the server has answered, so a failed read (not found, denied)
// leaves an existing local file untouched; a transfer that fails midway
// leaves what was received. put and get draw a progress bar on stderr when
// it is a TTY.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "cli/context.h"
#include "cli/output.h"
#include "cli/progress.h"
#include "client/file_stream.h"

namespace tessera::cli {
namespace {

constexpr size_t kChunkBytes = 1 << 20;
static_assert(kChunkBytes <= client::kWriteMessageBytesMax);

Status local_error(const std::string& name, int err) {
  Errc code = err == ENOENT   ? Errc::not_found
              : err == EACCES ? Errc::permission_denied
              : err == EISDIR ? Errc::is_a_directory
                              : Errc::io_error;
  return Status(code, name + ": " + std::strerror(err));
}

// Reads until `n` bytes or end of input; returns the count.
Result<size_t> read_full(int fd, char* buf, size_t n, const std::string& name) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::read(fd, buf + got, n - got);
    if (r < 0) {
      if (errno == EINTR) continue;
      return local_error(name, errno);
    }
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  return got;
}

class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

Status run_put(Context& ctx, const std::string& local, const std::string& path) {
  bool is_stdin = local == "-";
  int fd = is_stdin ? ctx.in_fd : ::open(local.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return local_error(local, errno);
  FdCloser closer(is_stdin ? -1 : fd);
  struct stat sb {};
  uint64_t total = 0;
  if (::fstat(fd, &sb) == 0) {
    if (S_ISDIR(sb.st_mode)) return local_error(local, EISDIR);
    if (S_ISREG(sb.st_mode)) total = static_cast<uint64_t>(sb.st_size);
  }
  TESSERA_ASSIGN_OR_RETURN(client::Connection * conn, ctx.connect());
  Progress progress("put " + path, total, ctx.progress);
  auto writer = conn->open_writer();
  std::string buf(kChunkBytes, '\0');
  uint64_t offset = 0;
  bool first = true;
  const std::string source = is_stdin ? "stdin" : local;
  while (true) {
    TESSERA_ASSIGN_OR_RETURN(size_t n, read_full(fd, buf.data(), buf.size(), source));
    if (n == 0 && !first) break;
    v1::WriteRequest w;
    w.set_offset(offset);
    w.set_data(buf.data(), n);
    if (first) {
      w.set_path(path);
      w.set_create(true);
      w.set_truncate(true);
      first = false;
    }
    TESSERA_TRY(writer->send(w));
    offset += n;
    progress.advance(n);
    if (n < buf.size()) break;
  }
  TESSERA_ASSIGN_OR_RETURN(v1::WriteResponse resp, writer->finish());
  progress.finish();
  if (ctx.json) {
    print_json(
        ctx, Json{{"path", path}, {"bytes_written", resp.bytes_written()}, {"size", resp.size()}});
  }
  return Status::ok();
}

// Where get writes: ctx.out for '-', else a local file opened on first use.
class LocalSink {
 public:
  LocalSink(Context& ctx, std::string local) : ctx_(ctx), local_(std::move(local)) {}
  ~LocalSink() {
    if (fd_ >= 0) ::close(fd_);
  }
  LocalSink(const LocalSink&) = delete;
  LocalSink& operator=(const LocalSink&) = delete;

  Status write(const std::string& data) {
    if (local_ == "-") {
      ctx_.out->write(data.data(), static_cast<std::streamsize>(data.size()));
      if (!ctx_.out->good()) return Status(Errc::io_error, "stdout: write failed");
      return Status::ok();
    }
    TESSERA_TRY(open());
    size_t done = 0;
    while (done < data.size()) {
      ssize_t w = ::write(fd_, data.data() + done, data.size() - done);
      if (w < 0) {
        if (errno == EINTR) continue;
        return local_error(local_, errno);
      }
      done += static_cast<size_t>(w);
    }
    return Status::ok();
  }

  Status close() {
    if (local_ == "-") {
      ctx_.out->flush();
      return ctx_.out->good() ? Status::ok() : Status(Errc::io_error, "stdout: write failed");
    }
    TESSERA_TRY(open());
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return local_error(local_, errno);
    return Status::ok();
  }

 private:
  Status open() {
    if (fd_ >= 0) return Status::ok();
    fd_ = ::open(local_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd_ < 0) return local_error(local_, errno);
    return Status::ok();
  }

  Context& ctx_;
  std::string local_;
  int fd_ = -1;
};

Status run_get(Context& ctx, const std::string& path, std::string local, bool show_progress) {
  TESSERA_ASSIGN_OR_RETURN(client::Connection * conn, ctx.connect());
  std::error_code ec;
  if (local != "-" && std::filesystem::is_directory(local, ec)) {
    local += "/" + std::string(base_name(path));
  }
  uint64_t total = 0;
  if (show_progress) {
    v1::StatRequest sr;
    sr.set_path(path);
    sr.set_follow_symlinks(true);
    TESSERA_ASSIGN_OR_RETURN(v1::StatResponse st, conn->stat(sr));
    total = st.stat().size();
  }
  Progress progress("get " + path, total, show_progress);
  v1::ReadRequest rr;
  rr.set_path(path);
  auto reader = conn->open_reader(rr);
  LocalSink sink(ctx, local);
  uint64_t expect = 0;
  v1::ReadResponse piece;
  while (true) {
    TESSERA_ASSIGN_OR_RETURN(bool more, reader->next(&piece));
    if (!more) break;
    if (piece.offset() != expect) {
      return Status(Errc::corruption, path + ": data arrived out of order (offset " +
                                          std::to_string(piece.offset()) + ", expected " +
                                          std::to_string(expect) + ")");
    }
    TESSERA_TRY(sink.write(piece.data()));
    expect += piece.data().size();
    progress.advance(piece.data().size());
  }
  progress.finish();
  return sink.close();
}

}  // namespace

void register_file_commands(CLI::App& app, Context& ctx) {
  auto put_local = std::make_shared<std::string>();
  auto put_path = std::make_shared<std::string>();
  auto* put = app.add_subcommand("put", "Upload a local file (replacing the remote file)");
  put->add_option("LOCAL", *put_local, "Local file, or - for stdin")->required();
  put->add_option("PATH", *put_path, "Remote file")->required();
  on_run(put, ctx, [&ctx, put_local, put_path] { return run_put(ctx, *put_local, *put_path); });

  auto get_path = std::make_shared<std::string>();
  auto get_local = std::make_shared<std::string>();
  auto* get = app.add_subcommand("get", "Download a file");
  get->add_option("PATH", *get_path, "Remote file")->required();
  get->add_option("LOCAL", *get_local, "Local file or directory, or - for stdout")->required();
  on_run(get, ctx, [&ctx, get_path, get_local] {
    return run_get(ctx, *get_path, *get_local, ctx.progress && *get_local != "-");
  });

  auto cat_path = std::make_shared<std::string>();
  auto* cat = app.add_subcommand("cat", "Write a file to stdout");
  cat->add_option("PATH", *cat_path, "Remote file")->required();
  on_run(cat, ctx, [&ctx, cat_path] { return run_get(ctx, *cat_path, "-", false); });
}

}  // namespace tessera::cli
