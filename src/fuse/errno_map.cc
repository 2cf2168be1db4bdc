#include "fuse/errno_map.h"

#include <cerrno>

namespace tessera::fuse {

int errno_of(Errc code) {
  switch (code) {
    case Errc::ok: return 0;
    case Errc::invalid_argument: return EINVAL;
    case Errc::not_found: return ENOENT;
    case Errc::already_exists: return EEXIST;
    case Errc::permission_denied: return EACCES;
    // A key the cluster does not accept (revoked while mounted).
    case Errc::unauthenticated: return EACCES;
    case Errc::not_a_directory: return ENOTDIR;
    case Errc::is_a_directory: return EISDIR;
    case Errc::not_empty: return ENOTEMPTY;
    // An operation on the wrong kind of object (truncating a table,
    // removing or renaming a volume mount point). Callers that can tell
    // the case apart first answer more precisely (ENODEV, EBUSY).
    case Errc::wrong_kind: return EINVAL;
    case Errc::cross_volume: return EXDEV;
    case Errc::quota_exceeded: return EDQUOT;
    case Errc::too_large: return EFBIG;
    // Conditional updates (tables) and out-of-range keys never arise from
    // file operations; should they, the caller may retry.
    case Errc::version_mismatch: return EAGAIN;
    case Errc::out_of_range: return EINVAL;
    // The server's proposal queue is full, or a membership change is
    // pending: retrying later succeeds.
    case Errc::resource_exhausted: return EAGAIN;
    // A file write the server could not settle after its own retries (a
    // purge it raced with); the outcome is known: not written.
    case Errc::failed_precondition: return EIO;
    case Errc::io_error:
    case Errc::corruption:
    case Errc::unavailable:
    case Errc::internal:
    case Errc::not_leader: return EIO;
  }
  return EIO;
}

}  // namespace tessera::fuse
