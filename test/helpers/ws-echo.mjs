/**
 * RFC 6455 echo for the test origins (run under Node): frames masked by the client come back
 * unmasked, payloads up to 64 KiB; an echoed close frame ends the socket.
 */
export function wsEcho(socket, head) {
  let buf = Buffer.from(head);
  socket.on("data", (d) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      if (buf.length < 2) return;
      const b0 = buf[0];
      const masked = (buf[1] & 0x80) !== 0;
      let len = buf[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        socket.destroy();
        return;
      }
      const need = off + (masked ? 4 : 0) + len;
      if (buf.length < need) return;
      const mask = masked ? buf.subarray(off, off + 4) : null;
      const payload = Buffer.from(buf.subarray(need - len, need));
      if (mask) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
      buf = buf.subarray(need);
      const hdr = len < 126 ? Buffer.from([b0, len]) : Buffer.from([b0, 126, len >> 8, len & 0xff]);
      socket.write(Buffer.concat([hdr, payload]));
      if ((b0 & 0x0f) === 0x8) socket.end(); // close frame echoed: done
    }
  });
}
