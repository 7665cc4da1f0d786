// Command channel-group is the manual's group send with the Channel
// component: WebSocket clients join groups and send to a group, and the
// message reaches the group's members in every process.
//
//	go run ./examples/channel-group start
//
// In a browser console:
//
//	ws = new WebSocket("ws://127.0.0.1:1234");
//	ws.onmessage = (e) => console.log(e.data);
//	ws.onopen = () => {
//		ws.send('{"cmd":"add_group", "group_id":"123"}');
//		ws.send('{"cmd":"send_to_group", "group_id":"123", "message":"这个是消息"}');
//	};
//
// The tests in channel/examples_test.go build this program and run it
// under the master with WebSocket clients in every process.
package main

import (
	"encoding/json"
	"flag"
	"log"

	"github.com/workerman-go/workerman"
	"github.com/workerman-go/workerman/channel"
	_ "github.com/workerman-go/workerman/protocols/websocket"
)

// command is what clients send:
//
//	{"cmd":"add_group", "group_id":"123"}
//	{"cmd":"send_to_group", "group_id":"123", "message":"..."}
type command struct {
	Cmd     string `json:"cmd"`
	GroupID string `json:"group_id"`
	Message string `json:"message"`
}

// groupMessage is the data of the send_to_group event.
type groupMessage struct {
	GroupID string `json:"group_id"`
	Message string `json:"message"`
}

func main() {
	channelAddr := flag.String("channel", channel.DefaultAddress, "address of the Channel server")
	listen := flag.String("listen", "0.0.0.0:1234", "address of the WebSocket worker")
	count := flag.Int("count", 8, "processes of the WebSocket worker")
	flag.Parse()

	channel.NewServer(*channelAddr)

	worker := workerman.NewWorker("websocket://" + *listen)
	worker.Count = *count
	// The connections of this process in each group.
	groupConMap := map[string]map[int]*workerman.Connection{}
	var ch *channel.Client
	worker.OnWorkerStart = func(*workerman.Worker) {
		var err error
		ch, err = channel.Connect(*channelAddr, nil)
		if err != nil {
			log.Fatal(err)
		}
		// Every process hears of every group message and sends it to
		// the group's members it holds.
		ch.On("send_to_group", func(d channel.Data) {
			var m groupMessage
			if err := d.Decode(&m); err != nil {
				log.Printf("bad event: %v", err)
				return
			}
			for _, c := range groupConMap[m.GroupID] {
				c.Send(m.Message)
			}
		})
	}
	worker.OnMessage = func(c *workerman.Connection, data any) {
		s, _ := data.(string)
		var cmd command
		if err := json.Unmarshal([]byte(s), &cmd); err != nil {
			c.Send("bad command: " + err.Error())
			return
		}
		switch cmd.Cmd {
		case "add_group":
			// Add the connection to the group, and remember its groups
			// for OnClose.
			if groupConMap[cmd.GroupID] == nil {
				groupConMap[cmd.GroupID] = map[int]*workerman.Connection{}
			}
			groupConMap[cmd.GroupID][c.ID] = c
			groups, _ := c.UserData.(map[string]bool)
			if groups == nil {
				groups = map[string]bool{}
				c.UserData = groups
			}
			groups[cmd.GroupID] = true
		case "send_to_group":
			// Every process of every server hears of it.
			if err := ch.Publish("send_to_group", groupMessage{GroupID: cmd.GroupID, Message: cmd.Message}); err != nil {
				c.Send("not sent: " + err.Error())
			}
		}
	}
	// Important: remove the connection from its groups when it closes.
	worker.OnClose = func(c *workerman.Connection) {
		groups, _ := c.UserData.(map[string]bool)
		for g := range groups {
			delete(groupConMap[g], c.ID)
			if len(groupConMap[g]) == 0 {
				delete(groupConMap, g)
			}
		}
	}

	if err := workerman.RunAllArgs(flag.Args()); err != nil {
		log.Fatal(err)
	}
}
