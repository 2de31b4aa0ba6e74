#include "agent/server/cri_log.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <deque>

#include "agent/process/process.h"

namespace knet::agent::server {

namespace {

using process::UniqueFd;

constexpr size_t kReadBlock = 64 * 1024;
constexpr size_t kFlushBytes = 32 * 1024;

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

}  // namespace

base::StatusOr<int64_t> ParseRfc3339Nano(std::string_view t) {
  auto bad = [&] {
    return base::InvalidArgumentError("\"" + std::string(t) + "\" is not an RFC 3339 time");
  };
  int year, mon, day, hour, min, sec;
  if (t.size() < 20 || !Digits(t, 0, 4, &year) || t[4] != '-' || !Digits(t, 5, 2, &mon) ||
      t[7] != '-' || !Digits(t, 8, 2, &day) || (t[10] != 'T' && t[10] != 't') ||
      !Digits(t, 11, 2, &hour) || t[13] != ':' || !Digits(t, 14, 2, &min) || t[16] != ':' ||
      !Digits(t, 17, 2, &sec)) {
    return bad();
  }
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60) {
    return bad();
  }
  size_t i = 19;
  int64_t frac = 0;
  if (i < t.size() && t[i] == '.') {
    ++i;
    int digits = 0;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') {
      if (digits < 9) {
        frac = frac * 10 + (t[i] - '0');
        ++digits;
      }
      ++i;
    }
    if (digits == 0) return bad();
    for (; digits < 9; ++digits) frac *= 10;
  }
  int64_t offset = 0;
  if (i < t.size() && (t[i] == 'Z' || t[i] == 'z')) {
    ++i;
  } else if (i < t.size() && (t[i] == '+' || t[i] == '-')) {
    int oh, om;
    if (!Digits(t, i + 1, 2, &oh) || i + 3 >= t.size() || t[i + 3] != ':' ||
        !Digits(t, i + 4, 2, &om)) {
      return bad();
    }
    offset = (oh * 3600 + om * 60) * (t[i] == '-' ? -1 : 1);
    i += 6;
  } else {
    return bad();
  }
  if (i != t.size()) return bad();
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  int64_t secs = static_cast<int64_t>(timegm(&tm)) - offset;
  return secs * 1'000'000'000 + frac;
}

std::string FormatTimestamp(int64_t unix_ns) {
  int64_t secs = unix_ns / 1'000'000'000;
  int64_t frac = unix_ns % 1'000'000'000;
  if (frac < 0) {
    frac += 1'000'000'000;
    --secs;
  }
  time_t tt = static_cast<time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(frac));
  return buf;
}

base::StatusOr<CriLine> ParseCriLine(std::string_view line) {
  auto bad = [&] {
    return base::InvalidArgumentError("not a CRI log line: \"" + std::string(line.substr(0, 80)) +
                                      "\"");
  };
  size_t s1 = line.find(' ');
  if (s1 == std::string_view::npos) return bad();
  size_t s2 = line.find(' ', s1 + 1);
  if (s2 == std::string_view::npos) return bad();
  CriLine out;
  auto ts = ParseRfc3339Nano(line.substr(0, s1));
  if (!ts.ok()) return bad();
  out.time_ns = *ts;
  out.stream = line.substr(s1 + 1, s2 - s1 - 1);
  if (out.stream != "stdout" && out.stream != "stderr") return bad();
  // The tag: "F" or "P" (possibly more ':'-separated tags in future CRI versions).
  size_t s3 = line.find(' ', s2 + 1);
  std::string_view tag =
      line.substr(s2 + 1, s3 == std::string_view::npos ? std::string_view::npos : s3 - s2 - 1);
  std::string_view first = tag.substr(0, tag.find(':'));
  if (first == "P") {
    out.partial = true;
  } else if (first != "F") {
    return bad();
  }
  out.content = s3 == std::string_view::npos ? std::string_view() : line.substr(s3 + 1);
  return out;
}

namespace {

// Streams CRI lines to the output with the options applied.
class LogPrinter {
 public:
  LogPrinter(const LogOptions& o, const std::function<bool(std::string_view)>& write)
      : o_(o), write_(write) {}

  // Returns false when output must stop (limit reached or the writer refused).
  bool Line(std::string_view raw) {
    auto line = ParseCriLine(raw);
    if (!line.ok()) return true;  // skipped, as kubelet does
    if (o_.since_ns && line->time_ns < *o_.since_ns) {
      at_line_start_ = !line->partial;
      return true;
    }
    if (o_.timestamps && at_line_start_) {
      if (!Emit(FormatTimestamp(line->time_ns))) return false;
      if (!Emit(" ")) return false;
    }
    if (!Emit(line->content)) return false;
    if (!line->partial && !Emit("\n")) return false;
    at_line_start_ = !line->partial;
    return true;
  }

  bool Flush() {
    if (out_.empty()) return !stopped_;
    bool ok = write_(out_);
    out_.clear();
    if (!ok) stopped_ = true;
    return !stopped_;
  }
  bool stopped() const { return stopped_; }

