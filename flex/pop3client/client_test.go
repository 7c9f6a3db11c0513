package pop3client

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"mailnest/flex/dotcodec"
)

// fakePOP3 is a tiny RFC 1939 server over a fixed mailbox, recording the
// commands it got. Knobs make it misbehave for the error cases.
type fakePOP3 struct {
	ln        net.Listener
	msgs      []string // CRLF messages
	noUIDL    bool
	cutRetr   bool // close the connection in the middle of RETR
	got       []string
	committed []int // messages deleted at QUIT
	done      chan struct{}
}

func startPOP3(t *testing.T, f *fakePOP3) *fakePOP3 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.ln, f.done = ln, make(chan struct{})
	go f.serve()
	t.Cleanup(func() { ln.Close(); <-f.done })
	return f
}

func (f *fakePOP3) serve() {
	defer close(f.done)
	conn, err := f.ln.Accept()
	if err != nil {
		return
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(conn)
	w := func(s string) { conn.Write([]byte(s)) }
	w("+OK fake POP3 ready\r\n")
	authed, user := false, ""
	deleted := map[int]bool{}
	for i := 0; i < 100; i++ {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		f.got = append(f.got, line)
		verb, arg, _ := strings.Cut(line, " ")
		var n int
		fmt.Sscanf(arg, "%d", &n)
		switch {
		case verb == "USER":
			user = arg
			w("+OK\r\n")
		case verb == "PASS":
			if user == "alice" && arg == "secret" {
				authed = true
				w("+OK logged in\r\n")
			} else {
				w("-ERR [AUTH] invalid user name or password\r\n")
			}
		case verb == "QUIT":
			for k := range deleted {
				f.committed = append(f.committed, k)
			}
			w("+OK bye\r\n")
			return
		case !authed:
			w("-ERR not authenticated\r\n")
		case verb == "STAT":
			total := 0
			for _, m := range f.msgs {
				total += len(m)
			}
			w(fmt.Sprintf("+OK %d %d\r\n", len(f.msgs), total))
		case verb == "LIST":
			var b strings.Builder
			b.WriteString("+OK scan listing\r\n")
			for i, m := range f.msgs {
				fmt.Fprintf(&b, "%d %d\r\n", i+1, len(m))
			}
			b.WriteString(".\r\n")
			w(b.String())
		case verb == "UIDL":
			if f.noUIDL {
				w("-ERR unknown command\r\n")
				continue
			}
			var b strings.Builder
			b.WriteString("+OK\r\n")
			for i := range f.msgs {
				fmt.Fprintf(&b, "%d uid-%d.x\r\n", i+1, i+1)
			}
			b.WriteString(".\r\n")
			w(b.String())
		case verb == "RETR" && n >= 1 && n <= len(f.msgs):
			w(fmt.Sprintf("+OK %d octets\r\n", len(f.msgs[n-1])))
			stuffed := string(dotcodec.Stuff([]byte(f.msgs[n-1])))
			if f.cutRetr {
				w(stuffed[:len(stuffed)/2])
				return
			}
			// Write in small pieces to exercise reassembly.
			for i := 0; i < len(stuffed); i += 7 {
				end := i + 7
				if end > len(stuffed) {
					end = len(stuffed)
				}
				w(stuffed[i:end])
			}
		case verb == "DELE" && n >= 1 && n <= len(f.msgs):
			deleted[n] = true
			w("+OK deleted\r\n")
		default:
			w("-ERR no such message\r\n")
		}
	}
}

func TestFetch(t *testing.T) {
	msgs := []string{
		"Subject: one\r\n\r\n.\r\n..\r\n.x\r\n\r\n",
		"Subject: two\r\n\r\nh\xc3\xa9llo \xe2\x9c\x93\r\n.\r\n",
	}
	cases := []struct {
		name      string
		srv       fakePOP3
		pass      string
		del       bool
		wantErr   bool
		wantCmds  string
		wantUIDs  []string
		committed int
	}{
		{name: "retrieve all", srv: fakePOP3{msgs: msgs}, pass: "secret",
			wantCmds: "USER alice|PASS secret|STAT|LIST|UIDL|RETR 1|RETR 2|QUIT", wantUIDs: []string{"uid-1.x", "uid-2.x"}},
		{name: "retrieve and delete", srv: fakePOP3{msgs: msgs}, pass: "secret", del: true,
			wantCmds: "USER alice|PASS secret|STAT|LIST|UIDL|RETR 1|DELE 1|RETR 2|DELE 2|QUIT", wantUIDs: []string{"uid-1.x", "uid-2.x"}, committed: 2},
		{name: "no UIDL", srv: fakePOP3{msgs: msgs, noUIDL: true}, pass: "secret",
			wantCmds: "USER alice|PASS secret|STAT|LIST|UIDL|RETR 1|RETR 2|QUIT", wantUIDs: []string{"", ""}},
		{name: "empty mailbox", srv: fakePOP3{}, pass: "secret", wantCmds: "USER alice|PASS secret|STAT|LIST|UIDL|QUIT"},
		{name: "bad password", srv: fakePOP3{msgs: msgs}, pass: "wrong", wantErr: true, wantCmds: "USER alice|PASS wrong|QUIT"},
		{name: "connection cut in RETR", srv: fakePOP3{msgs: msgs, cutRetr: true}, pass: "secret", del: true, wantErr: true,
			wantCmds: "USER alice|PASS secret|STAT|LIST|UIDL|RETR 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := c.srv
			f := startPOP3(t, &srv)
			var trace bytes.Buffer
			var got []Message
			err := Fetch(Options{Addr: f.ln.Addr().String(), User: "alice", Pass: c.pass, Delete: c.del,
				Timeout: 3 * time.Second, Trace: &trace, Sink: func(m Message) error { got = append(got, m); return nil }})
			if (err != nil) != c.wantErr {
				t.Fatalf("err=%v wantErr=%v\n%s", err, c.wantErr, trace.String())
			}
			f.ln.Close()
			<-f.done
			if strings.Join(f.got, "|") != c.wantCmds {
				t.Errorf("commands\n got %q\nwant %q", strings.Join(f.got, "|"), c.wantCmds)
			}
			if strings.Contains(trace.String(), "PASS "+c.pass) {
				t.Errorf("password shown in trace")
			}
			if c.wantErr {
				var er *ErrResponse
				if errors.As(err, &er) && !strings.Contains(trace.String(), "S: "+er.Line) {
					t.Errorf("-ERR line not in trace")
				}
				if len(f.committed) != 0 {
					t.Errorf("deletions committed despite an error")
				}
				return
			}
			if len(got) != len(srv.msgs) {
				t.Fatalf("got %d messages, want %d", len(got), len(srv.msgs))
			}
			for i, m := range got {
				if string(m.Data) != srv.msgs[i] || m.Num != i+1 || m.UID != c.wantUIDs[i] || m.Size != len(srv.msgs[i]) {
					t.Errorf("message %d: %+v", i+1, m)
				}
			}
			if len(f.committed) != c.committed {
				t.Errorf("committed deletions %v, want %d", f.committed, c.committed)
			}
		})
	}
}

// A failing sink stops the session without QUIT, so DELE is never committed.
func TestSinkErrorDeletesNothing(t *testing.T) {
	f := startPOP3(t, &fakePOP3{msgs: []string{"a\r\n", "b\r\n"}})
	err := Fetch(Options{Addr: f.ln.Addr().String(), User: "alice", Pass: "secret", Delete: true, Timeout: 3 * time.Second,
		Sink: func(m Message) error { return errors.New("disk full") }})
	if err == nil {
		t.Fatal("expected error")
	}
	f.ln.Close()
	<-f.done
	if len(f.committed) != 0 || strings.Contains(strings.Join(f.got, "|"), "DELE") {
		t.Fatalf("commands %q committed %v", f.got, f.committed)
	}
}
