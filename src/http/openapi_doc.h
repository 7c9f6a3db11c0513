// The OpenAPI 3 document of the HTTP API, served at GET
// /api/v1/openapi.json. Its source is src/http/openapi.json (the one source
// of truth, checked against real answers by tests/e2e/test_http_openapi.py);
// the build embeds it (embed_json.py → openapi_doc.cc).
#pragma once

#include <string_view>

namespace mailnest {

extern const std::string_view kOpenApiJson;

}  // namespace mailnest
