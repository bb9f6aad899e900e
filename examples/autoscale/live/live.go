// Package live runs the autoscaling lab over real processes: a pool of
// demo servers (examples/server) on 127.0.0.1, each with a concurrency
// limit and a wait queue, behind a front proxy, under open-loop Poisson
// load, scraped over HTTP and scaled by the same KEDA and HPA code as the
// simulation.
package live

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/otel-runway/runway/examples/autoscale/lab"
)

// BuildServer builds the demo server once into a temporary directory and
// returns its path and a function that removes it. It runs go build, so
// the working directory must be inside the module.
func BuildServer(ctx context.Context) (string, func(), error) {
	dir, err := os.MkdirTemp("", "autoscale-server-")
	if err != nil {
		return "", nil, err
	}
	bin := filepath.Join(dir, "server")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/otel-runway/runway/examples/server")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("live: build the demo server: %w", err)
	}
	return bin, func() { os.RemoveAll(dir) }, nil
}

// Config is one live run.
type Config struct {
	// Server is the demo server's binary (BuildServer), run with
	// ServerArgs before its own flags (e.g. a subcommand).
	Server     string
	ServerArgs []string
	Scenario   lab.Scenario
	Signal     lab.Signal
	// Prometheus, when set, is the path of a Prometheus binary: it then
	// scrapes the pool (file service discovery over the ready replicas)
	// and evaluates the signal's query through its HTTP API.
	Prometheus string
	// Log, if not nil, receives progress lines.
	Log func(format string, args ...any)
}

type replica struct {
	id       int
	created  float64
	readyAt  float64
	cmd      *exec.Cmd
	url      string
	metrics  string
	proxy    *httputil.ReverseProxy
	inFlight atomic.Int64
	ready    bool
	draining bool
	gone     bool
	started  chan struct{} // closed once the process serves (or failed)
	exited   chan struct{}
}

type pool struct {
	cfg    Config
	sc     *lab.Scenario
	origin time.Time
	mu     sync.Mutex
	reps   []*replica // not gone
	live   []*replica // ready, not draining
	next   int
	rr     int
	rng    *rand.Rand
	store  *lab.Store
	rec    *lab.Recorder
	ctrl   *lab.Controller
	wg     sync.WaitGroup
	tr     *http.Transport
	errs   []error
	prom   *prometheus
}

func (p *pool) now() float64 { return time.Since(p.origin).Seconds() }

func (p *pool) logf(format string, args ...any) {
	if p.cfg.Log != nil {
		p.cfg.Log(format, args...)
	}
}

// Run runs the scenario's profile against a fresh pool scaled on the
// signal. When ctx ends it stops, and returns what was measured, marked
// interrupted, with ctx's error.
func Run(ctx context.Context, cfg Config) (lab.Run, error) {
	sc := cfg.Scenario.WithDefaults()
	if err := sc.Validate(); err != nil {
		return lab.Run{}, err
	}
	p := &pool{
		cfg: cfg, sc: &sc, rng: rand.New(rand.NewPCG(sc.Seed, 3)),
		store: lab.NewStore(max(cfg.Signal.Window, sc.CPUWindow) + 4*sc.ScrapeInterval + 300),
		tr:    &http.Transport{MaxIdleConnsPerHost: 512, MaxConnsPerHost: 0, IdleConnTimeout: 30 * time.Second},
	}
	defer p.tr.CloseIdleConnections()
	p.rec = lab.NewRecorder(&sc, cfg.Signal)
	ctrl, err := lab.NewController(cfg.Signal, &sc, p.store)
	if err != nil {
		return lab.Run{}, err
	}
	p.ctrl = ctrl
	if cfg.Prometheus != "" && cfg.Signal.Kind != lab.CPU && cfg.Signal.Kind != lab.Fixed {
		prom, err := startPrometheus(ctx, cfg.Prometheus, sc.ScrapeInterval)
		if err != nil {
			return lab.Run{}, err
		}
		defer prom.close()
		p.prom = prom
		ctrl.SetQuerier(prom)
	}
	p.origin = time.Now().Add(time.Duration(sc.Warmup * float64(time.Second)))
	defer p.stopAll()

	// The initial replicas, ready before the warm-up.
	for i := 0; i < sc.Initial; i++ {
		p.spawn(-sc.Warmup, 0)
	}
	for _, r := range p.snapshot() {
		select {
		case <-r.started:
		case <-ctx.Done():
			return lab.Run{}, ctx.Err()
		}
		if r.url == "" {
			return lab.Run{}, errors.Join(p.errs...)
		}
	}
	p.mu.Lock()
	for _, r := range p.reps {
		p.makeReadyLocked(r, p.now())
	}
	p.mu.Unlock()
	p.publishTargets()

	front, err := p.serveFront()
	if err != nil {
		return lab.Run{}, err
	}
	defer front.Close()
	frontURL := "http://" + front.Addr().String()

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var loops sync.WaitGroup
	loops.Add(3)
	go func() { defer loops.Done(); p.scrapeLoop(runCtx) }()
	go func() { defer loops.Done(); p.controlLoop(runCtx) }()
	go func() { defer loops.Done(); p.tickLoop(runCtx) }()
	p.load(runCtx, frontURL)
	end := p.now()
	interrupted := ctx.Err() != nil
	cancel()
	loops.Wait()
	// Requests still out end by their timeout at the latest.
	p.wg.Wait()
	p.mu.Lock()
	p.recordPodsLocked(min(end, sc.Profile.Duration()))
	run := p.rec.Finish(min(end, sc.Profile.Duration()), interrupted)
	p.mu.Unlock()
	if interrupted {
		return run, ctx.Err()
	}
	return run, nil
}

