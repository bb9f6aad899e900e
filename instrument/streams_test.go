package instrument

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
)

// expectStreamFinal waits until no request and no stream is in flight,
// then checks that exactly one request was counted, with status want, and
// that nothing reached the duration histogram.
func expectStreamFinal(t *testing.T, m *manual, want int, route ...attribute.KeyValue) {
	t.Helper()
	waitFor(t, "streams to return to 0", func() bool {
		v, _ := sumValue(m.collect(t), streamsInFlightName)
		return v == 0 && m.inFlight(t) == 0
	})
	rm := m.collect(t)
	if v, ok := sumValue(rm, requestsName, append([]attribute.KeyValue{methodKey.String("GET"), statusCodeKey.Int(want)}, route...)...); !ok || v != 1 {
		t.Errorf("runway.requests{GET,%d} = %d (present %v), want 1", want, v, ok)
	}
	if dp, ok := histPoint(rm, durationName, append([]attribute.KeyValue{methodKey.String("GET")}, route...)...); ok && dp.Count != 0 {
		t.Errorf("duration count = %d, want 0: a stream is not a request duration", dp.Count)
	}
}

// counts reads in-flight requests and streams.
func (m *manual) counts(t *testing.T) (requests, streams int64) {
	t.Helper()
	rm := m.collect(t)
	requests, _ = sumValue(rm, inFlightName)
	streams, _ = sumValue(rm, streamsInFlightName)
	return
}

func expectCounts(t *testing.T, m *manual, when string, requests, streams int64) {
	t.Helper()
	if r, s := m.counts(t); r != requests || s != streams {
		t.Fatalf("%s: in_flight=%d streams.in_flight=%d, want %d and %d", when, r, s, requests, streams)
	}
}

// TestStreamKinds drives each kind of stream through a real server and
// checks the moment it moves from the request count to the stream count.
func TestStreamKinds(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		// handler runs in the server: it calls declared() right after the
		// point where the request becomes a stream, then waits on release.
		handler func(w http.ResponseWriter, r *http.Request, before, declared func(), release <-chan struct{})
		// client drives the request until the server has declared the
		// stream; the returned func finishes it.
		client      func(t *testing.T, srv *httptest.Server) func()
		status      int
		streamEarly bool // a stream from the start (marked route)
		route       []attribute.KeyValue
	}{
		{
			name: "server-sent events",
			handler: func(w http.ResponseWriter, r *http.Request, before, declared func(), release <-chan struct{}) {
				before()
				w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
				w.WriteHeader(http.StatusOK)
				declared()
				io.WriteString(w, "data: hello\n\n")
				w.(http.Flusher).Flush()
				<-release
			},
			client: func(t *testing.T, srv *httptest.Server) func() {
				resp, err := srv.Client().Get(srv.URL + "/events")
				if err != nil {
					t.Fatal(err)
				}
				line, _ := bufio.NewReader(resp.Body).ReadString('\n')
				if line != "data: hello\n" {
					t.Errorf("event = %q", line)
				}
				return func() { resp.Body.Close() }
			},
			status: http.StatusOK,
		},
		{
			name: "hijacked WebSocket-like upgrade",
			handler: func(w http.ResponseWriter, r *http.Request, before, declared func(), release <-chan struct{}) {
				before()
				conn, buf, err := w.(http.Hijacker).Hijack()
				if err != nil {
					t.Errorf("hijack: %v", err)
					return
				}
				declared()
				defer conn.Close()
				buf.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
				buf.Flush()
				<-release
			},
			client: func(t *testing.T, srv *httptest.Server) func() {
				conn, err := net.Dial("tcp", srv.Listener.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
				resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
				if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
					t.Fatalf("upgrade response %v, %v", resp, err)
				}
				return func() { conn.Close() }
			},
			status: http.StatusSwitchingProtocols,
		},
		{
			name: "route marked streaming",
			opts: []Option{WithRouteGroups(RouteGroup{`^/feed`, "feed"}), WithStreamingRoutes("feed")},
			handler: func(w http.ResponseWriter, r *http.Request, before, declared func(), release <-chan struct{}) {
				declared()
				w.Header().Set("Content-Type", "application/x-ndjson")
				io.WriteString(w, "{}\n")
				w.(http.Flusher).Flush()
				<-release
			},
			client: func(t *testing.T, srv *httptest.Server) func() {
				resp, err := srv.Client().Get(srv.URL + "/feed")
				if err != nil {
					t.Fatal(err)
				}
				bufio.NewReader(resp.Body).ReadString('\n')
				return func() { resp.Body.Close() }
			},
			status:      http.StatusOK,
			streamEarly: true,
			route:       []attribute.KeyValue{routeKey.String("feed")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newManual(t)
			atBefore, goOn, atDeclared := make(chan struct{}), make(chan struct{}), make(chan struct{})
			release := make(chan struct{})
			h := mustHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tc.handler(w, r,
					func() { close(atBefore); <-goOn },
					func() { close(atDeclared) },
					release)
			}), append([]Option{WithMeterProvider(m.provider)}, tc.opts...)...)
			srv := httptest.NewServer(h)
			defer srv.Close()

			finished := make(chan func())
			go func() { finished <- tc.client(t, srv) }()
			if !tc.streamEarly {
				<-atBefore
				expectCounts(t, m, "before it declares itself", 1, 0)
				close(goOn)
			}
			<-atDeclared
			finish := <-finished
			expectCounts(t, m, "once it is a stream", 0, 1)
			close(release)
			finish()
			expectStreamFinal(t, m, tc.status, tc.route...)
		})
	}
}

