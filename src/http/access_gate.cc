#include "http/access_gate.h"

#include <openssl/evp.h>
#include <openssl/crypto.h>

#include <netinet/in.h>

#include <memory>
#include <string_view>
#include <utility>

#include "http/basic_auth.h"
#include "http/deferred_request.h"
#include "http/http_reply.h"
#include "net/address_name.h"
#include "pop3/one_shot_timer.h"
#include "pop3/password_checker.h"

namespace mailnest {

namespace {

std::string_view View(h2o_iovec_t v) { return {v.base, v.len}; }

// The value of a request header (by lower-case name), or "" when absent.
std::string_view Header(h2o_req_t* req, std::string_view name) {
  ssize_t i = h2o_find_header_by_str(&req->headers, name.data(), name.size(), -1);
  return i < 0 ? std::string_view() : View(req->headers.entries[i].value);
}

void AddHeader(h2o_req_t* req, std::string_view name, std::string_view value) {
  h2o_iovec_t n = h2o_strdup(&req->pool, name.data(), name.size());
  h2o_iovec_t v = h2o_strdup(&req->pool, value.data(), value.size());
  h2o_add_header_by_str(&req->pool, &req->res.headers, n.base, n.len, 0, nullptr, v.base, v.len);
}

// The client's address without the port: the key POP3's LoginGuard uses.
std::string ClientAddress(h2o_req_t* req) {
  sockaddr_storage sa{};
  if (!req->conn || !req->conn->callbacks->get_peername) return "";
  if (req->conn->callbacks->get_peername(req->conn, reinterpret_cast<sockaddr*>(&sa)) == 0) return "";
  return AddressHost(reinterpret_cast<sockaddr*>(&sa));
}

bool IsRead(std::string_view method) { return method == "GET" || method == "HEAD" || method == "OPTIONS"; }

}  // namespace

AccessGate::AccessGate(uv_loop_t* loop, const HttpConfig& config, PasswordChecker* checker,
                       std::function<bool()> closing)
    : loop_(loop),
      config_(config),
      checker_(checker),
      closing_(std::move(closing)),
      guard_(config.max_logins_per_ip, config.auth_failure_delay_ms) {}

AccessGate::~AccessGate() = default;

void AccessGate::Admit(h2o_req_t* req, Next next) {
  std::string_view method = View(req->method);
  std::string_view path = View(req->path);
  if (req->query_at != SIZE_MAX) path = path.substr(0, req->query_at);

  // 1. CORS.
  std::string_view origin = Header(req, "origin");
  if (!origin.empty() && OriginAllowed(config_.cors_origins, origin)) {
    AddHeader(req, "access-control-allow-origin", origin);
    AddHeader(req, "vary", "Origin");
    if (method == "OPTIONS" && !Header(req, "access-control-request-method").empty()) {
      return Send(req, 204, "", "", closing_(),
                  {{"access-control-allow-methods", config_.read_only ? "GET, HEAD" : "GET, HEAD, POST, PUT, DELETE"},
                   {"access-control-allow-headers", "Authorization, Content-Type, Last-Event-ID"},
                   {"access-control-max-age", "600"}});
    }
  }

  // 2. Basic auth.
  if (!checker_ || config_.users.empty() || path == "/livez" || path == "/readyz") return AfterAuth(req, next);
  std::string user, password;
  std::string_view header = Header(req, "authorization");
  if (header.empty()) return Unauthorized(req, "authentication required");
  if (!ParseBasicAuth(header, &user, &password)) return Unauthorized(req, "malformed Basic credentials");
  Digest digest = Hash(user, password);
  if (Remembered(digest)) {
    OPENSSL_cleanse(password.data(), password.size());
    return AfterAuth(req, next);
  }
  auto it = config_.users.find(user);
  const bool known = it != config_.users.end();
  const std::string& hash = known ? it->second : config_.users.begin()->second;
  std::string address = ClientAddress(req);
  if (!guard_.Begin(address)) {
    OPENSSL_cleanse(password.data(), password.size());
    return SendError(req, 429, "too many logins from this address at once, try again later", closing_());
  }
  auto deferred = DeferredRequest::Make(req);
  bool queued =
      checker_->Submit(std::move(password), hash, [this, deferred, known, digest, next, address](bool match) {
        if (!match || !known) return RefuseLater(deferred, address);
        guard_.Succeeded(address);
        guard_.End(address);
        h2o_req_t* r = deferred->Take();
        if (!r) return;  // the client went away
        Remember(digest);
        AfterAuth(r, next);
      });
  if (!queued) {
    guard_.End(address);
    if (h2o_req_t* r = deferred->Take()) SendError(r, 503, "too many password checks waiting", closing_());
  }
}

void AccessGate::RefuseLater(const std::shared_ptr<DeferredRequest>& deferred, const std::string& address) {
  uint64_t delay = guard_.Failed(address);
  uint64_t key = next_delay_++;
  auto timer = std::make_unique<OneShotTimer>(loop_);
  OneShotTimer* t = timer.get();
  delays_.emplace(key, std::move(timer));
  t->Start(delay, [this, deferred, address, key] {
    guard_.End(address);
    if (h2o_req_t* r = deferred->Take()) Unauthorized(r, "wrong user name or password");
    delays_.erase(key);  // the timer itself: safe, its callback was moved out first
  });
}

void AccessGate::AfterAuth(h2o_req_t* req, const Next& next) {
  // 3. Read-only.
  if (config_.read_only && !IsRead(View(req->method))) {
    return SendError(req, 403, "read-only: http.read_only is set", closing_());
  }
  next(req);
}

void AccessGate::Unauthorized(h2o_req_t* req, const char* why) {
  AddHeader(req, "www-authenticate", "Basic realm=\"mailnest\", charset=\"UTF-8\"");
  SendError(req, 401, why, closing_());
}

AccessGate::Digest AccessGate::Hash(const std::string& user, const std::string& password) {
  Digest d{};
  std::string both = user;
  both.push_back('\0');
  both += password;
  unsigned int n = 0;
  EVP_Digest(both.data(), both.size(), d.data(), &n, EVP_sha256(), nullptr);
  OPENSSL_cleanse(both.data(), both.size());
  return d;
}

bool AccessGate::Remembered(const Digest& d) {
  auto it = remembered_.find(d);
  if (it == remembered_.end()) return false;
  if (it->second > uv_now(loop_)) return true;
  remembered_.erase(it);
  return false;
}

void AccessGate::Remember(const Digest& d) {
  if (remembered_.size() >= kRememberMax) remembered_.clear();  // bounded; the next request checks again
  remembered_[d] = uv_now(loop_) + kRememberMs;
}

}  // namespace mailnest
