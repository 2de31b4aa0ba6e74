#include "apiserver/auth/tokens.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <array>
#include <iostream>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "apiserver/auth/internal/file_util.h"

namespace knet::apiserver::auth {
namespace {

using Digest = std::array<unsigned char, SHA256_DIGEST_LENGTH>;

Digest Sha256(std::string_view s) {
  Digest d;
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d.data());
  return d;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// Splits CSV text into records (RFC 4180 as Go's encoding/csv reads it: quoted fields may hold
// commas, newlines and "" for a quote; blank lines are skipped). `lines[i]` is the first line
// of record i, for messages.
base::Status ParseCsv(std::string_view text, const std::string& path,
                      std::vector<std::vector<std::string>>* records, std::vector<int>* lines) {
  size_t i = 0;
  int line = 1;
  while (i < text.size()) {
    int record_line = line;
    std::vector<std::string> fields;
    std::string field;
    bool end_of_record = false;
    while (!end_of_record) {
      // Spaces before an opening quote are dropped (encoding/csv's TrimLeadingSpace).
      size_t j = i;
      while (j < text.size() && (text[j] == ' ' || text[j] == '\t')) ++j;
      if (j < text.size() && text[j] == '"') i = j;
      if (i < text.size() && text[i] == '"') {
        ++i;
        for (;;) {
          if (i >= text.size()) {
            return base::InvalidArgumentError(path + ":" + std::to_string(record_line) +
                                              ": unterminated quoted field");
          }
          char c = text[i++];
          if (c == '"') {
            if (i < text.size() && text[i] == '"') {
              field.push_back('"');
              ++i;
              continue;
            }
            break;
          }
          if (c == '\n') ++line;
          field.push_back(c);
        }
      }
      while (i < text.size() && text[i] != ',' && text[i] != '\n') {
        field.push_back(text[i++]);
      }
      if (i < text.size() && text[i] == ',') {
        ++i;
      } else {
        if (i < text.size()) ++i;  // '\n'
        ++line;
        end_of_record = true;
      }
      fields.push_back(std::move(field));
      field.clear();
    }
    if (fields.size() == 1 && Trim(fields[0]).empty()) continue;  // blank line
    records->push_back(std::move(fields));
    lines->push_back(record_line);
  }
  return base::OkStatus();
}

bool SafeText(std::string_view s) {
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f || c == '"') return false;
  }
  return true;
}

