// /metrics text: Prometheus exposition format, one HELP and TYPE per family.
#include <catch2/catch.hpp>

#include <sstream>

#include "http/metrics_text.h"

TEST_CASE("metrics are formatted in Prometheus text with HELP and TYPE", "[http][metrics]") {
  mailnest::Metrics m;
  m.smtp_connections = 3;
  m.smtp_messages = 2;
  m.pop3_logins = 1;
  m.smtp_sessions_open = 1;
  mailnest::HttpGauges g{5, 2, 1};
  std::string text = mailnest::FormatMetrics(m, g);
  CHECK_THAT(text, Catch::Contains("# TYPE mailnest_connections_total counter\n"));
  CHECK_THAT(text, Catch::Contains("mailnest_connections_total{protocol=\"smtp\"} 3\n"));
  CHECK_THAT(text, Catch::Contains("mailnest_smtp_messages_accepted_total 2\n"));
  CHECK_THAT(text, Catch::Contains("mailnest_pop3_logins_total 1\n"));
  CHECK_THAT(text, Catch::Contains("mailnest_sessions_open{protocol=\"smtp\"} 1\n"));
  CHECK_THAT(text, Catch::Contains("mailnest_index_messages 5\n"));
  CHECK_THAT(text, Catch::Contains("mailnest_http_waiters 1\n"));
  // Every sample line belongs to a family declared just before it.
  std::istringstream in(text);
  std::string line, family;
  int samples = 0;
  while (std::getline(in, line)) {
    if (line.rfind("# TYPE ", 0) == 0) family = line.substr(7, line.find(' ', 7) - 7);
    if (line.empty() || line[0] == '#') continue;
    ++samples;
    CHECK(line.rfind(family, 0) == 0);
  }
  CHECK(samples == 9);
  CHECK(text.back() == '\n');
}
