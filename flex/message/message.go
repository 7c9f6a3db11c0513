// Package message decides whether input already is a complete RFC 5322
// message and, if it is not, wraps it with From/To/Subject/Date/Message-ID.
package message

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"mime"
	"strings"
	"time"
)

// HasHeaders reports whether data already starts with a header section. The
// rule: the first line must be a header field, i.e. a field name of one or
// more printable US-ASCII characters other than ':' (RFC 5322 ftext, 33-126
// without 58) immediately followed by ':'. Anything else (an empty first
// line, a line with a space before the colon, no colon at all) is body text.
func HasHeaders(data []byte) bool {
	end := bytes.IndexAny(data, "\r\n")
	if end < 0 {
		end = len(data)
	}
	first := data[:end]
	colon := bytes.IndexByte(first, ':')
	if colon <= 0 {
		return false
	}
	for _, c := range first[:colon] {
		if c < 33 || c > 126 {
			return false
		}
	}
	return true
}

// Is8Bit reports whether data has any byte outside 7-bit ASCII.
func Is8Bit(data []byte) bool {
	for _, c := range data {
		if c >= 0x80 {
			return true
		}
	}
	return false
}

// Params are the values for the generated header section.
type Params struct {
	From      string
	To        []string
	Subject   string
	Date      time.Time
	MessageID string // without angle brackets; generated when empty
}

// NewMessageID returns a unique id "<time>.<random>@<domain>" (no brackets).
func NewMessageID(from string, now time.Time) string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand failing is exceptional; the time keeps it unique enough.
		copy(b[:], fmt.Sprintf("%08d", now.Nanosecond()%100000000))
	}
	domain := "mailnest-flex.invalid"
	if at := strings.LastIndexByte(from, '@'); at >= 0 && at+1 < len(from) {
		domain = from[at+1:]
	}
	return fmt.Sprintf("%d.%s@%s", now.UnixNano(), hex.EncodeToString(b[:]), domain)
}

// encodeHeaderText leaves ASCII text alone and encodes 8-bit text as an
// RFC 2047 encoded-word, so header lines stay 7-bit.
func encodeHeaderText(s string) string {
	if !Is8Bit([]byte(s)) {
		return s
	}
	return mime.QEncoding.Encode("utf-8", s)
}

// Headers renders the generated header section including the blank line that
// ends it, with CRLF line endings. bodyIs8Bit adds MIME headers declaring a
// UTF-8 text body sent as 8bit.
func Headers(p Params, bodyIs8Bit bool) []byte {
	var b bytes.Buffer
	id := p.MessageID
	if id == "" {
		id = NewMessageID(p.From, p.Date)
	}
	fmt.Fprintf(&b, "From: <%s>\r\n", p.From)
	tos := make([]string, len(p.To))
	for i, t := range p.To {
		tos[i] = "<" + t + ">"
	}
	fmt.Fprintf(&b, "To: %s\r\n", strings.Join(tos, ", "))
	fmt.Fprintf(&b, "Subject: %s\r\n", encodeHeaderText(p.Subject))
	fmt.Fprintf(&b, "Date: %s\r\n", p.Date.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s>\r\n", id)
	if bodyIs8Bit {
		b.WriteString("MIME-Version: 1.0\r\n")
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\n")
		b.WriteString("Content-Transfer-Encoding: 8bit\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// Build returns the message to send: input unchanged if HasHeaders(input),
// otherwise generated headers followed by input as the body. The caller does
// the CRLF normalisation of the result.
func Build(input []byte, p Params) []byte {
	if HasHeaders(input) {
		return input
	}
	h := Headers(p, Is8Bit(input))
	return append(h, input...)
}
