#include "http/show_command.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string_view>

#include "http/message_index.h"
#include "http/mime_detail.h"
#include "http/mime_message.h"
#include "store/maildir_name.h"

namespace mailnest {

namespace {

struct Found {
  std::string mailbox, sub, name;
};

// Every mailbox directory's new/ and cur/, names only, until the id matches.
bool FindMessage(const std::string& root, const std::string& id, Found* out) {
  DIR* d = ::opendir(root.c_str());
  if (!d) return false;
  bool found = false;
  while (dirent* e = ::readdir(d)) {
    std::string box = e->d_name;
    if (!IsValidMailboxName(box)) continue;
    for (const char* sub : {"new", "cur"}) {
      std::string dir = root + "/" + box + "/" + sub;
      DIR* s = ::opendir(dir.c_str());
      if (!s) continue;
      while (dirent* f = ::readdir(s)) {
        MaildirNameParts parts;
        if (!ParseMaildirName(f->d_name, &parts) || MessageIndex::MakeId(box, parts.unique) != id) continue;
        *out = {box, sub, f->d_name};
        found = true;
        break;
      }
      ::closedir(s);
      if (found) break;
    }
    if (found) break;
  }
  ::closedir(d);
  return found;
}

// A message's text must not drive the terminal: C0 controls (ESC above
// all) and DEL become '?', except the line breaks and tabs of a body.
std::string ForTerminal(std::string_view s, bool keep_lines) {
  std::string out;
  for (unsigned char c : s) {
    if (keep_lines && (c == '\n' || c == '\t')) {
      out += static_cast<char>(c);
    } else if (c == '\r') {
      continue;
    } else if (c < 0x20 || c == 0x7F) {
      out += keep_lines ? '?' : ' ';
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace

int RunShow(const Config& config, const std::string& id) {
  EnsureGMime();
  if (!MessageIndex::LooksLikeId(id)) {
    fmt::print(stderr, "mailnest show: '{}' is not a message id (16 hex digits, as GET /api/v1/messages lists)\n",
               ForTerminal(id, false));
    return 2;
  }
  Found f;
  if (!FindMessage(config.mail_root, id, &f)) {
    fmt::print(stderr, "mailnest show: no message {} under {}\n", id, config.mail_root);
    return 1;
  }
  std::string path = config.mail_root + "/" + f.mailbox + "/" + f.sub + "/" + f.name;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  struct stat st;
  if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    if (fd >= 0) ::close(fd);
    fmt::print(stderr, "mailnest show: {} cannot be read\n", path);
    return 1;
  }
  ParsedMessage parsed = ParseMessageFd(fd, config.http.max_parse_bytes);
  nlohmann::json v = MessageView(parsed, f.mailbox);
  fmt::print("Mailbox: {}\nFile: {}/{}\n", f.mailbox, f.sub, ForTerminal(f.name, false));
  if (parsed.truncated) {
    fmt::print("Note: only the first {} octets were parsed (http.max_parse_bytes)\n", config.http.max_parse_bytes);
  }
  fmt::print("\n");
  for (const auto& h : v["headers"]) {
    fmt::print("{}: {}\n", ForTerminal(h["name"].get<std::string>(), false),
               ForTerminal(h["value"].get<std::string>(), false));
  }
  fmt::print("\n");
  if (v["text"].is_string()) {
    fmt::print("{}", ForTerminal(v["text"].get<std::string>(), true));
  } else if (v["html"].is_string()) {
    fmt::print("[text/html, tags removed]\n{}\n", ForTerminal(StripTags(v["html"].get<std::string>()), true));
  } else {
    fmt::print("[no text part]\n");
  }
  if (!v["attachments"].empty()) {
    fmt::print("\nAttachments:\n");
    for (const auto& a : v["attachments"]) {
      std::string name = a["filename"].is_string() ? a["filename"].get<std::string>() : "(no name)";
      fmt::print("  part {}: {} ({}, {} octets)\n", a["part"].get<int>(), ForTerminal(name, false),
                 a["content_type"].get<std::string>(), a["size"].get<uint64_t>());
    }
  }
  return 0;
}

}  // namespace mailnest
