package channel

import "errors"

func newRedisBroker(c *Client, address string) (broker, error) {
	return nil, errors.New("redis:// addresses are not supported by this version")
}
