// File: kernel/netns/netns.h
//
// Network namespaces: create a named one the way iproute2 does (`ip netns add`: a bind mount of the
// namespace on /run/netns/<name>), open one by name or path, run a function inside one on a
// dedicated thread, delete a named one. The caller's thread never changes namespace.
//
//   ASSIGN_OR_RETURN(netns::Netns pod, netns::Create("knet-pod-1"));
//   RETURN_IF_ERROR(netns::RunIn(pod, [&]() -> base::Status { return DoSomethingInside(); }));
//   RETURN_IF_ERROR(netns::Delete("knet-pod-1"));
//
// Error codes: NotFound (no such namespace), AlreadyExists (Create of a taken name),
// InvalidArgument (a bad name), PermissionDenied (not root), Internal (anything else). Messages
// name the namespace and the failing step.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace knet::kernel::netns {

// Where named namespaces live, as in iproute2.
inline constexpr std::string_view kRunDir = "/run/netns";

// An open network namespace: owns a file descriptor of /proc/<pid>/ns/net or of a bind mount under
// /run/netns. Holding it keeps the namespace alive even after Delete() of its name. Move-only;
// thread-compatible.
class Netns {
 public:
  Netns() = default;
  ~Netns();
  Netns(Netns&& other) noexcept;
  Netns& operator=(Netns&& other) noexcept;
  Netns(const Netns&) = delete;
  Netns& operator=(const Netns&) = delete;

  // Opens a namespace by name ("pod1" means /run/netns/pod1) or by path (anything containing a
  // '/', such as "/proc/1234/ns/net" or "/var/run/netns/x"). NotFound if it does not exist;
  // InvalidArgument if the path is not a network namespace.
  static base::StatusOr<Netns> Open(std::string_view name_or_path);
  // The namespace of the calling thread.
  static base::StatusOr<Netns> Current();

  bool valid() const { return fd_ >= 0; }
  // The descriptor, for setns(2) or IFLA_NET_NS_FD. Stays owned by *this.
  int fd() const { return fd_; }
  // What was opened: "/run/netns/pod1", used in error messages.
  const std::string& path() const { return path_; }

 private:
  Netns(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  void Reset();

  int fd_ = -1;
  std::string path_;
};

// Creates a new network namespace named `name` (bind mounted on /run/netns/<name>, the directory
// made a shared mount point as iproute2 does) and returns it open. The new namespace has only a
// down `lo`. AlreadyExists if the name is taken; InvalidArgument if `name` is empty, ".", "..",
// contains '/' or is longer than 255 bytes. Nothing is left behind on failure.
base::StatusOr<Netns> Create(std::string_view name);

// Unmounts and removes /run/netns/<name>. The namespace itself disappears once no process, open
// descriptor or socket holds it. NotFound if there is no such name (so callers can be idempotent).
base::Status Delete(std::string_view name);

// Runs `fn` on a new thread that has joined `ns` (setns(2)) and waits for it; returns fn's status,
// or the setns error. The calling thread's namespace is never changed, so this is safe to call from
// any thread. Anything `fn` creates there (sockets in particular) stays bound to `ns`.
base::Status RunIn(const Netns& ns, const std::function<base::Status()>& fn);

}  // namespace knet::kernel::netns
