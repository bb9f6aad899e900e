package instrument

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
)

// TestOTelConventions serves HTTP/2 over TLS through a middleware in
// "otel" mode and reads a ManualReader: a held request is counted in
// http.server.active_requests under its method and scheme; a server-sent
// events stream leaves it for runway.streams.in_flight; durations carry
// the protocol, the status code and, for a server error, error.type; an
// unknown method is recorded as _OTHER.
func TestOTelConventions(t *testing.T) {
	m := newManual(t)
	gate := make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(gate) }) }
	defer release()
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/sse":
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusOK)
			w.Write([]byte("data: hi\n\n"))
			w.(http.Flusher).Flush()
			<-gate
		case "/hold":
			<-gate
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	srv := httptest.NewUnstartedServer(mustHandler(t, app, WithMeterProvider(m.provider), WithConventions("otel")))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	client := srv.Client()

	var wg sync.WaitGroup
	defer wg.Wait()
	defer release()
	wg.Go(func() {
		resp, err := client.Get(srv.URL + "/hold")
		if err != nil {
			t.Error(err)
			return
		}
		resp.Body.Close()
	})
	resp, err := client.Get(srv.URL + "/sse")
	if err != nil {
		t.Fatal(err)
	}
	if resp.ProtoMajor != 2 {
		t.Fatalf("protocol %s, want HTTP/2", resp.Proto)
	}
	if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	getHTTPS := []attribute.KeyValue{methodKey.String("GET"), urlSchemeKey.String("https")}
	waitFor(t, "one active request and one stream", func() bool {
		rm := m.collect(t)
		active, _ := sumValue(rm, "http.server.active_requests", getHTTPS...)
		streams, _ := sumValue(rm, streamsInFlightName)
		return active == 1 && streams == 1
	})
	req, _ := http.NewRequest("FOO", srv.URL+"/fail", nil)
	failed, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	failed.Body.Close()
	release()
	wg.Wait()
	resp.Body.Close()

	h2 := []attribute.KeyValue{urlSchemeKey.String("https"), protocolNameKey.String("http"), protocolVersionKey.String("2")}
	waitFor(t, "both requests recorded", func() bool {
		rm := m.collect(t)
		held, ok1 := histPoint(rm, "http.server.request.duration",
			append([]attribute.KeyValue{methodKey.String("GET"), statusCodeKey.Int(200)}, h2...)...)
		fail, ok2 := histPoint(rm, "http.server.request.duration",
			append([]attribute.KeyValue{methodKey.String("_OTHER"), statusCodeKey.Int(503), errorTypeKey.String("503")}, h2...)...)
		return ok1 && ok2 && held.Count == 1 && fail.Count == 1
	})
	rm := m.collect(t)
	if v, ok := sumValue(rm, "http.server.active_requests", getHTTPS...); !ok || v != 0 {
		t.Errorf("http.server.active_requests{GET,https} = %d (reported %v), want 0", v, ok)
	}
	if n := sumPoints(rm, "http.server.active_requests"); n != 2 {
		t.Errorf("http.server.active_requests has %d series, want 2 (GET and _OTHER over https)", n)
	}
	for _, name := range []string{inFlightName, requestsName, durationName} {
		if _, ok := findMetric(rm, name); ok {
			t.Errorf("otel mode: %s recorded", name)
		}
	}
}

// TestOTelActiveConventions checks "otel-active", the mode for a handler
// that otelhttp already measures: http.server.active_requests and
// runway's extensions, and neither duration histogram nor runway.requests.
func TestOTelActiveConventions(t *testing.T) {
	m := newManual(t)
	gate := make(chan struct{})
	h := mustHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-gate }),
		WithMeterProvider(m.provider), WithConventions("otel-active"))
	srv := httptest.NewServer(h)
	defer srv.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := http.Post(srv.URL+"/x", "text/plain", nil)
		if err != nil {
			t.Error(err)
			return
		}
		resp.Body.Close()
	}()
	post := []attribute.KeyValue{methodKey.String("POST"), urlSchemeKey.String("http")}
	waitFor(t, "one active POST", func() bool {
		v, _ := sumValue(m.collect(t), "http.server.active_requests", post...)
		return v == 1
	})
	close(gate)
	<-done
	rm := m.collect(t)
	if v, ok := sumValue(rm, "http.server.active_requests", post...); !ok || v != 0 {
		t.Errorf("http.server.active_requests{POST,http} = %d (reported %v) after the request, want 0", v, ok)
	}
	if _, ok := findMetric(rm, inFlightTimeName); !ok {
		t.Errorf("%s missing: the extensions are kept", inFlightTimeName)
	}
	for _, name := range []string{"http.server.request.duration", durationName, requestsName, inFlightName} {
		if _, ok := findMetric(rm, name); ok {
			t.Errorf("otel-active: %s recorded", name)
		}
	}
}
