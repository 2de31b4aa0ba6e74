// File: base/status.h
//
// Status and StatusOr<T>: how every fallible knet function reports an expected failure (bad input,
// I/O, a conflict, a kernel refusal). Modelled on absl::Status with the canonical codes. Exceptions
// never cross a module boundary; a third-party library that throws is wrapped where it is called.
//
//   base::StatusOr<Cidr> c = Cidr::Parse(text);
//   if (!c.ok()) return c.status().WithContext("reading --cluster-cidr");
//   ASSIGN_OR_RETURN(Pod pod, DecodeJson<Pod>(body));
//   RETURN_IF_ERROR(store.Put(key, bytes));
//
// A Status is cheap to copy when OK. The message says what was being done and to what:
// "adding route 10.1.0.0/24 via vxlan0: File exists", never "error -17". Thread-compatible.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace knet::base {

enum class StatusCode {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,  // e.g. a compare-and-swap conflict
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

// "InvalidArgument", "NotFound", ...
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message);

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // The errno this status came from, or 0 (kernel and I/O wrappers keep it).
  int sys_errno() const { return errno_; }
  Status& set_sys_errno(int e) {
    errno_ = e;
    return *this;
  }

  // Prefixes the message with what the caller was doing: "loading state.db: <message>".
  // An OK status stays OK.
  Status WithContext(std::string_view context) const;

  // "InvalidArgument: <message>", or "OK".
  std::string ToString() const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  int errno_ = 0;
  std::string message_;
};

inline Status OkStatus() { return Status(); }
Status InvalidArgumentError(std::string message);
Status NotFoundError(std::string message);
Status AlreadyExistsError(std::string message);
Status FailedPreconditionError(std::string message);
Status AbortedError(std::string message);
Status OutOfRangeError(std::string message);
Status UnavailableError(std::string message);
Status InternalError(std::string message);
Status UnimplementedError(std::string message);
Status DeadlineExceededError(std::string message);
Status ResourceExhaustedError(std::string message);
Status PermissionDeniedError(std::string message);
Status UnauthenticatedError(std::string message);
Status DataLossError(std::string message);
// An error from a failed system call: "<what>: <strerror(err)>", with the errno kept.
Status ErrnoError(int err, std::string_view what);

// Either a value or a non-OK Status. Accessing value() of an error is a programming bug (asserts).
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(const Status& status) : v_(status) { assert(!status.ok()); }  // NOLINT: implicit
  StatusOr(Status&& status) : v_(std::move(status)) {                    // NOLINT: implicit
    assert(!std::get<Status>(v_).ok());
  }
  StatusOr(const T& value) : v_(value) {}        // NOLINT: implicit
  StatusOr(T&& value) : v_(std::move(value)) {}  // NOLINT: implicit
  template <typename U>
  requires(std::is_constructible_v<T, U&&> && !std::is_same_v<std::decay_t<U>, Status> &&
           !std::is_same_v<std::decay_t<U>, StatusOr<T>> && !std::is_same_v<std::decay_t<U>, T>)
      StatusOr(U&& u)
      : v_(T(std::forward<U>(u))) {}  // NOLINT: implicit

  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? Status() : std::get<Status>(v_); }

  const T& value() const& {
    assert(ok());
    return std::get<T>(v_);
  }
  T& value() & {
    assert(ok());
    return std::get<T>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<T>(std::move(v_));
  }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

 private:
  std::variant<Status, T> v_;
};

}  // namespace knet::base

#define KNET_STATUS_CONCAT_INNER_(a, b) a##b
#define KNET_STATUS_CONCAT_(a, b) KNET_STATUS_CONCAT_INNER_(a, b)

// Returns from the current function with the status if it is not OK.
#define RETURN_IF_ERROR(expr)                    \
  do {                                           \
    ::knet::base::Status knet_status_ = (expr);  \
    if (!knet_status_.ok()) return knet_status_; \
  } while (0)

// ASSIGN_OR_RETURN(T x, StatusOr<T> expr): declares/assigns x, or returns the error.
#define ASSIGN_OR_RETURN(lhs, expr) \
  KNET_ASSIGN_OR_RETURN_IMPL_(KNET_STATUS_CONCAT_(knet_statusor_, __LINE__), lhs, expr)
#define KNET_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()
