#include "api/selector.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <utility>

namespace knet::api {
namespace {

using Op = LabelRequirement::Operator;

constexpr size_t kQualifiedNameMaxLength = 63;
constexpr size_t kDns1123SubdomainMaxLength = 253;
constexpr size_t kLabelValueMaxLength = 63;

constexpr std::string_view kQualifiedNameErrMsg =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character";
constexpr std::string_view kQualifiedNameFmt = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
constexpr std::string_view kDns1123SubdomainErrMsg =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character";
constexpr std::string_view kDns1123SubdomainFmt =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
constexpr std::string_view kLabelValueErrMsg =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character";
constexpr std::string_view kLabelValueFmt = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";

// validation.RegexError, including its "'a',  or 'b'" spacing.
std::string RegexError(std::string_view msg, std::string_view fmt,
                       std::initializer_list<std::string_view> examples) {
  std::string out(msg);
  out += " (e.g. ";
  bool first = true;
  for (std::string_view e : examples) {
    if (!first) out += " or ";
    first = false;
    out += "'";
    out += e;
    out += "', ";
  }
  out += "regex used for validation is '";
  out += fmt;
  out += "')";
  return out;
}

std::string MaxLenError(size_t n) {
  return "must be no more than " + std::to_string(n) + " characters";
}

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]
bool IsQualifiedNameBody(std::string_view s) {
  if (s.empty() || !IsAlnum(s.front()) || !IsAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return IsAlnum(c) || c == '-' || c == '_' || c == '.'; });
}

// [a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*
bool IsDns1123Subdomain(std::string_view s) {
  auto lower_alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    std::string_view label = s.substr(start, dot == std::string_view::npos ? s.npos : dot - start);
    if (label.empty() || !lower_alnum(label.front()) || !lower_alnum(label.back())) return false;
    for (char c : label) {
      if (!lower_alnum(c) && c != '-') return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

base::Status JoinErrors(const std::vector<std::string>& errs) {
  if (errs.empty()) return base::OkStatus();
  std::string msg;
  for (const std::string& e : errs) {
    if (!msg.empty()) msg += "; ";
    msg += e;
  }
  return base::InvalidArgumentError(std::move(msg));
}

// strconv.ParseInt(s, 10, 64).
std::optional<int64_t> ParseInt64(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  uint64_t u = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), u);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (negative) {
    if (u > kMax + 1) return std::nullopt;
    if (u == kMax + 1) return std::numeric_limits<int64_t>::min();
    return -static_cast<int64_t>(u);
  }
  if (u > kMax) return std::nullopt;
  return static_cast<int64_t>(u);
}

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

// ---- Lexer and parser for the string form (labels/selector.go) ----

enum class Tok {
  kEnd,
  kIdentifier,
  kIn,
  kNotIn,
  kNot,  // "!"
  kEquals,
  kDoubleEquals,
  kNotEquals,
  kGreater,
  kLess,
  kOpenPar,
  kClosePar,
  kComma,
};

struct Token {
  Tok kind = Tok::kEnd;
  std::string_view lit;
  size_t pos = 0;  // 0-based offset of the first character
};

bool IsWhitespace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool IsSpecial(char c) {
  return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' || c == '>' || c == '<';
}

