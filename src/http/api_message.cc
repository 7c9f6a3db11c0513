#include "http/api_message.h"

#include <fmt/format.h>

#include <memory>
#include <string>

#include "http/deferred_request.h"
#include "http/http_reply.h"
#include "http/message_file.h"
#include "http/message_json.h"
#include "http/mime_detail.h"
#include "http/query_string.h"
#include "uv/pool_job.h"

namespace mailnest {

namespace {

constexpr uint64_t kMaxPartNumber = 100000;

// An HTML part is data, not a page: nothing in it may load or run. Viewed
// inline (the console's iframe) it may use its own inline styles and data:
// images, and remote images once asked; never scripts, frames, fonts,
// forms or connections, and the sandbox directive keeps it an opaque origin.
constexpr std::string_view kPartCsp = "default-src 'none'; sandbox";
constexpr std::string_view kInlineCsp = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox";
constexpr std::string_view kInlineImagesCsp =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data: http: https:; sandbox";

// A 0/1 flag of the query: absent = false; anything but 0 or 1 = bad.
bool Flag(const std::map<std::string, std::string>& q, const char* name, bool* out, std::string* err) {
  auto it = q.find(name);
  *out = false;
  if (it == q.end()) return true;
  if (it->second != "0" && it->second != "1") {
    *err = fmt::format("{}: must be 0 or 1", name);
    return false;
  }
  *out = it->second == "1";
  return true;
}

}  // namespace

std::string_view MessageViewApi::PartCsp(PartView v) {
  if (!v.inline_view) return kPartCsp;
  return v.remote_images ? kInlineImagesCsp : kInlineCsp;
}

bool MessageViewApi::Handle(h2o_req_t* req, std::string_view id, std::string_view rest,
                            const std::map<std::string, std::string>& q) {
  uint64_t n = 0;
  constexpr std::string_view kParts = "/parts/";
  bool is_part = rest.substr(0, kParts.size()) == kParts;
  if (!rest.empty() && !is_part) return false;
  const IndexedMessage* m = MessageIndex::LooksLikeId(id) ? index_->Find(id) : nullptr;
  if (!m) {
    SendError(req, 404, "no such message", closing_());
    return true;
  }
  if (!is_part) {
    Show(req, *m);
  } else if (!ParseBoundedUint(rest.substr(kParts.size()), 1, kMaxPartNumber, &n)) {
    SendError(req, 404, "no such part", closing_());
  } else {
    PartView view;
    std::string err;
    if (!Flag(q, "inline", &view.inline_view, &err) || !Flag(q, "images", &view.remote_images, &err)) {
      SendError(req, 400, err, closing_());
    } else {
      Part(req, *m, static_cast<int>(n), view);
    }
  }
  return true;
}

void MessageViewApi::Show(h2o_req_t* req, const IndexedMessage& m) {
  auto deferred = DeferredRequest::Make(req);
  auto view = std::make_shared<nlohmann::json>();
  auto gone = std::make_shared<bool>(false);
  MessageLocation loc = LocationOf(m);
  nlohmann::json base = MessageIndexFields(m);
  QueuePoolJob(
      loop_,
      [view, gone, loc, root = config_.mail_root, max_bytes = config_.http.max_parse_bytes] {
        int fd = OpenMessageFile(root, loc, gone.get());
        if (fd < 0) return;
        *view = MessageView(ParseMessageFd(fd, max_bytes), loc.mailbox);
      },
      [this, deferred, view, gone, base] {
        h2o_req_t* q = deferred->Take();
        if (!q) return;
        if (*gone) return SendError(q, 404, "no such message", closing_());
        if (view->is_null()) return SendError(q, 500, "message file cannot be read", closing_());
        nlohmann::json out = base;
        (*view)["envelope"]["delivered"] = base["time"];
        out.update(*view);
        SendJson(q, 200, out, closing_());
      });
}

void MessageViewApi::Part(h2o_req_t* req, const IndexedMessage& m, int n, PartView view) {
  auto deferred = DeferredRequest::Make(req);
  auto part = std::make_shared<PartDownload>();
  auto gone = std::make_shared<bool>(false);
  auto failed = std::make_shared<bool>(false);
  QueuePoolJob(
      loop_,
      [part, gone, failed, n, loc = LocationOf(m), root = config_.mail_root, max_bytes = config_.http.max_parse_bytes] {
        int fd = OpenMessageFile(root, loc, gone.get());
        if (fd < 0) {
          *failed = !*gone;
          return;
        }
        *part = ExtractPart(ParseMessageFd(fd, max_bytes), n);
      },
      [this, deferred, part, gone, failed, n, view] {
        h2o_req_t* q = deferred->Take();
        if (!q) return;
        if (*gone) return SendError(q, 404, "no such message", closing_());
        if (*failed) return SendError(q, 500, "message file cannot be read", closing_());
        if (!part->found) return SendError(q, 404, "no such part", closing_());
        std::string disposition = AttachmentDisposition(part->filename, n);
        if (view.inline_view) disposition.replace(0, disposition.find(';'), "inline");
        Send(q, 200, part->content_type, part->data, closing_(),
             {{"content-disposition", disposition}, {"content-security-policy", PartCsp(view)}});
      });
}

}  // namespace mailnest
