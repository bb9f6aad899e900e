package exporter

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"golang.org/x/crypto/bcrypt"
)

// certFiles writes a self-signed certificate for 127.0.0.1 with the given
// serial number and its key as PEM files in dir, and returns their paths
// and a pool that trusts the certificate.
func certFiles(t *testing.T, dir string, serial int64) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: "runway metrics test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	// Write to temporary names and rename, as a Secret volume update does,
	// so a reader never sees half a file.
	for file, block := range map[string]*pem.Block{
		certFile: {Type: "CERTIFICATE", Bytes: der},
		keyFile:  {Type: "PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(file+".tmp", pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(file+".tmp", file); err != nil {
			t.Fatal(err)
		}
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// bcryptHash hashes password at the lowest cost, to keep tests fast.
func bcryptHash(t testing.TB, password string) string {
	t.Helper()
	return bcryptHashCost(t, password, bcrypt.MinCost)
}

func bcryptHashCost(t testing.TB, password string, cost int) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func newMetricsListener(t *testing.T, opts ...Option) *Exporter {
	t.Helper()
	e, err := New(context.Background(), append([]Option{noEnv, WithPrometheus(), WithMetricsAddr("127.0.0.1:0")}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = e.Shutdown(context.Background()) })
	return e
}

// fetch GETs url with client and optional basic auth credentials, and
// returns the status, the WWW-Authenticate header and the body.
func fetch(t *testing.T, client *http.Client, url string, auth ...string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(auth) == 2 {
		req.SetBasicAuth(auth[0], auth[1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate"), string(body)
}

func tlsClient(pool *x509.CertPool) *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
}

// mustParse checks that body is a Prometheus exposition with runway's
// target_info in it.
func mustParse(t *testing.T, body string) {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse scrape: %v", err)
	}
	if _, ok := fams["target_info"]; !ok {
		t.Fatalf("scrape has no target_info: %v", familyNames(fams))
	}
}

// writeWebConfig writes a web configuration file (Prometheus'
// --web.config.file format) into dir, atomically as a Secret volume
// update does, and returns its path.
func writeWebConfig(t *testing.T, dir, content string) string {
	t.Helper()
	file := filepath.Join(dir, "web.yml")
	if err := os.WriteFile(file+".tmp", []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(file+".tmp", file); err != nil {
		t.Fatal(err)
	}
	return file
}

// usersConfig is a web configuration with basic auth for the given users
// and bcrypt hashes, after a TLS section (or none).
func usersConfig(tlsSection string, userHash ...string) string {
	var b strings.Builder
	b.WriteString(tlsSection)
	b.WriteString("basic_auth_users:\n")
	for i := 0; i+1 < len(userHash); i += 2 {
		fmt.Fprintf(&b, "  %q: %q\n", userHash[i], userHash[i+1])
	}
	return b.String()
}

// timedGet returns how long a GET of url with the given credentials took,
// and fails the test unless it was answered with want.
func timedGet(t *testing.T, url string, want int, user, pass string) time.Duration {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, pass)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if resp.StatusCode != want {
		t.Fatalf("%s: status %d, want %d", user, resp.StatusCode, want)
	}
	return took
}

// TestMetricsWebConfigUnknownUserTiming checks that refusing an unknown
// user takes about as long as refusing a known user's wrong password, with
// hashes at cost 5 (htpasswd -B's default), so that response times do not
// tell which users exist. The two alternate in the same run, each with a
// new password so no answer comes from a cache; each median must be
// within 3x of the other (a cost-10 decoy against cost-5 hashes is about
// 32x).
func TestMetricsWebConfigUnknownUserTiming(t *testing.T) {
	file := writeWebConfig(t, t.TempDir(), usersConfig("", "prometheus", bcryptHashCost(t, "s3cret", 5)))
	e := newMetricsListener(t, WithMetricsWebConfig(file))
	url := "http://" + e.MetricsAddr() + MetricsPath
	timedGet(t, url, http.StatusOK, "prometheus", "s3cret") // connection and cache warm
	var wrong, unknown []time.Duration
	for i := range 15 {
		pass := fmt.Sprintf("wrong-%d", i)
		if i%2 == 0 {
			wrong = append(wrong, timedGet(t, url, http.StatusUnauthorized, "prometheus", pass))
			unknown = append(unknown, timedGet(t, url, http.StatusUnauthorized, "nobody", pass))
		} else {
			unknown = append(unknown, timedGet(t, url, http.StatusUnauthorized, "nobody", pass))
			wrong = append(wrong, timedGet(t, url, http.StatusUnauthorized, "prometheus", pass))
		}
	}
	slices.Sort(wrong)
	slices.Sort(unknown)
	w, u := wrong[len(wrong)/2], unknown[len(unknown)/2]
	t.Logf("medians: wrong password %v, unknown user %v (ratio %.2f)", w, u, float64(u)/float64(w))
	if u > 3*w || w > 3*u {
		t.Errorf("unknown user %v against wrong password %v: more than 3x apart, the time tells which users exist", u, w)
	}
}

func TestMetricsWebConfigBasicAuth(t *testing.T) {
	long := strings.Repeat("p", 72) // the most bcrypt reads
	file := writeWebConfig(t, t.TempDir(), usersConfig("",
		"prometheus", bcryptHash(t, "s3cret"),
		"backup", bcryptHash(t, "other"),
		"long", bcryptHash(t, long)))
	e := newMetricsListener(t, WithMetricsWebConfig(file))
	url := "http://" + e.MetricsAddr() + MetricsPath
	for _, tc := range []struct {
		name       string
		url        string
		auth       []string
		wantStatus int
	}{
		{"no credentials", url, nil, http.StatusUnauthorized},
		{"wrong password", url, []string{"prometheus", "wrong"}, http.StatusUnauthorized},
		{"other user's password", url, []string{"prometheus", "other"}, http.StatusUnauthorized},
		{"unknown user", url, []string{"nobody", "s3cret"}, http.StatusUnauthorized},
		{"empty password", url, []string{"prometheus", ""}, http.StatusUnauthorized},
		{"right credentials", url, []string{"prometheus", "s3cret"}, http.StatusOK},
		{"right credentials again (cached)", url, []string{"prometheus", "s3cret"}, http.StatusOK},
		{"second user", url, []string{"backup", "other"}, http.StatusOK},
		{"wrong password after a right one", url, []string{"prometheus", "s3cret "}, http.StatusUnauthorized},
		{"72-byte password", url, []string{"long", long}, http.StatusOK},
		// bcrypt ignores what follows the 72nd byte: exporter-toolkit
		// accepts these, runway refuses them.
		{"72-byte password plus a suffix", url, []string{"long", long + "suffix"}, http.StatusUnauthorized},
		{"72-byte password plus one byte", url, []string{"long", long + "p"}, http.StatusUnauthorized},
		// bcrypt ends the key with a NUL byte: "s3cret\x00s3cret" would
		// match "s3cret".
		{"password with a NUL byte", url, []string{"prometheus", "s3cret\x00s3cret"}, http.StatusUnauthorized},
		{"other path needs credentials too", "http://" + e.MetricsAddr() + "/debug/pprof/", nil, http.StatusUnauthorized},
		{"other path with credentials is 404", "http://" + e.MetricsAddr() + "/debug/pprof/", []string{"prometheus", "s3cret"}, http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, challenge, body := fetch(t, http.DefaultClient, tc.url, tc.auth...)
			if status != tc.wantStatus {
				t.Fatalf("status %d, want %d", status, tc.wantStatus)
			}
			switch status {
			case http.StatusUnauthorized:
				if !strings.HasPrefix(challenge, "Basic ") {
					t.Errorf("WWW-Authenticate = %q, want a Basic challenge", challenge)
				}
				if strings.Contains(body, "runway") || strings.Contains(body, "target_info") {
					t.Errorf("a 401 leaked metrics: %q", body)
				}
			case http.StatusOK:
				mustParse(t, body)
			}
		})
	}
}

// TestBasicAuthCache checks that a verified credential is remembered, that
// wrong ones are not, and that the suffixes of a 72-byte password add no
// entry: the cache holds at most one entry per user.
func TestBasicAuthCache(t *testing.T) {
	long := strings.Repeat("p", 72)
	file := writeWebConfig(t, t.TempDir(), usersConfig("", "u", bcryptHash(t, "p"), "long", bcryptHash(t, long)))
	m, err := newMetricsWeb(file)
	if err != nil {
		t.Fatal(err)
	}
	h := m.handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	entries := func() int {
		n := 0
		m.current().verified.Range(func(any, any) bool { n++; return true })
		return n
	}
	for _, tc := range []struct {
		user, pass  string
		wantStatus  int
		wantEntries int
	}{
		{"u", "wrong", 401, 0},
		{"x", "p", 401, 0},
		{"u", "p", 200, 1},
		{"u", "p", 200, 1},
		{"u", "q", 401, 1},
		{"long", long, 200, 2},
		{"long", long + "a", 401, 2},
		{"long", long + "b", 401, 2},
		{"long", long + "pp", 401, 2},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		req.SetBasicAuth(tc.user, tc.pass)
		h.ServeHTTP(rec, req)
		if rec.Code != tc.wantStatus || entries() != tc.wantEntries {
			t.Errorf("%s:%.10s...: status %d with %d cached, want %d with %d", tc.user, tc.pass, rec.Code, entries(), tc.wantStatus, tc.wantEntries)
		}
	}
}

func TestMetricsWebConfigTLS(t *testing.T) {
	dir := t.TempDir()
	_, _, pool := certFiles(t, dir, 1)
	// Relative paths are taken from the file's directory, as in Prometheus.
	file := writeWebConfig(t, dir, "tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n")
	e := newMetricsListener(t, WithMetricsWebConfig(file))
	url := "https://" + e.MetricsAddr() + MetricsPath

	t.Run("https scrape", func(t *testing.T) {
		status, _, body := fetch(t, tlsClient(pool), url)
		if status != http.StatusOK {
			t.Fatalf("status %d", status)
		}
		mustParse(t, body)
	})
	t.Run("http2", func(t *testing.T) {
		client := tlsClient(pool)
		client.Transport.(*http.Transport).ForceAttemptHTTP2 = true
		resp, err := client.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.ProtoMajor != 2 {
			t.Errorf("protocol %s, want HTTP/2 (the web config default)", resp.Proto)
		}
	})
	t.Run("plain http is refused", func(t *testing.T) {
		status, _, body := fetch(t, http.DefaultClient, "http://"+e.MetricsAddr()+MetricsPath)
		if status == http.StatusOK || strings.Contains(body, "target_info") {
			t.Fatalf("plain HTTP got status %d with metrics", status)
		}
	})
	t.Run("untrusted client fails the handshake", func(t *testing.T) {
		_, err := http.Get(url)
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) {
			t.Fatalf("GET with the system roots: %v, want an unknown authority error", err)
		}
	})
	t.Run("rotated certificate is served from the next connection", func(t *testing.T) {
		_, _, pool2 := certFiles(t, dir, 2)
		conn, err := tls.Dial("tcp", e.MetricsAddr(), &tls.Config{RootCAs: pool2, MinVersion: tls.VersionTLS12})
		if err != nil {
			t.Fatalf("handshake after rotation: %v", err)
		}
		serial := conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
		conn.Close()
		if serial != 2 {
			t.Fatalf("served certificate %d after rotation, want 2", serial)
		}
		status, _, body := fetch(t, tlsClient(pool2), url)
		if status != http.StatusOK {
			t.Fatalf("status %d after rotation", status)
		}
		mustParse(t, body)
	})
}

