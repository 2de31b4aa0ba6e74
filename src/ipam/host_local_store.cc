#include "ipam/host_local_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <optional>
#include <string_view>

#include "ipam/internal/allocator.h"
#include "ipam/internal/reservation.h"

namespace knet::ipam {
namespace {

using base::ErrnoError;
using base::IPAddress;
using base::Status;
using base::StatusOr;

constexpr std::string_view kLockFile = "lock";
constexpr std::string_view kLastReservedPrefix = "last_reserved_ip.";
constexpr std::string_view kTempPrefix = ".tmp-";

Status MkdirAll(const std::string& dir) {
  if (dir.empty()) return base::InvalidArgumentError("store directory: empty path");
  for (size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/') continue;
    const std::string prefix = dir.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      return ErrnoError(errno, "creating directory " + prefix);
    }
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return ErrnoError(errno, "opening directory " + dir);
  if (!S_ISDIR(st.st_mode)) return base::FailedPreconditionError(dir + " is not a directory");
  return Status();
}

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(errno, "writing " + path);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status();
}

Status ValidateAttachment(const Attachment& a) {
  auto bad = [](const std::string& s) {
    return s.empty() || s.find_first_of("\r\n") != std::string::npos ||
           s.find('\0') != std::string::npos;
  };
  if (bad(a.container_id)) {
    return base::InvalidArgumentError("container ID \"" + a.container_id +
                                      "\": must be non-empty and a single line");
  }
  if (bad(a.ifname)) {
    return base::InvalidArgumentError("interface name \"" + a.ifname +
                                      "\": must be non-empty and a single line");
  }
  return Status();
}

}  // namespace

std::string Attachment::ToString() const { return container_id + "/" + ifname; }

std::string AllocatedIp::ToString() const {
  return address.ToString() + "/" + std::to_string(prefix_len);
}

// Holds flock(LOCK_EX) on the store's lock file for its lifetime.
class HostLocalStore::LockGuard {
 public:
  static StatusOr<std::unique_ptr<LockGuard>> Acquire(int fd, const std::string& dir) {
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno != EINTR) return ErrnoError(errno, "locking the IPAM store " + dir);
    }
    return std::make_unique<LockGuard>(fd);
  }
  explicit LockGuard(int fd) : fd_(fd) {}
  ~LockGuard() { ::flock(fd_, LOCK_UN); }
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;

 private:
  int fd_;
};

StatusOr<HostLocalStore> HostLocalStore::Open(const std::string& dir, const StoreOptions& options) {
  RETURN_IF_ERROR(MkdirAll(dir));
  std::string boot_id = options.boot_id;
  if (boot_id.empty()) {
    ASSIGN_OR_RETURN(boot_id, ipam_internal::ReadBootId());
  }
  const std::string lock_path = dir + "/" + std::string(kLockFile);
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError(errno, "opening the IPAM lock file " + lock_path);
  return HostLocalStore(dir, fd, std::move(boot_id), ipam_internal::ReadPidNamespace());
}

HostLocalStore::HostLocalStore(HostLocalStore&& other) noexcept
    : dir_(std::move(other.dir_)),
      lock_fd_(std::exchange(other.lock_fd_, -1)),
      boot_id_(std::move(other.boot_id_)),
      pid_ns_(std::move(other.pid_ns_)) {}

HostLocalStore& HostLocalStore::operator=(HostLocalStore&& other) noexcept {
  if (this != &other) {
    if (lock_fd_ >= 0) ::close(lock_fd_);
    dir_ = std::move(other.dir_);
    lock_fd_ = std::exchange(other.lock_fd_, -1);
    boot_id_ = std::move(other.boot_id_);
    pid_ns_ = std::move(other.pid_ns_);
  }
  return *this;
}

HostLocalStore::~HostLocalStore() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

Status HostLocalStore::RemoveFile(const std::string& name) {
  const std::string path = dir_ + "/" + name;
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoError(errno, "removing " + path);
  }
  return Status();
}

