package http

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/internal/counters"
)

// SessionStore keeps session data between requests, Workerman's session
// handlers. Data is the JSON encoding of the session's values.
//
// Implementations must be safe for use by several goroutines: a store that
// blocks (reports Blocking() true, or lacks the method) is only called off
// the event loop.
type SessionStore interface {
	// Read returns the data of session id, or nil when it does not exist
	// or is older than lifetime.
	Read(ctx context.Context, id string, lifetime time.Duration) ([]byte, error)
	// Write stores the data of session id, to expire after lifetime.
	Write(ctx context.Context, id string, data []byte, lifetime time.Duration) error
	// Touch extends the life of an unchanged session.
	Touch(ctx context.Context, id string, lifetime time.Duration) error
	// Destroy removes session id.
	Destroy(ctx context.Context, id string) error
}

// BlockingStore is implemented by stores that say whether their calls may
// block. A store whose Blocking returns false (the file store: local disk,
// page cache) is called on the event loop, in Request.Session and when the
// response is sent. Any other store (Redis) is never called on the loop:
//
//   - when a request carries a session cookie, its session is loaded on a
//     goroutine before OnMessage runs (the request waits; other
//     connections do not), so Request.Session never blocks;
//   - when the response is sent, a changed session is written on a
//     goroutine and the response is held back until the write is done, so
//     the client's next request sees it.
type BlockingStore interface {
	Blocking() bool
}

// SessionGC is implemented by stores that need expired sessions removed.
type SessionGC interface {
	GC(ctx context.Context, lifetime time.Duration) error
}

// SessionConfig configures sessions of a Protocol.
type SessionConfig struct {
	// Store keeps the sessions. Nil means a FileStore in
	// os.TempDir()/workerman-sessions, which serves the processes of one
	// host; use a Redis store (package redisstore) for several hosts.
	Store SessionStore
	// CookieName names the session cookie; "" means "WMSESSID".
	CookieName string
	// Lifetime is how long an unused session lives; 0 means 24 minutes
	// (PHP's session.gc_maxlifetime).
	Lifetime time.Duration
	// CookieLifetime is the cookie's Max-Age; 0 makes a browser-session
	// cookie.
	CookieLifetime time.Duration
	// CookiePath is the cookie's Path; "" means "/".
	CookiePath string
	// CookieDomain is the cookie's Domain.
	CookieDomain string
	// Secure marks the cookie Secure (HTTPS only).
	Secure bool
	// ScriptAccess lets scripts read the cookie (it is HttpOnly otherwise).
	ScriptAccess bool
	// SameSite is the cookie's SameSite attribute; 0 means Lax.
	SameSite SameSite
	// GCInterval is how often a store with SessionGC is asked to remove
	// expired sessions; 0 means 10 minutes.
	GCInterval time.Duration
	// Timeout bounds one call to a blocking store; 0 means 5 seconds.
	Timeout time.Duration
}

var (
	defaultStoreOnce sync.Once
	defaultStore     SessionStore
	defaultStoreErr  error
)

func (cfg *SessionConfig) store() (SessionStore, error) {
	if cfg.Store != nil {
		return cfg.Store, nil
	}
	defaultStoreOnce.Do(func() {
		defaultStore, defaultStoreErr = NewFileStore(filepath.Join(os.TempDir(), "workerman-sessions"))
	})
	return defaultStore, defaultStoreErr
}

func (cfg *SessionConfig) blocking() bool {
	if cfg.Store == nil {
		return false
	}
	b, ok := cfg.Store.(BlockingStore)
	return !ok || b.Blocking()
}

func (cfg *SessionConfig) cookieName() string {
	if cfg.CookieName != "" {
		return cfg.CookieName
	}
	return "WMSESSID"
}

func (cfg *SessionConfig) lifetime() time.Duration { return orDur(cfg.Lifetime, 24*time.Minute) }
func (cfg *SessionConfig) timeout() time.Duration  { return orDur(cfg.Timeout, 5*time.Second) }

