package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHealthcheck(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer ok.Close()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer failing.Close()
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	for _, tc := range []struct {
		name, url string
		want      int
	}{
		{"200", ok.URL, 0},
		{"503", failing.URL, 1},
		{"refused", gone.URL, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := healthcheck(tc.url); got != tc.want {
				t.Errorf("healthcheck(%s) = %d, want %d", tc.url, got, tc.want)
			}
		})
	}
}

// The image's HEALTHCHECK gives a path; the address is the server's -addr.
func TestHealthcheckAddress(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "127.0.0.1:8000"},
		{[]string{"-addr=:8000"}, "127.0.0.1:8000"},
		{[]string{"-addr=:8000", "-addr", ":9000"}, "127.0.0.1:9000"},
		{[]string{"--addr=0.0.0.0:7000", "-metrics-addr=:9091"}, "127.0.0.1:7000"},
		{[]string{"--addr", "[::]:7001"}, "127.0.0.1:7001"},
		{[]string{"-addr=10.0.0.5:8080"}, "10.0.0.5:8080"},
		{[]string{"-metrics-addr", ":9091"}, "127.0.0.1:8000"},
		{[]string{"--", "-addr=:1"}, "127.0.0.1:8000"},
	} {
		if got := dialAddr(addrFromArgs(tc.args)); got != tc.want {
			t.Errorf("%q: %s, want %s", tc.args, got, tc.want)
		}
	}
	if u, err := healthcheckURL("http://example.test/healthz"); err != nil || u != "http://example.test/healthz" {
		t.Errorf("a URL is not kept: %q, %v", u, err)
	}
	// No process runs this test binary besides the test itself.
	if u, err := healthcheckURL("/healthz"); err == nil {
		t.Errorf("healthcheckURL(/healthz) = %q without a server process", u)
	}
}
