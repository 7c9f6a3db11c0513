#include "base/config.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "http/basic_auth.h"

namespace mailnest {

using nlohmann::json;

namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Walks one JSON object, remembering which keys were consumed, so that any
// key left over is reported as unknown with its full dotted path.
class ObjectReader {
 public:
  ObjectReader(const json& j, std::string path) : j_(j), path_(std::move(path)) {}

  Status CheckIsObject() const {
    if (!j_.is_object()) return Status::Invalid(fmt::format("{}: must be an object", Name("")));
    return Status::Ok();
  }

  Status Bool(const char* key, bool* out) {
    const json* v = Take(key);
    if (!v) return Status::Ok();
    if (!v->is_boolean()) return Status::Invalid(fmt::format("{}: must be true or false", Name(key)));
    *out = v->get<bool>();
    return Status::Ok();
  }

  template <typename T>
  Status Uint(const char* key, T* out, uint64_t min, uint64_t max) {
    const json* v = Take(key);
    if (!v) return Status::Ok();
    if (!v->is_number_unsigned() && !(v->is_number_integer() && v->get<int64_t>() >= 0)) {
      return Status::Invalid(fmt::format("{}: must be a whole number {}..{}", Name(key), min, max));
    }
    uint64_t n = v->get<uint64_t>();
    if (n < min || n > max) {
      return Status::Invalid(fmt::format("{}: {} is out of range {}..{}", Name(key), n, min, max));
    }
    *out = static_cast<T>(n);
    return Status::Ok();
  }

  Status String(const char* key, std::string* out, bool allow_empty = true) {
    const json* v = Take(key);
    if (!v) return Status::Ok();
    if (!v->is_string()) return Status::Invalid(fmt::format("{}: must be a string", Name(key)));
    std::string s = v->get<std::string>();
    if (!allow_empty && s.empty()) return Status::Invalid(fmt::format("{}: must not be empty", Name(key)));
    if (s.find('\0') != std::string::npos) return Status::Invalid(fmt::format("{}: contains NUL", Name(key)));
    *out = std::move(s);
    return Status::Ok();
  }

  Status BareNewline(const char* key, BareNewlinePolicy* out) {
    if (!j_.contains(key)) {
      seen_.insert(key);
      return Status::Ok();
    }
    std::string v;
    Status s = String(key, &v);
    if (!s.ok()) return s;
    if (v == "normalize") {
      *out = BareNewlinePolicy::kNormalize;
    } else if (v == "reject") {
      *out = BareNewlinePolicy::kReject;
    } else {
      return Status::Invalid(fmt::format("{}: must be \"normalize\" or \"reject\"", Name(key)));
    }
    return Status::Ok();
  }

  // An octal permission string such as "0640": only read/write/execute
  // bits (no setuid, setgid or sticky), and the owner keeps read and write.
  Status Mode(const char* key, uint32_t* out, uint32_t owner_bits) {
    if (!j_.contains(key)) {
      seen_.insert(key);
      return Status::Ok();
    }
    std::string v;
    Status s = String(key, &v);
    if (!s.ok()) return s;
    bool ok = v.size() >= 3 && v.size() <= 4;
    uint32_t mode = 0;
    for (char c : v) {
      if (c < '0' || c > '7') ok = false;
      mode = mode * 8 + static_cast<uint32_t>(c - '0');
    }
    if (!ok || mode > 0777 || (mode & owner_bits) != owner_bits) {
      return Status::Invalid(fmt::format("{}: must be an octal mode string like \"{:04o}\" (no special bits, owner {})",
                                         Name(key), owner_bits == 0700 ? 0750 : 0640,
                                         owner_bits == 0700 ? "rwx" : "rw"));
    }
    *out = mode;
    return Status::Ok();
  }

  const json* Take(const char* key) {
    seen_.insert(key);
    auto it = j_.find(key);
    return it == j_.end() ? nullptr : &*it;
  }

  Status CheckNoUnknownKeys() const {
    for (auto it = j_.begin(); it != j_.end(); ++it) {
      if (!seen_.count(it.key())) {
        return Status::Invalid(fmt::format("{}: unknown key", Name(it.key())));
      }
    }
    return Status::Ok();
  }

  std::string Name(const std::string& key) const {
    if (path_.empty()) return key.empty() ? "config" : key;
    return key.empty() ? path_ : path_ + "." + key;
  }

