package instrument

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"

	"github.com/otel-runway/runway/instrument/internal/contract"
	"go.opentelemetry.io/otel/metric"
)

// Instruments of a Listener (NewListener).
const (
	connectionsAcceptedName = "runway.connections.accepted"
	connectionsOpenName     = "runway.connections.open"
	acceptQueueName         = "runway.listener.accept_queue"
	acceptQueueMaxName      = "runway.listener.accept_queue.max"
	connectionUnit          = "{connection}"
)

// Listener is a net.Listener that counts the connections it accepts and
// those still open, and, on Linux for TCP listeners, reports the kernel's
// accept queue: connections the kernel has completed (the TCP handshake is
// done) that the server has not accepted yet, and the queue's maximum (the
// listen backlog, capped by net.core.somaxconn). That is what `ss -lnt`
// prints as Recv-Q and Send-Q for a listening socket, read with getsockopt
// TCP_INFO (tcpi_unacked, tcpi_sacked) when a reader collects, never per
// connection.
//
// Connections dropped because the accept queue was full never reach any
// process counter; a queue that sits at its maximum is the sign of them.
// On systems other than Linux, and for listeners other than
// *net.TCPListener, the accept-queue instruments report nothing.
//
// Several Listeners on one MeterProvider add up (the SDK sums their
// observations), including the accept queue and its maximum.
//
// The listener it wraps is not exposed: every connection goes through
// Accept, so every one is counted.
type Listener struct {
	ln       net.Listener
	accepted atomic.Int64
	open     atomic.Int64

	reg       metric.Registration
	closeOnce sync.Once
	closeErr  error
}

// NewListener wraps ln, with its instruments created from mp. They are
// reported until Close. A nil ln or a nil mp is an error that wraps
// ErrInvalidOption, as WithMeterProvider(nil) is: pass
// otel.GetMeterProvider() for the global provider. Both errors are
// reported together.
func NewListener(ln net.Listener, mp metric.MeterProvider) (*Listener, error) {
	var errs []error
	if ln == nil {
		errs = append(errs, fmt.Errorf("instrument: NewListener: nil listener: %w", ErrInvalidOption))
	}
	if mp == nil {
		errs = append(errs, fmt.Errorf("instrument: NewListener: nil MeterProvider (pass otel.GetMeterProvider() for the global one): %w", ErrInvalidOption))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	meter := contract.Meter(mp)
	l := &Listener{ln: ln}
	accepted, err := meter.Int64ObservableCounter(connectionsAcceptedName,
		metric.WithUnit(connectionUnit),
		metric.WithDescription("Connections accepted by the listener."))
	if err != nil {
		return nil, fmt.Errorf("instrument: creating %s: %w", connectionsAcceptedName, err)
	}
	open, err := meter.Int64ObservableUpDownCounter(connectionsOpenName,
		metric.WithUnit(connectionUnit),
		metric.WithDescription("Connections accepted by the listener and not yet closed."))
	if err != nil {
		return nil, fmt.Errorf("instrument: creating %s: %w", connectionsOpenName, err)
	}
	queue, err := meter.Int64ObservableUpDownCounter(acceptQueueName,
		metric.WithUnit(connectionUnit),
		metric.WithDescription("Connections in the kernel's accept queue of the listening socket, waiting to be accepted (Linux)."))
	if err != nil {
		return nil, fmt.Errorf("instrument: creating %s: %w", acceptQueueName, err)
	}
	queueMax, err := meter.Int64ObservableUpDownCounter(acceptQueueMaxName,
		metric.WithUnit(connectionUnit),
		metric.WithDescription("Maximum length of the kernel's accept queue of the listening socket: the listen backlog (Linux)."))
	if err != nil {
		return nil, fmt.Errorf("instrument: creating %s: %w", acceptQueueMaxName, err)
	}
	l.reg, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(accepted, l.accepted.Load())
		o.ObserveInt64(open, l.open.Load())
		if n, max, ok := acceptQueue(l.ln); ok {
			o.ObserveInt64(queue, n)
			o.ObserveInt64(queueMax, max)
		}
		return nil
	}, accepted, open, queue, queueMax)
	if err != nil {
		return nil, fmt.Errorf("instrument: registering listener callback: %w", err)
	}
	return l, nil
}

// Accept waits for and returns the next connection, counted as accepted
// and open until its Close. A *net.TCPConn is returned wrapped in a type
// that keeps all its methods (ReadFrom for sendfile, CloseWrite,
// SetKeepAlive, ...).
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.ln.Accept()
	if err != nil {
		return nil, err
	}
	l.accepted.Add(1)
	l.open.Add(1)
	if tc, ok := c.(*net.TCPConn); ok {
		return &tcpConn{TCPConn: tc, l: l}, nil
	}
	return &conn{Conn: c, l: l}, nil
}

// Close closes the listener and stops reporting its instruments.
// Connections already accepted are not closed. It returns the errors of
// the listener's Close and of the MeterProvider, joined; later calls
// return the same.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() {
		l.closeErr = l.ln.Close()
		if l.reg != nil {
			l.closeErr = errors.Join(l.closeErr, l.reg.Unregister())
		}
	})
	return l.closeErr
}

// Addr returns the address of the listener it wraps.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// conn counts a connection as closed on its first Close.
type conn struct {
	net.Conn
	l      *Listener
	closed atomic.Bool
}

func (c *conn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.l.open.Add(-1)
	}
	return c.Conn.Close()
}

// tcpConn is conn for a *net.TCPConn, keeping its methods.
type tcpConn struct {
	*net.TCPConn
	l      *Listener
	closed atomic.Bool
}

func (c *tcpConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.l.open.Add(-1)
	}
	return c.TCPConn.Close()
}
