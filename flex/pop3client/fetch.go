package pop3client

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// Message is one retrieved message.
type Message struct {
	Num  int
	UID  string // "" when the server has no UIDL
	Size int    // from LIST
	Data []byte // un-stuffed, CRLF line endings
}

// Options describe one fetch session.
type Options struct {
	Addr    string
	User    string
	Pass    string
	Delete  bool // DELE every message after it was handed to Sink
	Timeout time.Duration
	Trace   io.Writer
	// Sink receives every message; an error stops the session without
	// QUIT, so nothing is deleted.
	Sink func(Message) error
}

// Fetch runs USER, PASS, STAT, LIST, UIDL (optional), RETR for every message,
// DELE (if asked) and QUIT. The error is nil only if every step got +OK.
func Fetch(o Options) error {
	c, _, err := Dial(o.Addr, o.Timeout, o.Trace)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.User(o.User); err != nil {
		c.Quit()
		return err
	}
	if err := c.Pass(o.Pass); err != nil {
		c.Quit()
		return err
	}
	count, _, err := c.Stat()
	if err != nil {
		c.Quit()
		return err
	}
	list, err := c.List()
	if err != nil {
		c.Quit()
		return err
	}
	if len(list) != count {
		c.tracef("! warning: STAT says %d messages, LIST lists %d\n", count, len(list))
	}
	uids := map[int]string{}
	if ul, err := c.Uidl(); err == nil {
		for _, e := range ul {
			uids[e.Num] = e.UID
		}
	} else {
		var er *ErrResponse
		if !errors.As(err, &er) {
			return err // connection trouble, not "UIDL unsupported"
		}
		c.tracef("! UIDL not available; files are named by message number\n")
	}
	for _, e := range list {
		data, err := c.Retr(e.Num)
		if err != nil {
			c.Quit()
			return err
		}
		if len(data) != e.Size {
			c.tracef("! warning: LIST said %d octets for message %d, RETR gave %d\n", e.Size, e.Num, len(data))
		}
		if err := o.Sink(Message{Num: e.Num, UID: uids[e.Num], Size: e.Size, Data: data}); err != nil {
			return fmt.Errorf("message %d: %w (session closed without QUIT, nothing deleted)", e.Num, err)
		}
		if o.Delete {
			if err := c.Dele(e.Num); err != nil {
				c.Quit()
				return err
			}
		}
	}
	return c.Quit()
}
