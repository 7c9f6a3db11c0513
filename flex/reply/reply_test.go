package reply

import (
	"bufio"
	"reflect"
	"strings"
	"testing"
)

func TestParseLine(t *testing.T) {
	cases := []struct {
		in      string
		code    int
		more    bool
		text    string
		wantErr bool
	}{
		{"250 OK", 250, false, "OK", false},
		{"250-PIPELINING", 250, true, "PIPELINING", false},
		{"354", 354, false, "", false},
		{"221 2.0.0 Bye", 221, false, "2.0.0 Bye", false},
		{"250-", 250, true, "", false},
		{"25", 0, false, "", true},
		{"abc def", 0, false, "", true},
		{"250xOK", 0, false, "", true},
		{"650 no such class", 0, false, "", true},
		{"", 0, false, "", true},
	}
	for _, c := range cases {
		code, more, text, err := ParseLine(c.in)
		if (err != nil) != c.wantErr {
			t.Errorf("ParseLine(%q) err=%v, wantErr=%v", c.in, err, c.wantErr)
			continue
		}
		if err == nil && (code != c.code || more != c.more || text != c.text) {
			t.Errorf("ParseLine(%q) = %d,%v,%q want %d,%v,%q", c.in, code, more, text, c.code, c.more, c.text)
		}
	}
}

func TestRead(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		code    int
		lines   []string
		wantErr bool
	}{
		{"single", "220 mailnest.local ESMTP\r\n", 220, []string{"220 mailnest.local ESMTP"}, false},
		{"multi", "250-mailnest.local\r\n250-PIPELINING\r\n250-SIZE 10485760\r\n250 8BITMIME\r\n", 250,
			[]string{"250-mailnest.local", "250-PIPELINING", "250-SIZE 10485760", "250 8BITMIME"}, false},
		{"bare code", "354\r\n", 354, []string{"354"}, false},
		{"bare LF accepted", "550 5.1.1 no such user\n", 550, []string{"550 5.1.1 no such user"}, false},
		{"code mismatch", "250-a\r\n251 b\r\n", 0, nil, true},
		{"cut short", "250-a\r\n250-b\r\n", 0, nil, true},
		{"garbage", "hello\r\n", 0, nil, true},
		{"empty stream", "", 0, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep, err := Read(bufio.NewReader(strings.NewReader(c.in)))
			if (err != nil) != c.wantErr {
				t.Fatalf("err=%v wantErr=%v", err, c.wantErr)
			}
			if err == nil && (rep.Code != c.code || !reflect.DeepEqual(rep.Lines, c.lines)) {
				t.Fatalf("got %d %q want %d %q", rep.Code, rep.Lines, c.code, c.lines)
			}
		})
	}
}

// Two replies in a row are read one at a time (nothing is swallowed).
func TestReadSequence(t *testing.T) {
	r := bufio.NewReader(strings.NewReader("250-a\r\n250 b\r\n354 go ahead\r\n"))
	first, err := Read(r)
	if err != nil || first.Code != 250 || len(first.Lines) != 2 {
		t.Fatalf("first: %+v %v", first, err)
	}
	second, err := Read(r)
	if err != nil || second.Code != 354 || second.Text()[0] != "go ahead" {
		t.Fatalf("second: %+v %v", second, err)
	}
}

func TestTooManyLines(t *testing.T) {
	in := strings.Repeat("250-x\r\n", MaxLines+1) + "250 end\r\n"
	if _, err := Read(bufio.NewReader(strings.NewReader(in))); err == nil {
		t.Fatal("expected an error for an endless multi-line reply")
	}
}

func TestClass(t *testing.T) {
	cases := []struct {
		code     int
		positive bool
	}{{220, true}, {250, true}, {354, true}, {421, false}, {550, false}}
	for _, c := range cases {
		if (Reply{Code: c.code}).Positive() != c.positive {
			t.Errorf("Positive(%d) != %v", c.code, c.positive)
		}
	}
}
