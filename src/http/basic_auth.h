// The pure parts of the HTTP API's access step (http/access_gate.h):
// reading an "Authorization: Basic" header (RFC 7617) and matching a CORS
// Origin against http.cors_origins. No I/O, no crypt: unit-tested alone.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mailnest {

// Standard base64 (RFC 4648 §4; the '=' padding may be absent, but if
// present must be complete; no whitespace; unused bits zero). false on
// anything else.
bool DecodeBase64(std::string_view in, std::string* out);

// "Basic <base64(user:password)>" (scheme case-insensitive). false when the
// scheme is another, the base64 is bad, there is no ':', or either part has
// a control character (NUL included). The password may contain ':'.
bool ParseBasicAuth(std::string_view header, std::string* user, std::string* password);

// The Origin header value exactly equals one configured origin.
bool OriginAllowed(const std::vector<std::string>& origins, std::string_view origin);

// A configured origin: "http://" or "https://", then a host (letters,
// digits, '-', '.', or a [v6] literal), an optional ":port", nothing after
// (no path, no trailing '/'), lower case. Config validation uses this.
bool IsValidOrigin(std::string_view origin);

}  // namespace mailnest