 private:
  const json& j_;
  std::string path_;
  std::set<std::string> seen_;
};

#define MN_TRY(expr)              \
  do {                            \
    Status _s = (expr);           \
    if (!_s.ok()) return _s;      \
  } while (0)

bool IsValidHostname(const std::string& h) {
  if (h.empty() || h.size() > 253) return false;
  for (unsigned char c : h) {
    if (!(std::isalnum(c) || c == '-' || c == '.')) return false;
  }
  return true;
}

Status ParseListen(ObjectReader& r, ListenConfig* l) {
  MN_TRY(r.Bool("enabled", &l->enabled));
  MN_TRY(r.String("listen", &l->address, false));
  MN_TRY(r.Uint("port", &l->port, 0, 65535));
  return Status::Ok();
}

Status ParseSmtp(const json& j, SmtpConfig* c) {
  ObjectReader r(j, "smtp");
  MN_TRY(r.CheckIsObject());
  MN_TRY(ParseListen(r, &c->listen));
  MN_TRY(r.String("log_file", &c->log_file));
  MN_TRY(r.Uint("max_connections", &c->max_connections, 1, 1000000));
  MN_TRY(r.Uint("max_line_length", &c->max_line_length, 512, 65536));
  MN_TRY(r.Uint("max_text_line_length", &c->max_text_line_length, 1000, 1048576));
  MN_TRY(r.Uint("max_message_size", &c->max_message_size, 1024, uint64_t{1} << 32));
  MN_TRY(r.Uint("max_recipients", &c->max_recipients, 1, 100000));
  MN_TRY(r.Uint("max_errors", &c->max_errors, 1, 10000));
  MN_TRY(r.Uint("command_timeout_s", &c->command_timeout_s, 1, 86400));
  MN_TRY(r.Uint("data_timeout_s", &c->data_timeout_s, 1, 86400));
  MN_TRY(r.Uint("data_total_timeout_s", &c->data_total_timeout_s, 1, 86400));
  MN_TRY(r.Uint("greeting_delay_ms", &c->greeting_delay_ms, 0, 60000));
  MN_TRY(r.BareNewline("bare_newline", &c->bare_newline));
  MN_TRY(r.Bool("strict_envelope_syntax", &c->strict_envelope_syntax));
  return r.CheckNoUnknownKeys();
}

Status ParsePop3(const json& j, Pop3Config* c) {
  ObjectReader r(j, "pop3");
  MN_TRY(r.CheckIsObject());
  MN_TRY(ParseListen(r, &c->listen));
  MN_TRY(r.String("log_file", &c->log_file));
  MN_TRY(r.Uint("max_connections", &c->max_connections, 1, 1000000));
  MN_TRY(r.Uint("max_line_length", &c->max_line_length, 255, 65536));
  MN_TRY(r.Uint("max_errors", &c->max_errors, 1, 10000));
  MN_TRY(r.Uint("autologout_timeout_s", &c->autologout_timeout_s, 1, 86400));
  MN_TRY(r.Uint("auth_failure_delay_ms", &c->auth_failure_delay_ms, 0, 60000));
  MN_TRY(r.Uint("password_check_threads", &c->password_check_threads, 1, 64));
  MN_TRY(r.Uint("password_check_queue", &c->password_check_queue, 1, 100000));
  MN_TRY(r.Uint("max_logins_per_ip", &c->max_logins_per_ip, 1, 100000));
  MN_TRY(r.BareNewline("bare_newline", &c->bare_newline));
  return r.CheckNoUnknownKeys();
}

Status ParseStore(const json& j, StoreConfig* c) {
  ObjectReader r(j, "store");
  MN_TRY(r.CheckIsObject());
  MN_TRY(r.Bool("fsync", &c->fsync));
  MN_TRY(r.Uint("io_threads", &c->io_threads, 1, 1024));
  MN_TRY(r.Bool("journal", &c->journal));
  MN_TRY(r.Uint("journal_checkpoint_ms", &c->journal_checkpoint_ms, 10, 60000));
  MN_TRY(r.Uint("journal_checkpoint_mib", &c->journal_checkpoint_mib, 1, 4096));
  MN_TRY(r.Uint("recovery_retry_ms", &c->recovery_retry_ms, 10, 3600000));
  MN_TRY(r.Mode("file_mode", &c->file_mode, 0600));
  MN_TRY(r.Mode("dir_mode", &c->dir_mode, 0700));
  return r.CheckNoUnknownKeys();
}

// http.users, http.read_only, http.cors_origins (http/access_gate.h).
Status ParseHttpAccess(ObjectReader& r, HttpConfig* c) {
  if (const json* u = r.Take("users")) {
    if (!u->is_object()) return Status::Invalid("http.users: must be an object of name → crypt(3) hash");
    c->users.clear();
    for (auto it = u->begin(); it != u->end(); ++it) {
      const std::string& name = it.key();
      std::string path = "http.users." + name;
      bool name_ok = !name.empty() && name.size() <= 64 &&
                     std::all_of(name.begin(), name.end(), [](unsigned char ch) { return ch > 0x20 && ch < 0x7f && ch != ':'; });
      if (!name_ok) return Status::Invalid(fmt::format("{}: a name is 1-64 printable characters without ':' or space", path));
      if (!it.value().is_string() || it.value().get<std::string>().empty() || it.value().get<std::string>()[0] != '$') {
        return Status::Invalid(fmt::format("{}: must be a crypt(3) hash (see `mailnest passwd`)", path));
      }
      c->users[name] = it.value().get<std::string>();
    }
  }
  MN_TRY(r.Bool("read_only", &c->read_only));
  if (const json* o = r.Take("cors_origins")) {
    if (!o->is_array()) return Status::Invalid("http.cors_origins: must be a list of origins");
    c->cors_origins.clear();
    for (const auto& x : *o) {
      if (!x.is_string() || !IsValidOrigin(x.get<std::string>())) {
        return Status::Invalid("http.cors_origins: each entry must be an origin like \"https://console.example:8443\" "
                               "(scheme, lower-case host, optional port, no path)");
      }
      c->cors_origins.push_back(x.get<std::string>());
    }
  }
  return Status::Ok();
}

Status ParseHttp(const json& j, HttpConfig* c) {
  ObjectReader r(j, "http");
  MN_TRY(r.CheckIsObject());
  MN_TRY(ParseListen(r, &c->listen));
  MN_TRY(r.Uint("max_url_length", &c->max_url_length, 64, 65536));
  // h2o 2.2 refuses request heads over 8192 octets by itself (400).
  MN_TRY(r.Uint("max_header_bytes", &c->max_header_bytes, 256, 8192));
  MN_TRY(r.Uint("max_body_bytes", &c->max_body_bytes, 0, uint64_t{1} << 30));
  MN_TRY(r.Uint("idle_timeout_s", &c->idle_timeout_s, 1, 3600));
  MN_TRY(r.Uint("max_wait_s", &c->max_wait_s, 1, 120));
  MN_TRY(r.Uint("max_list_limit", &c->max_list_limit, 1, 100000));
  MN_TRY(r.Uint("max_waiters", &c->max_waiters, 1, 100000));
  MN_TRY(r.Uint("index_rescan_s", &c->index_rescan_s, 0, 86400));
  MN_TRY(r.Uint("event_ring", &c->event_ring, 1, 1000000));
  MN_TRY(r.Uint("max_event_backlog_bytes", &c->max_event_backlog_bytes, 4096, uint64_t{1} << 30));
  MN_TRY(r.Uint("max_subscribers", &c->max_subscribers, 1, 10000));
  MN_TRY(r.Uint("event_heartbeat_s", &c->event_heartbeat_s, 1, 3600));
  MN_TRY(r.Uint("stats_interval_s", &c->stats_interval_s, 1, 3600));
  MN_TRY(r.Uint("event_flush_ms", &c->event_flush_ms, 0, 1000));
  MN_TRY(r.Uint("auth_failure_delay_ms", &c->auth_failure_delay_ms, 0, 60000));
  MN_TRY(r.Uint("max_logins_per_ip", &c->max_logins_per_ip, 1, 100000));
  MN_TRY(r.Uint("session_ring", &c->session_ring, 0, 100000));
  MN_TRY(r.Uint("session_max_lines", &c->session_max_lines, 10, 100000));
  MN_TRY(ParseHttpAccess(r, c));
  MN_TRY(r.Uint("max_parse_bytes", &c->max_parse_bytes, 65536, uint64_t{1} << 30));
  MN_TRY(r.Uint("max_search_scan", &c->max_search_scan, 1, 1000000));
  return r.CheckNoUnknownKeys();
}

// A passwd/group database name as useradd accepts it (checked here so a typo
// fails at load; that the user exists is checked at start, where it is used).
bool IsValidAccountName(const std::string& n) {
  if (n.empty() || n.size() > 32 || n[0] == '-') return false;
  for (unsigned char c : n) {
    if (!(std::isalnum(c) || c == '_' || c == '-' || c == '.')) return false;
  }
  return true;
}

Status ParseRunAs(const json& j, RunAsConfig* c) {
  ObjectReader r(j, "run_as");
  MN_TRY(r.CheckIsObject());
  MN_TRY(r.String("user", &c->user, false));
  MN_TRY(r.String("group", &c->group));
  if (!j.contains("user")) return Status::Invalid("run_as.user: required when run_as is set");
  if (!IsValidAccountName(c->user)) return Status::Invalid("run_as.user: not a valid user name");
  if (!c->group.empty() && !IsValidAccountName(c->group)) {
    return Status::Invalid("run_as.group: not a valid group name");
  }
  return r.CheckNoUnknownKeys();
}

Status ParseUsers(const json& j, Config* c) {
  if (!j.is_object()) return Status::Invalid("users: must be an object of name → {password}");
  c->users.clear();
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& name = it.key();
    std::string path = "users." + name;
    if (!IsValidMailboxName(name)) {
      return Status::Invalid(fmt::format("{}: user name must match [a-z0-9._-]{{1,64}} and not start with '.'", path));
    }
    ObjectReader r(it.value(), path);
    MN_TRY(r.CheckIsObject());
    UserConfig u;
    MN_TRY(r.String("password", &u.password_hash));
    if (!u.password_hash.empty() && u.password_hash[0] != '$') {
      return Status::Invalid(fmt::format("{}.password: must be a crypt(3) hash (see `mailnest passwd`)", path));
    }
    MN_TRY(r.CheckNoUnknownKeys());
    c->users[name] = std::move(u);
  }
  return Status::Ok();
}

