// GET /api/v1/messages and GET /api/v1/wait: listing and waiting with
// header summaries and the query language (http/query.h).
//
// The index has names only; a summary is parsed from the file on a pool
// thread the first time an answer needs it, and cached in the entry. A
// request walks the index in chunks: the entries of a chunk that lack a
// summary (or, for body: terms, all of it) go to one pool job that parses
// them one after another, so a page costs one pool thread, not fifty. The
// chunk is then judged on the loop in order. A query examines at most
// http.max_search_scan messages per request; then the answer says
// "scan_limit_reached" and its cursor continues the search.
//
// Loop-thread only, except the pool jobs (which touch only copies).
#pragma once

#include <h2o.h>
#include <uv.h>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/config.h"
#include "http/message_file.h"
#include "http/message_index.h"

namespace mailnest {

class DeferredRequest;
class Query;

class MessageSearch {
 public:
  using Params = std::map<std::string, std::string>;
  // closing: whether the server is shutting down (answers ask to close).
  MessageSearch(uv_loop_t* loop, const Config& config, const MessageIndex* index, std::function<bool()> closing);
  ~MessageSearch();

  void List(h2o_req_t* req, const Params& q);
  void Wait(h2o_req_t* req, const Params& q);
  void OnIndexChanged();  // parked waiters look at the new arrivals
  void Drain();           // every waiter gets 204
  size_t waiters() const { return waiters_.size(); }

 private:
  struct Item;       // one entry of a chunk, copied for the pool
  struct Verdict;    // what the pool job found about it
  struct ListRun;
  struct Waiter;
  struct WaitTimer;
  using Chunk = std::vector<Item>;
  using Done = std::function<void(std::vector<Verdict>&)>;

  // Parses what the chunk needs on a pool thread, stores the summaries in
  // the index, then done(verdicts) on the loop; at once if nothing needs parsing.
  void Judge(std::shared_ptr<Chunk> chunk, std::shared_ptr<const Query> query, Done done);
  Item MakeItem(const IndexedMessage& m, const Query* query) const;
  bool Accept(const Item& item, const Verdict& v, const Query* query) const;

  void StepList(std::shared_ptr<ListRun> run);
  void AnswerList(ListRun& run);
  void StepWait(std::shared_ptr<Waiter> w);
  void Park(std::shared_ptr<Waiter> w);
  void FinishWait(std::shared_ptr<Waiter> w, const IndexedMessage* m, bool cut);
  bool ParseQueryParam(h2o_req_t* req, const Params& q, std::shared_ptr<const Query>* out);

  uv_loop_t* loop_;
  const Config& config_;
  const MessageIndex* index_;
  std::function<bool()> closing_;
  std::set<std::shared_ptr<Waiter>> waiters_;
};

}  // namespace mailnest