std::vector<Token> Lex(std::string_view s) {
  std::vector<Token> out;
  size_t i = 0;
  while (true) {
    while (i < s.size() && IsWhitespace(s[i])) ++i;
    if (i >= s.size()) {
      out.push_back({Tok::kEnd, {}, s.size()});
      return out;
    }
    size_t start = i;
    char c = s[i];
    if (IsSpecial(c)) {
      bool next_eq = i + 1 < s.size() && s[i + 1] == '=';
      Tok kind = Tok::kEnd;
      size_t len = 1;
      switch (c) {
        case '!':
          kind = next_eq ? Tok::kNotEquals : Tok::kNot;
          len = next_eq ? 2 : 1;
          break;
        case '=':
          kind = next_eq ? Tok::kDoubleEquals : Tok::kEquals;
          len = next_eq ? 2 : 1;
          break;
        case '(':
          kind = Tok::kOpenPar;
          break;
        case ')':
          kind = Tok::kClosePar;
          break;
        case ',':
          kind = Tok::kComma;
          break;
        case '>':
          kind = Tok::kGreater;
          break;
        default:
          kind = Tok::kLess;
          break;
      }
      i += len;
      out.push_back({kind, s.substr(start, len), start});
      continue;
    }
    while (i < s.size() && !IsWhitespace(s[i]) && !IsSpecial(s[i])) ++i;
    std::string_view lit = s.substr(start, i - start);
    Tok kind = lit == "in" ? Tok::kIn : lit == "notin" ? Tok::kNotIn : Tok::kIdentifier;
    out.push_back({kind, lit, start});
  }
}

