// History retention (issue 17): a thread that, every --history-retention-check-s, has the
// temporal service forget the instances older than each tenant's retention period
// (--history-retention-days for all, --history-retention-tenants for some). docs/temporal.md,
// "Retention".
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/status.hpp"
#include "engine/temporal.hpp"

namespace tsunagu::app {

struct RetentionPolicy {
  int64_t default_days = 0;                // 0: keep everything
  std::map<std::string, int64_t> tenants;  // a tenant's own period (0: keep everything)
  // A tenant's period from its settings (docs/security.md, "Tenants"), before both of the
  // above; nullopt: they decide. Null: no settings.
  std::function<std::optional<int64_t>(std::string_view tenant)> settings;
  int64_t check_s = 3600;
  bool any() const;
};

// "cityA=365,cityB=30": BadRequest-free parse of --history-retention-tenants; InvalidRequest
// naming the item at fault.
Result<std::map<std::string, int64_t>> parse_retention_tenants(const std::string& text);

class HistoryRetention {
 public:
  HistoryRetention(engine::TemporalService& temporal, RetentionPolicy policy);
  ~HistoryRetention();  // stop()s
  void start();
  // Waits for a pass in progress, then ends the thread.
  void stop();

 private:
  void run();
  void pass();

  engine::TemporalService& temporal_;
  RetentionPolicy policy_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace tsunagu::app
