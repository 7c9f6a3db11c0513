package smtpclient

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// fakeServer answers SMTP commands from a table keyed by verb and records
// everything the client sent. After DATA's 354 it collects the raw message
// up to and including the CRLF.CRLF terminator.
type fakeServer struct {
	ln      net.Listener
	replies map[string][]string // verb -> replies in order of use (last one repeats)
	got     []string            // command lines received
	data    []byte              // raw bytes after 354, terminator included
	done    chan struct{}
}

func startFake(t *testing.T, greeting string, replies map[string][]string) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeServer{ln: ln, replies: replies, done: make(chan struct{})}
	go f.serve(greeting)
	t.Cleanup(func() { ln.Close(); <-f.done })
	return f
}

func (f *fakeServer) reply(verb string) string {
	rs := f.replies[verb]
	if len(rs) == 0 {
		return "500 unknown command\r\n"
	}
	r := rs[0]
	if len(rs) > 1 {
		f.replies[verb] = rs[1:]
	}
	return r
}

func (f *fakeServer) serve(greeting string) {
	defer close(f.done)
	conn, err := f.ln.Accept()
	if err != nil {
		return
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(conn)
	conn.Write([]byte(greeting))
	for i := 0; i < 100; i++ {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		f.got = append(f.got, line)
		verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		rep := f.reply(verb)
		conn.Write([]byte(rep))
		if verb == "DATA" && strings.HasPrefix(rep, "354") {
			for j := 0; j < 10000; j++ {
				l, err := r.ReadBytes('\n')
				if err != nil {
					return
				}
				f.data = append(f.data, l...)
				if string(l) == ".\r\n" {
					break
				}
			}
			conn.Write([]byte(f.reply("END")))
		}
		if verb == "QUIT" {
			return
		}
	}
}

var okReplies = map[string][]string{
	"EHLO": {"250-fake.test greets you\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 1000000\r\n"},
	"HELO": {"250 fake.test\r\n"},
	"MAIL": {"250 2.1.0 OK\r\n"},
	"RCPT": {"250 2.1.5 OK\r\n"},
	"DATA": {"354 go ahead\r\n"},
	"END":  {"250 2.0.0 queued\r\n"},
	"RSET": {"250 2.0.0 OK\r\n"},
	"QUIT": {"221 2.0.0 bye\r\n"},
}

func copyReplies(over map[string][]string) map[string][]string {
	m := map[string][]string{}
	for k, v := range okReplies {
		m[k] = append([]string(nil), v...)
	}
	for k, v := range over {
		m[k] = v
	}
	return m
}

func TestSend(t *testing.T) {
	msg := "Subject: t\n\n.\n..\n.x\nh\xc3\xa9\n"
	cases := []struct {
		name     string
		greeting string
		over     map[string][]string
		to       []string
		wantErr  bool
		wantCmds []string
		wantData string
	}{
		{
			name: "happy path with extensions", greeting: "220 fake ESMTP\r\n", to: []string{"a@x", "b@x"},
			wantCmds: []string{"EHLO flex.test", "MAIL FROM:<s@x> BODY=8BITMIME SIZE=30", "RCPT TO:<a@x>", "RCPT TO:<b@x>", "DATA", "QUIT"},
			wantData: "Subject: t\r\n\r\n..\r\n...\r\n..x\r\nh\xc3\xa9\r\n.\r\n",
		},
		{
			name: "HELO fallback", greeting: "220 old\r\n", to: []string{"a@x"},
			over:     map[string][]string{"EHLO": {"502 5.5.1 what?\r\n"}},
			wantCmds: []string{"EHLO flex.test", "HELO flex.test", "MAIL FROM:<s@x>", "RCPT TO:<a@x>", "DATA", "QUIT"},
			wantData: "Subject: t\r\n\r\n..\r\n...\r\n..x\r\nh\xc3\xa9\r\n.\r\n",
		},
		{
			name: "EHLO 4xx is a failure", greeting: "220 x\r\n", to: []string{"a@x"}, wantErr: true,
			over:     map[string][]string{"EHLO": {"421 4.3.2 busy\r\n"}},
			wantCmds: []string{"EHLO flex.test", "QUIT"},
		},
		{
			name: "unknown recipient stops before DATA", greeting: "220 x\r\n", to: []string{"a@x", "nobody@x"}, wantErr: true,
			over:     map[string][]string{"RCPT": {"250 ok\r\n", "550 5.1.1 no such user\r\n"}},
			wantCmds: []string{"EHLO flex.test", "MAIL FROM:<s@x> BODY=8BITMIME SIZE=30", "RCPT TO:<a@x>", "RCPT TO:<nobody@x>", "RSET", "QUIT"},
		},
		{
			name: "message refused at end of data", greeting: "220 x\r\n", to: []string{"a@x"}, wantErr: true,
			over:     map[string][]string{"END": {"554 5.6.0 no\r\n"}},
			wantCmds: []string{"EHLO flex.test", "MAIL FROM:<s@x> BODY=8BITMIME SIZE=30", "RCPT TO:<a@x>", "DATA", "QUIT"},
			wantData: "Subject: t\r\n\r\n..\r\n...\r\n..x\r\nh\xc3\xa9\r\n.\r\n",
		},
		{
			name: "bad greeting", greeting: "554 go away\r\n", to: []string{"a@x"}, wantErr: true,
		},
		{
			name: "multi-line greeting", greeting: "220-fake\r\n220-more text\r\n220 ready\r\n", to: []string{"a@x"},
			wantCmds: []string{"EHLO flex.test", "MAIL FROM:<s@x> BODY=8BITMIME SIZE=30", "RCPT TO:<a@x>", "DATA", "QUIT"},
			wantData: "Subject: t\r\n\r\n..\r\n...\r\n..x\r\nh\xc3\xa9\r\n.\r\n",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := startFake(t, c.greeting, copyReplies(c.over))
			var trace bytes.Buffer
			err := Send(Options{Addr: f.ln.Addr().String(), Helo: "flex.test", From: "s@x", To: c.to,
				Message: []byte(msg), Timeout: 3 * time.Second, Trace: &trace})
			if (err != nil) != c.wantErr {
				t.Fatalf("err=%v wantErr=%v\n%s", err, c.wantErr, trace.String())
			}
			f.ln.Close()
			<-f.done
			if c.wantCmds != nil && strings.Join(f.got, "|") != strings.Join(c.wantCmds, "|") {
				t.Errorf("commands\n got %q\nwant %q", f.got, c.wantCmds)
			}
			if string(f.data) != c.wantData {
				t.Errorf("data\n got %q\nwant %q", f.data, c.wantData)
			}
			if c.wantErr && err != nil {
				var re *ReplyError
				if errors.As(err, &re) && !strings.Contains(trace.String(), "S: "+re.Reply.Lines[0]) {
					t.Errorf("failing reply not in trace: %s", trace.String())
				}
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // accepts but never greets
		c, err := ln.Accept()
		if err == nil {
			time.Sleep(2 * time.Second)
			c.Close()
		}
	}()
	start := time.Now()
	err = Send(Options{Addr: ln.Addr().String(), Helo: "h", From: "a@b", To: []string{"c@d"}, Timeout: 200 * time.Millisecond})
	if err == nil || time.Since(start) > 1500*time.Millisecond {
		t.Fatalf("expected a quick timeout error, got %v after %v", err, time.Since(start))
	}
}
