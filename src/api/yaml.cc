#include "api/yaml.h"

#include <yaml-cpp/yaml.h>
#include <yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>

#include "api/internal/json_writer.h"
#include "api/json.h"

namespace knet::api {
namespace {

using nlohmann::json;

bool IsNullWord(const std::string& s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

// YAML 1.1 booleans as go-yaml v2 resolves them.
int BoolWord(const std::string& s) {
  static const std::set<std::string> kTrue = {"y",    "Y",    "yes", "Yes", "YES", "true",
                                              "True", "TRUE", "on",  "On",  "ON"};
  static const std::set<std::string> kFalse = {"n",     "N",     "no",  "No",  "NO", "false",
                                               "False", "FALSE", "off", "Off", "OFF"};
  if (kTrue.count(s) != 0) return 1;
  if (kFalse.count(s) != 0) return 0;
  return -1;
}

// Integer forms accepted by Go's strconv.ParseInt(s, 0, 64): decimal, 0x, 0o, 0b, leading-0
// octal, underscores between digits.
bool ParseYamlInt(const std::string& s, json& out) {
  std::string t;
  for (char ch : s) {
    if (ch != '_') t.push_back(ch);
  }
  if (t.empty() || s.front() == '_' || s.back() == '_') return false;
  size_t pos = 0;
  bool neg = false;
  if (t[0] == '+' || t[0] == '-') {
    neg = t[0] == '-';
    pos = 1;
  }
  if (pos >= t.size()) return false;
  int base = 10;
  if (t.size() > pos + 1 && t[pos] == '0') {
    const char p = t[pos + 1];
    if (p == 'x' || p == 'X') {
      base = 16;
      pos += 2;
    } else if (p == 'o' || p == 'O') {
      base = 8;
      pos += 2;
    } else if (p == 'b' || p == 'B') {
      base = 2;
      pos += 2;
    } else {
      base = 8;
      pos += 1;
    }
  }
  if (pos >= t.size()) return false;
  for (size_t i = pos; i < t.size(); ++i) {
    const char ch = t[i];
    const bool ok = base == 16   ? std::isxdigit(static_cast<unsigned char>(ch)) != 0
                    : base == 10 ? (ch >= '0' && ch <= '9')
                    : base == 8  ? (ch >= '0' && ch <= '7')
                                 : (ch == '0' || ch == '1');
    if (!ok) return false;
  }
  errno = 0;
  char* end = nullptr;
  const unsigned long long mag = std::strtoull(t.c_str() + pos, &end, base);
  if (errno == ERANGE) return false;  // too large: keep it a string
  if (neg) {
    if (mag > 9223372036854775808ULL) return false;
    out = mag == 9223372036854775808ULL ? INT64_MIN : -static_cast<int64_t>(mag);
  } else if (mag > static_cast<unsigned long long>(INT64_MAX)) {
    out = static_cast<uint64_t>(mag);
  } else {
    out = static_cast<int64_t>(mag);
  }
  return true;
}

bool ParseYamlFloat(const std::string& s, json& out) {
  // [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  size_t digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  bool dot = false;
  if (i < s.size() && s[i] == '.') {
    dot = true;
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  }
  if (digits == 0) return false;
  bool exp = false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    exp = true;
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    size_t ed = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++ed;
    if (ed == 0) return false;
  }
  if (i != s.size() || (!dot && !exp)) return false;
  const double d = std::strtod(s.c_str(), nullptr);
  if (!std::isfinite(d)) return false;
  out = d;
  return true;
}

json ResolvePlainScalar(const std::string& s) {
  if (IsNullWord(s)) return nullptr;
  if (int b = BoolWord(s); b >= 0) return b == 1;
  json n;
  if (ParseYamlInt(s, n)) return n;
  if (ParseYamlFloat(s, n)) return n;
  return s;
}

// Builds JSON documents from libyaml's event stream. Iterative (an explicit stack), so hostile
// nesting cannot exhaust the C stack; aliases are expanded under a node budget.
class Builder {
 public:
  explicit Builder(std::vector<YamlDocument>& out) : out_(out) {}

