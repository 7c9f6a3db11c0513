#include "relay/mx_resolver.h"

#include <catch2/catch.hpp>

#include <set>

namespace mailnest {
namespace {

std::vector<std::string> Hosts(const std::vector<MxRecord>& r) {
  std::vector<std::string> out;
  for (const MxRecord& m : r) out.push_back(m.host);
  return out;
}

TEST_CASE("MX order: by preference, whatever the wire order", "[relay][mx]") {
  bool loops = false;
  auto first = [](size_t) { return size_t{0}; };
  auto r = OrderMx({{"c", 30}, {"a", 10}, {"b", 20}}, "me.test", first, &loops);
  CHECK(Hosts(r) == std::vector<std::string>{"a", "b", "c"});
  CHECK_FALSE(loops);
}

TEST_CASE("MX order: equal preferences are shuffled, both orders occur", "[relay][mx]") {
  std::set<std::vector<std::string>> seen;
  for (size_t pick : {0, 1}) {
    bool loops = false;
    auto r = OrderMx({{"x", 10}, {"y", 10}, {"z", 20}}, "", [pick](size_t) { return pick; }, &loops);
    CHECK(r.back().host == "z");  // never mixed across preferences
    seen.insert(Hosts(r));
  }
  CHECK(seen.size() == 2);
}

TEST_CASE("MX order: ourselves and everything not more preferred are dropped", "[relay][mx]") {
  bool loops = false;
  auto first = [](size_t) { return size_t{0}; };
  auto r = OrderMx({{"backup.test", 5}, {"Me.Test.", 10}, {"other.test", 10}, {"far.test", 20}}, "me.test", first,
                   &loops);
  CHECK(Hosts(r) == std::vector<std::string>{"backup.test"});
  CHECK_FALSE(loops);
  r = OrderMx({{"me.test", 10}, {"far.test", 20}}, "me.test", first, &loops);
  CHECK(r.empty());
  CHECK(loops);  // the most preferred MX is us: mail would loop
}

}  // namespace
}  // namespace mailnest
