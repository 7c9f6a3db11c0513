// A small owning layer over h2o 2.2's C API: one globalconf with one host
// and one catch-all handler, one h2o_context_t on our uv_loop_t, and a
// Listener whose connections are handed to h2o (uv_accept →
// h2o_uv_socket_create → h2o_accept). HTTP/1.1 only.
//
// Ownership: every uv handle here is ours and lives outside h2o's pools
// (an accepted uv_tcp_t is a Conn on the heap, freed by the close callback
// h2o calls when it is done with the socket). Requests are answered through
// http/http_reply.h; a handler may answer later (after a pool job or a
// wait), but must answer every request before Shutdown's drain hook returns.
//
// Shutdown: stop accepting, run the drain hook (which answers every
// deferred request), then close idle keep-alive connections through h2o's
// own request timeout (made 0) until none is left; done runs on the loop.
// The destructor disposes the context and config; it runs after the loop
// has stopped (h2o_context_dispose runs the loop once itself).
#pragma once

#include <h2o.h>
#include <uv.h>

#include <functional>
#include <memory>
#include <set>
#include <string>

#include "base/config.h"
#include "base/status.h"
#include "uv/listener.h"

namespace mailnest {

class HttpServer {
 public:
  using Handler = std::function<void(h2o_req_t* req)>;

  HttpServer(uv_loop_t* loop, const HttpConfig& config, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  Status Start();
  int bound_port() const { return listener_.bound_port(); }

  // drain answers every deferred request (it runs once, first).
  void Shutdown(std::function<void()> drain, std::function<void()> done);
  bool shutting_down() const { return shutting_down_; }
  int open_connections() const { return open_conns_; }

 private:
  struct RootHandler {
    h2o_handler_t super;  // first: h2o passes &super
    HttpServer* self;
  };
  struct Conn {
    uv_tcp_t tcp;  // first: the close callback gets &tcp
    HttpServer* server;
  };
  struct SweepTimer {
    uv_timer_t timer;
    HttpServer* server;
  };

  static int OnRequest(h2o_handler_t* h, h2o_req_t* req);
  void OnConnection(uv_stream_t* server);
  static void OnConnClosed(uv_handle_t* h);
  void Sweep();
  void MaybeFinish();

  uv_loop_t* loop_;
  HttpConfig config_;
  Handler handler_;
  h2o_globalconf_t globalconf_{};
  h2o_context_t ctx_{};
  h2o_accept_ctx_t accept_ctx_{};
  bool ctx_inited_ = false;
  Listener listener_;
  std::set<Conn*> conns_;  // open connections (detached if shutdown gives up)
  int open_conns_ = 0;
  int sweeps_ = 0;
  bool shutting_down_ = false;
  bool listener_closed_ = false;
  SweepTimer* sweep_ = nullptr;  // freed in its close callback
  std::function<void()> done_;
};

}  // namespace mailnest
