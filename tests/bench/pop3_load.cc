// pop3-load: parallel POP3 sessions against one server, for scripts/bench-pop3.
//
// One thread, epoll, non-blocking sockets: the 2-core bench machine is shared
// with the server, so the client must spend little CPU per message (one
// recv() carries many pipelined replies). Each slot runs sessions back to
// back for one user:
//   greeting → USER+PASS → STAT+LIST → RETR 1..n (up to --depth in flight,
//   RFC 2449 PIPELINING) → QUIT → next session
// until --duration has passed (then in-flight RETRs finish and the session
// QUITs) or --max-sessions sessions have started.
// Every RETR reply must end with CRLF.CRLF and its un-stuffed size must equal
// the LIST size; any mismatch or protocol error makes the exit status 1.
// The last output line is machine-readable:
//   RESULT retr=N retr_per_s=X logins=N logins_per_s=X sessions=N ...
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "pop3_reply_scanner.h"

namespace mailnest::bench {
namespace {

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

struct User {
  std::string name, password;
};

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::vector<User> users;
  int sessions = 0;          // 0 = one slot per user
  double duration_s = 5;
  int64_t max_sessions = 0;  // 0 = unlimited
  int depth = 16;            // RETRs in flight per session
  bool retr = true;          // false: USER/PASS/STAT/QUIT only (login rate)
  double timeout_s = 30;     // no progress on a session for this long = error
  double grace_s = 60;       // hard stop this long after --duration
  bool quiet = false;
};

enum class Expect : uint8_t { kGreeting, kUser, kPass, kStat, kList, kRetr, kQuit };

struct Pending {
  Expect what;
  uint32_t index;  // kRetr: index into Slot::list
};

struct Stats {
  int64_t sessions_started = 0, sessions_done = 0, logins = 0, retr = 0, octets = 0;
  int64_t errors = 0, size_mismatch = 0, lock_busy = 0;
};

struct Slot {
  int id = 0;
  const User* user = nullptr;
  int fd = -1;
  bool connecting = false;
  bool want_out = false;        // EPOLLOUT registered
  bool done = false;            // this slot starts no more sessions
  int64_t retry_at = 0;         // >0: reconnect at this time (mailbox was locked)
  int64_t last_progress = 0;
  std::vector<char> in = std::vector<char>(64 * 1024);
  size_t rpos = 0, wpos = 0;
  std::string out;
  size_t opos = 0;
  std::deque<Pending> expect;
  ReplyScanner scanner;
  uint64_t stat_count = 0;
  std::vector<std::pair<uint32_t, uint64_t>> list;
  size_t next_retr = 0;
  int retr_inflight = 0;
};

class LoadClient {
 public:
  explicit LoadClient(const Options& o) : opt_(o) {}

  int Run() {
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) {
      perror("epoll_create1");
      return 2;
    }
    memset(&addr_, 0, sizeof addr_);
    addr_.sin_family = AF_INET;
    addr_.sin_port = htons(static_cast<uint16_t>(opt_.port));
    if (inet_pton(AF_INET, opt_.host.c_str(), &addr_.sin_addr) != 1) {
      fprintf(stderr, "pop3-load: bad IPv4 address %s\n", opt_.host.c_str());
      return 2;
    }
    int n = opt_.sessions > 0 ? opt_.sessions : static_cast<int>(opt_.users.size());
    slots_.resize(static_cast<size_t>(n));
    start_ = NowNs();
    deadline_ = start_ + static_cast<int64_t>(opt_.duration_s * 1e9);
    hard_deadline_ = deadline_ + static_cast<int64_t>(opt_.grace_s * 1e9);
    for (int i = 0; i < n; ++i) {
      Slot& s = slots_[static_cast<size_t>(i)];
      s.id = i;
      s.user = &opt_.users[static_cast<size_t>(i) % opt_.users.size()];
      StartSession(&s);
    }
    std::vector<epoll_event> events(256);
    int64_t last_sweep = start_;
    while (true) {
      bool any_active = false;
      int64_t next_retry = 0;
      for (Slot& s : slots_) {
        if (s.fd >= 0) any_active = true;
        if (s.fd < 0 && !s.done && s.retry_at > 0) {
          any_active = true;
          if (next_retry == 0 || s.retry_at < next_retry) next_retry = s.retry_at;
        }
      }
      if (!any_active) break;
      int64_t now = NowNs();
      int wait_ms = 100;
      if (next_retry > 0) wait_ms = static_cast<int>(std::clamp<int64_t>((next_retry - now) / 1000000, 0, 100));
      int got = epoll_wait(ep_, events.data(), static_cast<int>(events.size()), wait_ms);
      if (got < 0 && errno != EINTR) {
        perror("epoll_wait");
        return 2;
      }
      for (int i = 0; i < got; ++i) OnEvent(static_cast<Slot*>(events[static_cast<size_t>(i)].data.ptr),
                                            events[static_cast<size_t>(i)].events);
      now = NowNs();
      for (Slot& s : slots_) {
        if (s.fd < 0 && !s.done && s.retry_at > 0 && now >= s.retry_at) {
          s.retry_at = 0;
          StartSession(&s);
        }
      }
      if (now - last_sweep > 100000000) {  // timeouts, 10x a second is plenty
        last_sweep = now;
        for (Slot& s : slots_) {
          if (s.fd < 0) continue;
          if (now >= hard_deadline_) {
            Fail(&s, "hard deadline reached (--duration + --grace)");
          } else if (now - s.last_progress > static_cast<int64_t>(opt_.timeout_s * 1e9)) {
            Fail(&s, "no reply within --timeout");
          }
        }
      }
    }
    end_ = NowNs();
    close(ep_);
    return Report();
  }