std::string CsvField(std::string_view s) {
  if (s.find_first_of(",\" ") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

struct TokenAuthenticator::State {
  struct Entry {
    std::string token;
    Digest digest;
    UserInfo user;
  };
  std::string path;
  mutable std::shared_mutex mu;
  std::vector<Entry> entries;  // GUARDED_BY(mu), in file order
};

TokenAuthenticator::TokenAuthenticator(std::unique_ptr<State> state) : state_(std::move(state)) {}
TokenAuthenticator::TokenAuthenticator(TokenAuthenticator&&) noexcept = default;
TokenAuthenticator& TokenAuthenticator::operator=(TokenAuthenticator&&) noexcept = default;
TokenAuthenticator::~TokenAuthenticator() = default;

const std::string& TokenAuthenticator::path() const { return state_->path; }

base::StatusOr<TokenAuthenticator> TokenAuthenticator::Load(const std::string& path) {
  auto state = std::make_unique<State>();
  state->path = path;
  auto text = auth_internal::ReadFile(path);
  if (!text.ok() && text.status().code() != base::StatusCode::kNotFound) {
    return text.status().WithContext("loading the token file");
  }
  if (text.ok()) {
    std::vector<std::vector<std::string>> records;
    std::vector<int> lines;
    RETURN_IF_ERROR(ParseCsv(*text, path, &records, &lines));
    std::unordered_map<std::string, size_t> by_token;
    for (size_t r = 0; r < records.size(); ++r) {
      const auto& rec = records[r];
      std::string where = path + ":" + std::to_string(lines[r]);
      if (rec.size() < 3) {
        return base::InvalidArgumentError(
            where + ": a token line needs at least 3 columns (token, user name, user uid), found " +
            std::to_string(rec.size()));
      }
      std::string token(Trim(rec[0]));
      if (token.empty()) {
        std::cerr << "knet auth: " << where << ": empty token, line ignored" << std::endl;
        continue;
      }
      State::Entry e;
      e.token = token;
      e.digest = Sha256(token);
      e.user.name = std::string(Trim(rec[1]));
      e.user.uid = std::string(Trim(rec[2]));
      if (rec.size() >= 4) {
        std::string_view groups = rec[3];
        while (!groups.empty()) {
          size_t comma = groups.find(',');
          std::string_view g = Trim(groups.substr(0, comma));
          if (!g.empty()) e.user.groups.emplace_back(g);
          groups = comma == std::string_view::npos ? std::string_view() : groups.substr(comma + 1);
        }
      }
      if (auto it = by_token.find(token); it != by_token.end()) {
        std::cerr << "knet auth: " << where << ": duplicate token, this line wins" << std::endl;
        state->entries[it->second] = std::move(e);
      } else {
        by_token.emplace(token, state->entries.size());
        state->entries.push_back(std::move(e));
      }
    }
  }
  return TokenAuthenticator(std::move(state));
}

base::StatusOr<std::string> TokenAuthenticator::EnsureToken(std::string_view user,
                                                            std::vector<std::string> groups) {
  if (user.empty() || !SafeText(user)) {
    return base::InvalidArgumentError("user name \"" + std::string(user) +
                                      "\" is empty or holds a quote or control character");
  }
  for (const std::string& g : groups) {
    if (g.empty() || !SafeText(g) || g.find(',') != std::string::npos) {
      return base::InvalidArgumentError("group \"" + g + "\" of user " + std::string(user) +
                                        " is empty or holds a comma, quote or control character");
    }
  }
  std::unique_lock<std::shared_mutex> lock(state_->mu);
  for (const auto& e : state_->entries) {
    if (e.user.name == user) return e.token;
  }
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof(raw)) != 1) {
    return base::InternalError("generating a token for " + std::string(user) +
                               ": the random number generator failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token;
  for (unsigned char b : raw) {
    token += kHex[b >> 4];
    token += kHex[b & 0xf];
  }
  State::Entry e;
  e.token = token;
  e.digest = Sha256(token);
  e.user.name = std::string(user);
  e.user.uid = std::string(user);
  e.user.groups = std::move(groups);

  std::string text;
  auto append = [&text](const State::Entry& entry) {
    std::string g;
    for (size_t i = 0; i < entry.user.groups.size(); ++i) {
      if (i > 0) g += ',';
      g += entry.user.groups[i];
    }
    text +=
        CsvField(entry.token) + "," + CsvField(entry.user.name) + "," + CsvField(entry.user.uid);
    if (!entry.user.groups.empty()) text += ",\"" + g + "\"";
    text += "\n";
  };
  for (const auto& existing : state_->entries) append(existing);
  append(e);
  RETURN_IF_ERROR(auth_internal::WriteFileAtomic(state_->path, text, 0600)
                      .WithContext("saving the token of " + std::string(user)));
  state_->entries.push_back(std::move(e));
  return token;
}

std::optional<UserInfo> TokenAuthenticator::Authenticate(std::string_view header) const {
  header = Trim(header);
  size_t space = header.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  std::string_view scheme = header.substr(0, space);
  static constexpr std::string_view kBearer = "bearer";
  if (scheme.size() != kBearer.size()) return std::nullopt;
  for (size_t i = 0; i < scheme.size(); ++i) {
    char c = scheme[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kBearer[i]) return std::nullopt;
  }
  std::string_view token = Trim(header.substr(space + 1));
  if (token.empty()) return std::nullopt;
  // Compare fixed-size digests against every entry, without stopping at a match, so the time
  // taken says nothing about the token or how much of it matched.
  Digest d = Sha256(token);
  std::shared_lock<std::shared_mutex> lock(state_->mu);
  const State::Entry* found = nullptr;
  for (const auto& e : state_->entries) {
    bool eq = CRYPTO_memcmp(d.data(), e.digest.data(), d.size()) == 0;
    if (eq && found == nullptr) found = &e;
  }
  if (found == nullptr) return std::nullopt;
  return found->user;
}

bool Authorize(const UserInfo& user, std::string_view verb) {
  for (const std::string& g : user.groups) {
    if (g == "system:masters" || g == "system:nodes") return true;
    if (g == "knet:read-only" && (verb == "get" || verb == "list" || verb == "watch")) return true;
  }
  return false;
}

}  // namespace knet::apiserver::auth
