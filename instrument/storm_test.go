package instrument

import (
	"context"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"go.uber.org/goleak"
)

// stormRequests returns how many requests a storm sends: 100,000, or
// RUNWAY_SOAK_REQUESTS for a longer soak; fewer with -short.
func stormRequests(t *testing.T) int {
	if v := os.Getenv("RUNWAY_SOAK_REQUESTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("RUNWAY_SOAK_REQUESTS=%q: want a positive integer", v)
		}
		return n
	}
	return 100_000
}

// stormKind is what one request of the storm does on the server.
type stormKind int

const (
	kindOK         stormKind = iota // writes a short body
	kindStream                      // writes and flushes three chunks
	kindPanic                       // panics
	kindAbort                       // panics with http.ErrAbortHandler
	kindTimeout                     // outlives the http.TimeoutHandler around it
	kindHijack                      // hijacks the connection and answers on it
	kindDisconnect                  // waits for the client, which gives up
	numKinds
)

var kindNames = [numKinds]string{"ok", "stream", "panic", "abort", "timeout", "hijack", "disconnect"}

// stormWeights make most requests keep their connection alive, so that a
// storm does not run out of ephemeral ports; every kind is well
// represented.
var stormWeights = [numKinds]int{kindOK: 40, kindStream: 15, kindPanic: 9, kindAbort: 9, kindTimeout: 9, kindHijack: 9, kindDisconnect: 9}

// stormServer is the application under the storm: one route per kind,
// behind the middleware, counting the requests that reach each handler.
type stormServer struct {
	reached [numKinds]atomic.Int64
}

func (s *stormServer) handler() http.Handler {
	mux := http.NewServeMux()
	handle := func(k stormKind, h http.HandlerFunc) {
		mux.HandleFunc("/"+kindNames[k], func(w http.ResponseWriter, r *http.Request) {
			s.reached[k].Add(1)
			h(w, r)
		})
	}
	handle(kindOK, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	handle(kindStream, func(w http.ResponseWriter, r *http.Request) {
		for range 3 {
			io.WriteString(w, "chunk\n")
			w.(http.Flusher).Flush()
		}
	})
	handle(kindPanic, func(http.ResponseWriter, *http.Request) { panic("storm: handler panics") })
	handle(kindAbort, func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })
	handle(kindHijack, func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		buf.Flush()
	})
	handle(kindDisconnect, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second): // bounded, should the client never go
		}
	})
	// The timeout route: the middleware sees http.TimeoutHandler, which
	// answers 503 after 1 ms while the handler inside waits for its
	// context to be cancelled.
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.reached[kindTimeout].Add(1)
		<-r.Context().Done()
	})
	mux.Handle("/"+kindNames[kindTimeout], http.TimeoutHandler(inner, time.Millisecond, "timeout"))
	return mux
}

func (s *stormServer) total() int64 {
	var n int64
	for k := range s.reached {
		n += s.reached[k].Load()
	}
	return n
}

// requestsByStatus sums runway_requests_total by status code.
func requestsByStatus(fams map[string]*dto.MetricFamily) (map[string]float64, float64) {
	by := map[string]float64{}
	var total float64
	f, ok := fams["runway_requests_total"]
	if !ok {
		return by, 0
	}
	for _, m := range f.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "http_response_status_code" {
				by[l.GetValue()] += m.GetCounter().GetValue()
			}
		}
		total += m.GetCounter().GetValue()
	}
	return by, total
}

