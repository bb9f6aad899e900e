// Package sim is the discrete-event simulation of the autoscaling lab: a
// pool of pods, each a queue with K servers, behind a load balancer,
// scraped by a model of Prometheus and scaled by the same KEDA and HPA
// code the live mode uses. It is seeded and deterministic.
package sim

import (
	"container/heap"
	"context"
	"math/rand/v2"

	"github.com/otel-runway/runway/examples/autoscale/lab"
)

type kind uint8

const (
	evArrival kind = iota
	evDone
	evReady
	evScrape
	evSync
	evTick
)

type event struct {
	t     float64
	seq   uint64
	kind  kind
	pod   *pod
	req   lab.Request
	tout  bool
	start float64 // evDone: when service began
}

type events []event

func (e events) Len() int { return len(e) }
func (e events) Less(i, j int) bool {
	if e[i].t != e[j].t {
		return e[i].t < e[j].t
	}
	return e[i].seq < e[j].seq
}
func (e events) Swap(i, j int) { e[i], e[j] = e[j], e[i] }
func (e *events) Push(x any)   { *e = append(*e, x.(event)) }
func (e *events) Pop() any {
	old := *e
	x := old[len(old)-1]
	*e = old[:len(old)-1]
	return x
}

type pod struct {
	id               int
	created, readyAt float64
	ready, draining  bool
	gone             bool
	busy             int
	queue            []lab.Request
	head             int
	inFlight         int
	lastT            float64
	area, cpu        float64
	cpuRate          float64 // the cores the requests in service use
	requests         float64
}

func (p *pod) advance(t float64) {
	dt := t - p.lastT
	p.area += float64(p.inFlight) * dt
	p.cpu += p.cpuRate * dt
	p.lastT = t
}

func (p *pod) queued() int { return len(p.queue) - p.head }

type sim struct {
	sc    *lab.Scenario
	sig   lab.Signal
	rec   *lab.Recorder
	ctrl  *lab.Controller
	store *lab.Store
	ev    events
	seq   uint64
	rng   *rand.Rand
	pods  []*pod // not gone, in creation order
	live  []*pod // ready and not draining: the endpoints
	rr    int
	next  int
	arr   *lab.Arrivals
	end   float64
}

func (s *sim) push(e event) {
	s.seq++
	e.seq = s.seq
	heap.Push(&s.ev, e)
}

// Run simulates sc under the autoscaler of sig. progress, if not nil, is
// called with the simulated time at each sample. When ctx ends, Run
// returns what was measured so far, marked interrupted, and ctx's error.
func Run(ctx context.Context, sc lab.Scenario, sig lab.Signal, progress func(t float64)) (lab.Run, error) {
	sc = sc.WithDefaults()
	if err := sc.Validate(); err != nil {
		return lab.Run{}, err
	}
	maxWin := max(sig.Window, sc.CPUWindow) + 4*sc.ScrapeInterval + 300
	s := &sim{
		sc: &sc, sig: sig, store: lab.NewStore(maxWin),
		rng: rand.New(rand.NewPCG(sc.Seed, 3)),
		end: sc.Profile.Duration(),
	}
	s.rec = lab.NewRecorder(&sc, sig)
	ctrl, err := lab.NewController(sig, &sc, s.store)
	if err != nil {
		return lab.Run{}, err
	}
	s.ctrl = ctrl
	for i := 0; i < sc.Initial; i++ {
		p := s.newPod(-sc.Warmup - sc.StartupDelay)
		s.makeReady(p, -sc.Warmup)
	}
	s.arr = sc.Arrivals(-sc.Warmup)
	if r, ok := s.arr.Next(); ok {
		s.push(event{t: r.At, kind: evArrival, req: r})
	}
	s.push(event{t: sc.SyncPeriod, kind: evSync})
	s.push(event{t: 0, kind: evTick})
	s.recordPods(0)

	interrupted := false
	for s.ev.Len() > 0 {
		e := heap.Pop(&s.ev).(event)
		if e.t > s.end {
			break
		}
		switch e.kind {
		case evArrival:
			s.arrive(e.t, e.req)
			if r, ok := s.arr.Next(); ok {
				s.push(event{t: r.At, kind: evArrival, req: r})
			}
		case evDone:
			s.done(e.t, e.pod, e.req, e.tout)
			if e.req.At >= 0 {
				s.rec.Busy(e.t - max(e.start, 0))
			}
		case evReady:
			if !e.pod.gone && !e.pod.draining {
				s.makeReady(e.pod, e.t)
				s.recordPods(e.t)
			}
		case evScrape:
			s.scrape(e.t, e.pod)
		case evSync:
			s.sync(e.t)
			s.push(event{t: e.t + sc.SyncPeriod, kind: evSync})
		case evTick:
			inFlight := 0
			for _, p := range s.pods {
				inFlight += p.inFlight
			}
			s.rec.Tick(e.t, len(s.pods), len(s.live), inFlight)
			if progress != nil {
				progress(e.t)
			}
			if ctx.Err() != nil {
				interrupted = true
				s.end = e.t
				break
			}
			s.push(event{t: e.t + sc.SampleInterval, kind: evTick})
		}
		if interrupted {
			break
		}
	}
	s.recordPods(s.end)
	run := s.rec.Finish(s.end, interrupted)
	if interrupted {
		return run, ctx.Err()
	}
	return run, nil
}

func (s *sim) newPod(t float64) *pod {
	s.next++
	p := &pod{id: s.next, created: t, lastT: t}
	s.pods = append(s.pods, p)
	return p
}

