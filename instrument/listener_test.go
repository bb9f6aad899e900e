package instrument

import (
	"errors"
	"net"
	"net/http"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

func listenerState(t *testing.T, m *manual) (queue, queueMax, accepted, open int64, queueOK bool) {
	t.Helper()
	rm := m.collect(t)
	queue, queueOK = sumValue(rm, acceptQueueName)
	queueMax, _ = sumValue(rm, acceptQueueMaxName)
	accepted, _ = sumValue(rm, connectionsAcceptedName)
	open, _ = sumValue(rm, connectionsOpenName)
	return
}

// TestListenerAcceptQueue connects clients to a listener whose Accept is
// paused: the kernel completes their handshakes and queues them, and the
// accept-queue gauge shows them; once accepted it is back to 0.
func TestListenerAcceptQueue(t *testing.T) {
	m := newManual(t)
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := NewListener(raw, m.provider)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	linux := runtime.GOOS == "linux"

	const clients = 5
	var dialed []net.Conn
	defer func() {
		for _, c := range dialed {
			c.Close()
		}
	}()
	for range clients {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		dialed = append(dialed, c)
	}
	if linux {
		waitFor(t, "the accept queue to hold the clients", func() bool {
			q, _, _, _, _ := listenerState(t, m)
			return q == clients
		})
		_, qmax, accepted, open, ok := listenerState(t, m)
		if !ok || qmax < clients || accepted != 0 || open != 0 {
			t.Fatalf("paused: max=%d accepted=%d open=%d (queue reported %v), want max ≥ %d and 0 accepted", qmax, accepted, open, ok, clients)
		}
	} else if _, _, _, _, ok := listenerState(t, m); ok {
		t.Fatalf("accept queue reported on %s", runtime.GOOS)
	}

	var conns []net.Conn
	for range clients {
		c, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := c.(interface{ CloseWrite() error }); !ok {
			t.Errorf("accepted %T lost the TCP connection's CloseWrite", c)
		}
		conns = append(conns, c)
	}
	q, _, accepted, open, _ := listenerState(t, m)
	if q != 0 || accepted != clients || open != clients {
		t.Fatalf("after Accept: queue=%d accepted=%d open=%d, want 0 %d %d", q, accepted, open, clients, clients)
	}
	for i, c := range conns {
		c.Close()
		if i == 0 {
			c.Close() // a second Close does not count twice
		}
	}
	if _, _, accepted, open, _ := listenerState(t, m); accepted != clients || open != 0 {
		t.Fatalf("after Close: accepted=%d open=%d, want %d 0", accepted, open, clients)
	}

	ln.Close()
	if _, ok := findMetric(m.collect(t), connectionsAcceptedName); ok {
		t.Errorf("instruments still reported after the listener was closed")
	}
}

// TestListenerScrape serves HTTP over the Listener and checks the
// Prometheus names through a real scrape.
func TestListenerScrape(t *testing.T) {
	s := newScraped(t)
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := NewListener(raw, s.provider)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})}
	go srv.Serve(ln)
	defer srv.Close()
	resp, err := http.Get("http://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	fams := s.scrape(t)
	want := map[string]bool{
		"runway_connections_accepted_total": true,
		"runway_connections_open":           true,
		"runway_listener_accept_queue":      runtime.GOOS == "linux",
		"runway_listener_accept_queue_max":  runtime.GOOS == "linux",
	}
	for name, present := range want {
		if _, ok := fams[name]; ok != present {
			t.Errorf("%s present = %v, want %v", name, ok, present)
		}
	}
	if v, _ := promValue(fams, "runway_connections_accepted_total"); v != 1 {
		t.Errorf("accepted = %v, want 1", v)
	}
}

// TestListenerNil: a nil listener and a nil MeterProvider are both
// construction errors naming what is nil, as WithMeterProvider(nil) is,
// not a silent fall-back to the global provider.
func TestListenerNil(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for name, tc := range map[string]struct {
		ln    net.Listener
		mp    metric.MeterProvider
		names []string
	}{
		"nil listener":       {nil, noop.NewMeterProvider(), []string{"nil listener"}},
		"nil provider":       {raw, nil, []string{"nil MeterProvider"}},
		"nil both, reported": {nil, nil, []string{"nil listener", "nil MeterProvider"}},
	} {
		t.Run(name, func(t *testing.T) {
			l, err := NewListener(tc.ln, tc.mp)
			if !errors.Is(err, ErrInvalidOption) || l != nil {
				t.Fatalf("NewListener = %v, %v; want nil, ErrInvalidOption", l, err)
			}
			for _, n := range tc.names {
				if !strings.Contains(err.Error(), n) {
					t.Errorf("error %q does not name %q", err, n)
				}
			}
		})
	}
}

// unregisterFails is a MeterProvider whose callback registrations fail to
// unregister.
type unregisterFails struct{ noop.MeterProvider }

type unregisterFailsMeter struct{ noop.Meter }

type unregisterFailsRegistration struct{ noop.Registration }

var errUnregister = errors.New("unregister failed")

func (unregisterFails) Meter(string, ...metric.MeterOption) metric.Meter {
	return unregisterFailsMeter{}
}

func (unregisterFailsMeter) RegisterCallback(metric.Callback, ...metric.Observable) (metric.Registration, error) {
	return unregisterFailsRegistration{}, nil
}

func (unregisterFailsRegistration) Unregister() error { return errUnregister }

// TestListenerCloseErrors: Close returns the MeterProvider's error with the
// listener's own (it used to drop the first), and the same again later.
func TestListenerCloseErrors(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := NewListener(raw, unregisterFails{})
	if err != nil {
		t.Fatal(err)
	}
	if got := ln.Addr(); got != raw.Addr() {
		t.Errorf("Addr() = %v, want %v", got, raw.Addr())
	}
	err = ln.Close()
	if !errors.Is(err, errUnregister) {
		t.Fatalf("Close() = %v, want the unregister error", err)
	}
	if again := ln.Close(); !errors.Is(again, errUnregister) {
		t.Errorf("second Close() = %v, want the same error", again)
	}

	raw, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	raw.Close() // closing it again fails
	ln, err = NewListener(raw, unregisterFails{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ln.Close(); !errors.Is(err, errUnregister) || !errors.Is(err, net.ErrClosed) {
		t.Errorf("Close() = %v, want both the listener's and the unregister error", err)
	}
}

// TestListenerHidesInner: Listener exposes no field, so the listener it
// wraps cannot be reached (and accepted from) around the counting.
func TestListenerHidesInner(t *testing.T) {
	typ := reflect.TypeFor[Listener]()
	for i := range typ.NumField() {
		if f := typ.Field(i); f.IsExported() || f.Anonymous {
			t.Errorf("Listener has the field %s (embedded %v): the inner listener must be hidden", f.Name, f.Anonymous)
		}
	}
	var _ net.Listener = (*Listener)(nil)
}
