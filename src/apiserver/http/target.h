// File: apiserver/http/target.h
//
// Splitting an HTTP request target into a percent-decoded path and decoded query parameters, as
// Go's net/url does for kube-apiserver (url.Path and url.Query()).
//
//   ASSIGN_OR_RETURN(ParsedTarget t, ParseTarget("/api/v1/pods?labelSelector=app%3Dweb&watch"));
//   // t.path == "/api/v1/pods", t.query == {{"labelSelector","app=web"}, {"watch",""}}
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace knet::apiserver::http {

struct ParsedTarget {
  std::string path;
  std::vector<std::pair<std::string, std::string>> query;
};

// Accepts origin-form ("/path?query"), absolute-form ("https://host/path?query"; the scheme and
// authority are dropped) and "*". A fragment ("#...") is dropped. InvalidArgument for anything
// else, for a malformed %-escape, or for a decoded path holding a NUL byte.
base::StatusOr<ParsedTarget> ParseTarget(std::string_view target);

// Decodes %XX escapes (and '+' as a space when `plus_is_space`). InvalidArgument for a '%' not
// followed by two hex digits.
base::StatusOr<std::string> PercentDecode(std::string_view in, bool plus_is_space);

// The non-empty segments of a decoded path: "/api/v1//pods/" -> {"api", "v1", "pods"}. The views
// point into `path`.
std::vector<std::string_view> PathSegments(std::string_view path);

}  // namespace knet::apiserver::http