// Writes through a temporary file so that a crash never leaves a half-written reservation:
// link(2) for a new reservation (fails if the address is taken), rename(2) to replace one.
Status HostLocalStore::WriteReservation(const Reservation& r, bool exclusive) {
  const std::string name = r.ip.ToString();
  const std::string path = dir_ + "/" + name;
  const std::string tmp =
      dir_ + "/" + std::string(kTempPrefix) + std::to_string(::getpid()) + "-" + name;
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError(errno, "creating " + tmp);
  Status st = WriteAll(fd, ipam_internal::FormatReservation(r), tmp);
  if (::close(fd) != 0 && st.ok()) st = ErrnoError(errno, "closing " + tmp);
  if (st.ok()) {
    if (exclusive) {
      if (::link(tmp.c_str(), path.c_str()) != 0) {
        st = errno == EEXIST ? base::AlreadyExistsError("address " + name + " is already reserved")
                             : ErrnoError(errno, "reserving " + path);
      }
    } else if (::rename(tmp.c_str(), path.c_str()) != 0) {
      st = ErrnoError(errno, "replacing " + path);
    }
  }
  ::unlink(tmp.c_str());
  return st;
}

bool HostLocalStore::IsStale(const Reservation& r) const {
  if (r.state != ReservationState::kPending) return false;
  if (r.boot_id != boot_id_) return true;
  // Another pid namespace's pid means nothing here: keep it rather than steal a live ADD's address.
  if (!r.pid_ns.empty() && !pid_ns_.empty() && r.pid_ns != pid_ns_) return false;
  return !ipam_internal::ProcessAlive(r.pid, r.start_time);
}

StatusOr<std::vector<Reservation>> HostLocalStore::LoadAndReclaim(
    const std::vector<Attachment>* keep, int* removed) {
  DIR* d = ::opendir(dir_.c_str());
  if (d == nullptr) return ErrnoError(errno, "reading the IPAM store " + dir_);
  std::vector<std::string> names;
  while (true) {
    errno = 0;
    const dirent* e = ::readdir(d);
    if (e == nullptr) break;
    names.emplace_back(e->d_name);
  }
  const int read_errno = errno;
  ::closedir(d);
  if (read_errno != 0) return ErrnoError(read_errno, "reading the IPAM store " + dir_);

  std::vector<Reservation> out;
  for (const std::string& name : names) {
    const bool reclaim = removed != nullptr;
    if (name.starts_with(kTempPrefix)) {
      // Every write happens under the lock we hold, so this is left over from a crash.
      if (reclaim) RETURN_IF_ERROR(RemoveFile(name));
      continue;
    }
    StatusOr<IPAddress> ip = IPAddress::Parse(name);
    if (!ip.ok()) continue;  // lock, last_reserved_ip.N, anything else
    std::optional<std::string> text = ipam_internal::ReadSmallFile(dir_ + "/" + name);
    if (!text) continue;  // removed meanwhile (only possible without the lock)
    StatusOr<Reservation> r = ipam_internal::ParseReservation(*ip, *text);
    // An empty or garbled file is an interrupted write before a power loss.
    bool drop = !r.ok() || IsStale(*r);
    if (!drop && keep != nullptr &&
        std::find(keep->begin(), keep->end(), r->attachment) == keep->end()) {
      // Not in the runtime's list. A pending reservation that survived IsStale belongs to an ADD
      // still running in this boot: the runtime cannot list it yet, so keep it.
      drop = r->state != ReservationState::kPending;
    }
    if (drop && reclaim) {
      RETURN_IF_ERROR(RemoveFile(name));
      ++*removed;
      continue;
    }
    if (r.ok()) out.push_back(*std::move(r));
  }
  std::sort(out.begin(), out.end(),
            [](const Reservation& a, const Reservation& b) { return a.ip < b.ip; });
  return out;
}

