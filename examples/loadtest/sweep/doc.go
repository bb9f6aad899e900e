// Package sweep finds the concurrency at which an HTTP server saturates and
// turns it into an autoscaling threshold.
//
// A sweep drives a target with closed-loop, keep-alive workers at increasing
// concurrency levels. Each level runs a warm-up that is discarded and then a
// measured step; latencies go into an HdrHistogram, so p50, p95 and p99 are
// exact to three significant digits whatever the number of requests.
// Requests that fail, time out or answer with a status of 400 or more are
// counted per level, never dropped.
//
// Saturation is the knee of the throughput curve: the last level before the
// first level whose throughput grows less than 10 % while its p95 rises. The
// p95-doubling point (the first level whose p95 crosses twice the level-1
// p95) is reported beside it. Three guards keep a single noisy level
// from moving the answer:
//
//   - each level's throughput is measured over several windows; a window
//     that ran at less than half the median rate (a stall of the machine) is
//     left out;
//   - a knee only counts when no later level beats the plateau by 10 %;
//   - the knee level and the level after it are measured a second time and
//     the better run of each is kept (noise only ever slows a server down).
//
// The recommended threshold is floor(0.75 × saturation concurrency), at least
// 1. When nothing saturates, the threshold is a lower bound derived from the
// highest level, and the Little's-law formula is given with measured numbers.
//
// While a level runs, the target's Prometheus endpoint can be scraped to
// compare the server's runway_requests_in_flight with the client's
// concurrency.
package sweep
