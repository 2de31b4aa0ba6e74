// File: api/values.h
//
// The scalar value types of the Kubernetes wire format that are not plain JSON scalars:
//   Time        metav1.Time: RFC 3339, second precision on the wire, null when zero.
//   MicroTime   metav1.MicroTime: RFC 3339 with microseconds (Lease renewTime, Event eventTime).
//   IntOrString intstr.IntOrString: a port number or a port name ("8080" vs 8080 differ).
//   Quantity    resource.Quantity: "500m", "1Gi", "2", "1e3"; kept as written, validated.
//
//   ASSIGN_OR_RETURN(Time t, Time::Parse("2024-05-01T10:00:00Z"));
//   IntOrString port = IntOrString::FromString("http");
//
// All are thread-compatible value types.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace knet::api {

// A point in time with nanosecond resolution, as Unix nanoseconds. Zero is "unset".
class Time {
 public:
  Time() = default;
  static Time FromUnixNanos(int64_t ns) { return Time(ns); }
  static Time FromUnixSeconds(int64_t s) { return Time(s * 1'000'000'000); }
  static Time Now();
  // Accepts RFC 3339 with any fractional precision and a Z or ±hh:mm offset.
  static base::StatusOr<Time> Parse(std::string_view text);

  bool IsZero() const { return ns_ == 0; }
  int64_t unix_nanos() const { return ns_; }
  int64_t unix_seconds() const;  // floor
  // "2024-05-01T10:00:00Z" (metav1.Time's wire form: truncated to the second, UTC).
  std::string ToRfc3339() const;
  // "2024-05-01T10:00:00.123456Z" (metav1.MicroTime's wire form).
  std::string ToRfc3339Micro() const;

  auto operator<=>(const Time&) const = default;

 private:
  explicit Time(int64_t ns) : ns_(ns) {}
  int64_t ns_ = 0;
};

// metav1.MicroTime: the same instant type, encoded with microseconds.
struct MicroTime {
  Time time;
  bool IsZero() const { return time.IsZero(); }
  auto operator<=>(const MicroTime&) const = default;
};

// intstr.IntOrString. Default: the integer 0.
class IntOrString {
 public:
  IntOrString() = default;
  static IntOrString FromInt(int32_t v) { return IntOrString(false, v, {}); }
  static IntOrString FromString(std::string s) { return IntOrString(true, 0, std::move(s)); }

  bool is_string() const { return is_string_; }
  int32_t int_value() const { return int_; }
  const std::string& string_value() const { return str_; }
  bool IsZero() const { return !is_string_ && int_ == 0; }
  // 8080 -> "8080", "http" -> "http".
  std::string ToString() const { return is_string_ ? str_ : std::to_string(int_); }
  // For percentages ("25%") resolved against `total` (Deployment maxSurge/maxUnavailable):
  // integer values return themselves; "N%" returns ceil/floor(total*N/100).
  base::StatusOr<int32_t> ScaledValue(int32_t total, bool round_up) const;

  bool operator==(const IntOrString&) const = default;

 private:
  IntOrString(bool is_string, int32_t i, std::string s)
      : is_string_(is_string), int_(i), str_(std::move(s)) {}
  bool is_string_ = false;
  int32_t int_ = 0;
  std::string str_;
};

// resource.Quantity. Keeps the text it was given (so encoding round-trips byte for byte) after
// checking it against Kubernetes' quantity grammar: <signedNumber><suffix>, with suffixes
// Ki Mi Gi Ti Pi Ei | n u m "" k M G T P E | e<int> E<int>.
class Quantity {
 public:
  Quantity() = default;
  static base::StatusOr<Quantity> Parse(std::string_view text);
  // The zero Quantity is "0", as in Go (a JSON null decodes to it).
  const std::string& ToString() const { return text_; }
  bool IsZero() const { return milli_ == 0; }
  // The value in thousandths, saturating at the int64 range (e.g. "1500m" -> 1500, "2" -> 2000,
  // "1Ki" -> 1024000). Good enough for comparisons and scheduling arithmetic.
  int64_t MilliValue() const { return milli_; }

  bool operator==(const Quantity& o) const { return text_ == o.text_; }

 private:
  std::string text_ = "0";
  int64_t milli_ = 0;
};

}  // namespace knet::api