struct PositionedValue {
  std::string value;
  size_t pos;
};

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text), tokens_(Lex(text)) {}

  base::StatusOr<std::vector<LabelRequirement>> Parse() {
    std::vector<LabelRequirement> reqs;
    while (true) {
      Token t = Peek(kValues);
      if (t.kind == Tok::kEnd) return reqs;
      if (t.kind != Tok::kIdentifier && t.kind != Tok::kNot) {
        return Fail("'!', identifier or end of string", t);
      }
      ASSIGN_OR_RETURN(LabelRequirement r, ParseRequirement());
      reqs.push_back(std::move(r));
      Token n = Next(kValues);
      if (n.kind == Tok::kEnd) return reqs;
      if (n.kind != Tok::kComma) return Fail("',' or end of string", n);
      Token after = Peek(kValues);
      if (after.kind != Tok::kIdentifier && after.kind != Tok::kNot) {
        return Fail("'!' or identifier after ','", after);
      }
    }
  }

 private:
  // In the values context the keywords "in" and "notin" are plain identifiers.
  enum Context { kValues, kKeyAndOperator };

  Token Adjust(Token t, Context ctx) const {
    if (ctx == kValues && (t.kind == Tok::kIn || t.kind == Tok::kNotIn)) t.kind = Tok::kIdentifier;
    return t;
  }
  Token Peek(Context ctx) const { return Adjust(tokens_[next_], ctx); }
  Token Next(Context ctx) {
    Token t = Adjust(tokens_[next_], ctx);
    if (t.kind != Tok::kEnd) ++next_;
    return t;
  }

  std::string Prefix() const { return "invalid label selector " + Quote(text_) + ": "; }

  base::Status Fail(std::string_view expected, const Token& t) const {
    std::string msg = Prefix() + "expected " + std::string(expected) + " at position " +
                      std::to_string(t.pos + 1);
    if (t.kind != Tok::kEnd) msg += ", found '" + std::string(t.lit) + "'";
    return base::InvalidArgumentError(std::move(msg));
  }

  base::Status FailAt(std::string_view what, std::string_view lit, size_t pos,
                      std::string_view detail) const {
    return base::InvalidArgumentError(Prefix() + std::string(what) + " " + Quote(lit) +
                                      " at position " + std::to_string(pos + 1) + ": " +
                                      std::string(detail));
  }

  base::StatusOr<LabelRequirement> ParseRequirement() {
    Token t = Next(kValues);
    bool does_not_exist = false;
    if (t.kind == Tok::kNot) {
      does_not_exist = true;
      t = Next(kValues);
    }
    if (t.kind != Tok::kIdentifier) return Fail("identifier", t);
    if (base::Status s = ValidateLabelKey(t.lit); !s.ok()) {
      return FailAt("invalid label key", t.lit, t.pos, s.message());
    }
    LabelRequirement r;
    r.key = std::string(t.lit);
    if (does_not_exist) {
      r.operator_ = Op::kDoesNotExist;
      return r;
    }
    Tok la = Peek(kValues).kind;
    if (la == Tok::kEnd || la == Tok::kComma) {
      r.operator_ = Op::kExists;
      return r;
    }
    Token op = Next(kKeyAndOperator);
    std::vector<PositionedValue> values;
    switch (op.kind) {
      case Tok::kIn:
      case Tok::kNotIn: {
        r.operator_ = op.kind == Tok::kIn ? Op::kIn : Op::kNotIn;
        ASSIGN_OR_RETURN(values, ParseValues());
        break;
      }
      case Tok::kEquals:
      case Tok::kDoubleEquals:
      case Tok::kNotEquals:
      case Tok::kGreater:
      case Tok::kLess: {
        r.operator_ = op.kind == Tok::kEquals         ? Op::kEquals
                      : op.kind == Tok::kDoubleEquals ? Op::kDoubleEquals
                      : op.kind == Tok::kNotEquals    ? Op::kNotEquals
                      : op.kind == Tok::kGreater      ? Op::kGreaterThan
                                                      : Op::kLessThan;
        ASSIGN_OR_RETURN(PositionedValue v, ParseExactValue());
        values.push_back(std::move(v));
        break;
      }
      default:
        return Fail("one of in, notin, =, ==, !=, >, <", op);
    }
    for (const PositionedValue& v : values) {
      if ((r.operator_ == Op::kGreaterThan || r.operator_ == Op::kLessThan) &&
          !ParseInt64(v.value)) {
        return FailAt("value", v.value, v.pos,
                      "for 'Gt', 'Lt' operators, the value must be an integer");
      }
      if (base::Status s = ValidateLabelValue(v.value); !s.ok()) {
        return FailAt("invalid label value", v.value, v.pos, s.message());
      }
      r.values.push_back(v.value);
    }
    std::sort(r.values.begin(), r.values.end());
    r.values.erase(std::unique(r.values.begin(), r.values.end()), r.values.end());
    return r;
  }

  // "(" identifier-list ")", where "()" and empty list slots stand for the empty value.
  base::StatusOr<std::vector<PositionedValue>> ParseValues() {
    Token open = Next(kValues);
    if (open.kind != Tok::kOpenPar) return Fail("'('", open);
    Token la = Peek(kValues);
    if (la.kind == Tok::kClosePar) {
      Next(kValues);
      return std::vector<PositionedValue>{{"", la.pos}};
    }
    if (la.kind != Tok::kIdentifier && la.kind != Tok::kComma) {
      return Fail("',', ')' or identifier", la);
    }
    std::vector<PositionedValue> out;
    while (true) {
      Token t = Next(kValues);
      if (t.kind == Tok::kIdentifier) {
        out.push_back({std::string(t.lit), t.pos});
        Token after = Peek(kValues);
        if (after.kind == Tok::kComma) continue;
        if (after.kind == Tok::kClosePar) break;
        return Fail(after.kind == Tok::kEnd ? "')'" : "',' or ')'", after);
      }
      if (t.kind == Tok::kComma) {
        if (out.empty()) out.push_back({"", t.pos});  // "(,"
        Token after = Peek(kValues);
        if (after.kind == Tok::kClosePar) {
          out.push_back({"", after.pos});  // ",)"
          break;
        }
        if (after.kind == Tok::kComma) {
          Next(kValues);
          out.push_back({"", after.pos});  // ",,"
        }
        continue;
      }
      return Fail("identifier, ',' or ')'", t);
    }
    Token close = Next(kValues);
    if (close.kind != Tok::kClosePar) return Fail("')'", close);
    return out;
  }

  // The single value after =, ==, !=, > or <; empty when the requirement ends right there.
  base::StatusOr<PositionedValue> ParseExactValue() {
    Token la = Peek(kValues);
    if (la.kind == Tok::kEnd || la.kind == Tok::kComma) return PositionedValue{"", la.pos};
    Token t = Next(kValues);
    if (t.kind != Tok::kIdentifier) return Fail("value", t);
    return PositionedValue{std::string(t.lit), t.pos};
  }

  std::string_view text_;
  std::vector<Token> tokens_;
  size_t next_ = 0;
};

