// The @context storage (ETSI GS CIM 009 §5.13) as the ContextCache offers it: hosted @contexts
// (added, resolved with no network, durable through a HostedContextStorage, deleted), Cached ones
// (counted, deleted, reloaded), the core context's rules, and preloaded documents.
#include "ngsild/jsonld/context_store.hpp"

#include <gtest/gtest.h>

#include <map>

#include "ngsild/jsonld/context.hpp"
#include "ngsild/jsonld/core_context.hpp"
#include "ngsild/jsonld/test_loader.hpp"

namespace tsunagu::ngsild::jsonld {
namespace {

constexpr std::string_view kRemote = "https://example.org/remote.jsonld";

// Keeps "saved" documents in a map; fails saves on demand.
class MemoryStorage : public HostedContextStorage {
 public:
  Result<std::vector<Document>> load() override {
    std::vector<Document> out;
    for (const auto& [id, doc] : docs_)
      out.push_back(doc);
    return out;
  }
  Status save(const Document& doc) override {
    if (fail_saves) return Status::Internal("disk full");
    docs_[doc.local_id] = doc;
    return Status::Ok();
  }
  Status erase(const std::string& local_id) override {
    docs_.erase(local_id);
    return Status::Ok();
  }

  std::map<std::string, Document> docs_;
  bool fail_saves = false;
};

class ContextStoreTest : public ::testing::Test {
 protected:
  ContextStoreTest()
      : loader_(std::make_shared<FakeLoader>()),
        storage_(std::make_shared<MemoryStorage>()),
        cache_(loader_, {}, storage_) {
    loader_->serve(std::string(kRemote), R"({"@context": {"r": "https://example.org/R"}})");
  }

  Result<StoredContextPtr> add(std::string_view body) {
    JsonDoc doc;
    EXPECT_TRUE(parse_json(body, doc).ok()) << body;
    return cache_.add_hosted(doc);
  }
  StoredContextPtr must_add(std::string_view body) {
    auto r = add(body);
    EXPECT_TRUE(r.ok()) << body << ": " << r.status().detail();
    return r.ok() ? *r : nullptr;
  }
  Result<ContextPtr> resolve(std::string_view context_json) {
    JsonDoc doc;
    EXPECT_TRUE(parse_json(context_json, doc).ok()) << context_json;
    return cache_.from_json(doc);
  }
  std::string expand(std::string_view context_json, std::string_view term) {
    auto ctx = resolve(context_json);
    EXPECT_TRUE(ctx.ok()) << context_json << ": " << ctx.status().detail();
    return ctx.ok() ? std::string((*ctx)->expand(term).str()) : "";
  }
  static std::string quoted(const std::string& s) { return "\"" + s + "\""; }
  static std::string path_of(const StoredContextPtr& e) {
    return std::string(kHostedContextPath) + e->local_id;
  }

  std::shared_ptr<FakeLoader> loader_;
  std::shared_ptr<MemoryStorage> storage_;
  ContextCache cache_;
};

TEST(HostedContextIdTest, PathsAndUrlsOfHostedContexts) {
  EXPECT_EQ(hosted_context_id("/ngsi-ld/v1/jsonldContexts/abc"), "abc");
  EXPECT_EQ(hosted_context_id("http://broker:1026/ngsi-ld/v1/jsonldContexts/abc"), "abc");
  EXPECT_EQ(hosted_context_id("https://b.example/ngsi-ld/v1/jsonldContexts/abc"), "abc");
  for (const char* no :
       {"/ngsi-ld/v1/jsonldContexts/", "/ngsi-ld/v1/jsonldContexts/a/b",
        "/ngsi-ld/v1/jsonldContexts/a?x", "/ngsi-ld/v1/entities/abc", "http://broker",
        "ftp://b/ngsi-ld/v1/jsonldContexts/abc", "/x/ngsi-ld/v1/jsonldContexts/abc"}) {
    EXPECT_FALSE(hosted_context_id(no)) << no;
  }
}

TEST(NewContextIdTest, ThirtyTwoHexDigitsNeverRepeated) {
  std::string a = new_context_id(), b = new_context_id();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos) << a;
  EXPECT_NE(a, b);
}

TEST_F(ContextStoreTest, AddedContextIsHostedListedAndFoundByItsLocalId) {
  auto e = must_add(R"({"@context": {"A1": "urn:ngsi-ld:attributes:A1"}})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, ContextKind::kHosted);
  EXPECT_EQ(e->text, R"({"@context":{"A1":"urn:ngsi-ld:attributes:A1"}})");
  EXPECT_EQ(e->hits.load(), 0);
  EXPECT_EQ(e->last_used_us.load(), kNoTime);
  auto found = cache_.stored(e->local_id);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(*found, e);
  EXPECT_EQ(*cache_.stored("http://h:1/ngsi-ld/v1/jsonldContexts/" + e->local_id), e);
  auto all = cache_.stored();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0]->url, kCoreContextUrl);
  EXPECT_EQ(all[1], e);
  EXPECT_EQ(cache_.stored("nothing").status().kind(), ErrorKind::kResourceNotFound);
}

TEST_F(ContextStoreTest, WhatIsNotAContextDocumentIsRefused) {
  for (const char* body : {R"(["x"])", R"({"A1": "urn:a"})", R"("x")"}) {
    auto r = add(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().kind(), ErrorKind::kInvalidRequest) << body;
  }
  for (const char* body : {R"({"@context": 5})", R"({"@context": ["relative.jsonld"]})",
                           R"({"@context": {"t": 5}})"}) {
    auto r = add(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().kind(), ErrorKind::kBadRequestData) << body;
  }
  EXPECT_EQ(cache_.stored().size(), 1u);
  EXPECT_TRUE(storage_->docs_.empty());
}

TEST_F(ContextStoreTest, RemoteReferencesAreLoadedOnFirstUseNotWhenAdded) {
  auto e = must_add(R"({"@context": ["https://example.org/remote.jsonld"]})");
  EXPECT_EQ(loader_->total(), 0);
  EXPECT_EQ(expand(quoted(path_of(e)), "r"), "https://example.org/R");
  EXPECT_EQ(loader_->loads(std::string(kRemote)), 1);
  auto remote = cache_.stored(kRemote);
  ASSERT_TRUE(remote.ok());
  EXPECT_EQ((*remote)->kind, ContextKind::kCached);
  EXPECT_EQ((*remote)->origin, ContextOrigin::kDownloaded);
  EXPECT_EQ((*remote)->hits.load(), 1);
}

TEST_F(ContextStoreTest, HostedContextResolvesByPathOrUrlWithoutNetwork) {
  auto e = must_add(R"({"@context": {"A1": "urn:ngsi-ld:attributes:A1"}})");
  EXPECT_EQ(expand(quoted(path_of(e)), "A1"), "urn:ngsi-ld:attributes:A1");
  EXPECT_EQ(expand(quoted("http://any:1026" + path_of(e)), "A1"), "urn:ngsi-ld:attributes:A1");
  EXPECT_EQ(expand("[" + quoted(path_of(e)) + ", {\"b\": \"urn:b\"}]", "b"), "urn:b");
  EXPECT_EQ(loader_->total(), 0);
  // A path names this broker: an unknown id is not looked for elsewhere.
  auto r = resolve(quoted(std::string(kHostedContextPath) + "unknown"));
  EXPECT_EQ(r.status().kind(), ErrorKind::kLdContextNotAvailable);
  EXPECT_EQ(loader_->total(), 0);
  // An unknown id on another host may be another broker's.
  EXPECT_FALSE(resolve(R"("http://other/ngsi-ld/v1/jsonldContexts/x")").ok());
  EXPECT_EQ(loader_->loads("http://other/ngsi-ld/v1/jsonldContexts/x"), 1);
  // Other relative references stay refused.
  EXPECT_EQ(resolve(R"("/other/ctx.jsonld")").status().kind(), ErrorKind::kBadRequestData);
}

TEST_F(ContextStoreTest, HostedContextsMayIncludeEachOther) {
  auto a = must_add(R"({"@context": {"a": "urn:a"}})");
  auto b = must_add(R"({"@context": [")" + path_of(a) + R"("]})");
  EXPECT_EQ(expand(quoted(path_of(b)), "a"), "urn:a");
  EXPECT_EQ(a->hits.load(), 1);
  // Checked for form when added; a hosted @context that is not there fails when used.
  auto dangling = must_add(R"({"@context": ["/ngsi-ld/v1/jsonldContexts/x"]})");
  ASSERT_TRUE(dangling);
  auto r = resolve(quoted(path_of(dangling)));
  EXPECT_EQ(r.status().kind(), ErrorKind::kLdContextNotAvailable);
  EXPECT_EQ(loader_->total(), 0);
}

TEST_F(ContextStoreTest, EachResolutionCountsAsAHitOfEveryDocumentUsed) {
  auto e = must_add(R"({"@context": ["https://example.org/remote.jsonld", {"h": "urn:h"}]})");
  ASSERT_TRUE(resolve(quoted(path_of(e))).ok());
  int64_t first = e->last_used_us.load();
  EXPECT_NE(first, kNoTime);
  ASSERT_TRUE(resolve(quoted(path_of(e))).ok());  // a built context: counted all the same
  ASSERT_TRUE(resolve("[" + quoted(path_of(e)) + "]").ok());
  EXPECT_EQ(e->hits.load(), 3);
  EXPECT_GE(e->last_used_us.load(), first);
  EXPECT_EQ((*cache_.stored(kRemote))->hits.load(), 3);
  // Reading an entry is no use of it; nor are the core context's uses counted.
  ASSERT_TRUE(cache_.stored(e->local_id).ok());
  EXPECT_EQ(e->hits.load(), 3);
  ASSERT_TRUE(cache_.from_url(kCoreContextUrl).ok());
  EXPECT_EQ(cache_.stored()[0]->hits.load(), 0);
}

TEST_F(ContextStoreTest, DeletedHostedContextIsGoneFromMemoryAndStorage) {
  auto e = must_add(R"({"@context": {"A1": "urn:a1"}})");
  ASSERT_TRUE(resolve(quoted(path_of(e))).ok());
  EXPECT_EQ(storage_->docs_.count(e->local_id), 1u);
  ASSERT_TRUE(cache_.remove(e->local_id, false).ok());
  EXPECT_EQ(storage_->docs_.count(e->local_id), 0u);
  EXPECT_EQ(cache_.stored(e->local_id).status().kind(), ErrorKind::kResourceNotFound);
  EXPECT_EQ(resolve(quoted(path_of(e))).status().kind(), ErrorKind::kLdContextNotAvailable);
  EXPECT_EQ(cache_.remove(e->local_id, false).kind(), ErrorKind::kResourceNotFound);
}

TEST_F(ContextStoreTest, DeletedCachedContextIsDownloadedAgainOnItsNextUse) {
  ASSERT_TRUE(resolve(quoted(std::string(kRemote))).ok());
  auto id = (*cache_.stored(kRemote))->local_id;
  ASSERT_TRUE(cache_.remove(id, false).ok());  // by local id
  EXPECT_FALSE(cache_.stored(kRemote).ok());
  ASSERT_TRUE(resolve(quoted(std::string(kRemote))).ok());
  EXPECT_EQ(loader_->loads(std::string(kRemote)), 2);
  ASSERT_TRUE(cache_.remove(kRemote, false).ok());  // by URL
  EXPECT_TRUE(cache_.cached_urls().empty());
}

TEST_F(ContextStoreTest, ReloadReplacesACachedContextKeepingItsLocalId) {
  ASSERT_TRUE(resolve(quoted(std::string(kRemote))).ok());
  auto old = *cache_.stored(kRemote);
  loader_->serve(std::string(kRemote), R"({"@context": {"r": "https://example.org/R2"}})");
  ASSERT_TRUE(cache_.remove(kRemote, true).ok());
  auto fresh = *cache_.stored(kRemote);
  EXPECT_NE(fresh, old);
  EXPECT_EQ(fresh->local_id, old->local_id);
  EXPECT_EQ(fresh->hits.load(), 0);
  EXPECT_EQ(expand(quoted(std::string(kRemote)), "r"), "https://example.org/R2");
}

TEST_F(ContextStoreTest, FailedReloadKeepsTheStoredCopy) {
  ASSERT_TRUE(resolve(quoted(std::string(kRemote))).ok());
  loader_->fail(std::string(kRemote), 1);
  Status st = cache_.remove(kRemote, true);
  EXPECT_EQ(st.kind(), ErrorKind::kLdContextNotAvailable);
  EXPECT_NE(st.detail().find("kept"), std::string::npos) << st.detail();
  ASSERT_TRUE(cache_.stored(kRemote).ok());
  EXPECT_EQ(expand(quoted(std::string(kRemote)), "r"), "https://example.org/R");
  EXPECT_EQ(loader_->loads(std::string(kRemote)), 2);
}

TEST_F(ContextStoreTest, ReloadNeedsSomethingToDownloadFrom) {
  auto hosted = must_add(R"({"@context": {"A1": "urn:a1"}})");
  EXPECT_EQ(cache_.remove(hosted->local_id, true).kind(), ErrorKind::kBadRequestData);
  EXPECT_TRUE(cache_.stored(hosted->local_id).ok());
  EXPECT_EQ(cache_.remove("wrong_id_context", true).kind(), ErrorKind::kBadRequestData);
  EXPECT_EQ(cache_.remove("wrong_id_context", false).kind(), ErrorKind::kResourceNotFound);
  EXPECT_EQ(cache_.remove("https://example.org/never.jsonld", true).kind(),
            ErrorKind::kResourceNotFound);
}

TEST_F(ContextStoreTest, CoreContextIsListedAndCannotBeDeleted) {
  const std::string v16 = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.6.jsonld";
  auto core = cache_.stored(v16);
  ASSERT_TRUE(core.ok());
  EXPECT_EQ((*core)->url, kCoreContextUrl);
  EXPECT_EQ((*core)->origin, ContextOrigin::kBuiltIn);
  EXPECT_EQ(*cache_.stored((*core)->local_id), *core);
  EXPECT_EQ(cache_.remove(v16, false).kind(), ErrorKind::kBadRequestData);
  EXPECT_TRUE(cache_.remove(v16, true).ok());
  EXPECT_TRUE(cache_.stored(v16).ok());
  EXPECT_EQ(loader_->total(), 0);
}

TEST_F(ContextStoreTest, PreloadedDocumentsNeedNoNetworkAndStay) {
  ContextCache::Options o;
  // Room for the larger of the two downloaded documents, not for both.
  o.document_cache_bytes =
      ContextStore::cost(kRemote, R"({"@context": {"r": "https://example.org/R"}})");
  ContextCache cache(loader_, o);
  const std::string sdm = "https://smartdatamodels.org/context.jsonld";
  ASSERT_TRUE(cache.preload(sdm, R"({"@context": {"s": "https://sdm/S"}})").ok());
  loader_->serve("https://example.org/a.jsonld", R"({"@context": {"a": "urn:a"}})");
  ASSERT_TRUE(cache.from_url("https://example.org/a.jsonld").ok());
  ASSERT_TRUE(cache.from_url(std::string(kRemote)).ok());  // evicts a.jsonld, not the preload
  EXPECT_EQ(cache.cached_urls(), (std::vector<std::string>{sdm, std::string(kRemote)}));
  auto ctx = cache.from_url(sdm);
  ASSERT_TRUE(ctx.ok());
  EXPECT_EQ((*ctx)->expand("s").str(), "https://sdm/S");
  EXPECT_EQ(loader_->loads(sdm), 0);
  EXPECT_EQ((*cache.stored(sdm))->origin, ContextOrigin::kPreloaded);
  EXPECT_EQ(cache.preload("relative.jsonld", R"({"@context": {}})").kind(),
            ErrorKind::kBadRequestData);
  EXPECT_EQ(cache.preload(std::string(kCoreContextUrl), R"({"@context": {}})").kind(),
            ErrorKind::kBadRequestData);
  EXPECT_EQ(cache.preload("https://x.org/c", R"({"c": 1})").kind(), ErrorKind::kBadRequestData);
  EXPECT_EQ(cache.preload("https://x.org/c", "{").kind(), ErrorKind::kBadRequestData);
}

TEST_F(ContextStoreTest, HostedContextsComeBackFromTheStorage) {
  auto e = must_add(R"({"@context": {"A1": "urn:a1"}})");
  ContextCache restarted(loader_, {}, storage_);
  ASSERT_TRUE(restarted.load_hosted().ok());
  auto back = restarted.stored(e->local_id);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ((*back)->text, e->text);
  EXPECT_EQ((*back)->created_us, e->created_us);
  auto ctx = restarted.from_url(path_of(e));
  ASSERT_TRUE(ctx.ok());
  EXPECT_EQ((*ctx)->expand("A1").str(), "urn:a1");
}

TEST_F(ContextStoreTest, UnsavedContextIsNotStored) {
  storage_->fail_saves = true;
  auto r = add(R"({"@context": {"A1": "urn:a1"}})");
  EXPECT_EQ(r.status().kind(), ErrorKind::kInternalError);
  EXPECT_EQ(cache_.stored().size(), 1u);
}

TEST_F(ContextStoreTest, UnreadableHostedDocumentStopsTheStart) {
  storage_->docs_["bad"] = {"bad", "{not json", 1};
  ContextCache restarted(loader_, {}, storage_);
  Status st = restarted.load_hosted();
  EXPECT_EQ(st.kind(), ErrorKind::kInternalError);
  EXPECT_NE(st.detail().find("bad"), std::string::npos) << st.detail();
}

}  // namespace
}  // namespace tsunagu::ngsild::jsonld
