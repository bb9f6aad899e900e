package exporter

import (
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	metricpb "go.opentelemetry.io/proto/otlp/metrics/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
	"google.golang.org/protobuf/proto"

	"github.com/otel-runway/runway/instrument"
)

// httpReceiver is an OTLP/HTTP metrics receiver (binary protobuf, plain or
// gzip bodies) that keeps what it receives, with the path and headers of
// each request.
type httpReceiver struct {
	*receiver
	srv *http.Server

	hmu     sync.Mutex
	paths   []string
	headers []http.Header
}

// startHTTPReceiver serves OTLP/HTTP on addr ("127.0.0.1:0" for any free
// port) on every path, over TLS when tlsConfig is not nil, until the test
// ends.
func startHTTPReceiver(t testing.TB, addr string, tlsConfig *tls.Config) *httpReceiver {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("http receiver: %v", err)
	}
	r := &httpReceiver{receiver: &receiver{addr: ln.Addr().String()}}
	r.srv = &http.Server{Handler: r, TLSConfig: tlsConfig, ErrorLog: log.New(io.Discard, "", 0)}
	go func() {
		if tlsConfig != nil {
			_ = r.srv.ServeTLS(ln, "", "")
			return
		}
		_ = r.srv.Serve(ln)
	}()
	t.Cleanup(func() { _ = r.srv.Close() })
	return r
}

func (r *httpReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var body io.Reader = req.Body
	if req.Header.Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = gz
	}
	data, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var msg colmetricpb.ExportMetricsServiceRequest
	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/x-protobuf" || proto.Unmarshal(data, &msg) != nil {
		http.Error(w, "not an OTLP/HTTP protobuf export", http.StatusBadRequest)
		return
	}
	r.hmu.Lock()
	r.paths = append(r.paths, req.URL.Path)
	r.headers = append(r.headers, req.Header.Clone())
	r.hmu.Unlock()
	_, _ = r.Export(req.Context(), &msg)
	out, _ := proto.Marshal(&colmetricpb.ExportMetricsServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

// last returns the path and headers of the last request received.
func (r *httpReceiver) last() (string, http.Header) {
	r.hmu.Lock()
	defer r.hmu.Unlock()
	if len(r.paths) == 0 {
		return "", nil
	}
	return r.paths[len(r.paths)-1], r.headers[len(r.headers)-1]
}

// flushOTLP shuts e down within 5 s, which flushes what was recorded.
func flushOTLP(t *testing.T, e *Exporter) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// TestOTLPHTTPEndpoints pushes over OTLP/HTTP to a real HTTP receiver with
// the endpoint given each way the specification allows: the generic
// variable gets /v1/metrics appended to its path, the signal-specific one
// is used as is and wins, and WithOTLP adds /v1/metrics only to a URL
// without a path.
func TestOTLPHTTPEndpoints(t *testing.T) {
	r := startHTTPReceiver(t, "127.0.0.1:0", nil)
	base := "http://" + r.addr
	for _, tc := range []struct {
		name     string
		env      map[string]string
		opts     []Option
		wantPath string
	}{
		{"generic endpoint without a path", map[string]string{envOTLPEndpoint: base}, nil, "/v1/metrics"},
		{"generic endpoint with a base path", map[string]string{envOTLPEndpoint: base + "/api/v1/otlp"}, nil, "/api/v1/otlp/v1/metrics"},
		{"generic endpoint with a trailing slash", map[string]string{envOTLPEndpoint: base + "/otlp/"}, nil, "/otlp/v1/metrics"},
		{"signal endpoint as is", map[string]string{envOTLPMetricsEndpoint: base + "/ingest/metrics"}, nil, "/ingest/metrics"},
		{"signal endpoint without a path is the root", map[string]string{envOTLPMetricsEndpoint: base}, nil, "/"},
		{"signal endpoint wins over generic", map[string]string{envOTLPMetricsEndpoint: base + "/m", envOTLPEndpoint: "http://192.0.2.1:1"}, nil, "/m"},
		{"protocol of the signal wins", map[string]string{envOTLPMetricsProtocol: "http/protobuf", envOTLPProtocol: "grpc", envOTLPEndpoint: base}, []Option{WithOTLP("")}, "/v1/metrics"},
		{"WithOTLP without a path", nil, []Option{WithOTLP(base)}, "/v1/metrics"},
		{"WithOTLP with a path", nil, []Option{WithOTLP(base + "/custom")}, "/custom"},
		{"WithOTLP wins over the variables", map[string]string{envOTLPEndpoint: "http://192.0.2.1:1"}, []Option{WithOTLP(base)}, "/v1/metrics"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{envMetricsExporter: "otlp", envOTLPProtocol: "http/protobuf"}
			for k, v := range tc.env {
				env[k] = v
			}
			e, err := New(context.Background(), append([]Option{setEnv(t, env), WithExportInterval(time.Hour)}, tc.opts...)...)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			name := "endpoint." + strings.ReplaceAll(tc.name, " ", "_")
			counter(t, e, name).Add(context.Background(), 5)
			flushOTLP(t, e)
			if v, ok := r.lastSum(name); !ok || v != 5 {
				t.Errorf("%s at the receiver = %v (found %v), want 5", name, v, ok)
			}
			if path, _ := r.last(); path != tc.wantPath {
				t.Errorf("posted to %q, want %q", path, tc.wantPath)
			}
		})
	}
}

