#include "kernel/netns/netns.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

namespace knet::kernel::netns {
namespace {

using base::Status;
using base::StatusOr;

// errno → Status, with ENOENT as NotFound and the rest as base::ErrnoError maps them.
Status SysError(int err, const std::string& what) { return base::ErrnoError(err, what); }

Status ValidateName(std::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos ||
      name.find('\0') != std::string_view::npos || name.size() > 255) {
    return base::InvalidArgumentError("invalid network namespace name \"" + std::string(name) +
                                      "\": must be 1-255 bytes, not . or .., without '/'");
  }
  return base::OkStatus();
}

std::string PathFor(std::string_view name_or_path) {
  if (name_or_path.find('/') != std::string_view::npos) return std::string(name_or_path);
  return std::string(kRunDir) + "/" + std::string(name_or_path);
}

// iproute2's netns_add: /run/netns must be a shared mount point so that namespaces mounted later
// propagate to mount namespaces created after it (and unmounts propagate back).
Status PrepareRunDir() {
  // Serialises this process's Creates, so two of them never both bind mount the directory (the
  // race iproute2 has). Other processes can still race; a doubled bind mount is harmless.
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  const std::string dir(kRunDir);
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return SysError(errno, "creating " + dir);
  }
  bool bound = false;
  while (mount("", dir.c_str(), "none", MS_SHARED | MS_REC, nullptr) != 0) {
    // EINVAL: not a mount point yet. Bind mount it onto itself once, then retry.
    if (errno != EINVAL || bound) return SysError(errno, "making " + dir + " a shared mount");
    if (mount(dir.c_str(), dir.c_str(), "none", MS_BIND | MS_REC, nullptr) != 0) {
      return SysError(errno, "bind mounting " + dir + " onto itself");
    }
    bound = true;
  }
  return base::OkStatus();
}

}  // namespace

Netns::~Netns() { Reset(); }

Netns::Netns(Netns&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}

Netns& Netns::operator=(Netns&& other) noexcept {
  if (this != &other) {
    Reset();
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

void Netns::Reset() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

StatusOr<Netns> Netns::Open(std::string_view name_or_path) {
  if (name_or_path.find('/') == std::string_view::npos) RETURN_IF_ERROR(ValidateName(name_or_path));
  std::string path = PathFor(name_or_path);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    return SysError(err, "opening network namespace " + path);
  }
  // NS_GET_NSTYPE (Linux 4.11) tells a namespace file from any other file.
  int type = ioctl(fd, NS_GET_NSTYPE);
  if (type != CLONE_NEWNET) {
    close(fd);
    return base::InvalidArgumentError("opening network namespace " + path +
                                      ": not a network namespace");
  }
  return Netns(fd, std::move(path));
}

StatusOr<Netns> Netns::Current() { return Open("/proc/thread-self/ns/net"); }

StatusOr<Netns> Create(std::string_view name) {
  RETURN_IF_ERROR(ValidateName(name));
  const std::string path = PathFor(name);
  const std::string what = "creating network namespace " + path;
  RETURN_IF_ERROR(PrepareRunDir().WithContext(what));
  int fd = open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (fd < 0) return SysError(errno, what);
  close(fd);

  // unshare(2) on a throwaway thread, so the caller's thread keeps its namespace; the bind mount
  // keeps the new namespace alive after the thread ends.
  Status status;
  std::thread worker([&] {
    if (unshare(CLONE_NEWNET) != 0) {
      status = SysError(errno, what + ": unshare");
      return;
    }
    if (mount("/proc/thread-self/ns/net", path.c_str(), "none", MS_BIND, nullptr) != 0) {
      status = SysError(errno, what + ": bind mount");
    }
  });
  worker.join();
  if (status.ok()) {
    StatusOr<Netns> ns = Netns::Open(path);
    if (ns.ok()) return ns;
    status = ns.status();
    umount2(path.c_str(), MNT_DETACH);
  }
  unlink(path.c_str());
  return status;
}

Status Delete(std::string_view name) {
  RETURN_IF_ERROR(ValidateName(name));
  const std::string path = PathFor(name);
  const std::string what = "deleting network namespace " + path;
  // EINVAL: not a mount point (a half-created namespace); still remove the file.
  if (umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL) {
    return SysError(errno, what);
  }
  if (unlink(path.c_str()) != 0) return SysError(errno, what);
  return base::OkStatus();
}

Status RunIn(const Netns& ns, const std::function<Status()>& fn) {
  if (!ns.valid()) return base::FailedPreconditionError("running in a network namespace: not open");
  Status status;
  std::thread worker([&] {
    if (setns(ns.fd(), CLONE_NEWNET) != 0) {
      status = SysError(errno, "entering network namespace " + ns.path());
      return;
    }
    status = fn();
  });
  worker.join();
  return status;
}

}  // namespace knet::kernel::netns
