#include "api/json.h"

#include <string>

namespace knet::api {
namespace {

using nlohmann::json;

// Builds the DOM from SAX events, tracking the path for duplicate keys and the depth.
class DomBuilder {
 public:
  DomBuilder(json& root, std::vector<std::string>* dups) : root_(root), dups_(dups) {}

  bool null() { return Add(json(nullptr)); }
  bool boolean(bool v) { return Add(json(v)); }
  bool number_integer(json::number_integer_t v) { return Add(json(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return Add(json(v)); }
  bool number_float(json::number_float_t v, const json::string_t&) { return Add(json(v)); }
  bool string(json::string_t& v) { return Add(json(std::move(v))); }
  bool binary(json::binary_t&) { return Fail("binary values are not JSON"); }
  bool start_object(std::size_t) { return Open(json::object()); }
  bool start_array(std::size_t) { return Open(json::array()); }
  bool end_object() { return CloseLevel(); }
  bool end_array() { return CloseLevel(); }
  bool key(json::string_t& k) {
    Level& l = stack_.back();
    if (dups_ != nullptr && l.node->contains(k)) dups_->push_back(PathWith(k));
    l.key = std::move(k);
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& ex) {
    std::string what = ex.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 2: ..." -> keep the tail.
    if (auto p = what.find("parse error"); p != std::string::npos) what = what.substr(p);
    if (error_.empty()) error_ = "invalid JSON: " + what;
    return false;
  }

  const std::string& error() const { return error_; }

 private:
  struct Level {
    json* node;
    std::string key;  // the pending key, for objects
  };

  bool Fail(std::string msg) {
    if (error_.empty()) error_ = std::move(msg);
    return false;
  }

  json* Slot() {
    if (stack_.empty()) return &root_;
    Level& l = stack_.back();
    if (l.node->is_array()) {
      l.node->push_back(nullptr);
      return &l.node->back();
    }
    return &(*l.node)[l.key];
  }

  bool Add(json&& v) {
    *Slot() = std::move(v);
    return true;
  }

  bool Open(json&& v) {
    if (stack_.size() >= kMaxJsonDepth) {
      return Fail("invalid JSON: nesting deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    }
    json* slot = Slot();
    *slot = std::move(v);
    stack_.push_back({slot, {}});
    return true;
  }

  bool CloseLevel() {
    stack_.pop_back();
    return true;
  }

  std::string PathWith(const std::string& last) const {
    std::string path;
    for (size_t i = 0; i + 1 < stack_.size(); ++i) {
      const Level& l = stack_[i];
      if (l.node->is_array()) {
        path += "[" + std::to_string(l.node->size() - 1) + "]";
      } else {
        if (!path.empty()) path += ".";
        path += l.key;
      }
    }
    if (!path.empty()) path += ".";
    return path + last;
  }

  json& root_;
  std::vector<std::string>* dups_;
  std::vector<Level> stack_;
  std::string error_;
};

}  // namespace

base::StatusOr<json> ParseJson(std::string_view text, std::vector<std::string>* duplicate_fields) {
  json root;
  DomBuilder builder(root, duplicate_fields);
  const bool ok = json::sax_parse(text.begin(), text.end(), &builder, json::input_format_t::json,
                                  /*strict=*/true);
  if (!ok) {
    return base::InvalidArgumentError(builder.error().empty() ? "invalid JSON" : builder.error());
  }
  return root;
}

std::string DescribeJsonValue(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return v.get<bool>() ? "boolean true" : "boolean false";
    case json::value_t::string: {
      const auto& s = v.get_ref<const std::string&>();
      std::string shown = s.size() > 64 ? s.substr(0, 64) + "..." : s;
      return "string " + json(shown).dump(-1, ' ', false, json::error_handler_t::replace);
    }
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return "number " + v.dump();
    case json::value_t::object:
      return "object";
    case json::value_t::array:
      return "array";
    default:
      return "value";
  }
}

}  // namespace knet::api
