package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"ironstar/sse"
)

// Streams counts the SSE streams open and their frames, by the feature
// whose route opened them. It is the streams' sse.Meter.
type Streams struct {
	open    *prometheus.GaugeVec
	sent    *prometheus.CounterVec
	dropped *prometheus.CounterVec
}

func newStreams(reg prometheus.Registerer, features []string) *Streams {
	s := &Streams{
		open: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace,
			Name:      "sse_streams_open",
			Help:      "SSE streams open, by feature.",
		}, []string{"feature"}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace,
			Name:      "sse_frames_sent_total",
			Help:      "SSE frames written to clients, by feature (heartbeats not counted).",
		}, []string{"feature"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace,
			Name:      "sse_frames_dropped_total",
			Help:      "SSE frames replaced by a newer one before a slow client's stream wrote them, by feature.",
		}, []string{"feature"}),
	}
	reg.MustRegister(s.open, s.sent, s.dropped)
	for _, f := range features {
		s.open.WithLabelValues(f)
		s.sent.WithLabelValues(f)
		s.dropped.WithLabelValues(f)
	}
	return s
}

// Opened counts a stream r opens (sse.Meter); the series it counts into
// are looked up once, here, not per frame.
func (s *Streams) Opened(r *http.Request) sse.StreamMeter {
	feature := featureOf(r.Context())
	m := &streamMeter{open: s.open.WithLabelValues(feature), sent: s.sent.WithLabelValues(feature), dropped: s.dropped.WithLabelValues(feature)}
	m.open.Inc()
	return m
}

type streamMeter struct {
	open          prometheus.Gauge
	sent, dropped prometheus.Counter
}

func (m *streamMeter) Sent()    { m.sent.Inc() }
func (m *streamMeter) Dropped() { m.dropped.Inc() }
func (m *streamMeter) Closed()  { m.open.Dec() }
