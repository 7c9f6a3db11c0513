// Parsing a stored message with GMime 3 (never by hand): the header
// summary the index caches, and the walk over the MIME tree that the
// message view, part downloads and body search share.
//
// Thread: everything here runs on a thread-pool thread (or in a terminal
// command), never on the loop thread; GMime objects never leave the thread
// that parsed them. EnsureGMime() initialises the library once, whoever
// calls first (std::call_once).
#pragma once

#include <gmime/gmime.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "http/message_summary.h"

namespace mailnest {

void EnsureGMime();

// g_object_unref on scope exit.
struct GObjectUnref {
  void operator()(void* p) const {
    if (p) g_object_unref(p);
  }
};
template <typename T>
using GPtr = std::unique_ptr<T, GObjectUnref>;

// A parsed message. `truncated`: the file was longer than the parse bound
// and only its first octets were parsed.
struct ParsedMessage {
  GPtr<GMimeMessage> message;
  bool truncated = false;
  uint64_t file_size = 0;
};

// Parses an open file's first max_bytes octets; takes ownership of fd.
// message is null if GMime found no message at all.
ParsedMessage ParseMessageFd(int fd, uint64_t max_bytes);
// Parses bytes in memory (tests, and a message the caller already holds).
ParsedMessage ParseMessageBytes(std::string_view data);

MessageSummary Summarize(const ParsedMessage& parsed);

// ---- The MIME tree, shared by the message view and part downloads ----

// Each node of the tree numbered in pre-order from 1 (the message's
// top-level body is 1; multiparts are numbered too). An attached
// message/rfc822 is one leaf: it is not descended into.
struct PartInfo {
  int n = 0;
  int depth = 0;
  GMimeObject* object = nullptr;  // borrowed from the message
  std::string content_type;       // "type/subtype", lower case
  std::string filename;           // UTF-8, may be ""
  bool is_leaf = false;
  bool is_attachment = false;     // see IsAttachment in mime_message.cc
};
// Visits every node; stop by returning false.
void WalkParts(GMimeMessage* message, const std::function<bool(const PartInfo&)>& visit);

// The first text/plain (resp. text/html) leaf that is not an attachment,
// decoded and converted to UTF-8; "" if none.
std::string BodyText(GMimeMessage* message, bool html);

// Helpers exposed for tests and the message view.
std::string ValidUtf8(std::string_view s);                    // invalid octets → U+FFFD
std::string CapUtf8(std::string s, size_t max_octets);        // cut on a character boundary
std::string CollapseWhitespace(std::string_view s, size_t max_chars);
std::string StripTags(std::string_view html);                 // crude: for snippets of HTML-only mail
std::string AddressList(InternetAddressList* list);           // decoded "Name <a@b>, …"

}  // namespace mailnest
