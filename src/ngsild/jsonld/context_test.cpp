#include "ngsild/jsonld/context.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <thread>

#include "ngsild/jsonld/core_context.hpp"
#include "ngsild/jsonld/test_loader.hpp"

namespace tsunagu::ngsild::jsonld {
namespace {

constexpr std::string_view kNgsiLd = "https://uri.etsi.org/ngsi-ld/";
constexpr std::string_view kDefault = "https://uri.etsi.org/ngsi-ld/default-context/";

class ContextTest : public ::testing::Test {
 protected:
  ContextTest() : loader_(std::make_shared<FakeLoader>()), cache_(loader_, {}) {}

  // Resolves an "@context" member given as JSON text.
  Result<ContextPtr> from_json_text(std::string_view text) {
    JsonDoc doc;
    Status st = parse_json(text, doc);
    EXPECT_TRUE(st.ok()) << st.detail();
    return cache_.from_json(doc);
  }

  ContextPtr must(std::string_view json) {
    auto r = from_json_text(json);
    EXPECT_TRUE(r.ok()) << json << ": " << r.status().detail();
    return r.ok() ? *r : cache_.core();
  }

  static std::string iri(std::string_view base, std::string_view term) {
    return std::string(base) + std::string(term);
  }

  bool may_fetch_json(std::string_view text) {
    JsonDoc doc;
    EXPECT_TRUE(parse_json(text, doc).ok());
    return cache_.may_fetch(doc);
  }

  std::shared_ptr<FakeLoader> loader_;
  ContextCache cache_;
};

// ---------------------------------------------------------------------------------------------
// The core context

TEST_F(ContextTest, CoreContextIsBuiltIn) {
  const Context& core = *cache_.core();
  EXPECT_TRUE(core.is_core());
  EXPECT_EQ(core.expand("location").str(), iri(kNgsiLd, "location"));
  EXPECT_EQ(core.expand("observationSpace").str(), iri(kNgsiLd, "observationSpace"));
  EXPECT_EQ(core.expand("description").str(), "http://purl.org/dc/terms/description");
  EXPECT_EQ(core.compact(Atom::intern(iri(kNgsiLd, "location"))), "location");
  EXPECT_EQ(core.compact(Atom::intern("http://purl.org/dc/terms/description")), "description");
  EXPECT_EQ(loader_->total(), 0);
}

TEST_F(ContextTest, UnknownTermsUseTheDefaultContextVocabulary) {
  const Context& core = *cache_.core();
  EXPECT_EQ(core.expand("speed").str(), iri(kDefault, "speed"));
  EXPECT_EQ(core.expand("Vehicle").str(), iri(kDefault, "Vehicle"));
  EXPECT_EQ(core.compact(Atom::intern(iri(kDefault, "speed"))), "speed");
  EXPECT_EQ(core.compact(Atom::intern(iri(kDefault, "Vehicle"))), "Vehicle");
}

// expand() remembers the expansions of undefined terms per thread and context: a compact IRI
// whose prefix each context defines otherwise, asked in turns (of more contexts than it keeps),
// expands by its own context every time, also after a context is gone and a new one built.
TEST_F(ContextTest, RememberedExpansionsStayWithTheirContext) {
  auto with_prefix = [&](const std::string& ns) { return must(R"({"p": ")" + ns + R"("})"); };
  std::vector<ContextPtr> contexts;
  for (int i = 0; i < 6; ++i)
    contexts.push_back(with_prefix("https://example.org/p" + std::to_string(i) + "/"));
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < contexts.size(); ++i) {
      EXPECT_EQ(contexts[i]->expand("p:x").str(),
                "https://example.org/p" + std::to_string(i) + "/x");
      EXPECT_EQ(contexts[i]->expand("speed").str(), iri(kDefault, "speed"));
    }
  }
  for (int i = 0; i < 2; ++i) {
    contexts.clear();  // a new context may take a freed one's address
    contexts.push_back(with_prefix("https://example.org/q" + std::to_string(i) + "/"));
    EXPECT_EQ(contexts[0]->expand("p:x").str(), "https://example.org/q" + std::to_string(i) + "/x");
  }
}

TEST_F(ContextTest, AbsoluteIrisExpandToThemselves) {
  const Context& core = *cache_.core();
  EXPECT_EQ(core.expand("http://example.org/speed").str(), "http://example.org/speed");
  EXPECT_EQ(core.expand("urn:ngsi-ld:speed").str(), "urn:ngsi-ld:speed");
  // An IRI no term, vocabulary or prefix covers compacts to itself.
  EXPECT_EQ(core.compact(Atom::intern("http://example.org/speed")), "http://example.org/speed");
}

