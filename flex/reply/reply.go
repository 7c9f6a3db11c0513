// Package reply parses SMTP replies (RFC 5321 section 4.2): one or more lines
// "ddd-text" followed by a last line "ddd text" or "ddd", all with the same
// three-digit code.
package reply

import (
	"bufio"
	"fmt"
	"strings"

	"mailnest/flex/lineio"
)

// Limits on what the client accepts from a server. RFC 5321 allows reply
// lines of 512 octets; we are lenient but bounded.
const (
	MaxLineLength = 4096
	MaxLines      = 256
)

// Reply is one complete SMTP reply.
type Reply struct {
	Code  int      // e.g. 250
	Lines []string // the raw lines as received, without CRLF
}

// Text returns the text parts of all lines (after "ddd-"/"ddd ").
func (r Reply) Text() []string {
	out := make([]string, len(r.Lines))
	for i, l := range r.Lines {
		if len(l) > 4 {
			out[i] = l[4:]
		}
	}
	return out
}

// Class is the first digit of the code: 2 positive completion, 3 positive
// intermediate, 4 transient failure, 5 permanent failure.
func (r Reply) Class() int { return r.Code / 100 }

// Positive reports a 2xx or 3xx reply.
func (r Reply) Positive() bool { return r.Class() == 2 || r.Class() == 3 }

// String returns the reply lines joined by newlines, as received.
func (r Reply) String() string { return strings.Join(r.Lines, "\n") }

// ParseLine splits one reply line into its code, whether more lines follow
// ("ddd-") and its text.
func ParseLine(line string) (code int, more bool, text string, err error) {
	if len(line) < 3 {
		return 0, false, "", fmt.Errorf("malformed reply line %q: shorter than a code", line)
	}
	for i := 0; i < 3; i++ {
		if line[i] < '0' || line[i] > '9' {
			return 0, false, "", fmt.Errorf("malformed reply line %q: no 3-digit code", line)
		}
	}
	if line[0] < '2' || line[0] > '5' {
		return 0, false, "", fmt.Errorf("malformed reply line %q: code must start with 2-5", line)
	}
	code = int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')
	if len(line) == 3 {
		return code, false, "", nil
	}
	switch line[3] {
	case '-':
		return code, true, line[4:], nil
	case ' ':
		return code, false, line[4:], nil
	}
	return 0, false, "", fmt.Errorf("malformed reply line %q: 4th character must be space or '-'", line)
}

// Read reads one complete (possibly multi-line) reply.
func Read(r *bufio.Reader) (Reply, error) {
	var rep Reply
	for n := 0; n < MaxLines; n++ {
		raw, _, err := lineio.ReadLine(r, MaxLineLength)
		if err != nil {
			if len(rep.Lines) > 0 {
				return rep, fmt.Errorf("reply cut short after %q: %w", rep.Lines[len(rep.Lines)-1], err)
			}
			return rep, err
		}
		line := string(raw)
		code, more, _, err := ParseLine(line)
		if err != nil {
			return rep, err
		}
		if n > 0 && code != rep.Code {
			return rep, fmt.Errorf("reply code changed from %d to %d in %q", rep.Code, code, line)
		}
		rep.Code = code
		rep.Lines = append(rep.Lines, line)
		if !more {
			return rep, nil
		}
	}
	return rep, fmt.Errorf("reply has more than %d lines", MaxLines)
}
