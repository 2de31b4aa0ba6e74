#include "agent/runtime/internal/files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace knet::agent::runtime::internal {

using base::Status;
using base::StatusOr;

Status WriteFileAtomic(const std::string& path, std::string_view data) {
  std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return base::ErrnoError(errno, "creating " + tmp);
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      close(fd);
      unlink(tmp.c_str());
      return base::ErrnoError(e, "writing " + tmp);
    }
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0) {
    int e = errno;
    close(fd);
    unlink(tmp.c_str());
    return base::ErrnoError(e, "syncing " + tmp);
  }
  close(fd);
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    unlink(tmp.c_str());
    return base::ErrnoError(e, "renaming " + tmp + " to " + path);
  }
  return base::OkStatus();
}

StatusOr<std::string> ReadFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return base::ErrnoError(errno, "opening " + path);
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      close(fd);
      return base::ErrnoError(e, "reading " + path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

Status MakeDirs(const std::string& path, mode_t mode) {
  if (path.empty()) return base::OkStatus();
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    std::string part = path.substr(0, pos);
    if (mkdir(part.c_str(), mode) != 0 && errno != EEXIST) {
      return base::ErrnoError(errno, "creating directory " + part);
    }
  }
  struct stat st {};
  if (stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return base::FailedPreconditionError("creating directory " + path + ": not a directory");
  }
  return base::OkStatus();
}

Status RemoveAll(const std::string& path) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return base::OkStatus();
    return base::ErrnoError(errno, "removing " + path);
  }
  if (S_ISDIR(st.st_mode)) {
    DIR* d = opendir(path.c_str());
    if (d == nullptr) return base::ErrnoError(errno, "removing " + path);
    Status result;
    while (dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      Status s = RemoveAll(path + "/" + name);
      if (!s.ok() && result.ok()) result = s;
    }
    closedir(d);
    if (!result.ok()) return result;
    if (rmdir(path.c_str()) != 0 && errno != ENOENT) {
      return base::ErrnoError(errno, "removing " + path);
    }
    return base::OkStatus();
  }
  if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    return base::ErrnoError(errno, "removing " + path);
  }
  return base::OkStatus();
}

int64_t NowNanos() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::string FormatRfc3339Nano(int64_t unix_nanos) {
  time_t secs = static_cast<time_t>(unix_nanos / 1'000'000'000);
  int64_t frac = unix_nanos % 1'000'000'000;
  if (frac < 0) {
    frac += 1'000'000'000;
    --secs;
  }
  tm t{};
  gmtime_r(&secs, &t);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", t.tm_year + 1900,
                t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                static_cast<long long>(frac));
  return buf;
}

StatusOr<int64_t> ParseRfc3339Nano(std::string_view text) {
  auto bad = [&] {
    return base::InvalidArgumentError("parsing time \"" + std::string(text) + "\": not RFC 3339");
  };
  // YYYY-MM-DDTHH:MM:SS
  if (text.size() < 20) return bad();
  auto num = [&](size_t pos, size_t len, int* out) {
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
      v = v * 10 + (text[i] - '0');
    }
    *out = v;
    return true;
  };
  tm t{};
  int year, mon, day, hour, min, sec;
  if (!num(0, 4, &year) || text[4] != '-' || !num(5, 2, &mon) || text[7] != '-' ||
      !num(8, 2, &day) || (text[10] != 'T' && text[10] != 't') || !num(11, 2, &hour) ||
      text[13] != ':' || !num(14, 2, &min) || text[16] != ':' || !num(17, 2, &sec)) {
    return bad();
  }
  size_t pos = 19;
  int64_t frac = 0;
  if (text[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (digits < 9) {
        frac = frac * 10 + (text[pos] - '0');
        ++digits;
      }
      ++pos;
    }
    if (digits == 0) return bad();
    for (; digits < 9; ++digits) frac *= 10;
  }
  if (pos + 1 != text.size() || (text[pos] != 'Z' && text[pos] != 'z')) return bad();
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60) return bad();
  t.tm_year = year - 1900;
  t.tm_mon = mon - 1;
  t.tm_mday = day;
  t.tm_hour = hour;
  t.tm_min = min;
  t.tm_sec = sec;
  return static_cast<int64_t>(timegm(&t)) * 1'000'000'000 + frac;
}

StatusOr<uint64_t> ProcessStartTime(pid_t pid) {
  ASSIGN_OR_RETURN(std::string stat, ReadFile("/proc/" + std::to_string(pid) + "/stat"));
  // The command name (field 2) is in parentheses and may contain spaces: count from the last ')'.
  size_t close = stat.rfind(')');
  if (close == std::string::npos)
    return base::InternalError("parsing /proc/" + std::to_string(pid) + "/stat");
  // Fields after ')': 3 (state) ... 22 (starttime) => the 20th space-separated token.
  size_t pos = close + 1;
  for (int field = 3; field <= 22; ++field) {
    while (pos < stat.size() && stat[pos] == ' ') ++pos;
    size_t end = stat.find(' ', pos);
    if (end == std::string::npos) end = stat.size();
    if (field == 22) return std::strtoull(stat.substr(pos, end - pos).c_str(), nullptr, 10);
    pos = end;
  }
  return base::InternalError("parsing /proc/" + std::to_string(pid) + "/stat: too few fields");
}

std::string RandomId() {
  unsigned char bytes[16];
  size_t got = 0;
  while (got < sizeof(bytes)) {
    ssize_t n = getrandom(bytes + got, sizeof(bytes) - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
  static const char kHex[] = "0123456789abcdef";
  std::string id;
  for (unsigned char b : bytes) {
    id += kHex[b >> 4];
    id += kHex[b & 15];
  }
  return id;
}

}  // namespace knet::agent::runtime::internal
