#pragma once
// The tessera command line: global flags (--json, --endpoint,
// --credentials), every subcommand (cmd_*.cc), and the exit status rules.
//
// Exit status: 0 success; 1 the operation failed ("tessera: <message>" on
// ctx.err, the message naming the subject); 2 usage error (also
// "tessera: ..." first). --help and --version print to ctx.out and exit 0.

#include "cli/context.h"

namespace tessera::cli {

inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// Parses argv (argv[0] is the program) and runs the chosen command.
int run_cli(Context& ctx, int argc, const char* const* argv);

// `tessera mount` (cmd_mount.cc).
void register_mount_command(CLI::App& app, Context& ctx);

}  // namespace tessera::cli
