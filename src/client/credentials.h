#pragma once
// Credentials files and where a client finds them.
//
// A credentials file is text, one `key=value` per line, '#' starts a comment
// line, whitespace around keys and values is ignored, unknown keys are
// ignored:
//
//   # Tessera credentials
//   user=admin
//   key_id=TK0123456789ABCDEF
//   secret=...
//   endpoint=127.0.0.1:7070      (optional)
//
// Lookup order for a client (find_credentials): an explicit path (the CLI's
// --credentials), the TESSERA_CREDENTIALS environment variable, then
// `<default data dir>/admin.credentials` if that file exists. Endpoint order
// (resolve_endpoint): explicit flag, TESSERA_ENDPOINT, the file's endpoint=,
// kDefaultEndpoint.
//
// The environment is read through an EnvLookup so tests need no process
// globals; process_env() is the real one.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace tessera::client {

inline constexpr std::string_view kDefaultEndpoint = "127.0.0.1:7070";
inline constexpr std::string_view kAdminCredentialsFile = "admin.credentials";
// Credentials files are tiny; anything larger is not one.
inline constexpr size_t kCredentialsFileBytesMax = 64 * 1024;

struct Credentials {
  std::string user;
  std::string key_id;
  std::string secret;
  std::string endpoint;  // empty = not given
  // Where the credentials came from (a file path), for error messages.
  std::string source;
};

// Returns the value of an environment variable; nullopt when unset or empty.
using EnvLookup = std::function<std::optional<std::string>(const char* name)>;
EnvLookup process_env();

// Parses file text. `source` names the file in error messages
// ("/x/admin.credentials:3: expected key=value"). key_id and secret are
// required.
Result<Credentials> parse_credentials(std::string_view text, std::string_view source);

// The file text for `c`: a comment header, then user, key_id, secret and
// endpoint (when non-empty). parse_credentials accepts it.
std::string format_credentials(const Credentials& c);

// Reads and parses one file.
Result<Credentials> load_credentials(const std::string& path);

// $TESSERA_DATA_DIR, else $XDG_DATA_HOME/tessera, else
// $HOME/.local/share/tessera. invalid_argument when none is set.
Result<std::string> default_data_dir(const EnvLookup& env);

// Applies the lookup order above. nullopt when no explicit path or variable
// is given and the default file does not exist; an error when a named file
// cannot be read or parsed.
Result<std::optional<Credentials>> find_credentials(const std::string& explicit_path,
                                                    const EnvLookup& env);

// Applies the endpoint order above; `creds` may be null.
std::string resolve_endpoint(const std::string& explicit_endpoint, const EnvLookup& env,
                             const Credentials* creds);

}  // namespace tessera::client
