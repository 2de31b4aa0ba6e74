// RFC 6902 JSON Patch over nlohmann::json, with RFC 6901 JSON Pointers.
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "apiserver/patch/internal/limits.h"
#include "apiserver/patch/patch.h"

namespace knet::apiserver::patch {
namespace {

using nlohmann::json;
using Pointer = std::vector<std::string>;

base::Status Invalid(std::string message) { return base::InvalidArgumentError(std::move(message)); }

// RFC 6901: "" is the whole document; otherwise "/"-separated tokens with ~1 for '/' and ~0 for
// '~'.
base::StatusOr<Pointer> ParsePointer(std::string_view text) {
  Pointer tokens;
  if (text.empty()) return tokens;
  if (text.front() != '/') return Invalid("JSON pointer must be empty or start with '/'");
  std::string token;
  for (size_t i = 1; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '/') {
      tokens.push_back(std::move(token));
      token.clear();
      continue;
    }
    if (text[i] != '~') {
      token.push_back(text[i]);
      continue;
    }
    if (i + 1 < text.size() && (text[i + 1] == '0' || text[i + 1] == '1')) {
      token.push_back(text[i + 1] == '0' ? '~' : '/');
      ++i;
      continue;
    }
    return Invalid("JSON pointer has '~' not followed by 0 or 1");
  }
  return tokens;
}

// An array index token: "0" or digits without a leading zero, below 2^31. nullopt otherwise.
std::optional<size_t> ParseIndex(const std::string& token) {
  if (token.empty() || token.size() > 10) return std::nullopt;
  if (token.size() > 1 && token[0] == '0') return std::nullopt;
  size_t value = 0;
  for (char c : token) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<size_t>(c - '0');
  }
  if (value > 0x7fffffff) return std::nullopt;
  return value;
}

// The value the first `count` tokens of `ptr` refer to, or an error saying why there is none.
base::StatusOr<json*> Resolve(json& doc, const Pointer& ptr, size_t count) {
  json* node = &doc;
  for (size_t i = 0; i < count; ++i) {
    const std::string& token = ptr[i];
    if (node->is_object()) {
      auto it = node->find(token);
      if (it == node->end()) return Invalid("path not found");
      node = &*it;
    } else if (node->is_array()) {
      std::optional<size_t> index = ParseIndex(token);
      if (!index) return Invalid("\"" + token + "\" is not an array index");
      if (*index >= node->size()) {
        return Invalid("index " + token + " is out of range (array has " +
                       std::to_string(node->size()) + " elements)");
      }
      node = &(*node)[*index];
    } else {
      return Invalid("path not found");
    }
  }
  return node;
}

// Adds and replacements must keep the document within kMaxPatchDepth (copies can double it).
base::Status CheckPlacedDepth(const Pointer& ptr, const json& value) {
  const int room = kMaxPatchDepth - static_cast<int>(ptr.size());
  if (room < 1 || patch_internal::NestingDepth(value, room) > room) {
    return Invalid("the result would be nested deeper than " + std::to_string(kMaxPatchDepth) +
                   " levels");
  }
  return base::OkStatus();
}

base::Status Add(json& doc, const Pointer& ptr, json value) {
  RETURN_IF_ERROR(CheckPlacedDepth(ptr, value));
  if (ptr.empty()) {
    doc = std::move(value);
    return base::OkStatus();
  }
  ASSIGN_OR_RETURN(json * parent, Resolve(doc, ptr, ptr.size() - 1));
  const std::string& last = ptr.back();
  if (parent->is_object()) {
    (*parent)[last] = std::move(value);
    return base::OkStatus();
  }
  if (!parent->is_array()) return Invalid("parent of the target is not an object or array");
  if (last == "-") {
    parent->push_back(std::move(value));
    return base::OkStatus();
  }
  std::optional<size_t> index = ParseIndex(last);
  if (!index) return Invalid("\"" + last + "\" is not an array index");
  if (*index > parent->size()) {
    return Invalid("index " + last + " is out of range (array has " +
                   std::to_string(parent->size()) + " elements)");
  }
  parent->insert(parent->begin() + static_cast<std::ptrdiff_t>(*index), std::move(value));
  return base::OkStatus();
}

// Removes the target and returns it.
base::StatusOr<json> Remove(json& doc, const Pointer& ptr) {
  if (ptr.empty()) return Invalid("cannot remove the whole document");
  ASSIGN_OR_RETURN(json * parent, Resolve(doc, ptr, ptr.size() - 1));
  const std::string& last = ptr.back();
  if (parent->is_object()) {
    auto it = parent->find(last);
    if (it == parent->end()) return Invalid("path not found");
    json removed = std::move(*it);
    parent->erase(it);
    return removed;
  }
  if (!parent->is_array()) return Invalid("path not found");
  std::optional<size_t> index = ParseIndex(last);
  if (!index) return Invalid("\"" + last + "\" is not an array index");
  if (*index >= parent->size()) {
    return Invalid("index " + last + " is out of range (array has " +
                   std::to_string(parent->size()) + " elements)");
  }
  json removed = std::move((*parent)[*index]);
  parent->erase(*index);
  return removed;
}

bool IsProperPrefix(const Pointer& prefix, const Pointer& ptr) {
  if (prefix.size() >= ptr.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (prefix[i] != ptr[i]) return false;
  }
  return true;
}

