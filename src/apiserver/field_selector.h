// File: apiserver/field_selector.h
//
// Field selectors (?fieldSelector=spec.nodeName=node-1,status.phase!=Failed) as kube-apiserver
// supports them: =, == and != on a per-kind set of fields. kubectl relies on them: `kubectl
// delete` watches with metadata.name=NAME, `kubectl describe` lists events by involvedObject.*.
//
//   ASSIGN_OR_RETURN(FieldSelector fs, FieldSelector::Parse("metadata.name=web"));
//   RETURN_IF_ERROR(fs.CheckSupported("Pod"));   // "field label not supported: spec.foo"
//   if (fs.Matches(obj)) ...
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/object.h"
#include "base/status.h"

namespace knet::apiserver {

struct FieldRequirement {
  std::string field;
  bool equals = true;  // = and ==; false for !=
  std::string value;
};

class FieldSelector {
 public:
  // "" selects everything. InvalidArgument for a term without an operator. Values may escape
  // ',', '=' and '\' with a backslash, as upstream's fields.ParseSelector allows.
  static base::StatusOr<FieldSelector> Parse(std::string_view text);

  bool Empty() const { return requirements_.empty(); }
  const std::vector<FieldRequirement>& requirements() const { return requirements_; }

  // InvalidArgument `field label not supported: <field>` for a field the kind does not index.
  base::Status CheckSupported(std::string_view kind) const;
  bool Matches(const api::Object& obj) const;
  // The name the selector pins with metadata.name=NAME, if any.
  std::optional<std::string> PinnedName() const;
  std::string ToString() const;

 private:
  std::vector<FieldRequirement> requirements_;
};

// The value of a selectable field of obj, or nullopt when the kind does not support the field.
std::optional<std::string> FieldValue(const api::Object& obj, std::string_view field);

}  // namespace knet::apiserver
