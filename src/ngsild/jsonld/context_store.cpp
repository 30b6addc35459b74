// The entries of the @context storage and the rules for naming them (§5.13.4, §5.13.5: a
// contextId is a local id, or for a Cached @context also its original URL), and the operations
// the ContextCache offers on them: start-up loading, preloading, add, list, serve, delete.
#include "ngsild/jsonld/context_store.hpp"

#include <algorithm>
#include <random>

#include "common/json.hpp"
#include "ngsild/jsonld/context.hpp"
#include "ngsild/jsonld/core_context.hpp"

namespace tsunagu::ngsild::jsonld {
namespace {

// The core context's local id: short, and never one new_context_id() makes.
constexpr std::string_view kCoreLocalId = "core";

}  // namespace

std::string_view context_kind_name(ContextKind kind) {
  return kind == ContextKind::kHosted ? "Hosted" : "Cached";
}

std::optional<std::string_view> hosted_context_id(std::string_view url) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (url.substr(0, scheme.size()) == scheme) {
      size_t path = url.find('/', scheme.size());
      if (path == std::string_view::npos) return std::nullopt;
      url.remove_prefix(path);
      break;
    }
  }
  if (url.substr(0, kHostedContextPath.size()) != kHostedContextPath) return std::nullopt;
  url.remove_prefix(kHostedContextPath.size());
  if (url.empty() || url.find_first_of("/?#") != std::string_view::npos) return std::nullopt;
  return url;
}

std::string new_context_id() {
  thread_local std::mt19937_64 rng{std::random_device{}() ^
                                   (static_cast<uint64_t>(std::random_device{}()) << 32)};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (int half = 0; half < 2; ++half) {
    uint64_t bits = rng();
    for (int i = 0; i < 16; ++i, bits >>= 4)
      id.push_back(kHex[bits & 15]);
  }
  return id;
}

ContextStore::ContextStore(size_t max_cached_bytes, std::string core_url,
                           std::string_view core_text)
    : max_cached_bytes_(max_cached_bytes) {
  auto core = std::make_shared<StoredContext>();
  core->url = std::move(core_url);
  core->local_id = std::string(kCoreLocalId);
  core->origin = ContextOrigin::kBuiltIn;
  core->text = std::string(core_text);
  core->created_us = now_us();
  core_ = std::move(core);
}

StoredContextPtr ContextStore::cached(std::string_view url) const {
  auto it = cached_.find(std::string(url));
  return it == cached_.end() ? nullptr : it->second.entry;
}

StoredContextPtr ContextStore::hosted(std::string_view local_id) const {
  auto it = hosted_.find(std::string(local_id));
  return it == hosted_.end() ? nullptr : it->second.entry;
}

StoredContextPtr ContextStore::find(std::string_view id) const {
  if (id == kCoreLocalId || is_core_context_url(id)) return core_;
  if (auto h = hosted(id)) return h;
  auto by_id = cached_id_.find(std::string(id));
  if (by_id != cached_id_.end()) return cached(by_id->second);
  if (auto c = cached(id)) return c;
  if (auto local = hosted_context_id(id)) return hosted(*local);
  return nullptr;
}

StoredContextPtr ContextStore::put_cached(const std::string& url, std::string text,
                                          ContextOrigin origin, bool pinned,
                                          std::vector<StoredContextPtr>* evicted) {
  auto entry = std::make_shared<StoredContext>();
  entry->url = url;
  entry->origin = origin;
  entry->text = std::move(text);
  entry->created_us = now_us();
  auto old = cached_.find(url);
  if (old != cached_.end()) {
    entry->local_id = old->second.entry->local_id;
    if (old->second.pinned) pinned = true;  // a reloaded preload stays as kept as it was
  } else {
    entry->local_id = new_context_id();
  }
  size_t bytes = cost(url, entry->text);
  if (!pinned && bytes > max_cached_bytes_) {
    // Kept, it would push every other document out and still be over the budget: the request
    // that loaded it uses it, and the next one loads it again (docs/decisions.md).
    if (old != cached_.end()) drop(old, evicted);
    return entry;
  }
  if (old != cached_.end()) {
    if (!old->second.pinned) {
      evictable_.erase(old->second.order);
      cached_bytes_ -= cost(url, old->second.entry->text);
    }
  } else {
    cached_id_[entry->local_id] = url;
  }
  Slot& slot = cached_[url];
  slot = Slot{entry, next_seq_++, pinned, {}};
  if (!pinned) {
    slot.order = evictable_.insert(evictable_.end(), url);
    cached_bytes_ += bytes;
    evict(evicted);
  }
  return entry;
}

