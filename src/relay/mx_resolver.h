// DNS for the relay: MX lookups (RFC 5321 §5.1, RFC 7505) with c-ares,
// driven from the loop: one uv_poll_t per socket c-ares opens (told by
// ARES_OPT_SOCK_STATE_CB) and one uv_timer_t for its timeouts, as Node's
// cares_wrap does. Every callback runs on the loop thread.
//
// ResolveMx(domain) answers with the addresses to try, in order:
//  - MX records sorted by preference, equal preferences shuffled; a
//    domain with no MX (NODATA) is its own implicit MX (A/AAAA);
//  - an MX host that is ourselves (relay hostname) is dropped with every
//    host of the same or lower preference; nothing left: kLoop;
//  - the MX hosts' addresses (A and AAAA, c-ares's getaddrinfo on the
//    same servers), at most kMaxHosts hosts and kMaxAddresses addresses.
// Null MX ("MX 0 .") → kNullMx; NXDOMAIN → kNxDomain; a timeout, SERVFAIL
// or a refused query → kTempFail.
//
// Ownership: every uv handle is on the heap and freed in its close
// callback. Shutdown() cancels pending lookups (their callbacks run with
// kTempFail and shutting_down) and closes the handles; call it before the
// loop stops. Destroying without Shutdown() leaks the handles on purpose.
#pragma once

#include <uv.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

struct ares_channeldata;

namespace mailnest {

struct MxTarget {
  std::string host;     // the MX host name (for logs and Remote-MTA)
  std::string address;  // an IP literal to connect to
};

struct MxAnswer {
  enum class Kind { kHosts, kNullMx, kNxDomain, kTempFail, kLoop } kind = Kind::kTempFail;
  std::vector<MxTarget> targets;  // kHosts: most preferred first
  std::string error;              // otherwise: what happened, for the DSN and logs
};

// Pure: sorts MX records by preference, shuffling equal ones with rnd,
// drops self and everything not more preferred than it. Exposed for tests.
struct MxRecord {
  std::string host;
  int preference = 0;
};
std::vector<MxRecord> OrderMx(std::vector<MxRecord> records, const std::string& self,
                              const std::function<size_t(size_t)>& rnd, bool* loops);

class MxResolver {
 public:
  static constexpr size_t kMaxHosts = 10;
  static constexpr size_t kMaxAddresses = 16;

  MxResolver(uv_loop_t* loop, std::string self_hostname);
  ~MxResolver();
  MxResolver(const MxResolver&) = delete;
  MxResolver& operator=(const MxResolver&) = delete;

  // servers: "ip:port" list ("" entries not allowed); empty = the system's.
  Status Init(const std::vector<std::string>& servers, uint32_t timeout_ms);
  void ResolveMx(const std::string& domain, std::function<void(MxAnswer)> done);
  void Shutdown();

  struct Lookup;  // one ResolveMx in flight

 private:
  struct Poll {
    uv_poll_t handle;
    MxResolver* owner;
    int fd;
  };
  struct TimerBox {
    uv_timer_t timer;
    MxResolver* owner;
  };
  static void OnSockState(void* data, int fd, int readable, int writable);
  static void OnMx(void* arg, int status, int timeouts, unsigned char* abuf, int alen);
  void LookupNextHost(Lookup* l);
  void Finish(Lookup* l, MxAnswer answer);
  void UpdateTimer();

  uv_loop_t* loop_;
  std::string self_;
  ares_channeldata* channel_ = nullptr;
  std::map<int, Poll*> polls_;
  TimerBox* timer_ = nullptr;
  bool shutting_down_ = false;
};

}  // namespace mailnest
