#include "cli/context.h"

#include <CLI/CLI.hpp>

#include "cli/output.h"

namespace tessera::cli {

Result<client::Connection*> Context::connect() {
  if (conn_ != nullptr) return conn_.get();
  TESSERA_ASSIGN_OR_RETURN(std::optional<client::Credentials> creds,
                           client::find_credentials(credentials_flag, env));
  if (!creds.has_value()) {
    auto dir = client::default_data_dir(env);
    std::string default_file = dir ? *dir + "/" + std::string(client::kAdminCredentialsFile)
                                   : "<data dir>/admin.credentials";
    return Status(Errc::unauthenticated,
                  "no credentials found (unauthenticated): pass --credentials FILE, set "
                  "TESSERA_CREDENTIALS, or create " +
                      default_file);
  }
  client::ConnectionOptions o;
  o.endpoint = client::resolve_endpoint(endpoint_flag, env, &*creds);
  o.credentials = std::move(*creds);
  conn_ = std::make_unique<client::Connection>(std::move(o));
  return conn_.get();
}

void print_json(Context& ctx, const Json& j, bool one_line) {
  *ctx.out << json_dump(j, one_line ? -1 : 2) << '\n';
}

void on_run(CLI::App* cmd, Context& ctx, std::function<Status()> fn) {
  cmd->callback([&ctx, fn = std::move(fn)] { ctx.action = fn; });
}

}  // namespace tessera::cli
