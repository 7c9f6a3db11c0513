package main

import (
	"flag"
	"reflect"
	"testing"
	"time"

	"mailnest/flex/pop3client"
)

func TestParseInterleaved(t *testing.T) {
	cases := []struct {
		args []string
		pos  []string
		to   []string
	}{
		{[]string{"--to", "a", "FILE"}, []string{"FILE"}, []string{"a"}},
		{[]string{"FILE", "--to", "a", "--to", "b"}, []string{"FILE"}, []string{"a", "b"}},
		{[]string{"-", "--to", "a"}, []string{"-"}, []string{"a"}},
		{[]string{"--to", "a", "--", "--weird-file"}, []string{"--weird-file"}, []string{"a"}},
		{[]string{}, nil, nil},
	}
	for _, c := range cases {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		var to multiFlag
		fs.Var(&to, "to", "")
		pos, err := parseInterleaved(fs, c.args)
		if err != nil || !reflect.DeepEqual(pos, c.pos) || !reflect.DeepEqual([]string(to), c.to) {
			t.Errorf("%q: pos=%q to=%q err=%v", c.args, pos, to, err)
		}
	}
}

func TestFileName(t *testing.T) {
	cases := []struct {
		uid  string
		want string
	}{
		{"1700000000.M1P2.host", "1700000000.M1P2.host.eml"},
		{"1795449550.M164701P20791Q0.mailnest.local,S=486", "1795449550.M164701P20791Q0.mailnest.local,S=486.eml"},
		{"", "3.eml"},
		{"a/b", "3.eml"},
		{"..", "3.eml"},
		{".hidden", "3.eml"},
		{"x y", "3.eml"},
	}
	for _, c := range cases {
		if got := fileName(pop3client.Message{Num: 3, UID: c.uid}); got != c.want {
			t.Errorf("fileName(%q) = %q, want %q", c.uid, got, c.want)
		}
	}
}

func TestDurationFlag(t *testing.T) {
	cases := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"10", 10 * time.Second, false},
		{"0.5", 500 * time.Millisecond, false},
		{"250ms", 250 * time.Millisecond, false},
		{"2m", 2 * time.Minute, false},
		{"0", 0, true},
		{"soon", 0, true},
	}
	for _, c := range cases {
		var d time.Duration
		err := durationFlag{&d}.Set(c.in)
		if (err != nil) != c.wantErr || (!c.wantErr && d != c.want) {
			t.Errorf("Set(%q) = %v,%v", c.in, d, err)
		}
	}
}
