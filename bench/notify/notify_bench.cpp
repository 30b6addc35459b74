// tsunagu-notify-bench: notification latency and delivery of a running broker (scenario S9,
// docs/benchmarks.md). It starts a webhook receiver, creates subscriptions that point at it
// (per entity and/or per type), then PATCHes one attribute of the listed entities, either at a
// fixed rate (open loop, each update due at its scheduled time) or as fast as the broker answers
// (closed loop), with each update's sequence number as the attribute's value. The receiver
// matches every notification to its update; the report gives latency percentiles from the
// update's due time to the notification's arrival, delivered/expected, duplicates and order.
// bench/run.py starts the broker and runs this; it can also be run by hand (--help).
#include <dirent.h>
#include <sys/resource.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "analysis.hpp"
#include "client.hpp"
#include "net.hpp"
#include "receiver.hpp"

namespace tsunagu::notify_bench {
namespace {

constexpr char kUsage[] =
    "usage: tsunagu-notify-bench --port N --updates FILE [options]\n"
    "  --port N               the broker's port on 127.0.0.1\n"
    "  --updates FILE         one entity a line: ID<tab>TYPE<tab>S; updates cycle over the lines\n"
    "                         in order; S = 1 gives the entity a per-entity subscription\n"
    "  --type-subscription T  also one subscription on every entity of type T\n"
    "  --attribute NAME       the attribute PATCHed (default dissolvedOxygen)\n"
    "  --never-q Q            give the per-entity subscriptions this q, one that no update\n"
    "                         satisfies: they are matched but are not expected to notify\n"
    "  --rate R               updates/s, open loop; 0 = as fast as answered (default 1000)\n"
    "  --connections C        connections for the updates (default 64; closed loop: the load)\n"
    "  --warmup S             seconds before the measured window (default 1)\n"
    "  --duration S           seconds measured (default 10)\n"
    "  --drain S              longest wait for notifications after the last update (default 60)\n"
    "  --create-connections C connections creating the subscriptions (default 64)\n"
    "  --receiver-port N      the receiver's port (default 0: a free one)\n"
    "  --tag T                subscription ids are urn:ngsi-ld:Subscription:T-<n> (default s9)\n"
    "  --server-pid PID       read the broker's CPU time over the measured window\n";

struct Options {
  uint16_t port = 0;
  std::string updates;
  std::string type_subscription;
  std::string attribute = "dissolvedOxygen";
  std::string never_q;
  double rate = 1000;
  int connections = 64;
  double warmup_s = 1;
  double duration_s = 10;
  double drain_s = 60;
  int create_connections = 64;
  uint16_t receiver_port = 0;
  std::string tag = "s9";
  int server_pid = 0;
  bool help = false;
};

template <class T>
bool parse_number(std::string_view text, T& out) {
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && p == text.data() + text.size();
}

bool parse_options(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      o.help = true;
      return false;
    }
    if (i + 1 >= argc) return false;
    const std::string_view v = argv[++i];
    bool ok = true;
    if (arg == "--port")
      ok = parse_number(v, o.port);
    else if (arg == "--updates")
      o.updates = v;
    else if (arg == "--type-subscription")
      o.type_subscription = v;
    else if (arg == "--attribute")
      o.attribute = v;
    else if (arg == "--never-q")
      ok = (o.never_q = v).find_first_of("\"\\") == std::string::npos;
    else if (arg == "--rate")
      ok = parse_number(v, o.rate) && o.rate >= 0;
    else if (arg == "--connections")
      ok = parse_number(v, o.connections) && o.connections > 0;
    else if (arg == "--warmup")
      ok = parse_number(v, o.warmup_s) && o.warmup_s >= 0;
    else if (arg == "--duration")
      ok = parse_number(v, o.duration_s) && o.duration_s > 0;
    else if (arg == "--drain")
      ok = parse_number(v, o.drain_s) && o.drain_s >= 0;
    else if (arg == "--create-connections")
      ok = parse_number(v, o.create_connections) && o.create_connections > 0;
    else if (arg == "--receiver-port")
      ok = parse_number(v, o.receiver_port);
    else if (arg == "--tag")
      o.tag = v;
    else if (arg == "--server-pid")
      ok = parse_number(v, o.server_pid);
    else
      ok = false;
    if (!ok) {
      std::fprintf(stderr, "tsunagu-notify-bench: bad option %s %s\n", argv[i - 1], argv[i]);
      return false;
    }
  }
  return o.port != 0 && !o.updates.empty();
}

