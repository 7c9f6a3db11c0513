#include "relay/dsn.h"

#include <catch2/catch.hpp>

namespace mailnest {
namespace {

TEST_CASE("DSN: multipart/report with the RFC 3464 fields and the original headers", "[relay][dsn]") {
  DsnInput in;
  in.reporting_mta = "mx.a.test";
  in.queue_id = "1700000000.M1P2Q3";
  in.sender = "alice@a.test";
  in.arrival = 1700000000;
  in.now = 1700000100;
  in.original = "Subject: hi\nFrom: alice@a.test\n\nsecret body\n";
  in.recipients.push_back({"bob@b.test", "mx.b.test", "550 5.1.1 <bob@b.test>: unknown user", 1700000050});
  in.recipients.push_back({"carol@c.test", "", "4.4.1 connect to c.test[10.0.0.1]:25: refused", 1700000060});
  std::string d = ComposeDsn(in);
  CHECK(d.find("Content-Type: multipart/report; report-type=delivery-status;") != std::string::npos);
  CHECK(d.find("To: <alice@a.test>\n") != std::string::npos);
  CHECK(d.find("Auto-Submitted: auto-replied\n") != std::string::npos);
  CHECK(d.find("Reporting-MTA: dns; mx.a.test\n") != std::string::npos);
  CHECK(d.find("Arrival-Date: Tue, 14 Nov 2023 22:13:20 +0000\n") != std::string::npos);
  CHECK(d.find("Final-Recipient: rfc822; bob@b.test\nAction: failed\nStatus: 5.1.1\nRemote-MTA: dns; mx.b.test\n"
               "Diagnostic-Code: smtp; 550 5.1.1 <bob@b.test>: unknown user\n"
               "Last-Attempt-Date: Tue, 14 Nov 2023 22:14:10 +0000\n") != std::string::npos);
  CHECK(d.find("Final-Recipient: rfc822; carol@c.test\nAction: failed\nStatus: 4.4.1\n"
               "Diagnostic-Code: X-Mailnest; 4.4.1 connect") != std::string::npos);
  CHECK(d.find("Content-Type: text/rfc822-headers\n\nSubject: hi\nFrom: alice@a.test\n") != std::string::npos);
  CHECK(d.find("secret body") == std::string::npos);  // headers only
  CHECK(d.find("\r") == std::string::npos);           // stored form
}

TEST_CASE("DSN: a delay warning says delayed, 4.x.x and until when it retries", "[relay][dsn]") {
  DsnInput in;
  in.reporting_mta = "mx.a.test";
  in.queue_id = "1700000000.M1P2Q3";
  in.sender = "alice@a.test";
  in.arrival = 1700000000;
  in.now = 1700014400;
  in.delayed = true;
  in.retry_until = 1700432000;
  in.original = "Subject: hi\n\nbody\n";
  in.recipients.push_back({"bob@b.test", "mx.b.test", "451 4.3.0 try later", 1700014000});
  std::string d = ComposeDsn(in);
  CHECK(d.find("Subject: Delayed Mail (still being retried)\n") != std::string::npos);
  CHECK(d.find("THIS IS A WARNING ONLY") != std::string::npos);
  CHECK(d.find("Final-Recipient: rfc822; bob@b.test\nAction: delayed\nStatus: 4.3.0\n") != std::string::npos);
  CHECK(d.find("Will-Retry-Until: Sun, 19 Nov 2023 22:13:20 +0000\n") != std::string::npos);
  CHECK(d.find("Action: failed") == std::string::npos);
  CHECK(d.find(".delay@mx.a.test>") != std::string::npos);
}

TEST_CASE("DSN: the boundary never occurs in the enclosed headers", "[relay][dsn]") {
  DsnInput in;
  in.reporting_mta = "h";
  in.queue_id = "q";
  in.sender = "s@x";
  std::string trap = "X-Trap: q/h/0\n\nbody\n";
  in.original = trap;
  in.recipients.push_back({"r@y", "", "5.0.0 no", 0});
  std::string d = ComposeDsn(in);
  CHECK(d.find("boundary=\"q/h/1\"") != std::string::npos);
}

TEST_CASE("DSN status of a stored reply", "[relay][dsn]") {
  CHECK(StatusOfReply("550 5.1.1 unknown") == "5.1.1");
  CHECK(StatusOfReply("554 no code") == "5.0.0");
  CHECK(StatusOfReply("451 try later") == "4.0.0");
  CHECK(StatusOfReply("4.4.1 connect to x: refused") == "4.4.1");
  CHECK(IsSmtpReply("550 x"));
  CHECK_FALSE(IsSmtpReply("4.4.1 x"));
}

}  // namespace
}  // namespace mailnest

#include "relay/hop_count.h"

namespace mailnest {
namespace {

TEST_CASE("Received headers are counted in the header section only", "[relay][loop]") {
  CHECK(CountReceivedHeaders("Received: a\nreceived: b\nRECEIVED:c\nSubject: x\n\nReceived: body\n") == 3);
  CHECK(CountReceivedHeaders("Subject: no\n\n") == 0);
  CHECK(CountReceivedHeaders("X-Received: no\nReceived-SPF: no\n\n") == 0);
  CHECK(CountReceivedHeaders("") == 0);
}

}  // namespace
}  // namespace mailnest
