// File: base/file.h
//
// Replacing a file so readers see the old content or the new, never a part: written to a temp
// file beside it, fsync'ed, renamed over it.
//
//   RETURN_IF_ERROR(base::WriteFileAtomic("/etc/cni/net.d/10-knet.conflist", text, 0644));
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "base/status.h"

namespace knet::base {

// The temp file is `tmp_path` ("" = `path` + ".tmp"), so a directory scanner that must not see it
// can get a name it ignores. Errors carry errno and name the file; the temp file is removed.
Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode = 0644,
                       const std::string& tmp_path = "");

}  // namespace knet::base
