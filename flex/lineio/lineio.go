// Package lineio reads protocol lines with a length limit, so a server that
// never sends a line ending cannot make the client buffer without bound.
package lineio

import (
	"bufio"
	"errors"
	"fmt"
)

// ErrLineTooLong is returned when a line exceeds the limit given to ReadLine.
var ErrLineTooLong = errors.New("line too long")

// ReadLine reads one line terminated by LF and returns it without the line
// ending. A CR directly before the LF is removed as well; a line that ended
// in a bare LF is reported with bareLF=true so callers can be strict about it.
// At most max bytes (excluding the line ending) are accepted.
func ReadLine(r *bufio.Reader, max int) (line []byte, bareLF bool, err error) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(buf)+len(chunk) > max+2 {
			return nil, false, fmt.Errorf("%w (more than %d bytes)", ErrLineTooLong, max)
		}
		buf = append(buf, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return buf, false, err
		}
		break
	}
	buf = buf[:len(buf)-1] // the LF
	if n := len(buf); n > 0 && buf[n-1] == '\r' {
		return buf[:n-1], false, nil
	}
	return buf, true, nil
}