void ContextStore::touch(const StoredContext& entry) {
  if (entry.kind != ContextKind::kCached) return;
  auto it = cached_.find(entry.url);
  if (it == cached_.end() || it->second.entry.get() != &entry || it->second.pinned) return;
  evictable_.splice(evictable_.end(), evictable_, it->second.order);
}

bool ContextStore::holds(const StoredContextPtr& entry) const {
  if (entry == core_) return true;
  const auto& slots = entry->kind == ContextKind::kHosted ? hosted_ : cached_;
  auto it = slots.find(entry->kind == ContextKind::kHosted ? entry->local_id : entry->url);
  return it != slots.end() && it->second.entry == entry;
}

StoredContextPtr ContextStore::put_hosted(std::string local_id, std::string text,
                                          int64_t created_us) {
  auto entry = std::make_shared<StoredContext>();
  entry->local_id = std::move(local_id);
  entry->kind = ContextKind::kHosted;
  entry->origin = ContextOrigin::kAdded;
  entry->text = std::move(text);
  entry->created_us = created_us;
  hosted_[entry->local_id] = Slot{entry, next_seq_++, true, {}};
  return entry;
}

bool ContextStore::erase(const StoredContextPtr& entry) {
  if (entry->kind == ContextKind::kHosted) {
    auto it = hosted_.find(entry->local_id);
    if (it == hosted_.end() || it->second.entry != entry) return false;
    hosted_.erase(it);
    return true;
  }
  auto it = cached_.find(entry->url);
  if (it == cached_.end() || it->second.entry != entry) return false;
  if (it->second.pinned) {
    cached_id_.erase(entry->local_id);
    cached_.erase(it);
  } else {
    drop(it, nullptr);
  }
  return true;
}

void ContextStore::drop(std::unordered_map<std::string, Slot>::iterator it,
                        std::vector<StoredContextPtr>* evicted) {
  const StoredContextPtr& entry = it->second.entry;
  cached_bytes_ -= cost(entry->url, entry->text);
  evictable_.erase(it->second.order);
  cached_id_.erase(entry->local_id);
  if (evicted != nullptr) evicted->push_back(entry);
  cached_.erase(it);
}

void ContextStore::evict(std::vector<StoredContextPtr>* evicted) {
  while (cached_bytes_ > max_cached_bytes_ && !evictable_.empty())
    drop(cached_.find(evictable_.front()), evicted);
}

std::vector<StoredContextPtr> ContextStore::list() const {
  std::vector<const Slot*> slots;
  for (const auto& [url, slot] : cached_)
    slots.push_back(&slot);
  for (const auto& [id, slot] : hosted_)
    slots.push_back(&slot);
  std::sort(slots.begin(), slots.end(),
            [](const Slot* a, const Slot* b) { return a->seq < b->seq; });
  std::vector<StoredContextPtr> out{core_};
  for (const Slot* s : slots)
    out.push_back(s->entry);
  return out;
}

