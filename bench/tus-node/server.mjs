// tus's own Node.js reference server (@tus/server with its FileStore), for `make bench`
// to send the same upload to as to Uplink: `node server.mjs <directory>`. It prints
// `listening on <port>` once it listens on 127.0.0.1. Installed from npm by the Makefile
// into target/bench/tus-node, never into the repository.
import http from "node:http";
import { Server } from "@tus/server";
import { FileStore } from "@tus/file-store";

const tus = new Server({ path: "/files", datastore: new FileStore({ directory: process.argv[2] }) });
const server = http.createServer((req, res) => tus.handle(req, res));
server.listen(0, "127.0.0.1", () => console.log(`listening on ${server.address().port}`));
