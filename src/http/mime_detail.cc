#include "http/mime_detail.h"

#include <fmt/format.h>

#include <cctype>
#include <vector>

namespace mailnest {

namespace {

// Octets a part's content decodes to (written into a counting null stream).
uint64_t DecodedSize(GMimeObject* o) {
  GPtr<GMimeStream> null(g_mime_stream_null_new());
  ssize_t n = -1;
  if (GMIME_IS_PART(o)) {
    if (GMimeDataWrapper* w = g_mime_part_get_content(GMIME_PART(o))) n = g_mime_data_wrapper_write_to_stream(w, null.get());
  } else if (GMIME_IS_MESSAGE_PART(o)) {
    if (GMimeMessage* m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(o))) {
      n = g_mime_object_write_to_stream(GMIME_OBJECT(m), nullptr, null.get());
    }
  }
  return n < 0 ? 0 : static_cast<uint64_t>(n);
}

std::string Decoded(GMimeObject* o) {
  GPtr<GMimeStream> mem(g_mime_stream_mem_new());
  if (GMIME_IS_PART(o)) {
    if (GMimeDataWrapper* w = g_mime_part_get_content(GMIME_PART(o))) g_mime_data_wrapper_write_to_stream(w, mem.get());
  } else if (GMIME_IS_MESSAGE_PART(o)) {
    if (GMimeMessage* m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(o))) {
      g_mime_object_write_to_stream(GMIME_OBJECT(m), nullptr, mem.get());
    }
  }
  GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem.get()));
  return std::string(reinterpret_cast<const char*>(bytes->data), bytes->len);
}

std::string Charset(GMimeObject* o) {
  GMimeContentType* ct = g_mime_object_get_content_type(o);
  const char* c = ct ? g_mime_content_type_get_parameter(ct, "charset") : nullptr;
  std::string out;
  for (const char* p = c; p && *p && out.size() < 40; ++p) {
    unsigned char ch = static_cast<unsigned char>(*p);
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == ':') out += static_cast<char>(ch);
  }
  return out;
}

// "… for <rcpt@x>; date" in the first Received line mailnest wrote.
std::string ReceivedFor(const std::string& received) {
  if (received.find("(mailnest)") == std::string::npos) return "";
  size_t at = received.find(" for <");
  if (at == std::string::npos) at = received.find("\tfor <");
  if (at == std::string::npos) return "";
  size_t start = at + 6, end = received.find('>', start);
  return end == std::string::npos ? "" : received.substr(start, end - start);
}

}  // namespace

EnvelopeRecipients FindRecipients(GMimeMessage* message) {
  EnvelopeRecipients r;
  GMimeHeaderList* list = g_mime_object_get_header_list(GMIME_OBJECT(message));
  int count = g_mime_header_list_get_count(list);
  std::vector<std::string> delivered, original;
  std::string received;
  bool first_received = true;
  for (int i = 0; i < count; ++i) {
    GMimeHeader* h = g_mime_header_list_get_header_at(list, i);
    std::string name = g_mime_header_get_name(h);
    const char* raw = g_mime_header_get_value(h);
    std::string value = ValidUtf8(raw ? raw : "");
    if (g_ascii_strcasecmp(name.c_str(), "Delivered-To") == 0) delivered.push_back(value);
    if (g_ascii_strcasecmp(name.c_str(), "X-Original-To") == 0) original.push_back(value);
    if (g_ascii_strcasecmp(name.c_str(), "Received") == 0 && first_received) {
      received = ReceivedFor(value);
      first_received = false;
    }
  }
  auto trim = [](std::vector<std::string> v) {
    for (auto& s : v) s = std::string(g_strstrip(s.data()));
    return v;
  };
  if (!delivered.empty()) return {trim(delivered), "delivered-to"};
  if (!original.empty()) return {trim(original), "x-original-to"};
  if (!received.empty()) return {{received}, "received"};
  for (InternetAddressList* l : {g_mime_message_get_to(message), g_mime_message_get_cc(message)}) {
    for (int i = 0; l && i < internet_address_list_length(l); ++i) {
      InternetAddress* a = internet_address_list_get_address(l, i);
      if (INTERNET_ADDRESS_IS_MAILBOX(a)) {
        r.addresses.push_back(ValidUtf8(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a))));
      }
    }
  }
  if (!r.addresses.empty()) r.source = "to-cc";
  return r;
}

