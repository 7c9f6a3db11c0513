#include "http/message_search.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "http/deferred_request.h"
#include "http/http_reply.h"
#include "http/mailbox_param.h"
#include "http/message_json.h"
#include "http/mime_message.h"
#include "http/query.h"
#include "http/query_string.h"
#include "uv/pool_job.h"

namespace mailnest {

namespace {

constexpr size_t kQueryChunk = 256;  // entries judged per pool job when a query filters

}  // namespace


struct MessageSearch::Item {
  MessageLocation loc;
  int64_t time = 0;
  uint64_t seq = 0;
  bool name_ok = true;       // the query's index-only terms match
  bool need_summary = false;
  bool need_parse = false;   // the pool job opens the file
};

struct MessageSearch::Verdict {
  std::shared_ptr<const MessageSummary> summary;  // newly parsed
  bool gone = false;                              // the file no longer exists
  bool body_ok = true;                            // body: terms match
};

struct MessageSearch::ListRun {
  std::shared_ptr<DeferredRequest> req;
  std::string mailbox;
  std::shared_ptr<const Query> query;
  std::optional<ListCursor> pos;  // the last entry judged
  size_t limit = 0;
  uint64_t scanned = 0;
  std::vector<std::string> ids;   // matches, newest first
  bool more = false;
  bool cut = false;
};

struct MessageSearch::Waiter {
  std::shared_ptr<DeferredRequest> req;
  std::string mailbox;
  std::shared_ptr<const Query> query;
  uint64_t after = 0;        // seq of the last entry judged
  uint64_t timeout_ms = 0;
  uint64_t scanned = 0;
  bool busy = false;         // a pool job is judging a chunk for it
  bool parked = false;       // nothing matched at once: waiting for arrivals
  bool done = false;
  WaitTimer* timer = nullptr;  // freed in its close callback
};

// Ours, on the heap, outside h2o's pools; freed in its close callback.
struct MessageSearch::WaitTimer {
  uv_timer_t timer;  // first: the callback gets &timer
  std::weak_ptr<Waiter> waiter;
  MessageSearch* self;
};

MessageSearch::MessageSearch(uv_loop_t* loop, const Config& config, const MessageIndex* index,
                             std::function<bool()> closing)
    : loop_(loop), config_(config), index_(index), closing_(std::move(closing)) {}

MessageSearch::~MessageSearch() = default;

MessageSearch::Item MessageSearch::MakeItem(const IndexedMessage& m, const Query* query) const {
  Item it;
  it.loc = LocationOf(m);
  it.time = m.time;
  it.seq = m.seq;
  it.name_ok = query->MatchesName(m.mailbox(), m.time, m.size);
  it.need_summary = !m.summary;
  it.need_parse = it.name_ok && (it.need_summary || query->needs_body());
  return it;
}

void MessageSearch::Judge(std::shared_ptr<Chunk> chunk, std::shared_ptr<const Query> query, Done done) {
  auto verdicts = std::make_shared<std::vector<Verdict>>(chunk->size());
  if (std::none_of(chunk->begin(), chunk->end(), [](const Item& i) { return i.need_parse; })) {
    return done(*verdicts);
  }
  QueuePoolJob(
      loop_,
      [chunk, verdicts, query, root = config_.mail_root, max_bytes = config_.http.max_parse_bytes] {
        for (size_t i = 0; i < chunk->size(); ++i) {
          const Item& item = (*chunk)[i];
          Verdict& v = (*verdicts)[i];
          if (!item.need_parse) continue;
          bool gone = false;
          int fd = OpenMessageFile(root, item.loc, &gone);
          if (fd < 0) {
            v.gone = gone;
            if (!gone) {
              auto s = std::make_shared<MessageSummary>();
              s->error = "the message file cannot be read";
              v.summary = s;
              v.body_ok = false;
            }
            continue;
          }
          ParsedMessage parsed = ParseMessageFd(fd, max_bytes);
          if (item.need_summary) v.summary = std::make_shared<MessageSummary>(Summarize(parsed));
          if (query->needs_body()) {
            std::string text;
            if (parsed.message) {
              text = BodyText(parsed.message.get(), false);
              if (text.empty()) text = StripTags(BodyText(parsed.message.get(), true));
            }
            v.body_ok = query->MatchesBody(text);
          }
        }
      },
      [this, chunk, verdicts, done = std::move(done)] {
        for (size_t i = 0; i < chunk->size(); ++i) {
          const Verdict& v = (*verdicts)[i];
          if (!v.summary) continue;
          const IndexedMessage* m = index_->Find((*chunk)[i].loc.id);
          if (m && m->unique() == (*chunk)[i].loc.unique && !m->summary) m->summary = v.summary;
        }
        done(*verdicts);
      });
}

bool MessageSearch::Accept(const Item& item, const Verdict& v, const Query* query) const {
  if (!item.name_ok) return false;
  const IndexedMessage* m = index_->Find(item.loc.id);
  if (!m) return false;
  // A file gone from the disk stays listed (without a summary) while the
  // index has it: the index converges to the disk on its own.
  if (query->empty()) return true;
  if (v.gone) return false;
  const MessageSummary* s = v.summary ? v.summary.get() : m->summary.get();
  return s && v.body_ok && query->MatchesHeaders(*s);
}

bool MessageSearch::ParseQueryParam(h2o_req_t* req, const Params& q, std::shared_ptr<const Query>* out) {
  auto query = std::make_shared<Query>();
  if (auto it = q.find("query"); it != q.end()) {
    std::string err;
    if (!Query::Parse(it->second, query.get(), &err)) {
      SendError(req, 400, err, closing_());
      return false;
    }
  }
  *out = std::move(query);
  return true;
}

// ---- GET /api/v1/messages?mailbox=&query=&limit=&cursor=

void MessageSearch::List(h2o_req_t* req, const Params& q) {
  for (const auto& [k, v] : q) {
    if (k != "mailbox" && k != "limit" && k != "cursor" && k != "query") {
      return SendError(req, 400, fmt::format("{}: unknown parameter (mailbox, query, limit, cursor)", k), closing_());
    }
  }
  auto run = std::make_shared<ListRun>();
  if (!TakeMailboxParam(req, q, *index_, closing_(), &run->mailbox)) return;
  uint64_t limit = std::min<uint64_t>(50, config_.http.max_list_limit);
  if (auto it = q.find("limit"); it != q.end() && !ParseBoundedUint(it->second, 1, config_.http.max_list_limit, &limit)) {
    return SendError(req, 400, fmt::format("limit: must be 1..{}", config_.http.max_list_limit), closing_());
  }
  run->limit = limit;
  if (auto it = q.find("cursor"); it != q.end()) {
    ListCursor c;
    if (!ListCursor::Decode(it->second, &c)) {
      return SendError(req, 400, "cursor: not a cursor this API returned", closing_());
    }
    run->pos = c;
  }
  if (!ParseQueryParam(req, q, &run->query)) return;
  run->req = DeferredRequest::Make(req);
  StepList(run);
}

void MessageSearch::StepList(std::shared_ptr<ListRun> run) {
  if (!run->req->req()) return;  // the client went away
  const Query* query = run->query.get();
  size_t want = query->empty() ? run->limit - run->ids.size()
                               : std::min<uint64_t>(kQueryChunk, config_.http.max_search_scan - run->scanned);
  auto page = index_->List(run->mailbox, want, run->pos ? &*run->pos : nullptr);
  auto chunk = std::make_shared<Chunk>();
  for (const IndexedMessage* m : page.items) chunk->push_back(MakeItem(*m, query));
  if (chunk->empty()) return AnswerList(*run);
  bool more_after = page.next.has_value();
  Judge(chunk, run->query, [this, run, chunk, more_after](std::vector<Verdict>& verdicts) {
    if (!run->req->req()) return;
    for (size_t i = 0; i < chunk->size(); ++i) {
      const Item& item = (*chunk)[i];
      run->scanned += 1;
      run->pos = ListCursor{item.time, item.seq};
      if (!Accept(item, verdicts[i], run->query.get())) continue;
      run->ids.push_back(item.loc.id);
      if (run->ids.size() == run->limit) {
        run->more = i + 1 < chunk->size() || more_after;
        return AnswerList(*run);
      }
    }
    if (!more_after) return AnswerList(*run);
    if (!run->query->empty() && run->scanned >= config_.http.max_search_scan) {
      run->cut = run->more = true;
      return AnswerList(*run);
    }
    StepList(run);
  });
}

void MessageSearch::AnswerList(ListRun& run) {
  h2o_req_t* req = run.req->Take();
  if (!req) return;
  nlohmann::json items = nlohmann::json::array();
  for (const std::string& id : run.ids) {
    if (const IndexedMessage* m = index_->Find(id)) items.push_back(MessageListItem(*m));
  }
  nlohmann::json out = {{"messages", items}, {"next_cursor", nullptr}, {"last_seq", index_->last_seq()}};
  if (run.more && run.pos) out["next_cursor"] = run.pos->Encode();
  if (!run.query->empty()) {
    out["scanned"] = run.scanned;
    out["scan_limit_reached"] = run.cut;
  }
  SendJson(req, 200, out, closing_());
}

// ---- GET /api/v1/wait?mailbox=&query=&after=&timeout=
// 200 with the first message past `after` that matches (at once if one
// exists), or 204 when timeout seconds pass first. A mailbox may be a
// configured user's that has no directory yet: waiting for the first
// message is the point.

void MessageSearch::Wait(h2o_req_t* req, const Params& q) {
  for (const auto& [k, v] : q) {
    if (k != "mailbox" && k != "after" && k != "timeout" && k != "query") {
      return SendError(req, 400, fmt::format("{}: unknown parameter (mailbox, query, after, timeout)", k), closing_());
    }
  }
  auto w = std::make_shared<Waiter>();
  auto is_user = [this](const std::string& name) { return config_.users.count(name) != 0; };
  if (!TakeMailboxParam(req, q, *index_, closing_(), &w->mailbox, is_user)) return;
  if (auto it = q.find("after"); it != q.end() && !ParseBoundedUint(it->second, 0, UINT64_MAX, &w->after)) {
    return SendError(req, 400, "after: must be a seq number (last_seq of an earlier answer)", closing_());
  }
  uint64_t timeout = std::min<uint64_t>(30, config_.http.max_wait_s);
  if (auto it = q.find("timeout"); it != q.end() && !ParseBoundedUint(it->second, 0, config_.http.max_wait_s, &timeout)) {
    return SendError(req, 400, fmt::format("timeout: must be 0..{} seconds", config_.http.max_wait_s), closing_());
  }
  w->timeout_ms = timeout * 1000;
  if (!ParseQueryParam(req, q, &w->query)) return;
  if (waiters_.size() >= config_.http.max_waiters) {
    return SendError(req, 503, fmt::format("more than {} waiting requests", config_.http.max_waiters), closing_());
  }
  w->req = DeferredRequest::Make(req);
  waiters_.insert(w);
  StepWait(w);
}

void MessageSearch::StepWait(std::shared_ptr<Waiter> w) {
  if (w->done || w->busy) return;
  const Query* query = w->query.get();
  // Without a query the first entry past the cursor is the answer.
  size_t want = query->empty() ? 1 : std::max<uint64_t>(1, std::min<uint64_t>(kQueryChunk, config_.http.max_search_scan - w->scanned));
  auto chunk = std::make_shared<Chunk>();
  uint64_t seq = w->after;
  while (chunk->size() < want) {
    const IndexedMessage* m = index_->FirstAfter(w->mailbox, seq);
    if (!m) break;
    seq = m->seq;
    chunk->push_back(MakeItem(*m, query));
  }
  if (chunk->empty()) {
    if (w->parked) return;
    if (w->timeout_ms == 0 || closing_()) return FinishWait(w, nullptr, false);
    return Park(w);
  }
  w->busy = true;
  Judge(chunk, w->query, [this, w, chunk](std::vector<Verdict>& verdicts) {
    w->busy = false;
    if (w->done) return;
    for (size_t i = 0; i < chunk->size(); ++i) {
      const Item& item = (*chunk)[i];
      w->scanned += 1;
      w->after = item.seq;
      if (Accept(item, verdicts[i], w->query.get())) return FinishWait(w, index_->Find(item.loc.id), false);
    }
    if (!w->query->empty() && w->scanned >= config_.http.max_search_scan) return FinishWait(w, nullptr, true);
    StepWait(w);
  });
}

void MessageSearch::Park(std::shared_ptr<Waiter> w) {
  w->parked = true;
  w->timer = new WaitTimer{{}, w, this};
  uv_timer_init(loop_, &w->timer->timer);
  uv_timer_start(
      &w->timer->timer,
      [](uv_timer_t* t) {
        auto* box = reinterpret_cast<WaitTimer*>(t);
        if (auto waiter = box->waiter.lock()) box->self->FinishWait(waiter, nullptr, false);
      },
      w->timeout_ms, 0);
}

void MessageSearch::FinishWait(std::shared_ptr<Waiter> w, const IndexedMessage* m, bool cut) {
  w->done = true;
  waiters_.erase(w);
  if (h2o_req_t* req = w->req->Take()) {
    if (m) {
      nlohmann::json out = {{"message", MessageListItem(*m)}, {"last_seq", index_->last_seq()}};
      if (!w->query->empty()) out["scanned"] = w->scanned;
      SendJson(req, 200, out, closing_());
    } else if (cut) {
      // The search stopped at http.max_search_scan: last_seq is where to go on.
      SendJson(req, 200,
               {{"message", nullptr}, {"last_seq", w->after}, {"scanned", w->scanned}, {"scan_limit_reached", true}},
               closing_());
    } else {
      Send(req, 204, "", "", closing_());
    }
  }
  if (WaitTimer* t = w->timer) {
    w->timer = nullptr;
    uv_timer_stop(&t->timer);
    uv_close(reinterpret_cast<uv_handle_t*>(&t->timer), [](uv_handle_t* h) { delete reinterpret_cast<WaitTimer*>(h); });
  }
}

void MessageSearch::OnIndexChanged() {
  std::vector<std::shared_ptr<Waiter>> all(waiters_.begin(), waiters_.end());
  for (auto& w : all) {
    if (w->parked) StepWait(w);
  }
}

void MessageSearch::Drain() {
  std::vector<std::shared_ptr<Waiter>> all(waiters_.begin(), waiters_.end());
  for (auto& w : all) FinishWait(w, nullptr, false);
}

}  // namespace mailnest
