#include "apiserver/http/target.h"

#include <string>

namespace knet::apiserver::http {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::vector<std::string_view> PathSegments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

base::StatusOr<std::string> PercentDecode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (in.size() - i < 3) {
        return base::InvalidArgumentError("invalid URL escape \"" + std::string(in.substr(i)) +
                                          "\"");
      }
      int h = HexValue(in[i + 1]);
      int l = HexValue(in[i + 2]);
      if (h < 0 || l < 0) {
        return base::InvalidArgumentError("invalid URL escape \"" + std::string(in.substr(i, 3)) +
                                          "\"");
      }
      out.push_back(static_cast<char>(h * 16 + l));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

base::StatusOr<ParsedTarget> ParseTarget(std::string_view target) {
  ParsedTarget out;
  if (target == "*") {
    out.path = "*";
    return out;
  }
  if (size_t hash = target.find('#'); hash != std::string_view::npos) {
    target = target.substr(0, hash);
  }
  if (target.empty()) return base::InvalidArgumentError("empty request target");
  std::string rebuilt;  // absolute-form with a query but no path: "http://host?x" -> "/?x"
  if (target.front() != '/') {
    // absolute-form: scheme "://" authority [path]
    size_t scheme_end = target.find("://");
    if (scheme_end == std::string_view::npos || scheme_end == 0) {
      return base::InvalidArgumentError("request target \"" + std::string(target.substr(0, 200)) +
                                        "\" is neither a path nor an absolute URL");
    }
    std::string_view rest = target.substr(scheme_end + 3);
    size_t slash = rest.find_first_of("/?");
    if (slash == std::string_view::npos) {
      target = "/";
    } else if (rest[slash] == '?') {
      rebuilt = "/" + std::string(rest.substr(slash));
      target = rebuilt;
    } else {
      target = rest.substr(slash);
    }
  }
  std::string_view raw_path = target;
  std::string_view raw_query;
  if (size_t q = target.find('?'); q != std::string_view::npos) {
    raw_path = target.substr(0, q);
    raw_query = target.substr(q + 1);
  }
  auto path = PercentDecode(raw_path, /*plus_is_space=*/false);
  if (!path.ok()) return path.status().WithContext("request path");
  if (path->find('\0') != std::string::npos) {
    return base::InvalidArgumentError("request path holds a NUL byte");
  }
  out.path = std::move(*path);
  while (!raw_query.empty()) {
    size_t amp = raw_query.find('&');
    std::string_view pair = raw_query.substr(0, amp);
    raw_query = amp == std::string_view::npos ? std::string_view() : raw_query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    std::string_view value =
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    auto k = PercentDecode(key, /*plus_is_space=*/true);
    if (!k.ok()) return k.status().WithContext("query parameter name");
    auto v = PercentDecode(value, /*plus_is_space=*/true);
    if (!v.ok()) return v.status().WithContext("query parameter \"" + *k + "\"");
    out.query.emplace_back(std::move(*k), std::move(*v));
  }
  return out;
}

}  // namespace knet::apiserver::http
