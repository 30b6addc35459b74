#include "auth/api_keys.hpp"

#include <algorithm>
#include <cstring>
#include <mutex>

#include "common/uri.hpp"
#include "engine/record_change.hpp"
#include "engine/writer.hpp"

namespace tsunagu::auth {
namespace {

constexpr std::string_view kWhat = "API key";
// Every record under the default tenant: the keys are the server's (see the header).
constexpr std::string_view kRecordTenant = "";

}  // namespace

uint64_t ApiKeyService::bucket_of(std::string_view hash) {
  uint64_t bucket = 0;
  std::memcpy(&bucket, hash.data(), std::min(hash.size(), sizeof bucket));
  return bucket;
}

void ApiKeyService::replace(const KeyPtr& previous, const KeyPtr& next) {
  // A key is found by its current secret's hash, and by the previous one during a grace period.
  auto hashes = [](const KeyPtr& key) {
    std::vector<uint64_t> out{bucket_of(key->secret_hash)};
    if (!key->previous_hash.empty() && bucket_of(key->previous_hash) != out[0])
      out.push_back(bucket_of(key->previous_hash));
    return out;
  };
  if (previous) {
    by_id_.erase(previous->id);
    for (uint64_t bucket : hashes(previous)) {
      auto it = by_hash_.find(bucket);
      if (it == by_hash_.end()) continue;
      std::erase(it->second, previous);
      if (it->second.empty()) by_hash_.erase(it);
    }
  }
  if (next) {
    by_id_[next->id] = next;
    for (uint64_t bucket : hashes(next))
      by_hash_[bucket].push_back(next);
  }
}

Status ApiKeyService::load(std::string_view, std::string_view, std::string_view doc) {
  auto key = decode_api_key(doc);
  if (!key.ok()) return key.status();
  auto def = std::make_shared<const ApiKey>(std::move(*key));
  std::unique_lock lock(mu_);
  decided_[engine::record_key(kRecordTenant, def->id)] = def;
  replace(nullptr, def);
  return Status::Ok();
}

void ApiKeyService::write(std::string id, Make make,
                          std::function<void(const Status&, const KeyPtr&)> done) {
  engine::RecordChange<ApiKey> c;
  c.kind = std::string(kRecordKind);
  c.tenant = std::string(kRecordTenant);
  c.id = std::move(id);
  c.create_tenant = true;  // the default tenant, stored with the first write to it
  c.make = std::move(make);
  c.encode = [](const ApiKey& key) { return encode_api_key(key); };
  auto published = std::make_shared<KeyPtr>();
  c.publish = [this, published](const KeyPtr& previous, const KeyPtr& next) {
    std::unique_lock lock(mu_);
    replace(previous, next);
    *published = next;
  };
  c.done = [published, done = std::move(done)](const Status& st) { done(st, *published); };
  engine::submit_record_change(*writer_, decided_, std::move(c));
}

void ApiKeyService::create(ApiKey key, IssuedDone done) {
  auto secret = new_secret();
  if (!secret.ok()) return done(secret.status());
  key.id = random_urn("urn:tsunagu:ApiKey:");
  key.created_at = now_us();
  key.last_rotated_at = kNoTime;
  key.secret_hash = secret_hash(*secret);
  std::string id = key.id;
  write(std::move(id),
        engine::creating(std::make_shared<ApiKey>(std::move(key)), std::string(kWhat)),
        [secret = std::move(*secret), done = std::move(done)](const Status& st, const KeyPtr& key) {
          if (!st.ok()) return done(st);
          done(Issued{key, secret});
        });
}

void ApiKeyService::rotate(std::string id, int64_t grace_us, IssuedDone done) {
  auto secret = new_secret();
  if (!secret.ok()) return done(secret.status());
  std::function<Status(ApiKey&)> change = [hash = secret_hash(*secret), grace_us](ApiKey& key) {
    const int64_t now = now_us();
    if (grace_us > 0) {
      key.previous_hash = key.secret_hash;
      key.previous_until = now + grace_us;
    } else {
      key.previous_hash.clear();
      key.previous_until = kNoTime;
    }
    key.secret_hash = hash;
    key.last_rotated_at = now;
    return Status::Ok();
  };
  auto make = engine::changing(id, std::move(change), std::string(kWhat));
  write(std::move(id), std::move(make),
        [secret = std::move(*secret), done = std::move(done)](const Status& st, const KeyPtr& key) {
          if (!st.ok()) return done(st);
          done(Issued{key, secret});
        });
}

void ApiKeyService::revoke(std::string id, Done done) {
  auto make = engine::removing<ApiKey>(id, std::string(kWhat));
  write(std::move(id), std::move(make),
        [done = std::move(done)](const Status& st, const KeyPtr&) { done(st); });
}

Result<ApiKeyService::KeyPtr> ApiKeyService::retrieve(std::string_view id) const {
  std::shared_lock lock(mu_);
  auto it = by_id_.find(std::string(id));
  if (it == by_id_.end())
    return Status::NotFound(std::string(kWhat) + " '" + std::string(id) + "' does not exist");
  return it->second;
}

std::vector<ApiKeyService::KeyPtr> ApiKeyService::list() const {
  std::vector<std::pair<std::pair<int64_t, std::string>, KeyPtr>> found;
  {
    std::shared_lock lock(mu_);
    for (const auto& [id, key] : by_id_)
      found.push_back({{key->created_at, id}, key});
  }
  return engine::in_creation_order(std::move(found));
}

size_t ApiKeyService::count() const {
  std::shared_lock lock(mu_);
  return by_id_.size();
}

Result<ApiKeyService::KeyPtr> ApiKeyService::authenticate(std::string_view secret,
                                                          int64_t now) const {
  const std::string hash = secret_hash(secret);
  KeyPtr found;
  {
    std::shared_lock lock(mu_);
    auto it = by_hash_.find(bucket_of(hash));
    if (it != by_hash_.end()) {
      for (const KeyPtr& key : it->second) {
        if (same_hash(key->secret_hash, hash) ||
            (!key->previous_hash.empty() && now < key->previous_until &&
             same_hash(key->previous_hash, hash))) {
          found = key;
        }
      }
    }
  }
  if (!found) {
    return Status(ErrorKind::kUnauthorized,
                  "the API key is not valid: unknown, revoked or replaced by a rotation");
  }
  if (found->expires_at != kNoTime && found->expires_at <= now) {
    return Status(ErrorKind::kUnauthorized,
                  "the API key expired at " + format_datetime(found->expires_at));
  }
  return found;
}

}  // namespace tsunagu::auth