// Found by fuzz/entity.cpp: a term that is no valid attribute name ("spee;#1") was chosen to
// compact its IRI, so a GET named an attribute in a way no request may (§4.6.2).
TEST_F(ContextTest, CompactionWritesOnlyValidNames) {
  auto both =
      must(R"({"spee;#1": "http://example.org/speed", "speed#2": "http://example.org/speed"})");
  EXPECT_EQ(both->compact(Atom::intern("http://example.org/speed")), "speed#2");
  auto only = must(R"({"a b": "http://example.org/ab", "e;x": "http://example.org/"})");
  EXPECT_EQ(only->compact(Atom::intern("http://example.org/ab")), "http://example.org/ab");
  EXPECT_EQ(only->compact(Atom::intern("http://example.org/cd")), "http://example.org/cd");
  EXPECT_EQ(only->expand("a b"), Atom::intern("http://example.org/ab"));  // still defined
}

// Found by fuzz/context.cpp: "ex:name" was written for http://e/name although the context
// defines a term "ex:name" of another IRI, which is what reading it back gives.
TEST_F(ContextTest, ACompactIriIsNotWrittenWhereATermOfItsNameStands) {
  auto ctx = must(R"({"ex": "http://e/", "ax": "http://e/n", "ex:name": "http://other/name"})");
  EXPECT_EQ(ctx->compact(Atom::intern("http://e/name")), "http://e/name");
  EXPECT_EQ(ctx->compact(Atom::intern("http://e/nam")), "ex:nam");
  EXPECT_EQ(ctx->compact(Atom::intern("http://e///x")), "http://e///x");
  for (const char* iri : {"http://e/name", "http://e/nam", "http://e///x", "http://e/n2"}) {
    EXPECT_EQ(ctx->expand(ctx->compact(Atom::intern(iri))), Atom::intern(iri)) << iri;
  }
}

// Found by fuzz/context.cpp: a term defined as another term's name that holds a colon took
// that name as an absolute IRI, which a response then wrote and a request read as the other.
TEST_F(ContextTest, ATermDefinedByAnotherTermsNameTakesItsIri) {
  auto ctx = must(R"({"alias": "ex:name", "ex:name": "http://other/name"})");
  EXPECT_EQ(ctx->expand("alias"), Atom::intern("http://other/name"));
  EXPECT_EQ(ctx->expand(ctx->compact(ctx->expand("alias"))), ctx->expand("alias"));
  auto cycle = must(R"({"a:b": "c:d", "c:d": "a:b", "x": "a:b"})");
  EXPECT_EQ(cycle->expand("x"), cycle->expand("x"));  // resolved, or not, without looping
}

TEST_F(ContextTest, CorePrefixesMakeCompactIris) {
  const Context& core = *cache_.core();
  EXPECT_EQ(core.expand("ngsi-ld:foo").str(), iri(kNgsiLd, "foo"));
  EXPECT_EQ(core.expand("geojson:Point").str(), "https://purl.org/geojson/vocab#Point");
  EXPECT_EQ(core.compact(Atom::intern(iri(kNgsiLd, "notATerm"))), "ngsi-ld:notATerm");
}

TEST_F(ContextTest, VocabRelativeCompactionReadsBackToTheSameIri) {
  const Context& core = *cache_.core();
  // "location" is a term, so default-context/location must not compact to "location".
  for (std::string text : {iri(kDefault, "location"), iri(kDefault, "a:b"), iri(kDefault, "x"),
                           iri(kNgsiLd, "location"), iri(kNgsiLd, "zzz"),
                           std::string("https://purl.org/geojson/vocab#Whatever"),
                           std::string("http://example.org/a#b"), std::string("urn:x:y")}) {
    Atom a = Atom::intern(text);
    std::string c = core.compact(a);
    EXPECT_EQ(core.expand(c), a) << text << " -> " << c;
  }
}

TEST_F(ContextTest, EveryCoreContextUrlResolvesWithoutLoading) {
  for (const char* url : {"https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld",
                          "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.3.jsonld",
                          "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld",
                          "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.9.jsonld",
                          "http://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.7.jsonld"}) {
    EXPECT_TRUE(is_core_context_url(url)) << url;
    auto r = cache_.from_url(url);
    ASSERT_TRUE(r.ok()) << url << ": " << r.status().detail();
    EXPECT_TRUE((*r)->is_core()) << url;
    EXPECT_FALSE(cache_.may_fetch_url(url)) << url;
    auto j = from_json_text("[\"" + std::string(url) + "\"]");
    ASSERT_TRUE(j.ok()) << url;
    EXPECT_EQ((*j)->expand("location").str(), iri(kNgsiLd, "location"));
  }
  EXPECT_FALSE(is_core_context_url("https://uri.etsi.org/ngsi-ld/v1/other.jsonld"));
  EXPECT_FALSE(is_core_context_url("https://example.org/ngsi-ld-core-context.jsonld"));
  EXPECT_EQ(loader_->total(), 0);
}

TEST_F(ContextTest, OnlyThePublishedCoreContextNamesAreBuiltIn) {
  for (const char* url :
       {"https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-non-existing.jsonld",
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.2.jsonld",
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.10.jsonld",
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.9.jsonld?x=1",
        "https://uri.etsi.org/ngsi-ld/v2/ngsi-ld-core-context-v1.9.jsonld",
        "ftp://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.9.jsonld"}) {
    EXPECT_FALSE(is_core_context_url(url)) << url;
  }
  // A made-up name is loaded like any other URL, and fails like one (§6.3.5).
  const std::string made_up =
      "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-non-existing.jsonld";
  EXPECT_TRUE(cache_.may_fetch_url(made_up));
  auto r = from_json_text("[\"" + made_up + "\"]");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().kind(), ErrorKind::kLdContextNotAvailable);
  EXPECT_EQ(loader_->loads(made_up), 1);
}

TEST_F(ContextTest, CoreLinkAndBody) {
  EXPECT_EQ(cache_.core()->link_url(), kCoreContextUrl);
  EXPECT_EQ(cache_.core()->body_json(), "\"" + std::string(kCoreContextUrl) + "\"");
}

TEST_F(ContextTest, CoreCoercions) {
  const Context& core = *cache_.core();
  EXPECT_EQ(core.coercion(core.expand("datasetId")), Coercion::kId);
  EXPECT_EQ(core.coercion(core.expand("objectType")), Coercion::kVocab);
  EXPECT_EQ(core.coercion(core.expand("json")), Coercion::kJson);
  EXPECT_EQ(core.coercion(core.expand("location")), Coercion::kNone);
  EXPECT_EQ(core.coercion(core.expand("someUnknownTerm")), Coercion::kNone);
}

// ---------------------------------------------------------------------------------------------
// User contexts

TEST_F(ContextTest, InlineUserTerms) {
  ContextPtr c = must(
      R"({"speed": "https://example.org/vocab/speed", "Car": "https://example.org/vocab/Car"})");
  EXPECT_FALSE(c->is_core());
  EXPECT_EQ(c->expand("speed").str(), "https://example.org/vocab/speed");
  EXPECT_EQ(c->expand("Car").str(), "https://example.org/vocab/Car");
  EXPECT_EQ(c->compact(Atom::intern("https://example.org/vocab/speed")), "speed");
  // The core still applies.
  EXPECT_EQ(c->expand("location").str(), iri(kNgsiLd, "location"));
  EXPECT_EQ(c->expand("other").str(), iri(kDefault, "other"));
  EXPECT_EQ(loader_->total(), 0);
}

TEST_F(ContextTest, InlineContextHasNoLinkUrlAndItsBodyIsTheObject) {
  ContextPtr c = must(R"({"speed": "https://example.org/vocab/speed"})");
  EXPECT_EQ(c->link_url(), "");
  EXPECT_EQ(c->body_json(), "{\"speed\":\"https://example.org/vocab/speed\"}");
}

TEST_F(ContextTest, CoreIsProtected) {
  ContextPtr c =
      must(R"({"location": "https://example.org/myLocation", "type": "https://example.org/t"})");
  EXPECT_EQ(c->expand("location").str(), iri(kNgsiLd, "location"));
}

TEST_F(ContextTest, TermsDefinedWithCompactIrisAndObjects) {
  ContextPtr c = must(R"({
    "ex": "https://example.org/ns#",
    "speed": "ex:speed",
    "direction": {"@id": "ex:direction", "@type": "@vocab"},
    "owner": {"@id": "https://example.org/ns#owner", "@type": "@id"},
    "config": {"@id": "ex:config", "@type": "@json"},
    "core": "ngsi-ld:myCoreTerm"
  })");
  EXPECT_EQ(c->expand("speed").str(), "https://example.org/ns#speed");
  EXPECT_EQ(c->expand("direction").str(), "https://example.org/ns#direction");
  EXPECT_EQ(c->expand("core").str(), iri(kNgsiLd, "myCoreTerm"));
  EXPECT_EQ(c->coercion(c->expand("direction")), Coercion::kVocab);
  EXPECT_EQ(c->coercion(c->expand("owner")), Coercion::kId);
  EXPECT_EQ(c->coercion(c->expand("config")), Coercion::kJson);
  EXPECT_EQ(c->coercion(c->expand("speed")), Coercion::kNone);
}

TEST_F(ContextTest, CompactIrisWithUserPrefixes) {
  ContextPtr c = must(R"({"ex": "https://example.org/ns#", "exo": "https://example.org/o"})");
  EXPECT_EQ(c->expand("ex:speed").str(), "https://example.org/ns#speed");
  EXPECT_EQ(c->compact(Atom::intern("https://example.org/ns#speed")), "ex:speed");
  // "exo" does not end in a gen-delim, so it is no prefix (JSON-LD 1.1 §4.1.3).
  EXPECT_EQ(c->compact(Atom::intern("https://example.org/oh")), "https://example.org/oh");
  // Defined terms win over compact IRIs.
  ContextPtr d =
      must(R"({"ex": "https://example.org/ns#", "speed": "https://example.org/ns#speed"})");
  EXPECT_EQ(d->compact(Atom::intern("https://example.org/ns#speed")), "speed");
}

TEST_F(ContextTest, ExplicitPrefixFlag) {
  ContextPtr c = must(R"({"ex": {"@id": "https://example.org/o", "@prefix": true}})");
  EXPECT_EQ(c->expand("ex:h").str(), "https://example.org/oh");
  EXPECT_EQ(c->compact(Atom::intern("https://example.org/oh")), "ex:h");
}

TEST_F(ContextTest, TwoTermsForOneIriCompactToTheShortestThenLeast) {
  ContextPtr c = must(R"({
    "temperature": "https://example.org/temperature",
    "tmpB": "https://example.org/temperature",
    "tmpA": "https://example.org/temperature",
    "temp": "https://example.org/temperature"
  })");
  for (const char* t : {"temperature", "tmpB", "tmpA", "temp"}) {
    EXPECT_EQ(c->expand(t).str(), "https://example.org/temperature") << t;
  }
  EXPECT_EQ(c->compact(Atom::intern("https://example.org/temperature")), "temp");
  ContextPtr d = must(
      R"({"bb": "https://example.org/x", "ab": "https://example.org/x", "ba": "https://example.org/x"})");
  EXPECT_EQ(d->compact(Atom::intern("https://example.org/x")), "ab");
}

TEST_F(ContextTest, NullDefinitionRemovesATerm) {
  ContextPtr c = must(R"([{"speed": "https://example.org/speed"}, {"speed": null}])");
  EXPECT_EQ(c->expand("speed").str(), iri(kDefault, "speed"));
  ContextPtr d =
      must(R"([{"speed": "https://example.org/speed"}, null, {"b": "https://example.org/b"}])");
  EXPECT_EQ(d->expand("speed").str(), iri(kDefault, "speed"));
  EXPECT_EQ(d->expand("b").str(), "https://example.org/b");
}

TEST_F(ContextTest, LaterDefinitionsWin) {
  ContextPtr c =
      must(R"([{"speed": "https://example.org/a"}, {"speed": "https://example.org/b"}])");
  EXPECT_EQ(c->expand("speed").str(), "https://example.org/b");
}

TEST_F(ContextTest, InvalidInlineContexts) {
  for (const char* text :
       {"42", "true", R"({"speed": 5})", R"({"speed": {"@id": 5}})",
        R"({"": "https://example.org/x"})", R"(["relative/ctx.jsonld"])", R"({"@vocab": 5})"}) {
    auto r = from_json_text(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().kind(), ErrorKind::kBadRequestData) << text;
    EXPECT_NE(r.status().detail().find("@context"), std::string::npos) << r.status().detail();
  }
  EXPECT_EQ(loader_->total(), 0);
}

// ---------------------------------------------------------------------------------------------
// Remote contexts and the caches

constexpr const char* kUserUrl = "https://example.org/ctx/user.jsonld";

TEST_F(ContextTest, RemoteContextByUrl) {
  loader_->serve(kUserUrl, R"({"@context": {"speed": "https://example.org/vocab/speed"}})");
  EXPECT_TRUE(cache_.may_fetch_url(kUserUrl));
  auto r = cache_.from_url(kUserUrl);
  ASSERT_TRUE(r.ok()) << r.status().detail();
  EXPECT_EQ((*r)->expand("speed").str(), "https://example.org/vocab/speed");
  EXPECT_EQ((*r)->expand("location").str(), iri(kNgsiLd, "location"));
  EXPECT_EQ((*r)->link_url(), kUserUrl);
  EXPECT_EQ((*r)->body_json(), "\"" + std::string(kUserUrl) + "\"");
  EXPECT_EQ(loader_->loads(kUserUrl), 1);
  EXPECT_EQ(loader_->last_timeout_ms(), ContextCache::Options().timeout_ms);
  EXPECT_FALSE(cache_.may_fetch_url(kUserUrl));
  EXPECT_EQ(cache_.cached_urls(), std::vector<std::string>{kUserUrl});
}

TEST_F(ContextTest, SecondResolutionIsACacheHit) {
  loader_->serve(kUserUrl, R"({"@context": {"speed": "https://example.org/vocab/speed"}})");
  auto a = cache_.from_url(kUserUrl);
  auto b = cache_.from_url(kUserUrl);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->get(), b->get());
  // The same URL inside another @context reuses the cached document.
  auto c =
      from_json_text(std::string("[\"") + kUserUrl + "\", {\"x\": \"https://example.org/x\"}]");
  ASSERT_TRUE(c.ok()) << c.status().detail();
  EXPECT_EQ((*c)->expand("speed").str(), "https://example.org/vocab/speed");
  EXPECT_EQ((*c)->expand("x").str(), "https://example.org/x");
  auto d =
      from_json_text(std::string("[\"") + kUserUrl + "\", {\"x\": \"https://example.org/x\"}]");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(c->get(), d->get());
  EXPECT_EQ(loader_->loads(kUserUrl), 1);
}

// A response's @context is the request's as it was given (the suite compares it member for
// member): the core context is neither added nor moved.
TEST_F(ContextTest, BodyContextIsEchoedAsGiven) {
  loader_->serve(kUserUrl, R"({"@context": {"speed": "https://example.org/vocab/speed"}})");
  auto c = from_json_text(std::string("[\"") + std::string(kCoreContextUrl) + "\", \"" + kUserUrl +
                          "\", {\"x\": \"https://example.org/x\"}]");
  ASSERT_TRUE(c.ok()) << c.status().detail();
  EXPECT_EQ((*c)->link_url(), "");
  EXPECT_EQ((*c)->body_json(), "[\"" + std::string(kCoreContextUrl) + "\",\"" + kUserUrl +
                                   "\",{\"x\":\"https://example.org/x\"}]");
}

TEST_F(ContextTest, NestedRemoteContexts) {
  loader_->serve(
      "https://example.org/a.jsonld",
      R"({"@context": ["https://example.org/b.jsonld", {"a": "https://example.org/A"}]})");
  loader_->serve(
      "https://example.org/b.jsonld",
      R"({"@context": {"b": "https://example.org/B", "ex": "https://example.org/ns/"}})");
  auto r = cache_.from_url("https://example.org/a.jsonld");
  ASSERT_TRUE(r.ok()) << r.status().detail();
  EXPECT_EQ((*r)->expand("a").str(), "https://example.org/A");
  EXPECT_EQ((*r)->expand("b").str(), "https://example.org/B");
  EXPECT_EQ((*r)->expand("ex:c").str(), "https://example.org/ns/c");
  EXPECT_EQ(loader_->loads("https://example.org/a.jsonld"), 1);
  EXPECT_EQ(loader_->loads("https://example.org/b.jsonld"), 1);
  // b is cached now: a context naming only b loads nothing.
  auto b = cache_.from_url("https://example.org/b.jsonld");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(loader_->total(), 2);
}

TEST_F(ContextTest, RelativeReferencesResolveAgainstTheDocumentUrl) {
  loader_->serve(
      "https://example.org/ctx/v2/main.jsonld",
      R"({"@context": ["sibling.jsonld", "../shared/common.jsonld", "/root.jsonld", {"m": "https://example.org/M"}]})");
  loader_->serve("https://example.org/ctx/v2/sibling.jsonld",
                 R"({"@context": {"s": "https://example.org/S"}})");
  loader_->serve("https://example.org/ctx/shared/common.jsonld",
                 R"({"@context": {"c": "https://example.org/C"}})");
  loader_->serve("https://example.org/root.jsonld",
                 R"({"@context": {"r": "https://example.org/R"}})");
  auto r = cache_.from_url("https://example.org/ctx/v2/main.jsonld");
  ASSERT_TRUE(r.ok()) << r.status().detail();
  EXPECT_EQ((*r)->expand("s").str(), "https://example.org/S");
  EXPECT_EQ((*r)->expand("c").str(), "https://example.org/C");
  EXPECT_EQ((*r)->expand("r").str(), "https://example.org/R");
  EXPECT_EQ((*r)->expand("m").str(), "https://example.org/M");
  EXPECT_EQ(loader_->total(), 4);
}

TEST_F(ContextTest, ImportedContext) {
  loader_->serve("https://example.org/b.jsonld", R"({"@context": {"b": "https://example.org/B"}})");
  ContextPtr c =
      must(R"({"@import": "https://example.org/b.jsonld", "a": "https://example.org/A"})");
  EXPECT_EQ(c->expand("b").str(), "https://example.org/B");
  EXPECT_EQ(c->expand("a").str(), "https://example.org/A");
}

TEST_F(ContextTest, CyclesAreRefused) {
  loader_->serve("https://example.org/self.jsonld",
                 R"({"@context": ["https://example.org/self.jsonld"]})");
  loader_->serve("https://example.org/p.jsonld", R"({"@context": "https://example.org/q.jsonld"})");
  loader_->serve(
      "https://example.org/q.jsonld",
      R"({"@context": ["https://example.org/p.jsonld", {"q": "https://example.org/Q"}]})");
  for (const char* url : {"https://example.org/self.jsonld", "https://example.org/p.jsonld"}) {
    auto r = cache_.from_url(url);
    ASSERT_FALSE(r.ok()) << url;
    EXPECT_EQ(r.status().kind(), ErrorKind::kBadRequestData) << r.status().detail();
  }
  EXPECT_LE(loader_->total(), 3);
}

TEST_F(ContextTest, DeepNestingIsRefused) {
  ContextCache::Options o;
  o.max_depth = 3;
  ContextCache cache(loader_, o);
  for (int i = 0; i < 6; ++i) {
    loader_->serve("https://example.org/n" + std::to_string(i) + ".jsonld",
                   "{\"@context\": \"https://example.org/n" + std::to_string(i + 1) + ".jsonld\"}");
  }
  loader_->serve("https://example.org/n6.jsonld", R"({"@context": {}})");
  auto r = cache.from_url("https://example.org/n0.jsonld");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().kind(), ErrorKind::kBadRequestData);
  loader_->serve("https://example.org/m0.jsonld",
                 R"({"@context": "https://example.org/n6.jsonld"})");
  EXPECT_TRUE(cache.from_url("https://example.org/m0.jsonld").ok());
}

TEST_F(ContextTest, LoaderFailureIsLdContextNotAvailable) {
  auto r = cache_.from_url("https://example.org/missing.jsonld");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().kind(), ErrorKind::kLdContextNotAvailable);
  EXPECT_NE(r.status().detail().find("https://example.org/missing.jsonld"), std::string::npos);
  auto j =
      from_json_text(R"(["https://example.org/missing.jsonld", {"a": "https://example.org/a"}])");
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().kind(), ErrorKind::kLdContextNotAvailable);
}

// A failed load is answered from memory for failure_ttl_ms, then retried.
TEST_F(ContextTest, FailuresAreRememberedForTheirTtl) {
  ContextCache::Options o;
  o.failure_ttl_ms = 1 << 30;  // longer than any test run
  ContextCache cache(loader_, o);
  loader_->serve(kUserUrl, R"({"@context": {"speed": "https://example.org/vocab/speed"}})");
  loader_->fail(kUserUrl, 1);
  auto first = cache.from_url(kUserUrl);
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.status().kind(), ErrorKind::kLdContextNotAvailable);
  auto second = cache.from_url(kUserUrl);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().kind(), ErrorKind::kLdContextNotAvailable);
  EXPECT_EQ(second.status().detail(), first.status().detail());
  EXPECT_EQ(loader_->loads(kUserUrl), 1);
}

TEST_F(ContextTest, FailuresAreRetriedOnceTheTtlHasPassed) {
  ContextCache::Options o;
  o.failure_ttl_ms = 0;
  ContextCache cache(loader_, o);
  loader_->serve(kUserUrl, R"({"@context": {"speed": "https://example.org/vocab/speed"}})");
  loader_->fail(kUserUrl, 1);
  ASSERT_FALSE(cache.from_url(kUserUrl).ok());
  EXPECT_TRUE(cache.may_fetch_url(kUserUrl));
  auto second = cache.from_url(kUserUrl);
  ASSERT_TRUE(second.ok()) << second.status().detail();
  EXPECT_EQ((*second)->expand("speed").str(), "https://example.org/vocab/speed");
  EXPECT_EQ(loader_->loads(kUserUrl), 2);
}

TEST_F(ContextTest, InvalidRemoteDocumentsAreBadRequestData) {
  loader_->serve("https://example.org/notjson.jsonld", "{not json");
  loader_->serve("https://example.org/nocontext.jsonld", R"({"terms": {}})");
  loader_->serve("https://example.org/array.jsonld", R"([{"@context": {}}])");
  loader_->serve("https://example.org/badterm.jsonld", R"({"@context": {"a": 1}})");
  for (const char* url :
       {"https://example.org/notjson.jsonld", "https://example.org/nocontext.jsonld",
        "https://example.org/array.jsonld", "https://example.org/badterm.jsonld"}) {
    auto r = cache_.from_url(url);
    ASSERT_FALSE(r.ok()) << url;
    EXPECT_EQ(r.status().kind(), ErrorKind::kBadRequestData) << url << ": " << r.status().detail();
    EXPECT_NE(r.status().detail().find("@context"), std::string::npos) << r.status().detail();
  }
}

TEST_F(ContextTest, OversizedDocumentIsLdContextNotAvailable) {
  ContextCache::Options o;
  o.max_document_bytes = 64;
  ContextCache cache(loader_, o);
  loader_->serve("https://example.org/big.jsonld",
                 "{\"@context\": {\"a\": \"https://example.org/" + std::string(100, 'a') + "\"}}");
  auto r = cache.from_url("https://example.org/big.jsonld");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().kind(), ErrorKind::kLdContextNotAvailable);
}

TEST_F(ContextTest, NoLoaderMeansNoRemoteContexts) {
  ContextCache cache(nullptr, {});
  auto r = cache.from_url(kUserUrl);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().kind(), ErrorKind::kLdContextNotAvailable);
  EXPECT_TRUE(cache.from_url(kCoreContextUrl).ok());
}

TEST_F(ContextTest, MayFetch) {
  loader_->serve(kUserUrl, R"({"@context": {"speed": "https://example.org/vocab/speed"}})");
  EXPECT_FALSE(may_fetch_json(R"({"speed": "https://example.org/speed"})"));
  EXPECT_FALSE(may_fetch_json("\"" + std::string(kCoreContextUrl) + "\""));
  EXPECT_TRUE(may_fetch_json("\"" + std::string(kUserUrl) + "\""));
  EXPECT_TRUE(
      may_fetch_json("[{\"a\": \"https://example.org/a\"}, \"" + std::string(kUserUrl) + "\"]"));
  EXPECT_FALSE(may_fetch_json("[{\"a\": \"https://example.org/a\"}, \"" +
                              std::string(kCoreContextUrl) + "\"]"));
  ASSERT_TRUE(cache_.from_url(kUserUrl).ok());
  EXPECT_FALSE(may_fetch_json("\"" + std::string(kUserUrl) + "\""));
  EXPECT_FALSE(
      may_fetch_json("[{\"a\": \"https://example.org/a\"}, \"" + std::string(kUserUrl) + "\"]"));
}

// Issue 14: an @import inside an inline context was taken for a local context and fetched on
// the event loop.
TEST_F(ContextTest, MayFetchSeesImport) {
  const std::string import =
      "{\"@import\": \"" + std::string(kUserUrl) + "\", \"a\": \"https://example.org/a\"}";
  EXPECT_TRUE(may_fetch_json(import));
  EXPECT_TRUE(may_fetch_json("[\"" + std::string(kCoreContextUrl) + "\", " + import + "]"));
  EXPECT_TRUE(
      may_fetch_json(R"({"@import": 5})"));  // refused when built, off the loop all the same
  loader_->serve(kUserUrl, R"({"@context": {"speed": "https://example.org/vocab/speed"}})");
  JsonDoc doc;
  ASSERT_TRUE(parse_json(import, doc).ok());
  ASSERT_TRUE(cache_.from_json(doc).ok());
  EXPECT_FALSE(may_fetch_json(import));  // built once, cached
}

// Issue 14: one request could have the server fetch a thousand documents.
TEST_F(ContextTest, AContextNamesAtMost32RemoteDocuments) {
  std::string many = "[";
  for (int i = 0; i < 33; ++i) {
    std::string url = "https://example.org/c" + std::to_string(i) + ".jsonld";
    loader_->serve(url, R"({"@context": {"t": "https://example.org/t"}})");
    many += (i ? ",\"" : "\"") + url + "\"";
  }
  auto r = from_json_text(many + "]");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().detail().find("more than 32 remote documents"), std::string::npos)
      << r.status().detail();
  EXPECT_LE(loader_->total(), 32);
  std::string fewer = many.substr(0, many.rfind(',')) + "]";
  EXPECT_TRUE(from_json_text(fewer).ok());
}

// may_fetch must stay true while resolving still needs a document that is not cached: here the
// outer document was cached by a resolution that failed on the nested one.
TEST_F(ContextTest, MayFetchWhileANestedDocumentIsMissing) {
  ContextCache::Options o;
  o.failure_ttl_ms = 0;  // retry the failed nested document at once
  ContextCache cache(loader_, o);
  loader_->serve("https://example.org/outer.jsonld",
                 R"({"@context": ["https://example.org/inner.jsonld"]})");
  loader_->serve("https://example.org/inner.jsonld",
                 R"({"@context": {"i": "https://example.org/I"}})");
  loader_->fail("https://example.org/inner.jsonld", 1);
  ASSERT_FALSE(cache.from_url("https://example.org/outer.jsonld").ok());
  int before = loader_->total();
  bool predicted = cache.may_fetch_url("https://example.org/outer.jsonld");
  ASSERT_TRUE(cache.from_url("https://example.org/outer.jsonld").ok());
  bool fetched = loader_->total() > before;
  EXPECT_EQ(predicted, fetched) << "may_fetch_url said " << predicted
                                << " but resolving loaded a document: " << fetched;
}

TEST_F(ContextTest, DocumentCacheEvictsTheOldest) {
  ContextCache::Options o;
  // Room for one of the two documents, and for no built context.
  o.document_cache_bytes = ContextStore::cost("https://example.org/a.jsonld",
                                              R"({"@context": {"a": "https://example.org/A"}})");
  o.context_cache_bytes = 1;
  ContextCache cache(loader_, o);
  loader_->serve("https://example.org/a.jsonld", R"({"@context": {"a": "https://example.org/A"}})");
  loader_->serve("https://example.org/b.jsonld", R"({"@context": {"b": "https://example.org/B"}})");
  ASSERT_TRUE(cache.from_url("https://example.org/a.jsonld").ok());
  ASSERT_TRUE(cache.from_url("https://example.org/b.jsonld").ok());
  EXPECT_EQ(cache.cached_urls(), std::vector<std::string>{"https://example.org/b.jsonld"});
  EXPECT_TRUE(cache.may_fetch_url("https://example.org/a.jsonld"));
  auto again = cache.from_url("https://example.org/a.jsonld");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->expand("a").str(), "https://example.org/A");
  EXPECT_EQ(loader_->loads("https://example.org/a.jsonld"), 2);
}

TEST_F(ContextTest, ConcurrentResolutionsAgree) {
  for (int i = 0; i < 4; ++i) {
    loader_->serve("https://example.org/c" + std::to_string(i) + ".jsonld",
                   "{\"@context\": {\"t\": \"https://example.org/T" + std::to_string(i) + "\"}}");
  }
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < 200; ++k) {
        int i = (t + k) % 4;
        auto r = cache_.from_url("https://example.org/c" + std::to_string(i) + ".jsonld");
        if (!r.ok() || (*r)->expand("t").str() != "https://example.org/T" + std::to_string(i)) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(cache_.cached_urls().size(), 4u);
}

// Blocks every load until released, counting loads.
class GateLoader : public DocumentLoader {
 public:
  Result<std::string> load(const std::string& url, int) override {
    std::unique_lock lock(mu_);
    ++loads_;
    entered_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
    return std::string(R"({"@context": {"g": "https://example.org/G"}})");
  }
  void wait_entered() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return entered_; });
  }
  void open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  int loads() {
    std::lock_guard lock(mu_);
    return loads_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool entered_ = false, open_ = false;
  int loads_ = 0;
};

// Requests arriving while a document is being fetched wait for that fetch instead of starting
// their own (whether they arrive before or after it completes, the loader runs once).
TEST(ContextCacheConcurrencyTest, ConcurrentRequestsShareOneFetch) {
  auto loader = std::make_shared<GateLoader>();
  ContextCache cache(loader, {});
  const std::string url = "https://example.org/slow.jsonld";
  std::atomic<int> ok{0};
  auto resolve = [&] {
    auto r = cache.from_url(url);
    if (r.ok() && (*r)->expand("g").str() == "https://example.org/G") ++ok;
  };
  std::thread first(resolve);
  loader->wait_entered();
  std::vector<std::thread> others;
  for (int i = 0; i < 6; ++i)
    others.emplace_back(resolve);
  loader->open();
  first.join();
  for (auto& t : others)
    t.join();
  EXPECT_EQ(ok.load(), 7);
  EXPECT_EQ(loader->loads(), 1);
}

TEST(LooksLikeAbsoluteIriTest, Cases) {
  EXPECT_TRUE(looks_like_absolute_iri("http://x"));
  EXPECT_TRUE(looks_like_absolute_iri("urn:a"));
  EXPECT_TRUE(looks_like_absolute_iri("ex:a"));
  EXPECT_FALSE(looks_like_absolute_iri("speed"));
  EXPECT_FALSE(looks_like_absolute_iri(":a"));
  EXPECT_FALSE(looks_like_absolute_iri("1x:a"));
  EXPECT_FALSE(looks_like_absolute_iri("a/b:c"));
}

}  // namespace
}  // namespace tsunagu::ngsild::jsonld
