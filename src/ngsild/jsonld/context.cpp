// Context building (a practical subset of the JSON-LD 1.1 context processing algorithm: term
// definitions as strings or objects with @id/@type/@container, @vocab, compact IRIs, nested and
// remote contexts) and the two caches. Scoped contexts, @import and @base are accepted and
// ignored: NGSI-LD payloads do not depend on them for attribute names (docs/jsonld.md).
#include "ngsild/jsonld/context.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <optional>

#include "common/json_writer.hpp"
#include "common/time.hpp"
#include "ngsild/jsonld/core_context.hpp"

namespace tsunagu::ngsild::jsonld {
namespace {

constexpr std::string_view kDefaultVocab = "https://uri.etsi.org/ngsi-ld/default-context/";

bool is_gen_delim(char c) {
  return c == ':' || c == '/' || c == '?' || c == '#' || c == '[' || c == ']' || c == '@';
}

std::string_view sv(const JsonValue& v) {
  return {v.GetString(), v.GetStringLength()};
}

// RFC 3986 §5.2: resolves `ref` against the absolute URL `base` (no query/fragment handling
// beyond what context URLs need).
std::string resolve_reference(const std::string& base, const std::string& ref) {
  size_t scheme_end = base.find("://");
  if (scheme_end == std::string::npos) return ref;
  size_t authority_end = base.find('/', scheme_end + 3);
  std::string origin = base.substr(0, authority_end);
  if (ref.rfind("//", 0) == 0) return base.substr(0, scheme_end + 1) + ref;
  std::string path;
  if (!ref.empty() && ref[0] == '/') {
    path = ref;
  } else {
    std::string dir = authority_end == std::string::npos ? "/" : base.substr(authority_end);
    dir = dir.substr(0, dir.find_first_of("?#"));
    dir = dir.substr(0, dir.rfind('/') + 1);
    path = dir + ref;
  }
  // Remove dot segments.
  std::vector<std::string> out;
  size_t pos = 1;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    std::string seg = path.substr(pos, slash - pos);
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
      if (slash == path.size()) out.emplace_back();
    } else if (seg == ".") {
      if (slash == path.size()) out.emplace_back();
    } else {
      out.push_back(seg);
    }
    pos = slash + 1;
  }
  std::string joined;
  for (const auto& seg : out)
    joined += "/" + seg;
  return origin + (joined.empty() ? "/" : joined);
}

// What the allocator hands out for a request of `n` bytes: glibc adds an 8-byte header and
// rounds to 16.
size_t allocated(size_t n) {
  return (n + 8 + 15) & ~size_t{15};
}

// Heap bytes of a string beyond the object itself (libstdc++ keeps up to 15 characters inline).
size_t heap_bytes(const std::string& s) {
  return s.capacity() > 15 ? allocated(s.capacity() + 1) : 0;
}

}  // namespace

bool looks_like_absolute_iri(std::string_view s) {
  size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  if (!std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  for (size_t i = 1; i < colon; ++i) {
    char c = s[i];
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
      return false;
    }
  }
  return true;
}