// TestOTLPHeadersAndCompression checks that the headers of
// OTEL_EXPORTER_OTLP_HEADERS (percent-decoded) and gzip compression reach
// the receiver, over HTTP and over gRPC, and that the signal-specific
// variables and the options win.
func TestOTLPHeadersAndCompression(t *testing.T) {
	t.Run("http", func(t *testing.T) {
		r := startHTTPReceiver(t, "127.0.0.1:0", nil)
		for _, tc := range []struct {
			name     string
			env      map[string]string
			opts     []Option
			want     map[string]string
			wantGzip bool
		}{
			{"generic", map[string]string{envOTLPHeaders: "api-key=s%20cret, x-tenant=blue", envOTLPCompression: "gzip"}, nil,
				map[string]string{"Api-Key": "s cret", "X-Tenant": "blue"}, true},
			{"signal wins", map[string]string{envOTLPHeaders: "api-key=generic", envOTLPMetricsHeaders: "api-key=metrics", envOTLPCompression: "gzip", envOTLPMetricsCompression: "none"}, nil,
				map[string]string{"Api-Key": "metrics"}, false},
			{"WithOTLPHeaders wins", map[string]string{envOTLPHeaders: "api-key=env", envOTLPMetricsHeaders: "api-key=env2", envOTLPCompression: "gzip"},
				[]Option{WithOTLPHeaders(map[string]string{"api-key": "code"})},
				map[string]string{"Api-Key": "code"}, true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				env := map[string]string{envOTLPProtocol: "http/protobuf"}
				for k, v := range tc.env {
					env[k] = v
				}
				e, err := New(context.Background(), append([]Option{setEnv(t, env), WithOTLP("http://" + r.addr), WithExportInterval(time.Hour)}, tc.opts...)...)
				if err != nil {
					t.Fatal(err)
				}
				counter(t, e, "headers.requests").Add(context.Background(), 1)
				flushOTLP(t, e)
				_, h := r.last()
				for k, v := range tc.want {
					if got := h.Get(k); got != v {
						t.Errorf("header %s = %q, want %q", k, got, v)
					}
				}
				if gz := h.Get("Content-Encoding") == "gzip"; gz != tc.wantGzip {
					t.Errorf("gzip = %v, want %v", gz, tc.wantGzip)
				}
			})
		}
	})

	t.Run("grpc", func(t *testing.T) {
		var (
			mu       sync.Mutex
			md       metadata.MD
			encoding string
		)
		r := startReceiver(t, "127.0.0.1:0", grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
			mu.Lock()
			md, _ = metadata.FromIncomingContext(ctx)
			mu.Unlock()
			return handler(ctx, req)
		}), grpc.StatsHandler(inHeaderHook(func(h *stats.InHeader) {
			mu.Lock()
			encoding = h.Compression
			mu.Unlock()
		})))
		e, err := New(context.Background(), setEnv(t, map[string]string{
			envOTLPMetricsHeaders: "api-key=s%3Dcret", envOTLPCompression: "gzip",
		}), WithOTLP(r.addr), WithExportInterval(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		counter(t, e, "grpc.headers").Add(context.Background(), 1)
		flushOTLP(t, e)
		mu.Lock()
		defer mu.Unlock()
		if got := md.Get("api-key"); len(got) != 1 || got[0] != "s=cret" {
			t.Errorf("metadata api-key = %q, want [s=cret]", got)
		}
		if encoding != "gzip" {
			t.Errorf("grpc-encoding = %q, want gzip", encoding)
		}
	})
}

