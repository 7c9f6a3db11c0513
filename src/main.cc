// mailnest: arguments, config, signals, run the loop.
//
//   mailnest [--config FILE] [--smtp-listen ADDR:PORT|off]
//            [--pop3-listen ADDR:PORT|off] [--mail-root DIR] [--require-non-root]
//            [--http-listen ADDR:PORT|off]
//   mailnest --check-config [--config FILE]
//   mailnest passwd            (password on stdin → crypt hash on stdout)
//   mailnest mailboxes [--config FILE]
//   mailnest queue [--config FILE]   (the relay queue, read-only)
//   mailnest messages [--config FILE] [--mailbox M] [--query Q] [--limit N]   (http/messages_cli.h)
//   mailnest show ID [--config FILE]
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/config.h"
#include "base/fd_limit.h"
#include "base/log.h"
#include "base/password.h"
#include "base/run_as.h"
#include "http/http_service.h"
#include "http/messages_cli.h"
#include "http/readiness.h"
#include "http/show_command.h"
#include "pop3/pop3_server.h"
#include "relay/queue_cli.h"
#include "relay/queue_store.h"
#include "relay/relay_queue.h"
#include "smtp/fault_injector.h"
#include "smtp/smtp_server.h"
#include "store/delivery_journal.h"
#include "store/fs_env.h"
#include "store/mail_root.h"
#include "store/store_startup.h"
#include "store/mailbox_stats.h"
#include "uv/loop.h"

namespace mailnest {
namespace {

constexpr const char* kUsage =
    "usage: mailnest [--config FILE] [--smtp-listen ADDR:PORT|off] [--pop3-listen ADDR:PORT|off]\n"
    "                [--mail-root DIR] [--require-non-root] [--http-listen ADDR:PORT|off]\n"
    "       mailnest --check-config [--config FILE]\n"
    "       mailnest passwd        read a password on stdin, print its crypt(3) hash\n"
    "       mailnest mailboxes [--config FILE]\n"
    "       mailnest queue [--config FILE]   list the relay queue (docs/RELAY.md)\n"
    "       mailnest queue flush | retry ID | delete ID [--config FILE]\n"
    "                                      control it, beside a running instance or not\n"
    "       mailnest messages [--config FILE] [--mailbox M] [--query Q] [--limit N]   newest messages first\n"
    "       mailnest show ID [--config FILE]   a message's decoded headers, text and attachments\n";

struct Args {
  std::string command = "run";  // run | check | passwd | mailboxes | show
  std::string show_id;          // show: the message id
  std::string queue_action, queue_id;  // queue: list | flush | retry ID | delete ID
  std::string config_path;
  std::string smtp_listen, pop3_listen, mail_root;
  std::string http_listen;
  bool require_non_root = false;  // refuse to serve as root without run_as
};

bool ParseArgs(int argc, char** argv, Args* a, std::string* err) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= argc) {
        *err = fmt::format("{} needs a value", arg);
        return false;
      }
      *out = argv[++i];
      return true;
    };
    if (arg == "--config" || arg == "-c") {
      if (!value(&a->config_path)) return false;
    } else if (arg == "--check-config") {
      a->command = "check";
    } else if (arg == "--smtp-listen") {
      if (!value(&a->smtp_listen)) return false;
    } else if (arg == "--pop3-listen") {
      if (!value(&a->pop3_listen)) return false;
    } else if (arg == "--http-listen") {
      if (!value(&a->http_listen)) return false;
    } else if (arg == "--mail-root") {
      if (!value(&a->mail_root)) return false;
    } else if (arg == "--require-non-root") {
      a->require_non_root = true;
    } else if (arg == "passwd" || arg == "mailboxes" || arg == "queue") {
      a->command = arg;
    } else if (a->command == "queue" && a->queue_action.empty() &&
               (arg == "list" || arg == "flush" || arg == "retry" || arg == "delete")) {
      a->queue_action = arg;
      if ((arg == "retry" || arg == "delete") && !value(&a->queue_id)) return false;
    } else if (arg == "show") {
      a->command = arg;
      if (!value(&a->show_id)) return false;
    } else if (arg == "--help" || arg == "-h") {
      a->command = "help";
    } else if (arg == "--version") {
      a->command = "version";
    } else {
      *err = fmt::format("unknown argument '{}'", arg);
      return false;
    }
  }
  return true;
}

