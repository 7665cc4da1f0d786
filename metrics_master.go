package workerman

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/workerman-go/workerman/internal/counters"
)

// The master's side of the metrics (see MetricsAddress): an HTTP server
// whose collector gathers the worker processes' figures at each scrape.

// procMetrics is one process's answer to a scrape.
type procMetrics struct {
	worker string
	id     int
	s      *metricsSnapshot
}

// scrape is what one scrape gathered on the master's loop.
type scrape struct {
	procs []procMetrics
	busy  int
	exits map[string]map[int]int // worker name -> wait status -> count
}

func (m *master) startMetrics() error {
	if MetricsAddress == "" {
		return nil
	}
	counters.On = true
	ln, err := net.Listen("tcp", MetricsAddress)
	if err != nil {
		return fmt.Errorf("metrics endpoint (MetricsAddress): %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(&metricsCollector{m: m})
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: nil}))
	m.metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := m.metricsSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.log.Error("metrics endpoint failed", "err", err)
		}
	}()
	return nil
}

func (m *master) stopMetrics() {
	if m.metricsSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		m.metricsSrv.Shutdown(ctx)
		cancel()
	}
}

// gatherMetrics asks every worker process for its figures; off the loop.
func (m *master) gatherMetrics() (*scrape, error) {
	res := make(chan *scrape, 1)
	m.loop.Post(func() {
		m.gather("metrics", time.Second, func(rs map[*child]*ctlMsg) {
			sc := &scrape{exits: make(map[string]map[int]int)}
			for _, c := range m.children {
				r := rs[c]
				if r == nil || r.Metrics == nil {
					sc.busy++
					continue
				}
				sc.procs = append(sc.procs, procMetrics{worker: m.ws[c.w].Name, id: c.id, s: r.Metrics})
			}
			for wi, ex := range m.exits {
				name := m.ws[wi].Name
				if sc.exits[name] == nil {
					sc.exits[name] = make(map[int]int)
				}
				for st, n := range ex {
					sc.exits[name][st] += n
				}
			}
			res <- sc
		})
	})
	select {
	case sc := <-res:
		return sc, nil
	case <-time.After(5 * time.Second):
		return nil, errors.New("the master did not answer in 5s")
	case <-m.done:
		return nil, errors.New("the master is stopping")
	}
}

// metricsCollector is an unchecked collector: its series depend on the
// processes running at each scrape.
type metricsCollector struct{ m *master }

func (*metricsCollector) Describe(chan<- *prometheus.Desc) {}