// Session is the session of a client, Workerman's $request->session(). Its
// values are kept as JSON: numbers come back as float64, objects as
// map[string]any. It is saved when the response is sent.
type Session struct {
	id     string
	oldID  string // set by Regenerate
	data   map[string]any
	isNew  bool
	dirty  bool
	gone   bool // Destroy was called
	loaded bool
}

// ID returns the session id.
func (s *Session) ID() string { return s.id }

// Get returns the value stored under key, or nil.
func (s *Session) Get(key string) any { return s.data[key] }

// GetString returns the value under key if it is a string, or "".
func (s *Session) GetString(key string) string {
	v, _ := s.data[key].(string)
	return v
}

// Has reports whether key is set.
func (s *Session) Has(key string) bool {
	_, ok := s.data[key]
	return ok
}

// Set stores v under key. v must be encodable as JSON.
func (s *Session) Set(key string, v any) {
	s.data[key] = v
	s.dirty = true
}

// Delete removes key.
func (s *Session) Delete(key string) {
	if _, ok := s.data[key]; ok {
		delete(s.data, key)
		s.dirty = true
	}
}

// Pull returns the value under key and removes it.
func (s *Session) Pull(key string) any {
	v := s.data[key]
	s.Delete(key)
	return v
}

// All returns a copy of every value.
func (s *Session) All() map[string]any {
	m := make(map[string]any, len(s.data))
	for k, v := range s.data {
		m[k] = v
	}
	return m
}

// Flush removes every value.
func (s *Session) Flush() {
	if len(s.data) > 0 {
		s.data = map[string]any{}
		s.dirty = true
	}
}

// Regenerate gives the session a new id, keeping its values; the old id
// is removed from the store. Call it when a user logs in, against session
// fixation.
func (s *Session) Regenerate() {
	if s.oldID == "" && !s.isNew {
		s.oldID = s.id
	}
	s.id = newSessionID()
	s.dirty = true
}

// Destroy removes the session from the store and expires the cookie.
func (s *Session) Destroy() {
	s.gone = true
	s.data = map[string]any{}
}

func newSessionID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// validSessionID accepts ids a client may send back: bounded, and only
// characters that are safe in file names and keys.
func validSessionID(id string) bool {
	if len(id) < 16 || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func decodeSession(s *Session, data []byte) {
	s.data = map[string]any{}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &s.data); err != nil {
			slog.Warn("http: session data unreadable; starting empty", "err", err)
			s.data = map[string]any{}
		}
	}
}

// ErrSessionStore is wrapped by errors of the session store.
var ErrSessionStore = errors.New("http: session store")

// Session returns the client's session, creating one when the client has
// none. With a store that does not block (the file store) it reads the
// store on the loop; with a blocking store the session was loaded before
// OnMessage ran, so this never blocks.
func (r *Request) Session() (*Session, error) {
	if r.ext().session != nil {
		return r.ext().session, nil
	}
	cfg := &r.st.p.Session
	s := &Session{loaded: true}
	id := r.Cookie(cfg.cookieName())
	if validSessionID(id) && !cfg.blocking() {
		store, err := cfg.store()
		if err != nil {
			return nil, errors.Join(ErrSessionStore, err)
		}
		maybeGC(cfg, store)
		data, err := store.Read(context.Background(), id, cfg.lifetime())
		if err != nil {
			return nil, errors.Join(ErrSessionStore, err)
		}
		if data != nil {
			s.id = id
			decodeSession(s, data)
		}
	}
	if s.id == "" {
		s.id, s.isNew, s.data = newSessionID(), true, map[string]any{}
	}
	r.ext().session = s
	return s, nil
}

