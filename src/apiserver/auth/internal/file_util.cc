#include "apiserver/auth/internal/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string>

namespace knet::apiserver::auth_internal {

base::StatusOr<std::string> ReadFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return base::NotFoundError("reading " + path + ": no such file");
    return base::ErrnoError(err, "opening " + path);
  }
  std::string out;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return base::ErrnoError(err, "reading " + path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

base::Status MakeDirs(const std::string& dir, mode_t mode) {
  if (dir.empty()) return base::OkStatus();
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return base::OkStatus();
    return base::FailedPreconditionError("creating directory " + dir +
                                         ": exists and is not a directory");
  }
  size_t slash = dir.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    RETURN_IF_ERROR(MakeDirs(dir.substr(0, slash), mode));
  }
  if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) {
    return base::ErrnoError(errno, "creating directory " + dir);
  }
  return base::OkStatus();
}

base::Status WriteFileAtomic(const std::string& path, std::string_view content, mode_t mode) {
  static std::atomic<unsigned> counter{0};
  size_t slash = path.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    RETURN_IF_ERROR(MakeDirs(path.substr(0, slash), 0700));
  }
  std::string tmp =
      path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter.fetch_add(1));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return base::ErrnoError(errno, "creating " + tmp);
  // The umask may have narrowed the mode; the caller asked for exactly this one.
  if (::fchmod(fd, mode) != 0) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return base::ErrnoError(err, "setting the mode of " + tmp);
  }
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return base::ErrnoError(err, "writing " + tmp);
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return base::ErrnoError(err, "syncing " + tmp);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return base::ErrnoError(err, "renaming " + tmp + " to " + path);
  }
  return base::OkStatus();
}

}  // namespace knet::apiserver::auth_internal
