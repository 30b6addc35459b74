#include "engine/instance_index.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace tsunagu::engine {
namespace {

using ngsild::Attribute;
using ngsild::Entity;
using ngsild::Value;

Attribute instance(Atom name, Atom dataset, int64_t v) {
  Attribute a;
  a.name = name;
  a.dataset_id = dataset;
  a.value = Value::integer(v);
  return a;
}

std::string show(const Entity& e) {
  std::string out;
  for (const Attribute& a : e.attrs) {
    out += std::string(a.name.str()) + "/" + std::string(a.dataset_id.str()) + "=" +
           std::to_string(a.value.as_int()) + " ";
  }
  return out;
}

// The index lays out exactly what Entity::put and erase would, for random sequences of finds,
// puts (replacing and new, with and without datasetIds) and erases (of existing instances and of
// instances the same sequence added), over entities of 0 to 40 instances.
TEST(InstanceIndexTest, DoesWhatEntityPutAndEraseDo) {
  std::mt19937 rng(14);
  std::vector<Atom> names, datasets = {Atom()};
  for (int i = 0; i < 8; ++i)
    names.push_back(Atom::intern("https://example.org/attr" + std::to_string(i)));
  for (int i = 0; i < 3; ++i)
    datasets.push_back(Atom::intern("urn:ngsi-ld:Dataset:" + std::to_string(i)));
  auto pick = [&](const std::vector<Atom>& from) { return from[rng() % from.size()]; };
  int64_t value = 0;
  for (int round = 0; round < 3000; ++round) {
    Entity start;
    const int n = static_cast<int>(rng() % 41);
    for (int i = 0; i < n; ++i)
      start.put(instance(pick(names), pick(datasets), ++value));
    Entity expected = start, got = start;
    {
      InstanceIndex index(got, 0, /*force=*/true);
      const int ops = 1 + static_cast<int>(rng() % 60);
      for (int i = 0; i < ops; ++i) {
        const Atom name = pick(names), dataset = pick(datasets);
        const Attribute* want = expected.find(name, dataset);
        const Attribute* have = index.find(name, dataset);
        ASSERT_EQ(want == nullptr, have == nullptr) << round << " op " << i;
        if (want != nullptr) {
          ASSERT_EQ(want->value.as_int(), have->value.as_int());
        }
        if (rng() % 3 == 0) {
          ASSERT_EQ(expected.erase(name, dataset), index.erase(name, dataset));
        } else {
          ++value;
          expected.put(instance(name, dataset, value));
          index.put(instance(name, dataset, value));
        }
      }
    }  // finished by the destructor
    ASSERT_EQ(show(got), show(expected)) << "round " << round << " from " << show(start);
  }
}

}  // namespace
}  // namespace tsunagu::engine
