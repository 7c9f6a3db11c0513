package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"mailnest/flex/pop3client"
)

func runFetch(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fetch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := 30 * time.Second
	user := fs.String("user", "", "POP3 user name")
	pass := fs.String("pass", "", "POP3 password")
	del := fs.Bool("delete", false, "DELE each message after it was written")
	out := fs.String("out", "", "directory for one file per message (default: stdout)")
	popAddr := fs.String("pop3", "127.0.0.1:2110", "POP3 server HOST:PORT")
	fs.Var(durationFlag{&timeout}, "timeout", "per-step network timeout (e.g. 10s or 10)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return 2
	}
	if *user == "" || len(pos) != 0 {
		fmt.Fprintln(stderr, "fetch needs --user and --pass and no other arguments")
		return 2
	}
	// Messages on stdout keep stdout clean: the transcript goes to stderr.
	trace := stderr
	if *out != "" {
		trace = stdout
		if err := os.MkdirAll(*out, 0o755); err != nil {
			fmt.Fprintf(stderr, "mailnest-flex: %v\n", err)
			return 1
		}
	}
	sink := func(m pop3client.Message) error {
		if *out == "" {
			fmt.Fprintf(stdout, "--- mailnest-flex message %d uidl=%s octets=%d ---\r\n", m.Num, m.UID, len(m.Data))
			_, err := stdout.Write(m.Data)
			return err
		}
		path := filepath.Join(*out, fileName(m))
		fmt.Fprintf(trace, "* wrote message %d (%d octets) to %s\n", m.Num, len(m.Data), path)
		return writeFileAtomic(path, m.Data)
	}
	err = pop3client.Fetch(pop3client.Options{Addr: *popAddr, User: *user, Pass: *pass, Delete: *del,
		Timeout: timeout, Trace: trace, Sink: sink})
	if err != nil {
		fmt.Fprintf(stderr, "mailnest-flex: fetch failed: %v\n", err)
		return 1
	}
	return 0
}

// fileName is "<UIDL>.eml" when the server gave a UIDL made only of
// [A-Za-z0-9._,=-] (and not starting with '.'),
// e.g. a Maildir-style "1795449550.M1P2Q0.host,S=486", otherwise "<number>.eml".
func fileName(m pop3client.Message) string {
	if safeName(m.UID) {
		return m.UID + ".eml"
	}
	return strconv.Itoa(m.Num) + ".eml"
}

func safeName(s string) bool {
	if s == "" || s[0] == '.' {
		return false
	}
	for _, c := range s {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == ',' || c == '='
		if !ok {
			return false
		}
	}
	return true
}

// writeFileAtomic writes to a temporary name then renames, so a crash never
// leaves a half-written message under the final name.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".part"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
