#pragma once
// Status and Result<T>: values for expected failures.
//
// A Status is an error code (Errc) plus a message that names what was wrong
// ("/apps/x: not found"). Bugs are not Statuses: they are TESSERA_ASSERTs.
// Result<T> holds either a T or a non-ok Status, shaped like std::expected.

#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "base/assert.h"

namespace tessera {

enum class Errc : int {
  ok = 0,
  invalid_argument,
  not_found,
  already_exists,
  permission_denied,
  unauthenticated,
  not_a_directory,
  is_a_directory,
  not_empty,
  wrong_kind,
  cross_volume,
  quota_exceeded,
  too_large,
  version_mismatch,
  out_of_range,
  io_error,
  corruption,
  unavailable,
  resource_exhausted,
  internal,
  not_leader,  // this replica is not its shard's leader; retry on the leader
  failed_precondition,  // the command's precondition does not hold (yet, or any more)
};

// Stable lower-case name of a code ("not_found"), used on the wire.
std::string_view errc_name(Errc code);
// Human text for a code ("not found"), used in messages.
std::string_view errc_text(Errc code);
// Inverse of errc_name; Errc::internal for an unknown name.
Errc errc_from_name(std::string_view name);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Errc code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return Status(); }

  bool is_ok() const { return code_ == Errc::ok; }
  explicit operator bool() const { return is_ok(); }
  Errc code() const { return code_; }
  const std::string& message() const { return message_; }
  // "message (code)" or "ok".
  std::string to_string() const;

 private:
  Errc code_ = Errc::ok;
  std::string message_;
};

// Builds "subject: text-of-code" — the message shape every layer uses.
inline Status error(Errc code, std::string_view subject) {
  std::string m(subject);
  m += ": ";
  m += errc_text(code);
  return Status(code, std::move(m));
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    TESSERA_ASSERT(!std::get<Status>(v_).is_ok());
  }

  bool is_ok() const { return v_.index() == 0; }
  explicit operator bool() const { return is_ok(); }

  T& value() & {
    TESSERA_ASSERT(is_ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    TESSERA_ASSERT(is_ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    TESSERA_ASSERT(is_ok());
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Status& status() const {
    static const Status kOk;
    return is_ok() ? kOk : std::get<1>(v_);
  }

 private:
  std::variant<T, Status> v_;
};

}  // namespace tessera

// Propagates a non-ok Status from an expression returning Status.
#define TESSERA_TRY(expr)                        \
  do {                                           \
    ::tessera::Status _st = (expr);              \
    if (!_st.is_ok()) return _st;                \
  } while (0)

#define TESSERA_CONCAT_INNER(a, b) a##b
#define TESSERA_CONCAT(a, b) TESSERA_CONCAT_INNER(a, b)
// TESSERA_ASSIGN_OR_RETURN(auto x, expr): unwraps a Result or returns its Status.
#define TESSERA_ASSIGN_OR_RETURN(decl, expr) \
  TESSERA_ASSIGN_OR_RETURN_IMPL(TESSERA_CONCAT(_res_, __LINE__), decl, expr)
#define TESSERA_ASSIGN_OR_RETURN_IMPL(tmp, decl, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.is_ok()) return tmp.status();               \
  decl = std::move(tmp).value()
