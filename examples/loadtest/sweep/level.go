package sweep

import (
	"math"
	"slices"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Level is what one concurrency level measured. Times are in seconds.
type Level struct {
	Concurrency int `json:"concurrency"`
	// Runs is how many times the level was measured; the best run is kept.
	Runs int `json:"runs"`
	// DurationS is the measured step, warm-up excluded.
	DurationS float64 `json:"duration_s"`

	// Requests is every request that completed inside the step: OK + Errors + Timeouts.
	Requests int `json:"requests"`
	// OK counts responses with a status below 400.
	OK int `json:"ok"`
	// Errors counts responses with a status of 400 or more and transport errors.
	Errors int `json:"errors"`
	// Timeouts counts requests that exceeded the request timeout.
	Timeouts int `json:"timeouts"`
	// Cut counts requests still running when the step ended; they are
	// abandoned and counted nowhere else (at most one per worker).
	Cut int `json:"cut"`
	// ErrorKinds breaks Errors and Timeouts down ("status_503", "transport", "timeout").
	ErrorKinds map[string]int `json:"error_kinds,omitempty"`

	// Latency percentiles and mean of the OK responses.
	P50S  float64 `json:"p50_s"`
	P95S  float64 `json:"p95_s"`
	P99S  float64 `json:"p99_s"`
	MeanS float64 `json:"mean_s"`
	MaxS  float64 `json:"max_s"`

	// ThroughputRPS is OK responses per second over the windows that did
	// not stall (see WindowRPS); it is the figure the analysis uses.
	ThroughputRPS float64 `json:"throughput_rps"`
	// RawThroughputRPS is OK / DurationS.
	RawThroughputRPS float64 `json:"raw_throughput_rps"`
	// WindowRPS is the OK rate of each window of the step. A window spans
	// at least four mean latencies, so there are fewer windows than
	// Config.Windows when requests are slow against the step.
	WindowRPS []float64 `json:"window_rps"`
	// StalledWindows counts windows left out of ThroughputRPS because they
	// ran at less than half the median window rate.
	StalledWindows int `json:"stalled_windows"`

	// LittleL is Requests/DurationS × the mean time of all requests:
	// the concurrency that Little's law (L = λ·W) sees.
	LittleL float64 `json:"littles_law_l"`
	// LittleOK is false when LittleL is more than 10 % away from
	// Concurrency: the client, not the server, limited the level.
	LittleOK bool `json:"littles_law_ok"`

	// ServerInFlight is the mean of the server's runway_requests_in_flight
	// over ServerSamples scrapes; nil without a metrics URL.
	ServerInFlight *float64 `json:"server_in_flight,omitempty"`
	ServerSamples  int      `json:"server_samples,omitempty"`
	// ServerAgrees is true when ServerInFlight is within 10 % of Concurrency.
	ServerAgrees *bool `json:"server_agrees,omitempty"`
	// ScrapeErrors counts failed scrapes of the metrics URL.
	ScrapeErrors int `json:"scrape_errors,omitempty"`

	// Status is "ok", "degrading" or "saturated"; see Analyze.
	Status string `json:"status"`
}

// tolerance is the relative gap allowed by the Little's-law and in-flight checks.
const tolerance = 0.10

// levelStats accumulates one level's step.
type levelStats struct {
	concurrency int
	step        time.Duration
	hist        *hdrhistogram.Histogram // OK latencies in microseconds
	fine        []int                   // OK completions per fine bucket of the step
	windows     int                     // most windows to cut the step into
	ok, errs    int
	timeouts    int
	kinds       map[string]int
	allTime     time.Duration // summed time of every counted request
	inflight    []float64
	scrapeErrs  int
	cut         int
}

func newLevelStats(concurrency int, step time.Duration, windows int) *levelStats {
	return &levelStats{
		concurrency: concurrency,
		step:        step,
		// 1 µs to 1 h at three significant digits.
		hist:    hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3),
		fine:    make([]int, fineBuckets),
		windows: windows,
		kinds:   map[string]int{},
	}
}

