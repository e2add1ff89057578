//! tus as the dashboard speaks it: a file goes up as a resumable upload, one chunk per
//! XMLHttpRequest (so the bar moves with the bytes, which fetch cannot report). A
//! dropped connection or the browser going offline costs at most the chunk in flight:
//! the transfer asks the server where it stands (HEAD) and goes on from there, with
//! backoff, once the network is back. Each upload's address is kept in `localStorage`
//! under the file's name, size and modification time, so picking the same file after a
//! reload goes on instead of starting over.

use std::{cell::RefCell, rc::Rc};

use js_sys::Promise;
use shared::routes;
use wasm_bindgen::{closure::Closure, JsCast};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, File, ProgressEvent, XmlHttpRequest};

/// What a request came back with.
pub struct Answer {
    pub status: u16,
    xhr: XmlHttpRequest,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<String> {
        self.xhr.get_response_header(name).ok().flatten()
    }

    pub fn offset(&self) -> Option<u64> {
        self.header("Upload-Offset").and_then(|v| v.trim().parse().ok())
    }

    /// The server's message for a refusal.
    pub fn refusal(&self) -> String {
        let body = self.xhr.response_text().ok().flatten().unwrap_or_default();
        super::refusal(&body, self.status)
    }
}

/// The request a transfer has in flight, so a cancel or a pause can cut it.
pub type InFlight = Rc<RefCell<Option<XmlHttpRequest>>>;

/// Sends one request; `Err` when no answer came (the network, or a cut by `abort`).
/// `progress` hears the body's bytes sent so far.
async fn request(
    method: &str,
    url: &str,
    headers: &[(&str, String)],
    body: Option<&Blob>,
    progress: Option<Box<dyn FnMut(u64)>>,
    in_flight: &InFlight,
) -> Result<Answer, ()> {
    let xhr = XmlHttpRequest::new().map_err(|_| ())?;
    xhr.open(method, url).map_err(|_| ())?;
    xhr.set_request_header("Tus-Resumable", "1.0.0").map_err(|_| ())?;
    for (name, value) in headers {
        xhr.set_request_header(name, value).map_err(|_| ())?;
    }
    let on_progress = progress.map(|mut heard| {
        Closure::<dyn FnMut(ProgressEvent)>::new(move |e: ProgressEvent| heard(e.loaded() as u64))
    });
    if let (Some(on_progress), Ok(upload)) = (&on_progress, xhr.upload()) {
        upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
    }
    // `loadend` comes once, after an answer, an error or an abort.
    let ended = Promise::new(&mut |resolve, _| xhr.set_onloadend(Some(&resolve)));
    let sent = match body {
        Some(body) => xhr.send_with_opt_blob(Some(body)),
        None => xhr.send(),
    };
    sent.map_err(|_| ())?;
    in_flight.replace(Some(xhr.clone()));
    let _ = JsFuture::from(ended).await;
    in_flight.replace(None);
    if let Ok(upload) = xhr.upload() {
        upload.set_onprogress(None);
    }
    drop(on_progress);
    match xhr.status().unwrap_or(0) {
        0 => Err(()),
        status => Ok(Answer { status, xhr }),
    }
}

/// `Upload-Metadata`: each value base64, as the protocol has it.
fn metadata(pairs: &[(&str, &str)]) -> String {
    let encoded = pairs.iter().filter_map(|(key, value)| {
        let bytes = js_sys::Uint8Array::from(value.as_bytes());
        let binary: String = bytes.to_vec().into_iter().map(char::from).collect();
        let base64 = web_sys::window()?.btoa(&binary).ok()?;
        Some(format!("{key} {base64}"))
    });
    encoded.collect::<Vec<_>>().join(",")
}