struct Entity {
  std::string id, type;
  bool subscribe = false;
};

bool read_updates(const std::string& path, std::vector<Entity>& out, std::string& error) {
  std::ifstream f(path);
  if (!f) {
    error = "cannot read " + path;
    return false;
  }
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty()) continue;
    size_t a = line.find('\t'), b = line.find('\t', a + 1);
    if (a == std::string::npos) {
      error = path + ": a line without a type: " + line;
      return false;
    }
    Entity e;
    e.id = line.substr(0, a);
    e.type = line.substr(a + 1, b == std::string::npos ? std::string::npos : b - a - 1);
    e.subscribe = b != std::string::npos && line.substr(b + 1) == "1";
    out.push_back(std::move(e));
  }
  if (out.empty()) error = path + " lists no entity";
  return !out.empty();
}

std::string post(std::string_view path, std::string_view body) {
  std::string r = "POST ";
  r += path;
  r += " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ";
  r += std::to_string(body.size());
  r += "\r\n\r\n";
  r += body;
  return r;
}

// Closed loop over a fixed list of requests; counts the answers outside 2xx.
class ListSource final : public Source {
 public:
  explicit ListSource(std::vector<std::string> requests) : requests_(std::move(requests)) {}
  bool next(int64_t, std::string& out, uint64_t& id, int64_t& wake) override {
    if (next_ == requests_.size()) return false;
    id = next_;
    out = std::move(requests_[next_++]);
    wake = kNever;
    return true;
  }
  void answered(uint64_t, int status, std::string_view body, int64_t) override {
    if (status >= 200 && status < 300) return;
    if (refused_++ == 0)
      first_error_ = std::to_string(status) + " " + std::string(body.substr(0, 400));
  }
  bool finished(int64_t) const override { return next_ == requests_.size(); }
  uint64_t refused() const { return refused_; }
  const std::string& first_error() const { return first_error_; }

 private:
  std::vector<std::string> requests_;
  size_t next_ = 0;
  uint64_t refused_ = 0;
  std::string first_error_;
};

// The updates: open loop at `rate` (update i due at start + i / rate), or closed loop until
// `end` when the rate is 0.
class UpdateSource final : public Source {
 public:
  UpdateSource(const std::vector<Target>& targets, double rate, int64_t start, int64_t end)
      : targets_(targets), start_(start), end_(end), rate_(rate) {
    if (rate > 0) total_ = static_cast<uint64_t>(std::ceil(rate * (end - start) / 1e9));
    size_t expected = rate > 0 ? total_ : 1 << 20;
    log_.due_ns.reserve(expected);
    log_.sent_ns.reserve(expected);
    log_.acked_ns.reserve(expected);
    log_.status.reserve(expected);
  }
  bool next(int64_t now, std::string& out, uint64_t& id, int64_t& wake) override {
    const uint64_t seq = log_.size();
    int64_t due = now;
    if (rate_ > 0) {
      if (seq >= total_) return false;
      due = start_ + static_cast<int64_t>(static_cast<double>(seq) * 1e9 / rate_);
      if (due > now) {
        wake = due;
        return false;
      }
    } else if (now >= end_) {
      return false;
    }
    char body[48];
    int len =
        std::snprintf(body, sizeof body, "{\"value\":%llu}", static_cast<unsigned long long>(seq));
    out = "PATCH ";
    out += targets_[seq % targets_.size()].path;
    out += " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ";
    out += std::to_string(len);
    out += "\r\n\r\n";
    out.append(body, static_cast<size_t>(len));
    id = seq;
    log_.due_ns.push_back(due);
    log_.sent_ns.push_back(0);
    log_.acked_ns.push_back(0);
    log_.status.push_back(0);
    return true;
  }
  void sent(uint64_t id, int64_t now) override { log_.sent_ns[id] = now; }
  void answered(uint64_t id, int status, std::string_view body, int64_t now) override {
    log_.acked_ns[id] = now;
    log_.status[id] = static_cast<uint16_t>(status);
    if ((status < 200 || status >= 300) && first_error_.empty())
      first_error_ = std::to_string(status) + " " + std::string(body.substr(0, 400));
  }
  bool finished(int64_t now) const override {
    return rate_ > 0 ? log_.size() >= total_ : now >= end_;
  }
  const UpdateLog& log() const { return log_; }
  const std::string& first_error() const { return first_error_; }

