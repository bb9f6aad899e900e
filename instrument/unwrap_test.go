package instrument

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

// unwrapOnly is the writer of a middleware that offers only the methods
// of http.ResponseWriter and Unwrap, as many logging and compression
// middlewares do.
type unwrapOnly struct{ w http.ResponseWriter }

func (u unwrapOnly) Header() http.Header         { return u.w.Header() }
func (u unwrapOnly) Write(b []byte) (int, error) { return u.w.Write(b) }
func (u unwrapOnly) WriteHeader(code int)        { u.w.WriteHeader(code) }
func (u unwrapOnly) Unwrap() http.ResponseWriter { return u.w }
func wrapUnwrapOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(unwrapOnly{w}, r)
	})
}

// TestHijackThroughUnwrapOnlyWriter serves a WebSocket-like upgrade on a
// real server, with a middleware outside runway's whose writer offers
// only Unwrap: the handler hijacks with http.NewResponseController, and a
// scrape taken while the connection is open shows it as a stream, not as
// a request in flight.
func TestHijackThroughUnwrapOnlyWriter(t *testing.T) {
	s := newScraped(t)
	hijacked, release := make(chan struct{}), make(chan struct{})
	h := mustHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ws" {
			return
		}
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		defer conn.Close()
		buf.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
		buf.Flush()
		close(hijacked)
		<-release
	}), WithMeterProvider(s.provider))
	srv := httptest.NewServer(wrapUnwrapOnly(h))
	defer srv.Close()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade response %v, %v", resp, err)
	}
	<-hijacked
	fams := s.scrape(t)
	inflight, _ := promValue(fams, "runway_requests_in_flight")
	streams, _ := promValue(fams, "runway_streams_in_flight")
	if inflight != 0 || streams != 1 {
		t.Errorf("while the upgraded connection is open: runway_requests_in_flight=%v runway_streams_in_flight=%v, want 0 and 1", inflight, streams)
	}
	close(release)
	waitFor(t, "the stream to end", func() bool {
		v, _ := promValue(s.scrape(t), "runway_streams_in_flight")
		return v == 0
	})
	if v, _ := promValue(s.scrape(t), "runway_requests_total", "http_response_status_code", "101"); v != 1 {
		t.Errorf("runway_requests_total{http_response_status_code=\"101\"} = %v, want 1", v)
	}
}

// TestFlushThroughUnwrapOnlyWriter: an event stream that only flushes
// (through http.ResponseController) before writing, behind a middleware
// whose writer offers only Unwrap, is seen as a stream.
func TestFlushThroughUnwrapOnlyWriter(t *testing.T) {
	s := newScraped(t)
	flushed, release := make(chan struct{}), make(chan struct{})
	h := mustHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/events" {
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("flush: %v", err)
		}
		close(flushed)
		<-release
	}), WithMeterProvider(s.provider))
	srv := httptest.NewServer(wrapUnwrapOnly(h))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	<-flushed
	fams := s.scrape(t)
	inflight, _ := promValue(fams, "runway_requests_in_flight")
	streams, _ := promValue(fams, "runway_streams_in_flight")
	if inflight != 0 || streams != 1 {
		t.Errorf("during the event stream: runway_requests_in_flight=%v runway_streams_in_flight=%v, want 0 and 1", inflight, streams)
	}
	close(release)
}

// TestUnwrapDoesNotBypassBody: the writer handed to the handler takes
// ReadFrom and WriteString from the writer it wraps only, never from one
// below it, so a middleware's Write (compression, say) is not skipped.
func TestUnwrapDoesNotBypassBody(t *testing.T) {
	_, w := newResponseWriter(unwrapOnly{httptest.NewRecorder()})
	if _, ok := w.(io.ReaderFrom); ok {
		t.Error("io.ReaderFrom found below a writer that has none: io.Copy would skip its Write")
	}
	if _, ok := w.(io.StringWriter); ok {
		t.Error("io.StringWriter found below a writer that has none")
	}
	if _, ok := w.(http.Flusher); !ok {
		t.Error("http.Flusher of the recorder below not found")
	}
}

// selfWriter unwraps to itself: the walk down the chain must stop.
type selfWriter struct {
	http.ResponseWriter
	self *selfWriter
}

func (w *selfWriter) Unwrap() http.ResponseWriter { return w.self }

func TestUnwrapLoopStops(t *testing.T) {
	var loop selfWriter
	loop.self = &loop
	_, w := newResponseWriter(&loop)
	if _, ok := w.(http.Hijacker); ok {
		t.Error("a Hijacker was found in a chain that has none")
	}
}
