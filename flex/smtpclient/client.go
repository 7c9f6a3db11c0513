// Package smtpclient is a small SMTP client (RFC 5321) written directly on
// net + bufio: one command, one reply, no pipelining.
package smtpclient

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"mailnest/flex/dotcodec"
	"mailnest/flex/reply"
)

// ReplyError is a reply that was not the one the command needed.
type ReplyError struct {
	Command string
	Reply   reply.Reply
}

func (e *ReplyError) Error() string {
	return fmt.Sprintf("%s: server replied %q", e.Command, e.Reply.String())
}

// Client is one SMTP session.
type Client struct {
	conn    net.Conn
	r       *bufio.Reader
	w       *bufio.Writer
	timeout time.Duration
	trace   io.Writer
	// Extensions advertised in the EHLO reply, keyword (upper case) to
	// parameters. Empty after a HELO fallback.
	Extensions map[string]string
}

// Dial connects, reads the greeting and requires it to be 220. Every later
// read or write must finish within timeout. Commands and replies are written
// to trace ("C: ..." / "S: ...") when it is not nil.
func Dial(addr string, timeout time.Duration, trace io.Writer) (*Client, reply.Reply, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, reply.Reply{}, err
	}
	c := &Client{conn: conn, r: bufio.NewReader(conn), w: bufio.NewWriter(conn), timeout: timeout, trace: trace}
	rep, err := c.readReply()
	if err != nil {
		conn.Close()
		return nil, rep, fmt.Errorf("greeting: %w", err)
	}
	if rep.Code != 220 {
		conn.Close()
		return nil, rep, &ReplyError{"greeting", rep}
	}
	return c, rep, nil
}

// Close closes the connection without QUIT.
func (c *Client) Close() error { return c.conn.Close() }

func (c *Client) tracef(format string, args ...interface{}) {
	if c.trace != nil {
		fmt.Fprintf(c.trace, format, args...)
	}
}

func (c *Client) readReply() (reply.Reply, error) {
	if err := c.conn.SetReadDeadline(time.Now().Add(c.timeout)); err != nil {
		return reply.Reply{}, err
	}
	rep, err := reply.Read(c.r)
	for _, l := range rep.Lines {
		c.tracef("S: %s\n", l)
	}
	return rep, err
}

func (c *Client) write(data []byte) error {
	if err := c.conn.SetWriteDeadline(time.Now().Add(c.timeout)); err != nil {
		return err
	}
	if _, err := c.w.Write(data); err != nil {
		return err
	}
	return c.w.Flush()
}

// cmd sends one command line and reads its reply; the reply must have one
// of the wanted codes.
func (c *Client) cmd(line string, want ...int) (reply.Reply, error) {
	if strings.ContainsAny(line, "\r\n") {
		return reply.Reply{}, fmt.Errorf("refusing to send a command containing CR or LF: %q", line)
	}
	c.tracef("C: %s\n", line)
	if err := c.write([]byte(line + "\r\n")); err != nil {
		return reply.Reply{}, err
	}
	rep, err := c.readReply()
	if err != nil {
		return rep, fmt.Errorf("%s: %w", verb(line), err)
	}
	for _, w := range want {
		if rep.Code == w {
			return rep, nil
		}
	}
	return rep, &ReplyError{verb(line), rep}
}

func verb(line string) string {
	if i := strings.IndexByte(line, ' '); i >= 0 {
		return line[:i]
	}
	return line
}

// Hello sends EHLO and falls back to HELO when EHLO gets a 5xx reply (a
// server that does not know EHLO). A 4xx to EHLO is a failure.
func (c *Client) Hello(name string) (reply.Reply, error) {
	rep, err := c.cmd("EHLO "+name, 250)
	if err == nil {
		c.Extensions = parseExtensions(rep)
		return rep, nil
	}
	if re, ok := err.(*ReplyError); ok && re.Reply.Class() == 5 {
		c.Extensions = map[string]string{}
		return c.cmd("HELO "+name, 250)
	}
	return rep, err
}

// parseExtensions reads the EHLO keywords: every line after the first is
// "KEYWORD [params]".
func parseExtensions(rep reply.Reply) map[string]string {
	ext := map[string]string{}
	for i, t := range rep.Text() {
		if i == 0 {
			continue
		}
		kw, params, _ := strings.Cut(strings.TrimSpace(t), " ")
		if kw != "" {
			ext[strings.ToUpper(kw)] = params
		}
	}
	return ext
}

// Has reports whether the server advertised an EHLO keyword.
func (c *Client) Has(keyword string) bool {
	_, ok := c.Extensions[strings.ToUpper(keyword)]
	return ok
}

// Mail sends MAIL FROM. size > 0 adds SIZE= when the server advertised SIZE;
// eightBit adds BODY=8BITMIME when the server advertised 8BITMIME.
func (c *Client) Mail(from string, size int, eightBit bool) (reply.Reply, error) {
	line := "MAIL FROM:<" + from + ">"
	if eightBit && c.Has("8BITMIME") {
		line += " BODY=8BITMIME"
	}
	if size > 0 && c.Has("SIZE") {
		line += " SIZE=" + strconv.Itoa(size)
	}
	return c.cmd(line, 250)
}

// Rcpt sends RCPT TO for one recipient; 250 and 251 are accepted.
func (c *Client) Rcpt(to string) (reply.Reply, error) {
	return c.cmd("RCPT TO:<"+to+">", 250, 251)
}

// Data sends DATA, then the message (CRLF-normalised here, dot-stuffed, with
// the terminator) and returns the final reply, which must be 250.
func (c *Client) Data(msg []byte) (reply.Reply, error) {
	if rep, err := c.cmd("DATA", 354); err != nil {
		return rep, err
	}
	wire := dotcodec.Stuff(dotcodec.NormalizeCRLF(msg))
	c.tracef("C: <message: %d octets on the wire, dot-stuffed, ending with CRLF.CRLF>\n", len(wire))
	if err := c.write(wire); err != nil {
		return reply.Reply{}, fmt.Errorf("sending message data: %w", err)
	}
	rep, err := c.readReply()
	if err != nil {
		return rep, fmt.Errorf("end of data: %w", err)
	}
	if rep.Code != 250 {
		return rep, &ReplyError{"end of data", rep}
	}
	return rep, nil
}

// Reset sends RSET.
func (c *Client) Reset() (reply.Reply, error) { return c.cmd("RSET", 250) }

// Quit sends QUIT, expects 221 and closes the connection.
func (c *Client) Quit() (reply.Reply, error) {
	rep, err := c.cmd("QUIT", 221)
	c.conn.Close()
	return rep, err
}
