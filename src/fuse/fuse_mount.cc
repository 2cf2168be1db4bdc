#include "fuse/fuse_mount.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "fuse/fuse_ops.h"

namespace tessera::fuse {
namespace {

// Worker threads libfuse keeps idle; more are started while all are busy.
constexpr unsigned kIdleThreadsMax = 16;

// libfuse's -o list: the file system's name, then the user's options.
std::string fuse_option_list(const TesseraFs& fs) {
  std::string o = "fsname=tessera:" + fs.root() + ",subtype=tessera";
  for (const auto& opt : fs.options().fuse_options) o += "," + opt;
  return o;
}

}  // namespace

FuseMount::FuseMount(TesseraFs& fs, std::string mountpoint)
    : fs_(fs), mountpoint_(std::move(mountpoint)) {}

FuseMount::~FuseMount() { teardown(); }

Status FuseMount::mount() {
  struct stat sb {};
  if (::stat(mountpoint_.c_str(), &sb) != 0) {
    return Status(errno == ENOENT ? Errc::not_found : Errc::io_error,
                  mountpoint_ + ": " + std::strerror(errno));
  }
  if (!S_ISDIR(sb.st_mode)) return error(Errc::not_a_directory, mountpoint_);

  ctx_ = std::make_unique<FuseContext>();
  ctx_->fs = &fs_;
  ctx_->attr_timeout_s = fs_.options().attr_timeout_s;
  ctx_->entry_timeout_s = fs_.options().entry_timeout_s;
  ctx_->direct_io = fs_.options().direct_io;

  std::string opts = fuse_option_list(fs_);
  std::vector<std::string> argv_s = {"tessera-mount", "-o", opts};
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  se_ = fuse_session_new(&args, &lowlevel_ops(), sizeof(fuse_lowlevel_ops), ctx_.get());
  if (se_ == nullptr) {
    return Status(Errc::invalid_argument, "fuse: cannot create a session with options " + opts);
  }
  ctx_->session = se_;
  fuse_session* se = se_;
  fs_.set_invalidator([se](uint64_t nodeid) {
    // Attributes only (negative offset); ENOENT when the kernel forgot it.
    (void)fuse_lowlevel_notify_inval_inode(se, nodeid, -1, 0);
  });
  if (fuse_set_signal_handlers(se_) != 0) {
    return Status(Errc::internal, "fuse: cannot install signal handlers");
  }
  signals_ = true;
  if (fuse_session_mount(se_, mountpoint_.c_str()) != 0) {
    return Status(Errc::io_error, mountpoint_ +
                                      ": mount failed (is /dev/fuse usable, fusermount3 installed, "
                                      "and the directory not already a mount?)");
  }
  mounted_ = true;
  return Status::ok();
}

Status FuseMount::serve() {
  TESSERA_ASSERT(mounted_);
  fuse_loop_config cfg {};
  cfg.clone_fd = 0;
  cfg.max_idle_threads = kIdleThreadsMax;
  int rc = fuse_session_loop_mt(se_, &cfg);
  if (rc < 0) spdlog::warn("tessera mount: {}: session loop ended: {}", mountpoint_, std::strerror(-rc));
  // Processes may still hold files open: their buffered bytes go to the
  // cluster before the mount disappears under them.
  Status flushed = fs_.close_all();
  teardown();
  return flushed;
}

void FuseMount::teardown() {
  if (se_ == nullptr) return;
  fs_.set_invalidator(nullptr);
  if (mounted_) fuse_session_unmount(se_);
  mounted_ = false;
  if (signals_) fuse_remove_signal_handlers(se_);
  signals_ = false;
  fuse_session_destroy(se_);
  se_ = nullptr;
}

}  // namespace tessera::fuse
