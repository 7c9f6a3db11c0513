// GET /api/v1/messages/{id} (the parsed message: envelope, headers, decoded
// text and HTML, attachments, MIME tree) and GET /api/v1/messages/{id}/parts/{n}
// (one decoded part as a download). The id is looked up in the index and
// the path built from the entry, never from the request; GMime parses the
// file on the thread pool (at most http.max_parse_bytes of it). Loop thread.
#pragma once

#include <h2o.h>
#include <uv.h>

#include <functional>
#include <string_view>

#include "base/config.h"
#include "http/message_index.h"

namespace mailnest {

class MessageViewApi {
 public:
  MessageViewApi(uv_loop_t* loop, const Config& config, const MessageIndex* index, std::function<bool()> closing)
      : loop_(loop), config_(config), index_(index), closing_(std::move(closing)) {}

  // rest: what follows /api/v1/messages/{id}: "" or "/parts/{n}".
  // Returns false if rest is neither (the caller answers).
  bool Handle(h2o_req_t* req, std::string_view id, std::string_view rest);

 private:
  void Show(h2o_req_t* req, const IndexedMessage& m);
  void Part(h2o_req_t* req, const IndexedMessage& m, int n);

  uv_loop_t* loop_;
  const Config& config_;
  const MessageIndex* index_;
  std::function<bool()> closing_;
};

}  // namespace mailnest