// TestStorm sends a storm of requests over many connections to a real
// server where handlers panic, abort, time out, stream, hijack their
// connection or lose their client, and checks that afterwards, on a real
// scrape, nothing is in flight, every request that reached the middleware
// is counted exactly once with the right status, and no goroutine is left
// behind.
func TestStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("a storm of requests: full suite only")
	}
	// Registered first, so it runs after every other cleanup: the
	// server, the scraped exporter and the client must all be gone.
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })

	total := stormRequests(t)
	const workers = 32
	sc := newScraped(t)
	app := &stormServer{}
	srv := httptest.NewUnstartedServer(mustHandler(t, app.handler(), WithMeterProvider(sc.provider)))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // panics are on purpose
	srv.Start()
	defer srv.Close()
	transport := &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: 0, DisableCompression: true}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}

	var cumulative [numKinds + 1]int
	for k := range numKinds {
		cumulative[k+1] = cumulative[k] + stormWeights[k]
	}
	pick := func(r *rand.Rand) stormKind {
		x := r.IntN(cumulative[numKinds])
		for k := range numKinds {
			if x < cumulative[k+1] {
				return k
			}
		}
		return kindOK
	}

	// A scraper reads the gauge throughout: it must never be negative
	// nor exceed what the handlers have seen.
	stopScrape := make(chan struct{})
	scrapeErr := make(chan error, 1)
	var scrapes atomic.Int64
	go func() {
		defer close(scrapeErr)
		for {
			select {
			case <-stopScrape:
				return
			case <-time.After(20 * time.Millisecond):
			}
			fams := sc.scrape(t)
			v, _ := promValue(fams, "runway_requests_in_flight")
			scrapes.Add(1)
			if v < 0 || v > float64(total) {
				scrapeErr <- fmt.Errorf("runway_requests_in_flight = %v during the storm", v)
				return
			}
		}
	}()

	// The client never retries (POST is not replayable), so each request
	// reaches a handler at most once; it tallies the 503s it receives,
	// since http.TimeoutHandler answers 200 when its handler returns at
	// the very moment the timeout fires.
	var sent [numKinds]atomic.Int64
	var got503 atomic.Int64
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for next.Add(1) <= int64(total) {
				k := pick(r)
				sent[k].Add(1)
				ctx, cancel := context.Background(), context.CancelFunc(func() {})
				if k == kindDisconnect {
					ctx, cancel = context.WithTimeout(ctx, time.Duration(r.IntN(2000))*time.Microsecond)
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/"+kindNames[k], nil)
				resp, err := client.Do(req)
				if err == nil {
					if k == kindTimeout && resp.StatusCode == http.StatusServiceUnavailable {
						got503.Add(1)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				cancel()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stopScrape)
	if err := <-scrapeErr; err != nil {
		t.Error(err)
	}

	// Handlers whose client is gone (disconnect, timeout) may still be
	// returning: wait until the scrape settles, then check it exactly.
	var fams map[string]*dto.MetricFamily
	deadline := time.Now().Add(15 * time.Second)
	for {
		fams = sc.scrape(t)
		inFlight, _ := promValue(fams, "runway_requests_in_flight")
		_, counted := requestsByStatus(fams)
		if inFlight == 0 && counted == float64(app.total()) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the storm: in flight %v, counted %v, reached %d", inFlight, counted, app.total())
		}
		time.Sleep(5 * time.Millisecond)
	}
	byStatus, counted := requestsByStatus(fams)
	reached := func(k stormKind) float64 { return float64(app.reached[k].Load()) }
	for k := range numKinds {
		t.Logf("%-10s sent %6d reached %6d", kindNames[k], sent[k].Load(), app.reached[k].Load())
	}
	t.Logf("%d requests in %v (%.0f/s) over %d workers, %d scrapes during the storm; by status %v",
		total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(), workers, scrapes.Load(), byStatus)

	if app.total() < int64(total)*8/10 {
		t.Errorf("only %d of %d requests reached the handlers", app.total(), total)
	}
	for k := range numKinds {
		if app.reached[k].Load() == 0 {
			t.Errorf("no %s request reached its handler", kindNames[k])
		}
	}
	if counted != float64(app.total()) {
		t.Errorf("runway_requests_total sums to %v, want the %d requests that reached the handlers", counted, app.total())
	}
	if got, want := byStatus["500"], reached(kindPanic)+reached(kindAbort); got != want {
		t.Errorf("status 500 counted %v times, want %v (panics and aborts)", got, want)
	}
	if got, want := byStatus["503"], float64(got503.Load()); got != want {
		t.Errorf("status 503 counted %v times, want the %v that clients received", got, want)
	}
	if got503.Load() < app.reached[kindTimeout].Load()*9/10 {
		t.Errorf("only %d of %d timeout requests were answered 503", got503.Load(), app.reached[kindTimeout].Load())
	}
}
