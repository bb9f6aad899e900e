package main

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	stopR, stopW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run("bare,runway,promhttp,otelhttp", time.Minute, stopR, outW)
		outW.Close()
	}()

	lines := bufio.NewScanner(outR)
	for _, want := range []string{"bare", "runway", "promhttp", "otelhttp"} {
		if !lines.Scan() {
			t.Fatalf("no line for %s: %v", want, lines.Err())
		}
		name, url, _ := strings.Cut(lines.Text(), " ")
		if name != want || !strings.HasPrefix(url, "http://127.0.0.1:") {
			t.Fatalf("line %q, want %s and a loopback URL", lines.Text(), want)
		}
		resp, err := http.Get(url)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != "hello, world\n" {
			t.Errorf("%s: %d %q", name, resp.StatusCode, body)
		}
	}
	go func() { _, _ = io.Copy(io.Discard, outR) }()

	stopW.Close() // the caller closing stdin stops the server
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after its input closed")
	}
}