  // Consumes one event; a non-OK status ends parsing.
  base::Status OnEvent(const yaml_event_t& e) {
    const int line = static_cast<int>(e.start_mark.line) + 1;
    const int column = static_cast<int>(e.start_mark.column) + 1;
    switch (e.type) {
      case YAML_DOCUMENT_START_EVENT:
        ++index_;
        doc_line_ = line;
        root_ = json(nullptr);
        have_root_ = false;
        anchors_.clear();
        return base::OkStatus();
      case YAML_DOCUMENT_END_EVENT:
        if (have_root_ && !root_.is_null()) out_.push_back({index_, doc_line_, std::move(root_)});
        return base::OkStatus();
      case YAML_SCALAR_EVENT: {
        const std::string text(reinterpret_cast<const char*>(e.data.scalar.value),
                               e.data.scalar.length);
        if (ExpectingKey()) {
          stack_.back().key = text;
          stack_.back().has_key = true;
          return base::OkStatus();
        }
        ASSIGN_OR_RETURN(json v, Scalar(e, text, line, column));
        return Put(std::move(v), 1, Anchor(e.data.scalar.anchor), line, column);
      }
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT: {
        if (ExpectingKey()) return Error(line, column, "mapping keys must be scalars");
        if (stack_.size() >= kMaxJsonDepth) {
          return Error(line, column,
                       "nesting deeper than " + std::to_string(kMaxJsonDepth) + " levels");
        }
        const bool is_map = e.type == YAML_MAPPING_START_EVENT;
        Frame f;
        f.value = is_map ? json::object() : json::array();
        f.anchor = Anchor(is_map ? e.data.mapping_start.anchor : e.data.sequence_start.anchor);
        f.line = line;
        f.column = column;
        stack_.push_back(std::move(f));
        return Count(1, line, column);
      }
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT: {
        Frame f = std::move(stack_.back());
        stack_.pop_back();
        return Put(std::move(f.value), f.nodes, f.anchor, f.line, f.column);
      }
      case YAML_ALIAS_EVENT: {
        const std::string name = Anchor(e.data.alias.anchor);
        auto it = anchors_.find(name);
        if (it == anchors_.end()) return Error(line, column, "unknown anchor \"" + name + "\"");
        if (ExpectingKey()) {
          if (!it->second.value.is_string())
            return Error(line, column, "mapping keys must be scalars");
          stack_.back().key = it->second.value.get<std::string>();
          stack_.back().has_key = true;
          return base::OkStatus();
        }
        RETURN_IF_ERROR(Count(it->second.nodes, line, column));
        return Put(json(it->second.value), it->second.nodes, "", line, column);
      }
      default:
        return base::OkStatus();
    }
  }

 private:
  struct Frame {
    json value;
    std::string key;  // pending key, for mappings
    bool has_key = false;
    std::string anchor;
    size_t nodes = 1;  // nodes in this subtree, for alias budgets
    int line = 0;
    int column = 0;
  };
  struct Anchored {
    json value;
    size_t nodes;
  };

  static std::string Anchor(const yaml_char_t* a) {
    return a == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(a));
  }

  bool ExpectingKey() const {
    return !stack_.empty() && stack_.back().value.is_object() && !stack_.back().has_key;
  }

  base::Status Count(size_t n, int line, int column) {
    nodes_ += n;
    if (nodes_ > kMaxYamlNodes) {
      return Error(line, column,
                   "document expands to more than " + std::to_string(kMaxYamlNodes) +
                       " nodes (aliases that multiply?)");
    }
    return base::OkStatus();
  }

  base::Status Put(json v, size_t nodes, const std::string& anchor, int line, int column) {
    if (!anchor.empty()) anchors_[anchor] = {v, nodes};
    if (stack_.empty()) {
      root_ = std::move(v);
      have_root_ = true;
      return base::OkStatus();
    }
    Frame& top = stack_.back();
    top.nodes += nodes;
    if (top.value.is_array()) {
      top.value.push_back(std::move(v));
      return base::OkStatus();
    }
    if (top.value.contains(top.key)) {
      return Error(line, column, "mapping key \"" + top.key + "\" already defined");
    }
    top.value[top.key] = std::move(v);
    top.has_key = false;
    return base::OkStatus();
  }

  base::StatusOr<json> Scalar(const yaml_event_t& e, const std::string& s, int line, int column) {
    const std::string tag = Anchor(e.data.scalar.tag);
    if (tag.empty() || tag == "!") {
      if (e.data.scalar.style == YAML_PLAIN_SCALAR_STYLE && tag.empty()) {
        RETURN_IF_ERROR(Count(1, line, column));
        return ResolvePlainScalar(s);
      }
      return json(s);  // quoted or block scalars are strings
    }
    RETURN_IF_ERROR(Count(1, line, column));
    if (tag == "tag:yaml.org,2002:str") return json(s);
    if (tag == "tag:yaml.org,2002:int") {
      json n;
      if (ParseYamlInt(s, n)) return n;
      return Error(line, column, "!!int value \"" + s + "\" is not an integer");
    }
    if (tag == "tag:yaml.org,2002:float") {
      json n;
      if (ParseYamlInt(s, n) || ParseYamlFloat(s, n)) return n;
      return Error(line, column, "!!float value \"" + s + "\" is not a number");
    }
    if (tag == "tag:yaml.org,2002:bool") {
      if (int b = BoolWord(s); b >= 0) return json(b == 1);
      return Error(line, column, "!!bool value \"" + s + "\" is not a boolean");
    }
    if (tag == "tag:yaml.org,2002:null") return json(nullptr);
    return json(s);  // other tags (!!timestamp, !!binary, custom): keep the text
  }

