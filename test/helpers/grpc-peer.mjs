// A gRPC server or client on @grpc/grpc-js under Node 20 (tests only; an implementation that is
// not ours): raw-bytes messages, no protobuf.
//   node grpc-peer.mjs server <key.pem> <cert.pem>         prints {"port": N}, serves until killed
//   node grpc-peer.mjs client <proxy port> <target> <ca.pem> prints one JSON line of results
// Service t.T: Unary echoes "echo:" + the request with trailing metadata x-detail: fine;
// Deny answers PERMISSION_DENIED with x-detail: oops before any message (a Trailers-Only
// response); Stream sends three messages, 200 ms apart, then OK.
import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";

const raw = (b) => b;
const method = (name, responseStream) => ({
  path: `/t.T/${name}`,
  requestStream: false,
  responseStream,
  requestSerialize: raw,
  requestDeserialize: raw,
  responseSerialize: raw,
  responseDeserialize: raw,
});
const SERVICE = {
  Unary: method("Unary", false),
  Deny: method("Deny", false),
  Stream: method("Stream", true),
};

function metadata(pairs) {
  const m = new grpc.Metadata();
  for (const [k, v] of pairs) m.set(k, v);
  return m;
}

async function server(keyPath, certPath) {
  const s = new grpc.Server();
  s.addService(SERVICE, {
    Unary(call, cb) {
      cb(null, Buffer.concat([Buffer.from("echo:"), call.request]), metadata([["x-detail", "fine"]]));
    },
    Deny(_call, cb) {
      cb({
        code: grpc.status.PERMISSION_DENIED,
        details: "nope",
        metadata: metadata([["x-detail", "oops"]]),
      });
    },
    Stream(call) {
      let n = 0;
      const t = setInterval(() => {
        call.write(Buffer.from(`m${n++}`));
        if (n === 3) {
          clearInterval(t);
          call.end();
        }
      }, 200);
    },
  });
  const creds = grpc.ServerCredentials.createSsl(null, [
    { private_key: readFileSync(keyPath), cert_chain: readFileSync(certPath) },
  ]);
  const port = await new Promise((resolve, reject) =>
    s.bindAsync("127.0.0.1:0", creds, (err, p) => (err ? reject(err) : resolve(p))),
  );
  process.stdout.write(`${JSON.stringify({ port })}\n`);
}

function unary(client, name, body) {
  return new Promise((resolve) => {
    let response = null;
    const call = client.makeUnaryRequest(SERVICE[name].path, raw, raw, Buffer.from(body), (_err, res) => {
      response = res ?? null;
    });
    // The status comes last, with the trailers (or the Trailers-Only metadata).
    call.on("status", (st) =>
      setImmediate(() =>
        resolve({
          code: st.code,
          details: st.code === 0 ? "" : st.details,
          body: response ? response.toString() : null,
          detail: st.metadata.get("x-detail")[0] ?? null,
        }),
      ),
    );
  });
}

function stream(client) {
  return new Promise((resolve) => {
    const got = [];
    const gaps = [];
    let last = Date.now();
    const call = client.makeServerStreamRequest(SERVICE.Stream.path, raw, raw, Buffer.from("go"));
    call.on("data", (m) => {
      got.push(m.toString());
      gaps.push(Date.now() - last);
      last = Date.now();
    });
    call.on("error", (e) => resolve({ code: e.code, got }));
    call.on("status", (st) => {
      if (st.code === 0) resolve({ code: 0, got, minGap: Math.min(...gaps.slice(1)) });
    });
  });
}

async function client(proxyPort, target, caPath) {
  const creds = grpc.credentials.createSsl(readFileSync(caPath));
  process.env.grpc_proxy = `http://127.0.0.1:${proxyPort}`; // grpc-js reads its proxy from there
  const c = new grpc.Client(target, creds);
  const out = {
    unary: await unary(c, "Unary", "hi"),
    deny: await unary(c, "Deny", "x"),
    stream: await stream(c),
  };
  c.close();
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

const [mode, ...args] = process.argv.slice(2);
if (mode === "server") await server(args[0], args[1]);
else await client(Number(args[0]), args[1], args[2]);
