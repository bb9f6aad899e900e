package timeweighted

import "testing"

// TestSaturation starts more requests than MaxInFlight on one counter: the
// ones past the bound are refused, and the total stays the exact integral
// of the requests counted.
func TestSaturation(t *testing.T) {
	var c Counter
	const extra = 1000
	counted := 0
	for range MaxInFlight + extra {
		if c.Start(10) {
			counted++
		}
	}
	if counted != MaxInFlight {
		t.Fatalf("counted %d starts, want MaxInFlight = %d", counted, MaxInFlight)
	}
	// At tick 110, every counted request has been in flight 100 ticks.
	if got, want := Value(c.Load(), 110), uint64(MaxInFlight)*100; got != want {
		t.Fatalf("value at saturation = %d, want %d", got, want)
	}
	for range counted {
		c.End(20)
	}
	if got, want := Value(c.Load(), 1000), uint64(MaxInFlight)*10; got != want {
		t.Fatalf("value after every end = %d, want %d", got, want)
	}
	if !c.Start(30) {
		t.Fatal("a start after the others ended was refused")
	}
}

// TestExact checks the integral of a few overlapping requests.
func TestExact(t *testing.T) {
	var c Counter
	c.Start(0)
	c.Start(5)
	c.End(10) // the first: 10 ticks
	if got := c.Advance(Value(c.Load(), 20)); got != 10+15 {
		t.Fatalf("total = %d, want 25", got)
	}
	c.End(25) // the second: 20 ticks
	if got := c.Advance(Value(c.Load(), 40)); got != 30 {
		t.Fatalf("total = %d, want 30", got)
	}
}

// TestInflightTimeArithmetic drives the packed counter with chosen ticks,
// including acc wrapping around 2^44 and a reading that falls back.
func TestInflightTimeArithmetic(t *testing.T) {
	type event struct {
		start bool
		tick  uint64
	}
	tests := []struct {
		name   string
		events []event
		now    uint64
		want   uint64 // value at now
	}{
		{"idle", nil, 1000, 0},
		{"one in flight", []event{{true, 100}}, 350, 250},
		{"one completed", []event{{true, 100}, {false, 160}}, 1000, 60},
		{"two in flight", []event{{true, 100}, {true, 200}}, 300, 300},
		{"mixed", []event{{true, 10}, {true, 20}, {false, 50}, {true, 60}}, 100, 40 + 80 + 40},
		{"start ticks past 2^44", []event{{true, 1<<44 + 5}, {false, 1<<44 + 105}, {true, 1<<44 + 200}}, 1<<44 + 300, 200},
		{"start ticks past 2^50", []event{{true, 1<<50 + 7}}, 1<<50 + 10, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c Counter
			for _, e := range tc.events {
				if e.start {
					c.Start(e.tick)
				} else {
					c.End(e.tick)
				}
			}
			if got := Value(c.Load(), tc.now); got != tc.want {
				t.Errorf("value = %d, want %d", got, tc.want)
			}
		})
	}

	t.Run("advance holds a fall back and follows a wrap", func(t *testing.T) {
		var c Counter
		steps := []struct{ reading, want uint64 }{
			{100, 100},
			{90, 100}, // a reading that raced with a request ending
			{95, 100},
			{130, 130},
			{1 << 43, 1 << 43},
			{accModMask - 10, accModMask - 10},
			{5, accModMask + 6},             // acc wrapped: 16 ticks more
			{(1 << 44) - 2, accModMask + 6}, // small fall back across the wrap: hold
			{40, accModMask + 41},           // forward again
			{(40 + 1<<40) & accModMask, accModMask + 41 + 1<<40}, // a big step forward
		}
		for i, s := range steps {
			if got := c.Advance(s.reading); got != s.want {
				t.Fatalf("step %d: advance(%d) = %d, want %d", i, s.reading, got, s.want)
			}
		}
	})
}
