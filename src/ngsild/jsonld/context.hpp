// JSON-LD @context handling for NGSI-LD (ETSI GS CIM 009 §5.5.7, §6.3.5): an active Context maps
// short terms to IRIs (expansion, on input) and IRIs back to terms (compaction, on output). The
// ContextCache turns a Link header or an "@context" member into a shared, immutable Context,
// loading remote documents through a DocumentLoader, keeping documents in the broker's @context
// storage (context_store.hpp, §5.13) and caching the contexts built from them.
//
// NGSI-LD member names (type, value, object, observedAt, ...) are fixed by the protected core
// context, so they are interpreted directly and never looked up here; only attribute names, entity
// types and vocab values go through a Context. Compound values are not expanded (docs/jsonld.md).
#pragma once

#include <chrono>
#include <future>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/atom.hpp"
#include "common/json.hpp"
#include "common/status.hpp"
#include "ngsild/jsonld/context_store.hpp"

namespace tsunagu::ngsild::jsonld {

// Fetches a remote @context document. Implementations must honour the timeout and return
// LdContextNotAvailable (with the reason) when the document cannot be obtained.
class DocumentLoader {
 public:
  virtual ~DocumentLoader() = default;
  virtual Result<std::string> load(const std::string& url, int timeout_ms) = 0;
};

enum class Coercion : unsigned char { kNone, kId, kVocab, kJson, kOther };

// A term's definition holds its IRI as text: building a context interns nothing, so a request
// that names a large @context does not grow the atom table, which is never freed
// (docs/jsonld.md, "Atoms are made by writes").
struct TermDefinition {
  std::string iri;
  Atom atom;  // the IRI's atom when it already existed as the context was built, else empty
  Coercion type = Coercion::kNone;
  bool prefix = false;  // may be used as the prefix of a compact IRI
};

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>()(s); }
};
template <class V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

// An active context. Immutable once built; shared between threads.
class Context {
 public:
  // Expands a term used as an attribute name or type: a defined term, a compact IRI
  // ("prefix:suffix"), an absolute IRI (kept), or a vocab-relative name. Interns the IRI: for
  // writes, whose names are stored.
  Atom expand(std::string_view term) const;
  // The atom `term` expands to if that IRI has an atom, else the empty atom, which no stored
  // name equals. Never creates an atom: for reads (queries, projections, discovery), so that a
  // name nobody stored costs nothing that stays.
  Atom lookup(std::string_view term) const;
  // The IRI `term` expands to, as text; interns nothing.
  std::string iri(std::string_view term) const;
  // Compacts an expanded IRI to the best term, vocab-relative name or compact IRI.
  // The returned view stays valid while this Context and `scratch` live.
  std::string_view compact(Atom iri, std::string& scratch) const;
  // The same for an IRI given as text (a VocabProperty value), which may have no atom. The
  // view may also point into `iri`.
  std::string_view compact_iri(std::string_view iri, std::string& scratch) const;
  std::string compact(Atom iri) const {
    std::string s;
    std::string_view v = compact(iri, s);
    return std::string(v);
  }

  // The type coercion declared for the term that expands to `iri`, if any.
  Coercion coercion(Atom iri) const;

  // For application/json responses: the URL for the Link header.
  const std::string& link_url() const { return link_url_; }
  // For application/ld+json responses: JSON text of the "@context" member.
  const std::string& body_json() const { return body_json_; }
  bool is_core() const { return is_core_; }
  // Tells contexts apart in caches (never reused, unlike addresses).
  uint64_t id() const { return id_; }
  // An estimate of the memory this context holds, for the cache's budget.
  size_t bytes() const { return bytes_; }

 private:
  friend class ContextCache;
  friend class ContextBuilder;

