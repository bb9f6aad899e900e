package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// healthcheck asks url once and returns the exit status of
// `server -healthcheck URL`: 0 when it answers 200, 1 otherwise. The
// container image has no shell and no curl, so its HEALTHCHECK runs the
// server binary itself this way.
func healthcheck(url string) int {
	client := &http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		fmt.Fprintf(os.Stderr, "healthcheck: %v\n", err)
		return 1
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(os.Stderr, "healthcheck: %s: %s\n", url, resp.Status)
		return 1
	}
	return 0
}
