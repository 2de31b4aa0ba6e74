#include "api/values.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>

namespace knet::api {
namespace {

using base::InvalidArgumentError;
using base::StatusOr;

bool ParseFixedDigits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

std::string FormatTime(int64_t ns, bool micro) {
  using namespace std::chrono;
  const sys_time<nanoseconds> tp{nanoseconds(ns)};
  const auto day = floor<days>(tp);
  const year_month_day ymd{day};
  const hh_mm_ss<nanoseconds> hms{tp - day};
  char buf[64];
  if (micro) {
    std::snprintf(buf, sizeof(buf), "%04d-%02u-%02uT%02d:%02d:%02d.%06ldZ", int(ymd.year()),
                  unsigned(ymd.month()), unsigned(ymd.day()), int(hms.hours().count()),
                  int(hms.minutes().count()), int(hms.seconds().count()),
                  long(hms.subseconds().count() / 1000));
  } else {
    std::snprintf(buf, sizeof(buf), "%04d-%02u-%02uT%02d:%02d:%02dZ", int(ymd.year()),
                  unsigned(ymd.month()), unsigned(ymd.day()), int(hms.hours().count()),
                  int(hms.minutes().count()), int(hms.seconds().count()));
  }
  return buf;
}

}  // namespace

Time Time::Now() {
  using namespace std::chrono;
  return Time(duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count());
}

int64_t Time::unix_seconds() const {
  int64_t s = ns_ / 1'000'000'000;
  if (ns_ % 1'000'000'000 < 0) --s;
  return s;
}

std::string Time::ToRfc3339() const { return FormatTime(unix_seconds() * 1'000'000'000, false); }
std::string Time::ToRfc3339Micro() const { return FormatTime(ns_, true); }

StatusOr<Time> Time::Parse(std::string_view s) {
  auto bad = [&](std::string_view why) {
    return InvalidArgumentError("invalid time \"" + std::string(s) + "\": " + std::string(why) +
                                " (want RFC 3339, e.g. 2024-05-01T10:00:00Z)");
  };
  int y, mo, d, h, mi, sec;
  if (!ParseFixedDigits(s, 0, 4, y) || s.size() < 20 || s[4] != '-' ||
      !ParseFixedDigits(s, 5, 2, mo) || s[7] != '-' || !ParseFixedDigits(s, 8, 2, d) ||
      (s[10] != 'T' && s[10] != 't') || !ParseFixedDigits(s, 11, 2, h) || s[13] != ':' ||
      !ParseFixedDigits(s, 14, 2, mi) || s[16] != ':' || !ParseFixedDigits(s, 17, 2, sec)) {
    return bad("malformed date or time");
  }
  using namespace std::chrono;
  const year_month_day ymd{year{y}, month{unsigned(mo)}, day{unsigned(d)}};
  if (!ymd.ok()) return bad("no such date");
  if (h > 23 || mi > 59 || sec > 60) return bad("hour, minute or second out of range");
  if (y < 1678 || y > 2261) return bad("year out of the supported range 1678-2261");
  size_t pos = 19;
  int64_t frac_ns = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t digits = 0;
    int64_t scale = 100'000'000;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 9) frac_ns += (s[pos] - '0') * scale;
      scale /= 10;
      ++digits;
      ++pos;
    }
    if (digits == 0) return bad("empty fraction of a second");
  }
  int64_t offset_s = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!ParseFixedDigits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !ParseFixedDigits(s, pos + 4, 2, om) || oh > 23 || om > 59) {
      return bad("malformed UTC offset");
    }
    offset_s = (oh * 3600 + om * 60) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return bad("missing time zone (Z or ±hh:mm)");
  }
  if (pos != s.size()) return bad("trailing characters");
  const int64_t days_since_epoch = sys_days{ymd}.time_since_epoch().count();
  const int64_t secs = days_since_epoch * 86400 + h * 3600 + mi * 60 + sec - offset_s;
  return Time(secs * 1'000'000'000 + frac_ns);
}