 private:
  const std::vector<Target>& targets_;
  int64_t start_, end_;
  double rate_;
  uint64_t total_ = 0;
  UpdateLog log_;
  std::string first_error_;
};

// CPU seconds (user + system) from a /proc stat file (a process: all its threads); 0 when
// unknown. `name` gets the command name between the parentheses.
double stat_cpu_s(const std::string& path, std::string* name = nullptr) {
  std::ifstream f(path);
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  size_t open = text.find('('), paren = text.rfind(')');
  if (open == std::string::npos || paren == std::string::npos || paren < open) return 0;
  if (name != nullptr) *name = text.substr(open + 1, paren - open - 1);
  std::vector<std::string> fields;
  for (size_t pos = paren + 2; pos < text.size();) {
    size_t sp = text.find(' ', pos);
    fields.push_back(text.substr(pos, sp - pos));
    if (sp == std::string::npos) break;
    pos = sp + 1;
  }
  if (fields.size() < 13) return 0;
  return (std::stod(fields[11]) + std::stod(fields[12])) /
         static_cast<double>(sysconf(_SC_CLK_TCK));
}

double process_cpu_s(int pid) {
  return pid > 0 ? stat_cpu_s("/proc/" + std::to_string(pid) + "/stat") : 0;
}

// CPU seconds of each thread of `pid`: tid -> (name, seconds).
std::map<int, std::pair<std::string, double>> thread_cpu_s(int pid) {
  std::map<int, std::pair<std::string, double>> out;
  if (pid <= 0) return out;
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    int tid = 0;
    if (!parse_number(std::string_view(e->d_name), tid)) continue;
    std::string name;
    double cpu = stat_cpu_s(dir + "/" + e->d_name + "/stat", &name);
    out[tid] = {name, cpu};
  }
  closedir(d);
  return out;
}

double own_cpu_s() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

double ms(int64_t ns) {
  return static_cast<double>(ns) / 1e6;
}