// "--smtp-listen 10.0.0.1:25" or "off".
bool ApplyListen(const std::string& spec, const char* name, ListenConfig* l, std::string* err) {
  if (spec.empty()) return true;
  if (spec == "off") {
    l->enabled = false;
    return true;
  }
  size_t colon = spec.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == spec.size()) {
    *err = fmt::format("--{}-listen: expected ADDRESS:PORT or off, got '{}'", name, spec);
    return false;
  }
  std::string host = spec.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  char* end = nullptr;
  long port = strtol(spec.c_str() + colon + 1, &end, 10);
  if (*end != '\0' || port < 0 || port > 65535) {
    *err = fmt::format("--{}-listen: bad port in '{}'", name, spec);
    return false;
  }
  l->enabled = true;
  l->address = host;
  l->port = static_cast<int>(port);
  return true;
}

int RunPasswd() {
  std::string pw;
  if (isatty(STDIN_FILENO)) fmt::print(stderr, "password: ");
  if (!std::getline(std::cin, pw)) {
    fmt::print(stderr, "mailnest passwd: no password on stdin\n");
    return 2;
  }
  if (!pw.empty() && pw.back() == '\r') pw.pop_back();
  if (pw.empty()) {
    fmt::print(stderr, "mailnest passwd: empty password\n");
    return 2;
  }
  std::string hash;
  Status s = HashPassword(pw, &hash);
  if (!s.ok()) {
    fmt::print(stderr, "mailnest passwd: {}\n", s.message());
    return 1;
  }
  fmt::print("{}\n", hash);
  return 0;
}

int RunMailboxes(const Config& config) {
  std::vector<MailboxStats> boxes;
  Status s = ListMailboxes(config.mail_root, &boxes);
  if (!s.ok()) {
    fmt::print(stderr, "mailnest mailboxes: {}\n", s.message());
    return 1;
  }
  fmt::print("{:<24} {:>10} {:>14}\n", "MAILBOX", "MESSAGES", "OCTETS");
  for (const auto& b : boxes) fmt::print("{:<24} {:>10} {:>14}\n", b.name, b.messages, b.octets);
  return 0;
}

// The relay queue as its envelopes say, read-only (safe beside a running
// instance): one line per recipient.
int RunQueue(const Config& config) {
  QueueFiles q;
  q.dir = config.relay.queue_dir.empty() ? config.mail_root + "/.queue" : config.relay.queue_dir;
  std::vector<QueueEnvelope> envs;
  if (Status s = ListQueued(q, &envs); !s.ok()) {
    fmt::print(stderr, "mailnest queue: {}\n", s.message());
    return 1;
  }
  fmt::print("{:<28} {:<8} {:>8} {:<20} {:<28} {}\n", "ID", "STATE", "ATTEMPTS", "NEXT TRY (UTC)", "SENDER -> RECIPIENT",
             "LAST REPLY");
  for (const QueueEnvelope& e : envs) {
    for (const QueueRecipient& r : e.recipients) {
      char when[32] = "-";
      if (r.state == RcptState::kQueued && r.next_try > 0) {
        time_t t = static_cast<time_t>(r.next_try);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
      }
      fmt::print("{:<28} {:<8} {:>8} {:<20} <{}> -> <{}> {}\n", e.id, RcptStateName(r.state), r.attempts, when,
                 e.sender, r.address, r.last_reply);
    }
  }
  fmt::print("{} message(s) in {}\n", envs.size(), q.dir);
  return 0;
}

