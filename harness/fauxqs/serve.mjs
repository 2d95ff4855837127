// fauxqs (npm, pinned in package.json) as the local stack's SQS emulator, on 127.0.0.1 only.
//
//   node serve.mjs PORT REGION
//
// fauxqs's own entry points (`fauxqs` CLI, startFauxqs) always listen on 0.0.0.0; the project's servers bind
// loopback only, so this builds fauxqs's app with its public `buildApp` and listens on 127.0.0.1 itself.
// Its queue URLs name the request's host (http://127.0.0.1:PORT/000000000000/NAME, as moto's do) rather than
// fauxqs's default http://sqs.REGION.localhost:PORT/..., so a queue URL is also a reachable endpoint: the
// store is built here with no host (SqsStore is not in the package's exports; the version is pinned).
// Readiness: GET /health. SIGTERM/SIGINT close the server and exit 0.
import { buildApp } from "fauxqs";
import { SqsStore } from "./node_modules/fauxqs/dist/sqs/sqsStore.js";

const LOOPBACK = "127.0.0.1";
const [portArg, region = "eu-west-2"] = process.argv.slice(2);
const port = Number(portArg);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error(`usage: node serve.mjs PORT [REGION] (got port ${JSON.stringify(portArg)})`);
  process.exit(2);
}

const sqsStore = new SqsStore();
sqsStore.host = "";
const app = buildApp({ logger: false, defaultRegion: region, stores: { sqsStore } });
await app.listen({ port, host: LOOPBACK });
const bound = app.server.address();
if (bound === null || typeof bound === "string" || bound.address !== LOOPBACK) {
  console.error(`fauxqs bound ${JSON.stringify(bound)}, not ${LOOPBACK}: refusing to serve`);
  process.exit(1);
}
console.log(`fauxqs listening on http://${LOOPBACK}:${bound.port} (region ${region})`);

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
