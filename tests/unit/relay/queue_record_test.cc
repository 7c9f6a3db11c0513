#include "relay/queue_record.h"

#include <catch2/catch.hpp>

#include "relay/backoff.h"

namespace mailnest {
namespace {

QueueEnvelope Sample() {
  QueueEnvelope e;
  e.id = "1700000000.M123P45Q6";
  e.arrival = 1700000000;
  e.sender = "alice@a.test";
  e.size = 1234;
  QueueRecipient r1;
  r1.address = "bob@b.test";
  QueueRecipient r2;
  r2.address = "\"odd name\"@b.test";
  r2.state = RcptState::kBounced;
  r2.attempts = 3;
  r2.next_try = 1700000300;
  r2.last_attempt = 1700000200;
  r2.remote_mta = "mx.b.test";
  r2.last_reply = "550 5.1.1 <x>: unknown\tuser\r\n";
  e.recipients = {r1, r2};
  return e;
}

TEST_CASE("queue envelope: encode then decode gives the same record", "[relay][queue]") {
  QueueEnvelope e = Sample();
  std::string text = EncodeEnvelope(e);
  CHECK(text.rfind("mailnest-queue 1\n", 0) == 0);
  CHECK(text.size() >= 4);
  CHECK(text.substr(text.size() - 4) == "end\n");
  QueueEnvelope d;
  REQUIRE(DecodeEnvelope(text, &d).ok());
  CHECK(d.id == e.id);
  CHECK(d.arrival == e.arrival);
  CHECK(d.sender == e.sender);
  CHECK(d.size == e.size);
  REQUIRE(d.recipients.size() == 2);
  CHECK(d.recipients[0].address == "bob@b.test");
  CHECK(d.recipients[0].state == RcptState::kQueued);
  CHECK(d.recipients[1].address == "\"odd name\"@b.test");
  CHECK(d.recipients[1].state == RcptState::kBounced);
  CHECK(d.recipients[1].attempts == 3);
  CHECK(d.recipients[1].next_try == 1700000300);
  CHECK(d.recipients[1].last_attempt == 1700000200);
  CHECK(d.recipients[1].remote_mta == "mx.b.test");
  // Remote text is cleaned: no TAB, CR or LF can break the format.
  CHECK(d.recipients[1].last_reply == "550 5.1.1 <x>: unknown user  ");
}

TEST_CASE("queue envelope: the null sender round-trips", "[relay][queue]") {
  QueueEnvelope e = Sample();
  e.sender = "";
  QueueEnvelope d;
  REQUIRE(DecodeEnvelope(EncodeEnvelope(e), &d).ok());
  CHECK(d.sender.empty());
}

TEST_CASE("queue envelope: torn, foreign and hostile files are refused", "[relay][queue]") {
  std::string text = EncodeEnvelope(Sample());
  QueueEnvelope d;
  SECTION("every strict prefix (a torn write) is refused") {
    for (size_t n = 0; n < text.size(); ++n) {
      INFO(n);
      CHECK_FALSE(DecodeEnvelope(text.substr(0, n), &d).ok());
    }
  }
  SECTION("another version") {
    std::string v2 = text;
    v2.replace(0, 16, "mailnest-queue 2");
    CHECK_FALSE(DecodeEnvelope(v2, &d).ok());
  }
  SECTION("an id that could be a path") {
    std::string bad = text;
    bad.replace(bad.find("id ") + 3, 20, "../../etc/passwd.xxx");
    CHECK_FALSE(DecodeEnvelope(bad, &d).ok());
  }
  SECTION("an unknown field") {
    std::string bad = text;
    bad.insert(bad.find("end\n"), "color blue\n");
    Status s = DecodeEnvelope(bad, &d);
    CHECK_FALSE(s.ok());
    CHECK(s.message().find("unknown field") != std::string::npos);
  }
  SECTION("data after end") {
    CHECK_FALSE(DecodeEnvelope(text + "rcpt x\n", &d).ok());
  }
}

TEST_CASE("queue ids are file-name safe", "[relay][queue]") {
  CHECK(IsValidQueueId("1700000000.M123P45Q6"));
  CHECK_FALSE(IsValidQueueId(""));
  CHECK_FALSE(IsValidQueueId(".hidden"));
  CHECK_FALSE(IsValidQueueId("a/b"));
  CHECK_FALSE(IsValidQueueId("a b"));
}

TEST_CASE("backoff: now + clamp(age, minimal, maximal), bounce past the lifetime", "[relay][backoff]") {
  BackoffPolicy p;  // Postfix's defaults: 300, 4000, 5 days
  const int64_t t0 = 1000000;
  CHECK(NextRetry(p, t0, t0) == t0 + 300);                // young: minimal
  CHECK(NextRetry(p, t0, t0 + 1000) == t0 + 1000 + 1000);  // age in between
  CHECK(NextRetry(p, t0, t0 + 10000) == t0 + 10000 + 4000);  // old: maximal
  CHECK(NextRetry(p, t0, t0 - 50) == t0 - 50 + 300);      // clock went back: never below minimal
  CHECK_FALSE(Expired(p, t0, t0 + 431999));
  CHECK(Expired(p, t0, t0 + 432000));
  BackoffPolicy lab{1, 1, 5};
  CHECK(NextRetry(lab, t0, t0 + 3) == t0 + 4);
  CHECK(Expired(lab, t0, t0 + 5));
}

TEST_CASE("reply text is cleaned and bounded", "[relay][queue]") {
  CHECK(CleanReplyText("a\tb\r\nc\x01\xff") == "a b  c??");
  CHECK(CleanReplyText(std::string(1000, 'x')).size() == 512);
}

}  // namespace
}  // namespace mailnest
