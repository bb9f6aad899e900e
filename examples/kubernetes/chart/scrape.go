package chart

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	config_util "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery/targetgroup"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/scrape"
	"github.com/prometheus/prometheus/storage"
	"sigs.k8s.io/yaml"
)

// Target is one scrape target of a job as Prometheus' scrape loop stores
// it: the labels of its up series (the target labels) and the labels of each
// scraped series, after honor_labels and metric relabelling.
type Target struct {
	Job    string              `json:"job"`
	Up     map[string]string   `json:"up"`
	Series []map[string]string `json:"series"`
}

// setNameValidation sets Prometheus' process-wide name validation scheme once.
var setNameValidation sync.Once

// Scrape applies the scrape configs (the YAML of ScrapeConfigs) to the
// discovered target groups with Prometheus' own code: config.Load reads them
// (the kubernetes_sd_configs, which need an API server, are replaced by the
// groups of their role), and the scrape manager relabels the targets and
// scrapes each once, with every connection sent to exposition, whatever the
// target's address. It returns every target that was scraped, with up and
// the series of the families named in families.
func Scrape(ctx context.Context, scrapeConfigs []byte, groups map[string][]*targetgroup.Group, exposition http.Handler, families ...string) ([]Target, error) {
	var sc struct {
		ScrapeConfigs []map[string]any `json:"scrape_configs"`
	}
	if err := yaml.Unmarshal(scrapeConfigs, &sc); err != nil {
		return nil, err
	}
	tsets := map[string][]*targetgroup.Group{}
	for _, job := range sc.ScrapeConfigs {
		sds, _ := job["kubernetes_sd_configs"].([]any)
		if len(sds) != 1 {
			return nil, fmt.Errorf("job %v: %d kubernetes_sd_configs, want 1", job["job_name"], len(sds))
		}
		role, _ := sds[0].(map[string]any)["role"].(string)
		delete(job, "kubernetes_sd_configs")
		name, _ := job["job_name"].(string)
		tsets[name] = groups[role]
	}
	raw, err := yaml.Marshal(map[string]any{"scrape_configs": sc.ScrapeConfigs})
	if err != nil {
		return nil, err
	}
	// Prometheus' main sets this process-wide default before it loads a
	// configuration; config.Load refuses to run without it. Set once, so
	// that concurrent calls do not race on it.
	setNameValidation.Do(func() {
		model.NameValidationScheme = model.UTF8Validation //nolint:staticcheck // what Prometheus v0.305.0 requires
	})
	cfg, err := config.Load(string(raw), slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, fmt.Errorf("config.Load: %w", err)
	}

	srv := httptest.NewServer(exposition)
	defer srv.Close()
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, srv.Listener.Addr().String())
	}
	app := &recorder{families: map[string]bool{"up": true}, series: map[string]labels.Labels{}}
	for _, f := range families {
		app.families[f] = true
	}
	m, err := scrape.NewManager(&scrape.Options{
		DiscoveryReloadInterval: model.Duration(50 * time.Millisecond),
		HTTPClientOptions:       []config_util.HTTPClientOption{config_util.WithDialContextFunc(dial)},
	}, slog.New(slog.DiscardHandler), nil, app, prometheus.NewRegistry())
	if err != nil {
		return nil, err
	}
	if err := m.ApplyConfig(cfg); err != nil {
		return nil, err
	}
	ch := make(chan map[string][]*targetgroup.Group, 1)
	ch <- tsets
	go m.Run(ch)
	defer m.Stop()

	// Every target is scraped once within its interval (at an offset that
	// spreads the targets over it).
	var want int
	for _, job := range cfg.ScrapeConfigs {
		want += len(targetsOf(job, tsets[job.JobName]))
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		targets := app.targets()
		if len(targets) >= want {
			return targets, nil
		}
		select {
		case <-ctx.Done():
			return targets, fmt.Errorf("%d of %d targets scraped: %w", len(targets), want, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// targetsOf returns the targets that relabelling keeps.
func targetsOf(cfg *config.ScrapeConfig, groups []*targetgroup.Group) []*scrape.Target {
	var out []*scrape.Target
	lb := labels.NewBuilder(labels.EmptyLabels())
	for _, g := range groups {
		ts, _ := scrape.TargetsFromGroup(g, cfg, nil, lb)
		for _, t := range ts {
			if t != nil && !t.Labels(labels.NewBuilder(labels.EmptyLabels())).IsEmpty() {
				out = append(out, t)
			}
		}
	}
	return out
}

// recorder is a storage.Appendable that keeps the labels of the series of
// some families.
type recorder struct {
	families map[string]bool
	mu       sync.Mutex
	series   map[string]labels.Labels // by labels' string
}

func (r *recorder) Appender(context.Context) storage.Appender { return appender{r} }

func (r *recorder) targets() []Target {
	r.mu.Lock()
	defer r.mu.Unlock()
	byKey := map[string]*Target{}
	var up []labels.Labels
	for _, l := range r.series {
		if l.Get(model.MetricNameLabel) == "up" {
			up = append(up, l)
		}
	}
	var out []Target
	for _, u := range up {
		t := Target{Job: u.Get("job"), Up: u.Map()}
		// The series of this target: they share its namespace, pod and
		// endpoint-defining labels. Without honor_labels job and instance
		// are the target's too; with it they are the exposition's.
		for _, l := range r.series {
			if l.Get(model.MetricNameLabel) == "up" || !sameTarget(u, l) {
				continue
			}
			t.Series = append(t.Series, l.Map())
		}
		sort.Slice(t.Series, func(i, j int) bool {
			return labels.FromMap(t.Series[i]).String() < labels.FromMap(t.Series[j]).String()
		})
		byKey[labels.FromMap(t.Up).String()] = &t
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, *byKey[k])
	}
	return out
}

// sameTarget tells whether series was scraped from the target of up: every
// target label but job and instance (which honor_labels may leave to the
// series) is the same.
func sameTarget(up, series labels.Labels) bool {
	same := true
	up.Range(func(l labels.Label) {
		switch l.Name {
		case model.MetricNameLabel, model.JobLabel, model.InstanceLabel:
			return
		}
		if series.Get(l.Name) != l.Value {
			same = false
		}
	})
	return same
}

type appender struct{ r *recorder }

func (a appender) Append(ref storage.SeriesRef, l labels.Labels, _ int64, _ float64) (storage.SeriesRef, error) {
	if a.r.families[l.Get(model.MetricNameLabel)] {
		a.r.mu.Lock()
		a.r.series[l.String()] = l
		a.r.mu.Unlock()
	}
	return ref, nil
}

func (a appender) AppendExemplar(ref storage.SeriesRef, _ labels.Labels, _ exemplar.Exemplar) (storage.SeriesRef, error) {
	return ref, nil
}

func (a appender) AppendHistogram(ref storage.SeriesRef, _ labels.Labels, _ int64, _ *histogram.Histogram, _ *histogram.FloatHistogram) (storage.SeriesRef, error) {
	return ref, nil
}

func (a appender) UpdateMetadata(ref storage.SeriesRef, _ labels.Labels, _ metadata.Metadata) (storage.SeriesRef, error) {
	return ref, nil
}

func (a appender) AppendCTZeroSample(ref storage.SeriesRef, _ labels.Labels, _, _ int64) (storage.SeriesRef, error) {
	return ref, nil
}

func (a appender) AppendHistogramCTZeroSample(ref storage.SeriesRef, _ labels.Labels, _, _ int64, _ *histogram.Histogram, _ *histogram.FloatHistogram) (storage.SeriesRef, error) {
	return ref, nil
}

func (a appender) Commit() error                     { return nil }
func (a appender) Rollback() error                   { return nil }
func (a appender) SetOptions(*storage.AppendOptions) {}

var _ storage.Appendable = (*recorder)(nil)
