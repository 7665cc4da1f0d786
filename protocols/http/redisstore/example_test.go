package redisstore_test

import (
	"github.com/redis/go-redis/v9"
	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/protocols/http"
	"github.com/workerman-go/workerman/protocols/http/redisstore"
)

// Sessions shared by every process and host that uses the same Redis.
func ExampleNew() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	w := workerman.NewWorker("http://0.0.0.0:8080")
	w.Protocol = &http.Protocol{Session: http.SessionConfig{Store: redisstore.New(rdb, "myapp:sess:")}}
	w.OnMessage = func(c *workerman.Connection, data any) {
		s, _ := data.(*http.Request).Session()
		s.Set("seen", true)
		c.Send("ok")
	}
	_ = w // workerman.RunAll()
}
