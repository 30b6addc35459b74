// Reads make no atoms (hardening issue, item 4): atoms are never freed, so every name a request
// can send (types, attrs, q, pick/omit, orderBy, geoproperty, datasetId, discovery, linked
// entities, the Query payload, names from a remote @context) is driven through the real route
// table with 1,000 fresh names, and the atom table must not grow. Writes still make atoms, and a
// context built by a read compacts the names a later write stored.
#include <gtest/gtest.h>

#include <boost/asio/thread_pool.hpp>

#include <filesystem>
#include <future>

#include "common/atom.hpp"
#include "engine/entity_service.hpp"
#include "engine/loader.hpp"
#include "engine/writer.hpp"
#include "http/api/api.hpp"
#include "ngsild/jsonld/test_loader.hpp"
#include "store/store.hpp"

namespace tsunagu::http::api {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kThing = "urn:ngsi-ld:Thing:1";
constexpr std::string_view kContextUrl = "https://example.org/read-atoms.jsonld";

std::string encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == ':') {
      out.push_back(static_cast<char>(c));
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string link(std::string_view url) {
  return "<" + std::string(url) + ">; rel=\"http://www.w3.org/ns/json-ld#context\"";
}

class ReadAtomsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "tsunagu-read-atoms-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto s = store::open_embedded({dir_, store::SyncMode::kNormal});
    ASSERT_TRUE(s.ok()) << s.status().detail();
    store_ = std::move(*s);
    auto loaded = engine::load_state(*store_, tenants_);  // also readies the change log
    ASSERT_TRUE(loaded.ok()) << loaded.status().detail();
    writer_ = std::make_unique<engine::Writer>(*store_, tenants_, engine::Writer::Options{});
    writer_->set_next_row(loaded->max_row + 1);
    writer_->start();
    entities_ = std::make_unique<engine::EntityService>(tenants_, *writer_);
    loader_ = std::make_shared<ngsild::jsonld::FakeLoader>();
    contexts_ = std::make_unique<ngsild::jsonld::ContextCache>(
        loader_, ngsild::jsonld::ContextCache::Options{});
    env_ = std::make_unique<Env>(Env{*entities_, *contexts_, blocking_, renders_, {}, {}});
    add_routes(router_, *env_);
    Response r = call(Method::kPost, "/ngsi-ld/v1/entities", R"({
      "id": "urn:ngsi-ld:Thing:1", "type": "Thing",
      "speed": [{"type": "Property", "value": 5},
                {"type": "Property", "value": 6, "datasetId": "urn:ngsi-ld:Dataset:a"}],
      "colour": {"type": "VocabProperty", "vocab": "red"},
      "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [1, 2]}},
      "near": {"type": "Relationship", "object": "urn:ngsi-ld:Thing:1"}})");
    ASSERT_EQ(r.status, 201) << r.body;
  }

  void TearDown() override {
    writer_->stop();
    blocking_.join();
    fs::remove_all(dir_);
  }

  Response call(Method m, const std::string& target, const std::string& body = "",
                std::vector<Header> headers = {}) {
    Request r;
    r.method = m;
    r.target = target;
    size_t q = target.find('?');
    r.path = target.substr(0, q);
    if (q != std::string::npos) r.query = target.substr(q + 1);
    r.headers = std::move(headers);
    if (!body.empty()) {
      r.body = body;
      r.body_framed = true;
      if (!r.has_header("content-type")) r.headers.push_back({"content-type", "application/json"});
    }
    std::promise<Response> done;
    auto answer = done.get_future();
    router_.dispatch(std::move(r), [&done](Response&& resp) { done.set_value(std::move(resp)); });
    return answer.get();
  }

  Response get(const std::string& target, std::vector<Header> headers = {}) {
    return call(Method::kGet, target, "", std::move(headers));
  }

  // Sends `request(name)` for 1,000 fresh names; each answer must have `status`; the atom table
  // must not grow.
  template <class F>
  void expect_no_atoms(const char* what, int status, F request) {
    request(std::string("warmup") + what + "1000");  // constants made on first use ("@none")
    uint32_t before = Atom::count();
    for (int i = 0; i < 1000; ++i) {
      std::string name = "fresh" + std::string(what) + std::to_string(i);
      Response r = request(name);
      ASSERT_EQ(r.status, status) << what << " " << name << ": " << r.body;
    }
    EXPECT_EQ(Atom::count(), before) << what << " made atoms";
  }

  std::string dir_;
  std::unique_ptr<store::Store> store_;
  engine::TenantRegistry tenants_;
  std::unique_ptr<engine::Writer> writer_;
  std::unique_ptr<engine::EntityService> entities_;
  std::shared_ptr<ngsild::jsonld::FakeLoader> loader_;
  std::unique_ptr<ngsild::jsonld::ContextCache> contexts_;
  boost::asio::thread_pool blocking_{2};
  ngsild::RenderCache renders_{1 << 20};
  std::unique_ptr<Env> env_;
  Router router_;
};