func TestMetricsWebConfigTLSAndBasicAuth(t *testing.T) {
	dir := t.TempDir()
	_, _, pool := certFiles(t, dir, 1)
	file := writeWebConfig(t, dir, usersConfig("tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n", "prometheus", bcryptHash(t, "pw")))
	e := newMetricsListener(t, WithMetricsWebConfig(file))
	url := "https://" + e.MetricsAddr() + MetricsPath
	if status, _, _ := fetch(t, tlsClient(pool), url); status != http.StatusUnauthorized {
		t.Errorf("no credentials over TLS: status %d, want 401", status)
	}
	if status, _, _ := fetch(t, tlsClient(pool), url, "prometheus", "wrong"); status != http.StatusUnauthorized {
		t.Errorf("wrong password over TLS: status %d, want 401", status)
	}
	if status, _, _ := fetch(t, tlsClient(pool), url, "nobody", "pw"); status != http.StatusUnauthorized {
		t.Errorf("unknown user over TLS: status %d, want 401", status)
	}
	status, _, body := fetch(t, tlsClient(pool), url, "prometheus", "pw")
	if status != http.StatusOK {
		t.Fatalf("credentials over TLS: status %d, want 200", status)
	}
	mustParse(t, body)
}

// TestMetricsWebConfigClientCertificates checks mutual TLS from the
// file's client_ca_file and client_auth_type.
func TestMetricsWebConfigClientCertificates(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := certFiles(t, dir, 1)
	// The server's self-signed certificate is also the client CA: it
	// signs itself.
	file := writeWebConfig(t, dir, "tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n  client_ca_file: tls.crt\n  client_auth_type: RequireAndVerifyClientCert\n")
	e := newMetricsListener(t, WithMetricsWebConfig(file))
	url := "https://" + e.MetricsAddr() + MetricsPath
	if _, err := tlsClient(pool).Get(url); err == nil {
		t.Error("a client without a certificate was served")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	client := tlsClient(pool)
	client.Transport.(*http.Transport).TLSClientConfig.Certificates = []tls.Certificate{cert}
	status, _, body := fetch(t, client, url)
	if status != http.StatusOK {
		t.Fatalf("client with a certificate: status %d", status)
	}
	mustParse(t, body)
}

// TestMetricsWebConfigHeadersAndRateLimit checks the http_server_config
// headers and the rate_limit of the file.
func TestMetricsWebConfigHeadersAndRateLimit(t *testing.T) {
	file := writeWebConfig(t, t.TempDir(), "http_server_config:\n  headers:\n    X-Frame-Options: deny\nrate_limit:\n  interval: 1h\n  burst: 2\n")
	e := newMetricsListener(t, WithMetricsWebConfig(file))
	url := "http://" + e.MetricsAddr() + MetricsPath
	var statuses []int
	for range 3 {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
		if got := resp.Header.Get("X-Frame-Options"); resp.StatusCode == http.StatusOK && got != "deny" {
			t.Errorf("X-Frame-Options = %q, want deny", got)
		}
	}
	if !slices.Equal(statuses, []int{200, 200, 429}) {
		t.Errorf("statuses %v with a burst of 2 per hour, want [200 200 429]", statuses)
	}
}

// TestMetricsWebConfigReload checks that a changed file applies from the
// next request, and that a broken version is reported while the previous
// one stays in use.
func TestMetricsWebConfigReload(t *testing.T) {
	dir := t.TempDir()
	file := writeWebConfig(t, dir, usersConfig("", "alice", bcryptHash(t, "a")))
	e := newMetricsListener(t, WithMetricsWebConfig(file))
	url := "http://" + e.MetricsAddr() + MetricsPath
	if status, _, _ := fetch(t, http.DefaultClient, url, "alice", "a"); status != http.StatusOK {
		t.Fatalf("alice: status %d", status)
	}

	writeWebConfig(t, dir, usersConfig("", "bob", bcryptHash(t, "b")))
	if status, _, _ := fetch(t, http.DefaultClient, url, "bob", "b"); status != http.StatusOK {
		t.Errorf("bob after the change: status %d, want 200", status)
	}
	if status, _, _ := fetch(t, http.DefaultClient, url, "alice", "a"); status != http.StatusUnauthorized {
		t.Errorf("alice after her removal: status %d, want 401", status)
	}

	var mu sync.Mutex
	var reported []error
	hookOtelErrors(t, func(err error) {
		mu.Lock()
		defer mu.Unlock()
		reported = append(reported, err)
	})
	writeWebConfig(t, dir, "basic_auth_users:\n  bob: plain-s3cret\n")
	if status, _, _ := fetch(t, http.DefaultClient, url, "bob", "b"); status != http.StatusOK {
		t.Errorf("bob after a broken change: status %d, want 200 (previous version)", status)
	}
	if status, _, _ := fetch(t, http.DefaultClient, url, "bob", "plain-s3cret"); status != http.StatusUnauthorized {
		t.Errorf("the broken version's password: status %d, want 401", status)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reported) != 1 || !strings.Contains(reported[0].Error(), file) || strings.Contains(reported[0].Error(), "s3cret") {
		t.Errorf("reported %v, want one error naming the file, without the secret", reported)
	}
}

// TestMetricsWebConfigFromEnv checks that RUNWAY_METRICS_WEB_CONFIG names
// the file, and that WithMetricsWebConfig wins over it.
func TestMetricsWebConfigFromEnv(t *testing.T) {
	envFile := writeWebConfig(t, t.TempDir(), usersConfig("", "env", bcryptHash(t, "e")))
	optFile := writeWebConfig(t, t.TempDir(), usersConfig("", "opt", bcryptHash(t, "o")))
	env := setEnv(t, map[string]string{envMetricsWebConfig: envFile})

	for _, tc := range []struct {
		name       string
		opts       []Option
		authorized string
	}{
		{"variable", nil, "env"},
		{"empty option keeps the variable", []Option{WithMetricsWebConfig("")}, "env"},
		{"option wins", []Option{WithMetricsWebConfig(optFile)}, "opt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := New(context.Background(), append([]Option{env, WithPrometheus(), WithMetricsAddr("127.0.0.1:0")}, tc.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = e.Shutdown(context.Background()) }()
			url := "http://" + e.MetricsAddr() + MetricsPath
			if status, _, _ := fetch(t, http.DefaultClient, url); status != http.StatusUnauthorized {
				t.Errorf("no credentials: status %d, want 401", status)
			}
			for user, pass := range map[string]string{"env": "e", "opt": "o"} {
				want := http.StatusUnauthorized
				if user == tc.authorized {
					want = http.StatusOK
				}
				if status, _, _ := fetch(t, http.DefaultClient, url, user, pass); status != want {
					t.Errorf("user %s: status %d, want %d", user, status, want)
				}
			}
		})
	}
}

