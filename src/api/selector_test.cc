#include "api/selector.h"

#include <gtest/gtest.h>

#include <string>

namespace knet::api {
namespace {

using Labels = std::map<std::string, std::string>;

struct ParseCase {
  const char* input;
  const char* canonical;  // ToString() of the parsed selector
};

TEST(SelectorParse, ValidStringsRoundTripToCanonicalForm) {
  const ParseCase cases[] = {
      {"", ""},
      {"   ", ""},
      {"x", "x"},
      {"!x", "!x"},
      {" ! x ", "!x"},
      {"app=web", "app=web"},
      {"app==web", "app==web"},
      {"env!=prod", "env!=prod"},
      {"a=", "a="},
      {"a==", "a=="},
      {"a!=,b", "a!=,b"},
      {"tier in (fe,be)", "tier in (be,fe)"},
      {"tier in(fe , be)", "tier in (be,fe)"},
      {"tier in (b,a,b)", "tier in (a,b)"},
      {"partition notin (a,b)", "partition notin (a,b)"},
      {"a in ()", "a in ()"},
      {"a in (,)", "a in ()"},
      {"a in (x,)", "a in (,x)"},
      {"gt > 3", "gt>3"},
      {"lt<5", "lt<5"},
      {"app=web,tier in (fe,be),!canary", "app=web,!canary,tier in (be,fe)"},
      {"z=1, a=2 ,m", "a=2,m,z=1"},
      {"\tapp = web\n", "app=web"},
      {"example.com/app=v1.2_x-y", "example.com/app=v1.2_x-y"},
      {"in in (notin)", "in in (notin)"},
      {"notin=in", "notin=in"},
  };
  for (const ParseCase& c : cases) {
    auto sel = Selector::Parse(c.input);
    ASSERT_TRUE(sel.ok()) << "'" << c.input << "': " << sel.status().ToString();
    EXPECT_EQ(sel->ToString(), c.canonical) << "'" << c.input << "'";
    auto again = Selector::Parse(sel->ToString());
    ASSERT_TRUE(again.ok()) << c.canonical;
    EXPECT_EQ(*again, *sel) << c.canonical;
  }
}

TEST(SelectorParse, OperatorsAndValues) {
  using Op = LabelRequirement::Operator;
  auto sel = Selector::Parse("a in (2,1),b notin (x),c=1,d==2,e!=3,f,!g,h>4,i<5");
  ASSERT_TRUE(sel.ok()) << sel.status().ToString();
  const std::vector<LabelRequirement> want = {
      {"a", Op::kIn, {"1", "2"}},      {"b", Op::kNotIn, {"x"}},       {"c", Op::kEquals, {"1"}},
      {"d", Op::kDoubleEquals, {"2"}}, {"e", Op::kNotEquals, {"3"}},   {"f", Op::kExists, {}},
      {"g", Op::kDoesNotExist, {}},    {"h", Op::kGreaterThan, {"4"}}, {"i", Op::kLessThan, {"5"}},
  };
  EXPECT_EQ(sel->requirements(), want);
  EXPECT_FALSE(sel->Empty());
}

struct ErrorCase {
  const char* input;
  const char* message;  // the whole InvalidArgument message
};

TEST(SelectorParse, InvalidStringsNamePositionAndToken) {
  const ErrorCase cases[] = {
      {"app in (a", R"m(invalid label selector "app in (a": expected ')' at position 10)m"},
      {"a in (b c)",
       R"m(invalid label selector "a in (b c)": expected ',' or ')' at position 9, found 'c')m"},
      {"a in b", R"m(invalid label selector "a in b": expected '(' at position 6, found 'b')m"},
      {"a in (=)",
       R"m(invalid label selector "a in (=)": expected ',', ')' or identifier at position 7, found '=')m"},
      {"a b",
       R"m(invalid label selector "a b": expected one of in, notin, =, ==, !=, >, < at position 3, found 'b')m"},
      {"a=b=c",
       R"m(invalid label selector "a=b=c": expected ',' or end of string at position 4, found '=')m"},
      {"a,",
       R"m(invalid label selector "a,": expected '!' or identifier after ',' at position 3)m"},
      {",a",
       R"m(invalid label selector ",a": expected '!', identifier or end of string at position 1, found ',')m"},
      {"!", R"m(invalid label selector "!": expected identifier at position 2)m"},
      {"!a=b",
       R"m(invalid label selector "!a=b": expected ',' or end of string at position 3, found '=')m"},
      {"a=(b)", R"m(invalid label selector "a=(b)": expected value at position 3, found '(')m"},
      {"a>x",
       R"m(invalid label selector "a>x": value "x" at position 3: for 'Gt', 'Lt' operators, the value must be an integer)m"},
      {"a<",
       R"m(invalid label selector "a<": value "" at position 3: for 'Gt', 'Lt' operators, the value must be an integer)m"},
      {"-a=b",
       R"m(invalid label selector "-a=b": invalid label key "-a" at position 1: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]'))m"},
      {"a=b, c in (ok,-bad)",
       R"m(invalid label selector "a=b, c in (ok,-bad)": invalid label value "-bad" at position 15: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?'))m"},
  };
  for (const ErrorCase& c : cases) {
    auto sel = Selector::Parse(c.input);
    ASSERT_FALSE(sel.ok()) << "'" << c.input << "' parsed as " << sel->ToString();
    EXPECT_EQ(sel.status().code(), base::StatusCode::kInvalidArgument) << c.input;
    EXPECT_EQ(sel.status().message(), c.message) << c.input;
  }
}

TEST(SelectorParse, RejectsMoreMalformedInput) {
  for (const char* bad :
       {"a in", "a notin (", "a in (b,", "a=b c", "(a)", "a,,b", "a/b/c", "Example.com/a", "/a",
        "a/", "a=b)", "x>1.5", "lt<-5", "x<9223372036854775808", "!a in (b)", "a!"}) {
    auto sel = Selector::Parse(bad);
    EXPECT_FALSE(sel.ok()) << "'" << bad << "' parsed as " << (sel.ok() ? sel->ToString() : "");
  }
}

struct MatchCase {
  const char* selector;
  Labels labels;
  bool want;
};

TEST(SelectorMatches, KubernetesSemantics) {
  const MatchCase cases[] = {
      {"", {}, true},
      {"", {{"a", "b"}}, true},
      {"app=web", {{"app", "web"}}, true},
      {"app=web", {{"app", "db"}}, false},
      {"app=web", {}, false},
      {"app==web", {{"app", "web"}, {"x", "y"}}, true},
      {"app!=web", {{"app", "db"}}, true},
      {"app!=web", {{"app", "web"}}, false},
      {"app!=web", {}, true},  // absent key matches !=
      {"tier in (fe,be)", {{"tier", "be"}}, true},
      {"tier in (fe,be)", {{"tier", "db"}}, false},
      {"tier in (fe,be)", {}, false},
      {"tier notin (fe,be)", {{"tier", "db"}}, true},
      {"tier notin (fe,be)", {{"tier", "fe"}}, false},
      {"tier notin (fe,be)", {}, true},  // absent key matches notin
      {"canary", {{"canary", ""}}, true},
      {"canary", {}, false},
      {"!canary", {}, true},
      {"!canary", {{"canary", "true"}}, false},
      {"a=", {{"a", ""}}, true},
      {"a=", {}, false},
      {"a in ()", {{"a", ""}}, true},
      {"gt>3", {{"gt", "4"}}, true},
      {"gt>3", {{"gt", "3"}}, false},
      {"gt>3", {{"gt", "10"}}, true},  // numeric, not lexical
      {"gt>3", {{"gt", "abc"}}, false},
      {"gt>3", {}, false},
      {"lt<5", {{"lt", "-7"}}, true},
      {"lt<5", {{"lt", "5"}}, false},
      {"lt<5", {{"lt", "4.5"}}, false},
      {"lt<5", {{"lt", "+4"}}, true},
      {"app=web,tier in (fe,be),!canary", {{"app", "web"}, {"tier", "fe"}}, true},
      {"app=web,tier in (fe,be),!canary", {{"app", "web"}, {"tier", "fe"}, {"canary", "1"}}, false},
      {"app=web,tier in (fe,be),!canary", {{"app", "web"}}, false},
  };
  for (const MatchCase& c : cases) {
    auto sel = Selector::Parse(c.selector);
    ASSERT_TRUE(sel.ok()) << c.selector << ": " << sel.status().ToString();
    std::string labels;
    for (const auto& [k, v] : c.labels) labels += k + "=" + v + " ";
    EXPECT_EQ(sel->Matches(c.labels), c.want) << "'" << c.selector << "' vs {" << labels << "}";
  }
}

TEST(Selector, EverythingAndFromSet) {
  Selector all = Selector::Everything();
  EXPECT_TRUE(all.Empty());
  EXPECT_EQ(all.ToString(), "");
  EXPECT_TRUE(all.Matches({}));
  EXPECT_TRUE(all.Matches({{"k", "v"}}));

  Selector set = Selector::FromSet({{"tier", "fe"}, {"app", "web"}});
  EXPECT_FALSE(set.Empty());
  EXPECT_EQ(set.ToString(), "app=web,tier=fe");
  EXPECT_TRUE(set.Matches({{"app", "web"}, {"tier", "fe"}, {"x", "y"}}));
  EXPECT_FALSE(set.Matches({{"app", "web"}}));
  EXPECT_TRUE(Selector::FromSet({}).Empty());
}

TEST(SelectorFromLabelSelector, Converts) {
  LabelSelector ls;
  ls.match_labels = {{"app", "web"}};
  ls.match_expressions = {{"tier", "In", {"fe", "be"}},
                          {"env", "NotIn", {"prod"}},
                          {"canary", "DoesNotExist", {}},
                          {"zone", "Exists", {}}};
  auto sel = Selector::FromLabelSelector(ls);
  ASSERT_TRUE(sel.ok()) << sel.status().ToString();
  EXPECT_EQ(sel->ToString(), "app=web,!canary,env notin (prod),tier in (be,fe),zone");
  EXPECT_TRUE(sel->Matches({{"app", "web"}, {"tier", "fe"}, {"zone", "a"}}));
  EXPECT_FALSE(sel->Matches({{"app", "web"}, {"tier", "fe"}}));
  EXPECT_FALSE(sel->Matches({{"app", "web"}, {"tier", "fe"}, {"zone", "a"}, {"env", "prod"}}));

  auto empty = Selector::FromLabelSelector(LabelSelector{});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->Empty());
  EXPECT_TRUE(empty->Matches({{"any", "thing"}}));
}

TEST(SelectorFromLabelSelector, Errors) {
  struct Case {
    LabelSelector selector;
    const char* message;
  };
  const Case cases[] = {
      {{{}, {{"a", "Gt", {"1"}}}},
       R"m(invalid label selector: matchExpressions[0].operator: Unsupported value: "Gt": supported values: "DoesNotExist", "Exists", "In", "NotIn")m"},
      {{{}, {{"a", "Exists", {}}, {"b", "", {}}}},
       R"m(invalid label selector: matchExpressions[1].operator: Unsupported value: "": supported values: "DoesNotExist", "Exists", "In", "NotIn")m"},
      {{{}, {{"a", "In", {}}}},
       "invalid label selector: matchExpressions[0].values: Required value: must be specified "
       "when `operator` is 'In' or 'NotIn'"},
      {{{}, {{"a", "NotIn", {}}}},
       "invalid label selector: matchExpressions[0].values: Required value: must be specified "
       "when `operator` is 'In' or 'NotIn'"},
      {{{}, {{"a", "Exists", {"x"}}}},
       "invalid label selector: matchExpressions[0].values: Forbidden: may not be specified when "
       "`operator` is 'Exists' or 'DoesNotExist'"},
      {{{}, {{"a", "DoesNotExist", {"x"}}}},
       "invalid label selector: matchExpressions[0].values: Forbidden: may not be specified when "
       "`operator` is 'Exists' or 'DoesNotExist'"},
      {{{}, {{"", "Exists", {}}}},
       R"m(invalid label selector: matchExpressions[0].key: Invalid value: "": name part must be non-empty; name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]'))m"},
      {{{}, {{"a", "In", {"ok", "bad value"}}}},
       R"m(invalid label selector: matchExpressions[0].values[1]: Invalid value: "bad value": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?'))m"},
      {{{{"a b", "c"}}, {}},
       R"m(invalid label selector: matchLabels: Invalid value: "a b": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]'))m"},
      {{{{"a", "c_"}}, {}},
       R"m(invalid label selector: matchLabels[a]: Invalid value: "c_": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?'))m"},
  };
  for (const Case& c : cases) {
    auto sel = Selector::FromLabelSelector(c.selector);
    ASSERT_FALSE(sel.ok()) << c.message;
    EXPECT_EQ(sel.status().code(), base::StatusCode::kInvalidArgument);
    EXPECT_EQ(sel.status().message(), c.message);
  }
}

const std::string kNameRegexError =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const std::string kDnsRegexError =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

TEST(ValidateLabelKey, Table) {
  struct Case {
    std::string key;
    std::string error;  // "" = valid
  };
  const Case cases[] = {
      {"a", ""},
      {"A.b_c-9", ""},
      {"example.com/MyName", ""},
      {"k8s.io/app", ""},
      {std::string(63, 'a'), ""},
      {std::string(253, 'p') + "/n", ""},
      {"", "name part must be non-empty; name part " + kNameRegexError},
      {std::string(64, 'a'), "name part must be no more than 63 characters"},
      {"-a", "name part " + kNameRegexError},
      {"a_", "name part " + kNameRegexError},
      {"a b", "name part " + kNameRegexError},
      {"/a", "prefix part must be non-empty"},
      {"example.com/", "name part must be non-empty; name part " + kNameRegexError},
      {"Example.com/a", "prefix part " + kDnsRegexError},
      {"ex_ample.com/a", "prefix part " + kDnsRegexError},
      {"a..b/c", "prefix part " + kDnsRegexError},
      {std::string(254, 'p') + "/n", "prefix part must be no more than 253 characters"},
      {"a/b/c", "a qualified name " + kNameRegexError +
                    " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"},
  };
  for (const Case& c : cases) {
    base::Status s = ValidateLabelKey(c.key);
    if (c.error.empty()) {
      EXPECT_TRUE(s.ok()) << c.key << ": " << s.ToString();
    } else {
      EXPECT_EQ(s.code(), base::StatusCode::kInvalidArgument) << c.key;
      EXPECT_EQ(s.message(), c.error) << c.key;
    }
  }
}

TEST(ValidateLabelValue, Table) {
  const std::string regex_error =
      "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
      "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
      "'my_value',  or '12345', regex used for validation is "
      "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
  struct Case {
    std::string value;
    std::string error;
  };
  const Case cases[] = {
      {"", ""},
      {"v", ""},
      {"My_value-1.2", ""},
      {std::string(63, 'v'), ""},
      {std::string(64, 'v'), "must be no more than 63 characters"},
      {std::string(64, 'v') + "-", "must be no more than 63 characters; " + regex_error},
      {"-v", regex_error},
      {"v.", regex_error},
      {"a/b", regex_error},
      {"a b", regex_error},
  };
  for (const Case& c : cases) {
    base::Status s = ValidateLabelValue(c.value);
    if (c.error.empty()) {
      EXPECT_TRUE(s.ok()) << c.value << ": " << s.ToString();
    } else {
      EXPECT_EQ(s.code(), base::StatusCode::kInvalidArgument) << c.value;
      EXPECT_EQ(s.message(), c.error) << c.value;
    }
  }
}

}  // namespace
}  // namespace knet::api
