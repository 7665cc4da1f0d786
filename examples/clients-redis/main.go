// Command clients-redis uses Redis from a worker through go-redis: GET and
// SET run on a bounded workerman.AsyncPool, and a pub/sub subscription
// delivers each message on the event loop, where it is sent to every
// client of the process.
//
//	REDIS_ADDR=127.0.0.1:6379 go run ./examples/clients-redis start
//	telnet 127.0.0.1 8091
//	set greeting hello
//	get greeting
//	publish hello everyone     (every client of every process gets "news: hello everyone")
//
// TEXT_LISTEN moves the server.
package main

import (
	"context"
	"errors"
	"log"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/workerman-go/workerman"
)

// newsChannel is the Redis channel every process subscribes to.
const newsChannel = "news"

// newServer returns a text worker: one command per line, one answer per
// line. Each process has its own Redis client (a connection pool) and its
// own subscription, made in OnWorkerStart.
func newServer(listen, redisAddr string) *workerman.Worker {
	w := workerman.NewWorker("text://" + listen)
	w.Count = 2
	w.Name = "clients-redis"
	var rdb *redis.Client
	var sub *redis.PubSub
	// As many workers as go-redis has connections: requests queue here,
	// bounded, not inside the client.
	pool := &workerman.AsyncPool{Workers: 16, Queue: 256, Timeout: 3 * time.Second}
	w.OnWorkerStart = func(w *workerman.Worker) {
		rdb = redis.NewClient(&redis.Options{Addr: redisAddr, PoolSize: 16})
		// The subscription's messages arrive on one goroutine of go-redis
		// (which reconnects and subscribes again by itself); each is
		// posted to the loop, where the worker's connections may be used.
		sub = rdb.Subscribe(context.Background(), newsChannel)
		ch := sub.Channel()
		go func() {
			for m := range ch {
				workerman.Post(func() {
					for _, c := range w.Connections {
						c.Send("news: " + m.Payload)
					}
				})
			}
		}()
	}
	w.OnWorkerStop = func(*workerman.Worker) {
		sub.Close()
		rdb.Close()
	}
	w.OnMessage = func(c *workerman.Connection, data any) {
		cmd, rest, _ := strings.Cut(data.(string), " ")
		var err error
		switch cmd {
		case "get":
			err = workerman.AsyncOn(pool, c, func(ctx context.Context) (string, error) {
				return rdb.Get(ctx, rest).Result()
			}, func(v string, err error) {
				switch {
				case errors.Is(err, redis.Nil):
					c.Send("(nil)")
				case err != nil:
					c.Send("error: " + err.Error())
				default:
					c.Send(v)
				}
			})
		case "set":
			key, value, _ := strings.Cut(rest, " ")
			err = workerman.AsyncOn(pool, c, func(ctx context.Context) (string, error) {
				return rdb.Set(ctx, key, value, 0).Result()
			}, reply(c))
		case "publish":
			err = workerman.AsyncOn(pool, c, func(ctx context.Context) (int64, error) {
				return rdb.Publish(ctx, newsChannel, rest).Result()
			}, func(n int64, err error) {
				if err != nil {
					c.Send("error: " + err.Error())
				}
			})
		default:
			c.Send("error: commands are get KEY, set KEY VALUE, publish MESSAGE")
		}
		if err != nil {
			c.Send("error: " + err.Error())
		}
	}
	return w
}

// reply sends a string result or the error to c.
func reply(c *workerman.Connection) func(string, error) {
	return func(v string, err error) {
		if err != nil {
			c.Send("error: " + err.Error())
			return
		}
		c.Send(v)
	}
}

func main() {
	listen := os.Getenv("TEXT_LISTEN")
	if listen == "" {
		listen = "0.0.0.0:8091"
	}
	addr := os.Getenv("REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	newServer(listen, addr)
	if err := workerman.RunAll(); err != nil {
		log.Fatal(err)
	}
}
