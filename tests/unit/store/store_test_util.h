// Helpers shared by the store tests: a private temp directory, reading
// what landed on disk, and driving a real uv loop with a bound.
#pragma once

#include <dirent.h>
#include <sys/stat.h>
#include <uv.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "store/maildir_writer.h"

namespace mailnest::testing {

// mkdtemp under $TMPDIR (or /tmp); removed with everything in it.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/mailnest-store-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr) std::abort();
    path_ = buf.data();
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Sorted names in dir (no "." / ".."); empty when dir is missing.
inline std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (struct dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") out.push_back(n);
    }
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline unsigned ModeOf(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return 0xFFFFFFFFu;
  return st.st_mode & 07777;
}

// Runs the loop until pred() holds, the loop has nothing left to do, or
// 30 s pass. Returns pred().
inline bool RunUntil(uv_loop_t* loop, const std::function<bool()>& pred) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (int i = 0; i < 10'000'000 && !pred(); ++i) {
    if (std::chrono::steady_clock::now() > deadline) break;
    if (uv_run(loop, UV_RUN_ONCE) == 0 && !pred()) {
      // Nothing active: one more non-blocking turn in case a callback queued more.
      if (uv_run(loop, UV_RUN_NOWAIT) == 0) break;
    }
  }
  return pred();
}

// Runs the loop until no request is pending (bounded).
inline void Drain(uv_loop_t* loop) {
  for (int i = 0; i < 100000; ++i) {
    if (uv_run(loop, UV_RUN_ONCE) == 0) break;
  }
}

struct Outcome {
  bool called = false;
  Status status;
  std::string id;
};

// One delivery of `content` (header first) through a real loop.
inline Outcome DeliverViaLoop(uv_loop_t* loop, const StoreOptions& opts, FsEnv* env,
                              std::vector<std::string> boxes, const std::string& header,
                              const std::string& body) {
  Outcome out;
  MaildirDelivery d(loop, opts, env);
  d.Begin(std::move(boxes));
  d.AppendHeader(header);
  d.Append(body.data(), body.size());
  d.Commit([&](Status s, const std::string& id) {
    out.called = true;
    out.status = std::move(s);
    out.id = id;
  });
  RunUntil(loop, [&] { return out.called; });
  return out;
}

}  // namespace mailnest::testing