// TestMetricsWebConfigInvalid checks that a file that cannot be used is a
// construction error that names the option or variable and the file,
// quotes no secret from it, and leaves the port unbound.
func TestMetricsWebConfigInvalid(t *testing.T) {
	dir := t.TempDir()
	certFiles(t, dir, 1)
	write := func(name, content string) string {
		file := filepath.Join(dir, name)
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return file
	}
	const secret = "s3cretvalue"
	for _, tc := range []struct{ name, file string }{
		{"missing file", filepath.Join(dir, "missing.yml")},
		{"not YAML", write("garbage.yml", "{{{ "+secret)},
		{"unknown field", write("unknown.yml", "basic_auth_user:\n  u: "+secret+"\n")},
		{"plain password instead of a hash", write("plain.yml", "basic_auth_users:\n  u: "+secret+"\n")},
		{"hash where a map belongs", write("type.yml", "basic_auth_users: "+secret+"\n")},
		{"secret in a number field", write("number.yml", "rate_limit:\n  burst: "+secret+"\n")},
		{"inline key is not a key", write("key.yml", "tls_server_config:\n  cert_file: tls.crt\n  key: "+secret+"\n")},
		{"missing certificate", write("nocert.yml", "tls_server_config:\n  cert_file: missing.crt\n  key_file: tls.key\n")},
		{"key without certificate", write("keyonly.yml", "tls_server_config:\n  key_file: tls.key\n")},
		{"client CA without client auth", write("ca.yml", "tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n  client_ca_file: tls.crt\n")},
		{"header that cannot be set", write("header.yml", "http_server_config:\n  headers:\n    Authorization: "+secret+"\n")},
	} {
		for _, from := range []struct {
			name     string
			opts     []Option
			sentinel error
		}{
			{"WithMetricsWebConfig", []Option{noEnv, WithMetricsWebConfig(tc.file)}, ErrInvalidOption},
			{envMetricsWebConfig, []Option{noEnv}, ErrInvalidEnv},
		} {
			t.Run(tc.name+"/"+from.name, func(t *testing.T) {
				if from.sentinel == ErrInvalidEnv {
					t.Setenv(envMetricsWebConfig, tc.file)
				}
				addr := freeAddr(t)
				e, err := New(context.Background(), append(from.opts, WithPrometheus(), WithMetricsAddr(addr))...)
				if err == nil {
					_ = e.Shutdown(context.Background())
					t.Fatal("no error")
				}
				msg := err.Error()
				if !errors.Is(err, from.sentinel) || !strings.Contains(msg, from.name) || !strings.Contains(msg, tc.file) {
					t.Errorf("error %q: want %v naming %s and the file", msg, from.sentinel, from.name)
				}
				if strings.Contains(msg, secret) || strings.Contains(msg, secret[:7]) {
					t.Errorf("error %q quotes the secret", msg)
				}
				ln, err := net.Listen("tcp", addr)
				if err != nil {
					t.Errorf("the metrics address stayed bound after the error: %v", err)
					return
				}
				ln.Close()
			})
		}
	}
}

// TestMetricsWebConfigWithoutMetricsAddr checks that a web configuration
// without the separate listener is refused: it would not secure /metrics
// on the application.
func TestMetricsWebConfigWithoutMetricsAddr(t *testing.T) {
	file := writeWebConfig(t, t.TempDir(), usersConfig("", "u", bcryptHash(t, "p")))
	for _, tc := range []struct {
		name     string
		opts     []Option
		sentinel error
	}{
		{"WithMetricsWebConfig", []Option{noEnv, WithMetricsWebConfig(file)}, ErrInvalidOption},
		{envMetricsWebConfig, []Option{noEnv}, ErrInvalidEnv},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.sentinel == ErrInvalidEnv {
				t.Setenv(envMetricsWebConfig, file)
			}
			_, err := New(context.Background(), tc.opts...)
			if !errors.Is(err, tc.sentinel) || !strings.Contains(err.Error(), tc.name) || !strings.Contains(err.Error(), "WithMetricsAddr") {
				t.Errorf("error %v: want %v naming %s and WithMetricsAddr", err, tc.sentinel, tc.name)
			}
		})
	}
}
