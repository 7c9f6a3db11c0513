#include "http/mime_message.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <mutex>

namespace mailnest {

namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// g_free on scope exit, as a std::string (null → "").
std::string TakeGString(char* s) {
  std::string out = s ? s : "";
  g_free(s);
  return out;
}

std::string Field(const char* s) { return CapUtf8(ValidUtf8(s ? s : ""), kMaxSummaryField); }

// An attachment is a leaf someone would save rather than read: declared
// "attachment", anything that is not text/plain or text/html (images of a
// multipart/related too), a named part not declared inline, and every
// attached message.
bool IsAttachment(GMimeObject* o, const std::string& type, const std::string& filename) {
  if (GMIME_IS_MESSAGE_PART(o)) return true;
  const char* d = g_mime_object_get_disposition(o);
  std::string disp = d ? Lower(d) : "";
  if (disp == "attachment") return true;
  if (type != "text/plain" && type != "text/html") return true;
  return !filename.empty() && disp != "inline";
}

void Walk(GMimeObject* o, int depth, int* n, const std::function<bool(const PartInfo&)>& visit, bool* stop) {
  if (*stop || !o) return;
  PartInfo p;
  p.n = ++*n;
  p.depth = depth;
  p.object = o;
  if (GMimeContentType* ct = g_mime_object_get_content_type(o)) {
    p.content_type = ValidUtf8(Lower(TakeGString(g_mime_content_type_get_mime_type(ct))));
  }
  if (GMIME_IS_PART(o)) p.filename = ValidUtf8(TakeGString(g_strdup(g_mime_part_get_filename(GMIME_PART(o)))));
  p.is_leaf = !GMIME_IS_MULTIPART(o);
  p.is_attachment = p.is_leaf && IsAttachment(o, p.content_type, p.filename);
  if (!visit(p)) {
    *stop = true;
    return;
  }
  if (GMIME_IS_MULTIPART(o)) {
    GMimeMultipart* mp = GMIME_MULTIPART(o);
    int count = g_mime_multipart_get_count(mp);
    for (int i = 0; i < count && !*stop; ++i) Walk(g_mime_multipart_get_part(mp, i), depth + 1, n, visit, stop);
  }
}

}  // namespace

void EnsureGMime() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

ParsedMessage ParseMessageFd(int fd, uint64_t max_bytes) {
  EnsureGMime();
  ParsedMessage out;
  struct stat st;
  if (::fstat(fd, &st) == 0) out.file_size = static_cast<uint64_t>(st.st_size);
  out.truncated = out.file_size > max_bytes;
  // The stream owns fd from here; a bounded stream never reads past max_bytes.
  GPtr<GMimeStream> stream(
      g_mime_stream_fs_new_with_bounds(fd, 0, out.truncated ? static_cast<gint64>(max_bytes) : -1));
  GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  out.message.reset(g_mime_parser_construct_message(parser.get(), nullptr));
  return out;
}

ParsedMessage ParseMessageBytes(std::string_view data) {
  EnsureGMime();
  ParsedMessage out;
  out.file_size = data.size();
  GByteArray* bytes = g_byte_array_sized_new(static_cast<guint>(data.size()));
  g_byte_array_append(bytes, reinterpret_cast<const guint8*>(data.data()), static_cast<guint>(data.size()));
  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_byte_array(bytes));  // owns bytes
  GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  out.message.reset(g_mime_parser_construct_message(parser.get(), nullptr));
  return out;
}

void WalkParts(GMimeMessage* message, const std::function<bool(const PartInfo&)>& visit) {
  int n = 0;
  bool stop = false;
  Walk(g_mime_message_get_mime_part(message), 0, &n, visit, &stop);
}

std::string BodyText(GMimeMessage* message, bool html) {
  std::string want = html ? "text/html" : "text/plain";
  std::string text;
  WalkParts(message, [&](const PartInfo& p) {
    if (!p.is_leaf || p.is_attachment || p.content_type != want || !GMIME_IS_TEXT_PART(p.object)) return true;
    // Decodes the transfer encoding and converts from the part's charset.
    text = ValidUtf8(TakeGString(g_mime_text_part_get_text(GMIME_TEXT_PART(p.object))));
    return false;
  });
  return text;
}

std::string AddressList(InternetAddressList* list) {
  if (!list || internet_address_list_length(list) == 0) return "";
  return ValidUtf8(TakeGString(internet_address_list_to_string(list, nullptr, FALSE)));
}

MessageSummary Summarize(const ParsedMessage& parsed) {
  MessageSummary s;
  s.truncated = parsed.truncated;
  GMimeMessage* m = parsed.message.get();
  if (!m) {
    s.error = "not a message";
    return s;
  }
  s.from = CapUtf8(AddressList(g_mime_message_get_from(m)), kMaxSummaryField);
  s.to = CapUtf8(AddressList(g_mime_message_get_to(m)), kMaxSummaryField);
  s.cc = CapUtf8(AddressList(g_mime_message_get_cc(m)), kMaxSummaryField);
  s.subject = Field(g_mime_message_get_subject(m));
  if (GDateTime* d = g_mime_message_get_date(m)) s.date = Field(TakeGString(g_date_time_format_iso8601(d)).c_str());
  s.message_id = Field(g_mime_message_get_message_id(m));
  s.return_path = Field(g_mime_object_get_header(GMIME_OBJECT(m), "Return-Path"));
  WalkParts(m, [&s](const PartInfo& p) {
    if (p.is_attachment) ++s.attachments;
    return true;
  });
  std::string text = BodyText(m, false);
  if (text.empty()) text = StripTags(BodyText(m, true));
  s.snippet = CollapseWhitespace(text, kSnippetChars);
  return s;
}

std::string ValidUtf8(std::string_view s) {
  if (g_utf8_validate(s.data(), static_cast<gssize>(s.size()), nullptr)) return std::string(s);
  return TakeGString(g_utf8_make_valid(s.data(), static_cast<gssize>(s.size())));
}

std::string CapUtf8(std::string s, size_t max_octets) {
  if (s.size() <= max_octets) return s;
  size_t cut = max_octets;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
  return s;
}

std::string CollapseWhitespace(std::string_view s, size_t max_chars) {
  std::string out;
  size_t chars = 0;
  bool space = false;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v') {
      space = !out.empty();
      ++i;
      continue;
    }
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
    if (space) {
      if (chars + 1 >= max_chars) break;
      out += ' ';
      ++chars;
      space = false;
    }
    if (chars >= max_chars) break;
    out.append(s.substr(i, len));
    ++chars;
    i += len;
  }
  return out;
}

std::string StripTags(std::string_view html) {
  std::string out;
  std::string lower = Lower(std::string(html));
  for (size_t i = 0; i < html.size();) {
    if (html[i] != '<') {
      out += html[i++];
      continue;
    }
    // Skip the contents of <style> and <script>: not text a person reads.
    for (const char* skip : {"style", "script"}) {
      if (lower.compare(i + 1, std::strlen(skip), skip) == 0) {
        size_t end = lower.find(std::string("</") + skip, i);
        if (end != std::string::npos) i = end;
      }
    }
    size_t close = html.find('>', i);
    if (close == std::string_view::npos) break;
    out += ' ';
    i = close + 1;
  }
  return out;
}

}  // namespace mailnest