  base::Status Error(int line, int column, const std::string& msg) const {
    return base::InvalidArgumentError("document " + std::to_string(index_) +
                                      ": YAML error at line " + std::to_string(line) + ", column " +
                                      std::to_string(column) + ": " + msg);
  }

  std::vector<YamlDocument>& out_;
  std::vector<Frame> stack_;
  std::map<std::string, Anchored> anchors_;
  json root_;
  bool have_root_ = false;
  int index_ = 0;
  int doc_line_ = 0;
  size_t nodes_ = 0;
};

bool NeedsQuotes(const std::string& s) {
  if (s.empty()) return true;
  if (!ResolvePlainScalar(s).is_string()) return true;
  // Leading/trailing space, indicators and anything multi-line: let double quotes carry it.
  if (s.front() == ' ' || s.back() == ' ' || s.find('\n') != std::string::npos) return true;
  return false;
}

void Emit(YAML::Emitter& e, const json& v) {
  switch (v.type()) {
    case json::value_t::object:
      e << YAML::BeginMap;
      for (auto it = v.begin(); it != v.end(); ++it) {
        e << YAML::Key;
        if (NeedsQuotes(it.key())) e << YAML::DoubleQuoted;
        e << it.key() << YAML::Value;
        Emit(e, it.value());
      }
      e << YAML::EndMap;
      break;
    case json::value_t::array:
      e << YAML::BeginSeq;
      for (const auto& item : v) Emit(e, item);
      e << YAML::EndSeq;
      break;
    case json::value_t::string: {
      const auto& s = v.get_ref<const std::string&>();
      if (NeedsQuotes(s)) e << YAML::DoubleQuoted;
      e << s;
      break;
    }
    case json::value_t::boolean:
      e << (v.get<bool>() ? "true" : "false");
      break;
    case json::value_t::null:
      e << YAML::Null;
      break;
    default:
      e << v.dump();
      break;  // numbers, in JSON's own spelling
  }
}

}  // namespace

base::StatusOr<std::vector<YamlDocument>> ParseYamlDocuments(std::string_view text) {
  std::vector<YamlDocument> out;
  // Like go-yaml, refuse bytes that are not UTF-8 rather than carry them into the objects.
  if (size_t bad = internal::FindInvalidUtf8(text); bad != std::string_view::npos) {
    const auto line = 1 + std::count(text.begin(), text.begin() + static_cast<long>(bad), '\n');
    return base::InvalidArgumentError("YAML: invalid UTF-8 at byte " + std::to_string(bad) +
                                      " (line " + std::to_string(line) + ")");
  }
  yaml_parser_t parser;
  if (yaml_parser_initialize(&parser) == 0) {
    return base::ResourceExhaustedError("YAML: cannot initialise the parser");
  }
  yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(text.data()),
                               text.size());
  Builder builder(out);
  base::Status status;
  for (bool done = false; !done && status.ok();) {
    yaml_event_t event;
    if (yaml_parser_parse(&parser, &event) == 0) {
      std::string msg = "YAML syntax error at line " +
                        std::to_string(parser.problem_mark.line + 1) + ", column " +
                        std::to_string(parser.problem_mark.column + 1) + ": " +
                        (parser.problem != nullptr ? parser.problem : "malformed input");
      if (parser.context != nullptr) msg += std::string(" ") + parser.context;
      status = base::InvalidArgumentError(msg);
      break;
    }
    done = event.type == YAML_STREAM_END_EVENT;
    status = builder.OnEvent(event);
    yaml_event_delete(&event);
  }
  yaml_parser_delete(&parser);
  if (!status.ok()) return status;
  return out;
}

std::string EmitYaml(const json& value) {
  YAML::Emitter e;
  e.SetIndent(2);
  e.SetSeqFormat(YAML::Block);
  e.SetMapFormat(YAML::Block);
  Emit(e, value);
  std::string out = e.c_str();
  if (out.empty() || out.back() != '\n') out.push_back('\n');
  return out;
}

}  // namespace knet::api
