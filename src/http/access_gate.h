// The access step of the HTTP API's prelude (http/api.cc), in this order:
//
//   1. CORS, only for an Origin listed in http.cors_origins: the answer
//      gets Access-Control-Allow-Origin (and Vary: Origin); a preflight
//      (OPTIONS with Access-Control-Request-Method) is answered here, 204,
//      without credentials (browsers send none on a preflight). Any other
//      origin, or no cors_origins: no Access-Control header at all, and
//      OPTIONS goes on to the 405 of the route lookup.
//   2. Basic auth (RFC 7617) when http.users is set: every path but /livez
//      and /readyz (probes carry no credentials). Missing or wrong: 401
//      with WWW-Authenticate. The crypt(3) check runs on a PasswordChecker
//      thread (never the loop); a name not configured is checked against
//      another hash all the same, so both failures take as long. A success
//      is remembered for kRememberMs as a SHA-256 of the credentials, so a
//      polling client does not cost a yescrypt per request. A failure waits
//      http.auth_failure_delay_ms, growing per client address as POP3's
//      (LoginGuard); more than http.max_logins_per_ip checks at once from
//      one address: 429 without a check.
//   3. http.read_only: any method but GET, HEAD and OPTIONS → 403.
//
// Then next(req) (route lookup and the handler). Loop-thread only.
#pragma once

#include <h2o.h>
#include <uv.h>

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "base/config.h"
#include "pop3/login_guard.h"

namespace mailnest {

class DeferredRequest;
class OneShotTimer;
class PasswordChecker;

class AccessGate {
 public:
  using Next = std::function<void(h2o_req_t* req)>;
  static constexpr uint64_t kRememberMs = 60000;
  static constexpr size_t kRememberMax = 256;

  // checker: null when config.users is empty. closing(): answers ask the
  // client to close (server shutting down).
  AccessGate(uv_loop_t* loop, const HttpConfig& config, PasswordChecker* checker, std::function<bool()> closing);
  ~AccessGate();

  // Answers the request (preflight, 401, 403, 503) or calls next, now or
  // after the password check. next must stay callable until then.
  void Admit(h2o_req_t* req, Next next);

 private:
  using Digest = std::array<unsigned char, 32>;
  static Digest Hash(const std::string& user, const std::string& password);
  bool Remembered(const Digest& d);
  void Remember(const Digest& d);
  void Unauthorized(h2o_req_t* req, const char* why);
  void AfterAuth(h2o_req_t* req, const Next& next);
  // The 401 of a failed check, after the address's failure delay.
  void RefuseLater(const std::shared_ptr<DeferredRequest>& deferred, const std::string& address);

  uv_loop_t* loop_;
  const HttpConfig& config_;
  PasswordChecker* checker_;
  std::function<bool()> closing_;
  std::map<Digest, uint64_t> remembered_;  // digest → expiry (uv_now ms)
  LoginGuard guard_;
  // Failure delays running; each timer removes itself when it fires, the
  // rest close with the gate (their 401 is never sent).
  std::map<uint64_t, std::unique_ptr<OneShotTimer>> delays_;
  uint64_t next_delay_ = 0;
};

}  // namespace mailnest
