package lab

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/otel-runway/runway/examples/loadtest/sweep"
	"github.com/otel-runway/runway/examples/scalequery"
)

func TestParseProfile(t *testing.T) {
	for _, tc := range []struct {
		spec  string
		at    []float64 // times
		want  []float64 // rates there
		steps []float64
	}{
		{"step:low=10,high=50,at=30,dur=100", []float64{0, 29, 30, 99}, []float64{10, 10, 50, 50}, []float64{30}},
		{"ramp:from=10,to=50,start=10,end=50,dur=100", []float64{5, 30, 60}, []float64{10, 30, 50}, []float64{10}},
		{"spike:base=10,peak=90,at=20,len=10,dur=100", []float64{10, 25, 31}, []float64{10, 90, 10}, []float64{20}},
		{"diurnal:min=10,max=30,period=100,dur=200", []float64{0, 50, 100}, []float64{10, 30, 10}, []float64{0, 100}},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			p, err := ParseProfile(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			for i, x := range tc.at {
				if got := p.Rate(x); math.Abs(got-tc.want[i]) > 0.01 {
					t.Errorf("Rate(%v) = %v, want %v", x, got, tc.want[i])
				}
			}
			if len(p.Steps) != len(tc.steps) {
				t.Errorf("steps %v, want %v", p.Steps, tc.steps)
			}
		})
	}
	for _, bad := range []string{"square:x=1", "step:low=a", "step:lo=1", "step:low=-1", "step:dur=0,at=0"} {
		if _, err := ParseProfile(bad); err == nil {
			t.Errorf("ParseProfile(%q) accepted", bad)
		}
	}
	p, err := ReadCSVProfile("x", strings.NewReader("t,rps\n0,10\n60,10\n60,40\n120,40\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Rate(30) != 10 || p.Rate(90) != 40 || len(p.Steps) != 1 || p.Steps[0] != 60 {
		t.Errorf("csv profile: %+v", p)
	}
}

// The arrivals of a profile are Poisson at its rate: the count in each
// part is within 4 standard deviations of λ·t.
func TestArrivalsFollowTheProfile(t *testing.T) {
	p, _ := ParseProfile("step:low=50,high=200,at=100,dur=200")
	svc := IOService(4, 0, 0.1)
	a := NewArrivals(&p, &svc, 1, 0)
	var low, high int
	var svcSum float64
	for {
		r, ok := a.Next()
		if !ok {
			break
		}
		if r.At < 100 {
			low++
		} else {
			high++
		}
		svcSum += r.Service
	}
	check := func(name string, got int, want float64) {
		if math.Abs(float64(got)-want) > 4*math.Sqrt(want) {
			t.Errorf("%s: %d arrivals, want %v ± %v", name, got, want, 4*math.Sqrt(want))
		}
	}
	check("low", low, 5000)
	check("high", high, 20000)
	if m := svcSum / float64(low+high); math.Abs(m-0.1) > 0.003 {
		t.Errorf("mean service time %v, want 0.1", m)
	}
}