func (p *pool) snapshot() []*replica {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*replica(nil), p.reps...)
}

// spawn starts a replica created at t that becomes ready delay later.
func (p *pool) spawn(t, delay float64) *replica {
	p.mu.Lock()
	p.next++
	r := &replica{id: p.next, created: t, started: make(chan struct{}), exited: make(chan struct{})}
	p.reps = append(p.reps, r)
	p.mu.Unlock()
	svc := p.sc.Service
	queue := svc.Queue
	if queue < 0 {
		queue = 1 << 20
	}
	args := append(append([]string(nil), p.cfg.ServerArgs...), "-addr", "127.0.0.1:0", "-limit", strconv.Itoa(svc.Slots), "-limit-queue", strconv.Itoa(queue),
		"-instance-id", lab.PodName(r.id), "-shutdown-timeout", fmt.Sprintf("%gs", svc.Timeout+5))
	r.cmd = exec.Command(p.cfg.Server, args...)
	stderr, err := r.cmd.StderrPipe()
	if err == nil {
		err = r.cmd.Start()
	}
	if err != nil {
		p.mu.Lock()
		p.errs = append(p.errs, fmt.Errorf("live: start replica %d: %w", r.id, err))
		p.mu.Unlock()
		close(r.started)
		close(r.exited)
		return r
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			if _, rest, ok := strings.Cut(line, "serving "); ok && r.url == "" {
				u, _, _ := strings.Cut(rest, " ")
				_, m, _ := strings.Cut(rest, "metrics at ")
				target, perr := url.Parse(u)
				if perr == nil {
					r.proxy = &httputil.ReverseProxy{Transport: p.tr, Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target) },
						ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) }}
					r.metrics = strings.TrimSpace(m)
					r.url = u
				}
				close(r.started)
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	go func() {
		r.cmd.Wait()
		close(r.exited)
		select {
		case <-r.started:
		default:
			close(r.started) // died before serving
		}
	}()
	if delay > 0 || t >= 0 {
		go func() {
			<-r.started
			wait := time.Until(p.origin.Add(time.Duration((t + delay) * float64(time.Second))))
			time.Sleep(max(wait, 0))
			p.mu.Lock()
			defer p.mu.Unlock()
			if r.url != "" && !r.draining && !r.gone {
				p.makeReadyLocked(r, p.now())
				p.recordPodsLocked(p.now())
				p.publishTargetsLocked()
			}
		}()
	}
	return r
}

func (p *pool) makeReadyLocked(r *replica, t float64) {
	if r.ready {
		return
	}
	r.ready, r.readyAt = true, t
	p.live = append(p.live, r)
}

// publishTargets gives Prometheus the ready replicas (those the Service
// would route to, as a PodMonitor of ready pods would scrape), kept until
// they are gone.
func (p *pool) publishTargets() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.publishTargetsLocked()
}

func (p *pool) publishTargetsLocked() {
	if p.prom == nil {
		return
	}
	hps := map[int]string{}
	for _, r := range p.reps {
		if r.ready {
			hps[r.id] = hostport(r.url)
		}
	}
	if err := p.prom.setTargets(hps); err != nil {
		p.errs = append(p.errs, err)
	}
}

func (p *pool) recordPodsLocked(t float64) {
	if t >= 0 {
		p.rec.Pods(t, len(p.reps), len(p.live))
	}
}