func (s *sim) makeReady(p *pod, t float64) {
	p.ready, p.readyAt, p.lastT = true, t, t
	s.live = append(s.live, p)
	// Prometheus scrapes each target at its own offset in the interval.
	s.push(event{t: t + s.rng.Float64()*s.sc.ScrapeInterval, kind: evScrape, pod: p})
}

func (s *sim) recordPods(t float64) {
	if t >= 0 {
		s.rec.Pods(t, len(s.pods), len(s.live))
	}
}

func (s *sim) pick() *pod {
	n := len(s.live)
	switch s.sc.LB {
	case "random":
		return s.live[s.rng.IntN(n)]
	case "least-request":
		// Envoy's least-request: the less loaded of two random picks.
		a, b := s.live[s.rng.IntN(n)], s.live[s.rng.IntN(n)]
		if b.inFlight < a.inFlight {
			return b
		}
		return a
	}
	s.rr = (s.rr + 1) % n
	return s.live[s.rr]
}

func (s *sim) arrive(t float64, r lab.Request) {
	rec := r.At >= 0
	if rec {
		s.rec.Arrived(t)
	}
	if len(s.live) == 0 {
		if rec {
			s.rec.Failed(r.At, t, false)
		}
		return
	}
	p := s.pick()
	svc := &s.sc.Service
	p.advance(t)
	switch {
	case p.busy < svc.Slots:
		p.inFlight++
		s.start(t, p, r)
	case svc.Queue < 0 || p.queued() < svc.Queue:
		p.inFlight++
		p.queue = append(p.queue, r)
	default:
		p.requests++ // refused with 503
		if rec {
			s.rec.Failed(r.At, t, false)
		}
	}
}

func (s *sim) start(t float64, p *pod, r lab.Request) {
	p.busy++
	p.cpuRate += r.CPU
	if r.At >= 0 {
		s.rec.Started(r.At, t)
	}
	end, tout := t+r.Service, false
	if limit := r.At + s.sc.Service.Timeout; end > limit {
		end, tout = limit, true
	}
	s.push(event{t: end, kind: evDone, pod: p, req: r, tout: tout, start: t})
}

func (s *sim) done(t float64, p *pod, r lab.Request, tout bool) {
	svc := &s.sc.Service
	p.advance(t)
	p.busy--
	p.cpuRate -= r.CPU
	if p.busy == 0 {
		p.cpuRate = 0 // no rounding left behind
	}
	p.inFlight--
	p.requests++
	if r.At >= 0 {
		if tout {
			s.rec.Failed(r.At, t, true)
		} else {
			s.rec.Done(r.At, t)
		}
	}
	for p.queued() > 0 && p.busy < svc.Slots {
		q := p.queue[p.head]
		p.head++
		if p.head > 1024 && p.head*2 > len(p.queue) {
			p.queue = append(p.queue[:0], p.queue[p.head:]...)
			p.head = 0
		}
		if t >= q.At+svc.Timeout {
			// The client gave up while it waited: it left the queue.
			p.inFlight--
			p.requests++
			if q.At >= 0 {
				s.rec.Failed(q.At, t, true)
			}
			continue
		}
		s.start(t, p, q)
	}
	if p.draining && p.inFlight == 0 {
		s.remove(t, p)
	}
}

func (s *sim) scrape(t float64, p *pod) {
	if p.gone {
		return
	}
	p.advance(t)
	s.store.Add(p.id, t, lab.Scrape{InFlight: float64(p.inFlight), InFlightTime: p.area, Requests: p.requests, CPUSeconds: p.cpu})
	s.push(event{t: t + s.sc.ScrapeInterval, kind: evScrape, pod: p})
}

func (s *sim) remove(t float64, p *pod) {
	p.gone = true
	s.store.Gone(p.id, t)
	for i, q := range s.pods {
		if q == p {
			s.pods = append(s.pods[:i], s.pods[i+1:]...)
			break
		}
	}
	s.recordPods(t)
}

func (s *sim) sync(t float64) {
	var states []lab.PodState
	for _, p := range s.pods {
		if !p.draining {
			states = append(states, lab.PodState{ID: p.id, Ready: p.ready, Created: p.created, ReadyAt: p.readyAt})
		}
	}
	current := len(states)
	desired, perPod := s.ctrl.Sync(t, states)
	s.rec.Synced(t, current, desired, perPod)
	switch {
	case desired > current:
		for i := current; i < desired; i++ {
			p := s.newPod(t)
			s.push(event{t: t + s.sc.StartupDelay, kind: evReady, pod: p})
		}
	case desired < current:
		s.scaleDown(t, current-desired)
	}
	s.recordPods(t)
}

// scaleDown removes n pods the way a ReplicaSet chooses: pods not ready
// first, then the most recently ready.
func (s *sim) scaleDown(t float64, n int) {
	for i := len(s.pods) - 1; i >= 0 && n > 0; i-- {
		if p := s.pods[i]; !p.ready && !p.draining {
			s.remove(t, p)
			n--
		}
	}
	for n > 0 {
		var newest *pod
		for _, p := range s.live {
			if newest == nil || p.readyAt >= newest.readyAt {
				newest = p
			}
		}
		if newest == nil {
			return
		}
		n--
		newest.draining = true
		for i, q := range s.live {
			if q == newest {
				s.live = append(s.live[:i], s.live[i+1:]...)
				break
			}
		}
		if newest.inFlight == 0 {
			s.remove(t, newest)
		}
	}
	if len(s.live) > 0 {
		s.rr %= len(s.live)
	}
}
