#include "base/assert.h"

#include <cstdio>
#include <cstdlib>

namespace tessera::detail {

void assert_fail(const char* cond, const char* file, int line, const char* msg) {
  std::fprintf(stderr, "tessera: assertion failed: %s at %s:%d%s%s\n", cond, file, line,
               msg ? ": " : "", msg ? msg : "");
  std::fflush(stderr);
  std::abort();
}

}  // namespace tessera::detail
