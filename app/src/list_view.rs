//! Which uploads the list shows: a status filter, a search by name, and how many (the
//! list renders a page at a time, so a thousand uploads never make a thousand cards).

use leptos::prelude::*;

use crate::progress::Phase;

/// Cards rendered per page of the list.
pub const PAGE: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    All,
    /// Anything not finished: waiting, sending, queued, processing.
    Active,
    Done,
    Failed,
    Cancelled,
}

impl Filter {
    pub const EVERY: [Filter; 5] =
        [Filter::All, Filter::Active, Filter::Done, Filter::Failed, Filter::Cancelled];

    pub fn label(self) -> &'static str {
        match self {
            Self::All => "All",
            Self::Active => "In progress",
            Self::Done => "Done",
            Self::Failed => "Failed",
            Self::Cancelled => "Cancelled",
        }
    }

    /// For tests and styling.
    pub fn key(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Active => "active",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// Whether a card in `phase` belongs.
    pub fn admits(self, phase: Phase) -> bool {
        match self {
            Self::All => true,
            Self::Active => !phase.finished(),
            Self::Done => phase == Phase::Done,
            Self::Failed => phase == Phase::Failed,
            Self::Cancelled => phase == Phase::Cancelled,
        }
    }
}

/// Whether `filename` matches a search, case-insensitively; `query` is lowercased.
pub fn name_matches(filename: &str, query: &str) -> bool {
    query.is_empty() || filename.to_lowercase().contains(query)
}

/// The list's controls, shared by the totals bar (which sets them) and the list.
#[derive(Clone, Copy)]
pub struct ListView {
    pub filter: RwSignal<Filter>,
    pub query: RwSignal<String>,
    /// How many matching cards are rendered.
    pub shown: RwSignal<usize>,
}

impl ListView {
    pub fn new() -> Self {
        Self {
            filter: RwSignal::new(Filter::All),
            query: RwSignal::new(String::new()),
            shown: RwSignal::new(PAGE),
        }
    }
}

impl Default for ListView {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_sort_phases_into_finished_and_not() {
        use Phase::*;
        let phases = [Waiting, Sending, Uploading, Queued, Processing, Done, Failed, Cancelled];
        let admitted = |f: Filter| phases.iter().filter(|p| f.admits(**p)).count();
        assert_eq!(admitted(Filter::All), 8);
        assert_eq!(admitted(Filter::Active), 5);
        assert!(Filter::Failed.admits(Failed) && !Filter::Failed.admits(Done));
        assert!(name_matches("Quarterly Report.PDF", "report"));
        assert!(!name_matches("notes.txt", "report"));
        assert!(name_matches("anything", ""));
    }
}
