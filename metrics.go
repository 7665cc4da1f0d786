package workerman

import (
	"time"

	"github.com/workerman-go/workerman/internal/counters"
)

// MetricsAddress, when set before RunAll (for example "127.0.0.1:9100"),
// makes the master serve Prometheus metrics at http://MetricsAddress/metrics,
// aggregated over all worker processes. It is off by default.
//
// Design: each worker process counts in plain integers on its own event
// loop (no atomics or locks per message); at each scrape the master asks
// every process for its figures over the channel it already has to each
// (the one status uses), waits at most a second for the answers, and
// exposes them labelled with worker (the worker's Name) and id (the
// process's Worker.ID, which a restarted process keeps, so its counters
// start again from zero as Prometheus counters may). A process that does
// not answer in time is left out of that scrape and counted in
// workerman_scrape_busy_processes. The HTTP latency histogram reads the
// clock twice per request; it and the HTTP status counts are only taken
// when MetricsAddress is set.
//
// The metrics (all prefixed workerman_):
//
//	connections_active{worker,id}                 open client connections
//	connections_accepted_total{worker,id}
//	connections_closed_total{worker,id,reason}    app, peer, error, protocol, panic, stop
//	bytes_received_total, bytes_sent_total{worker,id}
//	messages_received_total, messages_sent_total{worker,id}
//	send_buffer_full_total, send_failures_total{worker,id}
//	protocol_errors_total{worker,id,kind}          package_too_large, input, decode
//	http_requests_total{worker,id,code}            HTTP responses by status code
//	http_request_duration_seconds{worker,id}      histogram: from a request's delivery to OnMessage to its response
//	tls_handshakes_total{worker,id,result}        ok, failed
//	timers{worker,id}                             live timers
//	event_loop_lag_seconds{worker,id}             how long the scrape's request waited in the loop's queue
//	panics_recovered_total{worker,id}             see CrashOnPanic
//	channel_published_total, channel_delivered_total, channel_errors_total{worker,id}
//	process_exits_total{worker,status}            exits of worker processes, by wait status, which the master restarts
//	scrape_busy_processes                         processes that did not answer this scrape
//
// The endpoint has no authentication: bind it to a loopback or private
// address.
var MetricsAddress string

// metricsSnapshot is one worker process's figures, sent to the master.
type metricsSnapshot struct {
	counters.Process
	HTTPCodes        map[int]int64 `json:"http_codes,omitempty"`
	Active           int64         `json:"active"`
	MessagesIn       int64         `json:"messages_in"`
	SendFail         int64         `json:"send_fail"`
	Timers           int           `json:"timers"`
	Panics           int64         `json:"panics"`
	LagSeconds       float64       `json:"lag_seconds"`
	ChannelPublished int64         `json:"channel_published"`
	ChannelDelivered int64         `json:"channel_delivered"`
	ChannelErrors    int64         `json:"channel_errors"`
}

// takeMetrics collects the calling process's figures; on the loop.
// queued is when the master's request arrived.
func takeMetrics(queued time.Time) *metricsSnapshot {
	s := &metricsSnapshot{Process: counters.P}
	s.HTTPByCode = [900]int64{}
	for i, n := range counters.P.HTTPByCode {
		if n != 0 {
			if s.HTTPCodes == nil {
				s.HTTPCodes = make(map[int]int64)
			}
			s.HTTPCodes[i+100] = n
		}
	}
	st := ProcessStats()
	s.Active, s.MessagesIn, s.SendFail, s.Timers, s.Panics = st.Connections, st.TotalRequest, st.SendFail, st.Timers, st.Panics
	workersMu.Lock()
	ws := append([]*Worker(nil), started...)
	workersMu.Unlock()
	for _, w := range ws {
		for _, c := range w.Connections {
			s.BytesIn += c.bytesRead
			s.BytesOut += c.bytesWritten
		}
	}
	if !queued.IsZero() {
		s.LagSeconds = time.Since(queued).Seconds()
	}
	s.ChannelPublished = counters.ChannelPublished.Load()
	s.ChannelDelivered = counters.ChannelDelivered.Load()
	s.ChannelErrors = counters.ChannelErrors.Load()
	return s
}

// enableMetrics turns on the figures that cost a clock reading in a worker
// process whose master serves metrics.
func enableMetrics() { counters.On = MetricsAddress != "" }
