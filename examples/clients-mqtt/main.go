// Command clients-mqtt consumes and produces MQTT messages from a worker
// with Eclipse Paho against a broker such as Mosquitto. Each process keeps
// one MQTT connection, made in OnWorkerStart: messages on the subscribed
// topics arrive on Paho's goroutine and are posted to the event loop, where
// they go to every client of the process; a client's "pub" is published
// and confirmed on a bounded workerman.AsyncPool.
//
//	MQTT_BROKER=tcp://127.0.0.1:1883 go run ./examples/clients-mqtt start
//	telnet 127.0.0.1 8095
//	pub chat/room1 hello        (every client gets "chat/room1 hello")
//	mosquitto_pub -t chat/room1 -m hi
//
// TEXT_LISTEN moves the server.
package main

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"strings"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/workerman-go/workerman"
)

// topics is what every process consumes.
const topics = "chat/#"

// newServer returns a text worker connected to the MQTT broker at broker
// ("tcp://host:port").
func newServer(listen, broker string) *workerman.Worker {
	w := workerman.NewWorker("text://" + listen)
	w.Count = 2
	w.Name = "clients-mqtt"
	var client mqtt.Client
	pool := &workerman.AsyncPool{Workers: 8, Queue: 256, Timeout: 5 * time.Second}
	w.OnWorkerStart = func(w *workerman.Worker) {
		// Paho calls this handler on its own goroutine, in order; the
		// message crosses to the loop with Post.
		onMessage := func(_ mqtt.Client, m mqtt.Message) {
			line := m.Topic() + " " + string(m.Payload())
			workerman.Post(func() {
				for _, c := range w.Connections {
					c.Send(line)
				}
			})
		}
		opts := mqtt.NewClientOptions().
			AddBroker(broker).
			SetClientID(fmt.Sprintf("%s-%d-%d", w.Name, w.ID, os.Getpid())).
			SetCleanSession(true).
			SetAutoReconnect(true).
			SetConnectRetry(true). // keep trying in the background if the broker is down at start
			SetConnectRetryInterval(time.Second).
			SetMaxReconnectInterval(5 * time.Second).
			// Subscribe on every (re)connection: a clean session forgets
			// subscriptions.
			SetOnConnectHandler(func(c mqtt.Client) {
				c.Subscribe(topics, 1, onMessage)
			}).
			SetConnectionLostHandler(func(_ mqtt.Client, err error) {
				slog.Warn("mqtt connection lost", "err", err)
			})
		client = mqtt.NewClient(opts)
		client.Connect() // does not block: Paho connects on its goroutines
	}
	w.OnWorkerStop = func(*workerman.Worker) { client.Disconnect(250) }
	w.OnMessage = func(c *workerman.Connection, data any) {
		cmd, rest, _ := strings.Cut(data.(string), " ")
		topic, payload, _ := strings.Cut(rest, " ")
		if cmd != "pub" || topic == "" || strings.ContainsAny(topic, "#+") {
			c.Send("error: pub TOPIC MESSAGE")
			return
		}
		// Publish only queues the message; its token says when the broker
		// has it (QoS 1). Wait for that on a pool goroutine.
		tok := client.Publish(topic, 1, false, payload)
		err := workerman.AsyncOn(pool, c, func(ctx context.Context) (struct{}, error) {
			select {
			case <-tok.Done():
				return struct{}{}, tok.Error()
			case <-ctx.Done():
				return struct{}{}, ctx.Err()
			}
		}, func(_ struct{}, err error) {
			if err != nil {
				c.Send("error: " + err.Error())
				return
			}
			c.Send("ok")
		})
		if err != nil {
			c.Send("error: " + err.Error())
		}
	}
	return w
}

func main() {
	listen := os.Getenv("TEXT_LISTEN")
	if listen == "" {
		listen = "0.0.0.0:8095"
	}
	broker := os.Getenv("MQTT_BROKER")
	if broker == "" {
		broker = "tcp://127.0.0.1:1883"
	}
	newServer(listen, broker)
	if err := workerman.RunAll(); err != nil {
		log.Fatal(err)
	}
}
