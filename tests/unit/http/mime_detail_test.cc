// The message view's pieces: recipients, part extraction, safe download names.
#include <catch2/catch.hpp>

#include "http/mime_detail.h"

using namespace mailnest;

TEST_CASE("download names are sanitized and RFC 6266 encoded", "[http][mime]") {
  CHECK(SanitizeFilename("../../etc/passwd") == "passwd");
  CHECK(SanitizeFilename("C:\\Users\\x\\evil.exe") == "evil.exe");
  CHECK(SanitizeFilename("a\"b\r\nc.txt") == "abc.txt");
  CHECK(SanitizeFilename("...hidden") == "hidden");
  CHECK(SanitizeFilename("/") == "");
  CHECK(SanitizeFilename(std::string(300, 'x')).size() == 200);
  CHECK(AttachmentDisposition("report.pdf", 3) == "attachment; filename=\"report.pdf\"");
  CHECK(AttachmentDisposition("", 3) == "attachment; filename=\"part-3\"");
  CHECK(AttachmentDisposition("K\xC3\xB6ln 1.txt", 2) ==
        "attachment; filename=\"K_ln 1.txt\"; filename*=UTF-8''K%C3%B6ln%201.txt");
}

TEST_CASE("envelope recipients: Delivered-To, X-Original-To, our Received, then To and Cc", "[http][mime]") {
  auto rcpts = [](const char* text) { return FindRecipients(ParseMessageBytes(text).message.get()); };
  auto r = rcpts("Delivered-To: a@x\nDelivered-To: b@x\nX-Original-To: c@x\nTo: d@x\n\n");
  CHECK(r.addresses == std::vector<std::string>{"a@x", "b@x"});
  CHECK(r.source == "delivered-to");
  r = rcpts("X-Original-To: c@x\nTo: d@x\n\n");
  CHECK((r.addresses == std::vector<std::string>{"c@x"} && r.source == "x-original-to"));
  r = rcpts("Return-Path: <s@x>\nReceived: from h ([127.0.0.1])\n\tby me (mailnest) with ESMTP id 1\n"
            "\tfor <alice@localhost>; Mon, 7 Dec 2026 10:00:00 +0000\nTo: d@x\n\n");
  CHECK((r.addresses == std::vector<std::string>{"alice@localhost"} && r.source == "received"));
  // Someone else's Received line is not our envelope.
  r = rcpts("Received: from a by b (Postfix) for <z@x>; date\nTo: D <d@x>, e@x\nCc: f@x\n\n");
  CHECK((r.addresses == std::vector<std::string>{"d@x", "e@x", "f@x"} && r.source == "to-cc"));
  r = rcpts("Subject: none\n\n");
  CHECK((r.addresses.empty() && r.source.empty()));
}

TEST_CASE("a part is extracted decoded; containers are not parts", "[http][mime]") {
  ParsedMessage p = ParseMessageBytes(
      "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain; charset=utf-8\n\nhi\n"
      "--b\nContent-Type: image/png; name=\"dot.png\"\nContent-Transfer-Encoding: base64\n\naGVsbG8=\n--b--\n");
  PartDownload d = ExtractPart(p, 3);
  CHECK(d.found);
  CHECK(d.data == "hello");
  CHECK(d.content_type == "image/png");
  CHECK(d.filename == "dot.png");
  d = ExtractPart(p, 2);
  CHECK((d.found && d.content_type == "text/plain; charset=utf-8" && d.data == "hi"));
  CHECK_FALSE(ExtractPart(p, 1).found);
  CHECK_FALSE(ExtractPart(p, 4).found);
  nlohmann::json v = MessageView(p, "alice");
  CHECK(v["attachments"].size() == 1);
  CHECK(v["attachments"][0]["size"] == 5);
  CHECK(v["mime"]["parts"].size() == 2);
  CHECK(v["text"] == "hi");
}

TEST_CASE("a part's odd content type is served as application/octet-stream", "[http][mime]") {
  ParsedMessage p = ParseMessageBytes(
      "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/pl\xE9in\n\nx\n--b--\n");
  PartDownload d = ExtractPart(p, 2);
  CHECK(d.found);
  CHECK(d.content_type == "application/octet-stream");
}
