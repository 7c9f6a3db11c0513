#include "http/query.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace mailnest {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

}  // namespace

bool ContainsFolded(std::string_view hay, std::string_view needle) {
  if (needle.empty()) return true;
  auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == static_cast<unsigned char>(b);
  });
  return it != hay.end();
}

bool ParseSizeValue(std::string_view text, uint64_t* out) {
  uint64_t mult = 1;
  if (!text.empty()) {
    switch (text.back()) {
      case 'k': case 'K': mult = uint64_t{1} << 10; break;
      case 'm': case 'M': mult = uint64_t{1} << 20; break;
      case 'g': case 'G': mult = uint64_t{1} << 30; break;
      default: break;
    }
    if (mult != 1) text.remove_suffix(1);
  }
  if (text.empty() || text.size() > 12) return false;
  uint64_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = n * mult;
  return true;
}

bool ParseDayValue(std::string_view t, int64_t* out) {
  if (t.size() != 10 || t[4] != '-' || t[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (t[i] < '0' || t[i] > '9') return false;
  }
  auto num = [&t](size_t at, size_t len) {
    int v = 0;
    for (size_t i = at; i < at + len; ++i) v = v * 10 + (t[i] - '0');
    return v;
  };
  int y = num(0, 4), m = num(5, 2), d = num(8, 2);
  static constexpr std::array<int, 12> kDays{31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1 || d > kDays[m - 1]) return false;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (m == 2 && d == 29 && !leap) return false;
  *out = DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d)) * 86400;
  return true;
}

bool Query::Parse(std::string_view text, Query* out, std::string* err) {
  struct Named {
    std::string_view name;
    Field field;
  };
  static constexpr std::array<Named, 10> kFields{{
      {"after", Field::kAfter},     {"before", Field::kBefore},   {"body", Field::kBody},
      {"from", Field::kFrom},       {"has", Field::kHasAttachment}, {"larger", Field::kLarger},
      {"mailbox", Field::kMailbox}, {"smaller", Field::kSmaller}, {"subject", Field::kSubject},
      {"to", Field::kTo},
  }};
  *out = Query();
  size_t i = 0;
  while (true) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i >= text.size()) break;
    if (out->terms_.size() >= kMaxQueryTerms) {
      *err = fmt::format("query: more than {} terms", kMaxQueryTerms);
      return false;
    }
    // A field name: letters up to a colon, outside quotes.
    size_t j = i;
    while (j < text.size() && std::isalpha(static_cast<unsigned char>(text[j]))) ++j;
    Term term{Field::kText, "", 0};
    std::string_view field_name;
    if (j > i && j < text.size() && text[j] == ':') {
      field_name = text.substr(i, j - i + 1);
      std::string name = Lower(text.substr(i, j - i));
      auto f = std::find_if(kFields.begin(), kFields.end(), [&name](const Named& n) { return n.name == name; });
      if (f == kFields.end()) {
        *err = fmt::format("query: unknown field '{}'", field_name);
        return false;
      }
      term.field = f->field;
      i = j + 1;
    }
    std::string value;
    if (i < text.size() && text[i] == '"') {
      size_t close = text.find('"', i + 1);
      if (close == std::string_view::npos) {
        *err = "query: unterminated quote";
        return false;
      }
      value = std::string(text.substr(i + 1, close - i - 1));
      i = close + 1;
    } else {
      size_t end = i;
      while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end]))) ++end;
      value = std::string(text.substr(i, end - i));
      i = end;
    }
    if (value.empty()) {
      *err = field_name.empty() ? "query: empty phrase" : fmt::format("query: '{}' needs a value", field_name);
      return false;
    }
    switch (term.field) {
      case Field::kHasAttachment:
        if (Lower(value) != "attachment") {
          *err = fmt::format("query: has: only takes 'attachment', not '{}'", value);
          return false;
        }
        break;
      case Field::kBefore:
      case Field::kAfter:
        if (!ParseDayValue(value, &term.number)) {
          *err = fmt::format("query: '{}' needs a date YYYY-MM-DD, not '{}'", field_name, value);
          return false;
        }
        break;
      case Field::kLarger:
      case Field::kSmaller: {
        uint64_t n = 0;
        if (!ParseSizeValue(value, &n)) {
          *err = fmt::format("query: '{}' needs a size like 500, 10k or 2M, not '{}'", field_name, value);
          return false;
        }
        term.number = static_cast<int64_t>(n);
        break;
      }
      case Field::kMailbox:
        term.text = value;  // exact
        break;
      default:
        term.text = Lower(value);
        break;
    }
    if (term.field == Field::kBody) out->needs_body_ = true;
    out->terms_.push_back(std::move(term));
  }
  return true;
}

bool Query::MatchesName(const std::string& mailbox, int64_t time, uint64_t size) const {
  for (const Term& t : terms_) {
    switch (t.field) {
      case Field::kMailbox: if (mailbox != t.text) return false; break;
      case Field::kBefore: if (time >= t.number) return false; break;
      case Field::kAfter: if (time < t.number) return false; break;
      case Field::kLarger: if (size <= static_cast<uint64_t>(t.number)) return false; break;
      case Field::kSmaller: if (size >= static_cast<uint64_t>(t.number)) return false; break;
      default: break;
    }
  }
  return true;
}

bool Query::MatchesHeaders(const MessageSummary& s) const {
  for (const Term& t : terms_) {
    switch (t.field) {
      case Field::kFrom: if (!ContainsFolded(s.from, t.text)) return false; break;
      case Field::kTo:
        if (!ContainsFolded(s.to, t.text) && !ContainsFolded(s.cc, t.text)) return false;
        break;
      case Field::kSubject: if (!ContainsFolded(s.subject, t.text)) return false; break;
      case Field::kHasAttachment: if (s.attachments == 0) return false; break;
      case Field::kText:
        if (!ContainsFolded(s.from, t.text) && !ContainsFolded(s.to, t.text) && !ContainsFolded(s.cc, t.text) &&
            !ContainsFolded(s.subject, t.text)) {
          return false;
        }
        break;
      default: break;
    }
  }
  return true;
}

bool Query::MatchesBody(std::string_view text) const {
  for (const Term& t : terms_) {
    if (t.field == Field::kBody && !ContainsFolded(text, t.text)) return false;
  }
  return true;
}

}  // namespace mailnest