var (
	wid = []string{"worker", "id"}

	dActive      = prometheus.NewDesc("workerman_connections_active", "Open client connections.", wid, nil)
	dAccepted    = prometheus.NewDesc("workerman_connections_accepted_total", "Client connections accepted.", wid, nil)
	dClosed      = prometheus.NewDesc("workerman_connections_closed_total", "Client connections closed, by reason.", append(wid, "reason"), nil)
	dBytesIn     = prometheus.NewDesc("workerman_bytes_received_total", "Bytes received on client connections.", wid, nil)
	dBytesOut    = prometheus.NewDesc("workerman_bytes_sent_total", "Bytes written to client connections.", wid, nil)
	dMsgIn       = prometheus.NewDesc("workerman_messages_received_total", "Messages delivered to OnMessage.", wid, nil)
	dMsgOut      = prometheus.NewDesc("workerman_messages_sent_total", "Calls of Send and SendRaw on open connections.", wid, nil)
	dBufFull     = prometheus.NewDesc("workerman_send_buffer_full_total", "Sends that filled a connection's send buffer.", wid, nil)
	dSendFail    = prometheus.NewDesc("workerman_send_failures_total", "Sends that failed (buffer full, peer gone, cannot encode).", wid, nil)
	dProtoErr    = prometheus.NewDesc("workerman_protocol_errors_total", "Connections closed on bad input, by kind.", append(wid, "kind"), nil)
	dHTTP        = prometheus.NewDesc("workerman_http_requests_total", "HTTP responses, by status code.", append(wid, "code"), nil)
	dHTTPLatency = prometheus.NewDesc("workerman_http_request_duration_seconds", "Time from a request's delivery to OnMessage to its response.", wid, nil)
	dTLS         = prometheus.NewDesc("workerman_tls_handshakes_total", "TLS handshakes of accepted connections, by result.", append(wid, "result"), nil)
	dTimers      = prometheus.NewDesc("workerman_timers", "Live timers.", wid, nil)
	dLag         = prometheus.NewDesc("workerman_event_loop_lag_seconds", "How long the scrape's request waited in the process's event loop.", wid, nil)
	dPanics      = prometheus.NewDesc("workerman_panics_recovered_total", "Panics in callbacks that were recovered.", wid, nil)
	dChPub       = prometheus.NewDesc("workerman_channel_published_total", "Events and queue items the channel clients accepted for sending.", wid, nil)
	dChDel       = prometheus.NewDesc("workerman_channel_delivered_total", "Events and queue items delivered to channel callbacks.", wid, nil)
	dChErr       = prometheus.NewDesc("workerman_channel_errors_total", "Channel publishes that failed and errors the channel server reported.", wid, nil)
	dExits       = prometheus.NewDesc("workerman_process_exits_total", "Worker process exits the master restarted, by wait status.", []string{"worker", "status"}, nil)
	dBusy        = prometheus.NewDesc("workerman_scrape_busy_processes", "Worker processes that did not answer this scrape within a second.", nil, nil)
)

func (mc *metricsCollector) Collect(ch chan<- prometheus.Metric) {
	sc, err := mc.m.gatherMetrics()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(dBusy, err)
		return
	}
	c := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	g := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, p := range sc.procs {
		s, w, id := p.s, p.worker, strconv.Itoa(p.id)
		g(dActive, float64(s.Active), w, id)
		c(dAccepted, float64(s.Accepted), w, id)
		for i, n := range s.Closed {
			c(dClosed, float64(n), w, id, counters.CloseReasonNames[i])
		}
		c(dBytesIn, float64(s.BytesIn), w, id)
		c(dBytesOut, float64(s.BytesOut), w, id)
		c(dMsgIn, float64(s.MessagesIn), w, id)
		c(dMsgOut, float64(s.MessagesOut), w, id)
		c(dBufFull, float64(s.BufferFull), w, id)
		c(dSendFail, float64(s.SendFail), w, id)
		for i, n := range s.Protocol {
			c(dProtoErr, float64(n), w, id, counters.ProtoKindNames[i])
		}
		for code, n := range s.HTTPCodes {
			c(dHTTP, float64(n), w, id, strconv.Itoa(code))
		}
		var total uint64
		buckets := make(map[float64]uint64, len(counters.LatencyBounds))
		for i, b := range counters.LatencyBounds {
			total += uint64(s.LatencyCount[i])
			buckets[b] = total
		}
		total += uint64(s.LatencyCount[len(counters.LatencyBounds)])
		ch <- prometheus.MustNewConstHistogram(dHTTPLatency, total, s.LatencySum.Seconds(), buckets, w, id)
		c(dTLS, float64(s.TLSOK), w, id, "ok")
		c(dTLS, float64(s.TLSFail), w, id, "failed")
		g(dTimers, float64(s.Timers), w, id)
		g(dLag, s.LagSeconds, w, id)
		c(dPanics, float64(s.Panics), w, id)
		c(dChPub, float64(s.ChannelPublished), w, id)
		c(dChDel, float64(s.ChannelDelivered), w, id)
		c(dChErr, float64(s.ChannelErrors), w, id)
	}
	for w, ex := range sc.exits {
		for st, n := range ex {
			c(dExits, float64(n), w, strconv.Itoa(st))
		}
	}
	g(dBusy, float64(sc.busy))
}
