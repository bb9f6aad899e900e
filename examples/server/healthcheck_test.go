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
