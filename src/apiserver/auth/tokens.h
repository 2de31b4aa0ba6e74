// File: apiserver/auth/tokens.h
//
// Bearer-token authentication from kube-apiserver's static token file (--token-auth-file), and
// the small group-based authorizer knet uses in place of RBAC for now.
//
// The file is CSV, one user per line: token,user,uid[,"group1,group2"]. `knet server` keeps it in
// its data directory and creates the admin's token on first start:
//
//   ASSIGN_OR_RETURN(auto tokens, auth::TokenAuthenticator::Load(dir + "/tokens.csv"));
//   ASSIGN_OR_RETURN(std::string admin, tokens.EnsureToken("admin", {"system:masters"}));
//   ...
//   std::optional<auth::UserInfo> user = tokens.Authenticate(req.Header("authorization"));
//   if (!user) -> 401;  if (!auth::Authorize(*user, "create")) -> 403
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace knet::apiserver::auth {

struct UserInfo {
  std::string name, uid;
  std::vector<std::string> groups;
};

// Thread-safe: Authenticate may run concurrently with itself and with EnsureToken.
class TokenAuthenticator {
 public:
  // Reads `path`. A missing file means no tokens yet (EnsureToken will create it). Lines are
  // CSV records as kube-apiserver reads them: blank lines skipped; fewer than 3 fields is an
  // InvalidArgument naming the file and line; an empty token is skipped; of duplicate tokens the
  // last wins (both with a warning on stderr).
  static base::StatusOr<TokenAuthenticator> Load(const std::string& path);

  TokenAuthenticator(TokenAuthenticator&&) noexcept;
  TokenAuthenticator& operator=(TokenAuthenticator&&) noexcept;
  ~TokenAuthenticator();

  // Returns the token of `user` if the file has one (its groups are left as they are), or
  // creates a 256-bit random token (64 hex digits; uid = user name) with `groups`, and rewrites
  // the file atomically with mode 0600. InvalidArgument for an empty user or a user or group
  // holding a control character or a double quote.
  base::StatusOr<std::string> EnsureToken(std::string_view user, std::vector<std::string> groups);

  // The user for an Authorization header value "Bearer <token>" (scheme case-insensitive), or
  // nullopt. Token comparison takes the same time whichever token (or none) matches.
  std::optional<UserInfo> Authenticate(std::string_view authorization_header) const;

  const std::string& path() const;

 private:
  struct State;
  explicit TokenAuthenticator(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Whether `user` may perform the Kubernetes `verb` (get, list, watch, create, update, patch,
// delete, deletecollection, ...) on any resource:
//   system:masters  everything;
//   system:nodes    everything (TODO(http): narrow to a node authorizer: a node may only write
//                   its own Node, Lease and the Pods bound to it);
//   knet:read-only  get, list and watch only.
// Anyone else: nothing.
bool Authorize(const UserInfo& user, std::string_view verb);

}  // namespace knet::apiserver::auth