// inHeaderHook is a gRPC stats handler that calls fn with each request's
// incoming header.
type inHeaderHook func(*stats.InHeader)

func (f inHeaderHook) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context   { return ctx }
func (f inHeaderHook) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (f inHeaderHook) HandleConn(context.Context, stats.ConnStats)                       {}
func (f inHeaderHook) HandleRPC(_ context.Context, s stats.RPCStats) {
	if h, ok := s.(*stats.InHeader); ok {
		f(h)
	}
}

// TestOTLPHTTPTLS pushes over HTTPS to a receiver that requires a client
// certificate: the CA and the client's certificate and key come from the
// OTEL_EXPORTER_OTLP_METRICS_* certificate variables. Without the client
// certificate the export fails.
func TestOTLPHTTPTLS(t *testing.T) {
	server := newCert(t, "server", x509.ExtKeyUsageServerAuth)
	client := newCert(t, "client", x509.ExtKeyUsageClientAuth)
	clientCAs := x509.NewCertPool()
	clientCAs.AddCert(client.leaf)
	r := startHTTPReceiver(t, "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{server.pair},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    clientCAs,
		MinVersion:   tls.VersionTLS12,
	})
	env := map[string]string{
		envOTLPProtocol:                 "http/protobuf",
		envOTLPMetricsCertificate:       server.certFile,
		envOTLPMetricsClientCertificate: client.certFile,
		envOTLPMetricsClientKey:         client.keyFile,
		envOTLPEndpoint:                 "https://" + r.addr,
	}
	e, err := New(context.Background(), setEnv(t, env), WithOTLP(""), WithExportInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	counter(t, e, "mtls.requests").Add(context.Background(), 4)
	flushOTLP(t, e)
	if v, ok := r.lastSum("mtls.requests"); !ok || v != 4 {
		t.Errorf("mtls.requests at the receiver = %v (found %v), want 4", v, ok)
	}

	t.Run("without the client certificate", func(t *testing.T) {
		hookOtelErrors(t, func(error) {})
		e, err := New(context.Background(), setEnv(t, map[string]string{envOTLPMetricsClientCertificate: "", envOTLPMetricsClientKey: ""}),
			WithOTLP(""), WithExportInterval(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		counter(t, e, "nocert.requests").Add(context.Background(), 1)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := e.Shutdown(ctx); err == nil {
			t.Error("an export without the client certificate succeeded")
		}
		if _, ok := r.lastSum("nocert.requests"); ok {
			t.Error("data without a client certificate reached the receiver")
		}
	})
}

// TestOTLPTemporality runs runway's middleware on an exporter with each
// temporality preference and checks, export by export, what a receiver
// gets: under delta the request counter (an observable counter) and the
// histogram carry what happened since the last export, under lowmemory only
// the histogram (synchronous) does, and in every case the in-flight
// up-down counter stays the absolute number of requests held.
func TestOTLPTemporality(t *testing.T) {
	for _, tc := range []struct {
		pref          string
		opt           bool // as an option rather than the variable
		delta         bool // the histogram
		deltaRequests bool // the observable request counter
	}{
		{"cumulative", false, false, false},
		{"delta", false, true, true},
		{"DELTA", true, true, true},
		{"lowmemory", false, true, false},
	} {
		t.Run(tc.pref, func(t *testing.T) {
			r := startHTTPReceiver(t, "127.0.0.1:0", nil)
			opts := []Option{WithOTLP("http://" + r.addr), WithOTLPProtocol("http/protobuf"), WithExportInterval(time.Hour)}
			if tc.opt {
				opts = append(opts, noEnv, WithTemporalityPreference(Temporality(tc.pref)))
			} else {
				opts = append(opts, setEnv(t, map[string]string{envTemporalityPreference: tc.pref}))
			}
			e, err := New(context.Background(), opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer e.Shutdown(context.Background())
			mw, err := instrument.NewMiddleware(instrument.WithMeterProvider(e.MeterProvider()))
			if err != nil {
				t.Fatal(err)
			}
			release := make(chan struct{})
			var started sync.WaitGroup
			srv := newTestServer(t, mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				if req.URL.Path == "/hold" {
					started.Done()
					<-release
				}
			})))
			var held sync.WaitGroup
			started.Add(2)
			for range 2 {
				held.Go(func() { getOK(t, srv+"/hold") })
			}
			started.Wait()

			exportAndCheck := func(step string, fast, wantInFlight, sinceLast, cumulative int64) {
				t.Helper()
				for range fast {
					getOK(t, srv+"/fast")
				}
				if err := e.MeterProvider().ForceFlush(context.Background()); err != nil {
					t.Fatal(err)
				}
				inFlight, temp := lastPoint(r.receiver, "runway.requests.in_flight")
				if inFlight != wantInFlight || temp != metricpb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE {
					t.Errorf("%s: in flight = %d (%v), want %d cumulative", step, inFlight, temp, wantInFlight)
				}
				want := func(name string, delta bool) {
					t.Helper()
					got, temp := lastPoint(r.receiver, name)
					wantTemp, wantN := metricpb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE, cumulative
					if delta {
						wantTemp, wantN = metricpb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA, sinceLast
					}
					if got != wantN || temp != wantTemp {
						t.Errorf("%s: %s = %d (%v), want %d %v", step, name, got, temp, wantN, wantTemp)
					}
				}
				want("runway.requests", tc.deltaRequests)
				want("runway.request.duration", tc.delta)
			}
			exportAndCheck("3 fast requests, 2 held", 3, 2, 3, 3)
			exportAndCheck("1 more", 1, 2, 1, 4)
			close(release)
			held.Wait()
			exportAndCheck("held released", 0, 0, 2, 6)
		})
	}
}