// TestStream101WithoutHijack: a handler that writes status 101 becomes a
// stream at that WriteHeader.
func TestStream101WithoutHijack(t *testing.T) {
	m := newManual(t)
	var during [2]int64
	h := mustHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusSwitchingProtocols)
		during[0], during[1] = m.counts(t)
	}), WithMeterProvider(m.provider))
	h.ServeHTTP(discard{}, mustRequest("GET", "/"))
	if during != [2]int64{0, 1} {
		t.Errorf("after WriteHeader(101): in_flight, streams = %v, want [0 1]", during)
	}
	expectStreamFinal(t, m, http.StatusSwitchingProtocols)
}

// TestStreamsOff: with WithoutStreams() an event stream is an ordinary
// long request, and there is no streams instrument.
func TestStreamsOff(t *testing.T) {
	m := newManual(t)
	release := make(chan struct{})
	h := mustHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: x\n\n")
		w.(http.Flusher).Flush()
		<-release
	}), WithMeterProvider(m.provider), WithoutStreams())
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	bufio.NewReader(resp.Body).ReadString('\n')
	rm := m.collect(t)
	if _, ok := findMetric(rm, streamsInFlightName); ok {
		t.Errorf("%s reported with WithoutStreams()", streamsInFlightName)
	}
	if v, _ := sumValue(rm, inFlightName); v != 1 {
		t.Errorf("in_flight = %d, want 1", v)
	}
	close(release)
	resp.Body.Close()
	expectFinal(t, m, http.StatusOK)
}

func TestIsEventStream(t *testing.T) {
	tests := []struct {
		ct   string
		want bool
	}{
		{"text/event-stream", true},
		{"Text/Event-Stream", true},
		{"text/event-stream; charset=utf-8", true},
		{"text/event-stream ;charset=utf-8", true},
		{"text/event-streams", false},
		{"text/plain", false},
		{"", false},
		{"text/event", false},
	}
	for _, tc := range tests {
		t.Run(strings.ReplaceAll(tc.ct, "/", "_"), func(t *testing.T) {
			if got := isEventStream(tc.ct); got != tc.want {
				t.Errorf("isEventStream(%q) = %v, want %v", tc.ct, got, tc.want)
			}
		})
	}
}
