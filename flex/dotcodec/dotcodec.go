// Package dotcodec implements the text transparency rules shared by SMTP
// DATA (RFC 5321 section 4.5.2) and POP3 multi-line responses (RFC 1939
// section 3): CRLF normalisation, dot-stuffing and un-stuffing.
package dotcodec

import "bytes"

// NormalizeCRLF returns data with every line ending turned into CRLF:
// a bare LF becomes CRLF, a bare CR (not followed by LF) becomes CRLF, and an
// existing CRLF is kept. A non-empty result always ends with CRLF, so that the
// end-of-data line ".\r\n" can follow it. Empty input stays empty.
func NormalizeCRLF(data []byte) []byte {
	out := make([]byte, 0, len(data)+len(data)/32+2)
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch c {
		case '\r':
			out = append(out, '\r', '\n')
			if i+1 < len(data) && data[i+1] == '\n' {
				i++
			}
		case '\n':
			out = append(out, '\r', '\n')
		default:
			out = append(out, c)
		}
	}
	if len(out) > 0 && !bytes.HasSuffix(out, []byte("\r\n")) {
		out = append(out, '\r', '\n')
	}
	return out
}

// Stuff dot-stuffs a CRLF-normalised message (see NormalizeCRLF) and appends
// the end-of-data terminator ".\r\n": every line that starts with "." gets one
// more "." in front. The result is ready to be written after a 354 reply.
func Stuff(msg []byte) []byte {
	out := make([]byte, 0, len(msg)+len(msg)/64+8)
	atLineStart := true
	for _, c := range msg {
		if atLineStart && c == '.' {
			out = append(out, '.')
		}
		out = append(out, c)
		atLineStart = c == '\n'
	}
	if len(out) > 0 && !bytes.HasSuffix(out, []byte("\r\n")) {
		out = append(out, '\r', '\n')
	}
	return append(out, '.', '\r', '\n')
}

// UnstuffLine interprets one line of a multi-line response, given WITHOUT its
// CRLF. It reports end=true for the terminator line "." and otherwise returns
// the line with one leading "." removed if it had one.
func UnstuffLine(line []byte) (content []byte, end bool) {
	if len(line) == 1 && line[0] == '.' {
		return nil, true
	}
	if len(line) > 0 && line[0] == '.' {
		return line[1:], false
	}
	return line, false
}

// Unstuff decodes a whole dot-stuffed block that ends with the ".\r\n"
// terminator line (lines separated by CRLF). It returns the decoded text
// (every line CRLF-terminated), the number of bytes of the input consumed
// including the terminator, and ok=false if no terminator line was found.
func Unstuff(block []byte) (text []byte, consumed int, ok bool) {
	out := make([]byte, 0, len(block))
	pos := 0
	for pos < len(block) {
		i := bytes.Index(block[pos:], []byte("\r\n"))
		if i < 0 {
			return out, pos, false
		}
		line := block[pos : pos+i]
		pos += i + 2
		content, end := UnstuffLine(line)
		if end {
			return out, pos, true
		}
		out = append(out, content...)
		out = append(out, '\r', '\n')
	}
	return out, pos, false
}