  // expand() or lookup(): the atom of `term`'s IRI as `make` (Atom::intern or Atom::find) gives
  // it, through the thread's memory of recent terms.
  Atom atom_of(std::string_view term, Atom (*make)(std::string_view)) const;
  // The IRI of a term that is not defined (a compact IRI, an absolute IRI, a vocab-relative
  // name). Views `term` itself when it is kept as it is; else builds it in `out`.
  std::string_view undefined_iri(std::string_view term, std::string& out) const;
  // The preferred term for an IRI, or null.
  const std::string* term_for(Atom iri) const;
  // compact() for IRIs that no term defines.
  std::string_view compact_undefined(std::string_view text, std::string& scratch) const;
  // The estimate bytes() returns, computed once built.
  size_t measure() const;

  const uint64_t id_ = next_id();
  static uint64_t next_id();

  StringMap<TermDefinition> terms_;
  // IRI -> preferred term, in two parts. By atom: the IRIs that had one when the context was
  // built. By text: the others (`pending_`), whose atoms, if a write makes them later, have ids
  // from `atoms_at_build_` on; so an atom below that needs no look at `pending_`.
  std::unordered_map<Atom, std::string> reverse_;
  StringMap<std::string> pending_;
  uint32_t atoms_at_build_ = 0;
  std::vector<std::pair<std::string, std::string>> prefixes_;  // (IRI, term) usable as prefix
  std::string vocab_;
  std::string link_url_;
  std::string body_json_;
  bool is_core_ = false;
  size_t bytes_ = 0;
};

using ContextPtr = std::shared_ptr<const Context>;

// Resolves contexts, keeping documents in a ContextStore and built contexts by their JSON text;
// counts each use of a stored document. Thread-safe. Remote loads and the hosted storage's I/O
// happen outside the lock.
class ContextCache {
 public:
  struct Options {
    int timeout_ms = 5000;  // per remote document
    size_t max_document_bytes = 4 << 20;
    // Downloaded documents kept, by ContextStore::cost(); built contexts kept, by
    // Context::bytes() and their key. Least recently used first out (--context-cache-mb).
    size_t document_cache_bytes = 32 << 20;
    size_t context_cache_bytes = 32 << 20;
    int max_depth = 16;          // nested remote references
    int failure_ttl_ms = 10000;  // a failed load is answered from memory this long
  };
  // Remembered load failures at most (each a URL and a message).
  static constexpr size_t kMaxFailures = 1024;

  // Without `hosted`, hosted @contexts live in memory only.
  ContextCache(std::shared_ptr<DocumentLoader> loader, Options options,
               std::shared_ptr<HostedContextStorage> hosted = nullptr);
  ~ContextCache();

  // The built-in core context (default when a request brings none).
  const ContextPtr& core() const { return core_; }

  // The context named by a Link header URL.
  Result<ContextPtr> from_url(std::string_view url);
  // The context given by an "@context" member (string, object or array).
  Result<ContextPtr> from_json(const JsonValue& value);

  // True when resolving `url` / `value` may need a remote fetch (so the caller can move the
  // request off an event loop first).
  bool may_fetch_url(std::string_view url) const;
  bool may_fetch(const JsonValue& value) const;

  // Cached document URLs (not the core context), oldest first, for operations and tests.
  std::vector<std::string> cached_urls() const;

  // What the two caches hold, for /metrics and tests.
  struct Usage {
    size_t documents = 0;  // downloaded documents (preloaded and hosted ones not counted)
    size_t document_bytes = 0;
    size_t contexts = 0;  // built contexts
    size_t context_bytes = 0;
    size_t failures = 0;  // load failures remembered
  };
  Usage usage() const;

  // The @context storage (ETSI GS CIM 009 §5.13), for start-up and the @context API
  // (context_store.cpp).

