#include "relay/queue_record.h"

#include <fmt/format.h>

#include <charconv>

namespace mailnest {

namespace {

bool ParseInt(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

bool ParseU(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

bool ParseState(std::string_view s, RcptState* out) {
  for (RcptState st : {RcptState::kQueued, RcptState::kSent, RcptState::kBounced}) {
    if (s == RcptStateName(st)) {
      *out = st;
      return true;
    }
  }
  return false;
}

std::vector<std::string_view> SplitTabs(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (true) {
    size_t t = s.find('\t', i);
    out.push_back(s.substr(i, t == std::string_view::npos ? std::string_view::npos : t - i));
    if (t == std::string_view::npos) break;
    i = t + 1;
  }
  return out;
}

bool Clean(std::string_view s) { return s.find_first_of("\t\r\n") == std::string_view::npos; }

}  // namespace

std::string_view RcptStateName(RcptState s) {
  switch (s) {
    case RcptState::kQueued: return "queued";
    case RcptState::kSent: return "sent";
    case RcptState::kBounced: return "bounced";
  }
  return "?";
}

std::string EncodeEnvelope(const QueueEnvelope& env) {
  std::string out = fmt::format("mailnest-queue {}\nid {}\narrival {}\nsender {}\nsize {}\n", kQueueFormatVersion,
                                env.id, env.arrival, env.sender, env.size);
  if (env.warned != 0) out += fmt::format("warned {}\n", env.warned);
  for (const QueueRecipient& r : env.recipients) {
    out += fmt::format("rcpt {}\t{}\t{}\t{}\t{}\t{}\t{}\n", RcptStateName(r.state), r.attempts, r.next_try,
                       r.last_attempt, r.address, CleanReplyText(r.remote_mta, 255), CleanReplyText(r.last_reply));
  }
  out += "end\n";
  return out;
}

Status DecodeEnvelope(std::string_view text, QueueEnvelope* out) {
  *out = QueueEnvelope{};
  size_t pos = 0;
  int line_no = 0;
  bool ended = false, have_id = false;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) return Status::Invalid(fmt::format("line {}: not terminated", line_no + 1));
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    auto bad = [&](std::string_view what) {
      return Status::Invalid(fmt::format("line {}: {}", line_no, what));
    };
    if (ended) return bad("data after end");
    size_t sp = line.find(' ');
    std::string_view key = line.substr(0, sp);
    std::string_view val = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
    if (line_no == 1) {
      if (key != "mailnest-queue" || val != std::to_string(kQueueFormatVersion)) return bad("not a version 1 envelope");
      continue;
    }
    if (key == "id") {
      if (!IsValidQueueId(val)) return bad("bad id");
      out->id = std::string(val);
      have_id = true;
    } else if (key == "arrival") {
      if (!ParseInt(val, &out->arrival)) return bad("bad arrival");
    } else if (key == "sender") {
      if (!Clean(val)) return bad("bad sender");
      out->sender = std::string(val);
    } else if (key == "size") {
      if (!ParseU(val, &out->size)) return bad("bad size");
    } else if (key == "warned") {
      if (!ParseInt(val, &out->warned)) return bad("bad warned");
    } else if (key == "rcpt") {
      std::vector<std::string_view> f = SplitTabs(val);
      if (f.size() != 7) return bad("rcpt needs 7 fields");
      QueueRecipient r;
      uint64_t attempts = 0;
      if (!ParseState(f[0], &r.state)) return bad("bad rcpt state");
      if (!ParseU(f[1], &attempts) || attempts > 0xffffffffu) return bad("bad attempts");
      r.attempts = static_cast<uint32_t>(attempts);
      if (!ParseInt(f[2], &r.next_try) || !ParseInt(f[3], &r.last_attempt)) return bad("bad time");
      if (f[4].empty()) return bad("empty recipient");
      r.address = std::string(f[4]);
      r.remote_mta = std::string(f[5]);
      r.last_reply = std::string(f[6]);
      out->recipients.push_back(std::move(r));
    } else if (key == "end" && val.empty()) {
      ended = true;
    } else {
      return bad("unknown field");
    }
  }
  if (line_no == 0) return Status::Invalid("empty envelope");
  if (!ended) return Status::Invalid("no end line (torn write)");
  if (!have_id) return Status::Invalid("no id");
  if (out->recipients.empty()) return Status::Invalid("no recipients");
  return Status::Ok();
}

std::string CleanReplyText(std::string_view text, size_t max) {
  std::string out;
  out.reserve(std::min(text.size(), max));
  for (unsigned char c : text) {
    if (out.size() >= max) break;
    if (c == '\t' || c == '\r' || c == '\n') {
      out += ' ';
    } else if (c < 0x20 || c > 0x7e) {
      out += '?';
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

bool IsValidQueueId(std::string_view id) {
  if (id.empty() || id.size() > 128 || id.front() == '.') return false;
  for (char c : id) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace mailnest
