"""A next hop for the relay tests that records what arrives how: an asyncio
SMTP server in a thread, on a free loopback port. Per connection it keeps
every read as one batch of command lines, so a test can see whether
MAIL, RCPT and DATA came in one write (PIPELINING) or one at a time.

Replies: EHLO advertises PIPELINING when asked; RCPT to an address whose
local part starts with "bad" gets 550 5.1.1; the first `slow_first_dot`
seconds are slept before the reply to the first message's final dot (so
that messages queued meanwhile wait for the one connection); with
refuse_rset, RSET gets 421 and the connection is closed."""
import asyncio
import threading
import time


class NextHop:
    def __init__(self, pipelining=True, slow_first_dot=0.0, port=0, refuse_rset=False, bye_after_first=False):
        # bye_after_first: right behind the first message's 250, an
        # out-of-turn "421" on the same write, then 1.5 s of silence and close.
        self.bye_after_first = bye_after_first
        self.pipelining = pipelining
        self.refuse_rset = refuse_rset  # 421 to RSET and close (a server that limits messages per connection)
        self.slow_first_dot = slow_first_dot
        self.connections = []  # per connection: list of batches (lists of lines)
        self.messages = []     # (mail from, [rcpts], body bytes)
        self.lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._port = port
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("next hop did not start")

    def _run(self):
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._session, "127.0.0.1", self._port))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    def close(self):
        async def shutdown():
            self._server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def commands(self, conn):
        """The command lines of one connection, in order (message bodies left out)."""
        with self.lock:
            return [line for batch in self.connections[conn] for line in batch]

    def batches(self, conn):
        with self.lock:
            return [list(b) for b in self.connections[conn]]

    async def _session(self, reader, writer):
        with self.lock:
            self.connections.append([])
            batches = self.connections[-1]
        writer.write(b"220 hop.test ESMTP recorder\r\n")
        buf = b""
        in_data = False
        body = []
        mail, rcpts = None, []
        try:
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                buf += chunk
                batch = []
                while b"\r\n" in buf:
                    line, buf = buf.split(b"\r\n", 1)
                    if in_data:
                        if line == b".":
                            in_data = False
                            with self.lock:
                                self.messages.append((mail, list(rcpts), b"\r\n".join(body)))
                                first = len(self.messages) == 1
                            if first and self.slow_first_dot:
                                await writer.drain()
                                await asyncio.sleep(self.slow_first_dot)
                            if first and self.bye_after_first:
                                writer.write(b"250 2.0.0 Ok: queued\r\n421 4.4.2 hop.test Error: timeout\r\n")
                                await writer.drain()
                                await asyncio.sleep(1.5)
                                with self.lock:
                                    batches.append(batch)
                                writer.close()
                                return
                            writer.write(b"250 2.0.0 Ok: queued\r\n")
                            mail, rcpts, body = None, [], []
                        else:
                            body.append(line)
                        continue
                    text = line.decode("ascii", "replace")
                    batch.append(text)
                    verb = text.split(" ", 1)[0].split(":", 1)[0].upper()
                    if verb == "EHLO":
                        ext = "250-PIPELINING\r\n" if self.pipelining else ""
                        writer.write(f"250-hop.test\r\n{ext}250-8BITMIME\r\n250 SIZE 10000000\r\n".encode())
                    elif verb == "HELO":
                        writer.write(b"250 hop.test\r\n")
                    elif verb == "MAIL":
                        mail = text[10:]
                        writer.write(b"250 2.1.0 Ok\r\n")
                    elif verb == "RCPT":
                        addr = text[8:].strip("<>")
                        if addr.startswith("bad"):
                            writer.write(f"550 5.1.1 <{addr}>: Recipient address rejected\r\n".encode())
                        else:
                            rcpts.append(addr)
                            writer.write(b"250 2.1.5 Ok\r\n")
                    elif verb == "DATA":
                        if rcpts:
                            in_data = True
                            writer.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                        else:
                            writer.write(b"554 5.5.1 Error: no valid recipients\r\n")
                    elif verb == "RSET" and self.refuse_rset:
                        writer.write(b"421 4.7.0 hop.test Error: too many messages on this connection\r\n")
                        with self.lock:
                            batches.append(batch)
                        await writer.drain()
                        writer.close()
                        return
                    elif verb == "RSET":
                        mail, rcpts = None, []
                        writer.write(b"250 2.0.0 Ok\r\n")
                    elif verb == "QUIT":
                        writer.write(b"221 2.0.0 Bye\r\n")
                        with self.lock:
                            batches.append(batch)
                        await writer.drain()
                        writer.close()
                        return
                    else:
                        writer.write(b"502 5.5.2 Error: command not recognized\r\n")
                if batch:
                    with self.lock:
                        batches.append(batch)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()


def wait_until(pred, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
