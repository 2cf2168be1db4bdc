#pragma once
// FuseMount: serves one TesseraFs at a local directory through libfuse's
// low-level API (a session on /dev/fuse, multi-threaded loop).
//
// Lifecycle: mount() creates the session, installs the SIGINT / SIGTERM /
// SIGHUP handlers (each ends the loop) and mounts; serve() runs the loop
// until a signal or an unmount (fusermount3 -u, umount), then flushes every
// open handle's buffered writes to the cluster — processes may still hold
// files open — and only then unmounts and destroys the session. The
// destructor unmounts a session that was mounted but never served.
//
// One thread calls mount() and serve(); libfuse's worker threads call into
// TesseraFs meanwhile.

#include <memory>
#include <string>

#include "base/status.h"

struct fuse_session;

namespace tessera::fuse {

class TesseraFs;
struct FuseContext;

class FuseMount {
 public:
  FuseMount(TesseraFs& fs, std::string mountpoint);
  ~FuseMount();
  FuseMount(const FuseMount&) = delete;
  FuseMount& operator=(const FuseMount&) = delete;

  Status mount();
  // Returns once unmounted; the status is the first flush failure, if any.
  Status serve();

 private:
  void teardown();

  TesseraFs& fs_;
  const std::string mountpoint_;
  std::unique_ptr<FuseContext> ctx_;
  fuse_session* se_ = nullptr;
  bool mounted_ = false;
  bool signals_ = false;
};

}  // namespace tessera::fuse
