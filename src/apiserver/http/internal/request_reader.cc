#include "apiserver/http/internal/request_reader.h"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cctype>
#include <string>

#include "apiserver/http/target.h"

namespace knet::apiserver::http::internal {

namespace bhttp = boost::beast::http;

struct RequestReader::Parser {
  bhttp::request_parser<bhttp::string_body> p;
};

RequestReader::RequestReader(size_t max_header_bytes, size_t max_body_bytes)
    : max_header_bytes_(max_header_bytes), max_body_bytes_(max_body_bytes) {
  Reset();
}

RequestReader::~RequestReader() = default;

void RequestReader::Reset() {
  parser_ = std::make_unique<Parser>();
  parser_->p.header_limit(static_cast<std::uint32_t>(
      std::min<size_t>(max_header_bytes_, std::numeric_limits<std::uint32_t>::max())));
  parser_->p.body_limit(static_cast<std::uint64_t>(max_body_bytes_));
  parser_->p.eager(true);
  started_ = false;
  keep_alive_ = false;
  continue_sent_ = false;
  error_status_ = 0;
  error_message_.clear();
}

RequestReader::State RequestReader::Feed(std::string_view data, size_t* consumed) {
  *consumed = 0;
  if (data.empty()) return State::kNeedMore;
  started_ = true;
  // Boost 1.74's parser asserts (debug builds) that a re-entry after the final "0\r\n" chunk
  // line sees at least 5 bytes, though 3 or 4 are legal (boostorg/beast PR #2861). A chunked
  // body is never complete with fewer than 5 bytes left, so wait for more rather than feed them.
  if (data.size() < 5 && parser_->p.is_header_done() && parser_->p.chunked() &&
      !parser_->p.is_done()) {
    return State::kNeedMore;
  }
  boost::beast::error_code ec;
  size_t n = 0;
  try {
    n = parser_->p.put(boost::asio::const_buffer(data.data(), data.size()), ec);
  } catch (const std::exception& e) {  // allocation failure inside Beast
    error_status_ = 400;
    error_message_ = std::string("malformed HTTP request: ") + e.what();
    return State::kError;
  }
  *consumed = n;
  if (ec == bhttp::error::need_more) return State::kNeedMore;
  if (ec == bhttp::error::body_limit) {
    error_status_ = 413;
    error_message_ = "the request body is larger than the limit of " +
                     std::to_string(max_body_bytes_) + " bytes";
    return State::kError;
  }
  if (ec == bhttp::error::header_limit) {
    error_status_ = 431;
    error_message_ = "the request header is larger than the limit of " +
                     std::to_string(max_header_bytes_) + " bytes";
    return State::kError;
  }
  if (ec) {
    error_status_ = 400;
    error_message_ = "malformed HTTP request: " + ec.message();
    return State::kError;
  }
  return parser_->p.is_done() ? State::kDone : State::kNeedMore;
}

bool RequestReader::TakeExpectContinue() {
  if (continue_sent_ || !parser_->p.is_header_done() || parser_->p.is_done()) return false;
  const auto& msg = parser_->p.get();
  if (msg.version() < 11 || !boost::beast::iequals(msg[bhttp::field::expect], "100-continue")) {
    return false;
  }
  continue_sent_ = true;
  return true;
}

Request RequestReader::TakeRequest() {
  bhttp::request<bhttp::string_body> msg = parser_->p.release();
  keep_alive_ = msg.keep_alive();
  Request req;
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  req.version = static_cast<int>(msg.version());
  for (const auto& field : msg) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    req.headers.emplace_back(std::move(name), std::string(field.value()));
  }
  req.body = std::move(msg.body());
  auto target = ParseTarget(req.target);
  if (!target.ok()) {
    error_status_ = 400;
    error_message_ = "bad request target: " + target.status().message();
    keep_alive_ = false;
  } else {
    req.path = std::move(target->path);
    req.query = std::move(target->query);
  }
  return req;
}

}  // namespace knet::apiserver::http::internal