const std::string kEntities = "/ngsi-ld/v1/entities";
const std::string kThingPath = kEntities + "/" + std::string(kThing);

TEST_F(ReadAtomsTest, QueriesByTypeAndAttrs) {
  expect_no_atoms("type", 200, [&](const std::string& n) {
    Response r = get(kEntities + "?type=" + n);
    EXPECT_EQ(r.body, "[]");
    return r;
  });
  expect_no_atoms("typeor", 200, [&](const std::string& n) {
    return get(kEntities + "?type=" + encode("(Thing;" + n + ")|" + n + "x"));
  });
  expect_no_atoms("attrs", 200, [&](const std::string& n) {
    Response r = get(kEntities + "?type=Thing&attrs=" + n);
    EXPECT_EQ(r.body, "[]");
    return r;
  });
}

TEST_F(ReadAtomsTest, QueriesByQ) {
  const std::vector<std::string> ops = {"==1", "!=1", ">1", "<=1", "~=x", "!~=x", ""};
  for (size_t i = 0; i < ops.size(); ++i) {
    const std::string& op = ops[i];
    expect_no_atoms(("q" + std::to_string(i)).c_str(), 200, [&](const std::string& n) {
      // An attribute nobody has satisfies no comparison, != and !~= included (§4.9).
      Response r = get(kEntities + "?type=Thing&q=" + encode(n + op));
      EXPECT_EQ(r.body, "[]") << op;
      return r;
    });
  }
  expect_no_atoms("qsub", 200, [&](const std::string& n) {
    return get(kEntities + "?type=Thing&q=" + encode("speed." + n + ">1"));
  });
  expect_no_atoms("qvalue", 200, [&](const std::string& n) {
    // A quoted string is also compared as an expanded term (VocabProperty values).
    Response r = get(kEntities + "?type=Thing&q=" + encode("colour==\"" + n + "\""));
    EXPECT_EQ(r.body, "[]");
    return r;
  });
  expect_no_atoms("expandValues", 200, [&](const std::string& n) {
    return get(kEntities + "?type=Thing&expandValues=colour&q=" + encode("colour==" + n));
  });
  // The known attribute still holds where the unknown value differs.
  Response r = get(kEntities + "?type=Thing&q=" + encode("speed!=\"freshvalue\""));
  EXPECT_NE(r.body, "[]");
  r = get(kEntities + "?type=Thing&q=colour==red&expandValues=colour");
  EXPECT_NE(r.body, "[]");
}

TEST_F(ReadAtomsTest, ProjectionsOrderAndGeo) {
  expect_no_atoms("pick", 200, [&](const std::string& n) {
    Response r = get(kEntities + "?type=Thing&pick=id," + n);
    EXPECT_EQ(r.body, "[{\"id\":\"urn:ngsi-ld:Thing:1\"}]");
    return r;
  });
  expect_no_atoms("omit", 200, [&](const std::string& n) {
    Response r = get(kEntities + "?type=Thing&omit=" + n);
    EXPECT_NE(r.body.find("\"speed\""), std::string::npos);
    return r;
  });
  expect_no_atoms("orderBy", 200, [&](const std::string& n) {
    return get(kEntities + "?type=Thing&orderBy=" + n);
  });
  expect_no_atoms("geoproperty", 200, [&](const std::string& n) {
    Response r = get(kEntities + "?type=Thing&georel=" + encode("near;maxDistance==1000") +
                     "&geometry=Point&coordinates=" + encode("[1,2]") + "&geoproperty=" + n);
    EXPECT_EQ(r.body, "[]");
    return r;
  });
  expect_no_atoms("geometryProperty", 200, [&](const std::string& n) {
    return get(kEntities + "?type=Thing&geometryProperty=" + n,
               {{"accept", "application/geo+json"}});
  });
  expect_no_atoms("scopeQ", 200, [&](const std::string& n) {
    return get(kEntities + "?type=Thing&scopeQ=/" + n);
  });
}

