// The console's embedded files (src/http/embed_assets.py): every file of
// web/console/meson.build is in the table, sorted, typed, with an ETag; a
// lookup takes exact table paths only.
#include "http/console_assets.h"

#include <catch2/catch.hpp>

#include <string>
#include <string_view>

using mailnest::ConsoleAssets;
using mailnest::FindConsoleAsset;

TEST_CASE("the console's files are embedded, sorted and typed", "[http][console]") {
  auto all = ConsoleAssets();
  REQUIRE(all.size() >= 9);
  for (size_t i = 1; i < all.size(); ++i) CHECK(all[i - 1].path < all[i].path);
  for (const auto& a : all) {
    INFO(std::string(a.path));
    CHECK(!a.body.empty());
    CHECK(a.etag.size() == 22);  // a quoted 20-hex-digit hash
    CHECK(a.etag.front() == '"');
    if (a.path.ends_with(".js")) CHECK(a.content_type == "text/javascript; charset=utf-8");
    if (a.path.ends_with(".css")) CHECK(a.content_type == "text/css; charset=utf-8");
  }
  const auto* index = FindConsoleAsset("index.html");
  REQUIRE(index);
  CHECK(index->content_type == "text/html; charset=utf-8");
  CHECK(std::string(index->body).find("/console/app.js") != std::string::npos);
  for (const char* p : {"app.js", "api.js", "events.js", "app.css", "pages/mail.js", "pages/message.js",
                        "pages/sessions.js", "pages/dashboard.js"}) {
    INFO(p);
    CHECK(FindConsoleAsset(p));
  }
}

TEST_CASE("a console lookup matches exact table paths only", "[http][console]") {
  using namespace std::string_view_literals;
  for (std::string_view p : {""sv, "/"sv, "/index.html"sv, "./index.html"sv, "../index.html"sv, "pages"sv,
                             "pages/"sv, "pages/../app.js"sv, "INDEX.HTML"sv, "index.html\0x"sv, "meson.build"sv,
                             "app.js/"sv}) {
    INFO(std::string(p));
    CHECK(FindConsoleAsset(p) == nullptr);
  }
  // No inline script or style in the page: the CSP forbids both.
  std::string html(FindConsoleAsset("index.html")->body);
  CHECK(html.find("<script>") == std::string::npos);
  CHECK(html.find("style=") == std::string::npos);
  CHECK(html.find("<style") == std::string::npos);
}
