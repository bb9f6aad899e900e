// Package demo is the demo application of runway: a few routes with
// controllable io- or cpu-bound work, instrumented and exported the way a
// real service would be. The demo server (examples/server) and the sweep
// tool (examples/loadtest) both run it.
package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/otel-runway/runway/instrument"
)

// MaxWork bounds the work one request may ask for.
const MaxWork = 60 * time.Second

// RouteGroups are the route groups of the demo, as in asgi-runway's
// example: heavy inference and lighter embedding work.
func RouteGroups() []instrument.RouteGroup {
	return []instrument.RouteGroup{
		{Pattern: `^/api/infer`, Name: "inference"},
		{Pattern: `^/api/embed`, Name: "embedding"},
	}
}

// Routes returns the demo's routes, uninstrumented:
//
//	GET /work?ms=N&mode=io|cpu   io: wait N ms; cpu: burn N ms of CPU (default 100 ms, io)
//	/api/infer?ms=N&mode=io|cpu  the "inference" group (default 200 ms, io)
//	/api/embed?ms=N&mode=io|cpu  the "embedding" group (default 20 ms, io)
//	/healthz                     200 "ok"
//
// A bad ms or mode is answered 400. Work stops early when the client goes
// away.
func Routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /work", workHandler(100*time.Millisecond))
	mux.Handle("/api/infer", workHandler(200*time.Millisecond))
	mux.Handle("/api/embed", workHandler(20*time.Millisecond))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	return mux
}

// Work is what one request asks for.
type Work struct {
	Mode string        `json:"mode"`
	Time time.Duration `json:"-"`
	MS   float64       `json:"ms"`
}

// ParseWork reads ms and mode from a query, with def as the default time.
func ParseWork(r *http.Request, def time.Duration) (Work, error) {
	q := r.URL.Query()
	w := Work{Mode: "io", Time: def}
	if s := q.Get("mode"); s != "" {
		if s != "io" && s != "cpu" {
			return w, fmt.Errorf("mode %q: want io or cpu", s)
		}
		w.Mode = s
	}
	if s := q.Get("ms"); s != "" {
		ms, err := strconv.ParseFloat(s, 64)
		if err != nil || ms < 0 || ms != ms {
			return w, fmt.Errorf("ms %q: want a non-negative number of milliseconds", s)
		}
		d := time.Duration(ms * float64(time.Millisecond))
		if d > MaxWork {
			return w, fmt.Errorf("ms %q: more than %v", s, MaxWork)
		}
		w.Time = d
	}
	w.MS = float64(w.Time) / float64(time.Millisecond)
	return w, nil
}

func workHandler(def time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		work, err := ParseWork(r, def)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := Do(r.Context(), work); err != nil {
			return // the client is gone
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(work)
	})
}

// Do performs work: it waits (io) or keeps a CPU busy (cpu) for work.Time,
// or until ctx is done.
func Do(ctx context.Context, work Work) error {
	if work.Mode == "cpu" {
		return burn(ctx, work.Time)
	}
	t := time.NewTimer(work.Time)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// burn does d worth of CPU work, as measured on an idle CPU at start-up:
// a fixed amount of computation, so that under contention a request takes
// longer than d, as a CPU-bound handler does.
func burn(ctx context.Context, d time.Duration) error {
	rounds := int64(float64(d) / float64(time.Millisecond) * roundsPerMS())
	for i := int64(0); i < rounds; i++ {
		spin()
		if i%16 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

const spinIterations = 2000

var sink atomic.Uint64

func spin() {
	x := sink.Load() | 1
	for j := 0; j < spinIterations; j++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	sink.Store(x)
}

// roundsPerMS calibrates spin once: how many rounds one CPU does in a
// millisecond (the best of a few short trials).
var roundsPerMS = sync.OnceValue(func() float64 {
	best := 0.0
	for trial := 0; trial < 5; trial++ {
		start := time.Now()
		n := 0
		for time.Since(start) < 4*time.Millisecond {
			spin()
			n++
		}
		rate := float64(n) / (float64(time.Since(start)) / float64(time.Millisecond))
		best = max(best, rate)
	}
	return best
})