// A sweep written by the sweep tool is read back into a pod model.
func TestFromSweep(t *testing.T) {
	res := &sweep.Result{Levels: []sweep.Level{
		{Concurrency: 1, P50S: 0.1, P95S: 0.15, MeanS: 0.105, ThroughputRPS: 9.5},
		{Concurrency: 4, P50S: 0.1, P95S: 0.16, MeanS: 0.107, ThroughputRPS: 37},
		{Concurrency: 8, P50S: 0.2, P95S: 0.3, MeanS: 0.21, ThroughputRPS: 38},
	}}
	res.Recommendation.Threshold = 3
	var buf bytes.Buffer
	if err := sweep.WriteJSON(&buf, res); err != nil {
		t.Fatal(err)
	}
	fit, err := FromSweep(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if fit.Threshold != 3 || fit.Service.Slots != 4 || fit.Service.Mean != 0.105 || fit.Service.Dist != "lognormal" {
		t.Errorf("fit = %+v", fit)
	}
	if _, err := FromSweep(strings.NewReader(`{"levels":[]}`)); err == nil {
		t.Error("an empty sweep is accepted")
	}
}

func TestStoreQueries(t *testing.T) {
	s := NewStore(600)
	// Pod 1 has held 3 requests for long; pod 2 appears at 100 s with 3.
	for x := 0.0; x <= 120; x += 1 {
		s.Add(1, x, Scrape{InFlight: 3, InFlightTime: 1000 + 3*x, Requests: 30 * x, CPUSeconds: 0.5 * x})
		if x >= 100 {
			s.Add(2, x, Scrape{InFlight: 3, InFlightTime: 3 * (x - 99), Requests: 30 * (x - 99)})
		}
	}
	q := func(sig Signal) float64 {
		v, ok := s.Query(sig, 120)
		if !ok {
			t.Fatalf("%s: no value", sig.Name)
		}
		return v
	}
	if v := q(Signal{Kind: InFlight}); v != 6 {
		t.Errorf("gauge = %v, want 6", v)
	}
	if v := q(Signal{Kind: IRate, Window: 60}); math.Abs(v-6) > 1e-9 {
		t.Errorf("irate = %v, want 6", v)
	}
	// rate: pod 1 exact (3), pod 2 only 21/60 of its 3.
	if v := q(Signal{Kind: Rate, Window: 60}); math.Abs(v-(3+3*21.0/60)) > 1e-9 {
		t.Errorf("rate = %v, want %v", v, 3+3*21.0/60)
	}
	if cores, _, _, ok := s.CPU(1, 120, 15); !ok || math.Abs(cores-0.5) > 1e-9 {
		t.Errorf("cpu = %v %v, want 0.5", cores, ok)
	}
	if v := q(Signal{Kind: AvgIRate, Window: 60}); math.Abs(v-6) > 1e-9 {
		t.Errorf("avg irate = %v, want 6 (right for the new pod)", v)
	}
	if v := q(Signal{Kind: AvgIRateUp, Window: 60}); math.Abs(v-6) > 1e-9 {
		t.Errorf("avg irate and up = %v, want 6 (right for the new pod)", v)
	}
	// A pod that is gone drops out of the gauge at once, not of rate.
	s.Gone(2, 120)
	if v := q(Signal{Kind: InFlight}); v != 3 {
		t.Errorf("gauge after pod 2 went = %v, want 3", v)
	}
	if v := q(Signal{Kind: Rate, Window: 60}); v <= 3 {
		t.Errorf("rate after pod 2 went = %v: its samples should stay in range", v)
	}
	// The averaged irate keeps it for up to two windows; "and up" drops it.
	if v := q(Signal{Kind: AvgIRate, Window: 60}); math.Abs(v-6) > 1e-9 {
		t.Errorf("avg irate after pod 2 went = %v, want 6: its points stay in range", v)
	}
	if v := q(Signal{Kind: AvgIRateUp, Window: 60}); math.Abs(v-3) > 1e-9 {
		t.Errorf("avg irate and up after pod 2 went = %v, want 3", v)
	}
}

func TestParseSignals(t *testing.T) {
	sigs, err := ParseSignals("inflight,rate,irate:30s,cpu,rps:2m")
	if err != nil {
		t.Fatal(err)
	}
	if len(sigs) != 5 || sigs[1].Window != 60 || sigs[2].Window != 30 || sigs[4].Window != 120 {
		t.Fatalf("signals = %+v", sigs)
	}
	// Every query comes from scalequery, on the lab's namespace and
	// Deployment: never a service or job selector.
	for i, form := range map[int]scalequery.Form{0: scalequery.Gauge, 1: scalequery.Rate, 2: scalequery.IRate, 4: scalequery.RPS} {
		spec := scalequery.Spec{Namespace: Namespace, Deployment: Deployment, Form: form, Window: time.Duration(sigs[i].Window) * time.Second}
		if form == scalequery.Gauge {
			spec.Window = 0
		}
		want, _ := spec.Query()
		if q := sigs[i].Query(); q != want || strings.Contains(q, "service=") {
			t.Errorf("%s: query = %s, want %s", sigs[i].Name, q, want)
		}
	}
	up, _ := ParseSignals("avgirateup:30s")
	if q := up[0].Query(); !strings.Contains(q, `and on(namespace, pod) up{namespace="default",pod=~"runway-demo-[a-z0-9]+-[a-z0-9]{5}"}`) || !strings.Contains(q, "[30s:1s]") {
		t.Errorf("avgirateup: query = %s", q)
	}
	if !regexp.MustCompile(`^runway-demo-[a-z0-9]+-[a-z0-9]{5}$`).MatchString(PodName(7)) {
		t.Errorf("PodName(7) = %s does not match the Deployment's pod pattern", PodName(7))
	}
	for _, bad := range []string{"", "mem", "cpu:1m", "rate:x"} {
		if _, err := ParseSignals(bad); err == nil {
			t.Errorf("ParseSignals(%q) accepted", bad)
		}
	}
}

func sampleReport() *Report {
	p, _ := ParseProfile("step:low=10,high=40,at=10,dur=30")
	sc := Scenario{Profile: p, Service: IOService(4, 8, 0.1), Threshold: 3, MinReplicas: 1, MaxReplicas: 4}.WithDefaults()
	var runs []Run
	for _, name := range []string{"inflight", "rate:1m"} {
		sigs, _ := ParseSignals(name)
		r := NewRecorder(&sc, sigs[0])
		r.Pods(0, 1, 1)
		for i := 0; i < 30; i++ {
			x := float64(i)
			r.Arrived(x)
			r.Done(x, x+0.1)
			r.Synced(x, 1, 1+i/10, 2.5)
			r.Tick(x, 1+i/10, 1+i/10, 3)
			r.Pods(x, 1+i/10, 1+i/10)
		}
		r.Failed(12, 13, true)
		runs = append(runs, r.Finish(30, false))
	}
	return &Report{Mode: "sim", Scenario: sc, Runs: runs}
}

func TestOutputs(t *testing.T) {
	rep := sampleReport()
	var js bytes.Buffer
	if err := WriteJSON(&js, rep); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Runs []struct {
			Summary map[string]any   `json:"summary"`
			Series  []map[string]any `json:"series"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Runs) != 2 || back.Runs[1].Summary["signal"] != "rate:1m" || len(back.Runs[0].Series) == 0 {
		t.Fatalf("JSON runs: %+v", back.Runs)
	}
	if back.Runs[0].Summary["timeouts"].(float64) != 1 || back.Runs[0].Summary["arrived"].(float64) != 30 {
		t.Errorf("summary = %v", back.Runs[0].Summary)
	}
	var cs bytes.Buffer
	if err := WriteCSV(&cs, rep); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&cs).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+len(rep.Runs[0].Series)+len(rep.Runs[1].Series) || strings.Join(rows[0], ",") != strings.Join(CSVHeader, ",") {
		t.Errorf("CSV has %d rows, header %v", len(rows), rows[0])
	}
	var svg bytes.Buffer
	if err := WriteChart(&svg, rep); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(&svg)
	paths := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the chart is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "path" {
			paths++
		}
	}
	if paths < 1+2*len(rep.Runs) {
		t.Errorf("chart has %d paths, want load + replicas and p95 per signal", paths)
	}
	var tb bytes.Buffer
	if err := WriteTable(&tb, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"inflight", "rate:1m", "replica·s"} {
		if !strings.Contains(tb.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, tb.String())
		}
	}
}

// Choose takes the cheapest setting within the failure budget, and the
// ScaledObject carries that setting's own threshold and the scalequery
// query of its form.
func TestRecommendationScaledObject(t *testing.T) {
	st := func(m float64) Stat { return Stat{Mean: m, N: 5} }
	cands := []Candidate{
		{Signal: "inflight", Target: 3, Unit: "in flight", FailedPct: st(0.05), ReplicaSeconds: st(900)},
		{Signal: "rps:1m", Target: 21.71, Unit: "req/s", Utilization: 0.54, FailedPct: st(0.09), ReplicaSeconds: st(800), Behavior: "fast-up"},
		{Signal: "irate:1m", Target: 2.25, Unit: "in flight", FailedPct: st(0.3), ReplicaSeconds: st(500)},
	}
	best, within := Choose(cands, 0.1)
	if !within || best.Signal != "rps:1m" || cands[2].Eligible || !cands[0].Eligible {
		t.Fatalf("Choose = %s (%+v), want the cheapest within the budget", best.Signal, cands)
	}
	why := Explain(best, cands, 0.1, true, &Service{Slots: 4, Mean: 0.1})
	for _, want := range []string{"21.71 req/s", "54% of its 4 slots", "inflight's cheapest within it: 3.00 in flight per pod"} {
		if !strings.Contains(why, want) {
			t.Errorf("Explain lacks %q: %s", want, why)
		}
	}
	if b, within := Choose(append([]Candidate(nil), cands...), 0.01); within || b.Signal != "inflight" {
		t.Errorf("over budget: Choose = %s, %v; want the one that failed least", b.Signal, within)
	}
	sc := sampleReport().Scenario
	y, err := ScaledObject(best, &sc, Behaviors()[1].Behavior, "shop", "api")
	if err != nil {
		t.Fatal(err)
	}
	var obj struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Namespace string `json:"namespace"`
		} `json:"metadata"`
		Spec struct {
			Advanced struct {
				HPA struct {
					Behavior struct {
						ScaleUp struct {
							Policies []struct {
								Type  string `json:"type"`
								Value int    `json:"value"`
							} `json:"policies"`
						} `json:"scaleUp"`
						ScaleDown struct {
							Window int `json:"stabilizationWindowSeconds"`
						} `json:"scaleDown"`
					} `json:"behavior"`
				} `json:"horizontalPodAutoscalerConfig"`
			} `json:"advanced"`
			Triggers []struct {
				Type       string            `json:"type"`
				MetricType string            `json:"metricType"`
				Metadata   map[string]string `json:"metadata"`
			} `json:"triggers"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal([]byte(y), &obj); err != nil {
		t.Fatal(err)
	}
	spec := scalequery.Spec{Namespace: "shop", Deployment: "api", Form: scalequery.RPS, Window: time.Minute}
	want, _ := spec.Query()
	tr := obj.Spec.Triggers
	if obj.Kind != "ScaledObject" || obj.Metadata.Namespace != "shop" || len(tr) != 1 || tr[0].Metadata["query"] != want ||
		tr[0].Metadata["threshold"] != "21.71" || tr[0].MetricType != "AverageValue" || tr[0].Metadata["serverAddress"] != scalequery.DefaultServerAddress {
		t.Errorf("ScaledObject (want query %s, threshold 21.71):\n%s", want, y)
	}
	if !strings.Contains(y, "threshold 21.71 req/s per pod") {
		t.Errorf("the header does not explain the threshold:\n%s", y)
	}
	if p := obj.Spec.Advanced.HPA.Behavior.ScaleUp.Policies; len(p) != 2 || p[1].Value != 10 || obj.Spec.Advanced.HPA.Behavior.ScaleDown.Window != 300 {
		t.Errorf("behavior:\n%s", y)
	}
	// Behavior "none" is what KEDA creates from a ScaledObject without
	// advanced.horizontalPodAutoscalerConfig.behavior: the YAML has none.
	if Behaviors()[0].Name != "none" || !Behaviors()[0].Behavior.IsZero() {
		t.Fatalf("the first behavior is %q, want none", Behaviors()[0].Name)
	}
	y, err = ScaledObject(best, &sc, Behaviors()[0].Behavior, "shop", "api")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(y, "advanced") || strings.Contains(y, "behavior:") {
		t.Errorf("ScaledObject without behavior:\n%s", y)
	}
}

// A burst profile adds n simultaneous arrivals every period to the
// Poisson base, in time order.
func TestBurstArrivals(t *testing.T) {
	p, err := ParseProfile("burst:base=2,n=40,every=10,dur=100")
	if err != nil {
		t.Fatal(err)
	}
	svc := IOService(4, 0, 0.1)
	a := NewArrivals(&p, &svc, 3, 0)
	at := map[float64]int{}
	last, total := -1.0, 0
	for {
		r, ok := a.Next()
		if !ok {
			break
		}
		if r.At < last {
			t.Fatalf("arrival at %v after %v", r.At, last)
		}
		last = r.At
		at[r.At]++
		total++
	}
	for k := 1; k <= 10; k++ {
		if n := at[float64(10*k)]; n != 40 {
			t.Errorf("burst at %d s: %d arrivals, want 40", 10*k, n)
		}
	}
	if base := total - 400; math.Abs(float64(base)-200) > 4*math.Sqrt(200) {
		t.Errorf("%d Poisson arrivals, want about 200", base)
	}
}

// groupPods (kubernetes/kubernetes, pkg/controller/podautoscaler/
// replica_calculator.go) takes a pod without a metric as missing before
// it looks at readiness: a pod that is Running but not yet Ready, which
// metrics-server has no sample of, is missing (counted at max(100 %,
// target) of its request on a scale-down), and only a Pending one is
// unready (left out). The controller passes the HPA that distinction.
func TestCPUPodsAsTheControllerSeesThem(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pending float64
		want    int
	}{
		// 3 ready pods at 1 % of a 6 % target and a starting pod: (1 + 1
		// + 1 + 100) / 4 = 25 % reverses the direction → keep 4.
		{"running, not ready: missing", 0, 4},
		// Pending: left out, ceil(1/6 × 3) = 1.
		{"pending: unready", 25, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := Scenario{Threshold: 3, Service: IOService(4, 16, 0.1), MinReplicas: 1, MaxReplicas: 10, Initial: 1,
				StartupDelay: 30, PendingDelay: tc.pending}.WithDefaults()
			if sc.Targets.CPU != 0.06 {
				t.Fatalf("CPU target %v, want 0.06", sc.Targets.CPU)
			}
			store := NewStore(600)
			for x := 0.0; x <= 120; x += 15 {
				for id := 1; id <= 3; id++ {
					store.Add(id, x, Scrape{CPUSeconds: 0.01 * x})
				}
			}
			c, err := NewController(Signal{Name: "cpu", Kind: CPU}, &sc, store)
			if err != nil {
				t.Fatal(err)
			}
			pods := []PodState{{ID: 1, Ready: true}, {ID: 2, Ready: true}, {ID: 3, Ready: true}, {ID: 4, Created: 100}}
			if got, perPod := c.Sync(120, pods); got != tc.want || math.Abs(perPod-0.01) > 1e-9 {
				t.Errorf("Sync = %d (CPU per pod %v), want %d (0.01)", got, perPod, tc.want)
			}
		})
	}
}
