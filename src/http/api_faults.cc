// GET, PUT and DELETE /api/v1/faults: the SMTP server's fault injection
// rules (smtp/fault_injector.h) read and changed at run time. PUT takes the
// config's form, {"faults": [rules]}, checked by the same parser as the
// config file (smtp/fault_rules.h), so a bad rule is a 400 naming the key
// exactly as `mailnest --check-config` would. Bodies over
// http.max_body_bytes are h2o's 413; http.read_only and Basic auth are the
// access gate's (403, 401). Every answer is the list with its counters.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "http/api.h"
#include "http/http_reply.h"
#include "smtp/fault_injector.h"

namespace mailnest {

namespace {

// {"faults": [...]} and nothing else.
Status ParseFaultsBody(std::string_view body, std::vector<FaultRule>* rules) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded()) return Status::Invalid("body: not valid JSON");
  if (!j.is_object()) return Status::Invalid("body: must be an object {\"faults\": [rules]}");
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() != "faults") return Status::Invalid(fmt::format("{}: unknown key", it.key()));
  }
  if (!j.contains("faults")) return Status::Invalid("faults: required");
  return ParseFaultRules(j["faults"], "faults", rules);
}

}  // namespace

void Api::Faults(h2o_req_t* req, std::string_view, const Params& q) {
  if (!q.empty()) return SendError(req, 400, fmt::format("{}: unknown parameter", q.begin()->first), closing());
  if (!faults_) return SendError(req, 404, "no such endpoint", closing());
  SendJson(req, 200, faults_->Json(), closing());
}

void Api::PutFaults(h2o_req_t* req, std::string_view, const Params& q) {
  if (!q.empty()) return SendError(req, 400, fmt::format("{}: unknown parameter", q.begin()->first), closing());
  if (!faults_) return SendError(req, 404, "no such endpoint", closing());
  std::vector<FaultRule> rules;
  Status s = ParseFaultsBody({req->entity.base ? req->entity.base : "", req->entity.len}, &rules);
  if (!s.ok()) return SendError(req, 400, s.message(), closing());
  faults_->Replace(std::move(rules), "PUT /api/v1/faults");
  SendJson(req, 200, faults_->Json(), closing());
}

void Api::DeleteFaults(h2o_req_t* req, std::string_view, const Params& q) {
  if (!q.empty()) return SendError(req, 400, fmt::format("{}: unknown parameter", q.begin()->first), closing());
  if (!faults_) return SendError(req, 404, "no such endpoint", closing());
  faults_->Replace({}, "DELETE /api/v1/faults");
  SendJson(req, 200, faults_->Json(), closing());
}

}  // namespace mailnest
