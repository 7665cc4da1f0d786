package globaldata

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/workerman-go/workerman"
)

// natsBucket is the JetStream key-value bucket that holds the variables.
const natsBucket = "workerman_globaldata"

// natsStore keeps the variables in a JetStream key-value bucket: Add is
// Create, Cas compares the last revision's value and then Updates with
// that revision, Increment is the same compare-and-swap loop.
type natsStore struct {
	urls     string
	replicas int

	up          atomic.Bool
	disconnects *atomic.Int64 // the client's counter
	kv          atomic.Pointer[jetstream.KeyValue]
	nc          atomic.Pointer[nats.Conn]
	stop        chan struct{}
}

// newNATSStore connects in the background. The bucket is created with
// one replica per server listed, up to three, when it does not exist.
func newNATSStore(urls string, servers int, disconnects *atomic.Int64) (*natsStore, error) {
	for _, u := range strings.Split(urls, ",") {
		if !strings.HasPrefix(strings.TrimSpace(u), "nats://") {
			return nil, fmt.Errorf("address %q: want nats://host:port[,nats://host:port...]", urls)
		}
	}
	s := &natsStore{urls: urls, replicas: min(max(servers, 1), 3), disconnects: disconnects, stop: make(chan struct{})}
	go s.open()
	return s, nil
}

// open connects, then finds or creates the bucket, retrying until it
// succeeds.
func (s *natsStore) open() {
	nc, err := nats.Connect(s.urls,
		nats.Name("workerman globaldata"),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(100*time.Millisecond),
		nats.ReconnectBufSize(-1),
		nats.Timeout(2*time.Second),
		nats.PingInterval(2*time.Second),
		nats.MaxPingsOutstanding(2),
		nats.ConnectHandler(func(*nats.Conn) { s.up.Store(true) }),
		nats.ReconnectHandler(func(*nats.Conn) { s.up.Store(true) }),
		nats.DisconnectErrHandler(func(*nats.Conn, error) {
			if s.up.Swap(false) {
				s.disconnects.Add(1)
			}
		}),
	)
	if err != nil {
		workerman.Logger().Error("globaldata: NATS", "address", s.urls, "err", err)
		return
	}
	if nc.IsConnected() {
		s.up.Store(true)
	}
	s.nc.Store(nc)
	select {
	case <-s.stop:
		nc.Close() // closed while connecting
		return
	default:
	}
	js, err := jetstream.New(nc)
	if err != nil {
		workerman.Logger().Error("globaldata: NATS JetStream", "address", s.urls, "err", err)
		return
	}
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		kv, err := js.KeyValue(ctx, natsBucket)
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: natsBucket, History: 1, Replicas: s.replicas})
			if errors.Is(err, jetstream.ErrBucketExists) {
				kv, err = js.KeyValue(ctx, natsBucket)
			}
		}
		cancel()
		if err == nil {
			s.kv.Store(&kv)
			return
		}
		select {
		case <-s.stop:
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (s *natsStore) ready() bool { return s.up.Load() && s.kv.Load() != nil }

func (s *natsStore) close() {
	close(s.stop)
	if nc := s.nc.Load(); nc != nil {
		nc.Close()
	}
}

// classify turns a NATS failure into errUnsent when the request did not
// leave the client (disconnected, or no JetStream server answering yet).
func (s *natsStore) classify(err error) error {
	if errors.Is(err, nats.ErrReconnectBufExceeded) || errors.Is(err, nats.ErrConnectionReconnecting) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, nats.ErrConnectionClosed) {
		return errUnsent{err}
	}
	return err
}

func (s *natsStore) apply(ctx context.Context, r *request) (byte, []byte, string, error) {
	p := s.kv.Load()
	if p == nil || !s.up.Load() {
		return 0, nil, "", errUnsent{errors.New("NATS JetStream not reachable")}
	}
	status, val, msg, err := s.op(ctx, *p, r)
	if errors.Is(err, nats.ErrMaxPayload) {
		return statusError, nil, fmt.Sprintf("a %d-byte value is over the NATS server's max_payload", len(r.val)), nil
	}
	if err != nil {
		return 0, nil, "", s.classify(err)
	}
	return status, val, msg, nil
}

func (s *natsStore) op(ctx context.Context, kv jetstream.KeyValue, r *request) (byte, []byte, string, error) {
	key := escapeKey(r.key)
	switch r.op {
	case opGet, opIsset:
		e, err := kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return statusNo, nil, "", nil
		}
		if err != nil {
			return 0, nil, "", err
		}
		if r.op == opIsset {
			return statusYes, nil, "", nil
		}
		return statusYes, e.Value(), "", nil
	case opSet:
		_, err := kv.Put(ctx, key, r.val)
		return statusYes, nil, "", err
	case opUnset:
		_, err := kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return statusNo, nil, "", nil
		}
		if err != nil {
			return 0, nil, "", err
		}
		return statusYes, nil, "", kv.Delete(ctx, key)
	case opAdd:
		_, err := kv.Create(ctx, key, r.val)
		if conflict(err) {
			return statusNo, nil, "", nil
		}
		return statusYes, nil, "", err
	case opCas, opIncrement:
		for {
			var cur []byte
			var rev uint64
			e, err := kv.Get(ctx, key)
			switch {
			case errors.Is(err, jetstream.ErrKeyNotFound):
			case err != nil:
				return 0, nil, "", err
			default:
				cur, rev = e.Value(), e.Revision()
			}
			var next []byte
			if r.op == opCas {
				if rev == 0 && !bytes.Equal(r.old, null) || rev != 0 && !bytes.Equal(cur, r.old) {
					return statusNo, nil, "", nil
				}
				next = r.val
			} else {
				if rev == 0 {
					return statusNo, nil, "", nil
				}
				st, v, msg := incremented(r.key, cur, r.step)
				if st != statusYes {
					return st, nil, msg, nil
				}
				next = v
			}
			if rev == 0 {
				_, err = kv.Create(ctx, key, next)
			} else {
				_, err = kv.Update(ctx, key, next, rev)
			}
			if conflict(err) {
				continue // changed in between: compare again
			}
			if err != nil {
				return 0, nil, "", err
			}
			if r.op == opIncrement {
				return statusYes, next, "", nil
			}
			return statusYes, nil, "", nil
		}
	}
	return statusError, nil, fmt.Sprintf("unknown operation %q", r.op), nil
}

// conflict reports a write refused because the key changed (or exists).
func conflict(err error) bool {
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch)
}
