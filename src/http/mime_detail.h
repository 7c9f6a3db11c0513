// The message view (GET /api/v1/messages/{id}) and part downloads
// (…/parts/{n}) built from a parsed message (http/mime_message.h). Pool
// thread (or a terminal command): GMime objects stay on the thread that
// parsed them; what leaves is JSON or bytes.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "http/mime_message.h"

namespace mailnest {

constexpr size_t kMaxViewHeaders = 1000;          // headers listed in the view
constexpr size_t kMaxViewHeaderValue = 16384;     // octets of each listed value

// {"envelope", "headers", "text", "html", "attachments", "mime", "truncated"}:
// see docs/HTTP_API.md. mailbox: the Maildir the message is in (its
// recipient as far as this store knows).
nlohmann::json MessageView(const ParsedMessage& parsed, const std::string& mailbox);

// Who the message was delivered to, and from which header that is known:
// Delivered-To, else X-Original-To, else the "for <…>" of our own
// Received line (SMTP intake writes it for a single recipient), else To
// and Cc.
struct EnvelopeRecipients {
  std::vector<std::string> addresses;
  std::string source;  // "delivered-to" | "x-original-to" | "received" | "to-cc" | ""
};
EnvelopeRecipients FindRecipients(GMimeMessage* message);

struct PartDownload {
  bool found = false;        // n names a leaf (a part or an attached message)
  std::string content_type;  // "type/subtype" (+ "; charset=…" for text)
  std::string filename;      // sanitized, "" if the part has none
  std::string data;          // transfer-decoded octets (charset untouched)
};
PartDownload ExtractPart(const ParsedMessage& parsed, int n);

// A file name safe to put in a header: the last path component, no
// controls, quotes or backslashes, at most 200 octets; "" if nothing is left.
std::string SanitizeFilename(const std::string& name);
// Content-Disposition: attachment with an ASCII fallback and RFC 6266 /
// RFC 8187 filename*=UTF-8''… when the name is not plain ASCII.
std::string AttachmentDisposition(const std::string& filename, int n);

}  // namespace mailnest
