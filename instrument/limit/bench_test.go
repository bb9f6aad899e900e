package limit

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/otel-runway/runway/instrument/internal/metrictest"
)

// BenchmarkWrap measures an admitted request through the limiter, the
// path every request takes while the limit is not reached.
func BenchmarkWrap(b *testing.B) {
	lim, err := New(1<<20, 0, WithMeterProvider(metrictest.NewManual(b).Provider))
	if err != nil {
		b.Fatal(err)
	}
	defer lim.Close()
	h := lim.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequest("GET", "/", nil)
	var w http.ResponseWriter = httptest.NewRecorder()
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h.ServeHTTP(w, r)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				h.ServeHTTP(w, r)
			}
		})
	})
}
