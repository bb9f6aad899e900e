package exporter

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/prometheus/exporter-toolkit/web"
	"go.opentelemetry.io/otel"
	"go.yaml.in/yaml/v2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/time/rate"
)

// envMetricsWebConfig names the web configuration file of the separate
// metrics listener when [WithMetricsWebConfig] is not given.
const envMetricsWebConfig = "RUNWAY_METRICS_WEB_CONFIG"

// maxBcryptPassword is the longest password bcrypt reads: it ignores the
// bytes after the 72nd, so without a limit every suffix of a 72-byte
// password would be accepted.
const maxBcryptPassword = 72

// webConfigSetting is the web configuration file of the separate metrics
// listener and where it came from, for error messages.
type webConfigSetting struct {
	file   string
	source string // "WithMetricsWebConfig" or envMetricsWebConfig
}

// resolveMetricsWebConfig takes the file from [WithMetricsWebConfig], else
// from RUNWAY_METRICS_WEB_CONFIG, and validates it.
func (c *config) resolveMetricsWebConfig() {
	w := &c.metricsWeb
	if w.file == "" {
		w.file, w.source = c.env.get(envMetricsWebConfig), envMetricsWebConfig
	}
	if w.file == "" {
		return
	}
	sentinel := ErrInvalidOption
	if w.source == envMetricsWebConfig {
		sentinel = ErrInvalidEnv
	}
	if c.metricsAddr == "" {
		c.errs = append(c.errs, fmt.Errorf("exporter: %s: applies to the separate metrics listener only: WithMetricsAddr is not set: %w", w.source, sentinel))
		return
	}
	if _, err := loadWebConfig(w.file); err != nil {
		c.errs = append(c.errs, fmt.Errorf("exporter: %s: web config file %q: %w: %w", w.source, w.file, err, sentinel))
	}
}

// yamlValue matches the values that yaml quotes in its errors, which may
// be secrets (a password hash, an inline key).
var yamlValue = regexp.MustCompile("`[^`]*`")

// redacted returns err's message on one line with the values it quotes
// from the file removed.
func redacted(err error) error {
	return errors.New(strings.Join(strings.Fields(yamlValue.ReplaceAllString(err.Error(), "`(redacted)`")), " "))
}

// parseWebConfig reads file in the format of Prometheus' --web.config.file,
// with exporter-toolkit's defaults (TLS 1.2 to 1.3, HTTP/2 on) and relative
// paths taken from the file's directory. Its errors never quote a value
// from the file.
func parseWebConfig(file string) (*web.Config, error) {
	content, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	cfg := &web.Config{
		TLSConfig: web.TLSConfig{
			MinVersion: tls.VersionTLS12,
			MaxVersion: tls.VersionTLS13,
		},
		HTTPConfig: web.HTTPConfig{HTTP2: true},
	}
	if err := yaml.UnmarshalStrict(content, cfg); err != nil {
		return nil, redacted(err)
	}
	cfg.TLSConfig.SetDirectory(filepath.Dir(file))
	for user, hash := range cfg.Users {
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return nil, fmt.Errorf("basic_auth_users: the password hash of user %q is not a bcrypt hash", user)
		}
	}
	return cfg, nil
}

// webSnapshot is one version of the web configuration file, ready to
// serve.
type webSnapshot struct {
	cfg     *web.Config
	tls     *tls.Config // nil: plain HTTP
	limiter *rate.Limiter
	users   map[string][]byte // user → bcrypt hash
	decoy   []byte            // compared against for an unknown user

	// verified holds the SHA-256 digests of credentials that matched, so
	// a scraper pays bcrypt once per file version.
	verified sync.Map
}

// loadWebConfig parses and validates file: the users' hashes, then
// exporter-toolkit's web.Validate (certificates and keys are loaded).
func loadWebConfig(file string) (*webSnapshot, error) {
	cfg, err := parseWebConfig(file)
	if err != nil {
		return nil, err
	}
	if err := web.Validate(file); err != nil {
		return nil, redacted(err)
	}
	s := &webSnapshot{cfg: cfg, users: make(map[string][]byte, len(cfg.Users))}
	if cfg.TLSConfig.IsEnabled() {
		if s.tls, err = web.ConfigToTLSConfig(&cfg.TLSConfig); err != nil {
			return nil, err
		}
	}
	if rl := cfg.RateLimiterConfig; rl.Interval > 0 {
		s.limiter = rate.NewLimiter(rate.Every(rl.Interval), rl.Burst)
	}
	maxCost := 0
	for user, hash := range cfg.Users {
		s.users[user] = []byte(hash)
		cost, _ := bcrypt.Cost([]byte(hash)) // checked by parseWebConfig
		maxCost = max(maxCost, cost)
	}
	if maxCost > 0 {
		s.decoy = decoyHash(maxCost)
	}
	return s, nil
}

// decoys holds one bcrypt hash of a random password per cost, generated
// once per process: generating one costs as much as a comparison.
var decoys sync.Map // cost → []byte