int run(const Options& o) {
  std::string error;
  std::vector<Entity> entities;
  if (!read_updates(o.updates, entities, error)) {
    std::fprintf(stderr, "tsunagu-notify-bench: %s\n", error.c_str());
    return 1;
  }
  const std::string prefix = "urn:ngsi-ld:Subscription:" + o.tag + "-";
  Receiver receiver(o.attribute, prefix);
  if (!receiver.start(o.receiver_port, error)) {
    std::fprintf(stderr, "tsunagu-notify-bench: %s\n", error.c_str());
    return 1;
  }
  const std::string endpoint =
      "{\"endpoint\":{\"uri\":\"http://127.0.0.1:" + std::to_string(receiver.port()) +
      "/notify\",\"accept\":\"application/json\"}}";

  // Subscriptions: one per flagged entity (numbered in file order), then the per-type one.
  std::vector<Target> targets;
  std::unordered_map<std::string, int64_t> entity_subs;
  std::vector<std::string> creates;
  const std::string never_q = o.never_q.empty() ? "" : "\"q\":\"" + o.never_q + "\",";
  for (const Entity& e : entities) {
    Target t;
    t.path = "/ngsi-ld/v1/entities/" + e.id + "/attrs/" + o.attribute;
    if (e.subscribe) {
      auto [it, fresh] = entity_subs.try_emplace(e.id, static_cast<int64_t>(entity_subs.size()));
      if (fresh) {
        creates.push_back(post("/ngsi-ld/v1/subscriptions",
                               "{\"id\":\"" + prefix + std::to_string(it->second) +
                                   "\",\"type\":\"Subscription\",\"entities\":[{\"id\":\"" + e.id +
                                   "\",\"type\":\"" + e.type + "\"}]," + never_q +
                                   "\"notification\":" + endpoint + "}"));
      }
      if (o.never_q.empty()) t.entity_sub = it->second;
    }
    t.type_sub = !o.type_subscription.empty() && e.type == o.type_subscription;
    targets.push_back(std::move(t));
  }
  int64_t type_sub_index = -1;
  if (!o.type_subscription.empty()) {
    type_sub_index = static_cast<int64_t>(entity_subs.size());
    creates.push_back(post("/ngsi-ld/v1/subscriptions",
                           "{\"id\":\"" + prefix + std::to_string(type_sub_index) +
                               "\",\"type\":\"Subscription\",\"entities\":[{\"type\":\"" +
                               o.type_subscription + "\"}],\"notification\":" + endpoint + "}"));
  }
  const size_t subscriptions = creates.size();
  const int64_t c0 = now_ns();
  ListSource create(std::move(creates));
  if (!drive(o.port, o.create_connections, create, error)) {
    std::fprintf(stderr, "tsunagu-notify-bench: creating subscriptions: %s\n", error.c_str());
    return 1;
  }
  const double create_s = static_cast<double>(now_ns() - c0) / 1e9;
  if (create.refused() > 0) {
    std::fprintf(stderr, "tsunagu-notify-bench: %llu of %zu subscriptions refused, first: %s\n",
                 static_cast<unsigned long long>(create.refused()), subscriptions,
                 create.first_error().c_str());
    return 1;
  }

  // The updates, with the broker's and our CPU time read at the edges of the measured window.
  const int64_t start = now_ns() + 20'000'000;
  const int64_t window_start = start + static_cast<int64_t>(o.warmup_s * 1e9);
  const int64_t window_end = window_start + static_cast<int64_t>(o.duration_s * 1e9);
  UpdateSource updates(targets, o.rate, start, window_end);
  double cpu[2][2] = {};
  std::map<int, std::pair<std::string, double>> threads[2];
  std::thread sampler([&] {
    for (int i = 0; i < 2; ++i) {
      int64_t at = i == 0 ? window_start : window_end;
      std::this_thread::sleep_for(std::chrono::nanoseconds(std::max<int64_t>(at - now_ns(), 0)));
      cpu[i][0] = process_cpu_s(o.server_pid);
      cpu[i][1] = own_cpu_s();
      threads[i] = thread_cpu_s(o.server_pid);
    }
  });
  bool driven = drive(o.port, o.connections, updates, error);
  const int64_t sending_ended = now_ns();
  sampler.join();
  if (!driven) {
    std::fprintf(stderr, "tsunagu-notify-bench: updates: %s\n", error.c_str());
    return 1;
  }

  // Waits for the notifications still on their way: until all expected are in, none came for
  // 2 s, or --drain is up.
  uint64_t expected_now = 0;
  for (size_t seq = 0; seq < updates.log().size(); ++seq) {
    uint16_t st = updates.log().status[seq];
    if (st < 200 || st >= 300) continue;
    const Target& t = targets[seq % targets.size()];
    expected_now += (t.entity_sub >= 0 ? 1 : 0) + (t.type_sub ? 1 : 0);
  }
  const uint64_t received_at_end = receiver.received();
  uint64_t seen = received_at_end;
  int64_t progress_at = now_ns();
  while (receiver.received() < expected_now) {
    int64_t now = now_ns();
    if (now - sending_ended > static_cast<int64_t>(o.drain_s * 1e9)) break;
    if (receiver.received() != seen) {
      seen = receiver.received();
      progress_at = now;
    } else if (now - progress_at > 2'000'000'000) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  receiver.stop();

  Analysis a = analyse(targets, updates.log(), receiver.arrivals(), subscriptions, type_sub_index,
                       window_start, window_end);
  const double window_s = o.duration_s;
  const double rate = static_cast<double>(a.window_acked) / window_s;
  const double server_cpu = (cpu[1][0] - cpu[0][0]) / window_s;
  const double tool_cpu = (cpu[1][1] - cpu[0][1]) / window_s;
  const double delivered_pct =
      a.expected ? 100.0 * static_cast<double>(a.delivered) / static_cast<double>(a.expected) : 100;
  const int64_t drain_ns = std::max<int64_t>(a.last_arrival_ns - sending_ended, 0);
  const auto& lat = a.latency_ns;
  const size_t per_entity = entity_subs.size();

  std::printf("subscriptions: %zu per-entity%s, created in %.2f s (%.0f/s) over %d connections\n",
              per_entity, type_sub_index >= 0 ? " + 1 per-type" : "", create_s,
              static_cast<double>(subscriptions) / std::max(create_s, 1e-9), o.create_connections);
  std::printf(
      "updates: %llu sent (%s, %d connections), %.0f/s answered 2xx in the %.0f s window; "
      "%llu non-2xx%s%s\n",
      static_cast<unsigned long long>(a.updates),
      o.rate > 0 ? (std::to_string(static_cast<long long>(o.rate)) + "/s open loop").c_str()
                 : "closed loop",
      o.connections, rate, window_s, static_cast<unsigned long long>(a.bad_status),
      updates.first_error().empty() ? "" : ", first: ", updates.first_error().c_str());
  std::printf(
      "notifications: %llu of %llu delivered (%.3f %%), %llu duplicates, %llu misdirected, "
      "%llu unreadable, %llu out of order (%llu seq inversions); %.0f/s in the window, "
      "%llu still due when sending ended, last %.2f s after it\n",
      static_cast<unsigned long long>(a.delivered), static_cast<unsigned long long>(a.expected),
      delivered_pct, static_cast<unsigned long long>(a.duplicates),
      static_cast<unsigned long long>(a.misdirected), static_cast<unsigned long long>(a.unreadable),
      static_cast<unsigned long long>(a.out_of_order),
      static_cast<unsigned long long>(a.seq_inversions),
      static_cast<double>(a.window_notifications) / window_s,
      static_cast<unsigned long long>(expected_now - std::min(expected_now, received_at_end)),
      static_cast<double>(drain_ns) / 1e9);
  std::printf(
      "latency from %s to notification, %zu updates of the window: p50 %.3f ms, p95 %.3f, "
      "p99 %.3f, p99.9 %.3f, max %.3f\n",
      o.rate > 0 ? "scheduled send" : "send", lat.size(), ms(percentile(lat, 50)),
      ms(percentile(lat, 95)), ms(percentile(lat, 99)), ms(percentile(lat, 99.9)),
      ms(lat.empty() ? 0 : lat.back()));
  std::printf("sender lag behind schedule: p99 %.3f ms, max %.3f; receiver: %llu connections\n",
              ms(percentile(a.lag_ns, 99)), ms(a.lag_ns.empty() ? 0 : a.lag_ns.back()),
              static_cast<unsigned long long>(receiver.connections()));
  std::printf("CPU over the window: broker %.0f %%, this tool %.0f %%\n", 100 * server_cpu,
              100 * tool_cpu);
  // Where the broker's time went, thread by thread (unnamed ones show the process's name).
  for (const auto& [tid, after] : threads[1]) {
    auto before = threads[0].find(tid);
    double used = after.second - (before != threads[0].end() ? before->second.second : 0);
    if (used / window_s < 0.005) continue;
    std::printf("  broker thread %d %-16s %5.1f %%, %6.1f us per update\n", tid,
                after.first.c_str(), 100 * used / window_s,
                rate > 0 ? 1e6 * used / window_s / rate : 0);
  }
  std::printf(
      "TSUNAGU_NOTIFY rate=%.1f target_rate=%.1f connections=%d updates=%llu bad_status=%llu "
      "subscriptions=%zu per_entity=%zu per_type=%d create_s=%.3f expected=%llu delivered=%llu "
      "duplicates=%llu misdirected=%llu unreadable=%llu out_of_order=%llu seq_inversions=%llu "
      "notify_rate=%.1f p50_us=%.1f p95_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f "
      "lag_p99_us=%.1f lag_max_us=%.1f drain_s=%.3f receiver_connections=%llu server_cpu=%.4f "
      "tool_cpu=%.4f\n",
      rate, o.rate, o.connections, static_cast<unsigned long long>(a.updates),
      static_cast<unsigned long long>(a.bad_status), subscriptions, per_entity,
      type_sub_index >= 0 ? 1 : 0, create_s, static_cast<unsigned long long>(a.expected),
      static_cast<unsigned long long>(a.delivered), static_cast<unsigned long long>(a.duplicates),
      static_cast<unsigned long long>(a.misdirected), static_cast<unsigned long long>(a.unreadable),
      static_cast<unsigned long long>(a.out_of_order),
      static_cast<unsigned long long>(a.seq_inversions),
      static_cast<double>(a.window_notifications) / window_s, percentile(lat, 50) / 1e3,
      percentile(lat, 95) / 1e3, percentile(lat, 99) / 1e3, percentile(lat, 99.9) / 1e3,
      (lat.empty() ? 0 : lat.back()) / 1e3, percentile(a.lag_ns, 99) / 1e3,
      (a.lag_ns.empty() ? 0 : a.lag_ns.back()) / 1e3, static_cast<double>(drain_ns) / 1e9,
      static_cast<unsigned long long>(receiver.connections()), server_cpu, tool_cpu);
  return 0;
}

}  // namespace
}  // namespace tsunagu::notify_bench

int main(int argc, char** argv) {
  tsunagu::notify_bench::Options o;
  if (!tsunagu::notify_bench::parse_options(argc, argv, o)) {
    std::fputs(tsunagu::notify_bench::kUsage, o.help ? stdout : stderr);
    return o.help ? 0 : 2;
  }
  return tsunagu::notify_bench::run(o);
}
