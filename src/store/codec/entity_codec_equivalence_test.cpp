// GCC 12 inlines Value's destructor into these tests and misreads a scalar Value's union as a
// heap pointer (-Wfree-nonheap-object false positive; Value frees only string and JSON texts).
#pragma GCC diagnostic ignored "-Wfree-nonheap-object"

// The codec against what it replaces: the API renderer's stored mode (ngsild::stored_document)
// and the API parser's (ParseMode::kStored), on many random entities and damaged documents.
#include <gtest/gtest.h>

#include "common/json.hpp"
#include "common/test_random.hpp"
#include "ngsild/format/entity_renderer.hpp"
#include "ngsild/jsonld/context.hpp"
#include "ngsild/parse/entity_parser.hpp"
#include "store/codec/entity_codec.hpp"
#include "store/codec/test_entities.hpp"

namespace tsunagu::store {
namespace {

using ngsild::Entity;
using test_entities::expect_same_entity;

Result<Entity> old_decode(std::string_view doc) {
  static const ngsild::jsonld::ContextCache* cache = new ngsild::jsonld::ContextCache(nullptr, {});
  JsonDoc json;
  Status st = parse_json(doc, json);
  if (!st.ok()) return st;
  auto in = ngsild::parse_entity(json, *cache->core(),
                                 ngsild::ParseOptions{ngsild::ParseMode::kStored, true, true});
  if (!in.ok()) return in.status();
  Entity e;
  e.id = std::move(*in->id);
  e.types = std::move(in->types);
  if (in->scopes) e.scopes = std::move(*in->scopes);
  e.created_at = in->created_at;
  e.modified_at = in->modified_at;
  e.attrs = std::move(in->attrs);
  return e;
}

TEST(EntityCodecEquivalenceTest, WritesWhatTheRendererWroteAndReadsWhatTheParserRead) {
  test_entities::EntityGenerator g(0x657175697661ull);
  for (int n = 0; n < 20000; ++n) {
    const Entity e = g.entity();
    const std::string doc = encode_entity(e);
    ASSERT_EQ(doc, ngsild::stored_document(e)) << n;
    auto want = old_decode(doc);
    ASSERT_TRUE(want.ok()) << n << ": " << want.status().detail() << "\n" << doc;
    auto got = decode_entity(doc);
    ASSERT_TRUE(got.ok()) << n << ": " << got.status().detail() << "\n" << doc;
    expect_same_entity(*got, *want);
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << n << ": " << doc;
      break;
    }
  }
}

bool mentions_any(const std::string& text, std::initializer_list<std::string_view> parts) {
  for (std::string_view p : parts) {
    if (text.find(p) != std::string::npos) return true;
  }
  return false;
}

// Documents with bytes changed, cut or added. Where both read one, they read the same entity.
// Where only one does, the difference is one of the two the codec makes on purpose: the parser
// took a member that is not an object for a concise attribute (which no document holds), and
// applied the API's content rules again (which the codec leaves to the API).
TEST(EntityCodecEquivalenceTest, ReadsDamagedDocumentsAsTheParserDid) {
  testing::Xorshift rnd(0x6d7574617465ull);
  test_entities::EntityGenerator g(0x6d7574617465ull);
  const char kBytes[] = "{}[]:,\"\\ 0-.eEtfnu1/\n";
  int both = 0, only_old = 0, only_new = 0;
  for (int n = 0; n < 20000; ++n) {
    std::string doc = encode_entity(g.entity());
    for (int k = 0, changes = 1 + static_cast<int>(rnd.below(2)); k < changes; ++k) {
      const size_t at = rnd.below(doc.size());
      switch (rnd.below(3)) {
        case 0:
          doc[at] = kBytes[rnd.below(sizeof kBytes - 1)];
          break;
        case 1:
          doc.erase(at, 1 + rnd.below(3));
          break;
        default:
          doc.insert(at, 1, kBytes[rnd.below(sizeof kBytes - 1)]);
          break;
      }
    }
    auto want = old_decode(doc);
    auto got = decode_entity(doc);
    if (want.ok() && got.ok()) {
      ++both;
      expect_same_entity(*got, *want);
    } else if (want.ok()) {
      ++only_old;
      EXPECT_TRUE(mentions_any(got.status().detail(), {"is not an object or an array of objects",
                                                       "has an instance that is not an object"}))
          << got.status().detail() << "\n"
          << doc;
    } else if (got.ok()) {
      ++only_new;
      EXPECT_TRUE(mentions_any(want.status().detail(),
                               {"invalid GeoJSON", "is not a URI", "is not a language tag",
                                "is not a scope", "must be a GeoProperty"}))
          << want.status().detail() << "\n"
          << doc;
    }
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << n << ": " << doc;
      break;
    }
  }
  EXPECT_GT(both, 2000);
  EXPECT_GT(only_old, 500);
  EXPECT_GT(only_new, 200);
}

}  // namespace
}  // namespace tsunagu::store
