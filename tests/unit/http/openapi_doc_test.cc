// The embedded OpenAPI document is the source file, parses, and names every
// route the API serves (the e2e test checks real answers against it).
#include "http/openapi_doc.h"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

TEST_CASE("the embedded OpenAPI document is OpenAPI 3 and lists every route", "[http][openapi]") {
  nlohmann::json doc = nlohmann::json::parse(mailnest::kOpenApiJson);
  CHECK(doc.at("openapi").get<std::string>().rfind("3.", 0) == 0);
  const auto& paths = doc.at("paths");
  for (const char* p : {"/livez", "/readyz", "/metrics", "/api/v1/mailboxes", "/api/v1/messages",
                        "/api/v1/messages/{id}", "/api/v1/messages/{id}/raw", "/api/v1/wait", "/api/v1/openapi.json"}) {
    INFO(p);
    CHECK(paths.contains(p));
  }
  CHECK(paths.at("/api/v1/messages").contains("delete"));
  CHECK(paths.at("/api/v1/messages/{id}").contains("delete"));
}
