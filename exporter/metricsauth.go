package exporter

import (
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// basicAuth guards a handler with HTTP basic authentication against bcrypt
// password hashes, the scheme of Prometheus web configuration files.
//
// bcrypt is slow on purpose (tens of milliseconds per check at cost 10), so
// a credential that has been verified once is remembered by its SHA-256
// digest and later scrapes cost one hash. Only correct credentials are
// remembered, so the cache holds at most one entry per user. Checks of
// unknown credentials run one at a time: a flood of wrong passwords costs
// at most one CPU and cannot slow a scraper whose credential is cached.
type basicAuth struct {
	users map[string][]byte // user → bcrypt hash
	next  http.Handler

	verified sync.Map      // [sha256.Size]byte of user and password → struct{}
	slow     chan struct{} // one bcrypt comparison at a time
}

// dummyHash is compared against for an unknown user, so that an unknown
// user takes as long to reject as a wrong password.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("runway"), bcrypt.DefaultCost)
	return h // never fails for this password and cost
})

func newBasicAuth(users map[string][]byte, next http.Handler) *basicAuth {
	return &basicAuth{users: users, next: next, slow: make(chan struct{}, 1)}
}

func (a *basicAuth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if !ok || !a.check(r, user, pass) {
		w.Header().Set("WWW-Authenticate", `Basic realm="metrics", charset="UTF-8"`)
		http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
		return
	}
	a.next.ServeHTTP(w, r)
}

func (a *basicAuth) check(r *http.Request, user, pass string) bool {
	h := sha256.New()
	h.Write([]byte(user))
	h.Write([]byte{0})
	h.Write([]byte(pass))
	var key [sha256.Size]byte
	h.Sum(key[:0])
	if _, ok := a.verified.Load(key); ok {
		return true
	}

	select {
	case a.slow <- struct{}{}:
		defer func() { <-a.slow }()
	case <-r.Context().Done():
		return false
	}
	hash, known := a.users[user]
	if !known {
		hash = dummyHash()
	}
	err := bcrypt.CompareHashAndPassword(hash, []byte(pass))
	if err != nil || !known {
		return false
	}
	a.verified.Store(key, struct{}{})
	return true
}

// certReloader serves the certificate in certFile and keyFile, read again
// when either file changes (as when cert-manager or a mounted Secret
// rotates it), checked at most once per second.
type certReloader struct {
	certFile, keyFile string

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   string // modification times and sizes of the files
	checked time.Time
}

// newCertReloader loads the pair once, so a bad file is a construction
// error.
func newCertReloader(certFile, keyFile string) (*certReloader, error) {
	cr := &certReloader{certFile: certFile, keyFile: keyFile}
	if _, err := cr.load(); err != nil {
		return nil, err
	}
	return cr, nil
}

func (cr *certReloader) fileStamp() (string, error) {
	var stamp string
	for _, f := range []string{cr.certFile, cr.keyFile} {
		fi, err := os.Stat(f)
		if err != nil {
			return "", err
		}
		stamp += fmt.Sprintf("%d/%d;", fi.ModTime().UnixNano(), fi.Size())
	}
	return stamp, nil
}

// load returns the current certificate, reading the files again if they
// changed. A pair that fails to load keeps the previous certificate.
func (cr *certReloader) load() (*tls.Certificate, error) {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	if cr.cert != nil && time.Since(cr.checked) < time.Second {
		return cr.cert, nil
	}
	cr.checked = time.Now()
	stamp, err := cr.fileStamp()
	if err == nil && cr.cert != nil && stamp == cr.stamp {
		return cr.cert, nil
	}
	cert, loadErr := tls.LoadX509KeyPair(cr.certFile, cr.keyFile)
	if loadErr != nil {
		if cr.cert != nil {
			return cr.cert, nil
		}
		return nil, loadErr
	}
	cr.cert, cr.stamp = &cert, stamp
	return cr.cert, nil
}

func (cr *certReloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return cr.load()
}
