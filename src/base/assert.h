#pragma once
// TESSERA_ASSERT: an always-on invariant check. A failed assertion is a bug:
// it logs the condition and location and aborts. I/O errors are never asserted.

namespace tessera::detail {
[[noreturn]] void assert_fail(const char* cond, const char* file, int line, const char* msg);
}  // namespace tessera::detail

#define TESSERA_ASSERT(cond)                                                      \
  do {                                                                            \
    if (!(cond)) [[unlikely]]                                                     \
      ::tessera::detail::assert_fail(#cond, __FILE__, __LINE__, nullptr);         \
  } while (0)

#define TESSERA_ASSERT_MSG(cond, msg)                                             \
  do {                                                                            \
    if (!(cond)) [[unlikely]]                                                     \
      ::tessera::detail::assert_fail(#cond, __FILE__, __LINE__, (msg));           \
  } while (0)
