// File: api/selector.h
//
// Kubernetes label selectors (k8s.io/apimachinery/pkg/labels): parse the string form used by
// `kubectl -l` and `?labelSelector=`, convert a metav1.LabelSelector, match a label set, and
// print the canonical string form. Also the label key/value checks that validation shares.
//
//   ASSIGN_OR_RETURN(Selector sel, Selector::Parse("app=web,tier in (fe,be),!canary"));
//   if (sel.Matches(pod.metadata.labels)) { ... }
//   ASSIGN_OR_RETURN(Selector s2, Selector::FromLabelSelector(svc_like.selector));
//   sel.ToString();  // "app=web,!canary,tier in (be,fe)" (sorted by key)
//
// Selectors are immutable, thread-compatible value types.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "api/meta.h"
#include "base/status.h"

namespace knet::api {

// Checks a label key as Kubernetes does (validation.IsQualifiedName): an optional DNS-1123
// subdomain prefix (<= 253 chars) and '/', then a name (<= 63 chars) of alphanumerics, '-', '_'
// and '.', starting and ending with an alphanumeric. On failure the InvalidArgument message is
// the upstream detail text ("name part must consist of ..."; several joined by "; ") without
// the key itself, so callers can add the field path and value as field.Invalid does.
base::Status ValidateLabelKey(std::string_view key);

// Checks a label value (validation.IsValidLabelValue): empty, or <= 63 chars of the name charset
// starting and ending with an alphanumeric. Message conventions as for ValidateLabelKey.
base::Status ValidateLabelValue(std::string_view value);

// One term of a selector. `values` is sorted; its size depends on the operator (In/NotIn >= 1,
// Exists/DoesNotExist 0, the others exactly 1; GreaterThan/LessThan hold an integer).
struct LabelRequirement {
  enum class Operator {
    kIn,
    kNotIn,
    kEquals,        // "="
    kDoubleEquals,  // "=="
    kNotEquals,     // "!="
    kExists,        // "key"
    kDoesNotExist,  // "!key"
    kGreaterThan,   // "key>3"
    kLessThan,      // "key<3"
  };
  std::string key;
  Operator operator_ = Operator::kExists;
  std::vector<std::string> values;

  // Kubernetes semantics: NotIn and != match when the key is absent; > and < parse the label
  // value as a base-10 int64 and do not match when it is absent or not an integer.
  bool Matches(const std::map<std::string, std::string>& labels) const;
  // "app=web", "tier in (be,fe)", "!canary", "gt>3".
  std::string ToString() const;
  bool operator==(const LabelRequirement&) const = default;
};

// A conjunction of requirements, sorted by key. No requirements selects everything.
class Selector {
 public:
  Selector() = default;  // Everything.

  // Parses the labels.Parse string form: comma-separated `k=v`, `k==v`, `k!=v`, `k in (a,b)`,
  // `k notin (a,b)`, `k`, `!k`, `k>3`, `k<3`; whitespace between tokens is ignored and "" selects
  // everything. Keys and values are validated. Errors are InvalidArgument and name the 1-based
  // position and the offending token:
  //   invalid label selector "app in (a": expected ')' at position 10
  static base::StatusOr<Selector> Parse(std::string_view text);

  // metav1.LabelSelectorAsSelector: matchLabels become `=` requirements; matchExpressions take
  // In/NotIn (>= 1 value) or Exists/DoesNotExist (no values). Errors name the field, e.g.
  // `matchExpressions[0].operator: Unsupported value: "Gt"`. An empty LabelSelector selects
  // everything; a null selector (selects nothing) is the caller's business.
  static base::StatusOr<Selector> FromLabelSelector(const LabelSelector& selector);

  // labels.Everything(): no requirements, matches every label set.
  static Selector Everything() { return Selector(); }
  // labels.SelectorFromSet: `k=v` for each entry. Like upstream, does not validate.
  static Selector FromSet(const std::map<std::string, std::string>& labels);

  bool Matches(const std::map<std::string, std::string>& labels) const;
  bool Empty() const { return requirements_.empty(); }
  // Canonical form: requirements sorted by key, values sorted, joined by ','. "" if Empty().
  std::string ToString() const;

  const std::vector<LabelRequirement>& requirements() const { return requirements_; }
  bool operator==(const Selector&) const = default;

 private:
  explicit Selector(std::vector<LabelRequirement> requirements);

  std::vector<LabelRequirement> requirements_;
};

}  // namespace knet::api
