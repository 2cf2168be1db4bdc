#pragma once
// Path syntax: absolute, '/'-separated, no empty, "." or ".." components,
// components 1..255 bytes without NUL, whole path at most 4096 bytes.

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace tessera::ns {

inline constexpr size_t kPathBytesMax = 4096;
inline constexpr size_t kNameBytesMax = 255;

// Splits a validated absolute path into components ("/" → {}).
Result<std::vector<std::string>> split_path(std::string_view path);
// Validates one name (a path component, topic, or group name).
Status check_name(std::string_view name, std::string_view what);
// Joins components back into "/a/b" ("/" for none).
std::string join_path(const std::vector<std::string>& parts);
// True when `path` is `prefix` or lies below it ("/a" covers "/a/b", not "/ab").
bool path_within(std::string_view path, std::string_view prefix);
// Splits "PATH:TOPIC" at the last ':'.
Result<std::pair<std::string, std::string>> split_topic(std::string_view name);

}  // namespace tessera::ns
