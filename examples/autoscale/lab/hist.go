package lab

import "math"

// Hist is a latency histogram with bins 1 % wide from 100 µs to about
// 1000 s: quantiles are within 1 %.
type Hist struct {
	bins []uint32
	n    int
	sum  float64
	maxV float64
}

const (
	histMin    = 1e-4
	histGrowth = 1.01
	histBins   = 1620
)

var histLog = math.Log(histGrowth)

// Add records v seconds.
func (h *Hist) Add(v float64) {
	if h.bins == nil {
		h.bins = make([]uint32, histBins)
	}
	i := 0
	if v > histMin {
		i = int(math.Log(v/histMin)/histLog) + 1
	}
	if i >= histBins {
		i = histBins - 1
	}
	h.bins[i]++
	h.n++
	h.sum += v
	h.maxV = max(h.maxV, v)
}

// Count is the number of values.
func (h *Hist) Count() int { return h.n }

// Mean is the mean, 0 when empty.
func (h *Hist) Mean() float64 {
	if h.n == 0 {
		return 0
	}
	return h.sum / float64(h.n)
}

// Quantile returns the q quantile (the upper edge of its bin, capped at
// the largest value); 0 when empty.
func (h *Hist) Quantile(q float64) float64 {
	if h.n == 0 {
		return 0
	}
	rank := int(math.Ceil(q * float64(h.n)))
	rank = max(rank, 1)
	c := 0
	for i, b := range h.bins {
		c += int(b)
		if c >= rank {
			return min(histMin*math.Pow(histGrowth, float64(i)), h.maxV)
		}
	}
	return h.maxV
}

// Merge adds o into h.
func (h *Hist) Merge(o *Hist) {
	if o.n == 0 {
		return
	}
	if h.bins == nil {
		h.bins = make([]uint32, histBins)
	}
	for i, b := range o.bins {
		h.bins[i] += b
	}
	h.n += o.n
	h.sum += o.sum
	h.maxV = max(h.maxV, o.maxV)
}
