// File: apiserver/body.h
//
// Request bodies and response encodings of the REST layer: JSON, YAML and Kubernetes protobuf
// bodies decoded into API objects under the fieldValidation rules; Accept negotiation for
// tables; response helpers.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/object.h"
#include "apiserver/errors.h"
#include "apiserver/http/server.h"
#include "apiserver/resources.h"

namespace knet::apiserver {

enum class FieldValidation { kIgnore, kWarn, kStrict };

// The fieldValidation query parameter (default Warn). 400 for anything else.
Result<FieldValidation> ParseFieldValidation(const http::Request& req);

struct JsonBody {
  nlohmann::json doc;
  std::vector<std::string> duplicate_fields;
};
// Parses a body by its Content-Type: JSON, YAML or protobuf. 415 for other types, 400 for
// malformed bodies.
Result<JsonBody> ParseBody(const http::Request& req);

struct DecodedObject {
  api::Object object;
  std::vector<std::string> warnings;  // unknown/duplicate fields, for Warning headers
};
// Decodes a parsed document as an object of resource `r` (apiVersion and kind default to the
// resource's, as kube-apiserver does). Strict validation makes unknown or duplicate fields a 400:
//   Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "x"
Result<DecodedObject> DecodeAs(const ResourceInfo& r, JsonBody body, FieldValidation fv);

// The object in a POST or PUT body: ParseFieldValidation, ParseBody and DecodeAs in one.
Result<DecodedObject> DecodeRequestObject(const http::Request& req, const ResourceInfo& r);

// True when the Accept header asks for a meta.k8s.io Table.
bool WantsTable(std::string_view accept);
// True when the Accept header allows an answer knet can give (JSON, or a Table as JSON).
bool AcceptsJson(std::string_view accept);

http::Response JsonResponse(int status, std::string body,
                            const std::vector<std::string>& warnings = {});
http::Response ErrorResponse(const ApiError& e);
// A metav1.Status of success (delete responses).
std::string SuccessStatus(const ResourceInfo& r, std::string_view name, std::string_view uid);

}  // namespace knet::apiserver
