// A listening TCP socket on the loop. The owner supplies what to do with
// each pending connection (accept it into a session, or turn it away).
// Close() is idempotent; the handle is freed in its close callback via the
// owner-held unique_ptr only after that callback ran (see closed()).
#pragma once

#include <uv.h>

#include <functional>
#include <string>

#include "base/status.h"

namespace mailnest {

class Listener {
 public:
  using OnConnection = std::function<void(uv_stream_t* server)>;

  Listener(uv_loop_t* loop, OnConnection cb);
  ~Listener();  // the handle must be closed (or never opened) by now
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Binds and listens. On success bound_port() holds the real port
  // (useful with port 0).
  Status Listen(const std::string& address, int port, int backlog = 1024);
  int bound_port() const { return bound_port_; }
  const std::string& address() const { return address_; }

  // Stops accepting. done runs from the close callback.
  void Close(std::function<void()> done = {});

  // A failed accept (e.g. UV_EMFILE: libuv has then accepted and closed the
  // pending connections itself, so the owner can only log it).
  void set_on_error(std::function<void(int status)> cb) { on_error_ = std::move(cb); }

 private:
  struct Handle {
    uv_tcp_t tcp;
    Listener* owner;
    std::function<void()> done;
  };
  static void OnConnectionCb(uv_stream_t* s, int status);

  uv_loop_t* loop_;
  OnConnection cb_;
  std::function<void(int)> on_error_;
  Handle* handle_ = nullptr;  // freed in the close callback
  int bound_port_ = 0;
  std::string address_;
};

}  // namespace mailnest