 private:
  bool Emit(std::string_view s) {
    if (stopped_) return false;
    if (o_.limit_bytes) {
      int64_t left = *o_.limit_bytes - written_;
      if (left <= 0) {
        stopped_ = true;
        return false;
      }
      if (static_cast<int64_t>(s.size()) > left) s = s.substr(0, static_cast<size_t>(left));
    }
    out_.append(s);
    written_ += static_cast<int64_t>(s.size());
    if (out_.size() >= kFlushBytes && !Flush()) return false;
    if (o_.limit_bytes && written_ >= *o_.limit_bytes) {
      Flush();
      stopped_ = true;
      return false;
    }
    return true;
  }

  const LogOptions& o_;
  const std::function<bool(std::string_view)>& write_;
  std::string out_;
  int64_t written_ = 0;
  bool at_line_start_ = true;
  bool stopped_ = false;
};

// Offset of the first byte of the last `n` logical lines among the complete lines of `fd`.
base::StatusOr<off_t> TailStart(int fd, int64_t n) {
  if (n <= 0) {
    off_t end = ::lseek(fd, 0, SEEK_END);
    if (end < 0) return base::ErrnoError(errno, "seeking the log");
    return end;
  }
  std::deque<off_t> starts;  // starts of the last n logical lines
  off_t line_start = 0, logical_start = 0, pos = 0;
  bool in_logical = false;
  std::string carry;
  char buf[kReadBlock];
  while (true) {
    ssize_t r = ::pread(fd, buf, sizeof(buf), pos);
    if (r < 0) {
      if (errno == EINTR) continue;
      return base::ErrnoError(errno, "reading the log");
    }
    if (r == 0) break;
    carry.append(buf, static_cast<size_t>(r));
    pos += r;
    size_t from = 0, nl;
    while ((nl = carry.find('\n', from)) != std::string::npos) {
      std::string_view raw(carry.data() + from, nl - from);
      if (!in_logical) {
        logical_start = line_start;
        in_logical = true;
      }
      auto line = ParseCriLine(raw);
      if (!line.ok() || !line->partial) {
        starts.push_back(logical_start);
        if (static_cast<int64_t>(starts.size()) > n) starts.pop_front();
        in_logical = false;
      }
      line_start += static_cast<off_t>(nl - from + 1);
      from = nl + 1;
    }
    carry.erase(0, from);
  }
  // A partial line still being written counts as the last line.
  if (in_logical) {
    starts.push_back(logical_start);
    if (static_cast<int64_t>(starts.size()) > n) starts.pop_front();
  }
  return starts.empty() ? line_start : starts.front();
}

}  // namespace

base::Status ReadLog(const std::string& path, const LogOptions& options,
                     const std::function<bool(std::string_view)>& write,
                     const std::function<bool()>& keep_following) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    int err = errno;
    if (err == ENOENT) return base::NotFoundError("log file " + path + " does not exist");
    return base::ErrnoError(err, "opening the log file " + path);
  }
  UniqueFd watch;
  if (options.follow) {
    watch.Reset(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    if (watch.valid() &&
        ::inotify_add_watch(watch.get(), path.c_str(), IN_MODIFY | IN_CLOSE_WRITE) < 0) {
      watch.Reset();  // fall back to polling
    }
  }
  off_t pos = 0;
  if (options.tail_lines) {
    auto start = TailStart(fd.get(), *options.tail_lines);
    if (!start.ok()) return start.status().WithContext("reading " + path);
    pos = *start;
  }
  LogPrinter printer(options, write);
  std::string carry;
  char buf[kReadBlock];
  bool last_pass = false;
  while (true) {
    // Read everything there is now.
    while (true) {
      ssize_t r = ::pread(fd.get(), buf, sizeof(buf), pos);
      if (r < 0) {
        if (errno == EINTR) continue;
        return base::ErrnoError(errno, "reading the log file " + path);
      }
      if (r == 0) break;
      pos += r;
      carry.append(buf, static_cast<size_t>(r));
      size_t from = 0, nl;
      while ((nl = carry.find('\n', from)) != std::string::npos) {
        if (!printer.Line(std::string_view(carry.data() + from, nl - from))) {
          return base::OkStatus();
        }
        from = nl + 1;
      }
      carry.erase(0, from);
    }
    if (!printer.Flush()) return base::OkStatus();
    if (!options.follow || last_pass) return base::OkStatus();
    if (!keep_following()) {
      last_pass = true;  // the container stopped: read what it wrote last, then end
      continue;
    }
    if (watch.valid()) {
      pollfd p{watch.get(), POLLIN, 0};
      if (::poll(&p, 1, 100) > 0) {
        char events[4096];
        while (::read(watch.get(), events, sizeof(events)) > 0) {
        }
      }
    } else {
      ::usleep(100 * 1000);
    }
  }
}

}  // namespace knet::agent::server