/// Creates the upload of `file`; its address, or the refusal.
pub async fn create(
    file: &File,
    client_ref: &str,
    in_flight: &InFlight,
) -> Result<Result<String, Answer>, ()> {
    let (name, kind) = (file.name(), file.type_());
    let mut pairs = vec![("filename", name.as_str()), ("client_ref", client_ref)];
    if !kind.is_empty() {
        pairs.push(("filetype", kind.as_str()));
    }
    let headers = [
        ("Upload-Length", (file.size() as u64).to_string()),
        ("Upload-Metadata", metadata(&pairs)),
    ];
    let answer = request("POST", routes::TUS, &headers, None, None, in_flight).await?;
    Ok(match (answer.status, answer.header("Location")) {
        (201, Some(location)) => Ok(location),
        _ => Err(answer),
    })
}

/// Where the server stands on upload `location`.
pub async fn head(location: &str, in_flight: &InFlight) -> Result<Answer, ()> {
    request("HEAD", location, &[], None, None, in_flight).await
}

/// Sends `file`'s bytes from `offset`, at most `chunk` of them.
pub async fn patch(
    location: &str,
    file: &File,
    offset: u64,
    chunk: u64,
    progress: Box<dyn FnMut(u64)>,
    in_flight: &InFlight,
) -> Result<Answer, ()> {
    let end = (offset + chunk).min(file.size() as u64);
    let part = file.slice_with_f64_and_f64(offset as f64, end as f64).map_err(|_| ())?;
    let headers = [
        ("Upload-Offset", offset.to_string()),
        ("Content-Type", "application/offset+octet-stream".to_owned()),
    ];
    request("PATCH", location, &headers, Some(&part), Some(progress), in_flight).await
}

/// Ends upload `location` (tus termination).
pub async fn terminate(location: &str) {
    let _ = request("DELETE", location, &[], None, None, &InFlight::default()).await;
}

/// Waits `ms` milliseconds.
pub async fn sleep(ms: i32) {
    let timer = Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(timer).await;
}

/// Whether the browser says it is online.
pub fn is_online() -> bool {
    web_sys::window().is_none_or(|w| w.navigator().on_line())
}

/// Returns once the browser says it is online.
pub async fn online() {
    let Some(window) = web_sys::window() else { return };
    if window.navigator().on_line() {
        return;
    }
    let back = Promise::new(&mut |resolve, _| {
        let once = web_sys::AddEventListenerOptions::new();
        once.set_once(true);
        let _ = window.add_event_listener_with_callback_and_add_event_listener_options(
            "online", &resolve, &once,
        );
    });
    let _ = JsFuture::from(back).await;
}

/// The addresses of uploads this browser started and did not finish, by file.
pub mod kept {
    use web_sys::{File, Storage};

    const PREFIX: &str = "uplink.tus:";

    fn storage() -> Option<Storage> {
        web_sys::window()?.local_storage().ok().flatten()
    }

    /// The same file picked again has the same name, size and modification time.
    fn key(file: &File) -> String {
        format!("{PREFIX}{}:{}:{}", file.size() as u64, file.last_modified() as u64, file.name())
    }

    pub fn get(file: &File) -> Option<String> {
        storage()?.get_item(&key(file)).ok().flatten()
    }

    pub fn set(file: &File, location: &str) {
        if let Some(storage) = storage() {
            let _ = storage.set_item(&key(file), location);
        }
    }

    pub fn remove(file: &File) {
        if let Some(storage) = storage() {
            let _ = storage.remove_item(&key(file));
        }
    }

    /// Every address kept, whichever file it is for.
    pub fn locations() -> Vec<String> {
        let Some(storage) = storage() else { return Vec::new() };
        let keys = (0..storage.length().unwrap_or(0)).filter_map(|n| storage.key(n).ok().flatten());
        let ours = keys.filter(|key| key.starts_with(PREFIX));
        ours.filter_map(|key| storage.get_item(&key).ok().flatten()).collect()
    }
}

/// An upload's id, from its address.
pub fn id_of(location: &str) -> Option<shared::UploadId> {
    shared::UploadId::parse(location.rsplit('/').next()?)
}
