// Command mailnest-flex is an independent SMTP/POP3 client for mailnest.
//
//	mailnest-flex send  --from A --to B [--to C] [--subject S] [--smtp HOST:PORT] [--timeout D] FILE|-
//	mailnest-flex fetch --user U --pass P [--delete] [--out DIR] [--pop3 HOST:PORT] [--timeout D]
//
// Exit status: 0 when every protocol step got a positive reply, 1 when the
// server said no (4xx/5xx/-ERR) or the connection failed, 2 on usage errors.
package main

import (
	"fmt"
	"io"
	"os"
)

const usage = `usage:
  mailnest-flex send  --from ADDR --to ADDR [--to ADDR ...] [--subject TEXT]
                      [--smtp HOST:PORT] [--helo NAME] [--timeout DURATION] FILE|-
  mailnest-flex fetch --user NAME --pass PASSWORD [--delete] [--out DIR]
                      [--pop3 HOST:PORT] [--timeout DURATION]
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "send":
		return runSend(args[1:], stdin, stdout, stderr)
	case "fetch":
		return runFetch(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "unknown command %q\n%s", args[0], usage)
	return 2
}
