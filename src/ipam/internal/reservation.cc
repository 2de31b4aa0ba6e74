#include "ipam/internal/reservation.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <string>

namespace knet::ipam::ipam_internal {
namespace {

using base::DataLossError;
using base::StatusOr;

std::string_view Trim(std::string_view s) {
  const char* ws = " \t\r\n";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

template <typename T>
bool ParseNumber(std::string_view text, T* out) {
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

}  // namespace

std::optional<std::string> ReadSmallFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[4096];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > (1u << 20)) break;
  }
  ::close(fd);
  return out;
}

std::string FormatReservation(const Reservation& r) {
  std::string out;
  out += "id=" + r.attachment.container_id + "\n";
  out += "ifname=" + r.attachment.ifname + "\n";
  out += std::string("state=") + (r.state == ReservationState::kPending ? "pending" : "committed") +
         "\n";
  out += "pid=" + std::to_string(r.pid) + "\n";
  out += "start=" + std::to_string(r.start_time) + "\n";
  out += "boot=" + r.boot_id + "\n";
  if (!r.pid_ns.empty()) out += "pidns=" + r.pid_ns + "\n";
  return out;
}

StatusOr<Reservation> ParseReservation(const base::IPAddress& ip, std::string_view text) {
  Reservation r;
  r.ip = ip;
  const std::string name = ip.ToString();
  if (Trim(text).empty()) return DataLossError("reservation " + name + ": empty file");
  if (text.substr(0, 3) != "id=") {
    // The reference host-local plugin's format: "<id>\r\n<ifname>" (older: "<id>").
    std::string_view t = Trim(text);
    const size_t nl = t.find('\n');
    r.attachment.container_id = std::string(Trim(t.substr(0, nl)));
    if (nl != std::string_view::npos) r.attachment.ifname = std::string(Trim(t.substr(nl + 1)));
    r.state = ReservationState::kCommitted;
    return r;
  }
  bool have_state = false;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty()) continue;
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return DataLossError("reservation " + name + ": malformed line \"" + std::string(line) +
                           "\"");
    }
    std::string_view key = line.substr(0, eq);
    std::string_view value = line.substr(eq + 1);
    if (key == "id") {
      r.attachment.container_id = std::string(value);
    } else if (key == "ifname") {
      r.attachment.ifname = std::string(value);
    } else if (key == "state") {
      if (value == "pending") {
        r.state = ReservationState::kPending;
      } else if (value == "committed") {
        r.state = ReservationState::kCommitted;
      } else {
        return DataLossError("reservation " + name + ": unknown state \"" + std::string(value) +
                             "\"");
      }
      have_state = true;
    } else if (key == "pid") {
      if (!ParseNumber(value, &r.pid)) return DataLossError("reservation " + name + ": bad pid");
    } else if (key == "start") {
      if (!ParseNumber(value, &r.start_time)) {
        return DataLossError("reservation " + name + ": bad start time");
      }
    } else if (key == "boot") {
      r.boot_id = std::string(value);
    } else if (key == "pidns") {
      r.pid_ns = std::string(value);
    }
    // Unknown keys are ignored (forward compatibility).
  }
  if (r.attachment.container_id.empty() || !have_state) {
    return DataLossError("reservation " + name + ": incomplete (no id or state)");
  }
  return r;
}

std::string ReadPidNamespace() {
  char buf[256];
  const ssize_t n = ::readlink("/proc/self/ns/pid", buf, sizeof(buf));
  if (n <= 0) return {};
  return std::string(buf, static_cast<size_t>(n));
}

StatusOr<std::string> ReadBootId() {
  const std::string path = "/proc/sys/kernel/random/boot_id";
  std::string id(Trim(ReadSmallFile(path).value_or("")));
  if (id.empty()) return base::InternalError("reading the boot id from " + path + ": empty");
  return id;
}

std::optional<uint64_t> ProcessStartTime(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  const std::string stat = ReadSmallFile("/proc/" + std::to_string(pid) + "/stat").value_or("");
  // "pid (comm) S ppid ..."; comm may hold spaces and parentheses, so parse after the last ')'.
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  std::string_view rest = std::string_view(stat).substr(paren + 1);
  // Fields from 3 (state) on; start time is field 22.
  int field = 2;
  uint64_t start = 0;
  while (!rest.empty()) {
    const size_t b = rest.find_first_not_of(' ');
    if (b == std::string_view::npos) break;
    rest = rest.substr(b);
    const size_t e = rest.find(' ');
    std::string_view word = rest.substr(0, e);
    ++field;
    if (field == 3 && (word == "Z" || word == "X" || word == "x")) return std::nullopt;
    if (field == 22) {
      if (!ParseNumber(word, &start)) return std::nullopt;
      return start;
    }
    if (e == std::string_view::npos) break;
    rest = rest.substr(e);
  }
  return std::nullopt;
}

bool ProcessAlive(pid_t pid, uint64_t start_time) {
  if (pid <= 0) return false;
  if (::kill(pid, 0) != 0 && errno == ESRCH) return false;
  std::optional<uint64_t> actual = ProcessStartTime(pid);
  if (!actual) {
    // kill() saw it, /proc did not: either a zombie (dead) or /proc is unavailable. Without /proc
    // we cannot tell a reused pid; trust kill() then.
    return ::access("/proc/self/stat", R_OK) != 0;
  }
  return start_time == 0 || *actual == start_time;
}

}  // namespace knet::ipam::ipam_internal
