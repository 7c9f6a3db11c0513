// crypt(3) password hashing via libxcrypt. Both calls are CPU-heavy by
// design (yescrypt): never call them on the loop thread.
#pragma once

#include <string>

#include "base/status.h"

namespace mailnest {

// Hashes with yescrypt (falls back to sha512-crypt if unavailable).
Status HashPassword(const std::string& password, std::string* hash);

// Constant-time compare of crypt(password, hash) with hash. An empty or
// malformed hash never verifies.
bool VerifyPassword(const std::string& password, const std::string& hash);

}  // namespace mailnest
