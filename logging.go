package workerman

import (
	"context"
	"io"
	"log/slog"
	"os"
)

// fanout sends each log record to several handlers.
type fanout []slog.Handler

func (f fanout) Enabled(ctx context.Context, l slog.Level) bool {
	for _, h := range f {
		if h.Enabled(ctx, l) {
			return true
		}
	}
	return false
}

func (f fanout) Handle(ctx context.Context, r slog.Record) error {
	var first error
	for _, h := range f {
		if h.Enabled(ctx, r.Level) {
			if err := h.Handle(ctx, r.Clone()); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

func (f fanout) WithAttrs(as []slog.Attr) slog.Handler {
	g := make(fanout, len(f))
	for i, h := range f {
		g[i] = h.WithAttrs(as)
	}
	return g
}

func (f fanout) WithGroup(name string) slog.Handler {
	g := make(fanout, len(f))
	for i, h := range f {
		g[i] = h.WithGroup(name)
	}
	return g
}

// setupLogging sends the framework's log to the log file, and in the
// foreground also to the terminal (or to a logger set with SetLogger). It
// returns that logger, which also becomes the framework's, and one that
// writes to the log file only.
func setupLogging(logFile io.Writer, foreground bool) (all, fileOnly *slog.Logger) {
	file := slog.NewTextHandler(logFile, nil)
	hs := fanout{file}
	if user := logPtr.Load(); user != nil {
		hs = append(hs, user.Handler())
	} else if foreground {
		hs = append(hs, slog.Default().Handler())
	}
	pid := slog.Int("pid", os.Getpid())
	all = slog.New(hs).With(pid)
	SetLogger(all)
	return all, slog.New(file).With(pid)
}
