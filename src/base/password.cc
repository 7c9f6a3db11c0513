#include "base/password.h"

#include <crypt.h>

#include <cstring>
#include <memory>

namespace mailnest {

Status HashPassword(const std::string& password, std::string* hash) {
  if (password.find('\0') != std::string::npos) return Status::Invalid("password contains NUL");
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  if (!crypt_gensalt_rn("$y$", 0, nullptr, 0, salt, sizeof salt) &&
      !crypt_gensalt_rn("$6$", 0, nullptr, 0, salt, sizeof salt)) {
    return Status::IoError("crypt_gensalt failed: no yescrypt or sha512-crypt support");
  }
  auto data = std::make_unique<crypt_data>();
  const char* h = crypt_r(password.c_str(), salt, data.get());
  if (!h || h[0] == '*') return Status::IoError("crypt failed");
  *hash = h;
  return Status::Ok();
}

bool VerifyPassword(const std::string& password, const std::string& hash) {
  if (hash.empty() || hash[0] != '$') return false;
  // crypt(3) stops at a NUL: "secret\0junk" would verify as "secret".
  if (password.find('\0') != std::string::npos) return false;
  auto data = std::make_unique<crypt_data>();
  const char* h = crypt_r(password.c_str(), hash.c_str(), data.get());
  if (!h || h[0] == '*') return false;
  size_t n = strlen(h);
  if (n != hash.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < n; ++i) diff |= static_cast<unsigned char>(h[i] ^ hash[i]);
  return diff == 0;
}

}  // namespace mailnest
