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

#include "base/cidr.h"
#include "base/status.h"
#include "smtp/fault_rules.h"

namespace mailnest {

// How a line ended by a LF alone is taken (Postfix 3.9's
// smtpd_forbid_bare_newline): kNormalize = as if it ended in CR LF (a bare
// CR is refused either way, and only CR LF . CR LF ends DATA); kReject = the
// line (command: close; DATA: the message) is refused.
enum class BareNewlinePolicy { kNormalize, kReject };

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
  // The whole body, from 354 to the final dot: a client trickling an octet
  // every few seconds never trips data_timeout_s. Beyond: 421 4.4.2.
  uint32_t data_total_timeout_s = 600;
  // Pause before the 220 greeting; a client that talks during it is an
  // early talker (554 5.5.0, close). 0 = greet at once, and input that
  // arrived before the greeting is answered after it.
  uint32_t greeting_delay_ms = 0;
  BareNewlinePolicy bare_newline = BareNewlinePolicy::kNormalize;  // commands and DATA lines
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
  // Before -ERR [AUTH]; from the 4th failure of one address on it doubles
  // per failure, up to 16x (pop3/login_guard.h).
  uint32_t auth_failure_delay_ms = 2000;
  // Password checks (crypt(3)) run on these dedicated threads, never on the
  // file I/O pool; at most password_check_queue more wait, beyond: -ERR.
  uint32_t password_check_threads = 2;
  uint32_t password_check_queue = 256;
  // PASS commands being checked (or in their failure delay) at once from
  // one client address; beyond: -ERR [SYS/TEMP] at once, no check.
  uint32_t max_logins_per_ip = 10;
  BareNewlinePolicy bare_newline = BareNewlinePolicy::kNormalize;  // command lines
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
  // A journal recovery that failed at start (a full disk) is retried this
  // often in the background while the servers run.
  uint32_t recovery_retry_ms = 5000;
  // Permission bits of message files and of the directories mailnest makes
  // (config: octal strings "0600" / "0700"); 0640 / 0750 share a mail root
  // with a reader in the same group (Dovecot run as another user).
  uint32_t file_mode = 0600;
  uint32_t dir_mode = 0700;
};

// The HTTP API (src/http/): a third listener on the same loop, loopback by
// default. Every input size and wait is bounded here.
struct HttpConfig {
  ListenConfig listen{true, "127.0.0.1", 8080};
  uint32_t max_url_length = 2048;      // path + query; beyond: 414
  uint32_t max_header_bytes = 8192;    // all request header names + values; beyond: 431
  uint64_t max_body_bytes = 65536;     // request body; beyond: 413 (h2o refuses it)
  uint32_t idle_timeout_s = 10;        // keep-alive idle / request read timeout
  uint32_t max_wait_s = 120;           // largest timeout= GET /api/v1/wait accepts
  uint32_t max_list_limit = 1000;      // largest limit= GET /api/v1/messages accepts
  uint32_t max_waiters = 1000;         // concurrent /api/v1/wait requests; beyond: 503
  // The message index re-lists every mailbox this often, to recover from
  // inotify events the kernel dropped (queue overflow). 0 = never.
  uint32_t index_rescan_s = 60;
  // GET /api/v1/events and the session recorder (http/event_hub.h,
  // http/session_recorder.h).
  uint32_t event_ring = 10000;                     // events kept for Last-Event-ID
  uint64_t max_event_backlog_bytes = 1 << 20;      // unsent octets per subscriber; beyond: dropped
  uint32_t max_subscribers = 64;                   // concurrent event streams; beyond: 503
  uint32_t event_heartbeat_s = 5;                  // comment line on a stream idle this long
  uint32_t stats_interval_s = 5;                   // "stats" event period
  uint32_t event_flush_ms = 2;                     // events coalesce this long per write (0: each loop turn)
  uint32_t session_ring = 200;                     // ended sessions kept for /api/v1/sessions
  uint32_t session_max_lines = 1000;               // transcript lines kept per session
  // Access (http/access_gate.h). users: Basic auth name → crypt(3) hash
  // (`mailnest passwd`); empty = no authentication. read_only: every
  // method but GET, HEAD and OPTIONS is 403. cors_origins: the browser
  // origins ("https://host[:port]") that get CORS headers; empty = none.
  std::map<std::string, std::string> users;
  // A wrong user or password waits this long before its 401; from the 4th
  // failure of one address on it doubles per failure, up to 16x (as POP3:
  // pop3/login_guard.h). Checks (or failure delays) at once per address
  // beyond max_logins_per_ip: 429 at once, no check.
  uint32_t auth_failure_delay_ms = 1000;
  uint32_t max_logins_per_ip = 10;
  bool read_only = false;
  std::vector<std::string> cors_origins;
  // Octets of a message file GMime parses (summaries, the message view,
  // parts, body search); a longer file is parsed from its first octets only
  // and the answer says "truncated": true.
  uint64_t max_parse_bytes = 16777216;
  // Messages one query= request examines (GET /api/v1/messages, /wait);
  // beyond: the answer stops there with "scan_limit_reached": true.
  uint32_t max_search_scan = 10000;
};

