// The search language: parsing (errors named) and matching.
#include <catch2/catch.hpp>

#include "http/query.h"

using namespace mailnest;

namespace {

Query Parsed(const std::string& text) {
  Query q;
  std::string err;
  INFO(text);
  REQUIRE(Query::Parse(text, &q, &err));
  return q;
}

std::string ErrorOf(const std::string& text) {
  Query q;
  std::string err;
  CHECK_FALSE(Query::Parse(text, &q, &err));
  return err;
}

MessageSummary Sample() {
  MessageSummary s;
  s.from = "Ren\xC3\xA9 <rene@Remote.test>";
  s.to = "Alice <alice@localhost>";
  s.cc = "carol@localhost";
  s.subject = "Quarterly Report for Q3";
  s.attachments = 1;
  return s;
}

}  // namespace

TEST_CASE("malformed queries are refused naming the problem", "[http][query]") {
  CHECK(ErrorOf("frm:alice") == "query: unknown field 'frm:'");
  CHECK(ErrorOf("subject:\"open") == "query: unterminated quote");
  CHECK(ErrorOf("from:") == "query: 'from:' needs a value");
  CHECK(ErrorOf("before:2024-13-01") == "query: 'before:' needs a date YYYY-MM-DD, not '2024-13-01'");
  CHECK(ErrorOf("after:yesterday") == "query: 'after:' needs a date YYYY-MM-DD, not 'yesterday'");
  CHECK(ErrorOf("larger:10q") == "query: 'larger:' needs a size like 500, 10k or 2M, not '10q'");
  CHECK(ErrorOf("has:pdf") == "query: has: only takes 'attachment', not 'pdf'");
  CHECK(ErrorOf("\"\"") == "query: empty phrase");
  std::string many;
  for (int i = 0; i < 33; ++i) many += "x ";
  CHECK(ErrorOf(many) == "query: more than 32 terms");
}

TEST_CASE("values: sizes and days", "[http][query]") {
  uint64_t n = 0;
  CHECK((ParseSizeValue("10k", &n) && n == 10240));
  CHECK((ParseSizeValue("2M", &n) && n == 2u << 20));
  CHECK((ParseSizeValue("500", &n) && n == 500));
  CHECK_FALSE(ParseSizeValue("k", &n));
  CHECK_FALSE(ParseSizeValue("-1", &n));
  int64_t t = 0;
  CHECK((ParseDayValue("1970-01-02", &t) && t == 86400));
  CHECK((ParseDayValue("2024-02-29", &t) && t == 1709164800));
  CHECK_FALSE(ParseDayValue("2023-02-29", &t));
  CHECK_FALSE(ParseDayValue("2024-1-01", &t));
}

TEST_CASE("header terms match case-insensitively, all of them", "[http][query]") {
  MessageSummary s = Sample();
  CHECK(Parsed("").empty());
  CHECK(Parsed("").MatchesHeaders(s));
  CHECK(Parsed("from:REMOTE.test").MatchesHeaders(s));
  CHECK(Parsed("from:ren\xC3\xA9").MatchesHeaders(s));
  CHECK_FALSE(Parsed("from:alice").MatchesHeaders(s));
  CHECK(Parsed("to:carol").MatchesHeaders(s));  // To or Cc
  CHECK(Parsed("subject:\"report for\"").MatchesHeaders(s));
  CHECK_FALSE(Parsed("subject:\"report q3\"").MatchesHeaders(s));
  CHECK(Parsed("quarterly alice").MatchesHeaders(s));  // free text over headers, AND
  CHECK_FALSE(Parsed("quarterly bob").MatchesHeaders(s));
  CHECK(Parsed("has:attachment").MatchesHeaders(s));
  s.attachments = 0;
  CHECK_FALSE(Parsed("has:attachment").MatchesHeaders(s));
  CHECK(Parsed("FROM:rene").MatchesHeaders(s));  // field names ignore case
}

TEST_CASE("index terms: mailbox, delivery day and size", "[http][query]") {
  int64_t day = 0;
  REQUIRE(ParseDayValue("2024-03-01", &day));
  Query q = Parsed("mailbox:alice after:2024-03-01 before:2024-03-02 larger:1k smaller:2k");
  CHECK(q.MatchesName("alice", day, 1500));
  CHECK(q.MatchesName("alice", day + 86399, 1500));
  CHECK_FALSE(q.MatchesName("alice", day - 1, 1500));
  CHECK_FALSE(q.MatchesName("alice", day + 86400, 1500));
  CHECK_FALSE(q.MatchesName("bob", day, 1500));
  CHECK_FALSE(q.MatchesName("alice", day, 1024));
  CHECK_FALSE(q.MatchesName("alice", day, 2048));
  // Index terms do not constrain header matching, and vice versa.
  CHECK(q.MatchesHeaders(Sample()));
  CHECK(Parsed("from:nobody").MatchesName("x", 0, 0));
}

TEST_CASE("body: terms need the decoded text", "[http][query]") {
  Query q = Parsed("body:\"gr\xC3\xBC\xC3\x9F" "e aus\" subject:report");
  CHECK(q.needs_body());
  CHECK(q.MatchesBody("Viele Gr\xC3\xBC\xC3\x9F" "e aus K\xC3\xB6ln"));
  CHECK_FALSE(q.MatchesBody("nothing"));
  CHECK_FALSE(Parsed("from:x").needs_body());
  CHECK(Parsed("from:x").MatchesBody("anything"));
}
