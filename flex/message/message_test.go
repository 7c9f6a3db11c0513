package message

import (
	"strings"
	"testing"
	"time"
)

func TestHasHeaders(t *testing.T) {
	cases := []struct {
		in   string
		want bool
	}{
		{"Subject: hi\r\n\r\nbody", true},
		{"From: a@b\nTo: c@d\n\nx", true},
		{"X-Custom-1:value\n", true},
		{"Subject:", true},
		{"hello world\n", false},
		{"\r\nSubject: x\r\n", false},
		{"", false},
		{"Subject : x\n", false},
		{": x\n", false},
		{"Note: this line has a colon but\n", true}, // looks like a header: documented rule
		{"A note: with a space\n", false},
		{"h\xc3\xa9: x\n", false},
	}
	for _, c := range cases {
		if got := HasHeaders([]byte(c.in)); got != c.want {
			t.Errorf("HasHeaders(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestBuildKeepsMessageWithHeaders(t *testing.T) {
	in := "Subject: mine\r\n\r\nbody\r\n"
	if got := string(Build([]byte(in), Params{From: "a@x", To: []string{"b@y"}})); got != in {
		t.Fatalf("Build changed a complete message: %q", got)
	}
}

func TestBuildAddsHeaders(t *testing.T) {
	date := time.Date(2024, 3, 5, 6, 7, 8, 0, time.FixedZone("", 3600))
	p := Params{From: "a@x.test", To: []string{"b@y", "c@z"}, Subject: "Hi", Date: date, MessageID: "id1@x.test"}
	got := string(Build([]byte("just text\r\n"), p))
	want := "From: <a@x.test>\r\nTo: <b@y>, <c@z>\r\nSubject: Hi\r\n" +
		"Date: Tue, 05 Mar 2024 06:07:08 +0100\r\nMessage-ID: <id1@x.test>\r\n\r\njust text\r\n"
	if got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
}

func TestBuild8Bit(t *testing.T) {
	p := Params{From: "a@x", To: []string{"b@y"}, Subject: "caf\u00e9", Date: time.Unix(0, 0).UTC()}
	got := string(Build([]byte("na\u00efve\n"), p))
	for _, w := range []string{"Subject: =?utf-8?q?caf=C3=A9?=\r\n", "Content-Type: text/plain; charset=utf-8\r\n",
		"Content-Transfer-Encoding: 8bit\r\n", "Message-ID: <", "@x>\r\n"} {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in %q", w, got)
		}
	}
}

func TestMessageIDUnique(t *testing.T) {
	now := time.Now()
	a, b := NewMessageID("u@d", now), NewMessageID("u@d", now)
	if a == b || !strings.HasSuffix(a, "@d") {
		t.Fatalf("ids %q %q", a, b)
	}
	if !strings.HasSuffix(NewMessageID("nodomain", now), "@mailnest-flex.invalid") {
		t.Fatal("fallback domain not used")
	}
}