func (p *pool) pickLocked() *replica {
	n := len(p.live)
	if n == 0 {
		return nil
	}
	switch p.sc.LB {
	case "random":
		return p.live[p.rng.IntN(n)]
	case "least-request":
		a, b := p.live[p.rng.IntN(n)], p.live[p.rng.IntN(n)]
		if b.inFlight.Load() < a.inFlight.Load() {
			return b
		}
		return a
	}
	p.rr = (p.rr + 1) % n
	return p.live[p.rr]
}

// serveFront serves the proxy over the ready replicas.
func (p *pool) serveFront() (net.Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		p.mu.Lock()
		r := p.pickLocked()
		if r != nil {
			r.inFlight.Add(1)
		}
		p.mu.Unlock()
		if r == nil {
			http.Error(w, "no ready endpoint", http.StatusServiceUnavailable)
			return
		}
		defer r.inFlight.Add(-1)
		r.proxy.ServeHTTP(w, req)
	}), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return ln, nil
}

// load sends the profile's arrivals, open loop, until its end or ctx.
func (p *pool) load(ctx context.Context, front string) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024, IdleConnTimeout: 30 * time.Second},
		Timeout: time.Duration(p.sc.Service.Timeout * float64(time.Second))}
	defer client.CloseIdleConnections()
	arr := p.sc.Arrivals(-p.sc.Warmup)
	for {
		r, ok := arr.Next()
		if !ok {
			return
		}
		if d := time.Until(p.origin.Add(time.Duration(r.At * float64(time.Second)))); d > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(d):
			}
		} else if ctx.Err() != nil {
			return
		}
		p.wg.Add(1)
		go func(r lab.Request) {
			defer p.wg.Done()
			at := p.now()
			if r.At >= 0 {
				p.mu.Lock()
				p.rec.Arrived(at)
				p.mu.Unlock()
			}
			u := fmt.Sprintf("%s/work?mode=io&ms=%.3f", front, r.Service*1000)
			resp, err := client.Get(u)
			status := 0
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				status = resp.StatusCode
			}
			done := p.now()
			if r.At < 0 {
				return
			}
			p.mu.Lock()
			defer p.mu.Unlock()
			switch {
			case status == http.StatusOK:
				p.rec.Done(at, done)
				p.rec.Busy(r.Service)
			case err != nil && isTimeout(err):
				p.rec.Failed(at, done, true)
			default:
				p.rec.Failed(at, done, false)
			}
		}(r)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func every(ctx context.Context, interval float64, first float64, origin time.Time, f func(t float64)) {
	k := 0
	for {
		at := origin.Add(time.Duration((first + float64(k)*interval) * float64(time.Second)))
		k++
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(at)):
		}
		f(time.Since(origin).Seconds())
	}
}

func (p *pool) tickLoop(ctx context.Context) {
	every(ctx, p.sc.SampleInterval, 0, p.origin, func(t float64) {
		p.mu.Lock()
		defer p.mu.Unlock()
		inFlight := 0
		for _, r := range p.reps {
			inFlight += int(r.inFlight.Load())
		}
		p.rec.Tick(t, len(p.reps), len(p.live), inFlight)
		p.logf("\rlive: %-12s %5.0f / %.0f s  replicas %d (ready %d)  in flight %d   ", p.cfg.Signal.Name, t, p.sc.Profile.Duration(), len(p.reps), len(p.live), inFlight)
	})
	p.logf("\n")
}

func (p *pool) scrapeLoop(ctx context.Context) {
	client := &http.Client{Timeout: time.Duration(p.sc.ScrapeInterval * float64(time.Second))}
	// Half an interval off the syncs, as Prometheus' per-target offsets
	// are on average.
	every(ctx, p.sc.ScrapeInterval, -p.sc.Warmup+p.sc.ScrapeInterval/2, p.origin, func(float64) {
		type target struct {
			r       *replica
			metrics string
		}
		var targets []target
		p.mu.Lock()
		for _, r := range p.reps {
			if r.ready && r.metrics != "" {
				targets = append(targets, target{r, r.metrics})
			}
		}
		p.mu.Unlock()
		for _, tg := range targets {
			r := tg.r
			s, err := scrape(ctx, client, tg.metrics)
			if err != nil {
				continue // a failed scrape leaves a gap, as in Prometheus
			}
			s.CPUSeconds = cpuSeconds(r.cmd.Process.Pid)
			t := p.now()
			p.mu.Lock()
			if !r.gone {
				p.store.Add(r.id, t, s)
			}
			p.mu.Unlock()
		}
	})
}