// Who the server runs as once its listeners are bound and the journal is
// recovered (so ports below 1024 can be bound as root). Empty = stay as the
// starting user.
struct RunAsConfig {
  std::string user;   // a name from the passwd database
  std::string group;  // "" = the user's primary group
};

// Store-and-forward relay (src/relay/, docs/RELAY.md). Off by default:
// every non-local recipient gets 550 5.7.1 as before.
struct RelayConfig {
  bool enabled = false;
  // Clients allowed to relay (textual CIDRs, parsed into networks).
  std::vector<std::string> network_texts{"127.0.0.0/8", "::1/128"};
  std::vector<Cidr> networks;  // filled by ParseConfig (defaults included)
  std::string queue_dir;       // "" = <mail_root>/.queue
  // Routing: "domain" → "host:port" (labs without DNS), then the smarthost.
  std::map<std::string, std::string> transport;
  std::string smarthost;  // "host:port", "" = none
  // Otherwise the domain's MX (c-ares). dns false: such recipients wait
  // (4.4.3 no route) until the lifetime ends.
  bool dns = true;
  std::vector<std::string> dns_servers;  // "ip:port"; empty = /etc/resolv.conf
  uint32_t dns_timeout_ms = 5000;        // per query try (two tries)
  int mx_port = 25;                      // port on MX hosts (labs: another)
  // Retry schedule (Postfix's names and defaults): next try = now +
  // clamp(message age, minimal, maximal); older than the lifetime → bounce.
  uint32_t minimal_backoff_s = 300;
  uint32_t maximal_backoff_s = 4000;
  uint32_t max_queue_lifetime_s = 432000;
  // A message deferred this long gets one RFC 3464 delay warning to its
  // sender (0 = never, Postfix's default).
  uint32_t delay_warning_s = 0;
  // Outbound connections in all, and to one destination (host:port).
  uint32_t max_connections = 20;
  uint32_t max_per_destination = 4;
  // RFC 5321 §4.5.3.2 client timeouts (connect: Postfix's 30 s).
  uint32_t connect_timeout_s = 30;
  uint32_t greeting_timeout_s = 300;
  uint32_t command_timeout_s = 300;    // EHLO/HELO, MAIL, RCPT, QUIT
  uint32_t data_init_timeout_s = 120;  // the 354
  uint32_t data_block_timeout_s = 180; // while the body is being sent
  uint32_t data_term_timeout_s = 600;  // the reply to the final dot
  // Longest reply line read from a next hop, and lines in one reply.
  uint32_t max_reply_line_length = 4096;
  uint32_t max_reply_lines = 100;
  // Queued messages held at once; beyond: 452 4.3.1 for new relay mail.
  uint32_t max_queued_messages = 100000;
  // More Received headers than this: a mail loop, bounced 554 5.4.6.
  uint32_t max_received_headers = 25;
  // RFC 2920 PIPELINING when the next hop advertises it.
  bool pipelining = true;
  // Connection reuse: messages one connection carries (RSET between them;
  // 1 = a connection per message), and the longest it waits for the next.
  uint32_t max_messages_per_connection = 100;
  uint32_t connection_reuse_idle_ms = 2000;
  // A message just queued keeps its bytes in memory until its first attempt
  // takes them, so that attempt reads no file (0 = always read the file).
  // Octets held at once; beyond, new messages are read back from disk.
  uint32_t fresh_cache_bytes = 16u << 20;
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
  // After SIGTERM/SIGINT, sessions still open this long (a stalled DATA, a
  // peer that does not read) get 421 / -ERR and are closed.
  uint32_t shutdown_grace_s = 10;
  SmtpConfig smtp;
  Pop3Config pop3;
  StoreConfig store;
  RunAsConfig run_as;
  HttpConfig http;
  RelayConfig relay;
  // Deterministic fault injection on the SMTP server (smtp/fault_rules.h,
  // docs/RELAY.md); empty = none. PUT /api/v1/faults replaces it at run time.
  std::vector<FaultRule> faults;

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
