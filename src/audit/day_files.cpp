#include "audit/day_files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/time.hpp"

namespace tsunagu::audit {
namespace {

constexpr size_t kBlock = 1 << 20;

// "2026-12-07" exactly as day_of() writes it: a file named otherwise is not a day of the log.
bool is_day(std::string_view name) {
  if (name.size() != 10) return false;
  auto at = parse_date(name);
  return at && day_of(*at) == name;
}

Status read_error(const std::string& path) {
  return Status::Internal("cannot read the audit file " + path + ": " + std::strerror(errno));
}

// An open file descriptor, closed when it goes.
struct File {
  int fd = -1;
  ~File() {
    if (fd >= 0) ::close(fd);
  }
};

// Reads `n` bytes at `at` into `out`.
bool read_at(int fd, off_t at, size_t n, std::string& out) {
  out.resize(n);
  size_t done = 0;
  while (done < n) {
    ssize_t got = ::pread(fd, out.data() + done, n - done, at + static_cast<off_t>(done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    done += static_cast<size_t>(got);
  }
  return true;
}

// Opens `path` for reading and gives its size; fd stays -1 when there is no such file.
Status open_for_reading(const std::string& path, File& f, off_t& size) {
  f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0) return errno == ENOENT ? Status::Ok() : read_error(path);
  size = ::lseek(f.fd, 0, SEEK_END);
  if (size < 0) return read_error(path);
  return Status::Ok();
}

}  // namespace

std::string day_path(const std::string& dir, std::string_view day) {
  return dir + "/" + std::string(day) + std::string(kDayFileSuffix);
}

std::vector<std::string> list_days(const std::string& dir) {
  std::vector<std::string> days;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.size() <= kDayFileSuffix.size() || !name.ends_with(kDayFileSuffix)) continue;
    name.resize(name.size() - kDayFileSuffix.size());
    if (is_day(name)) days.push_back(std::move(name));
  }
  std::sort(days.begin(), days.end());  // ISO dates sort as text
  return days;
}

std::vector<std::string> remove_days_before(const std::string& dir, std::string_view oldest_kept) {
  std::vector<std::string> removed;
  for (auto& day : list_days(dir)) {
    if (day >= oldest_kept) break;
    if (::unlink(day_path(dir, day).c_str()) == 0) removed.push_back(std::move(day));
  }
  return removed;
}

Status each_line(const std::string& path, const LineVisitor& line) {
  File f;
  off_t size = 0;
  TSUNAGU_RETURN_IF_ERROR(open_for_reading(path, f, size));
  if (f.fd < 0) return Status::Ok();
  std::string data, block;
  for (off_t pos = 0; pos < size;) {
    const size_t n = static_cast<size_t>(std::min<off_t>(kBlock, size - pos));
    if (!read_at(f.fd, pos, n, block)) return read_error(path);
    pos += static_cast<off_t>(n);
    data += block;
    size_t start = 0;
    for (size_t nl; (nl = data.find('\n', start)) != std::string::npos; start = nl + 1) {
      if (!line(std::string_view(data).substr(start, nl - start))) return Status::Ok();
    }
    data.erase(0, start);  // the start of a line that continues in the next block
  }
  return Status::Ok();
}

Status each_line_backward(const std::string& path, const LineVisitor& line) {
  File f;
  off_t size = 0;
  TSUNAGU_RETURN_IF_ERROR(open_for_reading(path, f, size));
  if (f.fd < 0) return Status::Ok();
  // `carry`: the text after the block just read that is not visited yet, the beginning of a line
  // whose start lies further back. Until the file's last '\n' is found, what follows it is an
  // unterminated line and is dropped.
  std::string carry, block;
  bool found_end = false;
  for (off_t pos = size; pos > 0;) {
    const size_t n = static_cast<size_t>(std::min<off_t>(kBlock, pos));
    pos -= static_cast<off_t>(n);
    if (!read_at(f.fd, pos, n, block)) return read_error(path);
    std::string data = std::move(block) + carry;
    if (!found_end) {
      const size_t last = data.rfind('\n');
      if (last == std::string::npos) {
        carry = std::move(data);
        continue;
      }
      data.resize(last);
      found_end = true;
    }
    // `data` ends where a complete line ends.
    size_t end = data.size();
    for (size_t nl; end > 0 && (nl = data.rfind('\n', end - 1)) != std::string::npos; end = nl) {
      if (!line(std::string_view(data).substr(nl + 1, end - nl - 1))) return Status::Ok();
    }
    carry = data.substr(0, end);
    block = std::string();
  }
  if (found_end) line(carry);  // the file's first line
  return Status::Ok();
}

Result<Page> read_records(const std::string& dir, const Filter& filter, Order order, size_t offset,
                          size_t limit, bool count) {
  Page page;
  if (limit == 0 && !count) return page;
  std::vector<std::string> days = list_days(dir);
  // Day files hold the records answered that day, so the days outside [since, until) hold none
  // that match. (A record answered just before midnight may be written just after it, into the
  // file of its own day all the same: the writer files each record by its own time.)
  const std::string first = filter.since == INT64_MIN ? std::string() : day_of(filter.since);
  const std::string last = filter.until == INT64_MAX ? std::string() : day_of(filter.until);
  std::erase_if(days, [&](const std::string& d) {
    return (!first.empty() && d < first) || (!last.empty() && d > last);
  });
  if (order == Order::kNewestFirst) std::reverse(days.begin(), days.end());
  bool full = false;
  const LineVisitor visit = [&](std::string_view text) {
    if (text.empty()) return true;
    auto r = parse_line(text);
    if (!r.ok()) {
      ++page.skipped;
      return true;
    }
    if (!filter.matches(*r)) return true;
    if (page.total++ >= offset && page.records.size() < limit)
      page.records.push_back(std::move(*r));
    full = page.records.size() >= limit;
    return count || !full;
  };
  for (const auto& day : days) {
    const std::string path = day_path(dir, day);
    TSUNAGU_RETURN_IF_ERROR(order == Order::kNewestFirst ? each_line_backward(path, visit)
                                                         : each_line(path, visit));
    if (full && !count) break;
  }
  return page;
}

}  // namespace tsunagu::audit
