// One Node process uploading a file with tus-js-client, as a script on a user's machine
// would: `node tus-process.mjs <endpoint> <file> <url-storage> <token> <start|resume>`.
// `start` aborts the upload once half of it is sent; `resume` finds that upload through
// the URL storage and finishes it. It prints one JSON line of what it did.
import { readFileSync } from "node:fs";
import * as tus from "tus-js-client";

const [endpoint, file, storage, token, mode] = process.argv.slice(2);
const bytes = readFileSync(file);
const half = bytes.length / 2;
let aborting = false;

const upload = new tus.Upload(bytes, {
  endpoint,
  chunkSize: 4 * 1024 * 1024,
  headers: { Authorization: `Bearer ${token}` },
  metadata: { filename: "half-and-half.bin", filetype: "application/octet-stream" },
  urlStorage: new tus.FileUrlStorage(storage),
  storeFingerprintForResuming: true,
  removeFingerprintOnSuccess: true,
  retryDelays: [],
  onProgress(sent) {
    if (mode === "start" && sent >= half && !aborting) {
      aborting = true;
      // Not terminated: the bytes stay for the next process.
      upload.abort(false).then(() => finish({ aborted: true, url: upload.url, sent }));
    }
  },
  onSuccess() {
    finish({ done: true, url: upload.url });
  },
  onError(error) {
    finish({ error: String(error) }, 1);
  },
});

function finish(result, code = 0) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(code);
}

if (mode === "resume") {
  const previous = await upload.findPreviousUploads();
  if (previous.length !== 1) finish({ error: `${previous.length} previous uploads` }, 1);
  upload.resumeFromPreviousUpload(previous[0]);
}
upload.start();
