#include "apiserver/body.h"

#include <algorithm>

#include "api/codec.h"
#include "api/json.h"
#include "api/proto/proto.h"
#include "api/yaml.h"

namespace knet::apiserver {

namespace {

std::string MediaType(std::string_view content_type) {
  std::string t(content_type.substr(0, content_type.find(';')));
  while (!t.empty() && t.back() == ' ') t.pop_back();
  for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return t;
}

std::string Join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (const std::string& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

std::string WarningHeader(std::string_view text) {
  std::string out = "299 - \"";
  for (char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

}  // namespace

Result<FieldValidation> ParseFieldValidation(const http::Request& req) {
  auto v = req.QueryParam("fieldValidation");
  if (!v || v->empty() || *v == "Warn") return FieldValidation::kWarn;
  if (*v == "Strict") return FieldValidation::kStrict;
  if (*v == "Ignore") return FieldValidation::kIgnore;
  return BadRequest("fieldValidation must be one of Ignore, Warn or Strict, got \"" + *v + "\"");
}

Result<JsonBody> ParseBody(const http::Request& req) {
  std::string type = MediaType(req.Header("content-type"));
  JsonBody out;
  if (req.body.empty()) return BadRequest("the request has no body");
  if (type == "application/json" || type.empty()) {
    auto doc = api::ParseJson(req.body, &out.duplicate_fields);
    if (!doc.ok()) return BadRequest(std::string(doc.status().message()));
    out.doc = std::move(*doc);
  } else if (type == "application/yaml" || type == "application/x-yaml" || type == "text/yaml") {
    auto docs = api::ParseYamlDocuments(req.body);
    if (!docs.ok()) return BadRequest(std::string(docs.status().message()));
    if (docs->size() != 1) {
      return BadRequest("the body holds " + std::to_string(docs->size()) +
                        " YAML documents; a request takes exactly one");
    }
    out.doc = std::move((*docs)[0].value);
  } else if (type == api::proto::kProtobufContentType) {
    auto doc = api::proto::DecodeProtobuf(req.body);
    if (!doc.ok()) return BadRequest(std::string(doc.status().message()));
    out.doc = std::move(*doc);
  } else {
    return UnsupportedMediaType(req.Header("content-type"));
  }
  return out;
}

Result<DecodedObject> DecodeAs(const ResourceInfo& r, JsonBody body, FieldValidation fv) {
  if (!body.doc.is_object()) {
    return BadRequest("the body must be a JSON object, got " + api::DescribeJsonValue(body.doc));
  }
  // Like kube-apiserver's decoder into a typed object: a missing apiVersion or kind is the URL's.
  if (!body.doc.contains("apiVersion")) body.doc["apiVersion"] = r.ApiVersion();
  if (!body.doc.contains("kind")) body.doc["kind"] = r.kind;
  const std::string prefix =
      r.kind + " in version \"" + r.version + "\" cannot be handled as a " + r.kind + ": ";
  std::vector<std::string> warnings;
  for (const std::string& d : body.duplicate_fields) {
    warnings.push_back("duplicate field \"" + d + "\"");
  }
  auto obj = api::DecodeObject(body.doc, {}, &warnings);
  if (!obj.ok()) return BadRequest(prefix + std::string(obj.status().message()));
  if (api::KindOf(*obj) != r.kind || api::ApiVersionOf(*obj) != r.ApiVersion()) {
    return BadRequest("the API version in the data (" + std::string(api::ApiVersionOf(*obj)) +
                      ") or kind (" + std::string(api::KindOf(*obj)) +
                      ") does not match the expected " + r.ApiVersion() + " " + r.kind);
  }
  if (fv == FieldValidation::kStrict && !warnings.empty()) {
    return BadRequest(prefix + "strict decoding error: " + Join(warnings, ", "));
  }
  DecodedObject out{std::move(*obj), {}};
  if (fv == FieldValidation::kWarn) out.warnings = std::move(warnings);
  return out;
}

Result<DecodedObject> DecodeRequestObject(const http::Request& req, const ResourceInfo& r) {
  Result<FieldValidation> fv = ParseFieldValidation(req);
  if (!fv.ok()) return fv.error();
  Result<JsonBody> body = ParseBody(req);
  if (!body.ok()) return body.error();
  return DecodeAs(r, std::move(*body), *fv);
}

bool WantsTable(std::string_view accept) {
  return accept.find("as=Table") != std::string_view::npos;
}

bool AcceptsJson(std::string_view accept) {
  if (accept.empty()) return true;
  // Media ranges, comma separated; parameters after ';'. Acceptable: */*, application/*,
  // application/json plain or as a meta.k8s.io Table (the forms knet produces).
  size_t i = 0;
  while (i <= accept.size()) {
    size_t end = accept.find(',', i);
    if (end == std::string_view::npos) end = accept.size();
    std::string range(accept.substr(i, end - i));
    range.erase(std::remove(range.begin(), range.end(), ' '), range.end());
    for (char& c : range) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string type = range.substr(0, range.find(';'));
    bool has_as = range.find(";as=") != std::string::npos;
    if (type == "*/*" || type == "application/*") return true;
    if (type == "application/json" && (!has_as || range.find(";as=table") != std::string::npos)) {
      return true;
    }
    i = end + 1;
  }
  return false;
}

http::Response JsonResponse(int status, std::string body,
                            const std::vector<std::string>& warnings) {
  http::Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  for (const std::string& w : warnings) r.headers.emplace_back("Warning", WarningHeader(w));
  r.body = std::move(body);
  return r;
}

http::Response ErrorResponse(const ApiError& e) { return JsonResponse(e.code, EncodeError(e)); }

std::string SuccessStatus(const ResourceInfo& r, std::string_view name, std::string_view uid) {
  api::Status s;
  s.status = "Success";
  api::StatusDetails d;
  d.name = std::string(name);
  d.group = r.group;
  d.kind = r.resource;
  d.uid = std::string(uid);
  s.details = std::move(d);
  return api::EncodeJson(s);
}

}  // namespace knet::apiserver
