package globaldata

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisPrefix starts the Redis keys of the variables.
const redisPrefix = "wm:g:"

// casScript swaps a value only if it still is the expected one; a key
// that is not set compares as null.
var casScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur == false then cur = 'null' end
if cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1`)

// incrScript is INCRBY on a key that is set and holds an integer; it
// answers false for a key not set and NOTINT for another value, which the
// client then increments as the GlobalData server does, with Cas.
var incrScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur == false then return false end
if not string.match(cur, '^-?[0-9]+$') then return redis.error_reply('NOTINT') end
return redis.call('INCRBY', KEYS[1], ARGV[1])`)

// redisStore keeps the variables in Redis: one string key each, SET NX for
// Add, a Lua script for Cas, INCRBY (in a script that leaves a key not
// set alone) for Increment.
type redisStore struct {
	rdb         *redis.Client
	up          atomic.Bool
	disconnects *atomic.Int64 // the client's counter
	stop        chan struct{}
}

func newRedisStore(url string, disconnects *atomic.Int64) (*redisStore, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("address %q: %w", url, err)
	}
	opt.MaxRetries = -1 // a request is sent once: its outcome is known or reported unknown
	opt.DialTimeout = 2 * time.Second
	opt.DialerRetries = 1 // the client waits and tries again itself
	s := &redisStore{rdb: redis.NewClient(opt), disconnects: disconnects, stop: make(chan struct{})}
	go s.watch()
	return s, nil
}

// watch pings Redis to know whether it is reachable.
func (s *redisStore) watch() {
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		s.setUp(s.rdb.Ping(ctx).Err() == nil)
		cancel()
		wait := time.Second
		if !s.up.Load() {
			wait = 100 * time.Millisecond
		}
		select {
		case <-s.stop:
			return
		case <-time.After(wait):
		}
	}
}

// setUp records whether Redis is reachable, counting the losses.
func (s *redisStore) setUp(up bool) {
	if !s.up.Swap(up) || up {
		return
	}
	s.disconnects.Add(1)
}

func (s *redisStore) ready() bool { return s.up.Load() }

func (s *redisStore) close() {
	close(s.stop)
	s.rdb.Close()
}

func (s *redisStore) apply(ctx context.Context, r *request) (byte, []byte, string, error) {
	if !s.up.Load() {
		return 0, nil, "", errUnsent{errors.New("redis server not reachable")}
	}
	status, val, msg, err := s.op(ctx, r)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			s.setUp(false)
			return 0, nil, "", errUnsent{err}
		}
		return 0, nil, "", err
	}
	return status, val, msg, nil
}

func (s *redisStore) op(ctx context.Context, r *request) (byte, []byte, string, error) {
	key := redisPrefix + string(r.key)
	switch r.op {
	case opGet:
		v, err := s.rdb.Get(ctx, key).Bytes()
		if errors.Is(err, redis.Nil) {
			return statusNo, nil, "", nil
		}
		return statusYes, v, "", err
	case opIsset:
		n, err := s.rdb.Exists(ctx, key).Result()
		return yes(n > 0), nil, "", err
	case opSet:
		return statusYes, nil, "", s.rdb.Set(ctx, key, r.val, 0).Err()
	case opUnset:
		n, err := s.rdb.Del(ctx, key).Result()
		return yes(n > 0), nil, "", err
	case opAdd:
		ok, err := s.rdb.SetNX(ctx, key, r.val, 0).Result()
		return yes(ok), nil, "", err
	case opCas:
		n, err := casScript.Run(ctx, s.rdb, []string{key}, r.old, r.val).Int()
		return yes(n == 1), nil, "", err
	case opIncrement:
		n, err := incrScript.Run(ctx, s.rdb, []string{key}, r.step).Int64()
		switch {
		case errors.Is(err, redis.Nil):
			return statusNo, nil, "", nil
		case err != nil && strings.Contains(err.Error(), "NOTINT"):
			return s.incrementOther(ctx, key, r)
		case err != nil && strings.Contains(err.Error(), "overflow"):
			return statusError, nil, fmt.Sprintf("increment of %q overflows int64", r.key), nil
		case err != nil && strings.Contains(err.Error(), "out of range"):
			return statusError, nil, "cannot increment: outside the int64 range", nil
		case err != nil:
			return 0, nil, "", err
		}
		return statusYes, fmt.Appendf(nil, "%d", n), "", nil
	}
	return statusError, nil, fmt.Sprintf("unknown operation %q", r.op), nil
}

// incrementOther increments a value that is not an integer (a fraction,
// text) as the GlobalData server does, with a Cas loop.
func (s *redisStore) incrementOther(ctx context.Context, key string, r *request) (byte, []byte, string, error) {
	for {
		cur, err := s.rdb.Get(ctx, key).Bytes()
		if errors.Is(err, redis.Nil) {
			return statusNo, nil, "", nil
		}
		if err != nil {
			return 0, nil, "", err
		}
		st, next, msg := incremented(r.key, cur, r.step)
		if st != statusYes {
			return st, nil, msg, nil
		}
		n, err := casScript.Run(ctx, s.rdb, []string{key}, cur, next).Int()
		if err != nil {
			return 0, nil, "", err
		}
		if n == 1 {
			return statusYes, next, "", nil
		}
	}
}