bool HasValue(const LabelRequirement& r, const std::string& v) {
  return std::find(r.values.begin(), r.values.end(), v) != r.values.end();
}

}  // namespace

base::Status ValidateLabelKey(std::string_view key) {
  std::vector<std::string> errs;
  std::string_view name = key;
  size_t slash = key.find('/');
  if (slash != std::string_view::npos) {
    if (key.find('/', slash + 1) != std::string_view::npos) {
      return base::InvalidArgumentError(
          "a qualified name " +
          RegexError(kQualifiedNameErrMsg, kQualifiedNameFmt, {"MyName", "my.name", "123-abc"}) +
          " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
    }
    std::string_view prefix = key.substr(0, slash);
    name = key.substr(slash + 1);
    if (prefix.empty()) {
      errs.push_back("prefix part must be non-empty");
    } else {
      if (prefix.size() > kDns1123SubdomainMaxLength) {
        errs.push_back("prefix part " + MaxLenError(kDns1123SubdomainMaxLength));
      }
      if (!IsDns1123Subdomain(prefix)) {
        errs.push_back("prefix part " +
                       RegexError(kDns1123SubdomainErrMsg, kDns1123SubdomainFmt, {"example.com"}));
      }
    }
  }
  if (name.empty()) {
    errs.push_back("name part must be non-empty");
  } else if (name.size() > kQualifiedNameMaxLength) {
    errs.push_back("name part " + MaxLenError(kQualifiedNameMaxLength));
  }
  if (!IsQualifiedNameBody(name)) {
    errs.push_back("name part " + RegexError(kQualifiedNameErrMsg, kQualifiedNameFmt,
                                             {"MyName", "my.name", "123-abc"}));
  }
  return JoinErrors(errs);
}

base::Status ValidateLabelValue(std::string_view value) {
  std::vector<std::string> errs;
  if (value.size() > kLabelValueMaxLength) errs.push_back(MaxLenError(kLabelValueMaxLength));
  if (!value.empty() && !IsQualifiedNameBody(value)) {
    errs.push_back(RegexError(kLabelValueErrMsg, kLabelValueFmt, {"MyValue", "my_value", "12345"}));
  }
  return JoinErrors(errs);
}

bool LabelRequirement::Matches(const std::map<std::string, std::string>& labels) const {
  auto it = labels.find(key);
  bool has = it != labels.end();
  switch (operator_) {
    case Op::kIn:
    case Op::kEquals:
    case Op::kDoubleEquals:
      return has && HasValue(*this, it->second);
    case Op::kNotIn:
    case Op::kNotEquals:
      return !has || !HasValue(*this, it->second);
    case Op::kExists:
      return has;
    case Op::kDoesNotExist:
      return !has;
    case Op::kGreaterThan:
    case Op::kLessThan: {
      if (!has || values.size() != 1) return false;
      std::optional<int64_t> label = ParseInt64(it->second);
      std::optional<int64_t> bound = ParseInt64(values[0]);
      if (!label || !bound) return false;
      return operator_ == Op::kGreaterThan ? *label > *bound : *label < *bound;
    }
  }
  return false;
}

std::string LabelRequirement::ToString() const {
  std::string out = operator_ == Op::kDoesNotExist ? "!" + key : key;
  switch (operator_) {
    case Op::kExists:
    case Op::kDoesNotExist:
      return out;
    case Op::kEquals:
      out += "=";
      break;
    case Op::kDoubleEquals:
      out += "==";
      break;
    case Op::kNotEquals:
      out += "!=";
      break;
    case Op::kGreaterThan:
      out += ">";
      break;
    case Op::kLessThan:
      out += "<";
      break;
    case Op::kIn:
      out += " in (";
      break;
    case Op::kNotIn:
      out += " notin (";
      break;
  }
  std::vector<std::string> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (i > 0) out += ",";
    out += sorted[i];
  }
  if (operator_ == Op::kIn || operator_ == Op::kNotIn) out += ")";
  return out;
}