 private:
  void StartSession(Slot* s) {
    int64_t now = NowNs();
    if (now >= deadline_ || (opt_.max_sessions > 0 && stats_.sessions_started >= opt_.max_sessions)) {
      s->done = true;
      return;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      perror("socket");
      s->done = true;
      ++stats_.errors;
      return;
    }
    int one = 1;
    // Commands go out in batches we build ourselves; don't let Nagle hold
    // the last one back waiting for an ACK.
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int rc = connect(fd, reinterpret_cast<const sockaddr*>(&addr_), sizeof addr_);
    if (rc != 0 && errno != EINPROGRESS) {
      fprintf(stderr, "pop3-load: connect: %s\n", strerror(errno));
      close(fd);
      s->done = true;
      ++stats_.errors;
      return;
    }
    s->fd = fd;
    s->connecting = true;
    s->want_out = true;
    s->rpos = s->wpos = 0;
    s->out.clear();
    s->opos = 0;
    s->expect.clear();
    s->expect.push_back({Expect::kGreeting, 0});
    s->scanner.Reset();
    s->list.clear();
    s->next_retr = 0;
    s->retr_inflight = 0;
    s->stat_count = 0;
    s->last_progress = now;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.ptr = s;
    epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
    ++stats_.sessions_started;
  }

  void CloseSession(Slot* s) {
    if (s->fd < 0) return;
    epoll_ctl(ep_, EPOLL_CTL_DEL, s->fd, nullptr);
    close(s->fd);
    s->fd = -1;
  }

  void Fail(Slot* s, const std::string& why) {
    ++stats_.errors;
    if (stats_.errors <= 10) fprintf(stderr, "pop3-load: session %d (%s): %s\n", s->id, s->user->name.c_str(), why.c_str());
    CloseSession(s);
    s->done = true;  // a broken server would only fail again; stop this slot
  }

