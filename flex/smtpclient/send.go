package smtpclient

import (
	"errors"
	"fmt"
	"io"
	"time"

	"mailnest/flex/dotcodec"
	"mailnest/flex/message"
)

// Options describe one message submission.
type Options struct {
	Addr    string // host:port
	Helo    string // name given in EHLO/HELO
	From    string
	To      []string
	Message []byte // complete message (headers + body), any line endings
	Timeout time.Duration
	Trace   io.Writer
}

// Send runs one whole session: greeting, EHLO (HELO fallback), MAIL, RCPT for
// every recipient, DATA, QUIT. If any recipient is refused the transaction
// is not sent at all (RSET, QUIT) so the message is never delivered to only
// some recipients; every RCPT is still tried so all refusals are shown.
// The returned error is nil only if every step got a positive reply.
func Send(o Options) error {
	if len(o.To) == 0 {
		return errors.New("no recipients")
	}
	c, _, err := Dial(o.Addr, o.Timeout, o.Trace)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Hello(o.Helo); err != nil {
		c.Quit()
		return err
	}
	msg := dotcodec.NormalizeCRLF(o.Message)
	if _, err := c.Mail(o.From, len(msg), message.Is8Bit(msg)); err != nil {
		c.Quit()
		return err
	}
	var refused []error
	for _, to := range o.To {
		if _, err := c.Rcpt(to); err != nil {
			var re *ReplyError
			if !errors.As(err, &re) {
				return err // connection trouble: stop here
			}
			refused = append(refused, err)
		}
	}
	if len(refused) > 0 {
		c.Reset()
		c.Quit()
		return fmt.Errorf("%d of %d recipients refused, message not sent: %w", len(refused), len(o.To), refused[0])
	}
	if _, err := c.Data(msg); err != nil {
		c.Quit()
		return err
	}
	if _, err := c.Quit(); err != nil {
		return fmt.Errorf("message accepted, but %w", err)
	}
	return nil
}
