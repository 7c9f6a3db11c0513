package dotcodec

import (
	"bytes"
	"testing"
)

func TestNormalizeCRLF(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"empty", "", ""},
		{"bare LF", "a\nb\n", "a\r\nb\r\n"},
		{"already CRLF", "a\r\nb\r\n", "a\r\nb\r\n"},
		{"mixed", "a\r\nb\nc\r\n", "a\r\nb\r\nc\r\n"},
		{"bare CR", "a\rb", "a\r\nb\r\n"},
		{"no final newline", "abc", "abc\r\n"},
		{"blank lines", "\n\n", "\r\n\r\n"},
		{"CR CR LF", "a\r\r\nb", "a\r\n\r\nb\r\n"},
		{"8-bit untouched", "h\xc3\xa9\n", "h\xc3\xa9\r\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := string(NormalizeCRLF([]byte(c.in)))
			if got != c.want {
				t.Fatalf("NormalizeCRLF(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestStuff(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"empty", "", ".\r\n"},
		{"plain", "a\r\nb\r\n", "a\r\nb\r\n.\r\n"},
		{"lone dot", ".\r\n", "..\r\n.\r\n"},
		{"leading dot", ".x\r\n", "..x\r\n.\r\n"},
		{"double dot", "..\r\n", "...\r\n.\r\n"},
		{"dot mid line", "a.b\r\n.\r\n", "a.b\r\n..\r\n.\r\n"},
		{"first and middle", ".a\r\nb\r\n.c\r\n", "..a\r\nb\r\n..c\r\n.\r\n"},
		{"missing final CRLF", "a", "a\r\n.\r\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := string(Stuff([]byte(c.in)))
			if got != c.want {
				t.Fatalf("Stuff(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestUnstuffLine(t *testing.T) {
	cases := []struct {
		in, want string
		end      bool
	}{
		{".", "", true},
		{"..", ".", false},
		{"...", "..", false},
		{".x", "x", false},
		{"x.", "x.", false},
		{"", "", false},
		{" .", " .", false},
	}
	for _, c := range cases {
		got, end := UnstuffLine([]byte(c.in))
		if end != c.end || (!end && string(got) != c.want) {
			t.Errorf("UnstuffLine(%q) = %q,%v want %q,%v", c.in, got, end, c.want, c.end)
		}
	}
}

func TestUnstuff(t *testing.T) {
	cases := []struct {
		name, in, want string
		consumed       int
		ok             bool
	}{
		{"empty body", ".\r\n", "", 3, true},
		{"plain", "a\r\nb\r\n.\r\n", "a\r\nb\r\n", 9, true},
		{"stuffed", "..\r\n...x\r\n.\r\n", ".\r\n..x\r\n", 13, true},
		{"trailing data kept", "a\r\n.\r\nNEXT", "a\r\n", 6, true},
		{"no terminator", "a\r\nb\r\n", "a\r\nb\r\n", 6, false},
		{"partial line", "a\r\nb", "a\r\n", 3, false},
		{"dot not alone", ".x\r\n.\r\n", "x\r\n", 7, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, n, ok := Unstuff([]byte(c.in))
			if string(got) != c.want || n != c.consumed || ok != c.ok {
				t.Fatalf("Unstuff(%q) = %q,%d,%v want %q,%d,%v", c.in, got, n, ok, c.want, c.consumed, c.ok)
			}
		})
	}
}

// Stuffing then un-stuffing gives back the normalised message exactly.
func TestRoundTrip(t *testing.T) {
	inputs := []string{
		"",
		"hello\n",
		".\n..\n...\n.x\nx.\n",
		"Subject: t\n\n.\n\xe2\x9c\x93 \xc3\xa9\n",
		"no newline at end",
		"\r\n\r\n.\r\n",
	}
	for _, in := range inputs {
		norm := NormalizeCRLF([]byte(in))
		got, n, ok := Unstuff(Stuff(norm))
		if !ok || !bytes.Equal(got, norm) || n != len(Stuff(norm)) {
			t.Errorf("round trip of %q: got %q ok=%v n=%d", in, got, ok, n)
		}
	}
}
