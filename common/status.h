// Status and StatusOr: the result types for expected failures (tier 2 of STYLE.md's errors).
//
// Written here rather than taken from abseil: Debian's libabsl is a large multi-library
// dependency for two small classes, and these must be usable from the sandbox init helper, the
// Python module and every library without extra link flags. The interface follows absl's so a
// later switch is mechanical.
#pragma once

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

namespace toolgym {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,
  kNotFound,
  kFailedPrecondition,  // the host lacks a feature (user namespaces, seccomp...)
  kResourceExhausted,
  kDeadlineExceeded,
  kUnavailable,
  kInternal,
};

inline const char* StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "OK";
    case StatusCode::kInvalidArgument:
      return "INVALID_ARGUMENT";
    case StatusCode::kNotFound:
      return "NOT_FOUND";
    case StatusCode::kFailedPrecondition:
      return "FAILED_PRECONDITION";
    case StatusCode::kResourceExhausted:
      return "RESOURCE_EXHAUSTED";
    case StatusCode::kDeadlineExceeded:
      return "DEADLINE_EXCEEDED";
    case StatusCode::kUnavailable:
      return "UNAVAILABLE";
    case StatusCode::kInternal:
      return "INTERNAL";
  }
  return "UNKNOWN";
}

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const {
    return ok() ? "OK" : fmt::format("{}: {}", StatusCodeName(code_), message_);
  }
  // Prefixes the message with context ("creating sandbox: " + message).
  Status WithContext(const std::string& context) const {
    return ok() ? *this : Status(code_, context + ": " + message_);
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status OkStatus() { return Status(); }

template <typename... Args>
Status InvalidArgumentError(fmt::format_string<Args...> f, Args&&... args) {
  return Status(StatusCode::kInvalidArgument, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Status FailedPreconditionError(fmt::format_string<Args...> f, Args&&... args) {
  return Status(StatusCode::kFailedPrecondition, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Status InternalError(fmt::format_string<Args...> f, Args&&... args) {
  return Status(StatusCode::kInternal, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Status UnavailableError(fmt::format_string<Args...> f, Args&&... args) {
  return Status(StatusCode::kUnavailable, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Status NotFoundError(fmt::format_string<Args...> f, Args&&... args) {
  return Status(StatusCode::kNotFound, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
Status ResourceExhaustedError(fmt::format_string<Args...> f, Args&&... args) {
  return Status(StatusCode::kResourceExhausted, fmt::format(f, std::forward<Args>(args)...));
}

// A failed system call: names the step, the call and errno ("mount /usr: EPERM (Operation not
// permitted)").
inline Status ErrnoError(const std::string& step, int err) {
  return Status(StatusCode::kInternal,
                fmt::format("{}: {} ({})", step, strerrorname_np(err) ? strerrorname_np(err) : "?",
                            strerrordesc_np(err) ? strerrordesc_np(err) : "?"));
}

template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(Status status) : status_(std::move(status)) {  // NOLINT: implicit like absl
    if (status_.ok()) status_ = InternalError("StatusOr constructed from an OK status");
  }
  StatusOr(T value) : value_(std::move(value)) {}  // NOLINT: implicit like absl

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { return Checked(); }
  const T& value() const& { return const_cast<StatusOr*>(this)->Checked(); }
  T&& value() && { return std::move(Checked()); }
  T& operator*() & { return Checked(); }
  T* operator->() { return &Checked(); }
  const T* operator->() const { return &const_cast<StatusOr*>(this)->Checked(); }

 private:
  T& Checked() {
    if (!value_) {
      std::fprintf(stderr, "StatusOr::value() on an error: %s\n", status_.ToString().c_str());
      std::abort();
    }
    return *value_;
  }
  Status status_;
  std::optional<T> value_;
};

}  // namespace toolgym

#define TG_STATUS_CONCAT_INNER(a, b) a##b
#define TG_STATUS_CONCAT(a, b) TG_STATUS_CONCAT_INNER(a, b)

// Returns the status from the enclosing function if it is not OK.
#define TG_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::toolgym::Status tg_status_ = (expr);   \
    if (!tg_status_.ok()) return tg_status_; \
  } while (0)

#define TG_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()

// `TG_ASSIGN_OR_RETURN(auto x, MakeX());`
#define TG_ASSIGN_OR_RETURN(lhs, expr) \
  TG_ASSIGN_OR_RETURN_IMPL(TG_STATUS_CONCAT(tg_statusor_, __LINE__), lhs, expr)
