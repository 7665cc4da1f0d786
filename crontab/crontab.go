// Package crontab runs functions on cron schedules with a precision of a
// second, on the process's event loop: Workerman's crontab component
// (workerman/crontab).
//
// A rule has six fields, seconds first, or the classic five (then the
// second is 0):
//
//	second minute hour day-of-month month day-of-week
//	*/5    *      *    *            *     *            every 5 seconds
//	0      */1    *    *            *     *            every minute
//	       50     7    *            *     *            07:50 every day (five fields)
//	0      0      9    *            *     1-5          09:00 on weekdays
//
// Fields take numbers, ranges (1-5), lists (1,3,5), steps (*/5, 10-40/10),
// "?" for "any" in the day fields, and month and weekday names (JAN, MON).
// The descriptors @yearly, @monthly, @weekly, @daily, @hourly and @every
// <duration> work too, and a leading CRON_TZ=<zone> sets the time zone of
// one rule (the default is the process's local time).
//
// Create crontabs where the loop runs, in OnWorkerStart, as in Workerman:
//
//	w := workerman.NewWorker("")
//	w.Name = "crontab"
//	w.OnWorkerStart = func(*workerman.Worker) {
//		crontab.New("*/5 * * * * *", func() { log.Print("every 5 seconds") })
//	}
//
// A crontab runs in the process that created it, so create it in a worker
// with Count 1 (or check Worker.ID) for a job that must run once per
// schedule. Its function runs on the loop like every other callback: hand
// blocking work to a goroutine with workerman.Async. When
// the loop was busy past one or more times of a schedule, those are
// skipped, not caught up.
//
// The expressions are parsed by github.com/robfig/cron/v3.
package crontab

import (
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/workerman-go/workerman"
)

// parser reads five- and six-field rules (the seconds are optional, as in
// Workerman's crontab) and the @ descriptors.
var parser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// now is the clock the schedules are computed from.
var now = time.Now

// Crontab is one scheduled function.
type Crontab struct {
	// Name is free for the application (Workerman's name argument); it is
	// not used by the package.
	Name string

	id    int
	rule  string
	fn    func()
	sched cron.Schedule
	next  time.Time
	timer int
	done  bool
}

var (
	mu     sync.Mutex
	nextID int
	all    = map[int]*Crontab{}
)

// New parses rule and schedules fn to run at each of its times until
// Destroy. Call it on the loop (in OnWorkerStart or another callback). A
// rule that cannot be parsed, or that never matches, is an error.
func New(rule string, fn func()) (*Crontab, error) {
	if fn == nil {
		return nil, fmt.Errorf("crontab: rule %q: nil function", rule)
	}
	sched, err := Parse(rule)
	if err != nil {
		return nil, err
	}
	c := &Crontab{rule: rule, fn: fn, sched: sched}
	if !c.schedule(now()) {
		return nil, fmt.Errorf("crontab: rule %q never matches a time", rule)
	}
	mu.Lock()
	nextID++
	c.id = nextID
	all[c.id] = c
	mu.Unlock()
	return c, nil
}

// Parse checks a rule and returns its schedule, whose Next method gives
// the rule's next time after a given one.
func Parse(rule string) (cron.Schedule, error) {
	sched, err := parser.Parse(rule)
	if err != nil {
		return nil, fmt.Errorf("crontab: rule %q: %v (want \"second minute hour day month weekday\", or the five fields without the second)", rule, err)
	}
	return sched, nil
}

// schedule sets the timer for the first time of the rule after from; it
// reports false when there is none.
func (c *Crontab) schedule(from time.Time) bool {
	next := c.sched.Next(from)
	if next.IsZero() {
		return false
	}
	c.next = next
	wait := next.Sub(now())
	if wait < 0 {
		wait = 0
	}
	c.timer = workerman.Timer.Once(wait, c.run)
	return true
}

// run runs the function and schedules the next time.
func (c *Crontab) run() {
	c.timer = 0
	if c.done {
		return
	}
	due := c.next
	c.fn()
	if c.done {
		return
	}
	// From the later of the time just run and now: a run that the loop
	// was too busy for is skipped, and a timer that fired a little early
	// does not run the same time twice.
	from := now()
	if from.Before(due) {
		from = due
	}
	if !c.schedule(from) {
		c.Destroy()
	}
}

// ID returns the crontab's id, unique in the process.
func (c *Crontab) ID() int { return c.id }

// Rule returns the rule the crontab was created with.
func (c *Crontab) Rule() string { return c.rule }

// Next returns the time the function runs next, or the zero time after
// Destroy.
func (c *Crontab) Next() time.Time {
	if c.done {
		return time.Time{}
	}
	return c.next
}

// Destroy stops the crontab: its function does not run again. Call it on
// the loop; it may be called from the crontab's own function.
func (c *Crontab) Destroy() {
	if c.done {
		return
	}
	c.done = true
	if c.timer != 0 {
		workerman.Timer.Del(c.timer)
		c.timer = 0
	}
	mu.Lock()
	delete(all, c.id)
	mu.Unlock()
}

// All returns the live crontabs of the process, by id.
func All() []*Crontab {
	mu.Lock()
	out := make([]*Crontab, 0, len(all))
	for _, c := range all {
		out = append(out, c)
	}
	mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// Remove destroys the crontab with the given id and reports whether there
// was one.
func Remove(id int) bool {
	mu.Lock()
	c := all[id]
	mu.Unlock()
	if c == nil {
		return false
	}
	c.Destroy()
	return true
}
