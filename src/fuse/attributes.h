#pragma once
// How a Tessera object looks through the mount.
//
//   directory, volume root  S_IFDIR with the object's mode bits
//   file                    S_IFREG
//   table, stream           S_IFREG too, so listings and `ls -l` show them
//                           with owner, mode and size (bytes held); opening
//                           one fails with ENODEV (kOpenRefusedErrno): they
//                           hold rows or records, not bytes. Their kind is
//                           the xattr user.tessera.kind.
//   symlink                 S_IFLNK, mode 0777, size = target length
//
// Times: mtime and ctime are the object's (milliseconds kept as
// nanoseconds); atime is not tracked and shows mtime. st_blocks counts
// 512-byte units of the size.

#include <sys/stat.h>

#include <cerrno>
#include <string>
#include <string_view>

#include "fuse/identity_map.h"
#include "tessera/v1/tessera.pb.h"

namespace tessera::fuse {

inline constexpr int kOpenRefusedErrno = ENODEV;
inline constexpr std::string_view kKindXattr = "user.tessera.kind";

// Whether the kind holds bytes a file handle can read and write.
bool is_file(v1::ObjectKind kind);
bool is_directory(v1::ObjectKind kind);

// "file", "directory", "table", "stream", "symlink", "volume".
std::string kind_name(v1::ObjectKind kind);

// The attributes of `st`; st_ino is left to the caller.
struct stat to_attr(const v1::Stat& st, const IdentityMap& ids);

}  // namespace tessera::fuse
