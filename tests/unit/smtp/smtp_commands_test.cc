#include "smtp/smtp_commands.h"

#include <catch2/catch.hpp>

#include <string>

#include "smtp/smtp_reply.h"

namespace mailnest {
namespace {

using S = SmtpState;

TEST_CASE("command table is sorted and every verb is found, any case", "[smtp][commands]") {
  auto table = SmtpCommandTable();
  REQUIRE(table.size() == 11);
  for (size_t i = 1; i < table.size(); ++i) {
    INFO(table[i - 1].name << " < " << table[i].name);
    CHECK(table[i - 1].name < table[i].name);
  }
  for (const SmtpCommand& c : table) {
    CHECK(FindSmtpCommand(c.name) == &c);
    std::string lower(c.name);
    for (char& ch : lower) ch = static_cast<char>(ch - 'A' + 'a');
    CHECK(FindSmtpCommand(lower) == &c);
    CHECK(c.check != nullptr);
    CHECK(c.proceed != nullptr);
    CHECK_FALSE(c.usage.empty());
    CHECK(c.min_args <= c.max_args);
  }
  CHECK(FindSmtpCommand("MaIl")->name == "MAIL");
}

TEST_CASE("unknown and near-miss verbs are not found", "[smtp][commands]") {
  for (const char* v : {"", "MAI", "MAILX", "STARTTLS", "AUTH", "BDAT", "ETRN", "TURN", "DATA\r", "QUIT "}) {
    INFO(v);
    CHECK(FindSmtpCommand(v) == nullptr);
  }
  CHECK(FindSmtpCommand(std::string("NOOP\0", 5)) == nullptr);
}

TEST_CASE("allowed states follow RFC 5321", "[smtp][commands]") {
  auto allowed = [](const char* verb, S s) { return (FindSmtpCommand(verb)->states & StateBit(s)) != 0; };
  // Transaction commands in order only.
  CHECK_FALSE(allowed("MAIL", S::kConnected));
  CHECK(allowed("MAIL", S::kGreeted));
  CHECK_FALSE(allowed("MAIL", S::kMail));
  CHECK_FALSE(allowed("MAIL", S::kRcpt));
  CHECK_FALSE(allowed("RCPT", S::kGreeted));
  CHECK(allowed("RCPT", S::kMail));
  CHECK(allowed("RCPT", S::kRcpt));
  CHECK_FALSE(allowed("DATA", S::kMail));  // no valid recipient yet
  CHECK(allowed("DATA", S::kRcpt));
  // HELO/EHLO, RSET, NOOP, QUIT, HELP, VRFY anywhere commands are read.
  for (const char* v : {"EHLO", "HELO", "RSET", "NOOP", "QUIT", "HELP", "VRFY", "EXPN"}) {
    for (S s : {S::kConnected, S::kGreeted, S::kMail, S::kRcpt}) {
      INFO(v << " in " << SmtpStateName(s));
      CHECK(allowed(v, s));
    }
  }
  // No command is dispatched outside the command states.
  for (const SmtpCommand& c : SmtpCommandTable()) {
    for (S s : {S::kNew, S::kData, S::kDelivering, S::kClosing}) CHECK_FALSE((c.states & StateBit(s)));
  }
}

TEST_CASE("arity bounds", "[smtp][commands]") {
  CHECK(FindSmtpCommand("DATA")->max_args == 0);
  CHECK(FindSmtpCommand("QUIT")->max_args == 0);
  CHECK(FindSmtpCommand("RSET")->max_args == 0);
  CHECK(FindSmtpCommand("EHLO")->min_args == 1);
  CHECK(FindSmtpCommand("EHLO")->max_args == 1);
  CHECK(FindSmtpCommand("MAIL")->min_args == 1);
  CHECK(FindSmtpCommand("NOOP")->max_args == kAnyArgs);  // RFC 5321 §4.1.1.9: may carry a string
}

TEST_CASE("reply table: one row per id, codes and enhanced codes agree", "[smtp][reply]") {
  auto table = SmtpReplyTable();
  REQUIRE(table.size() == static_cast<size_t>(SmtpReplyId::kCount_));
  for (size_t i = 0; i < table.size(); ++i) {
    const SmtpReplySpec& r = table[i];
    INFO("row " << i << ": " << r.code << " " << r.enhanced << " " << r.text);
    CHECK(static_cast<size_t>(r.id) == i);
    CHECK(r.code >= 200);
    CHECK(r.code < 600);
    int cls = r.code / 100;
    if (r.enhanced.empty()) {
      // Only the RFC 2034 exemptions: greeting, HELO/EHLO reply, 354.
      bool exempt = r.id == SmtpReplyId::kGreeting || r.id == SmtpReplyId::kHelo || r.id == SmtpReplyId::kStartData;
      CHECK(exempt);
    } else {
      REQUIRE(r.enhanced.size() >= 5);
      CHECK(r.enhanced[0] - '0' == cls);
      CHECK(r.enhanced[1] == '.');
    }
    // At most one placeholder, and no CR/LF in texts.
    size_t hole = r.text.find("{}");
    CHECK((hole == std::string_view::npos || r.text.find("{}", hole + 2) == std::string_view::npos));
    CHECK(r.text.find_first_of("\r\n") == std::string_view::npos);
  }
}

TEST_CASE("reply formatting", "[smtp][reply]") {
  CHECK(FormatSmtpReply(SmtpReplyId::kOk) == "250 2.0.0 Ok\r\n");
  CHECK(FormatSmtpReply(SmtpReplyId::kBye) == "221 2.0.0 Bye\r\n");
  CHECK(FormatSmtpReply(SmtpReplyId::kGreeting, "mx.test") == "220 mx.test ESMTP mailnest\r\n");
  CHECK(FormatSmtpReply(SmtpReplyId::kStartData) == "354 End data with <CR><LF>.<CR><LF>\r\n");
  CHECK(FormatSmtpReply(SmtpReplyId::kQueued, "ID1") == "250 2.0.0 Ok: queued as ID1\r\n");
  CHECK(FormatSmtpReply(SmtpReplyId::kTooManyRecipients).rfind("452 4.5.3 ", 0) == 0);
  CHECK(FormatSmtpReply(SmtpReplyId::kTooManyErrors, "h").rfind("421 4.7.0 h ", 0) == 0);
  CHECK(FormatSmtpReply(SmtpReplyId::kRelayDenied).rfind("550 5.7.1 ", 0) == 0);
  CHECK(FormatSmtpReply(SmtpReplyId::kUnknownParameter).rfind("555 5.5.4 ", 0) == 0);
}

}  // namespace
}  // namespace mailnest
