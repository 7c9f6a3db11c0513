// GET /api/v1/openapi.json: the embedded OpenAPI document (http/openapi_doc.h).
#include "http/api.h"
#include "http/http_reply.h"
#include "http/openapi_doc.h"

namespace mailnest {

void Api::OpenApi(h2o_req_t* req, std::string_view, const Params&) {
  Send(req, 200, "application/json", kOpenApiJson, closing());
}

}  // namespace mailnest