bool is_core_context_url(std::string_view url) {
  // The documents ETSI publishes (GS CIM 009 annex B): the unversioned name, which follows the
  // latest release, and one per release from 1.3 on. A made-up name in the same folder is an
  // unknown document like any other (§6.3.5: LdContextNotAvailable when it cannot be loaded).
  constexpr std::string_view kSchemes[] = {"https://", "http://"};
  constexpr std::string_view kFolder = "uri.etsi.org/ngsi-ld/v1/";
  constexpr std::string_view kNames[] = {
      "ngsi-ld-core-context.jsonld",      "ngsi-ld-core-context-v1.3.jsonld",
      "ngsi-ld-core-context-v1.4.jsonld", "ngsi-ld-core-context-v1.5.jsonld",
      "ngsi-ld-core-context-v1.6.jsonld", "ngsi-ld-core-context-v1.7.jsonld",
      "ngsi-ld-core-context-v1.8.jsonld", "ngsi-ld-core-context-v1.9.jsonld"};
  for (auto scheme : kSchemes) {
    if (url.substr(0, scheme.size()) != scheme) continue;
    url.remove_prefix(scheme.size());
    if (url.substr(0, kFolder.size()) != kFolder) return false;
    url.remove_prefix(kFolder.size());
    for (auto name : kNames) {
      if (url == name) return true;
    }
    return false;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Context lookups

uint64_t Context::next_id() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

namespace {

// Each thread remembers the atoms of the terms it expanded or looked up with the last few
// contexts it used, defined or not: a request's attributes, and the next request's, mostly
// repeat names, and one lookup in the thread's map replaces a lookup in the definitions
// followed, for a compact IRI or a vocab-relative name, by building its IRI and finding or
// interning it (hashing and comparing the whole IRI). Only atoms are remembered, never "no
// atom": a write may make one at any time, and atoms are never freed.
StringMap<Atom>& recent_terms(uint64_t context) {
  struct Cached {
    uint64_t context = 0;
    StringMap<Atom> atoms;
  };
  constexpr size_t kContexts = 4;
  thread_local std::array<Cached, kContexts> cache;
  thread_local size_t victim = 0;
  for (auto& e : cache) {
    if (e.context == context) return e.atoms;
  }
  Cached& c = cache[victim];
  victim = (victim + 1) % kContexts;
  c.context = context;
  c.atoms.clear();
  return c.atoms;
}

}  // namespace

Atom Context::atom_of(std::string_view term, Atom (*make)(std::string_view)) const {
  StringMap<Atom>& recent = recent_terms(id_);
  auto hit = recent.find(term);
  if (hit != recent.end()) return hit->second;
  Atom a;
  auto it = terms_.find(term);
  if (it != terms_.end()) {
    a = it->second.atom.empty() ? make(it->second.iri) : it->second.atom;
  } else {
    std::string built;
    a = make(undefined_iri(term, built));
  }
  constexpr size_t kTermsPerContext = 1024;
  if (!a.empty() && recent.size() < kTermsPerContext) recent.emplace(term, a);
  return a;
}

Atom Context::expand(std::string_view term) const {
  return atom_of(term, &Atom::intern);
}

Atom Context::lookup(std::string_view term) const {
  return atom_of(term, &Atom::find);
}

std::string Context::iri(std::string_view term) const {
  auto it = terms_.find(term);
  if (it != terms_.end()) return it->second.iri;
  std::string built;
  std::string_view v = undefined_iri(term, built);
  return v.data() == built.data() ? std::move(built) : std::string(v);
}

std::string_view Context::undefined_iri(std::string_view term, std::string& out) const {
  size_t colon = term.find(':');
  if (colon != std::string_view::npos) {
    std::string_view prefix = term.substr(0, colon);
    std::string_view suffix = term.substr(colon + 1);
    if (suffix.substr(0, 2) != "//") {
      auto p = terms_.find(prefix);
      if (p != terms_.end() && p->second.prefix) {
        out = p->second.iri;
        out.append(suffix);
        return out;
      }
    }
    if (looks_like_absolute_iri(term)) return term;
  }
  out = vocab_;
  out.append(term);
  return out;
}

const std::string* Context::term_for(Atom iri) const {
  auto it = reverse_.find(iri);
  if (it != reverse_.end()) return &it->second;
  // An atom made after the context was built may be the IRI of a term that had none then.
  if (!pending_.empty() && iri.id() >= atoms_at_build_) {
    auto p = pending_.find(iri.str());
    if (p != pending_.end()) return &p->second;
  }
  return nullptr;
}

std::string_view Context::compact(Atom iri, std::string& scratch) const {
  if (const std::string* term = term_for(iri)) return *term;
  return compact_undefined(iri.str(), scratch);
}

std::string_view Context::compact_iri(std::string_view iri, std::string& scratch) const {
  Atom a = Atom::find(iri);
  if (!a.empty()) return compact(a, scratch);
  // No atom: the IRI cannot be in reverse_, whose IRIs all have one.
  auto p = pending_.find(iri);
  if (p != pending_.end()) return p->second;
  return compact_undefined(iri, scratch);
}

std::string_view Context::compact_undefined(std::string_view text, std::string& scratch) const {
  if (!vocab_.empty() && text.size() > vocab_.size() && text.substr(0, vocab_.size()) == vocab_) {
    std::string_view rest = text.substr(vocab_.size());
    // Vocab-relative only when reading it back gives the same IRI.
    if (rest.find(':') == std::string_view::npos && terms_.find(rest) == terms_.end()) {
      return rest;
    }
  }
  // The compact IRI with the longest prefix that reads back as this IRI: not one that a term
  // of its own name would take (JSON-LD 1.1 §6.3, IRI compaction), nor one whose suffix starts
  // with "//" (read as an absolute IRI).
  const std::pair<std::string, std::string>* best = nullptr;
  for (const auto& p : prefixes_) {
    if (text.size() <= p.first.size() || text.substr(0, p.first.size()) != p.first) continue;
    if (best != nullptr && p.first.size() <= best->first.size()) continue;
    const std::string_view suffix = text.substr(p.first.size());
    if (suffix.substr(0, 2) == "//") continue;
    scratch = p.second;
    scratch.push_back(':');
    scratch.append(suffix);
    if (terms_.find(scratch) == terms_.end()) best = &p;
  }
  if (best != nullptr) {
    scratch = best->second;
    scratch.push_back(':');
    scratch.append(text.substr(best->first.size()));
    return scratch;
  }
  return text;
}

Coercion Context::coercion(Atom iri) const {
  const std::string* term = term_for(iri);
  if (term == nullptr) return Coercion::kNone;
  auto t = terms_.find(*term);
  return t == terms_.end() ? Coercion::kNone : t->second.type;
}

size_t Context::measure() const {
  // Per map entry: the node (next pointer, key, value, cached hash) and a bucket pointer (up to
  // two: bucket counts are primes above the entry count); plus what the strings hold.
  auto node = [](size_t pair) { return allocated(8 + pair + 8) + 16; };
  size_t n = sizeof(Context) + heap_bytes(vocab_) + heap_bytes(link_url_) + heap_bytes(body_json_);
  for (const auto& [term, def] : terms_)
    n += node(sizeof(term) + sizeof(def)) + heap_bytes(term) + heap_bytes(def.iri);
  for (const auto& [atom, term] : reverse_)
    n += node(sizeof(atom) + sizeof(term)) + heap_bytes(term);
  for (const auto& [iri, term] : pending_)
    n += node(sizeof(iri) + sizeof(term)) + heap_bytes(iri) + heap_bytes(term);
  for (const auto& [iri, term] : prefixes_)
    n += sizeof(iri) + sizeof(term) + heap_bytes(iri) + heap_bytes(term);
  return n;
}

// ---------------------------------------------------------------------------------------------
// Building

// Applies context definitions, in order, onto a Context under construction.
class ContextBuilder {
 public:
  // With `follow_urls` false, references are checked for form and not loaded.
  ContextBuilder(ContextCache* cache, int max_depth, bool follow_urls = true)
      : cache_(cache), max_depth_(max_depth), follow_urls_(follow_urls) {}

  // Remote documents one context may name, nested ones included.
  static constexpr int kMaxDocuments = 32;

  Status apply(const JsonValue& v, int depth) {
    if (depth > max_depth_) {
      return Status::BadRequestData("invalid @context: more than " + std::to_string(max_depth_) +
                                    " levels of nested contexts");
    }
    if (v.IsNull()) {  // a null context resets to the initial (empty) context
      defs_.clear();
      vocab_.clear();
      return Status::Ok();
    }
    if (v.IsString()) return apply_url(std::string(sv(v)), depth);
    if (v.IsArray()) {
      for (const auto& e : v.GetArray())
        TSUNAGU_RETURN_IF_ERROR(apply(e, depth));
      return Status::Ok();
    }
    if (v.IsObject()) return apply_object(v, depth);
    return Status::BadRequestData(std::string("invalid @context: a context must be a URL, an "
                                              "object or an array, not a ") +
                                  json_type_name(v));
  }

  void apply_core() { apply_core_ = true; }

  // The stored documents the context was built from, each once.
  std::vector<StoredContextPtr> take_used() {
    std::sort(used_.begin(), used_.end());
    used_.erase(std::unique(used_.begin(), used_.end()), used_.end());
    return std::move(used_);
  }

  // `intern`: make atoms of the definitions' IRIs (the built-in core context only: a fixed set,
  // once). Other contexts intern nothing; a write interns the names it stores.
  Result<ContextPtr> finish(std::string link_url, std::string body_json, bool is_core,
                            bool intern = false) {
    auto ctx = std::make_shared<Context>();
    if (apply_core_) {
      // The core context is protected and always processed last (§5.5.7): it wins every clash.
      for (auto& [term, def] : core_defs())
        defs_[term] = def;
      vocab_ = std::string(kDefaultVocab);
    }
    ctx->vocab_ = vocab_;
    // Read before looking atoms up: an IRI whose atom is not found gets one from here on.
    ctx->atoms_at_build_ = Atom::count();
    for (auto& [term, raw] : defs_) {
      std::string iri = resolve(term, raw, 0);
      if (iri.empty() || iri[0] == '@') {
        if (iri == "@id" || iri == "@type") continue;  // keyword aliases (id, type)
        if (iri.empty()) continue;
      }
      TermDefinition def;
      def.atom = intern ? Atom::intern(iri) : Atom::find(iri);
      def.type = raw.type;
      // JSON-LD 1.1: a simple term whose IRI ends in a gen-delim is a prefix, unless @prefix says.
      def.prefix = raw.prefix.value_or(raw.simple && is_gen_delim(iri.back()));
      def.iri = std::move(iri);
      ctx->terms_.emplace(term, std::move(def));
    }
    // Reverse map: for each IRI the shortest term, ties broken by the lexicographically least
    // (JSON-LD 1.1 §6.2 term selection, without container/type ranking). Only terms that are
    // valid names: a response must not name an attribute or type in a way no request may
    // (§4.6.2); without one, the IRI is compacted otherwise or written in full.
    auto prefer = [](std::string& cur, const std::string& term) {
      if (term.size() < cur.size() || (term.size() == cur.size() && term < cur)) cur = term;
    };
    for (const auto& [term, def] : ctx->terms_) {
      if (!valid_name(term)) continue;
      if (!def.atom.empty()) {
        auto [it, inserted] = ctx->reverse_.emplace(def.atom, term);
        if (!inserted) prefer(it->second, term);
      } else {
        auto [it, inserted] = ctx->pending_.emplace(def.iri, term);
        if (!inserted) prefer(it->second, term);
      }
      if (def.prefix) ctx->prefixes_.emplace_back(def.iri, term);
    }
    std::sort(ctx->prefixes_.begin(), ctx->prefixes_.end());
    ctx->link_url_ = std::move(link_url);
    ctx->body_json_ = std::move(body_json);
    ctx->is_core_ = is_core;
    ctx->bytes_ = ctx->measure();
    return ContextPtr(std::move(ctx));
  }

 private:
  struct RawDef {
    std::string id;  // as written (may be a compact IRI, a term, or empty for "use the term")
    Coercion type = Coercion::kNone;
    bool simple = true;  // defined as a plain string
    bool has_id = false;
    std::optional<bool> prefix;  // an explicit @prefix
  };

  static const std::unordered_map<std::string, RawDef>& core_defs();

  Status apply_url(const std::string& given, int depth) {
    // A relative reference inside a remote context resolves against that document's URL.
    std::string url = given;
    if (!looks_like_absolute_iri(given) && !stack_.empty()) {
      url = resolve_reference(stack_.back(), given);
    }
    if (is_core_context_url(url)) {
      apply_core_ = true;
      return Status::Ok();
    }
    // A relative reference in a request resolves against the request's URL, on this broker,
    // whose only @context documents are its hosted ones (§6.30): "/ngsi-ld/v1/jsonldContexts/x".
    if (!looks_like_absolute_iri(url) && !hosted_context_id(url)) {
      return Status::BadRequestData("invalid @context: '" + url + "' is not an absolute URL");
    }
    if (!follow_urls_) return Status::Ok();
    if (cache_ == nullptr) {
      return Status(ErrorKind::kLdContextNotAvailable, "remote @context '" + url + "' not allowed");
    }
    // A context may name a few documents; one that names a thousand would have the server fetch
    // a thousand for one request (issue 14).
    if (++documents_ > kMaxDocuments) {
      return Status::BadRequestData("invalid @context: it names more than " +
                                    std::to_string(kMaxDocuments) + " remote documents");
    }
    auto doc = cache_->document(url);
    if (!doc.ok()) return doc.status();
    // A hosted document has one name whatever host or form the reference used.
    const StoredContext& stored = **doc;
    std::string key = stored.kind == ContextKind::kHosted
                          ? std::string(kHostedContextPath) + stored.local_id
                          : url;
    for (const auto& seen : stack_) {
      if (seen == key) {
        return Status::BadRequestData("invalid @context: '" + url + "' includes itself");
      }
    }
    used_.push_back(*doc);
    JsonDoc parsed;
    Status st = parse_json(stored.text, parsed);
    if (!st.ok()) {
      return Status::BadRequestData("invalid @context: the document at '" + url +
                                    "' is not JSON (" + st.detail() + ")");
    }
    if (!parsed.IsObject() || !parsed.HasMember("@context")) {
      return Status::BadRequestData("invalid @context: the document at '" + url +
                                    "' has no @context member");
    }
    stack_.push_back(key);
    st = apply(parsed["@context"], depth + 1);
    stack_.pop_back();
    return st;
  }

  Status apply_object(const JsonValue& obj, int depth) {
    for (const auto& m : obj.GetObject()) {
      std::string key(sv(m.name));
      const JsonValue& v = m.value;
      if (key == "@vocab") {
        if (v.IsNull())
          vocab_.clear();
        else if (v.IsString())
          vocab_ = resolve_vocab(std::string(sv(v)));
        else
          return Status::BadRequestData("invalid @context: @vocab must be a string or null");
        continue;
      }
      if (key == "@import") {
        if (!v.IsString()) return Status::BadRequestData("invalid @context: @import must be a URL");
        TSUNAGU_RETURN_IF_ERROR(apply_url(std::string(sv(v)), depth + 1));
        continue;
      }
      if (!key.empty() && key[0] == '@') continue;  // @version, @protected, @base, @language, ...
      if (key.empty()) return Status::BadRequestData("invalid @context: empty term");
      if (v.IsNull()) {
        defs_.erase(key);
        continue;
      }
      RawDef def;
      if (v.IsString()) {
        def.id = std::string(sv(v));
        def.has_id = true;
      } else if (v.IsObject()) {
        def.simple = false;
        auto id = v.FindMember("@id");
        if (id != v.MemberEnd()) {
          if (id->value.IsNull()) {
            defs_.erase(key);
            continue;
          }
          if (!id->value.IsString()) {
            return Status::BadRequestData("invalid @context: @id of term '" + key +
                                          "' must be a string");
          }
          def.id = std::string(sv(id->value));
          def.has_id = true;
        }
        auto type = v.FindMember("@type");
        if (type != v.MemberEnd() && type->value.IsString()) {
          std::string_view t = sv(type->value);
          def.type = t == "@id"      ? Coercion::kId
                     : t == "@vocab" ? Coercion::kVocab
                     : t == "@json"  ? Coercion::kJson
                                     : Coercion::kOther;
        }
        auto prefix = v.FindMember("@prefix");
        if (prefix != v.MemberEnd() && prefix->value.IsBool()) def.prefix = prefix->value.GetBool();
      } else {
        return Status::BadRequestData("invalid @context: the definition of term '" + key +
                                      "' must be a string, an object or null");
      }
      defs_[key] = std::move(def);
    }
    return Status::Ok();
  }

  std::string resolve_vocab(const std::string& v) {
    size_t colon = v.find(':');
    if (colon != std::string::npos) {
      auto p = defs_.find(v.substr(0, colon));
      if (p != defs_.end()) return resolve(p->first, p->second, 0) + v.substr(colon + 1);
    }
    return v;
  }

  // Expands the IRI of one term definition, following prefixes and term references.
  std::string resolve(const std::string& term, const RawDef& def, int depth) {
    if (depth > 16) return {};
    const std::string& id = def.has_id ? def.id : term;
    if (!id.empty() && id[0] == '@') return id;
    return expand_value(id, depth, def.has_id ? nullptr : &term);
  }

  std::string expand_value(const std::string& value, int depth, const std::string* self) {
    // A value that is a defined term stands for that term's IRI, also when it holds a colon
    // (JSON-LD 1.1 IRI expansion: terms before compact and absolute IRIs); otherwise a
    // response could write the IRI in a form that reads back as the term's.
    if (self == nullptr || value != *self) {
      auto t = defs_.find(value);
      if (t != defs_.end()) return resolve(t->first, t->second, depth + 1);
    }
    size_t colon = value.find(':');
    if (colon != std::string::npos) {
      std::string prefix = value.substr(0, colon);
      std::string suffix = value.substr(colon + 1);
      if (suffix.rfind("//", 0) != 0) {
        auto p = defs_.find(prefix);
        if (p != defs_.end() && (self == nullptr || p->first != *self)) {
          std::string base = resolve(p->first, p->second, depth + 1);
          if (!base.empty() && base[0] != '@') return base + suffix;
        }
      }
      return value;
    }
    return vocab_.empty() ? std::string(kDefaultVocab) + value : vocab_ + value;
  }

  ContextCache* cache_;
  int max_depth_;
  bool follow_urls_;
  int documents_ = 0;  // remote documents named so far
  bool apply_core_ = false;
  std::vector<StoredContextPtr> used_;
  std::unordered_map<std::string, RawDef> defs_;
  std::string vocab_;
  std::vector<std::string> stack_;

 public:
  // Exposed for building the core definitions once.
  static std::unordered_map<std::string, RawDef> load_core_defs() {
    JsonDoc doc;
    Status st = parse_json(core_context_text(), doc);
    (void)st;
    ContextBuilder b(nullptr, 1);
    (void)b.apply_object(doc["@context"], 0);
    for (auto& [term, def] : b.defs_) {
      // Store resolved IRIs so later contexts cannot re-point the core's prefixes.
      std::string iri = b.resolve(term, def, 0);
      def.id = iri;
      def.has_id = true;
    }
    return std::move(b.defs_);
  }
};

const std::unordered_map<std::string, ContextBuilder::RawDef>& ContextBuilder::core_defs() {
  static const auto* defs = new std::unordered_map<std::string, RawDef>(load_core_defs());
  return *defs;
}

Status check_context(const JsonValue& value, int max_depth) {
  ContextBuilder b(nullptr, max_depth, false);
  return b.apply(value, 0);
}

// ---------------------------------------------------------------------------------------------
// Cache

ContextCache::ContextCache(std::shared_ptr<DocumentLoader> loader, Options options,
                           std::shared_ptr<HostedContextStorage> hosted)
    : loader_(std::move(loader)),
      options_(options),
      hosted_storage_(std::move(hosted)),
      store_(options.document_cache_bytes, std::string(kCoreContextUrl), core_context_text()) {
  ContextBuilder b(nullptr, 1);
  b.apply_core();
  std::string body;
  JsonWriter::escape_into(kCoreContextUrl, body);
  core_ = *b.finish(std::string(kCoreContextUrl), body, true, /*intern=*/true);
}

ContextCache::~ContextCache() = default;

Result<std::string> ContextCache::fetch(const std::string& url) {
  if (!loader_) {
    return Status(ErrorKind::kLdContextNotAvailable,
                  "cannot load @context '" + url + "': remote contexts are disabled");
  }
  auto text = loader_->load(url, options_.timeout_ms);
  if (!text.ok()) return text.status();
  if (text->size() > options_.max_document_bytes) {
    return Status(ErrorKind::kLdContextNotAvailable,
                  "@context '" + url + "' is larger than " +
                      std::to_string(options_.max_document_bytes) + " bytes");
  }
  return text;
}

Result<StoredContextPtr> ContextCache::document(const std::string& url) {
  using Loaded = Result<StoredContextPtr>;
  std::promise<Loaded> promise;
  {
    std::unique_lock lock(mu_);
    if (auto id = hosted_context_id(url)) {
      if (auto hosted = store_.hosted(*id)) return hosted;
      // A path names this broker: there is nowhere else to look.
      if (!looks_like_absolute_iri(url)) {
        return Status(ErrorKind::kLdContextNotAvailable,
                      "no hosted @context '" + std::string(*id) + "' on this broker");
      }
    }
    if (auto cached = store_.cached(url)) {
      store_.touch(*cached);
      return cached;
    }
    auto failed = failures_.find(url);
    if (failed != failures_.end()) {
      if (std::chrono::steady_clock::now() < failed->second.first) return failed->second.second;
      failures_.erase(failed);
    }
    auto pending = loading_.find(url);
    if (pending != loading_.end()) {
      auto shared = pending->second;
      lock.unlock();
      return shared.get();
    }
    loading_.emplace(url, promise.get_future().share());
  }
  auto text = fetch(url);
  Loaded result = StoredContextPtr();
  {
    std::lock_guard lock(mu_);
    loading_.erase(url);
    if (text.ok()) {
      auto present = store_.cached(url);  // preloaded or reloaded meanwhile
      std::vector<StoredContextPtr> evicted;
      result = present ? present
                       : store_.put_cached(url, std::move(*text), ContextOrigin::kDownloaded, false,
                                           &evicted);
      forget_users(evicted);
    } else {
      result = text.status();
      remember_failure(url, text.status());
    }
  }
  promise.set_value(result);
  return result;
}

namespace {

// One use of a context counts for every stored document it was built from (§5.13.3.5).
void count_uses(const std::vector<StoredContextPtr>& uses) {
  if (uses.empty()) return;
  int64_t now = now_us();
  for (const auto& doc : uses)
    doc->used(now);
}

}  // namespace

void ContextCache::remember_failure(const std::string& url, const Status& st) {
  auto now = std::chrono::steady_clock::now();
  // Requests naming ever new URLs that fail must not grow the map without end: past its bound,
  // expired failures go, then any.
  if (failures_.size() >= kMaxFailures) {
    std::erase_if(failures_, [now](const auto& f) { return f.second.first <= now; });
    while (failures_.size() >= kMaxFailures)
      failures_.erase(failures_.begin());
  }
  failures_[url] = {now + std::chrono::milliseconds(options_.failure_ttl_ms), st};
}

void ContextCache::remember(const std::string& key, ContextPtr ctx,
                            std::vector<StoredContextPtr> uses) {
  count_uses(uses);
  std::lock_guard lock(mu_);
  if (contexts_.count(key) != 0) return;
  // A context built from a document the store did not keep (larger than its budget, or evicted
  // meanwhile) is not kept either: it would keep that document alive outside the budget.
  for (const auto& doc : uses) {
    if (!store_.holds(doc)) return;
  }
  size_t bytes = ctx->bytes() + 2 * key.size() + 128;  // the key in the map and in the order
  if (bytes > options_.context_cache_bytes) return;
  context_order_.push_back(key);
  contexts_.emplace(key,
                    Built{std::move(ctx), std::move(uses), std::prev(context_order_.end()), bytes});
  context_bytes_ += bytes;
  while (context_bytes_ > options_.context_cache_bytes)
    drop_context(contexts_.find(context_order_.front()));
}

void ContextCache::drop_context(std::unordered_map<std::string, Built>::iterator it) {
  context_bytes_ -= it->second.bytes;
  context_order_.erase(it->second.order);
  contexts_.erase(it);
}

void ContextCache::forget_users(const StoredContext* doc) {
  for (auto it = contexts_.begin(); it != contexts_.end();) {
    const auto& uses = it->second.uses;
    bool used = std::any_of(uses.begin(), uses.end(),
                            [doc](const StoredContextPtr& u) { return u.get() == doc; });
    if (used)
      drop_context(it++);
    else
      ++it;
  }
}

void ContextCache::forget_users(const std::vector<StoredContextPtr>& docs) {
  for (const auto& doc : docs)
    forget_users(doc.get());
}

Result<ContextPtr> ContextCache::build(const std::string& key, const JsonValue& value) {
  {
    std::lock_guard lock(mu_);
    auto it = contexts_.find(key);
    if (it != contexts_.end()) {
      context_order_.splice(context_order_.end(), context_order_, it->second.order);
      for (const auto& doc : it->second.uses)
        store_.touch(*doc);  // its documents are in use too
      count_uses(it->second.uses);
      return it->second.ctx;
    }
  }
  ContextBuilder b(this, options_.max_depth);
  TSUNAGU_RETURN_IF_ERROR(b.apply(value, 0));
  b.apply_core();
  // Link header: a single URL can be advertised as is, also when it is the one item of an array
  // beside the core context's URL; inline contexts have no URL.
  std::string link;
  if (value.IsString()) {
    link = std::string(value.GetString(), value.GetStringLength());
  } else if (value.IsArray()) {
    for (const auto& item : value.GetArray()) {
      if (!item.IsString()) {
        link.clear();
        break;
      }
      std::string_view url(item.GetString(), item.GetStringLength());
      if (is_core_context_url(url)) continue;
      if (!link.empty()) {
        link.clear();
        break;
      }
      link = std::string(url);
    }
  }
  bool is_core = value.IsString() && is_core_context_url(link);
  if (is_core) return core_;
  // Body "@context": the request's context as it was given (the core context applies whether
  // or not it is named, §5.5.7, so it is not added).
  std::string body;
  append_json_text(value, body);
  auto ctx = b.finish(link, body, false);
  if (!ctx.ok()) return ctx;
  remember(key, *ctx, b.take_used());
  return ctx;
}

Result<ContextPtr> ContextCache::from_url(std::string_view url) {
  if (is_core_context_url(url)) return core_;
  JsonDoc doc;
  doc.SetString(url.data(), static_cast<rapidjson::SizeType>(url.size()), doc.GetAllocator());
  return from_json(doc);
}

Result<ContextPtr> ContextCache::from_json(const JsonValue& value) {
  if (value.IsString() && is_core_context_url({value.GetString(), value.GetStringLength()})) {
    return core_;
  }
  return build(json_text(value), value);
}

bool ContextCache::may_fetch_url(std::string_view url) const {
  if (is_core_context_url(url)) return false;
  // Only a context already built is known to need nothing more: a cached document may still
  // refer to others that are not (or no longer) cached.
  std::lock_guard lock(mu_);
  std::string key;
  JsonWriter::escape_into(url, key);
  return contexts_.count(key) == 0;
}

bool ContextCache::may_fetch(const JsonValue& value) const {
  if (value.IsString()) return may_fetch_url({value.GetString(), value.GetStringLength()});
  if (!value.IsArray() && !value.IsObject()) return false;
  {
    std::lock_guard lock(mu_);
    if (contexts_.count(json_text(value)) != 0) return false;
  }
  // What an inline context names: URLs in an array, and an object's @import (issue 14: an
  // {"@import": URL} was fetched on the event loop, stalling every request there).
  auto names_remote = [this](const JsonValue& e) {
    if (e.IsString()) return may_fetch_url({e.GetString(), e.GetStringLength()});
    if (!e.IsObject()) return false;
    auto import = e.FindMember("@import");
    return import != e.MemberEnd() &&
           (!import->value.IsString() ||
            may_fetch_url({import->value.GetString(), import->value.GetStringLength()}));
  };
  if (value.IsObject()) return names_remote(value);
  for (const auto& e : value.GetArray()) {
    if (names_remote(e)) return true;
  }
  return false;
}

std::vector<std::string> ContextCache::cached_urls() const {
  std::lock_guard lock(mu_);
  return store_.cached_urls();
}

ContextCache::Usage ContextCache::usage() const {
  std::lock_guard lock(mu_);
  return {store_.cached_count(), store_.cached_bytes(), contexts_.size(), context_bytes_,
          failures_.size()};
}

}  // namespace tsunagu::ngsild::jsonld

namespace tsunagu::ngsild {
namespace {

// 1 for the bytes a name may hold: not space, controls, DEL or the characters §4.6.2 forbids.
constexpr auto kNameByte = [] {
  std::array<unsigned char, 256> t{};
  for (int c = 0x21; c < 0x100; ++c)
    t[c] = c != 0x7f;
  for (char c : std::string_view("<>\"'=;()\\"))
    t[static_cast<unsigned char>(c)] = 0;
  return t;
}();

}  // namespace

bool valid_name(std::string_view n) {
  if (n.empty() || n.size() > 1024 || n[0] == '@') return false;
  for (unsigned char c : n) {
    if (!kNameByte[c]) return false;
  }
  return true;
}

}  // namespace tsunagu::ngsild
