// The broker's @context storage (ETSI GS CIM 009 §5.13): the documents it holds for a URL
// (kind Cached: downloaded, preloaded by the operator, or the built-in core context) and the ones
// clients added (kind Hosted, served under kHostedContextPath), each with its local id, when it
// was stored and how often it was used. The ContextCache resolves @contexts through it and owns
// it; the @context API (§6.29, §6.30) lists, serves and deletes its entries through the cache.
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.hpp"
#include "common/time.hpp"

namespace tsunagu::ngsild::jsonld {

// Where hosted @contexts are served (§6.30): the local id follows.
inline constexpr std::string_view kHostedContextPath = "/ngsi-ld/v1/jsonldContexts/";

// §5.13.3: ImplicitlyCreated @contexts come with subscriptions, which Tsunagu does not have yet.
enum class ContextKind : unsigned char { kCached, kHosted };
std::string_view context_kind_name(ContextKind kind);

// How a document came to be stored. The built-in core context's uses are not counted.
enum class ContextOrigin : unsigned char { kBuiltIn, kPreloaded, kDownloaded, kAdded };

// One stored @context document. Immutable but for its usage counters, which the contexts built
// from it bump on each use; shared with them, so it may outlive its place in the store.
struct StoredContext {
  std::string url;  // Cached: the URL it answers for; Hosted: empty (kHostedContextPath + local_id)
  std::string local_id;
  ContextKind kind = ContextKind::kCached;
  ContextOrigin origin = ContextOrigin::kDownloaded;
  std::string text;  // the document: a JSON object with an "@context" member
  int64_t created_us = 0;
  mutable std::atomic<int64_t> hits{0};
  mutable std::atomic<int64_t> last_used_us{kNoTime};

  // Counts one use at `now_us`.
  void used(int64_t now) const {
    hits.fetch_add(1, std::memory_order_relaxed);
    last_used_us.store(now, std::memory_order_relaxed);
  }
};
using StoredContextPtr = std::shared_ptr<const StoredContext>;

// The local id in `url` when it names a hosted @context: "/ngsi-ld/v1/jsonldContexts/{id}", as a
// path or on any http(s) host. Whether this broker holds that id is the store's to say.
std::optional<std::string_view> hosted_context_id(std::string_view url);

// A new local id: 32 random hex digits, so ids of deleted entries are never handed out again.
std::string new_context_id();

// Keeps hosted documents across restarts. Implementations write durably before returning and
// report InternalError when they cannot; they are called off the event loops.
class HostedContextStorage {
 public:
  struct Document {
    std::string local_id;
    std::string text;
    int64_t created_us = 0;
  };
  virtual ~HostedContextStorage() = default;
  virtual Result<std::vector<Document>> load() = 0;
  virtual Status save(const Document& doc) = 0;
  virtual Status erase(const std::string& local_id) = 0;
};

// The entries themselves. Not thread-safe: the ContextCache holds it under its lock.
class ContextStore {
 public:
  // `max_cached_bytes`: what downloaded documents may cost in all (cost()); the least recently
  // used goes first, and a document costing more than all of it is not kept. Preloaded and
  // hosted documents and the core context are the operator's: kept whatever they cost, and not
  // counted. `core_text` is the built-in core document, which answers for `core_url` (and the
  // other published core URLs).
  ContextStore(size_t max_cached_bytes, std::string core_url, std::string_view core_text);

  // What keeping a downloaded document costs: its text, its URL, and its bookkeeping.
  static size_t cost(std::string_view url, std::string_view text) {
    return url.size() + text.size() + kEntryOverhead;
  }
  // Bytes and number of the downloaded documents kept (the ones that may be evicted).
  size_t cached_bytes() const { return cached_bytes_; }
  size_t cached_count() const { return evictable_.size(); }

  const StoredContextPtr& core() const { return core_; }

  // A Cached document by the URL it answers for (not the core context: it never needs one).
  StoredContextPtr cached(std::string_view url) const;
  // A Hosted document by local id.
  StoredContextPtr hosted(std::string_view local_id) const;
  // What an @context API path names: a local id, the URL of a Cached document (any published
  // core URL names the core context), or the URL of a hosted one. Null when nothing matches.
  StoredContextPtr find(std::string_view id_or_url) const;

  // Stores `text` as the Cached document for `url`, replacing one there (whose local id it
  // keeps, and whose pinning). `pinned` documents are never evicted. An unpinned document that
  // costs more than the whole budget is returned but not kept (and the one it replaces goes).
  // The documents that leave are added to `evicted`, so that what was built from them can go too.
  StoredContextPtr put_cached(const std::string& url, std::string text, ContextOrigin origin,
                              bool pinned, std::vector<StoredContextPtr>* evicted = nullptr);
  // Marks a downloaded document as just used, so it is evicted last.
  void touch(const StoredContext& entry);
  // True when `entry` is the document stored under its name (or the core context).
  bool holds(const StoredContextPtr& entry) const;
  StoredContextPtr put_hosted(std::string local_id, std::string text, int64_t created_us);
  // Removes `entry` if it is still the one stored under its name; false when it is not.
  bool erase(const StoredContextPtr& entry);

  // Every entry, the core context first, then in the order they were stored.
  std::vector<StoredContextPtr> list() const;
  // URLs of the Cached documents other than the core context, oldest first.
  std::vector<std::string> cached_urls() const;

 private:
  static constexpr size_t kEntryOverhead = 256;
  struct Slot {
    StoredContextPtr entry;
    uint64_t seq = 0;  // storing order, for list()
    bool pinned = false;
    std::list<std::string>::iterator order;  // in evictable_, unless pinned
  };
  // Removes the unpinned slot `it` (keeping cached_bytes_) and reports its entry.
  void drop(std::unordered_map<std::string, Slot>::iterator it,
            std::vector<StoredContextPtr>* evicted);
  void evict(std::vector<StoredContextPtr>* evicted);

  size_t max_cached_bytes_;
  size_t cached_bytes_ = 0;
  StoredContextPtr core_;
  uint64_t next_seq_ = 1;
  std::unordered_map<std::string, Slot> cached_;            // by URL
  std::unordered_map<std::string, std::string> cached_id_;  // local id -> URL
  std::unordered_map<std::string, Slot> hosted_;            // by local id
  std::list<std::string> evictable_;  // unpinned cached URLs, least recently used first
};

}  // namespace tsunagu::ngsild::jsonld
