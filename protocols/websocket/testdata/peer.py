"""Independent WebSocket peer (Python websockets) for the interop tests.

  peer.py client URL   run the scenario against an echo server, print OK
  peer.py server       run an echo server, print its port
"""
import asyncio
import sys

import websockets


async def client(url):
    async with websockets.connect(url, compression="deflate", max_size=2**24) as ws:
        await ws.send("hello")
        assert await ws.recv() == "hello", "text echo"
        data = bytes(range(256))
        await ws.send(data)
        assert await ws.recv() == data, "binary echo"
        big = "κόσμε 0123456789 " * 12000
        await ws.send(big)
        assert await ws.recv() == big, "big text echo"
        await ws.send(["frag", "men", "ted"])
        assert await ws.recv() == "fragmented", "fragmented echo"
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, 5)
        ext = ws.response_headers.get("Sec-WebSocket-Extensions", "")
        assert "permessage-deflate" in ext, "compression not negotiated: " + ext
        await ws.close(code=4000, reason="done")
        assert ws.close_code == 4000, "close code %r" % ws.close_code
    print("OK", flush=True)


async def echo(ws, path=None):
    async for msg in ws:
        await ws.send(msg)


async def server():
    async with websockets.serve(echo, "127.0.0.1", 0, compression="deflate", max_size=2**24) as srv:
        print(srv.sockets[0].getsockname()[1], flush=True)
        await asyncio.wait_for(asyncio.Future(), 60)


if __name__ == "__main__":
    try:
        if sys.argv[1] == "client":
            asyncio.run(client(sys.argv[2]))
        else:
            asyncio.run(server())
    except asyncio.TimeoutError:
        pass
