// File: api/internal/json_writer.h
//
// A minimal streaming JSON writer: appends compact JSON to a std::string, tracking commas.
// Strings are escaped per RFC 8259; invalid UTF-8 is replaced by U+FFFD as Go's encoding/json
// does, so whatever we hold always encodes to valid JSON. Thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace knet::api::internal {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  void BeginObject() { Open('{'); }
  void EndObject() { Close('}'); }
  void BeginArray() { Open('['); }
  void EndArray() { Close(']'); }
  // Inside an object: writes "name": and expects exactly one value next.
  void Key(std::string_view name);
  void String(std::string_view s);
  void Int(int64_t v);
  void Uint(uint64_t v);
  void Double(double v);
  void Bool(bool v);
  void Null();
  // Appends already-encoded JSON as one value.
  void Raw(std::string_view json);

 private:
  void BeforeValue();
  void Open(char c);
  void Close(char c);

  std::string& out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
};

// The offset of the first byte that does not start a valid UTF-8 sequence, or npos.
size_t FindInvalidUtf8(std::string_view s);

// Appends `s` as a quoted, escaped JSON string.
void AppendJsonString(std::string& out, std::string_view s);

}  // namespace knet::api::internal