Status ParseAliases(const json& j, Config* c) {
  if (!j.is_object()) return Status::Invalid("aliases: must be an object of alias → user or [users]");
  c->aliases.clear();
  for (auto it = j.begin(); it != j.end(); ++it) {
    std::string alias = Lower(it.key());
    std::string path = "aliases." + it.key();
    if (alias.empty() || alias.size() > 64) return Status::Invalid(fmt::format("{}: bad alias name", path));
    std::vector<std::string> targets;
    if (it.value().is_string()) {
      targets.push_back(it.value().get<std::string>());
    } else if (it.value().is_array()) {
      for (const auto& t : it.value()) {
        if (!t.is_string()) return Status::Invalid(fmt::format("{}: targets must be strings", path));
        targets.push_back(t.get<std::string>());
      }
    } else {
      return Status::Invalid(fmt::format("{}: must be a user name or a list of them", path));
    }
    if (targets.empty()) return Status::Invalid(fmt::format("{}: must name at least one user", path));
    for (const auto& t : targets) {
      if (!c->users.count(t)) return Status::Invalid(fmt::format("{}: '{}' is not a configured user", path, t));
    }
    c->aliases[alias] = std::move(targets);
  }
  return Status::Ok();
}

}  // namespace

bool IsValidMailboxName(const std::string& name) {
  if (name.empty() || name.size() > 64 || name[0] == '.') return false;
  for (unsigned char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) return false;
  }
  return true;
}

