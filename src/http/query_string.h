// The query string of a request URL ("a=1&b=x%20y") as a map, percent- and
// '+'-decoded. Bounded: at most kMaxQueryParams parameters; a repeated
// name, a bad %-escape or a NUL is an error naming the parameter.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace mailnest {

constexpr size_t kMaxQueryParams = 32;

bool ParseQueryString(std::string_view query, std::map<std::string, std::string>* out, std::string* err);

// "42" → 42 within [min, max]; anything else (sign, space, overflow) false.
bool ParseBoundedUint(std::string_view text, uint64_t min, uint64_t max, uint64_t* out);

}  // namespace mailnest
