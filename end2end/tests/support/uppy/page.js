// A page of another origin, as a deployment's own site would embed Uppy: core, the
// dashboard and the Tus plugin, bundled from npm by esbuild (uppy.ts). It records what
// Uppy reports in `window.seen` for the spec to wait on.
import Uppy from "@uppy/core";
import Dashboard from "@uppy/dashboard";
import Tus from "@uppy/tus";

window.seen = { progress: 0, retries: 0, offline: false, online: false, url: null, error: null };

window.startUppy = (endpoint, token, bytes) => {
  const uppy = new Uppy({ autoProceed: true })
    .use(Dashboard, { inline: true, target: "#uppy" })
    .use(Tus, {
      endpoint,
      headers: { Authorization: `Bearer ${token}` },
      chunkSize: 1024 * 1024,
      retryDelays: [0, 250, 500, 1000, 2000],
      onShouldRetry(error, attempt, options, next) {
        window.seen.retries += 1;
        return next(error);
      },
    });
  uppy.on("upload-progress", (file, progress) => {
    window.seen.progress = progress.bytesUploaded;
  });
  uppy.on("is-offline", () => (window.seen.offline = true));
  uppy.on("back-online", () => (window.seen.online = true));
  uppy.on("upload-success", (file, response) => (window.seen.url = response.uploadURL));
  uppy.on("upload-error", (file, error) => (window.seen.error = String(error)));
  const data = new Uint8Array(bytes);
  for (let i = 0; i < data.length; i += 1) data[i] = (i * 7) % 251;
  uppy.addFile({ name: "from-uppy.bin", type: "application/octet-stream", data: new Blob([data]) });
};
