package instrument

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"
)

//go:generate go run ./internal/writergen

// responseWriter observes a response: it remembers the final status code
// and whether the connection was hijacked. It is pooled; the value that
// handlers see is one of the generated one-pointer wrappers (writer_gen.go),
// chosen so that it implements exactly the optional interfaces of the
// ResponseWriter it wraps.
//
// Contract:
//   - It implements http.Flusher and http.Hijacker when the writer it
//     wraps does, or one that writer unwraps to (the writers
//     http.ResponseController would reach), so that every flush and
//     hijack passes through it.
//   - If the handler writes a body, flushes or calls ReadFrom without
//     calling WriteHeader, the status is 200, as net/http sends.
//   - Informational 1xx codes other than 101 are passed through and are not
//     the final status; the first WriteHeader with any other code is.
//   - A successful Hijack marks the request hijacked.
type responseWriter struct {
	w           http.ResponseWriter
	status      int
	wroteHeader bool
	hijacked    bool
	st          streamState // streams.go

	flusher      http.Flusher
	hijacker     http.Hijacker
	readerFrom   io.ReaderFrom
	pusher       http.Pusher
	stringWriter io.StringWriter
}

// Optional interface bits, in the order the generator uses.
const (
	hasFlusher = 1 << iota
	hasHijacker
	hasReaderFrom
	hasPusher
	hasStringWriter
	numWriterKinds = 1 << iota
)

var writerPool = sync.Pool{New: func() any { return new(responseWriter) }}

// maxUnwrap bounds the walk down a chain of ResponseWriter wrappers.
const maxUnwrap = 16

// unwrapTo returns the first writer below u (a writer with an Unwrap()
// http.ResponseWriter method, if unwraps) that implements T, following
// Unwrap methods down the chain as http.ResponseController looks for
// Flush and Hijack.
func unwrapTo[T any](u interface{ Unwrap() http.ResponseWriter }, unwraps bool) (T, bool) {
	var zero T
	if !unwraps {
		return zero, false
	}
	w := u.Unwrap()
	for range maxUnwrap {
		if v, ok := any(w).(T); ok {
			return v, true
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			break
		}
		w = u.Unwrap()
	}
	return zero, false
}

// newResponseWriter takes a writer from the pool and points it at w.
//
// Flush and Hijack are found as http.ResponseController finds them: on w,
// or else on the first writer that w unwraps to which has them. A
// middleware outside runway's whose writer offers only Unwrap would
// otherwise hide them from runway, and a handler's
// http.NewResponseController(w).Hijack() would reach the connection
// without runway seeing the hijack. Write, WriteString, ReadFrom and Push
// are taken from w alone: going round w would skip what w does to the
// body.
func newResponseWriter(w http.ResponseWriter) (*responseWriter, http.ResponseWriter) {
	rw := writerPool.Get().(*responseWriter)
	rw.w = w
	kind := 0
	u, unwraps := w.(interface{ Unwrap() http.ResponseWriter })
	if f, ok := w.(http.Flusher); ok {
		rw.flusher = f
		kind |= hasFlusher
	} else if f, ok := unwrapTo[http.Flusher](u, unwraps); ok {
		rw.flusher = f
		kind |= hasFlusher
	}
	if h, ok := w.(http.Hijacker); ok {
		rw.hijacker = h
		kind |= hasHijacker
	} else if h, ok := unwrapTo[http.Hijacker](u, unwraps); ok {
		rw.hijacker = h
		kind |= hasHijacker
	}
	if r, ok := w.(io.ReaderFrom); ok {
		rw.readerFrom = r
		kind |= hasReaderFrom
	}
	if p, ok := w.(http.Pusher); ok {
		rw.pusher = p
		kind |= hasPusher
	}
	if s, ok := w.(io.StringWriter); ok {
		rw.stringWriter = s
		kind |= hasStringWriter
	}
	return rw, rw.wrap(kind)
}

// release clears rw and returns it to the pool. The handler must not use
// the ResponseWriter after ServeHTTP returns (net/http's own rule).
func (rw *responseWriter) release() {
	*rw = responseWriter{}
	writerPool.Put(rw)
}

// Header returns the header map of the wrapped writer.
func (rw *responseWriter) Header() http.Header { return rw.w.Header() }

// WriteHeader records code as the final status unless it is an
// informational 1xx code other than 101, or a final status was already
// written, and passes it on.
func (rw *responseWriter) WriteHeader(code int) {
	if !rw.wroteHeader && (code < 100 || code > 199 || code == http.StatusSwitchingProtocols) {
		rw.status = code
		rw.wroteHeader = true
		if rw.st.c != nil {
			rw.st.headerWritten(rw.w.Header(), code)
		}
	}
	rw.w.WriteHeader(code)
}

// Write writes b to the wrapped writer; status 200 if none was written.
func (rw *responseWriter) Write(b []byte) (int, error) {
	rw.implicitOK()
	return rw.w.Write(b)
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (rw *responseWriter) Unwrap() http.ResponseWriter { return rw.w }

func (rw *responseWriter) implicitOK() {
	if !rw.wroteHeader {
		rw.status = http.StatusOK
		rw.wroteHeader = true
		if rw.st.c != nil {
			rw.st.headerWritten(rw.w.Header(), http.StatusOK)
		}
	}
}

func (rw *responseWriter) flush() {
	rw.implicitOK()
	rw.flusher.Flush()
}

func (rw *responseWriter) hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, b, err := rw.hijacker.Hijack()
	if err == nil {
		rw.hijacked = true
		rw.st.declare()
	}
	return c, b, err
}

func (rw *responseWriter) readFrom(r io.Reader) (int64, error) {
	rw.implicitOK()
	return rw.readerFrom.ReadFrom(r)
}

func (rw *responseWriter) push(target string, opts *http.PushOptions) error {
	return rw.pusher.Push(target, opts)
}

func (rw *responseWriter) writeString(s string) (int, error) {
	rw.implicitOK()
	return rw.stringWriter.WriteString(s)
}

// finalStatus is the status recorded for the request once the handler
// returned normally: the status written, else 101 for a hijacked
// connection, else 200 (what net/http sends for a handler that wrote
// nothing).
func (rw *responseWriter) finalStatus() int {
	switch {
	case rw.wroteHeader:
		return rw.status
	case rw.hijacked:
		return http.StatusSwitchingProtocols
	}
	return http.StatusOK
}
