#include "http/messages_cli.h"

#include <fmt/format.h>

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>

#include "base/config.h"
#include "http/index_watcher.h"
#include "http/message_file.h"
#include "http/message_index.h"
#include "http/message_summary.h"
#include "http/mime_message.h"
#include "http/query.h"
#include "http/query_string.h"
#include "uv/loop.h"

namespace mailnest {

namespace {

constexpr uint64_t kDefaultLimit = 20;
constexpr uint64_t kMaxLimit = 100000;
constexpr const char* kUsage = "usage: mailnest messages [--config FILE] [--mailbox M] [--query Q] [--limit N]\n";

std::string Date(int64_t t) {
  if (t <= 0) return "-";
  time_t tt = static_cast<time_t>(t);
  struct tm tm {};
  gmtime_r(&tt, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The index after the watcher's first scan of mail_root.
void Scan(const std::string& mail_root, MessageIndex* index) {
  Loop loop;
  IndexWatcher* watcher = nullptr;
  IndexWatcher w(loop.get(), mail_root, index, nullptr, [&watcher] { watcher->Close([] {}); });
  watcher = &w;
  w.Start();
  loop.Run();  // ends once the scan is in and every handle is closed
}

// Whether the message matches the query, judged as GET /api/v1/messages
// judges it (http/message_search.cc): name fields first, then the header
// summary and, for body:, the decoded text, parsed with the same code.
// A one-shot command, so the file is read here, on its only thread.
bool Matches(const Config& config, const IndexedMessage& m, const Query& q) {
  if (!q.MatchesName(m.mailbox(), m.time, m.size)) return false;
  if (q.empty()) return true;
  bool gone = false;
  int fd = OpenMessageFile(config.mail_root, LocationOf(m), &gone);
  if (fd < 0) return false;
  ParsedMessage parsed = ParseMessageFd(fd, config.http.max_parse_bytes);
  if (!q.MatchesHeaders(Summarize(parsed))) return false;
  if (!q.needs_body()) return true;
  std::string text;
  if (parsed.message) {
    text = BodyText(parsed.message.get(), false);
    if (text.empty()) text = StripTags(BodyText(parsed.message.get(), true));
  }
  return q.MatchesBody(text);
}

}  // namespace

int RunMessagesCommand(int argc, char** argv) {
  std::string config_path, mailbox, query_text;
  uint64_t limit = kDefaultLimit;
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (i + 1 >= argc || (arg != "--config" && arg != "-c" && arg != "--mailbox" && arg != "--limit" &&
                          arg != "--query")) {
      fmt::print(stderr, "mailnest messages: {}\n{}",
                 i + 1 >= argc && arg.rfind("--", 0) == 0 ? arg + " needs a value" : "unknown argument '" + arg + "'",
                 kUsage);
      return 2;
    }
    std::string value = argv[++i];
    if (arg == "--mailbox") {
      mailbox = value;
    } else if (arg == "--query") {
      query_text = value;
    } else if (arg == "--limit") {
      if (!ParseBoundedUint(value, 1, kMaxLimit, &limit)) {
        fmt::print(stderr, "mailnest messages: --limit must be 1..{}\n", kMaxLimit);
        return 2;
      }
    } else {
      config_path = value;
    }
  }
  Config config;
  if (!config_path.empty()) {
    if (Status s = LoadConfigFile(config_path, &config); !s.ok()) {
      fmt::print(stderr, "mailnest messages: {}\n", s.message());
      return 1;
    }
  }
  if (!mailbox.empty() && !IsValidMailboxName(mailbox)) {
    fmt::print(stderr, "mailnest messages: --mailbox: not a valid mailbox name\n");
    return 2;
  }
  Query query;
  if (std::string err; !Query::Parse(query_text, &query, &err)) {
    fmt::print(stderr, "mailnest messages: --{}\n", err);  // e.g. "query: unknown field 'frm:'"
    return 2;
  }
  MessageIndex index;
  Scan(config.mail_root, &index);
  if (!mailbox.empty() && !index.HasMailbox(mailbox)) {
    fmt::print(stderr, "mailnest messages: no mailbox '{}' under {}\n", mailbox, config.mail_root);
    return 1;
  }
  fmt::print("{:<16}  {:<16}  {:<20}  {:>10}  {}\n", "ID", "MAILBOX", "DATE", "SIZE", "FLAGS");
  // Newest first, a page at a time, until `limit` match or none are left.
  uint64_t shown = 0;
  std::optional<ListCursor> cursor;
  do {
    auto page = index.List(mailbox, 256, cursor ? &*cursor : nullptr);
    for (const IndexedMessage* m : page.items) {
      if (!Matches(config, *m, query)) continue;
      std::string flags = m->in_new ? "new" : std::string(m->flags());
      fmt::print("{:<16}  {:<16}  {:<20}  {:>10}  {}\n", m->id(), m->mailbox(), Date(m->time), m->size, flags);
      if (++shown == limit) return 0;
    }
    cursor = page.next;
  } while (cursor);
  return 0;
}

}  // namespace mailnest