// lastPoint returns the total of the last export's points of metric name
// (sum value, or histogram count) and their temporality.
func lastPoint(r *receiver, name string) (int64, metricpb.AggregationTemporality) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.requests) == 0 {
		return -1, 0
	}
	var total int64
	var temp metricpb.AggregationTemporality
	for _, rm := range r.requests[len(r.requests)-1].GetResourceMetrics() {
		for _, sm := range rm.GetScopeMetrics() {
			for _, m := range sm.GetMetrics() {
				if m.GetName() != name {
					continue
				}
				if s := m.GetSum(); s != nil {
					temp = s.GetAggregationTemporality()
					for _, dp := range s.GetDataPoints() {
						total += dp.GetAsInt()
					}
				}
				if h := m.GetHistogram(); h != nil {
					temp = h.GetAggregationTemporality()
					for _, dp := range h.GetDataPoints() {
						total += int64(dp.GetCount())
					}
				}
			}
		}
	}
	return total, temp
}

// newTestServer serves h on a free loopback port until the test ends and
// returns its base URL.
func newTestServer(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

func getOK(t *testing.T, url string) {
	resp, err := http.Get(url)
	if err != nil {
		t.Error(err)
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s: %s", url, resp.Status)
	}
}

// testCert is a self-signed certificate for 127.0.0.1 with its PEM files.
type testCert struct {
	pair              tls.Certificate
	leaf              *x509.Certificate
	certFile, keyFile string
}

func newCert(t *testing.T, name string, usage x509.ExtKeyUsage) testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(2),
		Subject:               pkix.Name{CommonName: "runway test " + name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{usage},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c := testCert{
		pair:     tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
		leaf:     leaf,
		certFile: filepath.Join(dir, name+".pem"),
		keyFile:  filepath.Join(dir, name+"-key.pem"),
	}
	err = errors.Join(
		os.WriteFile(c.certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600),
		os.WriteFile(c.keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCollectorOutageHTTP is TestCollectorOutage over OTLP/HTTP: a
// collector that accepts connections and never answers costs the
// application nothing, and the totals arrive once a receiver answers.
func TestCollectorOutageHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("a load test of several seconds")
	}
	collectorOutage(t, protocolHTTP)
}

// TestOTLPGRPCMutualTLS pushes over gRPC with TLS to a receiver that
// requires a client certificate; the CA, certificate and key come from the
// generic OTEL_EXPORTER_OTLP_* certificate variables, read by New.
func TestOTLPGRPCMutualTLS(t *testing.T) {
	server := newCert(t, "server", x509.ExtKeyUsageServerAuth)
	client := newCert(t, "client", x509.ExtKeyUsageClientAuth)
	clientCAs := x509.NewCertPool()
	clientCAs.AddCert(client.leaf)
	r := startReceiver(t, "127.0.0.1:0", grpc.Creds(credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{server.pair},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    clientCAs,
		MinVersion:   tls.VersionTLS12,
	})))
	env := map[string]string{
		envOTLPCertificate:       server.certFile,
		envOTLPClientCertificate: client.certFile,
		envOTLPClientKey:         client.keyFile,
	}
	e, err := New(context.Background(), setEnv(t, env), WithOTLP("https://"+r.addr), WithExportInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	counter(t, e, "grpc.mtls.requests").Add(context.Background(), 6)
	flushOTLP(t, e)
	if v, ok := r.lastSum("grpc.mtls.requests"); !ok || v != 6 {
		t.Errorf("grpc.mtls.requests at the receiver = %v (found %v), want 6", v, ok)
	}
}

// TestOTLPTimeoutVariable: OTEL_EXPORTER_OTLP_METRICS_TIMEOUT (else
// OTEL_EXPORTER_OTLP_TIMEOUT) bounds one export to a collector that never
// answers, retries included, below the export timeout (here 2 s).
func TestOTLPTimeoutVariable(t *testing.T) {
	hookOtelErrors(t, func(error) {})
	for _, protocol := range []string{protocolGRPC, protocolHTTP} {
		for _, name := range []string{envOTLPTimeout, envOTLPMetricsTimeout} {
			t.Run(protocol+" "+name, func(t *testing.T) {
				hole := newBlackhole(t)
				e, err := New(context.Background(), setEnv(t, map[string]string{name: "300"}),
					WithOTLP(hole.ln.Addr().String()), WithOTLPProtocol(Protocol(protocol)), WithExportInterval(2*time.Second))
				if err != nil {
					t.Fatal(err)
				}
				defer e.Shutdown(context.Background())
				counter(t, e, "timeout.requests").Add(context.Background(), 1)
				start := time.Now()
				err = e.MeterProvider().ForceFlush(context.Background())
				took := time.Since(start)
				t.Logf("export to a collector that never answers failed after %v: %v", took.Round(time.Millisecond), err)
				if err == nil {
					t.Fatal("an export to a collector that never answers succeeded")
				}
				if took < 250*time.Millisecond || took > time.Second {
					t.Errorf("the export took %v, want about the 300 ms of %s (the export timeout is 2 s)", took, name)
				}
			})
		}
	}
}

// TestOTLPGRPCHeadersAccepted sends over gRPC the edge cases that the
// header check accepts: an upper-case key, a value with spaces and
// punctuation, and a binary value under a "-bin" key. gRPC must send them
// all (it refuses a whole export for one bad header).
func TestOTLPGRPCHeadersAccepted(t *testing.T) {
	var (
		mu sync.Mutex
		md metadata.MD
	)
	r := startReceiver(t, "127.0.0.1:0", grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		mu.Lock()
		md, _ = metadata.FromIncomingContext(ctx)
		mu.Unlock()
		return handler(ctx, req)
	}))
	e, err := New(context.Background(),
		setEnv(t, map[string]string{envOTLPHeaders: "X-Tenant=blue%20team, trace-bin=%00%FF%0A, k.v_w=a~!%22%7B"}),
		WithOTLP(r.addr), WithExportInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	counter(t, e, "grpc.edge.headers").Add(context.Background(), 1)
	flushOTLP(t, e)
	mu.Lock()
	defer mu.Unlock()
	for k, want := range map[string]string{"x-tenant": "blue team", "trace-bin": "\x00\xff", "k.v_w": `a~!"{`} {
		if got := md.Get(k); len(got) != 1 || got[0] != want {
			t.Errorf("metadata %s = %q, want %q", k, got, want)
		}
	}
}