// preloadSession loads the session of r on a goroutine when the store
// blocks, then delivers r to OnMessage on the loop. It reports whether it
// took over delivery.
func (st *connState) preloadSession(r *Request) bool {
	cfg := &st.p.Session
	if cfg.Store == nil || !cfg.blocking() {
		return false
	}
	id := r.Cookie(cfg.cookieName())
	if !validSessionID(id) {
		return false
	}
	store, lifetime, timeout := cfg.Store, cfg.lifetime(), cfg.timeout()
	c := st.c
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		data, err := store.Read(ctx, id, lifetime)
		cancel()
		workerman.Post(func() {
			if st.cur != r || c.Status() != workerman.StatusEstablished {
				return
			}
			s := &Session{loaded: true}
			if err != nil {
				slog.Error("http: session read failed; starting a new session", "err", err)
			}
			if err == nil && data != nil {
				s.id = id
				decodeSession(s, data)
			} else {
				s.id, s.isNew, s.data = newSessionID(), true, map[string]any{}
			}
			r.ext().session = s
			if c.OnMessage != nil {
				c.OnMessage(c, r)
			}
		})
	}()
	return true
}

// deliver hands a complete request to OnMessage.
func (st *connState) deliver(r *Request) (any, error) {
	if counters.On {
		// The loop's round clock: one reading serves every request of a
		// pipelined batch.
		st.delivered = workerman.EventLoop().RoundTime()
	}
	if st.p.Session.Store != nil && st.preloadSession(r) {
		return nil, nil
	}
	return r, nil
}

// appendSessionCookie adds the Set-Cookie field of a new, regenerated or
// destroyed session.
func (st *connState) appendSessionCookie(dst []byte, r *Request) []byte {
	if r.x == nil || r.x.session == nil {
		return dst
	}
	s := r.x.session
	if !(s.gone || s.oldID != "" || (s.isNew && s.dirty && len(s.data) > 0)) {
		return dst
	}
	cfg := &st.p.Session
	ck := &Cookie{
		Name: cfg.cookieName(), Value: s.id, Path: cfg.CookiePath, Domain: cfg.CookieDomain,
		Secure: cfg.Secure, HttpOnly: !cfg.ScriptAccess, SameSite: cfg.SameSite,
	}
	if ck.Path == "" {
		ck.Path = "/"
	}
	if ck.SameSite == 0 {
		ck.SameSite = SameSiteLaxMode
	}
	if cfg.CookieLifetime > 0 {
		ck.MaxAge = int(cfg.CookieLifetime / time.Second)
	}
	if s.gone {
		ck.Value, ck.MaxAge = "deleted", -1
	}
	return append(append(append(dst, "Set-Cookie: "...), ck.String()...), "\r\n"...)
}

// saveSession stores r's session as its response completes. It reports
// whether the response must wait for a write made off the loop.
func (st *connState) saveSession(r *Request) bool {
	s := r.ext().session
	cfg := &st.p.Session
	store, err := cfg.store()
	if err != nil {
		slog.Error("http: session store unavailable", "err", err)
		return false
	}
	lifetime := cfg.lifetime()
	var write []byte
	if !s.gone && s.dirty && (len(s.data) > 0 || !s.isNew) {
		write, err = json.Marshal(s.data)
		if err != nil {
			slog.Error("http: session values cannot be encoded as JSON", "err", err)
			write = nil
		}
	}
	id, oldID, gone, touch := s.id, s.oldID, s.gone, !s.isNew && !s.dirty && !s.gone
	if write == nil && !gone && oldID == "" && !touch {
		return false
	}
	save := func(ctx context.Context) error {
		var errs []error
		if oldID != "" {
			errs = append(errs, store.Destroy(ctx, oldID))
		}
		switch {
		case gone:
			errs = append(errs, store.Destroy(ctx, id))
		case write != nil:
			errs = append(errs, store.Write(ctx, id, write, lifetime))
		case touch:
			errs = append(errs, store.Touch(ctx, id, lifetime))
		}
		return errors.Join(errs...)
	}
	if !cfg.blocking() {
		if err := save(context.Background()); err != nil {
			slog.Error("http: session save failed", "err", err)
		}
		return false
	}
	timeout := cfg.timeout()
	hold := !touch
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		err := save(ctx)
		cancel()
		if err != nil {
			slog.Error("http: session save failed", "err", err)
		}
		if hold {
			workerman.Post(st.releaseHeld)
		}
	}()
	return hold
}

