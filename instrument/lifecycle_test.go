package instrument

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// lifecycleServer serves h, wrapped by the middleware, on a real server
// whose error log is silenced (handlers here panic on purpose).
func lifecycleServer(t *testing.T, m *manual, h http.Handler, wrap func(http.Handler) http.Handler) *httptest.Server {
	t.Helper()
	inner := mustHandler(t, h, WithMeterProvider(m.provider))
	if wrap != nil {
		inner = wrap(inner)
	}
	srv := httptest.NewUnstartedServer(inner)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

func get(srv *httptest.Server, path string) (int, error) {
	resp, err := srv.Client().Get(srv.URL + path)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

// expectFinal waits until no request is in flight, then checks that
// exactly one request was counted, with status want.
func expectFinal(t *testing.T, m *manual, want int) {
	t.Helper()
	waitFor(t, "in flight to return to 0", func() bool { return m.inFlight(t) == 0 })
	rm := m.collect(t)
	if n := sumPoints(rm, requestsName); n != 1 {
		t.Errorf("runway.requests has %d series, want 1", n)
	}
	if v, ok := sumValue(rm, requestsName, methodKey.String("GET"), statusCodeKey.Int(want)); !ok || v != 1 {
		t.Errorf("runway.requests{GET,%d} = %d (present %v), want 1", want, v, ok)
	}
	if dp, ok := histPoint(rm, durationName, methodKey.String("GET")); !ok || dp.Count != 1 {
		t.Errorf("duration count = %d, want 1", dp.Count)
	}
}

func TestPanicRecords500AndRepanics(t *testing.T) {
	m := newManual(t)
	srv := lifecycleServer(t, m, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic("boom")
	}), nil)
	if _, err := get(srv, "/"); err == nil {
		t.Fatal("request to a panicking handler succeeded; the panic did not reach net/http")
	}
	expectFinal(t, m, 500)
}

func TestPanicIsPropagated(t *testing.T) {
	m := newManual(t)
	h := mustHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic("boom")
	}), WithMeterProvider(m.provider))
	defer func() {
		if p := recover(); p != "boom" {
			t.Errorf("recovered %v, want the handler's panic value", p)
		}
		expectFinal(t, m, 500)
	}()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
}

func TestAbortHandler(t *testing.T) {
	m := newManual(t)
	srv := lifecycleServer(t, m, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}), nil)
	if _, err := get(srv, "/"); err == nil {
		t.Fatal("aborted response read without error")
	}
	expectFinal(t, m, 500)
}

func TestClientDisconnect(t *testing.T) {
	m := newManual(t)
	entered := make(chan struct{})
	srv := lifecycleServer(t, m, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done()
	}), nil)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/", nil)
		resp, err := srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-entered
	if got := m.inFlight(t); got != 1 {
		t.Errorf("in flight while waiting = %d, want 1", got)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("client error = %v, want context.Canceled", err)
	}
	expectFinal(t, m, 200)
}

func TestTimeoutHandlerInside(t *testing.T) {
	// runway wraps http.TimeoutHandler: the client's 503 is what is
	// recorded, and the request leaves the in-flight count when the
	// timeout fires, even though the abandoned handler still runs.
	m := newManual(t)
	release := make(chan struct{})
	defer close(release)
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release })
	inner := http.TimeoutHandler(slow, 20*time.Millisecond, "timeout")
	srv := lifecycleServer(t, m, inner, nil)
	code, err := get(srv, "/")
	if err != nil || code != http.StatusServiceUnavailable {
		t.Fatalf("got %d, %v; want 503", code, err)
	}
	expectFinal(t, m, 503)
}

func TestTimeoutHandlerOutside(t *testing.T) {
	// http.TimeoutHandler wraps runway: the handler is still running after
	// the client got its 503, so it is still in flight until it returns.
	m := newManual(t)
	release := make(chan struct{})
	done := make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		<-release
		w.WriteHeader(http.StatusAccepted) // too late: ErrHandlerTimeout
	})
	srv := lifecycleServer(t, m, slow, func(h http.Handler) http.Handler {
		return http.TimeoutHandler(h, 20*time.Millisecond, "timeout")
	})
	code, err := get(srv, "/")
	if err != nil || code != http.StatusServiceUnavailable {
		t.Fatalf("got %d, %v; want 503", code, err)
	}
	if got := m.inFlight(t); got != 1 {
		t.Errorf("in flight after the timeout, handler still running = %d, want 1", got)
	}
	close(release)
	<-done
	expectFinal(t, m, http.StatusAccepted)
}

func TestHijack(t *testing.T) {
	m := newManual(t)
	srv := lifecycleServer(t, m, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		go func() {
			defer conn.Close()
			buf.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
			buf.Flush()
			line, _ := buf.ReadString('\n')
			buf.WriteString(line)
			buf.Flush()
		}()
	}), nil)
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade response %v, %v", resp, err)
	}
	io.WriteString(conn, "ping\n")
	if line, _ := br.ReadString('\n'); line != "ping\n" {
		t.Errorf("echo = %q", line)
	}
	expectStreamFinal(t, m, 101) // a hijacked connection is a stream
}

func TestStreamingResponse(t *testing.T) {
	m := newManual(t)
	next := make(chan struct{})
	srv := lifecycleServer(t, m, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		for i := 0; i < 3; i++ {
			io.WriteString(w, "chunk\n")
			w.(http.Flusher).Flush()
			<-next
		}
	}), nil)
	resp, err := srv.Client().Get(srv.URL + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	for i := 0; i < 3; i++ {
		if line, err := br.ReadString('\n'); err != nil || line != "chunk\n" {
			t.Fatalf("chunk %d = %q, %v", i, line, err)
		}
		if got := m.inFlight(t); got != 1 {
			t.Errorf("in flight during the stream = %d, want 1", got)
		}
		next <- struct{}{}
	}
	expectFinal(t, m, 200)
}

func TestFinalStatus(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		want    int
	}{
		{"nothing written", func(w http.ResponseWriter, r *http.Request) {}, 200},
		{"write without WriteHeader", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "x") }, 200},
		{"explicit", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }, 418},
		{"first WriteHeader wins", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNotFound)
			w.WriteHeader(http.StatusInternalServerError)
		}, 404},
		{"1xx is not final", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Link", "</a.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusNoContent)
		}, 204},
		{"100 then write", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusContinue)
			io.WriteString(w, "x")
		}, 200},
		{"flush first", func(w http.ResponseWriter, r *http.Request) { w.(http.Flusher).Flush() }, 200},
		{"ReadFrom", func(w http.ResponseWriter, r *http.Request) {
			w.(io.ReaderFrom).ReadFrom(strings.NewReader("body"))
		}, 200},
		{"WriteString", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "body") }, 200},
		{"ServeContent range", func(w http.ResponseWriter, r *http.Request) {
			r.Header.Set("Range", "bytes=0-1")
			http.ServeContent(w, r, "a.txt", time.Time{}, strings.NewReader("hello"))
		}, 206},
		{"ResponseController flush", func(w http.ResponseWriter, r *http.Request) {
			if err := http.NewResponseController(w).Flush(); err != nil {
				t.Errorf("ResponseController.Flush: %v", err)
			}
		}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newManual(t)
			srv := lifecycleServer(t, m, tc.handler, nil)
			code, err := get(srv, "/")
			if err != nil {
				t.Fatal(err)
			}
			if code != tc.want {
				t.Errorf("client saw %d, want %d", code, tc.want)
			}
			expectFinal(t, m, tc.want)
		})
	}
}