nlohmann::json MessageView(const ParsedMessage& parsed, const std::string& mailbox) {
  GMimeMessage* m = parsed.message.get();
  nlohmann::json out;
  out["truncated"] = parsed.truncated;
  MessageSummary s = Summarize(parsed);
  EnvelopeRecipients rcpts = m ? FindRecipients(m) : EnvelopeRecipients{};
  out["envelope"] = {{"return_path", s.return_path.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.return_path)},
                     {"mailbox", mailbox},
                     {"recipients", rcpts.addresses},
                     {"recipients_from", rcpts.source.empty() ? nlohmann::json(nullptr) : nlohmann::json(rcpts.source)}};
  out["summary"] = {{"from", s.from},   {"to", s.to},         {"cc", s.cc},
                    {"subject", s.subject}, {"date", s.date.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.date)},
                    {"message_id", s.message_id}, {"attachments", s.attachments}};
  nlohmann::json headers = nlohmann::json::array();
  nlohmann::json attachments = nlohmann::json::array();
  nlohmann::json tree = nlohmann::json::array();
  out["text"] = nullptr;
  out["html"] = nullptr;
  if (m) {
    GMimeHeaderList* list = g_mime_object_get_header_list(GMIME_OBJECT(m));
    int count = g_mime_header_list_get_count(list);
    for (int i = 0; i < count && headers.size() < kMaxViewHeaders; ++i) {
      GMimeHeader* h = g_mime_header_list_get_header_at(list, i);
      const char* v = g_mime_header_get_value(h);  // RFC 2047 decoded
      headers.push_back({{"name", ValidUtf8(g_mime_header_get_name(h))},
                         {"value", CapUtf8(ValidUtf8(v ? v : ""), kMaxViewHeaderValue)}});
    }
    std::string text = BodyText(m, false), html = BodyText(m, true);
    if (!text.empty()) out["text"] = text;
    if (!html.empty()) out["html"] = html;
    // The tree, nested: a stack of the open containers by depth.
    std::vector<nlohmann::json*> open;
    WalkParts(m, [&](const PartInfo& p) {
      nlohmann::json node = {{"part", p.n}, {"content_type", p.content_type}};
      if (!p.filename.empty()) node["filename"] = p.filename;
      if (p.is_leaf) {
        uint64_t size = DecodedSize(p.object);
        node["size"] = size;
        std::string charset = Charset(p.object);
        if (!charset.empty()) node["charset"] = charset;
        node["attachment"] = p.is_attachment;
        if (p.is_attachment) {
          attachments.push_back({{"part", p.n},
                                 {"filename", p.filename.empty() ? nlohmann::json(nullptr) : nlohmann::json(p.filename)},
                                 {"content_type", p.content_type},
                                 {"size", size}});
        }
      } else {
        node["parts"] = nlohmann::json::array();
      }
      open.resize(static_cast<size_t>(p.depth));
      nlohmann::json* parent = open.empty() ? &tree : &(*open.back())["parts"];
      parent->push_back(std::move(node));
      if (!p.is_leaf) open.push_back(&parent->back());
      return true;
    });
  }
  out["headers"] = std::move(headers);
  out["attachments"] = std::move(attachments);
  out["mime"] = tree.empty() ? nlohmann::json(nullptr) : tree[0];
  return out;
}

PartDownload ExtractPart(const ParsedMessage& parsed, int n) {
  PartDownload d;
  if (!parsed.message) return d;
  WalkParts(parsed.message.get(), [&](const PartInfo& p) {
    if (p.n != n) return true;
    if (!p.is_leaf) return false;
    d.found = true;
    // Only token characters reach the Content-Type header.
    bool token = !p.content_type.empty() && p.content_type.find('/') != std::string::npos;
    for (unsigned char c : p.content_type) {
      if (!std::isalnum(c) && std::string_view("!#$&^_.+-/").find(static_cast<char>(c)) == std::string_view::npos) {
        token = false;
      }
    }
    d.content_type = token ? p.content_type : "application/octet-stream";
    if (d.content_type.rfind("text/", 0) == 0) {
      std::string charset = Charset(p.object);
      if (!charset.empty()) d.content_type += "; charset=" + charset;
    }
    d.filename = SanitizeFilename(p.filename);
    d.data = Decoded(p.object);
    return false;
  });
  return d;
}

std::string SanitizeFilename(const std::string& name) {
  std::string base = name;
  size_t slash = base.find_last_of("/\\");
  if (slash != std::string::npos) base = base.substr(slash + 1);
  std::string out;
  for (unsigned char c : base) {
    if (c < 0x20 || c == 0x7F || c == '"' || c == '\\') continue;
    out += static_cast<char>(c);
  }
  while (!out.empty() && (out[0] == '.' || out[0] == ' ')) out.erase(0, 1);
  out = CapUtf8(ValidUtf8(out), 200);
  return out;
}

std::string AttachmentDisposition(const std::string& filename, int n) {
  std::string name = filename.empty() ? fmt::format("part-{}", n) : filename;
  std::string ascii;
  bool plain = true;
  for (unsigned char c : name) {
    if (c >= 0x80) {
      plain = false;
      // One '_' per character, not per octet.
      if ((c & 0xC0) != 0x80) ascii += '_';
    } else {
      ascii += static_cast<char>(c);
    }
  }
  std::string out = fmt::format("attachment; filename=\"{}\"", ascii);
  if (plain) return out;
  out += "; filename*=UTF-8''";
  for (unsigned char c : name) {
    if (std::isalnum(c) || std::string_view("!#$&+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

}  // namespace mailnest
