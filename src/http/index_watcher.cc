#include "http/index_watcher.h"

#include <dirent.h>
#include <sys/stat.h>

#include <utility>
#include <vector>

#include "base/config.h"
#include "uv/pool_job.h"

namespace mailnest {

namespace {

const char* Sub(bool in_new) { return in_new ? "new" : "cur"; }

bool IsDir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// A name the kernel reported inside new/ or cur/ that could be a message
// (the index parses it further); never a path.
bool IsPlainName(const std::string& n) {
  return !n.empty() && n[0] != '.' && n.find('/') == std::string::npos && n.size() <= 255;
}

std::vector<std::string> ListDir(const std::string& path, bool dirs_only, bool* ok) {
  std::vector<std::string> names;
  DIR* d = ::opendir(path.c_str());
  *ok = d != nullptr;
  if (!d) return names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (!IsPlainName(n)) continue;
    if (dirs_only && !(e->d_type == DT_DIR || (e->d_type == DT_UNKNOWN && IsDir(path + "/" + n)))) continue;
    names.push_back(std::move(n));
  }
  ::closedir(d);
  return names;
}

}  // namespace

struct IndexWatcher::Outcome {
  struct Found {
    std::string mailbox;
    bool is_dir = false, has_new = false, has_cur = false;
  };
  std::vector<Found> found;
  struct Listing {
    std::string mailbox;
    bool in_new;
    bool ok;
    std::vector<std::string> names;
  };
  std::vector<Listing> listings;
  struct Checked {
    std::string mailbox;
    bool in_new;
    std::string file;
    bool exists;
  };
  std::vector<Checked> checked;
  std::vector<Checked> moved;  // found in cur/ after leaving new/: applied first
};

IndexWatcher::IndexWatcher(uv_loop_t* loop, std::string mail_root, MessageIndex* index,
                           std::function<void()> on_change, std::function<void()> on_ready, uint64_t rescan_ms)
    : loop_(loop), root_(std::move(mail_root)), index_(index), on_change_(std::move(on_change)),
      on_ready_(std::move(on_ready)), rescan_ms_(rescan_ms) {}

IndexWatcher::~IndexWatcher() {
  for (auto& [path, w] : watches_) w->owner = nullptr;  // only if Close never ran
  if (rescan_) rescan_->owner = nullptr;
}

void IndexWatcher::Start() {
  Watch(root_, "", Kind::kRoot);  // first: no mailbox made after the scan is missed
  pending_.scan_root = true;
  Kick();
  if (rescan_ms_ > 0) {
    rescan_ = new RescanTimer{{}, this};
    uv_timer_init(loop_, &rescan_->timer);
    uv_timer_start(
        &rescan_->timer,
        [](uv_timer_t* t) {
          if (IndexWatcher* w = reinterpret_cast<RescanTimer*>(t)->owner) w->Rescan();
        },
        rescan_ms_,
        rescan_ms_);
  }
}

void IndexWatcher::Rescan() {
  pending_.scan_root = true;
  for (const auto& [path, w] : watches_) {
    if (w->kind == Kind::kNew || w->kind == Kind::kCur) pending_.list.emplace(w->mailbox, w->kind == Kind::kNew);
  }
  Kick();
}

void IndexWatcher::Watch(const std::string& path, const std::string& mailbox, Kind kind) {
  if (closing_ || watches_.count(path)) return;
  auto* w = new Watched{{}, this, mailbox, kind};
  uv_fs_event_init(loop_, &w->handle);
  ++open_handles_;
  if (uv_fs_event_start(&w->handle, &IndexWatcher::OnEvent, path.c_str(), 0) != 0) {
    // Gone or not made yet: the directory above reports it when it appears.
    w->owner = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&w->handle), [](uv_handle_t* h) {
      auto* ww = reinterpret_cast<Watched*>(h);
      delete ww;
    });
    --open_handles_;
    return;
  }
  watches_[path] = w;
}

