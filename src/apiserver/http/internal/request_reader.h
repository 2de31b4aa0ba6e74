// File: apiserver/http/internal/request_reader.h
//
// Incremental HTTP/1.1 request parsing (Boost.Beast's parser behind a small interface that keeps
// Beast out of the connection code and lets a fuzzer drive it). Feed bytes until kDone, take the
// request, Reset, repeat; leftover bytes belong to the next (pipelined) request.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "apiserver/http/server.h"

namespace knet::apiserver::http::internal {

class RequestReader {
 public:
  enum class State { kNeedMore, kDone, kError };

  RequestReader(size_t max_header_bytes, size_t max_body_bytes);
  ~RequestReader();
  RequestReader(const RequestReader&) = delete;
  RequestReader& operator=(const RequestReader&) = delete;

  // Parses a prefix of `data` and sets `*consumed` to its length. kNeedMore: call again with the
  // unconsumed bytes plus more (not without more: the parser needs new input to progress). kDone:
  // TakeRequest. kError: error_status() / error_message().
  State Feed(std::string_view data, size_t* consumed);

  // True once per request, when its head is complete, it carries "Expect: 100-continue" and its
  // body has not been read: the caller should send "HTTP/1.1 100 Continue" (RFC 9110 10.1.1).
  bool TakeExpectContinue();

  // True if nothing of a request has been consumed since the last Reset.
  bool AtRequestStart() const { return !started_; }

  // After kDone: the request (remote_address left empty) and whether the connection may be
  // reused after it. An unparseable target is reported here as 400 via error_status().
  Request TakeRequest();
  bool keep_alive() const { return keep_alive_; }

  // After kError (or a bad target in TakeRequest): 400, 413 or 431, and a message for the client.
  int error_status() const { return error_status_; }
  const std::string& error_message() const { return error_message_; }

  // Prepares for the next request.
  void Reset();

 private:
  struct Parser;
  size_t max_header_bytes_, max_body_bytes_;
  std::unique_ptr<Parser> parser_;
  bool started_ = false;
  bool keep_alive_ = false;
  bool continue_sent_ = false;
  int error_status_ = 0;
  std::string error_message_;
};

}  // namespace knet::apiserver::http::internal
