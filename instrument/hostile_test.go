package instrument

import (
	"bufio"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// hostileMethods are request methods a client may send: known methods,
// known methods in the wrong case and other valid tokens; invalidMethods
// are garbage that net/http rejects before any handler runs.
var (
	hostileMethods = []string{
		"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH", "QUERY",
		"get", "Post", "PROPFIND", "MKCOL", "BREW", "X", "M-SEARCH",
		strings.Repeat("LONGMETHOD", 20),
	}
	invalidMethods = []string{"G\x01T", "GE T", "{}", "\xff\xfe", "GET\t"}
)

func hostileMethod(r *rand.Rand) string {
	if r.IntN(10) == 0 {
		return invalidMethods[r.IntN(len(invalidMethods))]
	}
	return hostileMethods[r.IntN(len(hostileMethods))]
}

// hostilePath returns a random request target: plain, deep, long, encoded,
// dotted, non-ASCII or absolute-form.
func hostilePath(r *rand.Rand) string {
	seg := func() string {
		const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-._~:@!$&'()*+,;="
		b := make([]byte, 1+r.IntN(12))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		switch r.IntN(10) {
		case 0:
			return string(b) + "%2F%20%00" // encoded slash, space, NUL
		case 1:
			return string(b) + "%zz" // bad escape: 400
		}
		return string(b)
	}
	switch r.IntN(8) {
	case 0:
		return "/api/infer/" + seg()
	case 1:
		return "/api/embed?x=" + seg()
	case 2:
		return "/" + strings.Repeat(seg()+"/", 1+r.IntN(400)) // long, up to a few KiB
	case 3:
		return "/%e2%82%ac/" + seg() + "/../../etc/passwd"
	case 4:
		return "//" + seg() + "//" + seg()
	case 5:
		return "http://evil.example/" + seg() // absolute form
	case 6:
		return "/ü/" + seg() + "?" + strings.Repeat("q=1&", r.IntN(200))
	}
	return "/" + seg()
}

// hostileHost returns a Host header line, sometimes none at all (a 400 in
// HTTP/1.1).
func hostileHost(r *rand.Rand) string {
	hosts := []string{
		"localhost", "", "evil.example:99999", "[::1]", "xn--bcher-kva.example",
		strings.Repeat("h", 1000) + ".example", "127.0.0.1:1", "EVIL.example.",
	}
	switch r.IntN(40) {
	case 0:
		return "" // no Host: 400
	case 1:
		return "Host: a b\r\n" // invalid: 400
	case 2:
		return "Host: one\r\nHost: two\r\n" // twice: 400
	}
	return "Host: " + hosts[r.IntN(len(hosts))] + "\r\n"
}

// hostileHeaders returns a few odd header lines.
func hostileHeaders(r *rand.Rand) string {
	var b strings.Builder
	for range r.IntN(6) {
		switch r.IntN(5) {
		case 0:
			fmt.Fprintf(&b, "User-Agent: %s\r\n", strings.Repeat("Mozilla/5.0 ", r.IntN(50)))
		case 1:
			fmt.Fprintf(&b, "X-Forwarded-For: 10.%d.%d.%d, 192.0.2.1\r\n", r.IntN(256), r.IntN(256), r.IntN(256))
		case 2:
			fmt.Fprintf(&b, "X-Random-%d: %d\r\n", r.Uint32(), r.Uint64())
		case 3:
			b.WriteString("Traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n")
		case 4:
			fmt.Fprintf(&b, "Cookie: session=%x\r\n", r.Uint64())
		}
	}
	return b.String()
}

// hostileClient sends raw HTTP/1.1 requests over one connection at a time,
// reconnecting whenever the server closes it (as it does after a 400).
type hostileClient struct {
	addr string
	conn net.Conn
	br   *bufio.Reader
}

func (c *hostileClient) do(method, raw string) (int, error) {
	if c.conn == nil {
		conn, err := net.Dial("tcp", c.addr)
		if err != nil {
			return 0, err
		}
		c.conn, c.br = conn, bufio.NewReader(conn)
	}
	c.conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c.conn, raw); err != nil {
		c.close()
		return 0, err
	}
	resp, err := http.ReadResponse(c.br, &http.Request{Method: method})
	if err != nil {
		c.close()
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.Close {
		c.close()
	}
	return resp.StatusCode, nil
}

func (c *hostileClient) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

// heapAfterGC returns the live heap after a full collection.
func heapAfterGC() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestHostileInput floods a real server with random methods (known,
// miscased, unknown and invalid), paths (long, encoded, dotted,
// absolute-form), Host headers and other headers. Whatever the client
// sends, the number of series stays under the bound that
// docs/reliability.md states, no label carries anything but a known
// method, a status and a route name, every request that reached the
// handler is counted, and the heap after the flood is within 1 MiB of the
// heap before it.
func TestHostileInput(t *testing.T) {
	if testing.Short() {
		t.Skip("a storm of requests: full suite only")
	}
	groups := []RouteGroup{{Pattern: `^/api/infer`, Name: "inference"}, {Pattern: `^/api/embed`, Name: "embedding"}}
	n := stormRequests(t)
	for _, tc := range []struct {
		name     string
		opts     []Option
		mux      bool     // the application is a ServeMux: routes from r.Pattern
		routes   []string // the http.route values that may appear
		requests int
	}{
		{"route groups", []Option{WithRouteGroups(groups...)}, false, []string{"inference", "embedding", otherValue}, n},
		{"serve mux", nil, true, []string{"/items/{id}", "/api/"}, n / 5},
		{"no routes", nil, false, nil, n / 5},
		{"both conventions", []Option{WithRouteGroups(groups...), WithConventions("both")}, false, []string{"inference", "embedding", otherValue}, n / 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hostileFlood(t, tc.opts, tc.mux, tc.routes, tc.requests)
		})
	}
}

func hostileFlood(t *testing.T, opts []Option, withMux bool, routes []string, total int) {
	const workers = 16
	sc := newScraped(t)
	var reached atomic.Int64
	// The application answers 200 or 404; those two statuses and the 500
	// of none are all it can produce. Behind a ServeMux, the mux adds its
	// own 404 and the redirects of its path cleaning.
	var inner http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.URL.Path)%2 == 0 {
			w.WriteHeader(http.StatusNotFound)
		}
	})
	statusesAllowed := []string{"200", "404"}
	if withMux {
		mux := http.NewServeMux()
		mux.Handle("/items/{id}", inner)
		mux.Handle("/api/", inner)
		inner = mux
		statusesAllowed = append(statusesAllowed, "301", "307")
	}
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		inner.ServeHTTP(w, r)
	})
	srv := httptest.NewUnstartedServer(mustHandler(t, app, append(opts, WithMeterProvider(sc.provider))...))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	defer srv.Close()
	addr := srv.Listener.Addr().String()

	flood := func(n int, seed uint64) map[int]int {
		var mu sync.Mutex
		statuses := map[int]int{}
		var next atomic.Int64
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(seed, uint64(w)))
				c := &hostileClient{addr: addr}
				defer c.close()
				local := map[int]int{}
				for next.Add(1) <= int64(n) {
					method := hostileMethod(r)
					raw := method + " " + hostilePath(r) + " HTTP/1.1\r\n" + hostileHost(r) + hostileHeaders(r) + "\r\n"
					status, err := c.do(method, raw)
					if err != nil {
						status = -1
					}
					local[status]++
				}
				mu.Lock()
				for k, v := range local {
					statuses[k] += v
				}
				mu.Unlock()
			}()
		}
		wg.Wait()
		return statuses
	}

	flood(2000, 1) // warm up: pools, route tables, the exporter's caches
	sc.scrape(t)
	before := heapAfterGC()
	start := time.Now()
	statuses := flood(total, 2)
	elapsed := time.Since(start)
	fams := sc.scrape(t)
	after := heapAfterGC()

	t.Logf("%d requests in %v; statuses seen by clients (-1: connection error) %v; %d reached the handler",
		total, elapsed.Round(time.Millisecond), statuses, reached.Load())
	growth := int64(after) - int64(before)
	t.Logf("heap after GC: %d KiB before, %d KiB after the flood (%+d KiB)", before>>10, after>>10, growth>>10)
	if growth > 1<<20 {
		t.Errorf("heap grew by %d KiB over the flood, want at most 1024 KiB", growth>>10)
	}
	if statuses[http.StatusBadRequest] == 0 {
		t.Error("no request was rejected by net/http: the flood has no invalid requests")
	}

	// The bound: methods × statuses × (routes + 1 for no route).
	numRoutes := len(routes) + 1
	numStatuses := len(statusesAllowed)
	bounds := map[string]int{
		"runway_requests_in_flight":          1,
		"runway_requests_in_flight_by_route": len(routes),
		"runway_requests_total":              numMethods * numStatuses * numRoutes,
		"runway_request_duration_seconds":    numMethods * numRoutes,
	}
	_, otel := fams["http_server_request_duration_seconds"]
	if otel { // the semantic conventions: one scheme, one protocol version here
		bounds["http_server_active_requests"] = numMethods
		bounds["http_server_request_duration_seconds"] = numMethods * numStatuses * numRoutes
	}
	allowed := map[string]func(string) bool{
		"http_request_method": func(v string) bool {
			return v == otherValue || slices.Contains(knownMethods[:], v)
		},
		"http_response_status_code": func(v string) bool { return slices.Contains(statusesAllowed, v) },
		"http_route":                func(v string) bool { return slices.Contains(routes, v) },
		"otel_scope_name":           func(v string) bool { return v == ScopeName },
		"otel_scope_version":        func(v string) bool { return v == Version() },
		"otel_scope_schema_url":     func(v string) bool { return v == "" },
		"url_scheme":                func(v string) bool { return v == "http" },
		"network_protocol_name":     func(v string) bool { return v == "http" },
		"network_protocol_version":  func(v string) bool { return v == "1.1" },
	}
	for name, bound := range bounds {
		f := fams[name]
		n := len(f.GetMetric())
		t.Logf("%s: %d series (bound %d)", name, n, bound)
		if n > bound {
			t.Errorf("%s has %d series, over the bound %d", name, n, bound)
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				ok, known := allowed[l.GetName()]
				if !known || !ok(l.GetValue()) {
					t.Errorf("%s carries label %s=%q", name, l.GetName(), truncate(l.GetValue()))
				}
			}
		}
	}
	_, counted := requestsByStatus(fams)
	if counted != float64(reached.Load()) {
		t.Errorf("runway_requests_total sums to %v, want the %d requests that reached the handler", counted, reached.Load())
	}
	if v, _ := promValue(fams, "runway_requests_in_flight"); v != 0 {
		t.Errorf("runway_requests_in_flight = %v after the flood, want 0", v)
	}
	if got := histCount(fams, "runway_request_duration_seconds"); got != uint64(reached.Load()) {
		t.Errorf("runway_request_duration_seconds counts %d requests, want %d", got, reached.Load())
	}
	if otel {
		if got := histCount(fams, "http_server_request_duration_seconds"); got != uint64(reached.Load()) {
			t.Errorf("http_server_request_duration_seconds counts %d requests, want %d", got, reached.Load())
		}
	}
}

func histCount(fams map[string]*dto.MetricFamily, name string) uint64 {
	var n uint64
	for _, m := range fams[name].GetMetric() {
		n += m.GetHistogram().GetSampleCount()
	}
	return n
}

func truncate(s string) string {
	if len(s) > 60 {
		return s[:60] + "…(" + strconv.Itoa(len(s)) + " bytes)"
	}
	return s
}
