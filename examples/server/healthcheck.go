package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// defaultAddr is -addr's default.
const defaultAddr = "127.0.0.1:8000"

// healthcheck asks target once and returns the exit status of
// `server -healthcheck TARGET`: 0 when it answers 200, 1 otherwise. The
// container image has no shell and no curl, so its HEALTHCHECK runs the
// server binary itself this way. TARGET is a URL, or a path such as
// /healthz: then it is asked of the server that runs this same binary (in
// a container, PID 1) at the address of that server's own -addr flag, so
// that the image's HEALTHCHECK follows a -addr given to `docker run`.
func healthcheck(target string) int {
	url, err := healthcheckURL(target)
	if err != nil {
		fmt.Fprintf(os.Stderr, "healthcheck: %v\n", err)
		return 1
	}
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

// healthcheckURL returns target when it is a URL; for a path, the URL of
// that path on the running server's -addr.
func healthcheckURL(target string) (string, error) {
	if !strings.HasPrefix(target, "/") {
		return target, nil
	}
	args, err := serverArgs()
	if err != nil {
		return "", err
	}
	return "http://" + dialAddr(addrFromArgs(args)) + target, nil
}

// serverArgs returns the arguments of the server process that runs this
// same binary: PID 1 in a container, else the lowest such process id.
func serverArgs() ([]string, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	if self, err = filepath.EvalSymlinks(self); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("find the server process: %w", err)
	}
	var pids []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid != os.Getpid() {
			pids = append(pids, pid)
		}
	}
	sort.Ints(pids)
	for _, pid := range pids {
		exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		if err != nil || exe != self {
			continue
		}
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			continue
		}
		return strings.Split(strings.TrimSuffix(string(cmdline), "\x00"), "\x00")[1:], nil
	}
	return nil, errors.New("no running server process of " + self)
}

// addrFromArgs returns the value of the last -addr flag in args, as the
// flag package reads it (-addr X, -addr=X, --addr X, --addr=X), or its
// default.
func addrFromArgs(args []string) string {
	addr := defaultAddr
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "addr" {
			continue
		}
		if !hasValue {
			if i+1 >= len(args) {
				break
			}
			i++
			value = args[i]
		}
		addr = value
	}
	return addr
}

// dialAddr turns a listen address into one to connect to: an empty or
// unspecified host is the loopback.
func dialAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
