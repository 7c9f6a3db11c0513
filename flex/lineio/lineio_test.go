package lineio

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReadLine(t *testing.T) {
	cases := []struct {
		name, in string
		max      int
		want     []string
		bare     []bool
		lastErr  error
	}{
		{"crlf", "a\r\nbc\r\n", 10, []string{"a", "bc"}, []bool{false, false}, io.EOF},
		{"bare lf", "a\nb\r\n", 10, []string{"a", "b"}, []bool{true, false}, io.EOF},
		{"empty line", "\r\n", 10, []string{""}, []bool{false}, io.EOF},
		{"too long", "abcdefghijkl\r\n", 5, nil, nil, ErrLineTooLong},
		{"exact max", "abcde\r\n", 5, []string{"abcde"}, []bool{false}, io.EOF},
		{"unterminated", "abc", 10, nil, nil, io.EOF},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := bufio.NewReaderSize(strings.NewReader(c.in), 16)
			for i, w := range c.want {
				got, bare, err := ReadLine(r, c.max)
				if err != nil || string(got) != w || bare != c.bare[i] {
					t.Fatalf("line %d: got %q bare=%v err=%v, want %q bare=%v", i, got, bare, err, w, c.bare[i])
				}
			}
			_, _, err := ReadLine(r, c.max)
			if !errors.Is(err, c.lastErr) {
				t.Fatalf("final error %v, want %v", err, c.lastErr)
			}
		})
	}
}

// Lines longer than the bufio buffer are assembled from several chunks.
func TestReadLineLongerThanBuffer(t *testing.T) {
	long := strings.Repeat("x", 100)
	r := bufio.NewReaderSize(strings.NewReader(long+"\r\n"), 16)
	got, _, err := ReadLine(r, 200)
	if err != nil || string(got) != long {
		t.Fatalf("got %q err=%v", got, err)
	}
}
