package crontab

import (
	"strings"
	"testing"
	"time"

	"github.com/workerman-go/workerman/internal/wmtest"
)

// newOnLoop creates a crontab on the loop; fn runs on the loop. into, if
// not nil, is set on the loop too, for fn to read.
func newOnLoop(t *testing.T, rule string, fn func(), into ...**Crontab) *Crontab {
	t.Helper()
	var c *Crontab
	var err error
	wmtest.Do(func() {
		c, err = New(rule, fn)
		for _, p := range into {
			*p = c
		}
	})
	if err != nil {
		t.Fatalf("New(%q): %v", rule, err)
	}
	t.Cleanup(func() { wmtest.Do(c.Destroy) })
	return c
}

// run is one run of a crontab's function: when it ran and the time it was
// due.
type run struct{ at, due time.Time }

// TestEverySecond: a six-field rule runs at each second, never before the
// time it is due, once per second, on the loop.
func TestEverySecond(t *testing.T) {
	runs := make(chan run, 16)
	var c *Crontab
	newOnLoop(t, "* * * * * *", func() { runs <- run{time.Now(), c.next} }, &c)
	var prev run
	for i := 0; i < 3; i++ {
		var r run
		select {
		case r = <-runs:
		case <-time.After(10 * time.Second):
			t.Fatalf("run %d did not come", i+1)
		}
		if r.due.Nanosecond() != 0 || r.at.Before(r.due) {
			t.Errorf("run %d at %v, due %v: want a whole second, not before it", i+1, r.at, r.due)
		}
		if i > 0 && !r.due.After(prev.due) {
			t.Errorf("run %d due %v after run due %v: the same second twice", i+1, r.due, prev.due)
		}
		prev = r
	}
}

// TestStepSeconds: */2 runs on even seconds only.
func TestStepSeconds(t *testing.T) {
	runs := make(chan run, 16)
	var c *Crontab
	newOnLoop(t, "*/2 * * * * *", func() { runs <- run{time.Now(), c.next} }, &c)
	for i := 0; i < 2; i++ {
		select {
		case r := <-runs:
			if r.due.Second()%2 != 0 {
				t.Errorf("*/2 ran for second %d", r.due.Second())
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no run")
		}
	}
}

// TestDestroy: a destroyed crontab does not run again, whether destroyed
// from outside or from its own function.
func TestDestroy(t *testing.T) {
	var outside, inside int
	c1 := newOnLoop(t, "* * * * * *", func() { outside++ })
	var c2 *Crontab
	newOnLoop(t, "* * * * * *", func() {
		inside++
		if inside == 2 {
			c2.Destroy()
		}
	}, &c2)
	wmtest.Do(c1.Destroy)
	var n1 int
	wmtest.Do(func() { n1 = outside })
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n2 int
		wmtest.Do(func() { n2 = inside })
		if n2 >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second crontab did not run twice")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Two more seconds: neither runs.
	time.Sleep(2200 * time.Millisecond)
	wmtest.Do(func() {
		if outside != n1 {
			t.Errorf("destroyed crontab ran %d more times", outside-n1)
		}
		if inside != 2 {
			t.Errorf("crontab destroyed in its function ran %d times, want 2", inside)
		}
		if !c1.Next().IsZero() || !c2.Next().IsZero() {
			t.Error("Next of a destroyed crontab is not zero")
		}
	})
	for _, c := range All() {
		if c == c1 || c == c2 {
			t.Errorf("All still lists destroyed crontab %d", c.ID())
		}
	}
}

func TestAllAndRemove(t *testing.T) {
	a := newOnLoop(t, "0 0 * * * *", func() {})
	b := newOnLoop(t, "@daily", func() {})
	b.Name = "daily"
	ids := map[int]bool{}
	for _, c := range All() {
		ids[c.ID()] = true
	}
	if !ids[a.ID()] || !ids[b.ID()] || a.ID() == b.ID() {
		t.Fatalf("All: %v, want %d and %d", ids, a.ID(), b.ID())
	}
	if b.Rule() != "@daily" {
		t.Errorf("Rule() = %q", b.Rule())
	}
	var removed, again bool
	wmtest.Do(func() { removed, again = Remove(a.ID()), Remove(a.ID()) })
	if !removed || again {
		t.Errorf("Remove: %v then %v, want true then false", removed, again)
	}
}

// TestNext computes schedules from a fixed clock: five fields mean second
// 0, six put the second first, and CRON_TZ picks a zone.
func TestNext(t *testing.T) {
	loc := time.FixedZone("X", 8*3600)
	t.Cleanup(func() { now = time.Now })
	// A Saturday.
	base := time.Date(2026, 3, 7, 7, 49, 59, 500e6, loc)
	now = func() time.Time { return base }
	for rule, want := range map[string]time.Time{
		"50 7 * * *":              time.Date(2026, 3, 7, 7, 50, 0, 0, loc),
		"*/5 * * * * *":           time.Date(2026, 3, 7, 7, 50, 0, 0, loc),
		"30 * * * * *":            time.Date(2026, 3, 7, 7, 50, 30, 0, loc),
		"59 49 7 * * *":           time.Date(2026, 3, 8, 7, 49, 59, 0, loc),
		"0 0 9 * * 1-5":           time.Date(2026, 3, 9, 9, 0, 0, 0, loc),
		"0 0 9 * * MON":           time.Date(2026, 3, 9, 9, 0, 0, 0, loc),
		"0 0 0 1 JAN ?":           time.Date(2027, 1, 1, 0, 0, 0, 0, loc),
		"CRON_TZ=UTC 0 0 0 * * *": time.Date(2026, 3, 7, 0, 0, 0, 0, time.UTC),
		"@hourly":                 time.Date(2026, 3, 7, 8, 0, 0, 0, loc),
		"10-40/10 * * * * *":      time.Date(2026, 3, 7, 7, 50, 10, 0, loc),
	} {
		var c *Crontab
		var err error
		wmtest.Do(func() { c, err = New(rule, func() {}) })
		if err != nil {
			t.Errorf("%q: %v", rule, err)
			continue
		}
		if got := c.Next(); !got.Equal(want) {
			t.Errorf("%q: next %v, want %v", rule, got, want)
		}
		wmtest.Do(c.Destroy)
	}
}

// TestInvalidRules: bad rules are clear errors, never a panic or a
// crontab that silently does nothing.
func TestInvalidRules(t *testing.T) {
	for _, rule := range []string{"", "* * *", "61 * * * * *", "* * * * * * *", "every minute", "0 0 0 30 2 *", "*/0 * * * * *", "CRON_TZ=Nowhere/X * * * * *"} {
		var err error
		wmtest.Do(func() {
			var c *Crontab
			c, err = New(rule, func() {})
			if err == nil {
				c.Destroy()
			}
		})
		if err == nil || !strings.Contains(err.Error(), "crontab: rule "+`"`+rule+`"`) {
			t.Errorf("New(%q) = %v, want an error naming the rule", rule, err)
		}
	}
	if _, err := New("* * * * * *", nil); err == nil {
		t.Error("nil function accepted")
	}
}
