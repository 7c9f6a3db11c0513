// Header summaries and the MIME walk, parsed by GMime from real message text.
#include <catch2/catch.hpp>

#include <string>

#include "http/mime_message.h"

using namespace mailnest;

namespace {

const char* kAlternativeWithAttachment =
    "Return-Path: <sender@remote.test>\n"
    "From: =?ISO-8859-1?Q?Ren=E9_M=FCller?= <rene@remote.test>\n"
    "To: Alice <alice@localhost>, bob@localhost\n"
    "Cc: carol@localhost\n"
    "Subject: =?UTF-8?B?Q2Fmw6kgcsOpc3Vtw6k=?=\n"
    "Date: Tue, 01 Dec 2026 10:00:00 +0000\n"
    "Message-ID: <m1@remote.test>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"outer\"\n"
    "\n"
    "--outer\n"
    "Content-Type: multipart/alternative; boundary=\"alt\"\n"
    "\n"
    "--alt\n"
    "Content-Type: text/plain; charset=ISO-8859-1\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "Gr=FC=DFe   aus\n\n  K=F6ln.\n"
    "--alt\n"
    "Content-Type: text/html; charset=UTF-8\n"
    "\n"
    "<p>Gr\xC3\xBC\xC3\x9F" "e</p>\n"
    "--alt--\n"
    "--outer\n"
    "Content-Type: application/pdf; name=\"report.pdf\"\n"
    "Content-Disposition: attachment; filename=\"report.pdf\"\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "JVBERi0xLjQK\n"
    "--outer--\n";

}  // namespace

TEST_CASE("a summary decodes RFC 2047 headers and charsets to UTF-8", "[http][mime]") {
  MessageSummary s = Summarize(ParseMessageBytes(kAlternativeWithAttachment));
  CHECK(s.error.empty());
  CHECK(s.from == "Ren\xC3\xA9 M\xC3\xBCller <rene@remote.test>");
  CHECK(s.to == "Alice <alice@localhost>, bob@localhost");
  CHECK(s.cc == "carol@localhost");
  CHECK(s.subject == "Caf\xC3\xA9 r\xC3\xA9sum\xC3\xA9");
  CHECK(s.message_id == "m1@remote.test");
  CHECK(s.return_path == "<sender@remote.test>");
  CHECK(s.date.rfind("2026-12-01T10:00:00", 0) == 0);
  CHECK(s.attachments == 1);
  // ISO-8859-1 quoted-printable text, converted, whitespace collapsed.
  CHECK(s.snippet == "Gr\xC3\xBC\xC3\x9F" "e aus K\xC3\xB6ln.");
  CHECK_FALSE(s.truncated);
}

TEST_CASE("the MIME walk numbers parts in pre-order and finds attachments", "[http][mime]") {
  ParsedMessage p = ParseMessageBytes(kAlternativeWithAttachment);
  REQUIRE(p.message);
  std::vector<std::string> seen;
  WalkParts(p.message.get(), [&seen](const PartInfo& part) {
    seen.push_back(std::to_string(part.n) + ":" + std::to_string(part.depth) + ":" + part.content_type +
                   (part.is_attachment ? ":att:" + part.filename : ""));
    return true;
  });
  CHECK(seen == std::vector<std::string>{"1:0:multipart/mixed", "2:1:multipart/alternative", "3:2:text/plain",
                                         "4:2:text/html", "5:1:application/pdf:att:report.pdf"});
  CHECK(BodyText(p.message.get(), true) == "<p>Gr\xC3\xBC\xC3\x9F" "e</p>");
}

TEST_CASE("summaries of plain, HTML-only and broken messages", "[http][mime]") {
  SECTION("no MIME at all: the body is the text") {
    MessageSummary s = Summarize(ParseMessageBytes("Subject: plain\n\nhello\n"));
    CHECK(s.subject == "plain");
    CHECK(s.snippet == "hello");
    CHECK(s.attachments == 0);
    CHECK(s.from.empty());
    CHECK(s.date.empty());
  }
  SECTION("HTML only: the snippet is its text without tags, styles or scripts") {
    MessageSummary s = Summarize(ParseMessageBytes(
        "Content-Type: text/html\n\n<html><style>p{}</style><script>x()</script><p>Hi <b>there</b></p></html>\n"));
    CHECK(s.snippet == "Hi there");
  }
  SECTION("8-bit junk in a header becomes valid UTF-8") {
    MessageSummary s = Summarize(ParseMessageBytes("Subject: caf\xE9 \xFF\n\nx\n"));
    CHECK(g_utf8_validate(s.subject.data(), static_cast<gssize>(s.subject.size()), nullptr));
    CHECK(s.subject.rfind("caf", 0) == 0);
  }
  SECTION("fields are capped") {
    std::string subject(5000, 'x');
    MessageSummary s = Summarize(ParseMessageBytes("Subject: " + subject + "\n\n" + std::string(1000, 'y') + "\n"));
    CHECK(s.subject.size() == kMaxSummaryField);
    CHECK(s.snippet.size() == kSnippetChars);
  }
}

TEST_CASE("UTF-8 helpers cut on character boundaries", "[http][mime]") {
  CHECK(CapUtf8("a\xC3\xA9", 2) == "a");
  CHECK(CapUtf8("abc", 5) == "abc");
  CHECK(CollapseWhitespace("  a \n\t b  ", 10) == "a b");
  CHECK(CollapseWhitespace("\xC3\xA9\xC3\xA9\xC3\xA9", 2) == "\xC3\xA9\xC3\xA9");
  CHECK(ValidUtf8("ok") == "ok");
  CHECK(ValidUtf8("\xFF") == "\xEF\xBF\xBD");
}