Selector::Selector(std::vector<LabelRequirement> requirements)
    : requirements_(std::move(requirements)) {
  std::stable_sort(
      requirements_.begin(), requirements_.end(),
      [](const LabelRequirement& a, const LabelRequirement& b) { return a.key < b.key; });
}

base::StatusOr<Selector> Selector::Parse(std::string_view text) {
  Parser parser(text);
  ASSIGN_OR_RETURN(std::vector<LabelRequirement> reqs, parser.Parse());
  return Selector(std::move(reqs));
}

base::StatusOr<Selector> Selector::FromLabelSelector(const LabelSelector& selector) {
  auto fail = [](const std::string& field, std::string detail) {
    return base::InvalidArgumentError("invalid label selector: " + field + ": " + detail);
  };
  std::vector<LabelRequirement> reqs;
  for (const auto& [key, value] : selector.match_labels) {
    if (base::Status s = ValidateLabelKey(key); !s.ok()) {
      return fail("matchLabels", "Invalid value: " + Quote(key) + ": " + s.message());
    }
    if (base::Status s = ValidateLabelValue(value); !s.ok()) {
      return fail("matchLabels[" + key + "]",
                  "Invalid value: " + Quote(value) + ": " + s.message());
    }
    reqs.push_back({key, Op::kEquals, {value}});
  }
  for (size_t i = 0; i < selector.match_expressions.size(); ++i) {
    const LabelSelectorRequirement& expr = selector.match_expressions[i];
    std::string field = "matchExpressions[" + std::to_string(i) + "]";
    LabelRequirement r;
    if (expr.operator_ == "In") {
      r.operator_ = Op::kIn;
    } else if (expr.operator_ == "NotIn") {
      r.operator_ = Op::kNotIn;
    } else if (expr.operator_ == "Exists") {
      r.operator_ = Op::kExists;
    } else if (expr.operator_ == "DoesNotExist") {
      r.operator_ = Op::kDoesNotExist;
    } else {
      return fail(field + ".operator",
                  "Unsupported value: " + Quote(expr.operator_) +
                      ": supported values: \"DoesNotExist\", \"Exists\", \"In\", \"NotIn\"");
    }
    if (base::Status s = ValidateLabelKey(expr.key); !s.ok()) {
      return fail(field + ".key", "Invalid value: " + Quote(expr.key) + ": " + s.message());
    }
    bool set_based = r.operator_ == Op::kIn || r.operator_ == Op::kNotIn;
    if (set_based && expr.values.empty()) {
      return fail(field + ".values",
                  "Required value: must be specified when `operator` is 'In' or 'NotIn'");
    }
    if (!set_based && !expr.values.empty()) {
      return fail(field + ".values",
                  "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
    }
    for (size_t j = 0; j < expr.values.size(); ++j) {
      if (base::Status s = ValidateLabelValue(expr.values[j]); !s.ok()) {
        return fail(field + ".values[" + std::to_string(j) + "]",
                    "Invalid value: " + Quote(expr.values[j]) + ": " + s.message());
      }
    }
    r.key = expr.key;
    r.values = expr.values;
    std::sort(r.values.begin(), r.values.end());
    reqs.push_back(std::move(r));
  }
  return Selector(std::move(reqs));
}

Selector Selector::FromSet(const std::map<std::string, std::string>& labels) {
  std::vector<LabelRequirement> reqs;
  reqs.reserve(labels.size());
  for (const auto& [key, value] : labels) reqs.push_back({key, Op::kEquals, {value}});
  return Selector(std::move(reqs));
}

bool Selector::Matches(const std::map<std::string, std::string>& labels) const {
  return std::all_of(requirements_.begin(), requirements_.end(),
                     [&](const LabelRequirement& r) { return r.Matches(labels); });
}

std::string Selector::ToString() const {
  std::string out;
  for (const LabelRequirement& r : requirements_) {
    if (!out.empty()) out += ",";
    out += r.ToString();
  }
  return out;
}

}  // namespace knet::api
