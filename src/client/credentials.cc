#include "client/credentials.h"

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace tessera::client {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string line_ref(std::string_view source, size_t line) {
  return std::string(source) + ":" + std::to_string(line);
}

}  // namespace

EnvLookup process_env() {
  return [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') return std::nullopt;
    return std::string(v);
  };
}

Result<Credentials> parse_credentials(std::string_view text, std::string_view source) {
  Credentials c;
  c.source = std::string(source);
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return Status(Errc::invalid_argument, line_ref(source, line_no) + ": expected key=value");
    }
    std::string_view key = trim(line.substr(0, eq));
    std::string value(trim(line.substr(eq + 1)));
    if (key == "user") {
      c.user = std::move(value);
    } else if (key == "key_id") {
      c.key_id = std::move(value);
    } else if (key == "secret") {
      c.secret = std::move(value);
    } else if (key == "endpoint") {
      c.endpoint = std::move(value);
    }
  }
  if (c.key_id.empty()) {
    return Status(Errc::invalid_argument, std::string(source) + ": missing key_id");
  }
  if (c.secret.empty()) {
    return Status(Errc::invalid_argument, std::string(source) + ": missing secret");
  }
  return c;
}

std::string format_credentials(const Credentials& c) {
  std::string out = "# Tessera credentials\n";
  out += "user=" + c.user + "\n";
  out += "key_id=" + c.key_id + "\n";
  out += "secret=" + c.secret + "\n";
  if (!c.endpoint.empty()) out += "endpoint=" + c.endpoint + "\n";
  return out;
}

Result<Credentials> load_credentials(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    int err = errno;
    Errc code = err == ENOENT   ? Errc::not_found
                : err == EACCES ? Errc::permission_denied
                                : Errc::io_error;
    return Status(code, path + ": cannot read credentials: " + std::strerror(err));
  }
  std::string text(kCredentialsFileBytesMax + 1, '\0');
  size_t n = std::fread(text.data(), 1, text.size(), f);
  bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return Status(Errc::io_error, path + ": cannot read credentials");
  if (n > kCredentialsFileBytesMax) {
    return Status(Errc::too_large, path + ": not a credentials file (too large)");
  }
  text.resize(n);
  return parse_credentials(text, path);
}

Result<std::string> default_data_dir(const EnvLookup& env) {
  if (auto d = env("TESSERA_DATA_DIR")) return *d;
  if (auto x = env("XDG_DATA_HOME")) return *x + "/tessera";
  if (auto h = env("HOME")) return *h + "/.local/share/tessera";
  return Status(Errc::invalid_argument,
                "cannot find the data dir: none of TESSERA_DATA_DIR, XDG_DATA_HOME, HOME is set");
}

Result<std::optional<Credentials>> find_credentials(const std::string& explicit_path,
                                                    const EnvLookup& env) {
  std::string path = explicit_path;
  if (path.empty()) {
    if (auto p = env("TESSERA_CREDENTIALS")) path = *p;
  }
  if (path.empty()) {
    auto dir = default_data_dir(env);
    if (!dir) return std::optional<Credentials>();
    std::string candidate = *dir + "/" + std::string(kAdminCredentialsFile);
    std::error_code ec;
    if (!std::filesystem::exists(candidate, ec)) return std::optional<Credentials>();
    path = candidate;
  }
  TESSERA_ASSIGN_OR_RETURN(Credentials c, load_credentials(path));
  return std::optional<Credentials>(std::move(c));
}

std::string resolve_endpoint(const std::string& explicit_endpoint, const EnvLookup& env,
                             const Credentials* creds) {
  if (!explicit_endpoint.empty()) return explicit_endpoint;
  if (auto e = env("TESSERA_ENDPOINT")) return *e;
  if (creds != nullptr && !creds->endpoint.empty()) return creds->endpoint;
  return std::string(kDefaultEndpoint);
}

}  // namespace tessera::client
