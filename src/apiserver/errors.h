// File: apiserver/errors.h
//
// The API server's errors as Kubernetes clients expect them: a metav1.Status with the HTTP code,
// reason and details that kubectl and client-go act on (IsNotFound, IsConflict, IsInvalid ...).
//
//   Result<Stored> r = registry.Get(res, "default", "web");
//   if (!r.ok()) return Respond(r.error());   // 404 {"kind":"Status","reason":"NotFound",...}
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/meta.h"
#include "api/validation.h"
#include "apiserver/resources.h"
#include "base/status.h"

namespace knet::apiserver {

// An API error: the metav1.Status body, whose `code` is the HTTP status.
using ApiError = api::Status;

// A value or an ApiError. Copyable; cheap to move.
template <class T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(ApiError error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
  bool ok() const { return !error_.has_value(); }
  const ApiError& error() const { return *error_; }
  T& value() { return *value_; }
  const T& value() const { return *value_; }
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  std::optional<T> value_;
  std::optional<ApiError> error_;
};

// `pods "web" not found`
ApiError NotFound(const ResourceInfo& r, std::string_view name);
// `pods "web" already exists`
ApiError AlreadyExists(const ResourceInfo& r, std::string_view name);
// `Operation cannot be fulfilled on pods "web": <why>`
ApiError Conflict(const ResourceInfo& r, std::string_view name, std::string_view why);
// 422: `Service "web" is invalid: [...]`, with one cause per field error.
ApiError Invalid(std::string_view kind, const ResourceInfo* r, std::string_view name,
                 const std::vector<api::FieldError>& errors);
ApiError BadRequest(std::string message);
ApiError Forbidden(const ResourceInfo* r, std::string_view name, std::string message);
ApiError Unauthorized();
ApiError MethodNotSupported(std::string message);
ApiError NotAcceptable(std::string message);
ApiError UnsupportedMediaType(std::string_view content_type);
ApiError Gone(std::string message);
ApiError TooManyRequests(std::string message);
ApiError InternalError(std::string message);
ApiError Timeout(std::string message);
ApiError NotFoundPath(std::string_view path);
// Maps a store or allocator status: NotFound 404, AlreadyExists 409, Aborted 409 Conflict,
// InvalidArgument 400, compacted (OutOfRange) 410 Expired, Unavailable 503, others 500.
ApiError FromStatus(const base::Status& s, const ResourceInfo* r = nullptr,
                    std::string_view name = "");

// The JSON body of an error.
std::string EncodeError(const ApiError& e);

}  // namespace knet::apiserver
