#include "api/yaml.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <set>
#include <sstream>

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

class Converter {
 public:
  base::StatusOr<json> Convert(const YAML::Node& node, size_t depth) {
    if (++nodes_ > kMaxYamlNodes) {
      return Error(node, "document expands to more than " + std::to_string(kMaxYamlNodes) +
                             " nodes (aliases that multiply?)");
    }
    if (depth > kMaxJsonDepth) {
      return Error(node, "nesting deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    }
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        return json(nullptr);
      case YAML::NodeType::Scalar:
        return Scalar(node);
      case YAML::NodeType::Sequence: {
        json arr = json::array();
        for (const auto& child : node) {
          ASSIGN_OR_RETURN(json v, Convert(child, depth + 1));
          arr.push_back(std::move(v));
        }
        return arr;
      }
      case YAML::NodeType::Map: {
        json obj = json::object();
        for (const auto& kv : node) {
          if (!kv.first.IsScalar() && !kv.first.IsNull()) {
            return Error(kv.first, "mapping keys must be scalars");
          }
          std::string key = kv.first.IsNull() ? "null" : kv.first.Scalar();
          if (obj.contains(key)) {
            return Error(kv.first, "mapping key \"" + key + "\" already defined");
          }
          ASSIGN_OR_RETURN(json v, Convert(kv.second, depth + 1));
          obj[key] = std::move(v);
        }
        return obj;
      }
    }
    return json(nullptr);
  }

 private:
  base::StatusOr<json> Scalar(const YAML::Node& node) {
    const std::string& tag = node.Tag();
    const std::string& s = node.Scalar();
    if (tag == "?") return ResolvePlainScalar(s);
    if (tag == "!" || tag == "tag:yaml.org,2002:str") return json(s);
    if (tag == "tag:yaml.org,2002:int") {
      json n;
      if (ParseYamlInt(s, n)) return n;
      return Error(node, "!!int value \"" + s + "\" is not an integer");
    }
    if (tag == "tag:yaml.org,2002:float") {
      json n;
      if (ParseYamlInt(s, n) || ParseYamlFloat(s, n)) return n;
      return Error(node, "!!float value \"" + s + "\" is not a number");
    }
    if (tag == "tag:yaml.org,2002:bool") {
      if (int b = BoolWord(s); b >= 0) return json(b == 1);
      return Error(node, "!!bool value \"" + s + "\" is not a boolean");
    }
    if (tag == "tag:yaml.org,2002:null") return json(nullptr);
    return json(s);  // other tags (!!timestamp, !!binary, custom): keep the text
  }

  static base::Status Error(const YAML::Node& node, const std::string& msg) {
    const YAML::Mark m = node.Mark();
    if (m.is_null()) return base::InvalidArgumentError("YAML: " + msg);
    return base::InvalidArgumentError("YAML error at line " + std::to_string(m.line + 1) +
                                      ", column " + std::to_string(m.column + 1) + ": " + msg);
  }

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
  try {
    std::string buf(text);
    std::istringstream in(buf);
    std::vector<YAML::Node> nodes = YAML::LoadAll(in);
    int index = 0;
    for (const YAML::Node& n : nodes) {
      ++index;
      if (n.IsNull() || !n.IsDefined()) continue;  // an empty document, as kubectl skips
      Converter c;
      auto v = c.Convert(n, 0);
      if (!v.ok()) {
        return v.status().WithContext("document " + std::to_string(index));
      }
      const YAML::Mark m = n.Mark();
      out.push_back({index, m.is_null() ? 0 : m.line + 1, std::move(v).value()});
    }
  } catch (const YAML::Exception& e) {
    // yaml-cpp reports positions 0-based in e.mark; its what() repeats them 1-based.
    return base::InvalidArgumentError("YAML syntax error at line " +
                                      std::to_string(e.mark.line + 1) + ", column " +
                                      std::to_string(e.mark.column + 1) + ": " + e.msg);
  } catch (const std::exception& e) {
    return base::InvalidArgumentError(std::string("YAML: ") + e.what());
  }
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
