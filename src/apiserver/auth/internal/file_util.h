// File: apiserver/auth/internal/file_util.h
//
// Small file helpers shared by the auth files (pki, tokens, kubeconfig): read a whole file, and
// write one atomically (temporary file in the same directory, fsync, rename) with a given mode.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "base/status.h"

namespace knet::apiserver::auth_internal {

// The whole content of `path`. NotFound if it does not exist.
base::StatusOr<std::string> ReadFile(const std::string& path);

// Replaces `path` with `content` atomically: writes "<path>.tmp.<pid>.<n>" with `mode`, fsyncs
// it, then renames it over `path`. Creates the parent directory (0700) if it is missing.
base::Status WriteFileAtomic(const std::string& path, std::string_view content, mode_t mode);

// Creates `dir` and its missing parents with `mode`. OK if it already exists.
base::Status MakeDirs(const std::string& dir, mode_t mode);

}  // namespace knet::apiserver::auth_internal
