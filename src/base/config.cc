#include "base/config.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

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
