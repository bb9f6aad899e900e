package instrument

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestWriterKeepsExactlyTheOptionalInterfaces checks every combination of
// optional interfaces: the wrapper has an interface iff the wrapped writer
// has it, and Unwrap returns the wrapped writer.
func TestWriterKeepsExactlyTheOptionalInterfaces(t *testing.T) {
	type check struct {
		name string
		has  func(http.ResponseWriter) bool
	}
	checks := []check{
		{"Flusher", func(w http.ResponseWriter) bool { _, ok := w.(http.Flusher); return ok }},
		{"Hijacker", func(w http.ResponseWriter) bool { _, ok := w.(http.Hijacker); return ok }},
		{"ReaderFrom", func(w http.ResponseWriter) bool { _, ok := w.(io.ReaderFrom); return ok }},
		{"Pusher", func(w http.ResponseWriter) bool { _, ok := w.(http.Pusher); return ok }},
		{"StringWriter", func(w http.ResponseWriter) bool { _, ok := w.(io.StringWriter); return ok }},
	}
	fakes := fakeWriters()
	if len(fakes) != numWriterKinds {
		t.Fatalf("%d fakes for %d kinds", len(fakes), numWriterKinds)
	}
	for kind, fake := range fakes {
		rw, wrapped := newResponseWriter(fake)
		for _, c := range checks {
			if got, want := c.has(wrapped), c.has(fake); got != want {
				t.Errorf("kind %05b (%T): wrapper has %s = %v, wrapped writer has %v", kind, fake, c.name, got, want)
			}
		}
		u, ok := wrapped.(interface{ Unwrap() http.ResponseWriter })
		if !ok || u.Unwrap() != fake {
			t.Errorf("kind %05b: Unwrap does not return the wrapped writer", kind)
		}
		rw.release()
	}
}

// TestWriterMethodsRecordStatus calls each optional method through the
// wrapper and checks the implicit 200.
func TestWriterMethodsRecordStatus(t *testing.T) {
	all := fakeWriters()[numWriterKinds-1]
	for _, tc := range []struct {
		name string
		call func(w http.ResponseWriter)
		want int
	}{
		{"Flush", func(w http.ResponseWriter) { w.(http.Flusher).Flush() }, 200},
		{"ReadFrom", func(w http.ResponseWriter) { w.(io.ReaderFrom).ReadFrom(strings.NewReader("x")) }, 200},
		{"WriteString", func(w http.ResponseWriter) { w.(io.StringWriter).WriteString("x") }, 200},
		{"Push does not write", func(w http.ResponseWriter) { w.(http.Pusher).Push("/a", nil) }, 0},
		{"failed Hijack is not a hijack", func(w http.ResponseWriter) { w.(http.Hijacker).Hijack() }, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rw, wrapped := newResponseWriter(all)
			defer rw.release()
			tc.call(wrapped)
			if rw.status != tc.want || rw.hijacked {
				t.Errorf("status = %d hijacked = %v, want %d false", rw.status, rw.hijacked, tc.want)
			}
		})
	}
}

func TestResponseControllerWithoutFlusher(t *testing.T) {
	plain := fakeWriters()[0]
	rw, wrapped := newResponseWriter(plain)
	defer rw.release()
	if err := http.NewResponseController(wrapped).Flush(); !errors.Is(err, http.ErrNotSupported) {
		t.Errorf("Flush through ResponseController on a writer without Flusher: %v, want ErrNotSupported", err)
	}
}