  void OnEvent(Slot* s, uint32_t events) {
    if (s->fd < 0) return;
    if (s->connecting) {
      if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) return Fail(s, std::string("connect: ") + strerror(err));
        s->connecting = false;
      } else {
        return;
      }
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
      if (!ReadAndProcess(s)) return;
    }
    if (s->fd >= 0) Flush(s);
  }

  // Returns false when the session was closed.
  bool ReadAndProcess(Slot* s) {
    for (int rounds = 0; rounds < 4; ++rounds) {
      if (s->rpos == s->wpos) s->rpos = s->wpos = 0;
      if (s->in.size() - s->wpos < 16 * 1024) {
        memmove(s->in.data(), s->in.data() + s->rpos, s->wpos - s->rpos);
        s->wpos -= s->rpos;
        s->rpos = 0;
        if (s->in.size() - s->wpos < 16 * 1024) s->in.resize(s->in.size() * 2);
      }
      ssize_t n = recv(s->fd, s->in.data() + s->wpos, s->in.size() - s->wpos, 0);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) break;
        Fail(s, std::string("recv: ") + strerror(errno));
        return false;
      }
      if (n == 0) {
        Fail(s, s->expect.empty() ? "server closed the connection" : "server closed the connection mid-reply");
        return false;
      }
      s->wpos += static_cast<size_t>(n);
      s->last_progress = NowNs();
      if (!ProcessReplies(s)) return false;
      if (static_cast<size_t>(n) < 16 * 1024) break;  // drained, most likely
    }
    return true;
  }

  bool ProcessReplies(Slot* s) {
    while (!s->expect.empty() && s->rpos < s->wpos) {
      Pending p = s->expect.front();
      bool multi = p.what == Expect::kList || p.what == Expect::kRetr;
      Pop3Reply r;
      size_t used = s->scanner.Scan(s->in.data() + s->rpos, s->wpos - s->rpos, multi, &r);
      if (used == 0) break;
      s->expect.pop_front();
      bool alive = Handle(s, p, r);
      if (!alive) return false;
      s->rpos += used;
    }
    return true;
  }

  // Returns false when the session was closed.
  bool Handle(Slot* s, const Pending& p, const Pop3Reply& r) {
    switch (p.what) {
      case Expect::kGreeting:
        if (!r.ok) return Fail(s, "greeting: " + std::string(r.status)), false;
        s->out += "USER " + s->user->name + "\r\nPASS " + s->user->password + "\r\n";
        s->expect.push_back({Expect::kUser, 0});
        s->expect.push_back({Expect::kPass, 0});
        return true;
      case Expect::kUser:
        if (!r.ok) return Fail(s, "USER: " + std::string(r.status)), false;
        return true;
      case Expect::kPass:
        if (!r.ok) {
          if (r.status.find("[IN-USE]") != std::string_view::npos) {
            // RFC 2449: the maildrop is locked (our previous session for this
            // user may still be closing). Not an error: try again shortly.
            ++stats_.lock_busy;
            --stats_.sessions_started;
            CloseSession(s);
            s->retry_at = NowNs() + 2000000;
            return false;
          }
          return Fail(s, "PASS: " + std::string(r.status)), false;
        }
        ++stats_.logins;
        if (opt_.retr) {
          s->out += "STAT\r\nLIST\r\n";
          s->expect.push_back({Expect::kStat, 0});
          s->expect.push_back({Expect::kList, 0});
        } else {
          s->out += "STAT\r\nQUIT\r\n";
          s->expect.push_back({Expect::kStat, 0});
          s->expect.push_back({Expect::kQuit, 0});
        }
        return true;
      case Expect::kStat: {
        if (!r.ok) return Fail(s, "STAT: " + std::string(r.status)), false;
        s->stat_count = strtoull(std::string(r.status.substr(3)).c_str(), nullptr, 10);
        return true;
      }
      case Expect::kList:
        if (!r.ok) return Fail(s, "LIST: " + std::string(r.status)), false;
        if (!ParseListBody(r.body, &s->list)) return Fail(s, "LIST: malformed scan listing"), false;
        if (s->list.size() != s->stat_count) {
          return Fail(s, "LIST has " + std::to_string(s->list.size()) + " messages, STAT said " +
                             std::to_string(s->stat_count)), false;
        }
        QueueRetrs(s);
        return true;
      case Expect::kRetr:
        --s->retr_inflight;
        if (!r.ok) return Fail(s, "RETR: " + std::string(r.status)), false;
        if (r.body_octets != s->list[p.index].second) {
          ++stats_.size_mismatch;
          if (stats_.size_mismatch <= 5) {
            fprintf(stderr, "pop3-load: %s RETR %u: %zu octets, LIST said %llu\n", s->user->name.c_str(),
                    s->list[p.index].first, r.body_octets,
                    static_cast<unsigned long long>(s->list[p.index].second));
          }
        }
        ++stats_.retr;
        stats_.octets += static_cast<int64_t>(r.body_octets);
        QueueRetrs(s);
        return true;
      case Expect::kQuit:
        if (!r.ok) return Fail(s, "QUIT: " + std::string(r.status)), false;
        ++stats_.sessions_done;
        CloseSession(s);
        StartSession(s);
        return false;  // the old buffer is gone either way
    }
    return true;
  }

  // Keeps up to --depth RETRs in flight; QUIT once the mailbox is done or
  // the measuring window has closed.
  void QueueRetrs(Slot* s) {
    bool window_open = NowNs() < deadline_;
    while (window_open && s->retr_inflight < opt_.depth && s->next_retr < s->list.size()) {
      s->out += "RETR " + std::to_string(s->list[s->next_retr].first) + "\r\n";
      s->expect.push_back({Expect::kRetr, static_cast<uint32_t>(s->next_retr)});
      ++s->next_retr;
      ++s->retr_inflight;
    }
    if (s->retr_inflight == 0 && (!window_open || s->next_retr == s->list.size())) {
      s->out += "QUIT\r\n";
      s->expect.push_back({Expect::kQuit, 0});
    }
  }

  void Flush(Slot* s) {
    while (s->opos < s->out.size()) {
      ssize_t n = send(s->fd, s->out.data() + s->opos, s->out.size() - s->opos, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) break;
        return Fail(s, std::string("send: ") + strerror(errno));
      }
      s->opos += static_cast<size_t>(n);
    }
    if (s->opos == s->out.size()) {
      s->out.clear();
      s->opos = 0;
    }
    bool need_out = s->connecting || !s->out.empty();
    if (need_out != s->want_out) {
      epoll_event ev{};
      ev.events = EPOLLIN | (need_out ? EPOLLOUT : 0u);
      ev.data.ptr = s;
      epoll_ctl(ep_, EPOLL_CTL_MOD, s->fd, &ev);
      s->want_out = need_out;
    }
  }

  int Report() {
    double secs = static_cast<double>(end_ - start_) / 1e9;
    double retr_rate = static_cast<double>(stats_.retr) / secs;
    double login_rate = static_cast<double>(stats_.logins) / secs;
    if (!opt_.quiet) {
      printf("pop3-load: %zu slots, %zu users, depth %d, %.2f s\n", slots_.size(), opt_.users.size(), opt_.depth, secs);
      printf("  logins     %10lld  %10.1f /s\n", static_cast<long long>(stats_.logins), login_rate);
      printf("  RETR       %10lld  %10.1f /s  (%.1f MB/s)\n", static_cast<long long>(stats_.retr), retr_rate,
             static_cast<double>(stats_.octets) / secs / 1e6);
      printf("  sessions   %10lld done, %lld started, %lld lock-busy retries\n",
             static_cast<long long>(stats_.sessions_done), static_cast<long long>(stats_.sessions_started),
             static_cast<long long>(stats_.lock_busy));
      printf("  errors     %10lld  size mismatches %lld\n", static_cast<long long>(stats_.errors),
             static_cast<long long>(stats_.size_mismatch));
    }
    printf("RESULT retr=%lld retr_per_s=%.1f logins=%lld logins_per_s=%.2f sessions=%lld errors=%lld "
           "size_mismatch=%lld lock_busy=%lld octets=%lld elapsed_s=%.3f\n",
           static_cast<long long>(stats_.retr), retr_rate, static_cast<long long>(stats_.logins), login_rate,
           static_cast<long long>(stats_.sessions_done), static_cast<long long>(stats_.errors),
           static_cast<long long>(stats_.size_mismatch), static_cast<long long>(stats_.lock_busy),
           static_cast<long long>(stats_.octets), secs);
    bool ok = stats_.errors == 0 && stats_.size_mismatch == 0 && stats_.logins > 0 &&
              (!opt_.retr || stats_.retr > 0);
    return ok ? 0 : 1;
  }

  Options opt_;
  int ep_ = -1;
  sockaddr_in addr_;
  std::vector<Slot> slots_;
  Stats stats_;
  int64_t start_ = 0, end_ = 0, deadline_ = 0, hard_deadline_ = 0;
};

