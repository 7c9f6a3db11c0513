// Package pop3client is a small POP3 client (RFC 1939) written directly on
// net + bufio: status lines "+OK"/"-ERR", multi-line responses ended by a
// lone "." with dot-unstuffing.
package pop3client

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"mailnest/flex/dotcodec"
	"mailnest/flex/lineio"
)

// Limits on what the client accepts from a server.
const (
	MaxStatusLine   = 4096      // RFC 1939 allows 512 octets
	MaxDataLine     = 1 << 20   // one line inside a message
	MaxMessageBytes = 256 << 20 // one retrieved message
	MaxListLines    = 1 << 20   // scan listings
)

// ErrResponse is a "-ERR" (or otherwise negative) status line.
type ErrResponse struct {
	Command string
	Line    string
}

func (e *ErrResponse) Error() string { return fmt.Sprintf("%s: server replied %q", e.Command, e.Line) }

// Client is one POP3 session.
type Client struct {
	conn    net.Conn
	r       *bufio.Reader
	timeout time.Duration
	trace   io.Writer
}

// Dial connects and requires a "+OK" greeting.
func Dial(addr string, timeout time.Duration, trace io.Writer) (*Client, string, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, "", err
	}
	c := &Client{conn: conn, r: bufio.NewReader(conn), timeout: timeout, trace: trace}
	line, err := c.status("greeting")
	if err != nil {
		conn.Close()
		return nil, line, err
	}
	return c, line, nil
}

// Close closes the connection without QUIT (the server must then not delete
// anything: no UPDATE state).
func (c *Client) Close() error { return c.conn.Close() }

func (c *Client) tracef(format string, args ...interface{}) {
	if c.trace != nil {
		fmt.Fprintf(c.trace, format, args...)
	}
}

func (c *Client) readLine(max int) ([]byte, bool, error) {
	if err := c.conn.SetReadDeadline(time.Now().Add(c.timeout)); err != nil {
		return nil, false, err
	}
	return lineio.ReadLine(c.r, max)
}

// status reads one status line; "+OK" gives nil error, "-ERR" an
// *ErrResponse, anything else a protocol error.
func (c *Client) status(command string) (string, error) {
	raw, _, err := c.readLine(MaxStatusLine)
	if err != nil {
		return "", fmt.Errorf("%s: %w", command, err)
	}
	line := string(raw)
	c.tracef("S: %s\n", line)
	switch {
	case line == "+OK" || strings.HasPrefix(line, "+OK "):
		return line, nil
	case line == "-ERR" || strings.HasPrefix(line, "-ERR "):
		return line, &ErrResponse{command, line}
	}
	return line, fmt.Errorf("%s: malformed status line %q", command, line)
}

// cmd sends one command line and reads its status line. shown replaces the
// line in the trace (for PASS).
func (c *Client) cmd(line, shown string) (string, error) {
	if strings.ContainsAny(line, "\r\n") {
		return "", fmt.Errorf("refusing to send a command containing CR or LF")
	}
	if shown == "" {
		shown = line
	}
	c.tracef("C: %s\n", shown)
	if err := c.conn.SetWriteDeadline(time.Now().Add(c.timeout)); err != nil {
		return "", err
	}
	if _, err := c.conn.Write([]byte(line + "\r\n")); err != nil {
		return "", err
	}
	verb, _, _ := strings.Cut(line, " ")
	return c.status(verb)
}

// readMulti reads the body of a multi-line response up to the terminator,
// un-stuffing each line; every line comes back CRLF-terminated. Bare LF line
// endings from the server are counted in bareLF.
func (c *Client) readMulti(maxBytes int) (data []byte, bareLF int, err error) {
	for lines := 0; ; lines++ {
		if lines > MaxListLines+maxBytes/2 {
			return data, bareLF, errors.New("multi-line response has too many lines")
		}
		raw, bare, err := c.readLine(MaxDataLine)
		if err != nil {
			return data, bareLF, fmt.Errorf("multi-line response not terminated: %w", err)
		}
		if bare {
			bareLF++
		}
		content, end := dotcodec.UnstuffLine(raw)
		if end {
			return data, bareLF, nil
		}
		if len(data)+len(content)+2 > maxBytes {
			return data, bareLF, fmt.Errorf("multi-line response larger than %d bytes", maxBytes)
		}
		data = append(data, content...)
		data = append(data, '\r', '\n')
	}
}

