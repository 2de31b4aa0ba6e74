// File: base/duration.h
//
// Go's duration syntax, which Kubernetes flags use: "40s", "1m30s", "500ms", "1.5h", "0".
// Units: ns, us (or µs), ms, s, m, h. A bare number other than 0 is refused, as in Go.
//
//   ASSIGN_OR_RETURN(std::chrono::nanoseconds d, base::ParseDuration("40s"));
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "base/status.h"

namespace knet::base {

StatusOr<std::chrono::nanoseconds> ParseDuration(std::string_view text);
// The shortest Go form: "40s", "1m30s", "500ms", "0s".
std::string FormatDuration(std::chrono::nanoseconds d);

}  // namespace knet::base
