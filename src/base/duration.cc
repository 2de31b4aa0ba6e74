#include "base/duration.h"

#include <cmath>
#include <cstdint>
#include <string>

namespace knet::base {

namespace {

Status Bad(std::string_view text, std::string_view why) {
  return InvalidArgumentError("invalid duration \"" + std::string(text) +
                              "\": " + std::string(why) + " (examples: 40s, 1m30s, 500ms)");
}

}  // namespace

StatusOr<std::chrono::nanoseconds> ParseDuration(std::string_view text) {
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return std::chrono::nanoseconds(0);
  if (s.empty()) return Bad(text, "empty");
  long double total = 0;
  while (!s.empty()) {
    size_t i = 0;
    bool digits = false, dot = false;
    while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || (s[i] == '.' && !dot))) {
      if (s[i] == '.') {
        dot = true;
      } else {
        digits = true;
      }
      ++i;
    }
    if (!digits) return Bad(text, "expected a number");
    long double value = std::stold(std::string(s.substr(0, i)));
    s.remove_prefix(i);
    size_t u = 0;
    while (u < s.size() && !((s[u] >= '0' && s[u] <= '9') || s[u] == '.')) ++u;
    std::string_view unit = s.substr(0, u);
    s.remove_prefix(u);
    long double scale;
    if (unit == "ns") {
      scale = 1;
    } else if (unit == "us" || unit == "\xC2\xB5s") {
      scale = 1e3;
    } else if (unit == "ms") {
      scale = 1e6;
    } else if (unit == "s") {
      scale = 1e9;
    } else if (unit == "m") {
      scale = 60e9;
    } else if (unit == "h") {
      scale = 3600e9;
    } else if (unit.empty()) {
      return Bad(text, "missing unit");
    } else {
      return Bad(text, "unknown unit \"" + std::string(unit) + "\"");
    }
    total += value * scale;
  }
  if (total > static_cast<long double>(INT64_MAX)) return Bad(text, "too large");
  auto ns = static_cast<int64_t>(std::llround(total));
  return std::chrono::nanoseconds(negative ? -ns : ns);
}

std::string FormatDuration(std::chrono::nanoseconds d) {
  int64_t ns = d.count();
  if (ns == 0) return "0s";
  std::string sign = ns < 0 ? "-" : "";
  uint64_t u = ns < 0 ? static_cast<uint64_t>(-(ns + 1)) + 1 : static_cast<uint64_t>(ns);
  if (u < 1'000'000'000ULL) {
    if (u % 1'000'000 == 0) return sign + std::to_string(u / 1'000'000) + "ms";
    if (u % 1'000 == 0) return sign + std::to_string(u / 1'000) + "us";
    return sign + std::to_string(u) + "ns";
  }
  std::string out = sign;
  uint64_t h = u / 3'600'000'000'000ULL;
  u %= 3'600'000'000'000ULL;
  uint64_t m = u / 60'000'000'000ULL;
  u %= 60'000'000'000ULL;
  if (h) out += std::to_string(h) + "h";
  if (h || m) out += std::to_string(m) + "m";
  uint64_t secs = u / 1'000'000'000ULL, frac = u % 1'000'000'000ULL;
  out += std::to_string(secs);
  if (frac) {
    std::string f = std::to_string(frac);
    f = std::string(9 - f.size(), '0') + f;
    while (!f.empty() && f.back() == '0') f.pop_back();
    out += "." + f;
  }
  return out + "s";
}

}  // namespace knet::base
