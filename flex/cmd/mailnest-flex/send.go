package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"mailnest/flex/message"
	"mailnest/flex/smtpclient"
)

// maxInput bounds what send reads from FILE or stdin.
const maxInput = 64 << 20

func runSend(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var to multiFlag
	timeout := 30 * time.Second
	from := fs.String("from", "", "envelope sender and From: address")
	fs.Var(&to, "to", "recipient (repeatable)")
	subject := fs.String("subject", "", "Subject: of the generated header (ignored when the input has headers)")
	smtpAddr := fs.String("smtp", "127.0.0.1:2525", "SMTP server HOST:PORT")
	helo := fs.String("helo", "mailnest-flex.localhost", "name sent in EHLO/HELO")
	fs.Var(durationFlag{&timeout}, "timeout", "per-step network timeout (e.g. 10s or 10)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return 2
	}
	if *from == "" || len(to) == 0 || len(pos) != 1 {
		fmt.Fprintln(stderr, "send needs --from, at least one --to and exactly one FILE (or - for stdin)")
		return 2
	}
	input, err := readInput(pos[0], stdin)
	if err != nil {
		fmt.Fprintf(stderr, "mailnest-flex: %v\n", err)
		return 1
	}
	msg := message.Build(input, message.Params{From: *from, To: to, Subject: *subject, Date: time.Now()})
	err = smtpclient.Send(smtpclient.Options{Addr: *smtpAddr, Helo: *helo, From: *from, To: to,
		Message: msg, Timeout: timeout, Trace: stdout})
	if err != nil {
		fmt.Fprintf(stderr, "mailnest-flex: send failed: %v\n", err)
		return 1
	}
	return 0
}

func readInput(name string, stdin io.Reader) ([]byte, error) {
	var r io.Reader = stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxInput {
		return nil, fmt.Errorf("input larger than %d bytes", maxInput)
	}
	return data, nil
}
