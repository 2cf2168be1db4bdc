#include "cli/app.h"

#include <CLI/CLI.hpp>

#ifndef TESSERA_VERSION
#define TESSERA_VERSION "dev"
#endif

namespace tessera::cli {
namespace {

constexpr char kFooter[] = R"(Credentials: --credentials FILE, else $TESSERA_CREDENTIALS, else
<data dir>/admin.credentials, where <data dir> is $TESSERA_DATA_DIR, else
$XDG_DATA_HOME/tessera, else ~/.local/share/tessera.
Endpoint: --endpoint, else $TESSERA_ENDPOINT, else the credentials file's
endpoint=, else 127.0.0.1:7070.
Exit status: 0 ok, 1 the operation failed, 2 usage error.)";

// "tessera table put": the program and the subcommands given so far.
std::string command_line_of(CLI::App& app) {
  std::string cmd = "tessera";
  CLI::App* a = &app;
  while (true) {
    auto subs = a->get_subcommands();
    if (subs.empty()) break;
    a = subs.front();
    cmd += " " + a->get_name();
  }
  return cmd;
}

}  // namespace

int run_cli(Context& ctx, int argc, const char* const* argv) {
  CLI::App app("Tessera command-line client: files, tables and streams in one namespace",
               "tessera");
  app.fallthrough();
  app.require_subcommand(1);
  app.set_version_flag("--version", "tessera " TESSERA_VERSION);
  app.add_flag("--json", ctx.json,
               "Machine-readable output: JSON (JSON Lines for table scan and stream consume)");
  app.add_option("--endpoint", ctx.endpoint_flag, "Server address")->type_name("HOST:PORT");
  app.add_option("--credentials", ctx.credentials_flag, "Credentials file")->type_name("FILE");

  register_namespace_commands(app, ctx);
  register_file_commands(app, ctx);
  register_table_commands(app, ctx);
  register_stream_commands(app, ctx);
  register_admin_commands(app, ctx);
  register_cluster_commands(app, ctx);
  register_mount_command(app, ctx);
  // After the subcommands, which would otherwise inherit it.
  app.footer(kFooter);

  if (argc <= 1) {
    *ctx.err << app.help();
    return kExitUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
      return app.exit(e, *ctx.out, *ctx.err);
    }
    *ctx.err << "tessera: " << e.what() << "\nRun '" << command_line_of(app)
             << " --help' for usage.\n";
    return kExitUsage;
  }
  if (!ctx.action) {
    *ctx.err << "tessera: no command given\nRun '" << command_line_of(app)
             << " --help' for usage.\n";
    return kExitUsage;
  }
  Status s = ctx.action();
  ctx.out->flush();
  if (s.is_ok() && !ctx.out->good()) s = Status(Errc::io_error, "stdout: write failed");
  if (!s.is_ok()) {
    *ctx.err << "tessera: " << s.message() << '\n';
    return kExitFailure;
  }
  return 0;
}

}  // namespace tessera::cli
