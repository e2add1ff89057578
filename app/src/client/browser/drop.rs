//! Files dropped anywhere on the dashboard or pasted into it go to the upload queue.
//! Listened for on the window, so a drop is never lost to a spot that does not handle
//! it (the browser would navigate away to show the file).

use leptos::{ev, prelude::*};
use web_sys::{DataTransfer, File};

use super::upload::Sender;

/// The files a transfer carries.
fn files(transfer: Option<DataTransfer>) -> Vec<File> {
    let Some(list) = transfer.and_then(|t| t.files()) else { return Vec::new() };
    (0..list.length()).filter_map(|i| list.get(i)).collect()
}

/// Whether a drag carries files (not text or a link dragged within the page).
fn carries_files(transfer: Option<DataTransfer>) -> bool {
    transfer.is_some_and(|t| t.types().includes(&"Files".into(), 0))
}

/// Routes drops and pastes to `sender`; `dragging` is true while files are held over the
/// page, for the overlay that says where they will go.
pub fn listen(sender: Sender, dragging: RwSignal<bool>) {
    // dragenter/dragleave fire for every child crossed: count them.
    let depth = StoredValue::new(0i32);
    let handles = [
        window_event_listener(ev::dragenter, move |e| {
            if carries_files(e.data_transfer()) {
                e.prevent_default();
                depth.update_value(|d| *d += 1);
                dragging.set(true);
            }
        }),
        window_event_listener(ev::dragover, move |e| {
            if carries_files(e.data_transfer()) {
                // Without this the browser refuses the drop.
                e.prevent_default();
            }
        }),
        window_event_listener(ev::dragleave, move |_| {
            depth.update_value(|d| *d = (*d - 1).max(0));
            if depth.get_value() == 0 {
                dragging.set(false);
            }
        }),
        window_event_listener(ev::drop, move |e| {
            depth.set_value(0);
            dragging.set(false);
            let dropped = files(e.data_transfer());
            if !dropped.is_empty() {
                e.prevent_default();
                sender.add(dropped);
            }
        }),
    ];
    let paste = window_event_listener(ev::paste, move |e| {
        let pasted = files(e.clipboard_data());
        if !pasted.is_empty() {
            e.prevent_default();
            sender.add(pasted);
        }
    });
    on_cleanup(move || {
        for handle in handles {
            handle.remove();
        }
        paste.remove();
    });
}