// User sends USER.
func (c *Client) User(name string) error { _, err := c.cmd("USER "+name, ""); return err }

// Pass sends PASS; the password is masked in the trace.
func (c *Client) Pass(pass string) error { _, err := c.cmd("PASS "+pass, "PASS ********"); return err }

// Stat returns the message count and total size from "+OK nn mm".
func (c *Client) Stat() (count, size int, err error) {
	line, err := c.cmd("STAT", "")
	if err != nil {
		return 0, 0, err
	}
	f := strings.Fields(line)
	if len(f) < 3 {
		return 0, 0, fmt.Errorf("STAT: malformed reply %q", line)
	}
	count, err1 := strconv.Atoi(f[1])
	size, err2 := strconv.Atoi(f[2])
	if err1 != nil || err2 != nil || count < 0 || size < 0 {
		return 0, 0, fmt.Errorf("STAT: malformed reply %q", line)
	}
	return count, size, nil
}

// Entry is one line of a LIST or UIDL listing.
type Entry struct {
	Num  int
	Size int    // LIST
	UID  string // UIDL
}

func (c *Client) listing(command string, parse func(n int, rest string) (Entry, error)) ([]Entry, error) {
	if _, err := c.cmd(command, ""); err != nil {
		return nil, err
	}
	data, _, err := c.readMulti(MaxMessageBytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", command, err)
	}
	var out []Entry
	for _, l := range strings.Split(strings.TrimSuffix(string(data), "\r\n"), "\r\n") {
		if l == "" {
			continue
		}
		c.tracef("S: %s\n", l)
		numStr, rest, _ := strings.Cut(l, " ")
		n, err := strconv.Atoi(numStr)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%s: malformed line %q", command, l)
		}
		e, err := parse(n, rest)
		if err != nil {
			return nil, fmt.Errorf("%s: malformed line %q", command, l)
		}
		out = append(out, e)
	}
	c.tracef("S: .\n")
	return out, nil
}

// List returns the scan listing.
func (c *Client) List() ([]Entry, error) {
	return c.listing("LIST", func(n int, rest string) (Entry, error) {
		size, err := strconv.Atoi(strings.TrimSpace(rest))
		if err != nil || size < 0 {
			return Entry{}, errors.New("bad size")
		}
		return Entry{Num: n, Size: size}, nil
	})
}

// Uidl returns the unique-id listing (an optional command: callers should
// treat *ErrResponse as "not supported").
func (c *Client) Uidl() ([]Entry, error) {
	return c.listing("UIDL", func(n int, rest string) (Entry, error) {
		uid := strings.TrimSpace(rest)
		if uid == "" || len(uid) > 70 {
			return Entry{}, errors.New("bad uid")
		}
		return Entry{Num: n, UID: uid}, nil
	})
}

// Retr retrieves message n, un-stuffed, with CRLF line endings.
func (c *Client) Retr(n int) ([]byte, error) {
	if _, err := c.cmd("RETR "+strconv.Itoa(n), ""); err != nil {
		return nil, err
	}
	data, bare, err := c.readMulti(MaxMessageBytes)
	if err != nil {
		return nil, fmt.Errorf("RETR %d: %w", n, err)
	}
	c.tracef("S: <message %d: %d octets>\nS: .\n", n, len(data))
	if bare > 0 {
		c.tracef("! warning: %d line(s) of message %d ended in a bare LF\n", bare, n)
	}
	return data, nil
}

// Dele marks message n deleted (effective only after a successful QUIT).
func (c *Client) Dele(n int) error { _, err := c.cmd("DELE "+strconv.Itoa(n), ""); return err }

// Quit sends QUIT (entering UPDATE state) and closes the connection.
func (c *Client) Quit() error {
	_, err := c.cmd("QUIT", "")
	c.conn.Close()
	return err
}