std::vector<std::string> ContextStore::cached_urls() const {
  std::vector<std::string> out;
  for (const auto& entry : list()) {
    if (entry != core_ && entry->kind == ContextKind::kCached) out.push_back(entry->url);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The ContextCache's side of the storage: what the @context API and start-up ask of it.

namespace {

// A JSON-LD context document: a JSON object with an "@context" member (InvalidRequest, the form
// §5.13.2 takes) holding a valid context (BadRequestData).
Status check_document(const JsonValue& doc, int max_depth) {
  if (!doc.IsObject() || !doc.HasMember("@context")) {
    return Status::InvalidRequest(
        std::string("an @context document is a JSON object with an @context member, not ") +
        (doc.IsObject() ? "an object without one" : std::string("a JSON ") + json_type_name(doc)));
  }
  return check_context(doc["@context"], max_depth);
}

Status check_document_text(const std::string& text, int max_depth) {
  JsonDoc doc;
  TSUNAGU_RETURN_IF_ERROR(parse_json(text, doc));
  return check_document(doc, max_depth);
}

}  // namespace

Status ContextCache::load_hosted() {
  if (!hosted_storage_) return Status::Ok();
  auto docs = hosted_storage_->load();
  if (!docs.ok()) return docs.status();
  std::lock_guard lock(mu_);
  for (auto& d : *docs) {
    Status st = check_document_text(d.text, options_.max_depth);
    if (!st.ok()) {
      return Status::Internal("hosted @context '" + d.local_id + "' is unreadable: " + st.detail());
    }
    store_.put_hosted(std::move(d.local_id), std::move(d.text), d.created_us);
  }
  return Status::Ok();
}

Status ContextCache::preload(const std::string& url, const std::string& text) {
  if (!looks_like_absolute_iri(url)) {
    return Status::BadRequestData("'" + url + "' is not an absolute URL");
  }
  if (is_core_context_url(url)) {
    return Status::BadRequestData("'" + url +
                                  "' is a core-context URL: the core context is built in");
  }
  Status st = check_document_text(text, options_.max_depth);
  if (!st.ok()) return Status::BadRequestData("the document for '" + url + "': " + st.detail());
  std::lock_guard lock(mu_);
  auto entry = store_.put_cached(url, text, ContextOrigin::kPreloaded, true);
  forget_users(entry.get());
  failures_.erase(url);
  return Status::Ok();
}

Result<StoredContextPtr> ContextCache::add_hosted(const JsonValue& body) {
  TSUNAGU_RETURN_IF_ERROR(check_document(body, options_.max_depth));
  HostedContextStorage::Document doc{new_context_id(), json_text(body), now_us()};
  if (hosted_storage_) TSUNAGU_RETURN_IF_ERROR(hosted_storage_->save(doc));
  std::lock_guard lock(mu_);
  return store_.put_hosted(std::move(doc.local_id), std::move(doc.text), doc.created_us);
}

std::vector<StoredContextPtr> ContextCache::stored() const {
  std::lock_guard lock(mu_);
  return store_.list();
}

Result<StoredContextPtr> ContextCache::stored(std::string_view id) const {
  std::lock_guard lock(mu_);
  auto entry = store_.find(id);
  if (!entry) return Status::NotFound("no @context '" + std::string(id) + "' is stored");
  return entry;
}

Status ContextCache::remove(std::string_view id, bool reload) {
  StoredContextPtr entry;
  {
    std::lock_guard lock(mu_);
    entry = store_.find(id);
  }
  if (!entry) {
    if (reload && !looks_like_absolute_iri(id)) {
      return Status::BadRequestData(
          "reload: '" + std::string(id) +
          "' is neither a stored @context nor a URL to download one from");
    }
    return Status::NotFound("no @context '" + std::string(id) + "' is stored");
  }
  if (entry == store_.core()) {
    // The built-in copy is the published document, which ETSI does not change once published:
    // downloading it again would give the same text (docs/jsonld.md).
    if (reload) return Status::Ok();
    return Status::BadRequestData(
        "the core @context cannot be deleted (§5.13.5); with reload=true it is kept as built in");
  }
  if (reload) {
    if (entry->kind != ContextKind::kCached) {
      return Status::BadRequestData("reload: '" + std::string(id) + "' is a " +
                                    std::string(context_kind_name(entry->kind)) +
                                    " @context, with no URL to download it from");
    }
    return reload_cached(entry);
  }
  if (entry->kind == ContextKind::kHosted && hosted_storage_) {
    TSUNAGU_RETURN_IF_ERROR(hosted_storage_->erase(entry->local_id));
  }
  std::lock_guard lock(mu_);
  if (store_.erase(entry)) forget_users(entry.get());
  return Status::Ok();
}

Status ContextCache::reload_cached(const StoredContextPtr& entry) {
  auto text = fetch(entry->url);
  if (!text.ok()) {
    return Status(text.status().kind(),
                  "reload: " + text.status().detail() + "; the stored copy is kept");
  }
  std::lock_guard lock(mu_);
  std::vector<StoredContextPtr> evicted;
  store_.put_cached(entry->url, std::move(*text), ContextOrigin::kDownloaded, false, &evicted);
  forget_users(entry.get());
  forget_users(evicted);
  failures_.erase(entry->url);
  return Status::Ok();
}

}  // namespace tsunagu::ngsild::jsonld
