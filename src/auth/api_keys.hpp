// The server's API keys: kept in memory, found by the hash of the secret a request presents,
// and stored as records of kind "api_key" through the writer (durable before the admin API
// answers, like a registration; engine/record_change.hpp). The keys belong to the server, not
// to a tenant, so every record is filed under the default tenant; the tenant a key grants is
// in its document. Thread-safe: authenticate(), retrieve() and list() from any thread; changes
// are decided and published on the committing thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/api_key.hpp"
#include "common/status.hpp"

namespace tsunagu::engine {
class Writer;
}  // namespace tsunagu::engine

namespace tsunagu::auth {

class ApiKeyService {
 public:
  using KeyPtr = std::shared_ptr<const ApiKey>;
  static constexpr std::string_view kRecordKind = "api_key";

  // A key with the secret that opens it, as create() and rotate() answer: the only time the
  // secret exists outside the caller's hands.
  struct Issued {
    KeyPtr key;
    std::string secret;
  };
  using IssuedDone = std::function<void(Result<Issued>)>;
  using Done = std::function<void(const Status&)>;

  // A stored key, at start (before attach). InternalError when the document is damaged.
  Status load(std::string_view tenant, std::string_view record_key, std::string_view doc);
  void attach(engine::Writer& writer) { writer_ = &writer; }

  // Stores `key` (its name, description, tenant, access and expiry) with a new id, createdAt
  // and secret; `done` gets them once durable. Runs `done` on the committing thread.
  void create(ApiKey key, IssuedDone done);
  // Replaces the secret of key `id` with a new one and sets lastRotatedAt. Once `done` is
  // called the old secret opens nothing, or, with `grace_us` > 0, nothing after that long (a
  // grace period ending any earlier one). ResourceNotFound naming the id.
  void rotate(std::string id, int64_t grace_us, IssuedDone done);
  // Forgets key `id`: its secret opens nothing once `done` is called. ResourceNotFound.
  void revoke(std::string id, Done done);

  // ResourceNotFound naming the id.
  Result<KeyPtr> retrieve(std::string_view id) const;
  // Every key, expired ones too (the administrator revokes them), in creation order.
  std::vector<KeyPtr> list() const;
  size_t count() const;

  // The key a request's secret opens at `now` (µs). Unauthorized when no key has that secret
  // (never had, revoked, or rotated away) or the key has expired; the detail says which of the
  // two, never anything about other keys.
  Result<KeyPtr> authenticate(std::string_view secret, int64_t now) const;

 private:
  using Make = std::function<Result<std::shared_ptr<ApiKey>>(const ApiKey* current)>;
  // Stores what `make` returns (null: deletes) as the record of `id`; `done` gets what was
  // published.
  void write(std::string id, Make make, std::function<void(const Status&, const KeyPtr&)> done);
  // Needs mu_ held exclusively. `previous` (may be null) leaves the indexes, `next` (may be
  // null) enters them.
  void replace(const KeyPtr& previous, const KeyPtr& next);
  static uint64_t bucket_of(std::string_view hash);

  engine::Writer* writer_ = nullptr;
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, KeyPtr> by_id_;
  // By the first 8 bytes of the secret's hash; the whole hash is then compared in constant
  // time, so the lookup's timing tells nothing about how close a guess came.
  std::unordered_map<uint64_t, std::vector<KeyPtr>> by_hash_;
  // What the committing thread decided, published or not (engine/record_change.hpp).
  std::unordered_map<std::string, std::shared_ptr<const ApiKey>> decided_;
};

}  // namespace tsunagu::auth