TEST_F(ReadAtomsTest, RetrievalDiscoveryAndLinkedEntities) {
  expect_no_atoms("retrieveattrs", 404,
                  [&](const std::string& n) { return get(kThingPath + "?attrs=" + n); });
  expect_no_atoms("retrievetype", 404,
                  [&](const std::string& n) { return get(kThingPath + "?type=" + n); });
  expect_no_atoms("datasetId", 200, [&](const std::string& n) {
    Response r = get(kThingPath + "?datasetId=" + encode("urn:ngsi-ld:Dataset:" + n));
    EXPECT_EQ(r.body.find("\"speed\""), std::string::npos) << r.body;
    return r;
  });
  expect_no_atoms("join", 200, [&](const std::string& n) {
    return get(kThingPath + "?join=inline&pick=" + encode("id,near{" + n + "}"));
  });
  expect_no_atoms("types", 404,
                  [&](const std::string& n) { return get("/ngsi-ld/v1/types/" + n); });
  expect_no_atoms("attributes", 404,
                  [&](const std::string& n) { return get("/ngsi-ld/v1/attributes/" + n); });
  // The known ones still answer.
  EXPECT_EQ(get("/ngsi-ld/v1/types/Thing").status, 200);
  EXPECT_EQ(get("/ngsi-ld/v1/attributes/speed").status, 200);
  Response r = get(kThingPath + "?datasetId=" + encode("urn:ngsi-ld:Dataset:a"));
  EXPECT_NE(r.body.find("\"value\":6"), std::string::npos) << r.body;
}

TEST_F(ReadAtomsTest, TheQueryPayload) {
  expect_no_atoms("Query", 200, [&](const std::string& n) {
    return call(Method::kPost, "/ngsi-ld/v1/entityOperations/query",
                R"({"type": "Query", "entities": [{"type": ")" + n + R"("}], "attrs": [")" + n +
                    R"(a"], "q": ")" + n + R"(q>1", "geoQ": {"geometry": "Point",
                    "coordinates": [1, 2], "georel": "near;maxDistance==10", "geoproperty": ")" +
                    n + R"(g"}})");
  });
}

TEST_F(ReadAtomsTest, NamesFromARemoteContext) {
  // Building the request's context makes no atoms either, nor do the names it defines.
  std::string doc = R"({"@context": {)";
  for (int i = 0; i < 1000; ++i) {
    doc += (i ? ", " : "") + std::string("\"remote") + std::to_string(i) +
           "\": \"https://example.org/remote/" + std::to_string(i) + "\"";
  }
  loader_->serve(std::string(kContextUrl), doc + "}}");
  uint32_t before = Atom::count();
  Response r = get(kEntities + "?type=remote1", {{"link", link(kContextUrl)}});
  ASSERT_EQ(r.body, "[]");
  EXPECT_EQ(Atom::count(), before) << "building the request's context made atoms";
  expect_no_atoms("remote", 200, [&](const std::string& n) {
    std::string term = "remote" + n.substr(n.find_first_of("0123456789"));
    return get(kEntities + "?type=" + term + "&attrs=" + term, {{"link", link(kContextUrl)}});
  });
}

TEST_F(ReadAtomsTest, AWriteAfterTheReadIsCompactedByTheContextTheReadBuilt) {
  loader_->serve(std::string(kContextUrl),
                 R"({"@context": {"brandNew": "https://example.org/read-atoms/brandNew"}})");
  std::vector<Header> headers = {{"link", link(kContextUrl)}};
  ASSERT_EQ(get(kEntities + "?type=Thing&attrs=brandNew", headers).body, "[]");
  EXPECT_TRUE(Atom::find("https://example.org/read-atoms/brandNew").empty());
  Response w = call(Method::kPost, kThingPath + "/attrs",
                    R"({"brandNew": {"type": "Property", "value": 7}})", headers);
  ASSERT_EQ(w.status, 204) << w.body;
  EXPECT_FALSE(Atom::find("https://example.org/read-atoms/brandNew").empty()) << "writes intern";
  Response r = get(kThingPath + "?attrs=brandNew", headers);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"brandNew\":{\"type\":\"Property\",\"value\":7}"), std::string::npos)
      << r.body;
  r = get(kEntities + "?type=Thing&q=brandNew==7", headers);
  EXPECT_NE(r.body.find("\"brandNew\""), std::string::npos) << r.body;
}

}  // namespace
}  // namespace tsunagu::http::api
