// Package names is the bounded table of names that the HTTP middleware
// (routes) and the gRPC stats handler (methods) keep: lookups are
// lock-free, a new name replaces the map whole under a lock (copy on
// write), and past a bound no new name is added, so that what clients
// send cannot grow memory without limit.
package names

import (
	"sync"
	"sync/atomic"
)

// Table maps names to values of type V. The zero Table is not usable: call
// Init, then Fixed for the entries that exist from the start, before any
// Lookup.
type Table[V any] struct {
	max    int // names that Lookup may add
	added  int // names Lookup added, under mu
	create func(name string) *V
	byName atomic.Pointer[map[string]*V]
	all    atomic.Pointer[[]*V]
	mu     sync.Mutex
}

// Init prepares an empty table in which Lookup adds at most max names,
// each value made by create.
func (t *Table[V]) Init(max int, create func(name string) *V) {
	t.max, t.create = max, create
	t.byName.Store(&map[string]*V{})
	t.all.Store(&[]*V{})
}

// Fixed adds v under name, outside the bound of Init. It is for the
// entries a table starts with (configured names, the catch-all entry)
// and must not run concurrently with Lookup.
func (t *Table[V]) Fixed(name string, v *V) {
	byName := *t.byName.Load()
	if _, dup := byName[name]; dup {
		return
	}
	byName[name] = v
	all := append(*t.all.Load(), v)
	t.all.Store(&all)
}

// Find returns the value of name if the table has it. It does not
// allocate or lock.
func (t *Table[V]) Find(name string) (*V, bool) {
	v, ok := (*t.byName.Load())[name]
	return v, ok
}

// Lookup returns the value of name, adding it while fewer than max names
// have been added. It reports false, with a nil value, for a new name once
// the table is full. Lookups of names already present do not allocate or
// lock.
func (t *Table[V]) Lookup(name string) (*V, bool) {
	if v, ok := t.Find(name); ok {
		return v, true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	byName := *t.byName.Load()
	if v, ok := byName[name]; ok {
		return v, true
	}
	if t.added >= t.max {
		return nil, false
	}
	t.added++
	v := t.create(name)
	all := *t.all.Load()
	nextAll := append(all[:len(all):len(all)], v)
	next := make(map[string]*V, len(byName)+1)
	for k, e := range byName {
		next[k] = e
	}
	next[name] = v
	t.all.Store(&nextAll)
	t.byName.Store(&next)
	return v, true
}

// All returns every value, in the order added. The slice must not be
// modified.
func (t *Table[V]) All() []*V { return *t.all.Load() }
