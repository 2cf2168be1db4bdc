// tessera: the command-line client (see cli/app.h).

#include "cli/app.h"
#include "cli/progress.h"

int main(int argc, char** argv) {
  tessera::cli::Context ctx;
  ctx.progress = tessera::cli::stderr_is_tty();
  return tessera::cli::run_cli(ctx, argc, argv);
}
