#include "namespace/paths.h"

namespace tessera::ns {

Status check_name(std::string_view name, std::string_view what) {
  if (name.empty()) return Status(Errc::invalid_argument, std::string(what) + ": empty name");
  if (name.size() > kNameBytesMax) {
    return Status(Errc::invalid_argument,
                  std::string(what) + ": name longer than " + std::to_string(kNameBytesMax) + " bytes");
  }
  if (name == "." || name == "..") {
    return Status(Errc::invalid_argument, std::string(what) + ": '.' and '..' are not allowed");
  }
  for (char c : name) {
    if (c == '\0' || c == '/') {
      return Status(Errc::invalid_argument, std::string(what) + ": name contains '/' or NUL");
    }
  }
  return Status::ok();
}

Result<std::vector<std::string>> split_path(std::string_view path) {
  std::string shown(path.substr(0, 200));
  if (path.empty()) return Status(Errc::invalid_argument, "empty path");
  if (path.size() > kPathBytesMax) {
    return Status(Errc::invalid_argument, shown + "...: path longer than " +
                                              std::to_string(kPathBytesMax) + " bytes");
  }
  if (path[0] != '/') return Status(Errc::invalid_argument, shown + ": path must be absolute");
  std::vector<std::string> parts;
  if (path.size() == 1) return parts;
  size_t pos = 1;
  while (pos <= path.size()) {
    size_t next = path.find('/', pos);
    if (next == std::string_view::npos) next = path.size();
    std::string_view name = path.substr(pos, next - pos);
    if (name.empty()) {
      // Allow one trailing slash ("/a/b/"), nothing else empty.
      if (next == path.size() && !parts.empty()) break;
      return Status(Errc::invalid_argument, shown + ": empty path component");
    }
    Status st = check_name(name, shown);
    if (!st.is_ok()) return st;
    parts.emplace_back(name);
    pos = next + 1;
  }
  return parts;
}

std::string join_path(const std::vector<std::string>& parts) {
  if (parts.empty()) return "/";
  std::string out;
  for (const auto& p : parts) {
    out += '/';
    out += p;
  }
  return out;
}

bool path_within(std::string_view path, std::string_view prefix) {
  if (prefix == "/") return true;
  if (path.size() < prefix.size() || path.substr(0, prefix.size()) != prefix) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

Result<std::pair<std::string, std::string>> split_topic(std::string_view name) {
  size_t colon = name.rfind(':');
  if (colon == std::string_view::npos) {
    return Status(Errc::invalid_argument, std::string(name) + ": expected STREAM:TOPIC");
  }
  std::string topic(name.substr(colon + 1));
  TESSERA_TRY(check_name(topic, name));
  return std::make_pair(std::string(name.substr(0, colon)), topic);
}

}  // namespace tessera::ns
