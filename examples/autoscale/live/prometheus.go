package live

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/otel-runway/runway/examples/autoscale/lab"
)

// prometheus is a real Prometheus server scraping the pool through file
// service discovery, whose HTTP API evaluates the KEDA queries.
type prometheus struct {
	dir     string
	targets string
	url     string
	cmd     *exec.Cmd
	client  *http.Client
	exited  chan struct{}
}

// startPrometheus runs the Prometheus binary at bin on a free loopback
// port, scraping every interval, and waits until it is ready.
func startPrometheus(ctx context.Context, bin string, interval float64) (*prometheus, error) {
	dir, err := os.MkdirTemp("", "autoscale-prometheus-")
	if err != nil {
		return nil, err
	}
	p := &prometheus{dir: dir, targets: filepath.Join(dir, "targets.json"), client: &http.Client{Timeout: 5 * time.Second}, exited: make(chan struct{})}
	if err := p.setTargets(nil); err != nil {
		p.close()
		return nil, err
	}
	iv := time.Duration(interval * float64(time.Second))
	cfg := fmt.Sprintf(`global:
  scrape_interval: %s
  scrape_timeout: %s
scrape_configs:
  - job_name: runway-demo
    file_sd_configs:
      - files: [%q]
        refresh_interval: %s
`, iv, iv, p.targets, iv)
	cfgFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		p.close()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		p.close()
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	p.url = "http://" + addr
	p.cmd = exec.Command(bin, "--config.file="+cfgFile, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	if err := p.cmd.Start(); err != nil {
		p.close()
		return nil, fmt.Errorf("live: start prometheus: %w", err)
	}
	go func() { p.cmd.Wait(); close(p.exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := p.client.Get(p.url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		select {
		case <-p.exited:
			p.close()
			return nil, fmt.Errorf("live: prometheus exited before it was ready")
		case <-ctx.Done():
			p.close()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.close()
			return nil, fmt.Errorf("live: prometheus not ready after 30 s")
		}
	}
}

// setTargets rewrites the file service discovery reads (atomically, by
// rename): one target per ready replica, with the namespace and pod
// labels a Prometheus Operator monitor gives it, so the queries of
// package scalequery select it.
func (p *prometheus) setTargets(hostports map[int]string) error {
	type group struct {
		Targets []string          `json:"targets"`
		Labels  map[string]string `json:"labels"`
	}
	groups := []group{}
	for id, hp := range hostports {
		groups = append(groups, group{Targets: []string{hp}, Labels: map[string]string{"namespace": lab.Namespace, "pod": lab.PodName(id)}})
	}
	b, err := json.Marshal(groups)
	if err != nil {
		return err
	}
	tmp := p.targets + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, p.targets)
}

// Query evaluates the signal's query now through the HTTP API.
func (p *prometheus) Query(sig lab.Signal, _ float64) (float64, bool) {
	resp, err := p.client.Get(p.url + "/api/v1/query?query=" + url.QueryEscape(sig.Query()))
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Status != "success" || len(body.Data.Result) == 0 {
		return 0, false
	}
	s, _ := body.Data.Result[0].Value[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, false
	}
	return v, true
}

func (p *prometheus) close() {
	if p.cmd != nil && p.cmd.Process != nil {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			p.cmd.Process.Kill()
			<-p.exited
		}
	}
	os.RemoveAll(p.dir)
}

func hostport(u string) string {
	return strings.TrimPrefix(u, "http://")
}
