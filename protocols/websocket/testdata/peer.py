"""Independent WebSocket peer (Python websockets) for the interop tests.

  peer.py client URL [PARAMS]   run the scenario against an echo server, print OK
  peer.py server [PARAMS]       run an echo server, print its port

PARAMS is a JSON object of permessage-deflate parameters
(server_no_context_takeover, client_no_context_takeover,
server_max_window_bits, client_max_window_bits); without it the library's
defaults for compression="deflate" apply.
"""
import asyncio
import json
import sys

import websockets
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
)


def chat(i):
    return '{"type":"message","room":"general","from":"user%d","text":"message number %d, hello again"}' % (i % 5, i)


def options(params, factory):
    if params is None:
        return {"compression": "deflate"}
    return {"compression": None, "extensions": [factory(**params)]}


async def client(url, params):
    opts = options(params, ClientPerMessageDeflateFactory)
    async with websockets.connect(url, max_size=2**24, **opts) as ws:
        await ws.send("hello")
        assert await ws.recv() == "hello", "text echo"
        data = bytes(range(256))
        await ws.send(data)
        assert await ws.recv() == data, "binary echo"
        big = "κόσμε 0123456789 " * 12000
        await ws.send(big)
        assert await ws.recv() == big, "big text echo"
        for i in range(40):
            await ws.send(chat(i))
            assert await ws.recv() == chat(i), "chat echo %d" % i
        await ws.send(["frag", "men", "ted"])
        assert await ws.recv() == "fragmented", "fragmented echo"
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, 5)
        ext = ws.response_headers.get("Sec-WebSocket-Extensions", "")
        assert "permessage-deflate" in ext, "compression not negotiated: " + ext
        await ws.close(code=4000, reason="done")
        assert ws.close_code == 4000, "close code %r" % ws.close_code
    print("OK", ext, flush=True)


async def echo(ws, path=None):
    async for msg in ws:
        await ws.send(msg)


async def server(params):
    opts = options(params, ServerPerMessageDeflateFactory)
    async with websockets.serve(echo, "127.0.0.1", 0, max_size=2**24, **opts) as srv:
        print(srv.sockets[0].getsockname()[1], flush=True)
        await asyncio.wait_for(asyncio.Future(), 60)


if __name__ == "__main__":
    try:
        if sys.argv[1] == "client":
            asyncio.run(client(sys.argv[2], json.loads(sys.argv[3]) if len(sys.argv) > 3 else None))
        else:
            asyncio.run(server(json.loads(sys.argv[2]) if len(sys.argv) > 2 else None))
    except asyncio.TimeoutError:
        pass