StatusOr<Allocation> HostLocalStore::Allocate(const IpamConfig& config,
                                              const Attachment& attachment,
                                              const std::vector<IPAddress>& requested) {
  RETURN_IF_ERROR(ValidateAttachment(attachment));
  ASSIGN_OR_RETURN(auto lock, LockGuard::Acquire(lock_fd_, dir_));
  int removed = 0;
  ASSIGN_OR_RETURN(std::vector<Reservation> existing, LoadAndReclaim(nullptr, &removed));
  std::map<IPAddress, const Reservation*> reserved;
  for (const Reservation& r : existing) {
    if (r.attachment == attachment) {
      return base::AlreadyExistsError(attachment.ToString() + " already holds " + r.ip.ToString() +
                                      " in " + dir_ +
                                      "; duplicate allocation is not allowed (DEL it first)");
    }
    reserved[r.ip] = &r;
  }

  const size_t n = config.range_sets.size();
  std::vector<std::optional<IPAddress>> chosen(n);
  for (const IPAddress& ip : requested) {
    size_t set = n;
    for (size_t s = 0; s < n && set == n; ++s) {
      if (config.range_sets[s].RangeFor(ip) != nullptr) set = s;
    }
    if (set == n) {
      return base::InvalidArgumentError("requested IP " + ip.ToString() +
                                        " is not in any range of network " + config.network_name);
    }
    if (chosen[set]) {
      return base::InvalidArgumentError("requested IPs " + chosen[set]->ToString() + " and " +
                                        ip.ToString() + " are both in range set " +
                                        std::to_string(set) + "; one IP per range set");
    }
    if (ip == config.range_sets[set].RangeFor(ip)->gateway) {
      return base::InvalidArgumentError("requested IP " + ip.ToString() +
                                        " is the gateway of its range");
    }
    if (config.IsExcluded(ip)) {
      return base::InvalidArgumentError("requested IP " + ip.ToString() +
                                        " is excluded by ipam.exclude");
    }
    if (auto it = reserved.find(ip); it != reserved.end()) {
      return base::AlreadyExistsError("requested IP " + ip.ToString() + " is already reserved by " +
                                      it->second->attachment.ToString());
    }
    chosen[set] = ip;
  }

  auto taken = [&](const IPAddress& ip) { return reserved.contains(ip); };
  for (size_t s = 0; s < n; ++s) {
    if (chosen[s]) continue;
    std::optional<IPAddress> last;
    const std::string last_path = dir_ + "/" + std::string(kLastReservedPrefix) + std::to_string(s);
    if (std::optional<std::string> text = ipam_internal::ReadSmallFile(last_path)) {
      std::string_view t = *text;
      while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) {
        t.remove_suffix(1);
      }
      if (StatusOr<IPAddress> ip = IPAddress::Parse(t); ip.ok()) last = *ip;
    }
    chosen[s] = ipam_internal::NextFree(config, config.range_sets[s], last, taken);
    if (!chosen[s]) {
      return base::ResourceExhaustedError("no IP addresses available in range set " +
                                          std::to_string(s) + " of network " + config.network_name +
                                          ": " + config.range_sets[s].ToString());
    }
  }

  // Write every reservation, all or nothing.
  Reservation r;
  r.attachment = attachment;
  r.state = ReservationState::kPending;
  r.pid = ::getpid();
  r.start_time = ipam_internal::ProcessStartTime(r.pid).value_or(0);
  r.boot_id = boot_id_;
  r.pid_ns = pid_ns_;
  Allocation out;
  out.routes = config.routes;
  Status st;
  for (size_t s = 0; s < n && st.ok(); ++s) {
    r.ip = *chosen[s];
    st = WriteReservation(r, /*exclusive=*/true);
    if (!st.ok()) break;
    const Range* range = config.range_sets[s].RangeFor(r.ip);
    out.ips.push_back(
        AllocatedIp{r.ip, range->subnet.prefix_len(), range->gateway, range->subnet, s});
    // The rotation point (host-local writes it on every reservation, requested ones included).
    const std::string last_name = std::string(kLastReservedPrefix) + std::to_string(s);
    const std::string last_path = dir_ + "/" + last_name;
    const std::string tmp = dir_ + "/" + std::string(kTempPrefix) + last_name;
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
      st = ErrnoError(errno, "creating " + tmp);
      break;
    }
    st = WriteAll(fd, r.ip.ToString(), tmp);
    ::close(fd);
    if (st.ok() && ::rename(tmp.c_str(), last_path.c_str()) != 0) {
      st = ErrnoError(errno, "replacing " + last_path);
    }
    ::unlink(tmp.c_str());
  }
  if (!st.ok()) {
    for (const AllocatedIp& ip : out.ips) (void)RemoveFile(ip.address.ToString());
    return st.WithContext("reserving addresses for " + attachment.ToString());
  }
  return out;
}

