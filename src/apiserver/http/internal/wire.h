// File: apiserver/http/internal/wire.h
//
// Bytes on the wire for responses: status line and headers, chunk framing, and the
// metav1.Status bodies the server itself sends (400, 413, 500...).
#pragma once

#include <string>
#include <string_view>

#include "apiserver/http/server.h"

namespace knet::apiserver::http::internal {

// How the body that follows the head is framed.
enum class Framing {
  kContentLength,  // Content-Length: body_size
  kChunked,        // Transfer-Encoding: chunked
  kUntilClose,     // no length (HTTP/1.0 streams): the connection closes after the body
  kUpgrade,        // Exchange::Upgrade: the handler's headers verbatim (Connection included),
                   // nothing added
};

// "HTTP/1.1 200 OK\r\n" + headers + framing + Connection header + "\r\n". Handler headers named
// Content-Length, Transfer-Encoding or Connection are dropped; CR and LF in names and values are
// removed (no response splitting). `keep_alive` with `request_version` 10 adds
// "Connection: keep-alive"; !keep_alive adds "Connection: close". 1xx, 204 and 304 get no
// Content-Length.
std::string SerializeHead(int status, const HeaderList& headers, Framing framing, size_t body_size,
                          bool keep_alive, int request_version);

// The hexadecimal size line of a chunk: "1a2f\r\n". REQUIRES: size > 0.
std::string ChunkHeader(size_t size);
inline constexpr std::string_view kChunkEnd = "\r\n";
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

// {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":...,
//  "reason":...,"code":...} as kube-apiserver sends it.
std::string StatusJson(int code, std::string_view reason, std::string_view message);

// A whole response carrying StatusJson, Content-Type application/json.
Response StatusResponse(int code, std::string_view reason, std::string_view message);

// "BadRequest" for 400, "RequestEntityTooLarge" for 413, "InternalError" for 500, ...
std::string_view ReasonForCode(int code);

}  // namespace knet::apiserver::http::internal
