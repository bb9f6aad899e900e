package names

import (
	"fmt"
	"sync"
	"testing"
)

type entry struct{ name string }

func newEntry(name string) *entry { return &entry{name: name} }

func TestTableBound(t *testing.T) {
	var tb Table[entry]
	tb.Init(2, newEntry)
	other := &entry{"_OTHER"}
	tb.Fixed("_OTHER", other)
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"a", true}, {"b", true}, {"a", true}, {"c", false}, {"_OTHER", true},
	} {
		v, ok := tb.Lookup(tc.name)
		if ok != tc.ok || (ok && v.name != tc.name) {
			t.Errorf("Lookup(%q) = %v, %v; want ok=%v", tc.name, v, ok, tc.ok)
		}
	}
	if n := len(tb.All()); n != 3 {
		t.Errorf("%d entries, want 3 (_OTHER, a, b)", n)
	}
	if _, ok := tb.Find("c"); ok {
		t.Error("Find found a name past the bound")
	}
}

func TestTableConcurrentLookups(t *testing.T) {
	var tb Table[entry]
	tb.Init(50, newEntry)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				v, ok := tb.Lookup(fmt.Sprint((i + g) % 80))
				if ok && v == nil {
					t.Error("nil value")
				}
			}
		}()
	}
	wg.Wait()
	if n := len(tb.All()); n != 50 {
		t.Errorf("%d entries, want the bound, 50", n)
	}
	for _, v := range tb.All() {
		if got, ok := tb.Find(v.name); !ok || got != v {
			t.Errorf("Find(%q) = %v, %v", v.name, got, ok)
		}
	}
}

func TestLookupOfKnownNameDoesNotAllocate(t *testing.T) {
	var tb Table[entry]
	tb.Init(10, newEntry)
	tb.Lookup("/items/{id}")
	if n := testing.AllocsPerRun(100, func() { tb.Lookup("/items/{id}") }); n != 0 {
		t.Errorf("%v allocations, want 0", n)
	}
}
