// File: cni/spec.h
//
// The CNI specification's shared vocabulary: the versions knet-cni speaks, version negotiation,
// the well-known error codes and the error JSON a plugin prints on stdout with a non-zero exit.
//
//   cni::Error e{cni::ErrorCode::kIncompatibleVersion, "unsupported cniVersion \"0.2.0\"", ""};
//   std::cout << cni::ErrorJson(e, "1.1.0");
//
// Spec: https://www.cni.dev/docs/spec/ (1.1.0). Thread-compatible free functions.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace knet::cni {

// The newest version this plugin implements, and every version it accepts.
inline constexpr std::string_view kCurrentVersion = "1.1.0";
std::span<const std::string_view> SupportedVersions();
bool IsSupportedVersion(std::string_view version);

// Well-known error codes (spec section "Error").
enum class ErrorCode : int {
  kIncompatibleVersion = 1,
  kUnsupportedField = 2,
  kUnknownContainer = 3,
  kInvalidEnvironment = 4,
  kIoFailure = 5,
  kDecodeFailure = 6,
  kInvalidNetworkConfig = 7,
  kTryAgainLater = 11,
  kPluginNotAvailable = 50,
  kPluginNotAvailableContainersDamaged = 51,
  // knet-cni's own codes (the spec leaves 100 and up to plugins).
  kKernelFailure = 100,  // a netlink or namespace operation failed; msg names it
  kIpamFailure = 101,    // the address store refused or failed (e.g. no free address)
  kCheckFailed = 102,    // CHECK found the attachment different from what ADD made
};

struct Error {
  ErrorCode code;
  std::string msg;
  std::string details;
};

// A value or a CNI error, for functions whose failure is reported to the runtime as-is.
template <typename T>
class Outcome {
 public:
  Outcome(T value) : value_(std::move(value)) {}      // NOLINT: implicit
  Outcome(Error error) : error_(std::move(error)) {}  // NOLINT: implicit
  bool ok() const { return value_.has_value(); }
  // REQUIRES: ok().
  const T& value() const& { return *value_; }
  T& value() & { return *value_; }
  T&& value() && { return std::move(*value_); }
  // REQUIRES: !ok().
  const Error& error() const { return error_; }

 private:
  std::optional<T> value_;
  Error error_{};
};

// {"cniVersion": ..., "code": N, "msg": ..., "details": ...}
std::string ErrorJson(const Error& error, std::string_view cni_version);

// The VERSION command's answer. `request_stdin` is the (possibly empty) configuration the runtime
// passed; its cniVersion is echoed when present, as the reference skeleton does.
// Returns an Error when stdin is not valid JSON or names a version that is not a string.
struct VersionResult {
  bool ok;
  std::string json;  // the answer when ok
  Error error;       // otherwise
};
VersionResult HandleVersion(std::string_view request_stdin);

}  // namespace knet::cni
