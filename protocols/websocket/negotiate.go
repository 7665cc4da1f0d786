package websocket

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// permessage-deflate negotiation (RFC 7692 section 7.1).

// deflateParams are the parameters of an accepted permessage-deflate
// offer, as the response states them.
type deflateParams struct {
	serverNoContext bool // the server compresses each message on its own
	clientNoContext bool // the client compresses each message on its own
	serverBits      int  // LZ77 window of the server's output, 8-15
	clientBits      int  // LZ77 window of the client's output, 8-15
}

// extParam is one parameter of an extension offer.
type extParam struct{ name, value string }

// parseExtensions splits Sec-WebSocket-Extensions values into offers, each
// a name and its parameters. ok is false for a syntax error.
func parseExtensions(h http.Header) (offers [][]extParam, ok bool) {
	for _, v := range h.Values("Sec-Websocket-Extensions") {
		for _, off := range strings.Split(v, ",") {
			off = strings.TrimSpace(off)
			if off == "" {
				continue
			}
			var params []extParam
			for i, part := range strings.Split(off, ";") {
				part = strings.TrimSpace(part)
				name, value, hasValue := strings.Cut(part, "=")
				name = strings.TrimSpace(name)
				value = strings.TrimSpace(value)
				if hasValue && len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
					value = value[1 : len(value)-1]
				}
				if name == "" || !isToken(name) || (hasValue && (value == "" || !isToken(value))) {
					return nil, false
				}
				if i == 0 && hasValue {
					return nil, false
				}
				params = append(params, extParam{strings.ToLower(name), value})
			}
			offers = append(offers, params)
		}
	}
	return offers, true
}

func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

// windowBits parses a max_window_bits value: 8 to 15 without leading
// zeros.
func windowBits(v string) (int, bool) {
	if len(v) == 0 || len(v) > 2 || v[0] == '0' {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 8 || n > 15 {
		return 0, false
	}
	return n, true
}

// acceptDeflate chooses the first permessage-deflate offer the server can
// take and returns the response extension line and the parameters it sets,
// or ok false to run without compression.
//
// With takeover the server keeps the context in each direction the client
// allows: it omits server_no_context_takeover unless the client asked for
// it or limited the server's window below 15 bits (compress/flate always
// refers up to 32 KiB back, so such output is compressed message by
// message), and omits client_no_context_takeover unless the client asked
// for it. Without takeover both parameters are always in the answer, so
// that the connection keeps no compression state between messages.
func acceptDeflate(offers [][]extParam, takeover bool) (resp string, p deflateParams, ok bool) {
next:
	for _, off := range offers {
		if off[0].name != deflateName {
			continue
		}
		p = deflateParams{serverBits: 15, clientBits: 15}
		seen := map[string]bool{}
		for _, x := range off[1:] {
			if seen[x.name] {
				continue next
			}
			seen[x.name] = true
			switch x.name {
			case "server_no_context_takeover", "client_no_context_takeover":
				if x.value != "" {
					continue next
				}
			case "server_max_window_bits":
				n, ok := windowBits(x.value)
				if !ok {
					continue next
				}
				p.serverBits = n
			case "client_max_window_bits":
				if x.value != "" {
					if _, ok := windowBits(x.value); !ok {
						continue next
					}
				}
			default:
				continue next
			}
		}
		p.serverNoContext = !takeover || seen["server_no_context_takeover"] || p.serverBits < 15
		p.clientNoContext = !takeover || seen["client_no_context_takeover"]
		resp = deflateName
		if p.serverNoContext {
			resp += "; server_no_context_takeover"
		}
		if p.clientNoContext {
			resp += "; client_no_context_takeover"
		}
		if seen["server_max_window_bits"] {
			resp += "; server_max_window_bits=" + strconv.Itoa(p.serverBits)
		}
		return resp, p, true
	}
	return "", deflateParams{}, false
}

// clientDeflateOffer is what the client asks for. Like browsers it offers
// client_max_window_bits, so that the server may choose the window of the
// client's output. Without takeover it also asks both sides to compress
// each message on its own, so that the connection keeps no compression
// state between messages.
func clientDeflateOffer(takeover bool) string {
	if takeover {
		return deflateName + "; client_max_window_bits"
	}
	return deflateName + "; server_no_context_takeover; client_no_context_takeover; client_max_window_bits"
}

// checkDeflateResponse validates the server's answer to
// clientDeflateOffer(takeover) (RFC 7692 sections 5 and 7.1): each
// parameter at most once, window bits 8 to 15, no parameter the offer did
// not allow. It returns whether compression is on and with what
// parameters; an error means the client must fail the connection.
func checkDeflateResponse(h http.Header, takeover bool) (bool, deflateParams, error) {
	p := deflateParams{serverBits: 15, clientBits: 15}
	offers, ok := parseExtensions(h)
	if !ok {
		return false, p, errors.New("malformed Sec-WebSocket-Extensions in response")
	}
	if len(offers) == 0 {
		return false, p, nil
	}
	if len(offers) > 1 || offers[0][0].name != deflateName {
		return false, p, errors.New("server accepted an extension that was not offered")
	}
	seen := map[string]bool{}
	for _, x := range offers[0][1:] {
		if seen[x.name] {
			return false, p, errors.New("duplicate permessage-deflate parameter " + x.name)
		}
		seen[x.name] = true
		switch x.name {
		case "server_no_context_takeover", "client_no_context_takeover":
			if x.value != "" {
				return false, p, errors.New("permessage-deflate parameter " + x.name + " has a value")
			}
		case "server_max_window_bits", "client_max_window_bits":
			n, ok := windowBits(x.value)
			if !ok {
				return false, p, errors.New("bad " + x.name + " " + strconv.Quote(x.value) + " (want 8 to 15)")
			}
			if x.name == "server_max_window_bits" {
				p.serverBits = n
			} else {
				p.clientBits = n
			}
		default:
			return false, p, errors.New("unexpected permessage-deflate parameter " + x.name)
		}
	}
	p.serverNoContext = seen["server_no_context_takeover"]
	p.clientNoContext = seen["client_no_context_takeover"]
	if !takeover && !p.serverNoContext {
		return false, p, errors.New("server did not accept server_no_context_takeover")
	}
	return true, p, nil
}
