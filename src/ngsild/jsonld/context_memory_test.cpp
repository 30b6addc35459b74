// What reads may not keep (hardening issue, item 4): looking terms up and building contexts make
// no atoms, compaction still finds terms whose atoms a later write makes, and the @context
// caches stay within their byte budgets while still answering from memory.
#include <gtest/gtest.h>
#include <malloc.h>

#include <iostream>
#include <string>

#include "ngsild/jsonld/context.hpp"
#include "ngsild/jsonld/test_loader.hpp"

namespace tsunagu::ngsild::jsonld {
namespace {

constexpr std::string_view kDefault = "https://uri.etsi.org/ngsi-ld/default-context/";

// A name no other test uses, so that its atom cannot exist yet.
std::string fresh(std::string_view what) {
  static int n = 0;
  return "ctxmem" + std::string(what) + std::to_string(++n);
}

// A context document of `terms` definitions "<prefix>N": "https://example.org/<prefix>/N".
std::string document(const std::string& prefix, int terms) {
  std::string d = R"({"@context": {)";
  for (int i = 0; i < terms; ++i) {
    if (i > 0) d += ", ";
    d += "\"" + prefix + std::to_string(i) + "\": \"https://example.org/" + prefix + "/" +
         std::to_string(i) + "\"";
  }
  return d + "}}";
}

class ContextMemoryTest : public ::testing::Test {
 protected:
  ContextMemoryTest() : loader_(std::make_shared<FakeLoader>()) {}

  static Result<ContextPtr> from_json_text(ContextCache& cache, const std::string& text) {
    JsonDoc doc;
    Status st = parse_json(text, doc);
    EXPECT_TRUE(st.ok()) << st.detail();
    return cache.from_json(doc);
  }

  std::shared_ptr<FakeLoader> loader_;
};

TEST_F(ContextMemoryTest, LookingUpTermsMakesNoAtoms) {
  ContextCache cache(loader_, {});
  const Context& core = *cache.core();
  uint32_t before = Atom::count();
  for (int i = 0; i < 1000; ++i) {
    std::string term = fresh("term");
    EXPECT_TRUE(core.lookup(term).empty()) << term;
    EXPECT_TRUE(core.lookup("ngsi-ld:" + term).empty());
    EXPECT_TRUE(core.lookup("https://example.org/" + term).empty());
    EXPECT_EQ(core.iri(term), std::string(kDefault) + term);
  }
  EXPECT_EQ(Atom::count(), before);
  // Once a write makes the atom, a lookup finds it; defined terms find theirs.
  std::string term = fresh("written");
  Atom written = core.expand(term);
  EXPECT_EQ(written.str(), std::string(kDefault) + term);
  EXPECT_EQ(core.lookup(term), written);
  EXPECT_EQ(core.lookup("location"), core.expand("location"));
}

TEST_F(ContextMemoryTest, AnUnknownTermStaysUnknownOnlyUntilWritten) {
  // The thread's memory of recent terms must not remember "no atom".
  ContextCache cache(loader_, {});
  const Context& core = *cache.core();
  std::string term = fresh("late");
  EXPECT_TRUE(core.lookup(term).empty());
  Atom a = Atom::intern(std::string(kDefault) + term);
  EXPECT_EQ(core.lookup(term), a);
}

TEST_F(ContextMemoryTest, BuildingAContextMakesNoAtoms) {
  ContextCache cache(loader_, {});
  std::string prefix = fresh("doc");
  const std::string url = "https://example.org/" + prefix + ".jsonld";
  loader_->serve(url, document(prefix, 1000));
  uint32_t before = Atom::count();
  auto remote = cache.from_url(url);
  ASSERT_TRUE(remote.ok()) << remote.status().detail();
  std::string inline_prefix = fresh("inline");
  std::string inline_doc = document(inline_prefix, 1000);
  auto inline_ctx = from_json_text(cache, inline_doc.substr(12, inline_doc.size() - 13));
  ASSERT_TRUE(inline_ctx.ok()) << inline_ctx.status().detail();
  EXPECT_TRUE((*remote)->lookup(prefix + "7").empty());
  EXPECT_EQ((*remote)->iri(prefix + "7"), "https://example.org/" + prefix + "/7");
  EXPECT_TRUE((*inline_ctx)->lookup(inline_prefix + "7").empty());
  EXPECT_EQ(Atom::count(), before);
  // A write through the context makes the atom of the term it uses, and only that one.
  Atom a = (*remote)->expand(prefix + "7");
  EXPECT_EQ(a.str(), "https://example.org/" + prefix + "/7");
  EXPECT_EQ(Atom::count(), before + 1);
  EXPECT_EQ((*remote)->lookup(prefix + "7"), a);
}

TEST_F(ContextMemoryTest, CompactsAnIriWhoseAtomAWriteMadeAfterTheContextWasBuilt) {
  ContextCache cache(loader_, {});
  std::string term = fresh("speed");
  std::string iri = "https://example.org/" + term;
  // Two terms for one IRI: the shorter is preferred; a prefix term compacts the rest.
  auto ctx = from_json_text(cache, "{\"" + term + "\": \"" + iri + "\", \"long" + term + "\": \"" +
                                       iri + "\", \"ex\": \"https://example.org/\", " +
                                       "\"kind\": {\"@id\": \"https://example.org/k" + term +
                                       "\", \"@type\": \"@vocab\"}}");
  ASSERT_TRUE(ctx.ok());
  const Context& c = **ctx;
  std::string scratch;
  EXPECT_EQ(c.compact_iri(iri, scratch), term);  // no atom yet, answered from the text
  Atom written = Atom::intern(iri);              // a write, after the context was built
  EXPECT_EQ(c.compact(written), term);
  EXPECT_EQ(c.coercion(Atom::intern("https://example.org/k" + term)), Coercion::kVocab);
  EXPECT_EQ(c.compact(Atom::intern("https://example.org/other" + term)), "ex:other" + term);
  // An atom that existed before the context was built, with no term of its own.
  EXPECT_EQ(c.compact(cache.core()->expand("location")), "location");
  EXPECT_EQ(c.compact_iri(std::string(kDefault) + "plain", scratch), "plain");
}

TEST_F(ContextMemoryTest, TheEstimateOfABuiltContextIsItsSize) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer brings its own allocator, which mallinfo2() does not see";
#endif
  // glibc's allocator (the test binaries do not link the server's) says what building kept.
  ContextCache::Options o;
  o.context_cache_bytes = 0;  // keep nothing, so that only the returned context holds memory
  ContextCache cache(loader_, o);
  std::string prefix = fresh("sized");
  std::string doc = document(prefix, 20000);
  std::string context = doc.substr(12, doc.size() - 13);
  JsonDoc parsed;
  ASSERT_TRUE(parse_json(context, parsed).ok());
  // Small blocks (uordblks) and the large ones glibc maps on their own (hblkhd).
  auto in_use = [] {
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
  };
  size_t before = in_use();
  auto ctx = cache.from_json(parsed);
  ASSERT_TRUE(ctx.ok());
  size_t held = in_use() - before;
  size_t estimate = (*ctx)->bytes();
  std::cout << "estimate " << estimate << " bytes, allocator " << held << " bytes\n";
  EXPECT_GT(estimate, held * 7 / 10) << "held " << held;
  EXPECT_LT(estimate, held * 13 / 10) << "held " << held;
}

TEST_F(ContextMemoryTest, CachesStayWithinTheirBytesAndStillAnswer) {
  ContextCache::Options o;
  o.document_cache_bytes = 200 << 10;
  o.context_cache_bytes = 1 << 20;  // each context holds its 500 terms and the core's
  ContextCache cache(loader_, o);
  std::vector<std::string> urls;
  for (int i = 0; i < 40; ++i) {
    std::string prefix = fresh("big");
    urls.push_back("https://example.org/" + prefix + ".jsonld");
    loader_->serve(urls.back(), document(prefix, 500));  // about 25 KB each
  }
  size_t doc_peak = 0, ctx_peak = 0;
  for (const auto& url : urls) {
    ASSERT_TRUE(cache.from_url(url).ok());
    auto u = cache.usage();
    doc_peak = std::max(doc_peak, u.document_bytes);
    ctx_peak = std::max(ctx_peak, u.context_bytes);
  }
  EXPECT_LE(doc_peak, o.document_cache_bytes);
  EXPECT_LE(ctx_peak, o.context_cache_bytes);
  auto u = cache.usage();
  EXPECT_GE(u.documents, 4u);  // kept several, not one
  EXPECT_GE(u.contexts, 2u);
  // The last ones are answered from memory; using one keeps it while others come and go.
  int loads = loader_->total();
  ASSERT_TRUE(cache.from_url(urls.back()).ok());
  EXPECT_EQ(loader_->total(), loads);
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(cache.from_url(urls.back()).ok());
    std::string prefix = fresh("churn");
    std::string url = "https://example.org/" + prefix + ".jsonld";
    loader_->serve(url, document(prefix, 500));
    ASSERT_TRUE(cache.from_url(url).ok());
  }
  loads = loader_->total();
  ASSERT_TRUE(cache.from_url(urls.back()).ok());
  EXPECT_EQ(loader_->total(), loads) << "the most used context was evicted";
  EXPECT_LE(cache.usage().document_bytes, o.document_cache_bytes);
  EXPECT_LE(cache.usage().context_bytes, o.context_cache_bytes);
}

