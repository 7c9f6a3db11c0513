// Answering an h2o request: every answer goes through Send so that every
// response carries X-Content-Type-Options: nosniff (and Connection: close
// once the server is shutting down). Errors are JSON {"error": "..."}.
#pragma once

#include <h2o.h>

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string_view>

namespace mailnest {

struct HttpHeader {
  std::string_view name;
  std::string_view value;
};

// Copies body into the request's pool and sends it. closing: ask the
// client to close the connection after this answer.
void Send(h2o_req_t* req, int status, std::string_view content_type, std::string_view body, bool closing,
          std::initializer_list<HttpHeader> extra = {});
void SendJson(h2o_req_t* req, int status, const nlohmann::json& body, bool closing);
void SendError(h2o_req_t* req, int status, std::string_view message, bool closing);

// The reason phrase of the statuses this server sends.
const char* ReasonPhrase(int status);

}  // namespace mailnest