// --self-test: the scanner on canned replies, fed whole and byte by byte.
int SelfTest() {
  int failures = 0;
  auto check = [&](bool cond, const char* what) {
    if (!cond) {
      fprintf(stderr, "self-test FAILED: %s\n", what);
      ++failures;
    }
  };
  const std::string stream =
      "+OK hello\r\n"
      "+OK 2 messages\r\n.\r\n"  // a multi-line reply with an empty body
      "+OK 30 octets\r\nSubject: x\r\n\r\n..dot\r\nend\r\n.\r\n"
      "-ERR no such message\r\n"
      "+OK\r\n1 120\r\n2 7\r\n.\r\n";
  const bool multi[] = {false, true, true, true, true};
  for (int bytewise = 0; bytewise < 2; ++bytewise) {
    ReplyScanner sc;
    size_t pos = 0, avail = bytewise ? 0 : stream.size();
    std::vector<Pop3Reply> got;
    std::vector<std::string> bodies;
    size_t k = 0;
    while (k < 5 && pos < stream.size()) {
      if (bytewise) avail = std::min(avail + 1, stream.size());
      Pop3Reply r;
      size_t used = sc.Scan(stream.data() + pos, avail - pos, multi[k], &r);
      if (used == 0) {
        if (!bytewise || avail == stream.size()) break;
        continue;
      }
      got.push_back(r);
      bodies.emplace_back(r.body);
      pos += used;
      ++k;
    }
    check(got.size() == 5, "five replies");
    if (got.size() != 5) continue;
    check(got[0].ok && got[0].status == "+OK hello", "single-line");
    check(got[1].ok && got[1].body.empty() && got[1].body_octets == 0, "empty multi-line body");
    check(bodies[2] == "Subject: x\r\n\r\n..dot\r\nend\r\n", "body keeps the last CRLF");
    check(got[2].body_octets == 25, "dot-stuffing removed from the count");
    check(!got[3].ok && got[3].body.empty(), "-ERR to a multi-line command is single-line");
    std::vector<std::pair<uint32_t, uint64_t>> list;
    check(ParseListBody(bodies[4], &list) && list.size() == 2 && list[0] == std::make_pair(1u, uint64_t{120}) &&
              list[1] == std::make_pair(2u, uint64_t{7}),
          "LIST body");
  }
  std::vector<std::pair<uint32_t, uint64_t>> list;
  check(!ParseListBody("1 x\r\n", &list), "malformed LIST line rejected");
  check(!ParseListBody("1 12", &list), "LIST line without CRLF rejected");
  if (failures == 0) printf("pop3-load self-test: ok\n");
  return failures == 0 ? 0 : 1;
}

