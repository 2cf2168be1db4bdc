#pragma once
// The libfuse low-level operation table of a Tessera mount: each entry
// unpacks a request, calls TesseraFs and sends the reply. Internal to
// tessera_fuse (fuse_mount.cc); includes libfuse's header.

#define FUSE_USE_VERSION 35
#include <fuse_lowlevel.h>

#include "fuse/tessera_fs.h"

namespace tessera::fuse {

// What every request handler reaches through fuse_req_userdata().
struct FuseContext {
  TesseraFs* fs = nullptr;
  fuse_session* session = nullptr;  // for cache invalidation notices
  double attr_timeout_s = 1.0;
  double entry_timeout_s = 1.0;
  bool direct_io = false;
};

// The operation table (static storage).
const fuse_lowlevel_ops& lowlevel_ops();

}  // namespace tessera::fuse
