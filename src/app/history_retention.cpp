#include "app/history_retention.hpp"

#include <charconv>
#include <future>

#include "common/log.hpp"
#include "common/params.hpp"
#include "common/time.hpp"

namespace tsunagu::app {

bool RetentionPolicy::any() const {
  // Tenants' settings may give a period at any time: the passes run whenever there are some.
  if (default_days > 0 || settings) return true;
  for (const auto& [_, days] : tenants) {
    if (days > 0) return true;
  }
  return false;
}

Result<std::map<std::string, int64_t>> parse_retention_tenants(const std::string& text) {
  std::map<std::string, int64_t> out;
  for (const std::string& item : split_list(text)) {
    size_t eq = item.rfind('=');
    int64_t days = -1;
    if (eq != std::string::npos && eq > 0) {
      auto [end, ec] = std::from_chars(item.data() + eq + 1, item.data() + item.size(), days);
      if (ec != std::errc() || end != item.data() + item.size()) days = -1;
    }
    if (days < 0 || days > 36500) {
      return Status::InvalidRequest("--history-retention-tenants: '" + item +
                                    "' is not TENANT=DAYS (0 to 36500 days)");
    }
    out[item.substr(0, eq)] = days;
  }
  return out;
}

HistoryRetention::HistoryRetention(engine::TemporalService& temporal, RetentionPolicy policy)
    : temporal_(temporal), policy_(std::move(policy)) {}

HistoryRetention::~HistoryRetention() {
  stop();
}

void HistoryRetention::start() {
  if (!policy_.any()) return;
  thread_ = std::thread([this] { run(); });
}

void HistoryRetention::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void HistoryRetention::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    pass();
    lock.lock();
    cv_.wait_for(lock, std::chrono::seconds(policy_.check_s), [this] { return stopping_; });
  }
}

void HistoryRetention::pass() {
  const int64_t now = now_us();
  constexpr int64_t kDay = 86'400'000'000;
  std::vector<std::pair<std::string, int64_t>> cutoffs;
  for (const std::string& tenant : temporal_.tenants()) {
    auto own = policy_.tenants.find(tenant);
    int64_t days = own != policy_.tenants.end() ? own->second : policy_.default_days;
    if (policy_.settings) days = policy_.settings(tenant).value_or(days);
    if (days > 0) cutoffs.emplace_back(tenant, now - days * kDay);
  }
  if (cutoffs.empty()) return;
  std::promise<Status> done;
  temporal_.trim(cutoffs, [&done](const Status& st) { done.set_value(st); });
  Status st = done.get_future().get();
  if (!st.ok()) {
    log::error("history_retention_failed", {{"detail", st.detail()}});
  } else {
    log::info("history_retention", {{"tenants", static_cast<int64_t>(cutoffs.size())}});
  }
}

}  // namespace tsunagu::app