// decoyHash returns a hash at cost that no password matches in practice.
// An unknown user is compared against it, so that rejecting one costs as
// much as rejecting a wrong password.
func decoyHash(cost int) []byte {
	if h, ok := decoys.Load(cost); ok {
		return h.([]byte)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(rand.Text()), cost)
	if err != nil {
		panic(err) // cost comes from a valid hash, the password is short
	}
	actual, _ := decoys.LoadOrStore(cost, h)
	return actual.([]byte)
}

// metricsWeb applies a web configuration file to the separate metrics
// listener: TLS (the certificate is read at every handshake, so a rotated
// one is served at once), basic auth, rate limit and response headers. The
// file is read again when it changes; a version that fails to load is
// reported to otel.Handle and the previous one stays in use.
type metricsWeb struct {
	file string
	h2   bool          // HTTP/2 was on at start, so the server can offer it
	slow chan struct{} // one bcrypt comparison at a time

	mu     sync.Mutex
	cur    *webSnapshot
	stamp  string // modification time and size of the version in cur
	failed string // stamp of the last version that failed, reported once
}

func newMetricsWeb(file string) (*metricsWeb, error) {
	s, err := loadWebConfig(file)
	if err != nil {
		return nil, err
	}
	return &metricsWeb{file: file, h2: s.cfg.HTTPConfig.HTTP2, slow: make(chan struct{}, 1), cur: s, stamp: webFileStamp(file)}, nil
}

// webFileStamp identifies a version of file by its modification time and
// size (a mounted Secret is replaced by a symbolic link swap, which os.Stat
// follows).
func webFileStamp(file string) string {
	fi, err := os.Stat(file)
	if err != nil {
		return "error: " + err.Error()
	}
	return fmt.Sprintf("%d/%d", fi.ModTime().UnixNano(), fi.Size())
}

// current returns the snapshot of the file as it is now on disk.
func (m *metricsWeb) current() *webSnapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	stamp := webFileStamp(m.file)
	if stamp == m.stamp || stamp == m.failed {
		return m.cur
	}
	s, err := loadWebConfig(m.file)
	if err == nil && (s.tls != nil) != (m.cur.tls != nil) {
		err = errors.New("TLS cannot be turned on or off without a restart")
	}
	if err != nil {
		m.failed = stamp
		otel.Handle(fmt.Errorf("exporter: metrics web config file %q: %w; the previous version stays in use", m.file, err))
		return m.cur
	}
	m.cur, m.stamp, m.failed = s, stamp, ""
	return s
}

// tlsConfig is the listener's tls.Config: each handshake takes the current
// version of the file.
func (m *metricsWeb) tlsConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			s := m.current()
			cfg := s.tls.Clone()
			cfg.NextProtos = []string{"http/1.1"}
			if m.h2 && s.cfg.HTTPConfig.HTTP2 {
				cfg.NextProtos = []string{"h2", "http/1.1"}
			}
			return cfg, nil
		},
	}
}

// handler guards next with the rate limit, headers and basic auth of the
// current version of the file.
func (m *metricsWeb) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.current()
		if s.limiter != nil && !s.limiter.Allow() {
			http.Error(w, http.StatusText(http.StatusTooManyRequests), http.StatusTooManyRequests)
			return
		}
		for k, v := range s.cfg.HTTPConfig.Header {
			w.Header().Set(k, v)
		}
		if len(s.users) > 0 {
			user, pass, ok := r.BasicAuth()
			if !ok || !m.check(r.Context(), s, user, pass) {
				w.Header().Set("WWW-Authenticate", `Basic realm="metrics", charset="UTF-8"`)
				http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// check reports whether pass is user's password.
//
// A password longer than bcrypt reads or with a NUL byte (bcrypt would
// match it against a shorter one) is refused without a comparison, so a
// user has exactly one accepted password and the cache of verified
// credentials holds at most one entry per user. An unknown user is
// compared against a hash at the highest cost of the configured ones, so
// it takes as long to refuse as a wrong password (all users at one cost:
// exactly; mixed costs: as long as the slowest). Comparisons run one at a
// time: a flood of wrong passwords costs at most one CPU, and a scraper
// whose credential is cached is not slowed down.
func (m *metricsWeb) check(ctx context.Context, s *webSnapshot, user, pass string) bool {
	if len(pass) > maxBcryptPassword || strings.IndexByte(pass, 0) >= 0 {
		return false
	}
	h := sha256.New()
	h.Write(binary.AppendUvarint(nil, uint64(len(user))))
	h.Write([]byte(user))
	h.Write([]byte(pass))
	var key [sha256.Size]byte
	h.Sum(key[:0])
	if _, ok := s.verified.Load(key); ok {
		return true
	}

	select {
	case m.slow <- struct{}{}:
		defer func() { <-m.slow }()
	case <-ctx.Done():
		return false
	}
	hash, known := s.users[user]
	if !known {
		hash = s.decoy
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(pass)) != nil || !known {
		return false
	}
	s.verified.Store(key, struct{}{})
	return true
}
