#include "relay/mx_resolver.h"

#include <ares.h>
#include <arpa/nameser.h>
#include <fmt/format.h>

#include <algorithm>
#include <mutex>
#include <random>

#include "net/address_name.h"

namespace mailnest {

namespace {

std::string Lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

bool Temporary(int status) { return status != ARES_ENOTFOUND && status != ARES_ENODATA; }

}  // namespace

std::vector<MxRecord> OrderMx(std::vector<MxRecord> records, const std::string& self,
                              const std::function<size_t(size_t)>& rnd, bool* loops) {
  *loops = false;
  // c-ares returns wire order: sort by preference, then shuffle each run
  // of equal preferences (RFC 5321 §5.1).
  std::stable_sort(records.begin(), records.end(),
                   [](const MxRecord& a, const MxRecord& b) { return a.preference < b.preference; });
  for (size_t i = 0; i < records.size();) {
    size_t j = i;
    while (j < records.size() && records[j].preference == records[i].preference) ++j;
    for (size_t k = j - i; k > 1; --k) std::swap(records[i + k - 1], records[i + rnd(k)]);
    i = j;
  }
  // Ourselves in the list: only more preferred hosts may be used.
  const std::string me = Lower(self);
  for (size_t i = 0; i < records.size(); ++i) {
    if (!me.empty() && Lower(records[i].host) == me) {
      int pref = records[i].preference;
      records.erase(std::remove_if(records.begin(), records.end(),
                                   [pref](const MxRecord& r) { return r.preference >= pref; }),
                    records.end());
      if (records.empty()) *loops = true;
      break;
    }
  }
  return records;
}

struct MxResolver::Lookup {
  MxResolver* owner;
  std::string domain;
  std::function<void(MxAnswer)> done;
  std::vector<MxRecord> hosts;
  size_t next_host = 0;
  bool any_temp = false;
  std::string last_error;
  MxAnswer answer;
};

MxResolver::MxResolver(uv_loop_t* loop, std::string self_hostname) : loop_(loop), self_(std::move(self_hostname)) {}

MxResolver::~MxResolver() {
  if (!shutting_down_) Shutdown();
}

Status MxResolver::Init(const std::vector<std::string>& servers, uint32_t timeout_ms) {
  static std::once_flag once;
  static int lib_status = ARES_SUCCESS;
  std::call_once(once, [] { lib_status = ares_library_init(ARES_LIB_INIT_ALL); });
  if (lib_status != ARES_SUCCESS) return Status::IoError(fmt::format("c-ares: {}", ares_strerror(lib_status)));
  ares_options opts{};
  opts.sock_state_cb = [](void* data, ares_socket_t fd, int r, int w) { OnSockState(data, fd, r, w); };
  opts.sock_state_cb_data = this;
  opts.timeout = static_cast<int>(timeout_ms);
  opts.tries = 2;
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
  int r = ares_init_options(&channel_, &opts, mask);
  if (r != ARES_SUCCESS) return Status::IoError(fmt::format("c-ares init: {}", ares_strerror(r)));
  if (!servers.empty()) {
    std::string csv;
    for (const std::string& s : servers) csv += (csv.empty() ? "" : ",") + s;
    r = ares_set_servers_ports_csv(channel_, csv.c_str());
    if (r != ARES_SUCCESS) return Status::Invalid(fmt::format("relay.dns_servers: {}", ares_strerror(r)));
  }
  timer_ = new TimerBox{{}, this};
  uv_timer_init(loop_, &timer_->timer);
  timer_->timer.data = timer_;
  return Status::Ok();
}

void MxResolver::OnSockState(void* data, int fd, int readable, int writable) {
  auto* self = static_cast<MxResolver*>(data);
  auto it = self->polls_.find(fd);
  if (!readable && !writable) {
    if (it == self->polls_.end()) return;
    Poll* p = it->second;
    self->polls_.erase(it);
    uv_poll_stop(&p->handle);
    uv_close(reinterpret_cast<uv_handle_t*>(&p->handle), [](uv_handle_t* h) { delete static_cast<Poll*>(h->data); });
    return;
  }
  Poll* p;
  if (it == self->polls_.end()) {
    p = new Poll{{}, self, fd};
    if (uv_poll_init_socket(self->loop_, &p->handle, fd) != 0) {
      delete p;
      return;
    }
    p->handle.data = p;
    self->polls_[fd] = p;
  } else {
    p = it->second;
  }
  int events = (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0);
  uv_poll_start(&p->handle, events, [](uv_poll_t* h, int status, int ev) {
    auto* poll = static_cast<Poll*>(h->data);
    MxResolver* owner = poll->owner;
    if (!owner || !owner->channel_) return;
    int rfd = (status < 0 || (ev & UV_READABLE)) ? poll->fd : ARES_SOCKET_BAD;
    int wfd = (status < 0 || (ev & UV_WRITABLE)) ? poll->fd : ARES_SOCKET_BAD;
    ares_process_fd(owner->channel_, rfd, wfd);  // may close this poll (OnSockState)
    owner->UpdateTimer();
  });
}

void MxResolver::UpdateTimer() {
  if (!timer_ || !channel_) return;
  timeval tv;
  if (!ares_timeout(channel_, nullptr, &tv)) {
    uv_timer_stop(&timer_->timer);
    return;
  }
  uint64_t ms = uint64_t(tv.tv_sec) * 1000 + uint64_t(tv.tv_usec) / 1000;
  uv_timer_start(
      &timer_->timer,
      [](uv_timer_t* t) {
        auto* box = static_cast<TimerBox*>(t->data);
        if (!box->owner || !box->owner->channel_) return;
        ares_process_fd(box->owner->channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
        box->owner->UpdateTimer();
      },
      ms == 0 ? 1 : ms, 0);
}

void MxResolver::ResolveMx(const std::string& domain, std::function<void(MxAnswer)> done) {
  if (!channel_ || shutting_down_) {
    MxAnswer a;
    a.error = "DNS resolver not available";
    return done(std::move(a));
  }
  auto* l = new Lookup{this, domain, std::move(done)};
  ares_query(channel_, domain.c_str(), ns_c_in, ns_t_mx, OnMx, l);
  UpdateTimer();
}

void MxResolver::OnMx(void* arg, int status, int, unsigned char* abuf, int alen) {
  auto* l = static_cast<Lookup*>(arg);
  MxResolver* self = l->owner;
  MxAnswer a;
  if (status == ARES_ENOTFOUND) {
    a.kind = MxAnswer::Kind::kNxDomain;
    a.error = fmt::format("Host or domain name not found. Name service error for name={} type=MX: Host not found",
                          l->domain);
    return self->Finish(l, std::move(a));
  }
  if (status == ARES_ENODATA) {  // no MX: the domain is its own implicit MX
    l->hosts.push_back(MxRecord{l->domain, 0});
    return self->LookupNextHost(l);
  }
  if (status != ARES_SUCCESS) {
    a.error = fmt::format("Name service error for name={} type=MX: {}", l->domain, ares_strerror(status));
    return self->Finish(l, std::move(a));
  }
  ares_mx_reply* mx = nullptr;
  int r = ares_parse_mx_reply(abuf, alen, &mx);
  if (r == ARES_ENODATA) {
    l->hosts.push_back(MxRecord{l->domain, 0});
    return self->LookupNextHost(l);
  }
  if (r != ARES_SUCCESS) {
    a.error = fmt::format("malformed MX answer for {}: {}", l->domain, ares_strerror(r));
    return self->Finish(l, std::move(a));
  }
  std::vector<MxRecord> records;
  bool null_mx = false;
  for (ares_mx_reply* m = mx; m; m = m->next) {
    std::string host = m->host ? m->host : "";
    if (host.empty() || host == ".") null_mx = true;
    records.push_back(MxRecord{host, m->priority});
  }
  ares_free_data(mx);
  if (null_mx) {  // RFC 7505: "MX 0 ." says the domain takes no mail
    a.kind = MxAnswer::Kind::kNullMx;
    a.error = fmt::format("Domain {} does not accept mail (nullMX)", l->domain);
    return self->Finish(l, std::move(a));
  }
  static thread_local std::mt19937 gen{std::random_device{}()};
  bool loops = false;
  l->hosts = OrderMx(std::move(records), self->self_,
                     [](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(gen); }, &loops);
  if (loops) {
    a.kind = MxAnswer::Kind::kLoop;
    a.error = fmt::format("mail for {} loops back to myself", l->domain);
    return self->Finish(l, std::move(a));
  }
  if (l->hosts.size() > kMaxHosts) l->hosts.resize(kMaxHosts);
  self->LookupNextHost(l);
}

void MxResolver::LookupNextHost(Lookup* l) {
  if (l->next_host >= l->hosts.size() || l->answer.targets.size() >= kMaxAddresses) {
    MxAnswer a = std::move(l->answer);
    if (!a.targets.empty()) {
      a.kind = MxAnswer::Kind::kHosts;
    } else if (l->any_temp) {
      a.kind = MxAnswer::Kind::kTempFail;
      a.error = l->last_error;
    } else {
      // No address for any host: an implicit MX that does not exist is
      // NXDOMAIN; an MX host without addresses is a configuration error
      // of the domain, which Postfix too treats as temporary.
      a.kind = l->hosts.size() == 1 && l->hosts[0].host == l->domain ? MxAnswer::Kind::kNxDomain
                                                                      : MxAnswer::Kind::kTempFail;
      a.error = l->last_error;
    }
    return Finish(l, std::move(a));
  }
  const std::string host = l->hosts[l->next_host++].host;
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  struct Ctx {
    Lookup* l;
    std::string host;
  };
  ares_getaddrinfo(
      channel_, host.c_str(), nullptr, &hints,
      [](void* arg, int status, int, ares_addrinfo* res) {
        std::unique_ptr<Ctx> c(static_cast<Ctx*>(arg));
        Lookup* l = c->l;
        if (status == ARES_SUCCESS && res) {
          for (ares_addrinfo_node* n = res->nodes; n; n = n->ai_next) {
            if (l->answer.targets.size() >= kMaxAddresses) break;
            std::string ip = AddressHost(n->ai_addr);
            if (!ip.empty()) l->answer.targets.push_back(MxTarget{c->host, ip});
          }
        } else {
          if (Temporary(status)) l->any_temp = true;
          l->last_error = fmt::format("Host or domain name not found. Name service error for name={} type=A: {}",
                                      c->host, ares_strerror(status));
        }
        if (res) ares_freeaddrinfo(res);
        if (status == ARES_EDESTRUCTION || l->owner->shutting_down_) {
          MxAnswer a;
          a.error = "DNS lookup cancelled: shutting down";
          return l->owner->Finish(l, std::move(a));
        }
        l->owner->LookupNextHost(l);
      },
      new Ctx{l, host});
  UpdateTimer();
}

void MxResolver::Finish(Lookup* l, MxAnswer answer) {
  std::unique_ptr<Lookup> own(l);
  auto done = std::move(l->done);
  done(std::move(answer));
}

void MxResolver::Shutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  if (channel_) {
    ares_destroy(channel_);  // pending callbacks run with ARES_EDESTRUCTION
    channel_ = nullptr;
  }
  for (auto& [fd, p] : polls_) {
    p->owner = nullptr;
    uv_poll_stop(&p->handle);
    uv_close(reinterpret_cast<uv_handle_t*>(&p->handle), [](uv_handle_t* h) { delete static_cast<Poll*>(h->data); });
  }
  polls_.clear();
  if (timer_) {
    timer_->owner = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_->timer),
             [](uv_handle_t* h) { delete static_cast<TimerBox*>(h->data); });
    timer_ = nullptr;
  }
}

}  // namespace mailnest