base::StatusOr<Pointer> MemberPointer(const json& op, const char* member) {
  auto it = op.find(member);
  if (it == op.end()) return Invalid(std::string("missing \"") + member + "\"");
  if (!it->is_string()) return Invalid(std::string("\"") + member + "\" must be a string");
  base::StatusOr<Pointer> ptr = ParsePointer(it->get_ref<const std::string&>());
  if (!ptr.ok()) return ptr.status().WithContext(member);
  return ptr;
}

base::StatusOr<json> MemberValue(const json& op) {
  auto it = op.find("value");
  if (it == op.end()) return Invalid("missing \"value\"");
  return *it;
}

// Upstream (evanphx/json-patch AccumulatedCopySizeLimit) bounds copies the same way: without a
// budget, n copies of the root make a document 2^n times larger.
constexpr size_t kMaxCopiedBytes = size_t{16} << 20;

// The value's JSON text, cut to a length fit for an error message.
std::string Brief(const json& v) {
  std::string text = v.dump();
  if (text.size() > 120) text = text.substr(0, 117) + "...";
  return text;
}

// `copied` is the budget used so far by copy operations of this patch.
base::Status ApplyOperation(json& doc, const json& op, size_t& copied) {
  if (!op.is_object()) return Invalid("operation must be a JSON object");
  auto op_it = op.find("op");
  if (op_it == op.end() || !op_it->is_string()) return Invalid("missing string member \"op\"");
  const std::string& name = op_it->get_ref<const std::string&>();
  ASSIGN_OR_RETURN(Pointer path, MemberPointer(op, "path"));
  if (name == "add") {
    ASSIGN_OR_RETURN(json value, MemberValue(op));
    return Add(doc, path, std::move(value));
  }
  if (name == "remove") return Remove(doc, path).status();
  if (name == "replace") {
    ASSIGN_OR_RETURN(json value, MemberValue(op));
    ASSIGN_OR_RETURN(json * target, Resolve(doc, path, path.size()));
    RETURN_IF_ERROR(CheckPlacedDepth(path, value));
    *target = std::move(value);
    return base::OkStatus();
  }
  if (name == "test") {
    ASSIGN_OR_RETURN(json value, MemberValue(op));
    ASSIGN_OR_RETURN(json * target, Resolve(doc, path, path.size()));
    if (*target != value) {
      return Invalid("test failed: value is " + Brief(*target) + ", test expects " + Brief(value));
    }
    return base::OkStatus();
  }
  if (name == "move" || name == "copy") {
    ASSIGN_OR_RETURN(Pointer from, MemberPointer(op, "from"));
    if (name == "move") {
      if (from == path) {
        return Resolve(doc, from, from.size()).status();
      }
      if (IsProperPrefix(from, path)) return Invalid("cannot move a value into itself");
      ASSIGN_OR_RETURN(json value, Remove(doc, from));
      return Add(doc, path, std::move(value));
    }
    ASSIGN_OR_RETURN(json * source, Resolve(doc, from, from.size()));
    copied += patch_internal::ApproxSize(*source, kMaxCopiedBytes);
    if (copied > kMaxCopiedBytes) {
      return Invalid("copy operations of this patch exceed " +
                     std::to_string(kMaxCopiedBytes >> 20) + " MiB in total");
    }
    json value = *source;
    return Add(doc, path, std::move(value));
  }
  return Invalid("unknown op \"" + name + "\" (want add, remove, replace, move, copy or test)");
}

// "operation 2 (replace /spec/replicas)".
std::string Describe(size_t index, const json& op) {
  std::string out = "operation " + std::to_string(index);
  if (!op.is_object()) return out;
  auto op_it = op.find("op");
  auto path_it = op.find("path");
  if (op_it == op.end() || !op_it->is_string()) return out;
  out += " (" + op_it->get<std::string>();
  if (path_it != op.end() && path_it->is_string()) {
    const std::string& path = path_it->get_ref<const std::string&>();
    out += " " + (path.empty() ? std::string("\"\"") : path);
  }
  return out + ")";
}

}  // namespace

base::StatusOr<json> ApplyJsonPatch(const json& doc, const json& patch) {
  if (!patch.is_array()) {
    return Invalid(std::string("JSON patch must be an array of operations, got ") +
                   patch.type_name());
  }
  if (patch.size() > kMaxJsonPatchOperations) {
    return base::ResourceExhaustedError("the allowed maximum operations in a JSON patch is " +
                                        std::to_string(kMaxJsonPatchOperations) + ", got " +
                                        std::to_string(patch.size()));
  }
  RETURN_IF_ERROR(patch_internal::CheckDepth(doc, kMaxPatchDepth, "document"));
  RETURN_IF_ERROR(patch_internal::CheckDepth(patch, kMaxPatchDepth, "JSON patch"));
  try {
    json result = doc;
    size_t copied = 0;
    for (size_t i = 0; i < patch.size(); ++i) {
      base::Status s = ApplyOperation(result, patch[i], copied);
      if (!s.ok()) return Invalid(Describe(i, patch[i]) + ": " + s.message());
    }
    return result;
  } catch (const json::exception& e) {
    return base::InternalError(std::string("applying JSON patch: ") + e.what());
  }
}

}  // namespace knet::apiserver::patch
