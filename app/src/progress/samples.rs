//! Uploads and events as tests of the progress rules and the board build them.

use shared::{ProgressEvent, Stage, Upload, UploadEvent, UploadId, UploadStatus};

pub fn id() -> UploadId {
    UploadId::parse("0191c1d2-6b0e-7a3c-9f00-1234567890ab").unwrap()
}

pub fn progress(status: UploadStatus, stage: Stage, percent: u8, page: Option<u32>) -> UploadEvent {
    UploadEvent::Progress(ProgressEvent {
        upload_id: id(),
        status,
        stage: Some(stage),
        percent,
        bytes_received: None,
        bytes_total: None,
        page,
        pages: page.map(|_| 4),
        message: None,
        ahead: None,
        attempt: 1,
        at: String::new(),
        upload: None,
    })
}

pub fn upload(client_ref: Option<&str>) -> Upload {
    Upload {
        id: id(),
        filename: "a.pdf".into(),
        size: 10,
        content_type: None,
        sha256: None,
        status: UploadStatus::Uploading,
        stage: Some(Stage::Receiving),
        percent: 0,
        pages: None,
        error: None,
        created_at: String::new(),
        updated_at: String::new(),
        client_ref: client_ref.map(str::to_owned),
        has_text: false,
        attempt: 1,
        width: None,
        height: None,
        has_thumbnail: false,
    }
}
