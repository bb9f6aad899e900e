package sweep

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// InFlightMetric is the Prometheus name of the server's in-flight gauge.
const InFlightMetric = "runway_requests_in_flight"

// ErrNoInFlight is returned when a scrape has no InFlightMetric family.
var ErrNoInFlight = errors.New("sweep: no " + InFlightMetric + " in the scrape")

// ScrapeInFlight fetches a Prometheus endpoint and returns the sum of every
// runway_requests_in_flight series in it (one per instance and scope).
func ScrapeInFlight(ctx context.Context, client *http.Client, url string) (float64, error) {
	if client == nil {
		client = http.DefaultClient
	}
	return scrapeInFlight(ctx, client, url)
}

func scrapeInFlight(ctx context.Context, client *http.Client, url string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, fmt.Errorf("sweep: metrics URL %s: %w", url, err)
	}
	req.Header.Set("Accept", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("sweep: scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return 0, fmt.Errorf("sweep: scrape %s: %s", url, resp.Status)
	}
	format := expfmt.ResponseFormat(resp.Header)
	if format.FormatType() == expfmt.TypeUnknown {
		format = expfmt.NewFormat(expfmt.TypeTextPlain)
	}
	dec := expfmt.NewDecoder(resp.Body, format)
	for {
		var mf dto.MetricFamily
		if err := dec.Decode(&mf); err != nil {
			if errors.Is(err, io.EOF) {
				return 0, ErrNoInFlight
			}
			return 0, fmt.Errorf("sweep: parse %s: %w", url, err)
		}
		if mf.GetName() != InFlightMetric {
			continue
		}
		var sum float64
		for _, m := range mf.GetMetric() {
			switch {
			case m.GetGauge() != nil:
				sum += m.GetGauge().GetValue()
			case m.GetUntyped() != nil:
				sum += m.GetUntyped().GetValue()
			}
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		return sum, nil
	}
}
