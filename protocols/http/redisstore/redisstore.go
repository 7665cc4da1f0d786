// Package redisstore keeps HTTP sessions in Redis, for workers spread over
// several processes or hosts:
//
//	http.Default.Session.Store = redisstore.New(redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"}), "")
//
// Redis calls block, so the HTTP protocol never makes them on the event
// loop: a session is loaded on a goroutine before OnMessage runs and saved
// on one before the response leaves (see http.BlockingStore).
package redisstore

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// Store is a session store on a Redis server; sessions expire through
// Redis key expiry, so it needs no garbage collection.
type Store struct {
	client redis.UniversalClient
	prefix string
}

// New returns a store that keeps session id under the key prefix+id;
// prefix "" means "wmsess:".
func New(client redis.UniversalClient, prefix string) *Store {
	if prefix == "" {
		prefix = "wmsess:"
	}
	return &Store{client: client, prefix: prefix}
}

// Blocking reports true: the store is only called off the event loop.
func (s *Store) Blocking() bool { return true }

// Read implements http.SessionStore.
func (s *Store) Read(ctx context.Context, id string, _ time.Duration) ([]byte, error) {
	b, err := s.client.Get(ctx, s.prefix+id).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	return b, err
}

// Write implements http.SessionStore.
func (s *Store) Write(ctx context.Context, id string, data []byte, lifetime time.Duration) error {
	return s.client.Set(ctx, s.prefix+id, data, lifetime).Err()
}

// Touch implements http.SessionStore.
func (s *Store) Touch(ctx context.Context, id string, lifetime time.Duration) error {
	return s.client.Expire(ctx, s.prefix+id, lifetime).Err()
}

// Destroy implements http.SessionStore.
func (s *Store) Destroy(ctx context.Context, id string) error {
	return s.client.Del(ctx, s.prefix+id).Err()
}
