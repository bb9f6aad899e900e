package main

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary run as the demo server itself, so the tests
// below drive the real command: flags, signals and all.
func TestMain(m *testing.M) {
	if os.Getenv("RUNWAY_DEMO_AS_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

var servingLine = regexp.MustCompile(`serving (http://\S+) .*metrics at (\S+)`)

// startServer runs the demo command with args and returns its app and
// metrics URLs, read from its log.
func startServer(t *testing.T, args ...string) (*exec.Cmd, string, string, chan error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "RUNWAY_DEMO_AS_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := servingLine.FindStringSubmatch(sc.Text()); m != nil {
				found <- m
			}
		}
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	select {
	case m := <-found:
		return cmd, m[1], m[2], exited
	case err := <-exited:
		t.Fatalf("server exited before serving: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("server did not start")
	}
	return nil, "", "", nil
}

func TestGracefulShutdownDrainsRequests(t *testing.T) {
	cmd, url, metricsURL, exited := startServer(t, "-addr", "127.0.0.1:0", "-metrics-addr", "127.0.0.1:0")
	if metricsURL == url+"/metrics" {
		t.Errorf("-metrics-addr did not move /metrics: %s", metricsURL)
	}
	resp, err := http.Get(metricsURL)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("metrics: %v %v", resp, err)
	}
	resp.Body.Close()

	type result struct {
		status int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.Get(url + "/work?ms=700&mode=io")
		if err != nil {
			done <- result{0, err}
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		done <- result{resp.StatusCode, nil}
	}()
	// Wait until the request is in flight, then ask the server to stop.
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get(metricsURL)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if regexp.MustCompile(`(?m)^runway_requests_in_flight(\{[^}]*\})? 1$`).Match(b) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("request never in flight")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.err != nil || r.status != 200 {
		t.Errorf("request in flight at SIGTERM: status %d, err %v; want it to finish with 200", r.status, r.err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("server exit: %v, want status 0", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("server did not exit after SIGTERM")
	}
}

func TestBadFlagsFail(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-addr", "127.0.0.1:0", "-metrics-addr", "not an address")
	cmd.Env = append(os.Environ(), "RUNWAY_DEMO_AS_MAIN=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("server started with a bad -metrics-addr: %s", out)
	}
	if !regexp.MustCompile(`WithMetricsAddr`).Match(out) {
		t.Errorf("error does not name the bad setting: %s", out)
	}
}