Status HostLocalStore::Commit(const Attachment& attachment) {
  ASSIGN_OR_RETURN(auto lock, LockGuard::Acquire(lock_fd_, dir_));
  ASSIGN_OR_RETURN(std::vector<Reservation> all, LoadAndReclaim(nullptr, nullptr));
  bool found = false;
  for (Reservation& r : all) {
    if (r.attachment != attachment) continue;
    found = true;
    if (r.state == ReservationState::kCommitted) continue;
    r.state = ReservationState::kCommitted;
    r.boot_id = boot_id_;
    RETURN_IF_ERROR(WriteReservation(r, /*exclusive=*/false));
  }
  if (!found) {
    return base::NotFoundError("committing " + attachment.ToString() + ": no reservation in " +
                               dir_);
  }
  return Status();
}

Status HostLocalStore::Release(const Attachment& attachment) {
  ASSIGN_OR_RETURN(auto lock, LockGuard::Acquire(lock_fd_, dir_));
  ASSIGN_OR_RETURN(std::vector<Reservation> all, LoadAndReclaim(nullptr, nullptr));
  for (const Reservation& r : all) {
    // Old host-local files hold only the container ID.
    const bool legacy_match = r.attachment.ifname.empty() && r.pid == 0 &&
                              r.attachment.container_id == attachment.container_id;
    if (r.attachment == attachment || legacy_match) RETURN_IF_ERROR(RemoveFile(r.ip.ToString()));
  }
  return Status();
}

StatusOr<int> HostLocalStore::GarbageCollect(const std::vector<Attachment>& valid) {
  ASSIGN_OR_RETURN(auto lock, LockGuard::Acquire(lock_fd_, dir_));
  int removed = 0;
  ASSIGN_OR_RETURN(std::vector<Reservation> kept, LoadAndReclaim(&valid, &removed));
  return removed;
}

StatusOr<bool> HostLocalStore::HasFreeAddress(const IpamConfig& config) {
  ASSIGN_OR_RETURN(auto lock, LockGuard::Acquire(lock_fd_, dir_));
  int removed = 0;
  ASSIGN_OR_RETURN(std::vector<Reservation> all, LoadAndReclaim(nullptr, &removed));
  std::map<IPAddress, bool> reserved;
  for (const Reservation& r : all) reserved[r.ip] = true;
  auto taken = [&](const IPAddress& ip) { return reserved.contains(ip); };
  for (const RangeSet& set : config.range_sets) {
    if (!ipam_internal::NextFree(config, set, std::nullopt, taken)) return false;
  }
  return true;
}

StatusOr<std::vector<IPAddress>> HostLocalStore::AddressesOf(const Attachment& attachment) {
  ASSIGN_OR_RETURN(std::vector<Reservation> all, List());
  std::vector<IPAddress> out;
  for (const Reservation& r : all) {
    if (r.attachment == attachment) out.push_back(r.ip);
  }
  return out;
}

StatusOr<std::vector<Reservation>> HostLocalStore::List() {
  ASSIGN_OR_RETURN(auto lock, LockGuard::Acquire(lock_fd_, dir_));
  return LoadAndReclaim(nullptr, nullptr);
}

}  // namespace knet::ipam
