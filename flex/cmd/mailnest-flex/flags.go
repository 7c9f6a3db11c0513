package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// multiFlag collects a repeatable string flag (--to).
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// durationFlag accepts a Go duration ("10s", "500ms") or plain seconds ("10").
type durationFlag struct{ d *time.Duration }

func (f durationFlag) String() string {
	if f.d == nil {
		return ""
	}
	return f.d.String()
}

func (f durationFlag) Set(v string) error {
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		*f.d = time.Duration(secs * float64(time.Second))
	} else if d, err := time.ParseDuration(v); err == nil {
		*f.d = d
	} else {
		return fmt.Errorf("not a duration: %q", v)
	}
	if *f.d <= 0 {
		return fmt.Errorf("timeout must be positive")
	}
	return nil
}

// parseInterleaved parses flags that may come before or after positional
// arguments ("send FILE --to x" as well as "send --to x FILE"). A lone "--"
// ends flag parsing.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for i := 0; i <= len(args); i++ { // each round consumes at least one arg
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if len(args) > 0 && len(rest) < len(args) && args[len(args)-len(rest)-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
	return positional, nil
}