StatusOr<int32_t> IntOrString::ScaledValue(int32_t total, bool round_up) const {
  if (!is_string_) return int_;
  auto bad = [&] {
    return InvalidArgumentError("invalid value \"" + str_ +
                                "\": must be an integer or a percentage (e.g. \"25%\")");
  };
  if (str_.size() < 2 || str_.back() != '%') return bad();
  int32_t pct = 0;
  auto [p, ec] = std::from_chars(str_.data(), str_.data() + str_.size() - 1, pct);
  if (ec != std::errc() || p != str_.data() + str_.size() - 1 || pct < 0) return bad();
  const int64_t prod = int64_t{total} * pct;
  return static_cast<int32_t>(round_up ? (prod + 99) / 100 : prod / 100);
}

StatusOr<Quantity> Quantity::Parse(std::string_view s) {
  auto bad = [&](std::string_view why) {
    return InvalidArgumentError("invalid quantity \"" + std::string(s) + "\": " + std::string(why) +
                                " (want e.g. \"100m\", \"2\", \"512Mi\", \"1e3\")");
  };
  size_t pos = 0;
  if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) ++pos;
  size_t int_digits = 0, frac_digits = 0;
  while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) ++pos, ++int_digits;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) ++pos, ++frac_digits;
  }
  if (int_digits + frac_digits == 0) return bad("no number");
  const std::string number(s.substr(0, pos));
  const std::string_view suffix = s.substr(pos);
  long double mult = 1;
  if (suffix.empty()) {
  } else if (suffix.size() == 2 && suffix[1] == 'i') {
    const std::string_view bin = "KMGTPE";
    const size_t idx = bin.find(suffix[0]);
    if (idx == std::string_view::npos) return bad("unknown suffix \"" + std::string(suffix) + "\"");
    mult = std::pow(1024.0L, static_cast<long double>(idx + 1));
  } else if (suffix == "E") {
    mult = 1e18L;  // exa
  } else if (suffix[0] == 'e' || suffix[0] == 'E') {
    if (suffix.size() == 1) {
      return bad("malformed exponent");
    } else {
      int exp = 0;
      std::string_view e = suffix.substr(1);
      if (!e.empty() && e[0] == '+') e.remove_prefix(1);
      auto [p, ec] = std::from_chars(e.data(), e.data() + e.size(), exp);
      if (ec != std::errc() || p != e.data() + e.size() || e.empty())
        return bad("malformed exponent");
      if (exp > 30 || exp < -30) return bad("exponent out of range");
      mult = std::pow(10.0L, static_cast<long double>(exp));
    }
  } else if (suffix.size() == 1) {
    switch (suffix[0]) {
      case 'n':
        mult = 1e-9L;
        break;
      case 'u':
        mult = 1e-6L;
        break;
      case 'm':
        mult = 1e-3L;
        break;
      case 'k':
        mult = 1e3L;
        break;
      case 'M':
        mult = 1e6L;
        break;
      case 'G':
        mult = 1e9L;
        break;
      case 'T':
        mult = 1e12L;
        break;
      case 'P':
        mult = 1e15L;
        break;
      default:
        return bad("unknown suffix \"" + std::string(suffix) + "\"");
    }
  } else {
    return bad("unknown suffix \"" + std::string(suffix) + "\"");
  }
  Quantity q;
  q.text_ = std::string(s);
  const long double milli = std::strtold(number.c_str(), nullptr) * mult * 1000.0L;
  constexpr auto kMax = static_cast<long double>(std::numeric_limits<int64_t>::max());
  if (milli >= kMax) {
    q.milli_ = std::numeric_limits<int64_t>::max();
  } else if (milli <= -kMax) {
    q.milli_ = std::numeric_limits<int64_t>::min();
  } else {
    q.milli_ = static_cast<int64_t>(std::ceil(milli));
  }
  return q;
}

}  // namespace knet::api
