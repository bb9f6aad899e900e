package sweep

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// loader sends the target request.
type loader struct {
	cfg    Config
	client *http.Client
	start  time.Time    // sweep start, for progress
	done   atomic.Int64 // requests completed since start
}

func newLoader(cfg Config) *loader {
	client := cfg.Client
	if client == nil {
		top := cfg.Levels[len(cfg.Levels)-1]
		client = &http.Client{Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        2 * top,
			MaxIdleConnsPerHost: top,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		}}
	}
	return &loader{cfg: cfg, client: client, start: time.Now()}
}

// do sends one request and returns "" for a status below 400, else the kind
// of failure. The body is read to the end so the connection is reused.
func (l *loader) do(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.Timeout)
	defer cancel()
	var body io.Reader
	if len(l.cfg.Target.Body) > 0 {
		body = bytes.NewReader(l.cfg.Target.Body)
	}
	req, err := http.NewRequestWithContext(ctx, l.cfg.Target.Method, l.cfg.Target.URL, body)
	if err != nil {
		return "transport"
	}
	for k, vs := range l.cfg.Target.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if h := l.cfg.Target.Header.Get("Host"); h != "" {
		req.Host = h
	}
	resp, err := l.client.Do(req)
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode >= 400 {
			return fmt.Sprintf("status_%d", resp.StatusCode)
		}
	}
	if err != nil {
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			return "timeout"
		}
		return "transport"
	}
	return ""
}

// probe sends one request and fails on a transport error or a status of 400
// or more.
func (l *loader) probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.Timeout)
	defer cancel()
	var body io.Reader
	if len(l.cfg.Target.Body) > 0 {
		body = bytes.NewReader(l.cfg.Target.Body)
	}
	req, err := http.NewRequestWithContext(ctx, l.cfg.Target.Method, l.cfg.Target.URL, body)
	if err != nil {
		return fmt.Errorf("sweep: target %s: %w", l.cfg.Target.URL, err)
	}
	req.Header = l.cfg.Target.Header.Clone()
	resp, err := l.client.Do(req)
	if err != nil {
		return fmt.Errorf("sweep: target %s is unreachable: %w", l.cfg.Target.URL, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		return fmt.Errorf("sweep: target %s answered %s to a probe request", l.cfg.Target.URL, resp.Status)
	}
	return nil
}

// runLevel drives concurrency closed-loop workers through a warm-up and a
// measured step. Requests still running when the step ends are abandoned and
// not counted. If ctx ends first, runLevel returns ctx's error.
func (l *loader) runLevel(ctx context.Context, idx int, concurrency int, phase string) (Level, error) {
	cfg := l.cfg
	stats := newLevelStats(concurrency, cfg.StepDuration, cfg.Windows)
	var mu sync.Mutex

	levelStart := time.Now()
	measureStart := levelStart.Add(cfg.Warmup)
	measureEnd := measureStart.Add(cfg.StepDuration)
	runCtx, stop := context.WithDeadline(ctx, measureEnd)
	defer stop()

	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for runCtx.Err() == nil {
				t0 := time.Now()
				kind := l.do(runCtx)
				t1 := time.Now()
				if t1.After(measureEnd) || runCtx.Err() != nil {
					// Still running when the step ended: cut, not a failure.
					mu.Lock()
					stats.cut++
					mu.Unlock()
					return
				}
				l.done.Add(1)
				if t1.Before(measureStart) {
					continue // warm-up
				}
				mu.Lock()
				stats.record(t1.Sub(measureStart), t1.Sub(t0), kind)
				mu.Unlock()
			}
		})
	}

	if cfg.MetricsURL != "" {
		wg.Go(func() {
			// Scrapes are spaced by a random 0.5–1.5 × ScrapeInterval,
			// starting at a random offset: closed-loop workers on a fixed
			// service time move in step, and samples at a fixed period would
			// keep landing in the same gap between two requests.
			if !sleepUntil(runCtx, measureStart.Add(jitter(cfg.ScrapeInterval))) {
				return
			}
			for {
				v, err := scrapeInFlight(runCtx, l.client, cfg.MetricsURL)
				if runCtx.Err() != nil {
					return
				}
				mu.Lock()
				if err != nil {
					stats.scrapeErrs++
				} else {
					stats.inflight = append(stats.inflight, v)
				}
				mu.Unlock()
				if !sleepUntil(runCtx, time.Now().Add(jitter(cfg.ScrapeInterval))) {
					return
				}
			}
		})
	}

	report := func(phase string) {
		if cfg.Progress == nil {
			return
		}
		now := time.Now()
		p := phase
		if p == "measure" && now.Before(measureStart) {
			p = "warm-up"
		}
		cfg.Progress(Progress{
			Level: idx + 1, Levels: len(cfg.Levels), Concurrency: concurrency, Phase: p,
			LevelElapsed: now.Sub(levelStart), Elapsed: now.Sub(l.start), Requests: l.done.Load(),
		})
	}
	if cfg.Progress != nil {
		wg.Go(func() {
			tick := time.NewTicker(cfg.ProgressInterval)
			defer tick.Stop()
			for {
				report(phase)
				select {
				case <-runCtx.Done():
					return
				case <-tick.C:
				}
			}
		})
	}

	wg.Wait()
	if err := ctx.Err(); err != nil {
		return Level{}, err
	}
	report("done")
	return stats.level(), nil
}

// jitter returns a random duration between d/2 and 3d/2.
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d+1)
}

// sleepUntil waits until t or until ctx ends; it reports whether t was reached.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}