std::vector<std::string> Config::ResolveLocal(const std::string& local_part) const {
  std::string lp = Lower(local_part);
  if (users.count(lp)) return {lp};
  auto it = aliases.find(lp);
  if (it != aliases.end()) return it->second;
  return {};
}

namespace {

// "host:port" with a non-empty host (name, IPv4, or [IPv6]) and port 1..65535.
bool IsHostPort(const std::string& v) {
  size_t colon = v.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == v.size() || colon + 6 < v.size()) return false;
  std::string host = v.substr(0, colon);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return false;
  } else if (!IsValidHostname(host)) {
    return false;
  }
  uint32_t port = 0;
  for (size_t i = colon + 1; i < v.size(); ++i) {
    if (v[i] < '0' || v[i] > '9') return false;
    port = port * 10 + static_cast<uint32_t>(v[i] - '0');
  }
  return port >= 1 && port <= 65535;
}

Status ParseRelay(const json& j, RelayConfig* c) {
  ObjectReader r(j, "relay");
  MN_TRY(r.CheckIsObject());
  MN_TRY(r.Bool("enabled", &c->enabled));
  if (const json* n = r.Take("networks")) {
    if (!n->is_array()) return Status::Invalid("relay.networks: must be a list of CIDR strings");
    c->network_texts.clear();
    for (const auto& x : *n) {
      if (!x.is_string()) return Status::Invalid("relay.networks: must be a list of CIDR strings");
      c->network_texts.push_back(x.get<std::string>());
    }
  }
  MN_TRY(r.String("queue_dir", &c->queue_dir));
  if (const json* t = r.Take("transport")) {
    if (!t->is_object()) return Status::Invalid("relay.transport: must be an object {\"domain\": \"host:port\"}");
    for (auto it = t->begin(); it != t->end(); ++it) {
      std::string domain = Lower(it.key());
      if (!IsValidHostname(domain) || !it.value().is_string() || !IsHostPort(it.value().get<std::string>())) {
        return Status::Invalid(fmt::format("relay.transport.{}: must map a domain to \"host:port\"", it.key()));
      }
      c->transport[domain] = it.value().get<std::string>();
    }
  }
  MN_TRY(r.String("smarthost", &c->smarthost));
  if (!c->smarthost.empty() && !IsHostPort(c->smarthost)) {
    return Status::Invalid("relay.smarthost: must be \"host:port\" (or \"\" for none)");
  }
  MN_TRY(r.Bool("dns", &c->dns));
  if (const json* d = r.Take("dns_servers")) {
    if (!d->is_array()) return Status::Invalid("relay.dns_servers: must be a list of \"ip:port\" strings");
    c->dns_servers.clear();
    for (const auto& x : *d) {
      std::string v = x.is_string() ? x.get<std::string>() : std::string();
      size_t colon = v.rfind(':');
      std::string host = colon == std::string::npos ? std::string() : v.substr(0, colon);
      if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
      Cidr ip;
      if (!IsHostPort(v) || host.find('/') != std::string::npos || !ParseCidr(host, &ip)) {
        return Status::Invalid("relay.dns_servers: must be a list of \"ip:port\" strings (e.g. \"127.0.0.1:5353\")");
      }
      c->dns_servers.push_back(v);
    }
  }
  MN_TRY(r.Uint("dns_timeout_ms", &c->dns_timeout_ms, 10, 60000));
  MN_TRY(r.Uint("mx_port", &c->mx_port, 1, 65535));
  MN_TRY(r.Uint("minimal_backoff_s", &c->minimal_backoff_s, 1, 86400));
  MN_TRY(r.Uint("maximal_backoff_s", &c->maximal_backoff_s, 1, 864000));
  MN_TRY(r.Uint("max_queue_lifetime_s", &c->max_queue_lifetime_s, 1, 8640000));
  MN_TRY(r.Uint("delay_warning_s", &c->delay_warning_s, 0, 8640000));
  MN_TRY(r.Uint("max_connections", &c->max_connections, 1, 10000));
  MN_TRY(r.Uint("max_per_destination", &c->max_per_destination, 1, 10000));
  MN_TRY(r.Uint("connect_timeout_s", &c->connect_timeout_s, 1, 3600));
  MN_TRY(r.Uint("greeting_timeout_s", &c->greeting_timeout_s, 1, 3600));
  MN_TRY(r.Uint("command_timeout_s", &c->command_timeout_s, 1, 3600));
  MN_TRY(r.Uint("data_init_timeout_s", &c->data_init_timeout_s, 1, 3600));
  MN_TRY(r.Uint("data_block_timeout_s", &c->data_block_timeout_s, 1, 3600));
  MN_TRY(r.Uint("data_term_timeout_s", &c->data_term_timeout_s, 1, 3600));
  MN_TRY(r.Uint("max_reply_line_length", &c->max_reply_line_length, 512, 65536));
  MN_TRY(r.Uint("max_reply_lines", &c->max_reply_lines, 1, 10000));
  MN_TRY(r.Uint("max_queued_messages", &c->max_queued_messages, 1, 10000000));
  MN_TRY(r.Uint("max_received_headers", &c->max_received_headers, 1, 1000));
  MN_TRY(r.Bool("pipelining", &c->pipelining));
  MN_TRY(r.Uint("max_messages_per_connection", &c->max_messages_per_connection, 1, 100000));
  MN_TRY(r.Uint("connection_reuse_idle_ms", &c->connection_reuse_idle_ms, 1, 600000));
  MN_TRY(r.Uint("fresh_cache_bytes", &c->fresh_cache_bytes, 0, 1u << 30));
  if (c->maximal_backoff_s < c->minimal_backoff_s) {
    return Status::Invalid("relay.maximal_backoff_s: must not be below relay.minimal_backoff_s");
  }
  return r.CheckNoUnknownKeys();
}