void IndexWatcher::OnEvent(uv_fs_event_t* h, const char* filename, int, int status) {
  auto* w = reinterpret_cast<Watched*>(h);
  IndexWatcher* self = w->owner;
  if (!self || self->closing_) return;
  std::string name = filename ? filename : "";
  switch (w->kind) {
    case Kind::kRoot:
      if (IsValidMailboxName(name)) self->pending_.discover.insert(name);
      if (status < 0 || name.empty()) self->pending_.scan_root = true;
      break;
    case Kind::kMailbox:
      if (name == "new" || name == "cur" || name.empty()) self->pending_.discover.insert(w->mailbox);
      break;
    case Kind::kNew:
    case Kind::kCur: {
      bool in_new = w->kind == Kind::kNew;
      if (in_new && status >= 0 && !self->expected_.empty()) {
        auto it = self->expected_.find(w->mailbox + "/" + name);
        if (it != self->expected_.end()) {  // our own delivery, indexed already
          self->expected_.erase(it);
          break;
        }
      }
      if (status < 0 || !IsPlainName(name)) {
        self->pending_.list.emplace(w->mailbox, in_new);
      } else {
        self->pending_.check.emplace(w->mailbox, in_new, name);
      }
      break;
    }
  }
  self->Kick();
}

void IndexWatcher::RunBatch(const std::string& root, const Batch& batch, Outcome* out) {
  std::set<std::string> discover = batch.discover;
  if (batch.scan_root) {
    bool ok = false;
    for (auto& n : ListDir(root, true, &ok)) {
      if (IsValidMailboxName(n)) discover.insert(n);
    }
  }
  for (const auto& m : discover) {
    Outcome::Found f{m};
    std::string dir = root + "/" + m;
    f.is_dir = IsDir(dir);
    f.has_new = f.is_dir && IsDir(dir + "/new");
    f.has_cur = f.is_dir && IsDir(dir + "/cur");
    out->found.push_back(std::move(f));
  }
  for (const auto& [m, in_new] : batch.list) {
    Outcome::Listing l{m, in_new, false, {}};
    l.names = ListDir(root + "/" + m + "/" + Sub(in_new), false, &l.ok);
    out->listings.push_back(std::move(l));
  }
  std::map<std::string, std::vector<std::string>> gone_from_new;  // mailbox → files
  for (const auto& [m, in_new, file] : batch.check) {
    struct stat st;
    std::string path = root + "/" + m + "/" + Sub(in_new) + "/" + file;
    bool exists = ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
    out->checked.push_back({m, in_new, file, exists});
    if (!exists && in_new) gone_from_new[m].push_back(file);
  }
  // A file gone from new/ has usually been moved to cur/ by a reader, and
  // the event for its arrival there may come in a later batch: find it now
  // (one listing of cur/ per mailbox) so the message is moved, not dropped
  // and re-added.
  for (const auto& [m, files] : gone_from_new) {
    bool ok = false;
    std::map<std::string, std::string> by_unique;  // unique part → name in cur/
    for (auto& n : ListDir(root + "/" + m + "/cur", false, &ok)) {
      std::string unique = n.substr(0, n.find(":2,"));
      by_unique.emplace(std::move(unique), std::move(n));
    }
    for (const auto& f : files) {
      auto it = by_unique.find(f.substr(0, f.find(":2,")));
      if (it != by_unique.end()) out->moved.push_back({m, false, it->second, true});
    }
  }
}

void IndexWatcher::Kick() {
  if (running_ || closing_ || pending_.empty()) return;
  running_ = true;
  auto batch = std::make_shared<Batch>(std::exchange(pending_, Batch{}));
  auto out = std::make_shared<Outcome>();
  uint64_t seq = index_->last_seq();
  QueuePoolJob(
      loop_, [root = root_, batch, out] { RunBatch(root, *batch, out.get()); },
      [this, out, seq] {
        running_ = false;
        if (closing_) return MaybeClosed();
        Apply(*out, seq);
        Kick();
      });
}