// scrape reads one replica's /metrics the way Prometheus does: the text
// exposition parsed with expfmt.
func scrape(ctx context.Context, c *http.Client, u string) (lab.Scrape, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return lab.Scrape{}, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return lab.Scrape{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return lab.Scrape{}, fmt.Errorf("scrape %s: %s", u, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return lab.Scrape{}, err
	}
	sum := func(name string) float64 {
		v := 0.0
		for _, m := range fams[name].GetMetric() {
			v += metricValue(m)
		}
		return v
	}
	return lab.Scrape{
		InFlight:     sum("runway_requests_in_flight"),
		InFlightTime: sum("runway_requests_in_flight_time_seconds_total"),
		Requests:     sum("runway_requests_total"),
	}, nil
}

func metricValue(m *dto.Metric) float64 {
	return m.GetGauge().GetValue() + m.GetCounter().GetValue() + m.GetUntyped().GetValue()
}

// cpuSeconds reads a process's user and system CPU time from
// /proc/PID/stat (Linux; 0 elsewhere), at 100 ticks a second.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	k, _ := strconv.ParseFloat(f[12], 64)
	return (u + k) / 100
}

func (p *pool) controlLoop(ctx context.Context) {
	every(ctx, p.sc.SyncPeriod, p.sc.SyncPeriod, p.origin, func(t float64) {
		p.mu.Lock()
		var states []lab.PodState
		for _, r := range p.reps {
			if !r.draining {
				states = append(states, lab.PodState{ID: r.id, Ready: r.ready, Created: r.created, ReadyAt: r.readyAt})
			}
		}
		current := len(states)
		// A query to a real Prometheus goes over HTTP: not under the lock
		// the proxy takes for every request (it reads no shared state).
		remote := p.prom != nil
		if remote {
			p.mu.Unlock()
		}
		desired, perPod := p.ctrl.Sync(t, states)
		if remote {
			p.mu.Lock()
		}
		p.rec.Synced(t, current, desired, perPod)
		p.mu.Unlock()
		switch {
		case desired > current:
			for i := current; i < desired; i++ {
				p.spawn(t, p.sc.StartupDelay)
			}
		case desired < current:
			p.scaleDown(current - desired)
		}
		p.mu.Lock()
		p.recordPodsLocked(p.now())
		p.mu.Unlock()
	})
}

// scaleDown removes n replicas as a ReplicaSet chooses: not ready first,
// then the most recently ready; those drain before they stop.
func (p *pool) scaleDown(n int) {
	p.mu.Lock()
	var victims []*replica
	for i := len(p.reps) - 1; i >= 0 && n > 0; i-- {
		if r := p.reps[i]; !r.ready && !r.draining {
			r.draining = true
			victims = append(victims, r)
			n--
		}
	}
	for ; n > 0; n-- {
		var newest *replica
		for _, r := range p.live {
			if newest == nil || r.readyAt >= newest.readyAt {
				newest = r
			}
		}
		if newest == nil {
			break
		}
		newest.draining = true
		for i, r := range p.live {
			if r == newest {
				p.live = append(p.live[:i], p.live[i+1:]...)
				break
			}
		}
		victims = append(victims, newest)
	}
	if len(p.live) > 0 {
		p.rr %= len(p.live)
	}
	p.mu.Unlock()
	for _, r := range victims {
		go p.drain(r)
	}
}

// drain waits for the replica's requests to finish, then stops it with
// SIGTERM (the demo drains too) and drops its target.
func (p *pool) drain(r *replica) {
	deadline := time.Now().Add(time.Duration((p.sc.Service.Timeout + 5) * float64(time.Second)))
	for r.inFlight.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	p.stop(r)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.removeLocked(r)
}

func (p *pool) removeLocked(r *replica) {
	if r.gone {
		return
	}
	r.gone = true
	p.store.Gone(r.id, p.now())
	for i, x := range p.reps {
		if x == r {
			p.reps = append(p.reps[:i], p.reps[i+1:]...)
			break
		}
	}
	for i, x := range p.live {
		if x == r {
			p.live = append(p.live[:i], p.live[i+1:]...)
			break
		}
	}
	p.recordPodsLocked(p.now())
	p.publishTargetsLocked()
}

func (p *pool) stop(r *replica) {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(time.Duration((p.sc.Service.Timeout + 10) * float64(time.Second))):
		r.cmd.Process.Kill()
		<-r.exited
	}
}

func (p *pool) stopAll() {
	var wg sync.WaitGroup
	for _, r := range p.snapshot() {
		wg.Add(1)
		go func() { defer wg.Done(); p.stop(r) }()
	}
	wg.Wait()
}