constexpr const char* kUsage =
    "usage: pop3-load --port PORT (--user NAME:PASS ... | --users-file FILE) [options]\n"
    "       pop3-load --self-test\n"
    "  --host ADDR         IPv4 address (default 127.0.0.1)\n"
    "  --users-file FILE   lines 'NAME PASSWORD'\n"
    "  --sessions N        parallel sessions (default: one per user; more than that\n"
    "                      contend for the mailbox lock)\n"
    "  --duration SEC      stop starting sessions/RETRs after SEC (default 5)\n"
    "  --max-sessions N    stop after N sessions started (default: no limit)\n"
    "  --depth N           pipelined RETRs in flight per session (default 16)\n"
    "  --no-retr           USER/PASS/STAT/QUIT only, to measure logins/s\n"
    "  --timeout SEC       a session without progress this long fails (default 30)\n"
    "  --grace SEC         abort everything SEC after --duration (default 60)\n"
    "  --quiet             only the RESULT line\n";

bool ParseArgs(int argc, char** argv, Options* o, bool* self_test) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        fprintf(stderr, "pop3-load: %s needs a value\n", a.c_str());
        exit(2);
      }
      return argv[++i];
    };
    if (a == "--self-test") {
      *self_test = true;
    } else if (a == "--host") {
      o->host = next();
    } else if (a == "--port") {
      o->port = atoi(next());
    } else if (a == "--user") {
      std::string v = next();
      size_t colon = v.find(':');
      if (colon == std::string::npos || colon == 0) {
        fprintf(stderr, "pop3-load: --user wants NAME:PASS\n");
        return false;
      }
      o->users.push_back({v.substr(0, colon), v.substr(colon + 1)});
    } else if (a == "--users-file") {
      std::ifstream f(next());
      if (!f) {
        fprintf(stderr, "pop3-load: cannot read %s\n", argv[i]);
        return false;
      }
      std::string name, pass;
      while (f >> name >> pass) o->users.push_back({name, pass});
    } else if (a == "--sessions") {
      o->sessions = atoi(next());
    } else if (a == "--duration") {
      o->duration_s = atof(next());
    } else if (a == "--max-sessions") {
      o->max_sessions = atoll(next());
    } else if (a == "--depth") {
      o->depth = std::max(1, atoi(next()));
    } else if (a == "--no-retr") {
      o->retr = false;
    } else if (a == "--timeout") {
      o->timeout_s = atof(next());
    } else if (a == "--grace") {
      o->grace_s = atof(next());
    } else if (a == "--quiet") {
      o->quiet = true;
    } else if (a == "--help" || a == "-h") {
      printf("%s", kUsage);
      exit(0);
    } else {
      fprintf(stderr, "pop3-load: unknown argument '%s'\n%s", a.c_str(), kUsage);
      return false;
    }
  }
  if (*self_test) return true;
  if (o->port <= 0 || o->port > 65535 || o->users.empty() || o->duration_s <= 0) {
    fprintf(stderr, "%s", kUsage);
    return false;
  }
  return true;
}

}  // namespace
}  // namespace mailnest::bench

int main(int argc, char** argv) {
  using namespace mailnest::bench;
  Options opt;
  bool self_test = false;
  if (!ParseArgs(argc, argv, &opt, &self_test)) return 2;
  if (self_test) return SelfTest();
  return LoadClient(opt).Run();
}
