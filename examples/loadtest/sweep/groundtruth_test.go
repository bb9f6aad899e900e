package sweep

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/proto"
)

// capacityServer is a server whose capacity is known: K slots, each request
// holds one for a fixed service time, the rest wait in a queue. Its in-flight
// count (queued + served) is exposed at /metrics as runway_requests_in_flight.
// With unlimited slots (k == 0) it is an async io server that never saturates.
type capacityServer struct {
	slots    chan struct{}
	service  time.Duration
	inFlight atomic.Int64
	served   atomic.Int64

	// A stall freezes every request for stall once stallAfter requests
	// have been served: a machine that stops for a moment.
	stallAfter int64
	stall      time.Duration
	gate       sync.RWMutex

	// level is the concurrency the sweep drives now (set from its
	// progress reports); holds are the times requests held a slot, by
	// level: the service time this machine really gave, in this run.
	level atomic.Int64
	mu    sync.Mutex
	holds map[int64][]time.Duration
}

// progress is a sweep Progress callback that tells the server the level.
func (s *capacityServer) progress(p Progress) { s.level.Store(int64(p.Concurrency)) }

// serviceTime is the time a request held a slot at the level of
// concurrency c, trimmed of its slowest 5 % (a stall freezes at most the K
// requests that hold the slots then).
func (s *capacityServer) serviceTime(c int) (time.Duration, int) {
	s.mu.Lock()
	h := slices.Clone(s.holds[int64(c)])
	s.mu.Unlock()
	if len(h) == 0 {
		return 0, 0
	}
	slices.Sort(h)
	h = h[:max(1, len(h)*95/100)]
	var sum time.Duration
	for _, d := range h {
		sum += d
	}
	return sum / time.Duration(len(h)), len(h)
}

func newCapacityServer(t *testing.T, k int, service time.Duration) (*capacityServer, *httptest.Server) {
	t.Helper()
	s := &capacityServer{service: service, holds: map[int64][]time.Duration{}}
	if k > 0 {
		s.slots = make(chan struct{}, k)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/work", s.work)
	mux.HandleFunc("/metrics", s.metrics)
	mux.HandleFunc("/other-metrics", otherMetrics)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return s, srv
}

func (s *capacityServer) work(w http.ResponseWriter, r *http.Request) {
	s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	if s.slots != nil {
		select {
		case s.slots <- struct{}{}:
			defer func() { <-s.slots }()
		case <-r.Context().Done():
			return
		}
	}
	start, level := time.Now(), s.level.Load()
	defer func() { // before the slot is released
		s.mu.Lock()
		s.holds[level] = append(s.holds[level], time.Since(start))
		s.mu.Unlock()
	}()
	if n := s.served.Add(1); s.stall > 0 && n == s.stallAfter {
		s.gate.Lock()
		go func() {
			time.Sleep(s.stall)
			s.gate.Unlock()
		}()
	}
	s.gate.RLock()
	s.gate.RUnlock() //nolint:staticcheck // waits out a stall
	timer := time.NewTimer(s.service)
	defer timer.Stop()
	select {
	case <-timer.C:
		_, _ = w.Write([]byte("ok\n"))
	case <-r.Context().Done():
	}
}

func (s *capacityServer) metrics(w http.ResponseWriter, r *http.Request) {
	serveGauge(w, InFlightMetric, float64(s.inFlight.Load()))
}

// otherMetrics is a valid exposition without runway_requests_in_flight.
func otherMetrics(w http.ResponseWriter, r *http.Request) {
	serveGauge(w, "some_other_gauge", 1)
}

func serveGauge(w http.ResponseWriter, name string, v float64) {
	mf := &dto.MetricFamily{
		Name:   proto.String(name),
		Help:   proto.String("A gauge."),
		Type:   dto.MetricType_GAUGE.Enum(),
		Metric: []*dto.Metric{{Gauge: &dto.Gauge{Value: proto.Float64(v)}}},
	}
	format := expfmt.NewFormat(expfmt.TypeTextPlain)
	w.Header().Set("Content-Type", string(format))
	if err := expfmt.NewEncoder(w, format).Encode(mf); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}