var gcState struct {
	sync.Mutex
	last map[SessionStore]time.Time
}

// maybeGC asks a store to remove expired sessions at most once per
// GCInterval, on a goroutine.
func maybeGC(cfg *SessionConfig, store SessionStore) {
	g, ok := store.(SessionGC)
	if !ok {
		return
	}
	gcState.Lock()
	defer gcState.Unlock()
	if gcState.last == nil {
		gcState.last = map[SessionStore]time.Time{}
	}
	now := time.Now()
	if now.Sub(gcState.last[store]) < orDur(cfg.GCInterval, 10*time.Minute) {
		return
	}
	gcState.last[store] = now
	lifetime := cfg.lifetime()
	go func() {
		if err := g.GC(context.Background(), lifetime); err != nil {
			slog.Warn("http: session gc failed", "err", err)
		}
	}()
}

// FileStore keeps each session in a file of a directory, named after its
// id; the file's modification time is its last use. It does not block the
// loop in practice (small files, page cache), so it is called on the loop.
// Processes of one host share it.
type FileStore struct {
	dir string
}

// NewFileStore returns a store in dir, creating it with mode 0700.
func NewFileStore(dir string) (*FileStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return &FileStore{dir: dir}, nil
}

// Blocking reports false: the file store is called on the event loop.
func (f *FileStore) Blocking() bool { return false }

func (f *FileStore) path(id string) string { return filepath.Join(f.dir, "sess_"+id) }

// Read implements SessionStore.
func (f *FileStore) Read(_ context.Context, id string, lifetime time.Duration) ([]byte, error) {
	if !validSessionID(id) {
		return nil, nil
	}
	p := f.path(id)
	fi, err := os.Stat(p)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	if lifetime > 0 && time.Since(fi.ModTime()) > lifetime {
		os.Remove(p)
		return nil, nil
	}
	b, err := os.ReadFile(p)
	if os.IsNotExist(err) {
		return nil, nil
	}
	return b, err
}

// Write implements SessionStore: it writes a temporary file and renames
// it, so readers never see half a session.
func (f *FileStore) Write(_ context.Context, id string, data []byte, _ time.Duration) error {
	if !validSessionID(id) {
		return errors.New("http: invalid session id")
	}
	tmp, err := os.CreateTemp(f.dir, ".tmp-")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), f.path(id))
}

// Touch implements SessionStore.
func (f *FileStore) Touch(_ context.Context, id string, _ time.Duration) error {
	if !validSessionID(id) {
		return nil
	}
	now := time.Now()
	err := os.Chtimes(f.path(id), now, now)
	if os.IsNotExist(err) {
		return nil
	}
	return err
}

// Destroy implements SessionStore.
func (f *FileStore) Destroy(_ context.Context, id string) error {
	if !validSessionID(id) {
		return nil
	}
	err := os.Remove(f.path(id))
	if os.IsNotExist(err) {
		return nil
	}
	return err
}

// GC implements SessionGC: it removes sessions unused for lifetime.
func (f *FileStore) GC(_ context.Context, lifetime time.Duration) error {
	ents, err := os.ReadDir(f.dir)
	if err != nil {
		return err
	}
	cut := time.Now().Add(-lifetime)
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), "sess_") && !strings.HasPrefix(e.Name(), ".tmp-") {
			continue
		}
		if fi, err := e.Info(); err == nil && fi.ModTime().Before(cut) {
			os.Remove(filepath.Join(f.dir, e.Name()))
		}
	}
	return nil
}
