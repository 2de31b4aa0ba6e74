#include "apiserver/errors.h"

#include "api/codec.h"
#include "store/store.h"

namespace knet::apiserver {

namespace {

ApiError Make(int32_t code, std::string reason, std::string message) {
  ApiError e;
  e.status = "Failure";
  e.code = code;
  e.reason = std::move(reason);
  e.message = std::move(message);
  return e;
}

api::StatusDetails Details(const ResourceInfo* r, std::string_view name) {
  api::StatusDetails d;
  d.name = std::string(name);
  if (r != nullptr) {
    d.group = r->group;
    d.kind = r->resource;
  }
  return d;
}

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

const char* CauseReason(api::FieldError::Type t) {
  switch (t) {
    case api::FieldError::kRequired:
      return "FieldValueRequired";
    case api::FieldError::kNotSupported:
      return "FieldValueNotSupported";
    case api::FieldError::kDuplicate:
      return "FieldValueDuplicate";
    case api::FieldError::kTooLong:
      return "FieldValueTooLong";
    case api::FieldError::kForbidden:
      return "FieldValueForbidden";
    case api::FieldError::kTooMany:
      return "FieldValueTooMany";
    case api::FieldError::kInvalid:
      break;
  }
  return "FieldValueInvalid";
}

}  // namespace

ApiError NotFound(const ResourceInfo& r, std::string_view name) {
  ApiError e = Make(404, "NotFound", r.resource + " " + Quoted(name) + " not found");
  e.details = Details(&r, name);
  return e;
}

ApiError AlreadyExists(const ResourceInfo& r, std::string_view name) {
  ApiError e = Make(409, "AlreadyExists", r.resource + " " + Quoted(name) + " already exists");
  e.details = Details(&r, name);
  return e;
}

ApiError Conflict(const ResourceInfo& r, std::string_view name, std::string_view why) {
  ApiError e = Make(409, "Conflict",
                    "Operation cannot be fulfilled on " + r.resource + " " + Quoted(name) + ": " +
                        std::string(why));
  e.details = Details(&r, name);
  return e;
}

ApiError Invalid(std::string_view kind, const ResourceInfo* r, std::string_view name,
                 const std::vector<api::FieldError>& errors) {
  base::Status s = api::ToStatus(errors, kind, name);
  ApiError e = Make(422, "Invalid", std::string(s.message()));
  api::StatusDetails d = Details(r, name);
  d.kind = std::string(kind);
  for (const api::FieldError& fe : errors) {
    std::string full = fe.ToString();
    // The cause message is the error without its field prefix, as upstream's causes carry it.
    std::string prefix = fe.field + ": ";
    std::string message = full.rfind(prefix, 0) == 0 ? full.substr(prefix.size()) : full;
    d.causes.push_back({CauseReason(fe.type), message, fe.field});
  }
  e.details = std::move(d);
  return e;
}

ApiError BadRequest(std::string message) { return Make(400, "BadRequest", std::move(message)); }

ApiError Forbidden(const ResourceInfo* r, std::string_view name, std::string message) {
  ApiError e = Make(403, "Forbidden", std::move(message));
  if (r != nullptr) e.details = Details(r, name);
  return e;
}

ApiError Unauthorized() { return Make(401, "Unauthorized", "Unauthorized"); }

ApiError MethodNotSupported(std::string message) {
  return Make(405, "MethodNotAllowed", std::move(message));
}

ApiError NotAcceptable(std::string message) {
  return Make(406, "NotAcceptable", std::move(message));
}

ApiError UnsupportedMediaType(std::string_view content_type) {
  return Make(415, "UnsupportedMediaType",
              "the body of the request was in an unknown format - accepted media types include: "
              "application/json, application/yaml, application/vnd.kubernetes.protobuf (got " +
                  Quoted(content_type) + ")");
}

ApiError Gone(std::string message) { return Make(410, "Expired", std::move(message)); }

ApiError TooManyRequests(std::string message) {
  return Make(429, "TooManyRequests", std::move(message));
}

ApiError InternalError(std::string message) {
  return Make(500, "InternalError", "Internal error occurred: " + message);
}

ApiError Timeout(std::string message) { return Make(504, "Timeout", std::move(message)); }

ApiError NotFoundPath(std::string_view path) {
  return Make(404, "NotFound",
              "the server could not find the requested resource (" + std::string(path) + ")");
}

ApiError FromStatus(const base::Status& s, const ResourceInfo* r, std::string_view name) {
  using base::StatusCode;
  if (store::IsCompacted(s)) return Gone(std::string(s.message()));
  switch (s.code()) {
    case StatusCode::kNotFound:
      if (r != nullptr) return NotFound(*r, name);
      return Make(404, "NotFound", std::string(s.message()));
    case StatusCode::kAlreadyExists:
      if (r != nullptr) return AlreadyExists(*r, name);
      return Make(409, "AlreadyExists", std::string(s.message()));
    case StatusCode::kAborted:
      if (r != nullptr) {
        return Conflict(*r, name,
                        "the object has been modified; please apply your changes to the latest "
                        "version and try again");
      }
      return Make(409, "Conflict", std::string(s.message()));
    case StatusCode::kInvalidArgument:
      return BadRequest(std::string(s.message()));
    case StatusCode::kResourceExhausted:
      return InternalError(std::string(s.message()));
    case StatusCode::kUnavailable:
      return Make(503, "ServiceUnavailable", std::string(s.message()));
    case StatusCode::kDeadlineExceeded:
      return Timeout(std::string(s.message()));
    default:
      return InternalError(std::string(s.message()));
  }
}

std::string EncodeError(const ApiError& e) { return api::EncodeJson(e); }

}  // namespace knet::apiserver
