// The POP3 command table (RFC 1939, 2449), after OpenSMTPD's commands[] and
// MPD's AllCommands: one sorted row per verb with the states it is allowed
// in, its argument count and kind, and its handler. The session's dispatch
// prelude enforces every column in one place, in a fixed order, before a
// handler runs; handlers see only well-formed, range-checked arguments.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace mailnest {

class Pop3Session;

// RFC 1939 session states as bits, so a row can allow several.
enum Pop3State : uint8_t {
  kPop3Authorization = 1 << 0,
  kPop3Transaction = 1 << 1,
  kPop3Update = 1 << 2,  // no command is accepted: the session is ending
};

const char* Pop3StateName(Pop3State state);

enum class Pop3ArgKind : uint8_t {
  kWords,         // min..max words, each at most kMaxArgLength octets
  kMessage,       // like kWords; word 1 (when present) is a live message number
  kMessageLines,  // TOP: a live message number, then a line count
  kRest,          // PASS: the rest of the line after one space, spaces and all
};

// RFC 2449 §3: each argument may be up to 40 characters.
inline constexpr size_t kMaxArgLength = 40;
inline constexpr size_t kMaxArgs = 2;

// Arguments as the prelude hands them to a handler.
struct Pop3Args {
  size_t count = 0;                       // words present
  std::string_view words[kMaxArgs];
  std::string_view rest;                  // kRest only
  size_t index = 0;                       // kMessage*: 0-based, checked
  uint64_t lines = 0;                     // kMessageLines
};

struct Pop3Command {
  std::string_view verb;  // upper case
  uint8_t states;         // Pop3State bits
  uint8_t min_args;
  uint8_t max_args;
  Pop3ArgKind kind;
  void (Pop3Session::*handler)(const Pop3Args& args);
};

// The rows, sorted by verb (checked at compile time in pop3_commands.cc).
std::span<const Pop3Command> Pop3Commands();

// Binary search, case-insensitive (RFC 1939: keywords are case-insensitive).
// Null for unknown verbs.
const Pop3Command* FindPop3Command(std::string_view verb);

// A command line split at spaces (runs of spaces count as one): the verb,
// up to kMaxArgs words (too_many set when more follow), and everything
// after the verb and one space as rest.
struct Pop3Line {
  std::string_view verb;
  std::string_view words[kMaxArgs];
  size_t count = 0;
  bool too_many = false;
  std::string_view rest;
};
Pop3Line SplitPop3Line(std::string_view line);

// A POP3 number: one or more decimal digits, nothing else (no sign, no
// spaces). Values beyond uint64_t saturate to its maximum (out of any range).
bool ParsePop3Number(std::string_view s, uint64_t* out);

}  // namespace mailnest