// Runs the servers until SIGINT/SIGTERM, then shuts down gracefully.
// By value: the connection limits may be lowered to the descriptor budget.
int RunServers(Config config, bool require_non_root) {
  // Who we will run as (base/run_as.h): resolved before anything is made.
  const bool drop = !config.run_as.user.empty();
  RunAsIds ids;
  if (drop) {
    if (Status s = ResolveRunAs(config.run_as, &ids); !s.ok()) {
      fmt::print(stderr, "mailnest: {}\n", s.message());
      return 1;
    }
    if (::geteuid() != 0 && ::geteuid() != ids.uid) {
      fmt::print(stderr, "mailnest: run_as.user {} needs a start as root (running as uid {})\n", ids.user,
                 ::geteuid());
      return 1;
    }
  }
  if (require_non_root && (drop ? ids.uid == 0 : ::geteuid() == 0)) {
    fmt::print(stderr, "mailnest: refusing to run as root (--require-non-root): set run_as to an "
                       "unprivileged user\n");
    return 1;
  }
  const bool switch_ids = drop && ::geteuid() == 0 && ids.uid != 0;

  // store.file_mode / dir_mode: the modes new message files and mailbox
  // directories get. The umask is loosened by exactly the bits asked for
  // (a 077 umask would otherwise turn 0640 back into 0600).
  SetStoreModes(config.store.file_mode, config.store.dir_mode);
  mode_t old_mask = ::umask(0);
  ::umask(old_mask & ~static_cast<mode_t>(config.store.file_mode | config.store.dir_mode));

  // Only the root (and its parents); mailboxes are created on first
  // delivery, off the loop.
  bool made_root = false;
  if (Status s = EnsureMailRoot(config.mail_root, config.store.dir_mode, &made_root); !s.ok()) {
    fmt::print(stderr, "mailnest: {}\n", s.message());
    return 1;
  }
  if (made_root && switch_ids && ::chown(config.mail_root.c_str(), ids.uid, ids.gid) != 0) {
    fmt::print(stderr, "mailnest: chown {}: {}\n", config.mail_root, strerror(errno));
    return 1;
  }
  // The thread pool runs every file operation; size it before first use.
  setenv("UV_THREADPOOL_SIZE", std::to_string(config.store.io_threads).c_str(), 1);

  bool level_ok = true;
  LogLevel level = ParseLogLevel(config.log_level, &level_ok);
  Logger smtp_log("smtp", config.smtp.log_file, level);
  Logger pop3_log("pop3", config.pop3.log_file, level);
  for (Logger* l : {&smtp_log, &pop3_log}) {
    if (!l->opened()) {
      fmt::print(stderr, "mailnest: {}\n", l->open_error());
      return 1;
    }
  }

  FdBudget fds = FitConnectionsToFdLimit(&config);
  if (fds.lowered) {
    smtp_log.Warn("", "{}", fds.warning);
    pop3_log.Warn("", "{}", fds.warning);
  }

  // Log files stay open as root opened them; every mail file from here on
  // is made as the run_as user, so Dovecot (or POP3 after the drop) can
  // read, rename and delete it.
  // An early return while acting as the user (recovery or a bind failing)
  // takes the root ids back first, so the process ends as it started (a
  // process whose real and effective ids differ cannot be examined by
  // LeakSanitizer at exit). Harmless after the final drop: it just fails.
  struct BackToRoot {
    bool armed;
    ~BackToRoot() {
      if (armed && ::geteuid() != 0) ActAsRoot();
    }
  } back_to_root{switch_ids};
  if (switch_ids) {
    if (Status s = ActAs(ids); !s.ok()) {
      fmt::print(stderr, "mailnest: cannot act as {}: {}\n", ids.user, s.message());
      return 1;
    }
    if (::faccessat(AT_FDCWD, config.mail_root.c_str(), R_OK | W_OK | X_OK, AT_EACCESS) != 0) {
      fmt::print(stderr, "mailnest: mail_root {} is not usable by run_as user {}: {} (chown it)\n",
                 config.mail_root, ids.user, strerror(errno));
      return 1;
    }
  }

  // /readyz: what is not ready yet (http/readiness.h).
  Readiness readiness;
  readiness.smtp_pending = config.smtp.listen.enabled;
  readiness.pop3_pending = config.pop3.listen.enabled;
  readiness.http_pending = config.http.listen.enabled;

  // Before anything is served: tmp/ debris of crashed runs removed, their
  // journals recovered (or retried in the background on a full disk).
  auto store_startup = std::make_unique<StoreStartup>(config, &smtp_log);
  readiness.recovery_retrying = [startup = store_startup.get()] { return startup->recovery_pending(); };

  readiness.recovery_done = true;

  int rc = 0;
  {
    Loop loop;
    std::unique_ptr<DeliveryJournal> journal;
    if (config.smtp.listen.enabled && config.store.fsync && config.store.journal) {
      journal = OpenJournal(loop.get(), config, &smtp_log);  // null: per-file fsync (logged)
    }
    // The relay queue (off unless relay.enabled): re-read before anything
    // listens, so what a previous run accepted is delivered.
    std::unique_ptr<RelayQueue> relay;
    if (config.relay.enabled && config.smtp.listen.enabled) {
      StoreOptions store;
      store.mail_root = config.mail_root;
      store.hostname = config.hostname;
      store.fsync = config.store.fsync;
      store.journal = journal.get();
      relay = std::make_unique<RelayQueue>(loop.get(), config, &smtp_log, store);
      if (Status s = relay->Load(); !s.ok()) {
        fmt::print(stderr, "mailnest: {}\n", s.message());
        return 1;
      }
    }
    // The "faults" rules (smtp/fault_injector.h): SMTP applies them, the
    // HTTP API reads and replaces them. Declared first: outlives both.
    FaultInjector faults(config.faults, &smtp_log);
    std::unique_ptr<SmtpServer> smtp;
    std::unique_ptr<Pop3Server> pop3;
    std::unique_ptr<HttpService> http;
    // Binding ports below 1024 needs root again, briefly.
    if (switch_ids) {
      if (Status s = ActAsRoot(); !s.ok()) {
        fmt::print(stderr, "mailnest: {}\n", s.message());
        return 1;
      }
    }
    if (config.smtp.listen.enabled) {
      smtp = std::make_unique<SmtpServer>(loop.get(), config, &smtp_log, journal.get(), relay.get());
      smtp->set_faults(&faults);
      Status s = smtp->Start();
      if (!s.ok()) {
        fmt::print(stderr, "mailnest: smtp: {}\n", s.message());
        return 1;
      }
    }
    if (config.pop3.listen.enabled) {
      pop3 = std::make_unique<Pop3Server>(loop.get(), config, &pop3_log, journal.get());
      Status s = pop3->Start();
      if (!s.ok()) {
        fmt::print(stderr, "mailnest: pop3: {}\n", s.message());
        return 1;
      }
    }
    if (config.http.listen.enabled) {
      http = std::make_unique<HttpService>(loop.get(), config, &readiness, journal.get());
      http->set_faults(&faults);
      if (Status s = http->Start(); !s.ok()) {
        fmt::print(stderr, "mailnest: http: {}\n", s.message());
        return 1;
      }
    }
    readiness.smtp_pending = readiness.pop3_pending = false;
    // Listeners bound, journal recovered and open: nothing needs root now.
    if (switch_ids) {
      if (Status s = DropPrivileges(ids); !s.ok()) {
        fmt::print(stderr, "mailnest: cannot drop privileges to {}: {}\n", ids.user, s.message());
        return 1;
      }
    }
    const std::string who = DescribeEffectiveUser();
    for (Logger* l : {&smtp_log, &pop3_log}) {
      if (::geteuid() == 0) {
        l->Warn("", "running as {}: set run_as (and --require-non-root) to serve as an unprivileged user", who);
      } else {
        l->Info("", "running as {}; store modes {:04o}/{:04o}", who, config.store.file_mode, config.store.dir_mode);
      }
    }
    // The ready line: scripts and tests read the real ports from it.
    std::string ready = "mailnest ready";
    if (smtp) ready += fmt::format(" smtp={}:{}", config.smtp.listen.address, smtp->bound_port());
    if (pop3) ready += fmt::format(" pop3={}:{}", config.pop3.listen.address, pop3->bound_port());
    ready += fmt::format(" mail_root={}", config.mail_root);
    if (http) ready += fmt::format(" http={}:{}", config.http.listen.address, http->bound_port());
    ready += "\n";
    fmt::print("{}", ready);
    fflush(stdout);

    // Signals: first SIGINT/SIGTERM starts the graceful shutdown.
    struct SignalState {
      uv_signal_t sigint, sigterm;
      SmtpServer* smtp;
      Pop3Server* pop3;
      HttpService* http;
      RelayQueue* relay;
      DeliveryJournal* journal;  // closed after both servers are done
      int pending = 0;      // server shutdowns still running
      int open_handles = 2;  // signal handles not yet closed
      bool stopping = false;

      // Frees the state only after BOTH close callbacks ran (libuv runs
      // them in no order we may rely on).
      void CloseHandles() {
        auto free_cb = [](uv_handle_t* hh) {
          auto* ss = static_cast<SignalState*>(hh->data);
          if (--ss->open_handles > 0) return;
          uv_loop_t* loop = hh->loop;  // hh is inside *ss
          delete ss;
          // Everything of ours is closed; h2o's own handles (timers, its
          // queue's async) are closed by disposing its context after Run.
          uv_stop(loop);
        };
        uv_close(reinterpret_cast<uv_handle_t*>(&sigint), free_cb);
        uv_close(reinterpret_cast<uv_handle_t*>(&sigterm), free_cb);
      }
    };
    auto* st = new SignalState{};  // freed after both signal handles closed
    st->smtp = smtp.get();
    st->pop3 = pop3.get();
    st->http = http.get();
    st->relay = relay.get();
    st->journal = journal.get();
    auto on_signal = [](uv_signal_t* h, int) {
      auto* s = static_cast<SignalState*>(h->data);
      if (s->stopping) return;
      s->stopping = true;
      auto close_signals = [s]() {
        if (--s->pending > 0) return;
        // Every delivery has replied by now: the journal checkpoints last.
        if (DeliveryJournal* j = std::exchange(s->journal, nullptr)) return j->Close([s] { s->CloseHandles(); });
        s->CloseHandles();
      };
      s->pending = (s->smtp ? 1 : 0) + (s->pop3 ? 1 : 0) + (s->http ? 1 : 0) + (s->relay ? 1 : 0);
      if (s->relay) s->relay->Shutdown(close_signals);
      if (s->smtp) s->smtp->Shutdown(close_signals);
      if (s->pop3) s->pop3->Shutdown(close_signals);
      if (s->http) s->http->Shutdown(close_signals);
      if (s->pending == 0) {
        s->pending = 1;
        close_signals();
      }
    };
    uv_signal_init(loop.get(), &st->sigint);
    uv_signal_init(loop.get(), &st->sigterm);
    st->sigint.data = st;
    st->sigterm.data = st;
    uv_signal_start(&st->sigint, on_signal, SIGINT);
    uv_signal_start(&st->sigterm, on_signal, SIGTERM);

    if (relay) relay->Start();
    loop.Run();
    http.reset();  // disposes h2o's context: after the loop stopped
    pop3.reset();
    smtp.reset();
    relay.reset();
  }
  store_startup.reset();
  smtp_log.Info("", "mailnest stopped");
  pop3_log.Info("", "mailnest stopped");
  return rc;
}

}  // namespace
}  // namespace mailnest