  // Reads the hosted documents back from the storage. InternalError naming the document when one
  // cannot be read or is not a JSON-LD context document.
  Status load_hosted();
  // Keeps `text` as the Cached document for `url` whatever the cache's size, so that `url` needs
  // no network (--context-dir). BadRequestData when `url` is not an absolute URL or is a
  // core-context URL, or `text` is not a JSON-LD context document.
  Status preload(const std::string& url, const std::string& text);
  // §5.13.2 Add @context: `body` must be a JSON object with an "@context" member
  // (InvalidRequest) that is a valid context (BadRequestData). Its remote references are checked
  // for form only; they are loaded when the context is first used. Saved to the hosted storage
  // before it is stored (InternalError when that fails): call off the event loops.
  Result<StoredContextPtr> add_hosted(const JsonValue& body);
  // §5.13.3: every entry, the core context first.
  std::vector<StoredContextPtr> stored() const;
  // §5.13.4: the entry a contextId names (a local id, or the URL of a Cached @context);
  // ResourceNotFound when there is none.
  Result<StoredContextPtr> stored(std::string_view id) const;
  // §5.13.5 Delete @context. Without `reload`: removes the entry (a Hosted one from the storage
  // too); the core context cannot be (BadRequestData). With `reload`: downloads a Cached one
  // again and replaces it, keeping the old copy when that fails (LdContextNotAvailable); a
  // Hosted one, or an id that is neither stored nor a URL, has nothing to download from
  // (BadRequestData); the built-in core context stays as it is. ResourceNotFound for an unknown
  // id. May block (storage I/O, download): call off the event loops.
  Status remove(std::string_view id, bool reload);

 private:
  // A built context, with the stored documents it was built from (each use counts for them).
  struct Built {
    ContextPtr ctx;
    std::vector<StoredContextPtr> uses;
    std::list<std::string>::iterator order;
    size_t bytes = 0;
  };

  Result<ContextPtr> build(const std::string& key, const JsonValue& value);
  Result<StoredContextPtr> document(const std::string& url);
  Result<std::string> fetch(const std::string& url);
  void remember(const std::string& key, ContextPtr ctx, std::vector<StoredContextPtr> uses);
  // Drops the built contexts that used `doc`, so that the next use resolves it again. Holds mu_.
  void forget_users(const StoredContext* doc);
  void forget_users(const std::vector<StoredContextPtr>& docs);
  void drop_context(std::unordered_map<std::string, Built>::iterator it);
  // Remembers that loading `url` failed with `st`. Holds mu_.
  void remember_failure(const std::string& url, const Status& st);
  Status reload_cached(const StoredContextPtr& entry);

  std::shared_ptr<DocumentLoader> loader_;
  Options options_;
  std::shared_ptr<HostedContextStorage> hosted_storage_;
  ContextPtr core_;

  mutable std::mutex mu_;
  ContextStore store_;
  // Loads in progress: concurrent requests for one URL share a single fetch.
  std::unordered_map<std::string, std::shared_future<Result<StoredContextPtr>>> loading_;
  // Recent failures, so a dead or hanging server costs one timeout, not one per request.
  std::unordered_map<std::string, std::pair<std::chrono::steady_clock::time_point, Status>>
      failures_;
  std::unordered_map<std::string, Built> contexts_;
  std::list<std::string> context_order_;  // least recently used at the front
  size_t context_bytes_ = 0;

  friend class ContextBuilder;
};

// True when `term` is an absolute IRI (scheme ":" ...), as opposed to a term or a compact IRI
// with a defined prefix.
bool looks_like_absolute_iri(std::string_view text);

// Checks the "@context" member `value` without loading anything: term definitions, and that
// each reference is an absolute URL or names a hosted @context. BadRequestData on a fault.
Status check_context(const JsonValue& value, int max_depth);

}  // namespace tsunagu::ngsild::jsonld

namespace tsunagu::ngsild {

// True when `name` may be used as an attribute or type name (ETSI GS CIM 009 §4.6.2: no
// whitespace, control characters or <>"'=;()\ characters, not empty, not a JSON-LD keyword).
// Compaction writes no other term; the payload and query parsers refuse any other name.
bool valid_name(std::string_view name);

}  // namespace tsunagu::ngsild
