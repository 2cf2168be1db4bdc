#pragma once
// Context: the state one `tessera` invocation shares between main.cc and the
// command files — global flags, the lazily opened Connection, the chosen
// command's action, and the standard streams (replaceable in tests).
//
// Single-threaded: created by main, lives for the whole invocation.

#include <unistd.h>

#include <functional>
#include <iostream>
#include <memory>
#include <string>

#include "base/status.h"
#include "cli/output.h"
#include "client/connection.h"
#include "client/credentials.h"

namespace CLI {
class App;
}  // namespace CLI

namespace tessera::cli {

struct Context {
  // Global flags.
  bool json = false;
  std::string endpoint_flag;
  std::string credentials_flag;

  // Set by the CLI11 callback of the chosen subcommand; main runs it after
  // parsing succeeded.
  std::function<Status()> action;

  client::EnvLookup env = client::process_env();
  std::ostream* out = &std::cout;
  std::ostream* err = &std::cerr;
  int in_fd = STDIN_FILENO;
  bool progress = false;  // draw progress bars (stderr is a TTY)

  // The connection, opened on first use from the flags, environment and
  // credentials file (client/credentials.h). Errc::unauthenticated when no
  // credentials are found.
  Result<client::Connection*> connect();
  // Replaces the connection (tests).
  void set_connection(std::unique_ptr<client::Connection> conn) { conn_ = std::move(conn); }

 private:
  std::unique_ptr<client::Connection> conn_;
};

// Writes `j` and a newline to ctx.out: indented, or on one line for JSON
// Lines output (scan, consume).
void print_json(Context& ctx, const Json& j, bool one_line = false);

// Makes `fn` the action of `cmd` when cmd is the subcommand given.
void on_run(CLI::App* cmd, Context& ctx, std::function<Status()> fn);

// Each adds its subcommands to `app` (cmd_*.cc).
void register_namespace_commands(CLI::App& app, Context& ctx);
void register_file_commands(CLI::App& app, Context& ctx);
void register_table_commands(CLI::App& app, Context& ctx);
void register_stream_commands(CLI::App& app, Context& ctx);
void register_consume_command(CLI::App& stream, Context& ctx);
void register_admin_commands(CLI::App& app, Context& ctx);
void register_cluster_commands(CLI::App& app, Context& ctx);

}  // namespace tessera::cli