int main(int argc, char** argv) {
  using namespace mailnest;
  if (argc > 1 && std::string(argv[1]) == "messages") return RunMessagesCommand(argc, argv);
  Args args;
  std::string err;
  if (!ParseArgs(argc, argv, &args, &err)) {
    fmt::print(stderr, "mailnest: {}\n{}", err, kUsage);
    return 2;
  }
  if (args.command == "help") {
    fmt::print("{}", kUsage);
    return 0;
  }
  if (args.command == "version") {
    fmt::print("mailnest 0.1.0\n");
    return 0;
  }
  if (args.command == "passwd") return RunPasswd();

  Config config;
  if (!args.config_path.empty()) {
    Status s = LoadConfigFile(args.config_path, &config);
    if (!s.ok()) {
      fmt::print(stderr, "mailnest: {}\n", s.message());
      return 1;
    }
  }
  if (!ApplyListen(args.smtp_listen, "smtp", &config.smtp.listen, &err) ||
      !ApplyListen(args.pop3_listen, "pop3", &config.pop3.listen, &err) ||
      !ApplyListen(args.http_listen, "http", &config.http.listen, &err)) {
    fmt::print(stderr, "mailnest: {}\n", err);
    return 2;
  }
  if (!args.mail_root.empty()) config.mail_root = args.mail_root;
  if (args.command == "show") return RunShow(config, args.show_id);
  if (!config.smtp.listen.enabled && !config.pop3.listen.enabled) {
    fmt::print(stderr, "mailnest: both listeners are off; nothing to do\n");
    return 2;
  }
  if (config.hostname.empty()) {
    char host[256] = {0};
    gethostname(host, sizeof host - 1);
    config.hostname = host[0] ? host : "localhost";
  }

  if (args.command == "check") {
    fmt::print("config OK: smtp {} pop3 {}, {} users, mail_root {}\n",
               config.smtp.listen.enabled ? fmt::format("{}:{}", config.smtp.listen.address, config.smtp.listen.port) : "off",
               config.pop3.listen.enabled ? fmt::format("{}:{}", config.pop3.listen.address, config.pop3.listen.port) : "off",
               config.users.size(), config.mail_root);
    return 0;
  }
  if (args.command == "mailboxes") return RunMailboxes(config);
  if (args.command == "queue" && !args.queue_action.empty() && args.queue_action != "list") {
    return RunQueueControl(config, args.queue_action, args.queue_id);
  }
  if (args.command == "queue") return RunQueue(config);
  return RunServers(config, args.require_non_root);
}
