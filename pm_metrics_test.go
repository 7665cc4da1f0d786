//go:build linux

package workerman_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/workerman-go/workerman/internal/wmtest"
)

// The master serves metrics aggregated over the worker processes: after
// pings on the text worker (2 processes), HTTP requests on the HTTP worker
// and a recovered panic, the endpoint shows them per worker and process,
// and a real Prometheus server scraping it answers a PromQL query with
// their sum.
func testMetrics(t *testing.T, bins pmBins) {
	mport := pmFreePort(t)
	hport := pmFreePort(t)
	maddr := fmt.Sprintf("127.0.0.1:%d", mport)
	s := newSvc(t, bins.v1, "SVC_COUNT=2", "SVC_METRICS_ADDR="+maddr, fmt.Sprintf("SVC_HTTP_ADDR=127.0.0.1:%d", hport))
	s.startDaemon()
	const pings = 10
	for i := 0; i < pings; i++ {
		s.mustAsk("ping")
	}
	for i := 0; i < 3; i++ {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", hport))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if r, err := s.ask("panic"); err == nil && r != "" {
		t.Fatalf("panic answered %q", r)
	}

	text := scrapeMetrics(t, "http://"+maddr+"/metrics")
	if got := sumMetric(t, text, `workerman_messages_received_total{id="\d+",worker="svc"}`); got < pings+1 {
		t.Errorf("messages received by svc: %v, want at least %d\n%s", got, pings+1, text)
	}
	if got := sumMetric(t, text, `workerman_http_requests_total{code="200",id="\d+",worker="http"}`); got != 3 {
		t.Errorf("HTTP 200 responses: %v, want 3", got)
	}
	if got := sumMetric(t, text, `workerman_http_request_duration_seconds_count{id="\d+",worker="http"}`); got != 3 {
		t.Errorf("HTTP latency observations: %v, want 3", got)
	}
	if got := sumMetric(t, text, `workerman_panics_recovered_total{id="\d+",worker="svc"}`); got != 1 {
		t.Errorf("recovered panics: %v, want 1", got)
	}
	if got := sumMetric(t, text, `workerman_connections_closed_total{id="\d+",reason="panic",worker="svc"}`); got != 1 {
		t.Errorf("connections closed by a panic: %v, want 1", got)
	}
	if n := len(regexp.MustCompile(`(?m)^workerman_connections_active\{id="\d+",worker="svc"\}`).FindAllString(text, -1)); n != 2 {
		t.Errorf("svc processes in the metrics: %d, want 2", n)
	}

	// A real Prometheus server scrapes the endpoint; PromQL sums the
	// processes.
	prom := wmtest.RequireTool(t, "prometheus")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: workerman\n    static_configs:\n      - targets: ['%s']\n", maddr)), 0o644)
	pport := pmFreePort(t)
	cmd := exec.Command(prom, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", pport))
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	query := func(q string) (float64, bool) {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/api/v1/query?query=%s", pport, url.QueryEscape(q)))
		if err != nil {
			return 0, false
		}
		defer resp.Body.Close()
		var r struct {
			Data struct {
				Result []struct {
					Value []any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		if json.NewDecoder(resp.Body).Decode(&r) != nil || len(r.Data.Result) != 1 || len(r.Data.Result[0].Value) != 2 {
			return 0, false
		}
		v, err := strconv.ParseFloat(fmt.Sprint(r.Data.Result[0].Value[1]), 64)
		return v, err == nil
	}
	var v float64
	pmWaitFor(t, "Prometheus to scrape the endpoint", 60*time.Second, func() bool {
		var ok bool
		v, ok = query(`sum(workerman_messages_received_total{worker="svc"})`)
		return ok
	})
	if v < pings+1 {
		t.Errorf("PromQL sum of svc's messages received = %v, want at least %d", v, pings+1)
	}
	if up, ok := query(`up{job="workerman"}`); !ok || up != 1 {
		t.Errorf("up = %v (%v), want 1", up, ok)
	}
}

func scrapeMetrics(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d\n%s", u, resp.StatusCode, b)
	}
	return string(b)
}

// sumMetric adds the values of the series whose name and labels match the
// pattern.
func sumMetric(t *testing.T, text, pattern string) float64 {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + pattern + ` (\S+)$`)
	sum := 0.0
	for _, m := range re.FindAllStringSubmatch(text, -1) {
		v, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			t.Fatalf("value %q: %v", m[1], err)
		}
		sum += v
	}
	return sum
}
