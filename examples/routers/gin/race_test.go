//go:build race

package main

// raceEnabled reports a build with the race detector, under which
// sync.Pool drops a random quarter of the values put back: pooled
// objects (runway's response writer, gin's context) are then allocated
// again at random, so allocation counts are not exact.
const raceEnabled = true
