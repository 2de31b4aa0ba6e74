// File: kernel/sysctl/sysctl.cc
#include "kernel/sysctl/sysctl.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

namespace knet::kernel::sysctl {
namespace {

std::string PathOf(std::string_view key) { return "/proc/sys/" + std::string(key); }

}  // namespace

base::StatusOr<std::string> Get(std::string_view key) {
  std::string path = PathOf(key);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    std::string msg = "reading " + std::string(key) + ": " + strerror(err);
    return err == ENOENT ? base::NotFoundError(msg) : base::InternalError(msg);
  }
  char buf[256];
  ssize_t n = ::read(fd, buf, sizeof(buf));
  int err = errno;
  ::close(fd);
  if (n < 0) return base::InternalError("reading " + std::string(key) + ": " + strerror(err));
  std::string out(buf, static_cast<size_t>(n));
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

base::Status Set(std::string_view key, std::string_view value) {
  if (auto cur = Get(key); cur.ok() && *cur == value) return base::OkStatus();
  std::string path = PathOf(key);
  std::string what = "setting " + std::string(key) + " to " + std::string(value) + ": ";
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    return err == ENOENT ? base::NotFoundError(what + strerror(err))
                         : base::InternalError(what + strerror(err));
  }
  ssize_t n = ::write(fd, value.data(), value.size());
  int err = errno;
  ::close(fd);
  if (n < 0) return base::InternalError(what + strerror(err));
  return base::OkStatus();
}

}  // namespace knet::kernel::sysctl
