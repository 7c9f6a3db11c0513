// The validated configuration. Every limit the servers enforce lives here
// with its default; docs/E1_specification.md lists them with the reply each
// produces. Loading rejects unknown keys and bad values with a message that
// names the offending key (e.g. "smtp.max_recipients: must be 1..100000").
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/status.h"

namespace mailnest {

struct ListenConfig {
  bool enabled = true;
  std::string address = "127.0.0.1";
  int port = 0;  // 0 = pick a free port (the ready line on stdout says which)
};

struct SmtpConfig {
  ListenConfig listen{true, "127.0.0.1", 2525};
  std::string log_file;                       // "" = stderr
  uint32_t max_connections = 10000;           // beyond: 421 4.3.2 at accept
  uint32_t max_line_length = 512;             // command line incl. CRLF; beyond: 500 5.5.2
  uint32_t max_text_line_length = 1000;       // DATA line incl. CRLF; beyond: 552 5.6.0 (content)
  uint64_t max_message_size = 10485760;       // octets of DATA; beyond: 552 5.3.4
  uint32_t max_recipients = 100;              // beyond: 452 4.5.3
  uint32_t max_errors = 20;                   // beyond: 421 4.7.0 and close
  uint32_t command_timeout_s = 300;           // idle between commands: 421 4.4.2
  uint32_t data_timeout_s = 180;              // between DATA chunks: 421 4.4.2
  // Pause before the 220 greeting; a client that talks during it is an
  // early talker (554 5.5.0, close). 0 = greet at once, and input that
  // arrived before the greeting is answered after it.
  uint32_t greeting_delay_ms = 0;
  // true: MAIL FROM / RCPT TO need "<address>" (501 5.5.4 otherwise), as
  // Postfix's strict_rfc821_envelopes. false: "MAIL FROM: a@b" is accepted.
  bool strict_envelope_syntax = false;
};

struct Pop3Config {
  ListenConfig listen{true, "127.0.0.1", 2110};
  std::string log_file;
  uint32_t max_connections = 10000;
  uint32_t max_line_length = 255;             // incl. CRLF (RFC 2449)
  uint32_t max_errors = 20;
  uint32_t autologout_timeout_s = 600;        // RFC 1939 minimum is 600
  uint32_t auth_failure_delay_ms = 2000;
};

struct StoreConfig {
  bool fsync = true;          // make every message durable before 250
  uint32_t io_threads = 16;   // libuv thread pool size (UV_THREADPOOL_SIZE)
  // With fsync on: messages up to 256 KiB are made durable by the delivery
  // journal's group commit (store/delivery_journal.h) instead of an fsync
  // of each file and directory. false = always the per-file fsyncs.
  bool journal = true;
  uint32_t journal_checkpoint_ms = 1000;   // records retired at most this late
  uint32_t journal_checkpoint_mib = 64;    // … or once the journal is this big
};

struct UserConfig {
  std::string password_hash;  // crypt(3) hash; "" = cannot log in to POP3
};

struct Config {
  std::string hostname;       // "" = gethostname()
  std::string mail_root = "var/mail";
  std::string log_level = "info";
  std::set<std::string> local_domains{"localhost", "mailnest.local"};
  std::map<std::string, UserConfig> users;
  std::map<std::string, std::vector<std::string>> aliases;  // alias → users
  SmtpConfig smtp;
  Pop3Config pop3;
  StoreConfig store;

  // Resolves a local part to the mailbox owners (a user, or an alias's
  // users). Empty when unknown. Case-insensitive on the local part.
  std::vector<std::string> ResolveLocal(const std::string& local_part) const;
};

// Parses JSON text into *out (starting from defaults). On error *out is
// unspecified and the Status message names the key.
Status ParseConfig(const std::string& json_text, Config* out);
Status LoadConfigFile(const std::string& path, Config* out);

// A valid mailbox name: [a-z0-9._-]{1,64}, not starting with '.'.
// This is the only gate between a name a client sent and a path on disk.
bool IsValidMailboxName(const std::string& name);

}  // namespace mailnest