// relay.networks (defaults included) → parsed prefixes.
Status ParseRelayNetworks(RelayConfig* c) {
  c->networks.clear();
  for (const std::string& t : c->network_texts) {
    Cidr n;
    if (!ParseCidr(t, &n)) {
      return Status::Invalid(fmt::format("relay.networks: \"{}\" is not an address or CIDR prefix", t));
    }
    c->networks.push_back(n);
  }
  return Status::Ok();
}

}  // namespace

Status ParseConfig(const std::string& text, Config* c) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    return Status::Invalid(fmt::format("config: not valid JSON: {}", e.what()));
  }
  ObjectReader r(j, "");
  MN_TRY(r.CheckIsObject());
  MN_TRY(r.String("hostname", &c->hostname));
  if (!c->hostname.empty() && !IsValidHostname(c->hostname)) {
    return Status::Invalid("hostname: must be letters, digits, '-' and '.'");
  }
  MN_TRY(r.String("mail_root", &c->mail_root, false));
  MN_TRY(r.String("log_level", &c->log_level, false));
  if (c->log_level != "debug" && c->log_level != "info" && c->log_level != "warn" && c->log_level != "error") {
    return Status::Invalid("log_level: must be debug, info, warn or error");
  }
  MN_TRY(r.Uint("shutdown_grace_s", &c->shutdown_grace_s, 0, 3600));
  if (const json* d = r.Take("local_domains")) {
    if (!d->is_array() || d->empty()) return Status::Invalid("local_domains: must be a non-empty list of domain names");
    c->local_domains.clear();
    for (const auto& x : *d) {
      if (!x.is_string() || !IsValidHostname(x.get<std::string>())) {
        return Status::Invalid("local_domains: each entry must be a domain name");
      }
      c->local_domains.insert(Lower(x.get<std::string>()));
    }
  }
  if (const json* u = r.Take("users")) MN_TRY(ParseUsers(*u, c));
  if (const json* a = r.Take("aliases")) MN_TRY(ParseAliases(*a, c));
  if (const json* s = r.Take("smtp")) MN_TRY(ParseSmtp(*s, &c->smtp));
  if (const json* p = r.Take("pop3")) MN_TRY(ParsePop3(*p, &c->pop3));
  if (const json* s = r.Take("store")) MN_TRY(ParseStore(*s, &c->store));
  if (const json* a = r.Take("run_as")) MN_TRY(ParseRunAs(*a, &c->run_as));
  if (const json* h = r.Take("http")) MN_TRY(ParseHttp(*h, &c->http));
  if (const json* rl = r.Take("relay")) MN_TRY(ParseRelay(*rl, &c->relay));
  MN_TRY(ParseRelayNetworks(&c->relay));
  if (const json* f = r.Take("faults")) MN_TRY(ParseFaultRules(*f, "faults", &c->faults));
  r.Take("_comment");  // free-text documentation allowed at top level
  MN_TRY(r.CheckNoUnknownKeys());
  if (!c->smtp.listen.enabled && !c->pop3.listen.enabled) {
    return Status::Invalid("smtp.enabled, pop3.enabled: at least one listener must be enabled");
  }
  return Status::Ok();
}

Status LoadConfigFile(const std::string& path, Config* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(fmt::format("config: cannot read {}", path));
  std::stringstream ss;
  ss << in.rdbuf();
  Status s = ParseConfig(ss.str(), out);
  if (!s.ok()) return Status::Invalid(fmt::format("{}: {}", path, s.message()));
  return s;
}

}  // namespace mailnest
