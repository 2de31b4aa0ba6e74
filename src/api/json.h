// File: api/json.h
//
// Parsing untrusted JSON into a DOM (nlohmann::json) without exceptions, with what Kubernetes'
// strict decoding needs: duplicate keys reported by field path (the last one wins, as in Go),
// and a nesting limit so hostile input cannot exhaust the stack.
//
//   std::vector<std::string> dups;
//   ASSIGN_OR_RETURN(nlohmann::json doc, api::ParseJson(body, &dups));
//   // dups == {"metadata.name"} for {"metadata":{"name":"a","name":"b"}}
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace knet::api {

// Maximum depth of nested objects and arrays accepted by ParseJson.
inline constexpr size_t kMaxJsonDepth = 200;

// Parses one JSON value (surrounding whitespace allowed). On error, InvalidArgument naming the
// line and column: "invalid JSON at line 3, column 7: syntax error while parsing object ...".
// If `duplicate_fields` is given, the path of every repeated object key is appended to it.
base::StatusOr<nlohmann::json> ParseJson(std::string_view text,
                                         std::vector<std::string>* duplicate_fields = nullptr);

// Describes a JSON value for an error message: `string "abc"`, `number 7`, `object`, ...
std::string DescribeJsonValue(const nlohmann::json& v);

}  // namespace knet::api
