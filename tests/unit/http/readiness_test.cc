// /readyz: the first reason found, in start-up order; "" only when all is done.
#include <catch2/catch.hpp>

#include "http/readiness.h"

TEST_CASE("readiness names the first thing not ready, in start-up order", "[http]") {
  mailnest::Readiness r;
  r.smtp_pending = r.pop3_pending = r.http_pending = r.index_pending = true;
  CHECK(r.Reason() == "journal recovery not done");
  r.recovery_done = true;
  CHECK(r.Reason() == "smtp listener not bound");
  r.smtp_pending = false;
  CHECK(r.Reason() == "pop3 listener not bound");
  r.pop3_pending = false;
  CHECK(r.Reason() == "http listener not bound");
  r.http_pending = false;
  CHECK(r.Reason() == "message index building");
  r.index_pending = false;
  CHECK(r.Reason().empty());
}
