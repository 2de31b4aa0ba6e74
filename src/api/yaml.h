// File: api/yaml.h
//
// YAML <-> JSON DOM, the way kubectl reads manifests: a stream of documents separated by ---,
// empty documents skipped, plain scalars resolved as go-yaml v2 does (YAML 1.1: true/yes/on are
// booleans, 0x1F and 010 are integers, ~ and null are null), quoted scalars always strings,
// duplicate keys an error. Emitting quotes every string that would otherwise read back as
// another type, so EmitYaml -> ParseYamlDocuments round-trips.
//
//   ASSIGN_OR_RETURN(std::vector<YamlDocument> docs, ParseYamlDocuments(text));
//   for (auto& d : docs) use(d.value);        // d.index is 1-based, counting empty documents
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace knet::api {

struct YamlDocument {
  int index = 0;  // 1-based position in the stream
  int line = 0;   // 1-based line where the document starts
  nlohmann::json value;
};

// A document may not expand (through aliases) to more than this many nodes.
inline constexpr size_t kMaxYamlNodes = 1'000'000;

// Parsed with libyaml (event by event, no recursion). Errors name the line and column:
// "YAML syntax error at line 4, column 3: ...".
base::StatusOr<std::vector<YamlDocument>> ParseYamlDocuments(std::string_view text);

// Block-style YAML for one document (no leading ---).
std::string EmitYaml(const nlohmann::json& value);

}  // namespace knet::api