TEST_F(ContextMemoryTest, ADocumentLargerThanTheBudgetServesItsRequestButIsNotKept) {
  ContextCache::Options o;
  o.document_cache_bytes = 8 << 10;
  ContextCache cache(loader_, o);
  std::string small = fresh("small"), big = fresh("huge");
  loader_->serve("https://example.org/small.jsonld", document(small, 10));
  loader_->serve("https://example.org/huge.jsonld", document(big, 1000));  // about 50 KB
  ASSERT_TRUE(cache.from_url("https://example.org/small.jsonld").ok());
  auto ctx = cache.from_url("https://example.org/huge.jsonld");
  ASSERT_TRUE(ctx.ok()) << ctx.status().detail();
  EXPECT_EQ((*ctx)->iri(big + "3"), "https://example.org/" + big + "/3");
  EXPECT_EQ(cache.cached_urls(), std::vector<std::string>{"https://example.org/small.jsonld"});
  EXPECT_EQ(cache.usage().contexts, 1u);  // the small one's; the big one was not kept
  ASSERT_TRUE(cache.from_url("https://example.org/huge.jsonld").ok());
  EXPECT_EQ(loader_->loads("https://example.org/huge.jsonld"), 2);
}

TEST_F(ContextMemoryTest, RememberedFailuresAreBounded) {
  ContextCache cache(loader_, {});
  for (size_t i = 0; i < ContextCache::kMaxFailures + 500; ++i) {
    EXPECT_FALSE(cache.from_url("https://example.org/missing/" + std::to_string(i)).ok());
  }
  EXPECT_LE(cache.usage().failures, ContextCache::kMaxFailures);
  EXPECT_GT(cache.usage().failures, 0u);
}

}  // namespace
}  // namespace tsunagu::ngsild::jsonld
