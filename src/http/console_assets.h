// The browser console's static files (web/console/), compiled into the
// binary by src/http/embed_assets.py so the appliance serves them offline
// with nothing installed beside it. The table is generated; lookups are by
// exact table path only, never a filesystem path.
#pragma once

#include <array>
#include <span>
#include <string_view>

namespace mailnest {

struct ConsoleAsset {
  std::string_view path;          // relative to web/console/, e.g. "pages/mail.js"
  std::string_view content_type;
  std::string_view etag;          // quoted, from a hash of the bytes
  std::string_view body;
};

// Every embedded file, sorted by path (generated: console_assets_data.cc).
std::span<const ConsoleAsset> ConsoleAssets();

// The file at exactly this table path, or nullptr.
const ConsoleAsset* FindConsoleAsset(std::string_view path);

// The Content-Security-Policy of every console answer: only our own
// scripts, styles and API; frames only from us (the sandboxed message
// iframe); nothing may frame the console.
inline constexpr std::string_view kConsoleCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

}  // namespace mailnest
