package metrics

import (
	"context"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"ironstar/nats/eventstore"
)

// natsCollector reports, at each scrape, the app's NATS connection, its
// JetStream account's API counts and the event stream's size (two
// JetStream requests).
type natsCollector struct {
	nc *nats.Conn
	js jetstream.JetStream

	connected, reconnects, messages, bytes *prometheus.Desc
	jetstreamUp, apiRequests, apiErrors    *prometheus.Desc
	events, eventBytes, eventMax, lastSeq  *prometheus.Desc
}

// WatchNATS adds the NATS connection's state and JetStream's to the
// metrics, read from nc and js at each scrape.
func (m *Metrics) WatchNATS(nc *nats.Conn, js jetstream.JetStream) {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", name), help, nil, nil)
	}
	m.Registry.MustRegister(&natsCollector{
		nc: nc, js: js,
		connected:  desc("nats_connected", "1 while the app's NATS connection is up, else 0."),
		reconnects: desc("nats_reconnects_total", "Times the app's NATS connection reconnected."),
		messages: prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", "nats_messages_total"),
			"Messages the app's NATS connection sent (out) and received (in): what commands and updates cost in NATS traffic.", []string{"direction"}, nil),
		bytes: prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", "nats_bytes_total"),
			"Payload bytes the app's NATS connection sent (out) and received (in).", []string{"direction"}, nil),
		jetstreamUp: desc("jetstream_up", "1 if JetStream answered this scrape's account-info request, else 0."),
		apiRequests: desc("jetstream_api_requests_total", "JetStream API requests of the app's account, as the server counts them (every client of the account)."),
		apiErrors:   desc("jetstream_api_errors_total", "JetStream API requests of the app's account that the server answered with an error."),
		events:      desc("event_store_events", "Events in the event store's stream."),
		eventBytes:  desc("event_store_bytes", "Bytes the event store's stream holds."),
		eventMax:    desc("event_store_max_bytes", "The event store's size cap (EVENTS_MAX_BYTES): at the cap, appends are refused. Absent if unlimited."),
		lastSeq:     desc("event_store_last_sequence", "The sequence of the newest event stored."),
	})
}

func (c *natsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.connected, c.reconnects, c.messages, c.bytes, c.jetstreamUp, c.apiRequests, c.apiErrors, c.events, c.eventBytes, c.eventMax, c.lastSeq} {
		ch <- d
	}
}

func (c *natsCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(c.connected, prometheus.GaugeValue, boolValue(c.nc.IsConnected()))
	stats := c.nc.Stats()
	ch <- prometheus.MustNewConstMetric(c.reconnects, prometheus.CounterValue, float64(stats.Reconnects))
	ch <- prometheus.MustNewConstMetric(c.messages, prometheus.CounterValue, float64(stats.OutMsgs), "out")
	ch <- prometheus.MustNewConstMetric(c.messages, prometheus.CounterValue, float64(stats.InMsgs), "in")
	ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.CounterValue, float64(stats.OutBytes), "out")
	ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.CounterValue, float64(stats.InBytes), "in")

	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	account, err := c.js.AccountInfo(ctx)
	ch <- prometheus.MustNewConstMetric(c.jetstreamUp, prometheus.GaugeValue, boolValue(err == nil))
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.apiRequests, prometheus.CounterValue, float64(account.API.Total))
	ch <- prometheus.MustNewConstMetric(c.apiErrors, prometheus.CounterValue, float64(account.API.Errors))

	stream, err := c.js.Stream(ctx, eventstore.StreamName)
	if err != nil {
		return
	}
	info := stream.CachedInfo()
	ch <- prometheus.MustNewConstMetric(c.events, prometheus.GaugeValue, float64(info.State.Msgs))
	ch <- prometheus.MustNewConstMetric(c.eventBytes, prometheus.GaugeValue, float64(info.State.Bytes))
	ch <- prometheus.MustNewConstMetric(c.lastSeq, prometheus.GaugeValue, float64(info.State.LastSeq))
	if info.Config.MaxBytes > 0 {
		ch <- prometheus.MustNewConstMetric(c.eventMax, prometheus.GaugeValue, float64(info.Config.MaxBytes))
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