void IndexWatcher::Apply(Outcome& out, uint64_t listed_at_seq) {
  for (const auto& f : out.found) {
    if (!f.is_dir) continue;
    index_->AddMailbox(f.mailbox);
    std::string dir = root_ + "/" + f.mailbox;
    if (!watches_.count(dir)) {
      Watch(dir, f.mailbox, Kind::kMailbox);
      // new/ or cur/ may have been made between the look and the watch:
      // look once more now that their creation raises an event.
      if (!f.has_new || !f.has_cur) pending_.discover.insert(f.mailbox);
    }
    // Watch before listing: whatever lands after the listing raises an event.
    for (bool in_new : {true, false}) {
      std::string sub = dir + "/" + Sub(in_new);
      if ((in_new ? f.has_new : f.has_cur) && !watches_.count(sub)) {
        Watch(sub, f.mailbox, in_new ? Kind::kNew : Kind::kCur);
        pending_.list.emplace(f.mailbox, in_new);
      }
    }
  }
  bool changed = false;
  for (const auto& l : out.listings) {
    if (!l.ok) continue;
    index_->ReplaceSubdir(l.mailbox, l.in_new, l.names, listed_at_seq);
    changed = true;
  }
  for (const auto& c : out.moved) {
    index_->Upsert(c.mailbox, c.in_new, c.file);
    changed = true;
  }
  for (const auto& c : out.checked) {
    // Its event came through after all (it raced our delivery's Expect).
    if (c.in_new && !expected_.empty()) expected_.erase(c.mailbox + "/" + c.file);
    if (c.exists) {
      index_->Upsert(c.mailbox, c.in_new, c.file);  // new, moved or re-flagged
      changed = true;
    } else {
      changed |= index_->RemoveFile(c.mailbox, c.in_new, c.file);
    }
  }
  if (changed && on_change_) on_change_();
  // Ready once the first scan's listings are applied too.
  if (!ready_ && pending_.list.empty() && pending_.discover.empty() && !pending_.scan_root) {
    ready_ = true;
    if (on_ready_) on_ready_();
  }
}

void IndexWatcher::Expect(const std::string& mailbox, const std::string& file_name) {
  if (closing_) return;
  std::string key = mailbox + "/" + file_name;
  if (!expected_.insert(key).second) return;
  expected_order_.push_back(std::move(key));
  while (expected_order_.size() > kMaxExpected) {
    expected_.erase(expected_order_.front());
    expected_order_.pop_front();
  }
}

void IndexWatcher::Close(std::function<void()> done) {
  closing_ = true;
  closed_ = std::move(done);
  for (auto& [path, w] : watches_) {
    uv_fs_event_stop(&w->handle);
    uv_close(reinterpret_cast<uv_handle_t*>(&w->handle), [](uv_handle_t* h) {
      auto* ww = reinterpret_cast<Watched*>(h);
      IndexWatcher* self = ww->owner;
      delete ww;
      if (self) {
        --self->open_handles_;
        self->MaybeClosed();
      }
    });
  }
  watches_.clear();
  if (RescanTimer* t = std::exchange(rescan_, nullptr)) {
    ++open_handles_;
    t->owner = this;
    uv_timer_stop(&t->timer);
    uv_close(reinterpret_cast<uv_handle_t*>(&t->timer), [](uv_handle_t* h) {
      auto* tt = reinterpret_cast<RescanTimer*>(h);
      IndexWatcher* self = tt->owner;
      delete tt;
      --self->open_handles_;
      self->MaybeClosed();
    });
  }
  MaybeClosed();
}

void IndexWatcher::MaybeClosed() {
  if (!closing_ || running_ || open_handles_ > 0) return;
  if (auto d = std::exchange(closed_, nullptr)) d();
}

}  // namespace mailnest