// record counts a request that ended at offset end into the step and took d.
// kind is "" for an OK response.
func (s *levelStats) record(end, d time.Duration, kind string) {
	s.allTime += d
	switch kind {
	case "":
		s.ok++
		_ = s.hist.RecordValue(max(int64(d/time.Microsecond), 1)) // values above 1 h are clamped by the timeout
		w := int(int64(end) * fineBuckets / int64(s.step))
		s.fine[min(max(w, 0), fineBuckets-1)]++
	case "timeout":
		s.timeouts++
		s.kinds[kind]++
	default:
		s.errs++
		s.kinds[kind]++
	}
}

// level turns the accumulated figures into a Level.
func (s *levelStats) level() Level {
	secs := s.step.Seconds()
	l := Level{
		Concurrency:      s.concurrency,
		Runs:             1,
		DurationS:        secs,
		Requests:         s.ok + s.errs + s.timeouts,
		OK:               s.ok,
		Errors:           s.errs,
		Timeouts:         s.timeouts,
		RawThroughputRPS: float64(s.ok) / secs,
		ScrapeErrors:     s.scrapeErrs,
		Cut:              s.cut,
	}
	if len(s.kinds) > 0 {
		l.ErrorKinds = s.kinds
	}
	if s.ok > 0 {
		us := func(v int64) float64 { return float64(v) / 1e6 }
		l.P50S = us(s.hist.ValueAtQuantile(50))
		l.P95S = us(s.hist.ValueAtQuantile(95))
		l.P99S = us(s.hist.ValueAtQuantile(99))
		l.MaxS = us(s.hist.Max())
		l.MeanS = s.hist.Mean() / 1e6
	}
	l.ThroughputRPS, l.WindowRPS, l.StalledWindows = windowThroughput(s.windowCounts(), secs)
	if l.Requests > 0 {
		l.LittleL = float64(l.Requests) / secs * (s.allTime.Seconds() / float64(l.Requests))
	}
	l.LittleOK = math.Abs(l.LittleL-float64(s.concurrency)) <= tolerance*float64(s.concurrency)
	if len(s.inflight) > 0 {
		var sum float64
		for _, v := range s.inflight {
			sum += v
		}
		mean := sum / float64(len(s.inflight))
		agrees := math.Abs(mean-float64(s.concurrency)) <= tolerance*float64(s.concurrency)
		l.ServerInFlight, l.ServerSamples, l.ServerAgrees = &mean, len(s.inflight), &agrees
	}
	return l
}

// fineBuckets is the resolution at which completions are counted in a step.
const fineBuckets = 240

// minWindowLatencies is how many mean latencies a window spans at least: a
// window shorter than a request would look empty, not stalled.
const minWindowLatencies = 4

// windowCounts merges the fine buckets into windows that each span at least
// minWindowLatencies mean latencies, at most s.windows of them.
func (s *levelStats) windowCounts() []int {
	n := s.windows
	if total := s.ok + s.errs + s.timeouts; total > 0 {
		mean := s.allTime / time.Duration(total)
		if mean > 0 {
			n = min(n, int(s.step/(minWindowLatencies*mean)))
		}
	}
	n = max(n, 1)
	counts := make([]int, n)
	for i, c := range s.fine {
		counts[i*n/fineBuckets] += c
	}
	return counts
}

// windowThroughput returns the rate over the windows that ran at least half
// the median window rate, each window's rate, and how many were left out.
func windowThroughput(counts []int, secs float64) (rps float64, rates []float64, stalled int) {
	width := secs / float64(len(counts))
	rates = make([]float64, len(counts))
	for i, c := range counts {
		rates[i] = float64(c) / width
	}
	sorted := slices.Clone(counts)
	slices.Sort(sorted)
	median := float64(sorted[len(sorted)/2])
	if len(sorted)%2 == 0 {
		median = float64(sorted[len(sorted)/2-1]+sorted[len(sorted)/2]) / 2
	}
	var kept, total int
	for _, c := range counts {
		if float64(c) < median/2 {
			stalled++
			continue
		}
		kept++
		total += c
	}
	if kept == 0 {
		return 0, rates, stalled
	}
	return float64(total) / (float64(kept) * width), rates, stalled
}
