#include "common/log.hpp"

#include <unistd.h>

#include <atomic>
#include <mutex>

#include "common/json_writer.hpp"
#include "common/time.hpp"

namespace tsunagu::log {
namespace {

std::atomic<int> g_min{static_cast<int>(Level::kInfo)};
std::atomic<bool> g_json{true};
std::mutex g_mu;

const char* name(Level l) {
  switch (l) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

}  // namespace

void configure(Level min_level, bool json) {
  g_min = static_cast<int>(min_level);
  g_json = json;
}

bool enabled(Level level) {
  return static_cast<int>(level) >= g_min.load(std::memory_order_relaxed);
}

void write(Level level, std::string_view event, std::initializer_list<Field> fields) {
  if (!enabled(level)) return;
  std::string line;
  if (g_json) {
    JsonWriter w(line);
    w.begin_object();
    w.key("time");
    w.string(format_datetime(now_us()));
    w.key("level");
    w.string(name(level));
    w.key("event");
    w.string(event);
    for (const auto& f : fields) {
      w.key(f.key);
      std::visit(
          [&](auto v) {
            using T = decltype(v);
            if constexpr (std::is_same_v<T, std::string_view>)
              w.string(v);
            else if constexpr (std::is_same_v<T, bool>)
              w.boolean(v);
            else
              w.number(v);
          },
          f.value);
    }
    w.end_object();
  } else {
    line = format_datetime(now_us()) + " " + name(level) + " " + std::string(event);
    for (const auto& f : fields) {
      line += " ";
      line += f.key;
      line += "=";
      std::visit(
          [&](auto v) {
            using T = decltype(v);
            if constexpr (std::is_same_v<T, std::string_view>)
              line += v;
            else if constexpr (std::is_same_v<T, bool>)
              line += v ? "true" : "false";
            else
              line += std::to_string(v);
          },
          f.value);
    }
  }
  line.push_back('\n');
  std::lock_guard lock(g_mu);
  ssize_t n = ::write(2, line.data(), line.size());
  (void)n;
}

bool parse_level(std::string_view t, Level& out) {
  if (t == "debug")
    out = Level::kDebug;
  else if (t == "info")
    out = Level::kInfo;
  else if (t == "warn")
    out = Level::kWarn;
  else if (t == "error")
    out = Level::kError;
  else
    return false;
  return true;
}

}  // namespace tsunagu::log
