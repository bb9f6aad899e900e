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
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
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
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
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
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
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

func TestMetricsBasicAuth(t *testing.T) {
	e := newMetricsListener(t,
		WithMetricsBasicAuth("prometheus", bcryptHash(t, "s3cret")),
		WithMetricsBasicAuth("backup", bcryptHash(t, "other")))
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

// TestBasicAuthCache checks that a verified credential is remembered and
// that wrong ones are not.
func TestBasicAuthCache(t *testing.T) {
	a := newBasicAuth(map[string][]byte{"u": []byte(bcryptHash(t, "p"))},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	entries := func() int {
		n := 0
		a.verified.Range(func(any, any) bool { n++; return true })
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
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		req.SetBasicAuth(tc.user, tc.pass)
		a.ServeHTTP(rec, req)
		if rec.Code != tc.wantStatus || entries() != tc.wantEntries {
			t.Errorf("%s:%s: status %d with %d cached, want %d with %d", tc.user, tc.pass, rec.Code, entries(), tc.wantStatus, tc.wantEntries)
		}
	}
}

func TestMetricsTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := certFiles(t, dir, 1)
	e := newMetricsListener(t, WithMetricsTLS(certFile, keyFile))
	url := "https://" + e.MetricsAddr() + MetricsPath

	t.Run("https scrape", func(t *testing.T) {
		status, _, body := fetch(t, tlsClient(pool), url)
		if status != http.StatusOK {
			t.Fatalf("status %d", status)
		}
		mustParse(t, body)
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
	t.Run("rotated certificate is served without a restart", func(t *testing.T) {
		_, _, pool2 := certFiles(t, dir, 2)
		eventually(t, 10*time.Second, "the rotated certificate", func() bool {
			conn, err := tls.Dial("tcp", e.MetricsAddr(), &tls.Config{RootCAs: pool2, MinVersion: tls.VersionTLS12})
			if err != nil {
				return false
			}
			defer conn.Close()
			return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64() == 2
		})
		status, _, body := fetch(t, tlsClient(pool2), url)
		if status != http.StatusOK {
			t.Fatalf("status %d after rotation", status)
		}
		mustParse(t, body)
	})
}

func TestMetricsTLSAndBasicAuth(t *testing.T) {
	certFile, keyFile, pool := certFiles(t, t.TempDir(), 1)
	e := newMetricsListener(t, WithMetricsTLS(certFile, keyFile), WithMetricsBasicAuth("prometheus", bcryptHash(t, "pw")))
	url := "https://" + e.MetricsAddr() + MetricsPath
	if status, _, _ := fetch(t, tlsClient(pool), url); status != http.StatusUnauthorized {
		t.Errorf("no credentials over TLS: status %d, want 401", status)
	}
	status, _, body := fetch(t, tlsClient(pool), url, "prometheus", "pw")
	if status != http.StatusOK {
		t.Fatalf("credentials over TLS: status %d, want 200", status)
	}
	mustParse(t, body)
}

// TestMetricsTLSBadFiles checks that a certificate that cannot be loaded
// is a construction error naming the option, and leaves nothing bound.
func TestMetricsTLSBadFiles(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, _ := certFiles(t, dir, 1)
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, cert, key string }{
		{"missing cert", filepath.Join(dir, "missing.crt"), keyFile},
		{"missing key", certFile, filepath.Join(dir, "missing.key")},
		{"garbage cert", garbage, keyFile},
		{"key and cert swapped", keyFile, certFile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := freeAddr(t)
			e, err := New(context.Background(), noEnv, WithPrometheus(), WithMetricsAddr(addr), WithMetricsTLS(tc.cert, tc.key))
			if err == nil {
				_ = e.Shutdown(context.Background())
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrInvalidOption) || !strings.Contains(err.Error(), "WithMetricsTLS") {
				t.Errorf("error %q does not name WithMetricsTLS", err)
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
