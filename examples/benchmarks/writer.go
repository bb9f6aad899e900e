package benchmarks

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
)

// DiscardWriter is a reusable http.ResponseWriter that drops the body. Like
// net/http's HTTP/1 response it is also an http.Flusher, http.Hijacker,
// io.ReaderFrom and io.StringWriter, so each middleware chooses the wrapper
// it would choose in a real server. It is not safe for concurrent use: give
// each goroutine its own.
type DiscardWriter struct {
	header http.Header
	// Code is the last status written (200 when the body came first).
	Code int
	// Written counts the body bytes of every response so far.
	Written int64
}

// NewDiscardWriter returns an empty DiscardWriter.
func NewDiscardWriter() *DiscardWriter {
	return &DiscardWriter{header: make(http.Header, 4)}
}

// Header returns the header map, shared by every response of w.
func (w *DiscardWriter) Header() http.Header { return w.header }

// WriteHeader records code.
func (w *DiscardWriter) WriteHeader(code int) { w.Code = code }

// Write counts b.
func (w *DiscardWriter) Write(b []byte) (int, error) {
	if w.Code == 0 {
		w.Code = http.StatusOK
	}
	w.Written += int64(len(b))
	return len(b), nil
}

// WriteString counts s.
func (w *DiscardWriter) WriteString(s string) (int, error) {
	if w.Code == 0 {
		w.Code = http.StatusOK
	}
	w.Written += int64(len(s))
	return len(s), nil
}

// ReadFrom counts what r yields.
func (w *DiscardWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.Code == 0 {
		w.Code = http.StatusOK
	}
	n, err := io.Copy(io.Discard, r)
	w.Written += n
	return n, err
}

// Flush does nothing.
func (w *DiscardWriter) Flush() {}

// Hijack fails: there is no connection.
func (w *DiscardWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return nil, nil, errors.New("benchmarks: DiscardWriter cannot be hijacked")
}

// Reset forgets the status, ready for the next response.
func (w *DiscardWriter) Reset() { w.Code = 0 }
