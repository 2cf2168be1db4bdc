#pragma once
// The one place where Tessera error codes become errno values for the FUSE
// mount (CONVENTIONS: each gateway maps internal errors in one place).
//
// The server reports every failure as an Errc name in the x-tessera-errc
// trailer; client::Connection turns it back into a Status with that Errc.
// The table (errno_map.cc) is written from the codes the namespace and file
// operations return: not_found → ENOENT, permission_denied → EACCES,
// already_exists → EEXIST, quota_exceeded → EDQUOT, not_a_directory →
// ENOTDIR, is_a_directory → EISDIR, not_empty → ENOTEMPTY, cross_volume →
// EXDEV, too_large → EFBIG; anything meaning "the cluster could not answer"
// (unavailable, not_leader after the client's retries, io_error,
// corruption, internal) → EIO.

#include "base/status.h"

namespace tessera::fuse {

// The errno for `code`; 0 for Errc::ok.
int errno_of(Errc code);

// The errno for a failed Status; 0 for ok.
inline int errno_of(const Status& s) { return errno_of(s.code()); }

}  // namespace tessera::fuse
