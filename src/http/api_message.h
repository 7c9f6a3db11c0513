// GET /api/v1/messages/{id} (the parsed message: envelope, headers, decoded
// text and HTML, attachments, MIME tree) and GET /api/v1/messages/{id}/parts/{n}
// (one decoded part as a download). The id is looked up in the index and
// the path built from the entry, never from the request; GMime parses the
// file on the thread pool (at most http.max_parse_bytes of it). Loop thread.
#pragma once

#include <h2o.h>
#include <uv.h>

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "base/config.h"
#include "http/message_index.h"

namespace mailnest {

class MessageViewApi {
 public:
  MessageViewApi(uv_loop_t* loop, const Config& config, const MessageIndex* index, std::function<bool()> closing)
      : loop_(loop), config_(config), index_(index), closing_(std::move(closing)) {}

  // rest: what follows /api/v1/messages/{id}: "" or "/parts/{n}"; q: the
  // query (a part takes inline= and images=, see PartView).
  // Returns false if rest is neither (the caller answers).
  bool Handle(h2o_req_t* req, std::string_view id, std::string_view rest,
              const std::map<std::string, std::string>& q);

  // How a part is served. A download by default; inline=1 for the browser
  // console's sandboxed iframe (Content-Disposition: inline, and a CSP that
  // lets the part use its own inline styles and data: images); images=1
  // lets it load remote http(s) images too (the console's "load images").
  struct PartView {
    bool inline_view = false;
    bool remote_images = false;
  };
  // The Content-Security-Policy of a part served so.
  static std::string_view PartCsp(PartView v);

 private:
  void Show(h2o_req_t* req, const IndexedMessage& m);
  void Part(h2o_req_t* req, const IndexedMessage& m, int n, PartView view);

  uv_loop_t* loop_;
  const Config& config_;
  const MessageIndex* index_;
  std::function<bool()> closing_;
};

}  // namespace mailnest
