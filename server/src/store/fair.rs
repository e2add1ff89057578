//! Which waiting job starts next: accounts take turns, and each account's jobs start in
//! the order they arrived, so one account's 500 queued files hold up another account's
//! single file by one job at most, not by 500.

use std::{
    collections::{HashMap, VecDeque},
    sync::Arc,
};

use shared::UploadId;

#[derive(Debug, Default)]
pub struct FairQueue {
    /// Accounts with waiting jobs, the one whose turn is next first.
    turns: VecDeque<Arc<str>>,
    waiting: HashMap<Arc<str>, VecDeque<UploadId>>,
}

impl FairQueue {
    /// Adds `id` at the end of `owner`'s jobs; a new account takes the last turn.
    pub fn push(&mut self, owner: &str, id: UploadId) {
        match self.waiting.get_mut(owner) {
            Some(jobs) => jobs.push_back(id),
            None => {
                let owner: Arc<str> = owner.into();
                self.turns.push_back(Arc::clone(&owner));
                self.waiting.insert(owner, VecDeque::from([id]));
            }
        }
    }

    /// The next job to start: the first of the account whose turn it is.
    pub fn pop(&mut self) -> Option<UploadId> {
        let owner = self.turns.pop_front()?;
        let jobs = self.waiting.get_mut(&owner)?;
        let id = jobs.pop_front();
        if jobs.is_empty() {
            self.waiting.remove(&owner);
        } else {
            self.turns.push_back(owner);
        }
        id
    }

    /// Takes `id` out of the queue (a cancelled or deleted upload). False if it was not
    /// waiting.
    pub fn remove(&mut self, id: &UploadId) -> bool {
        let Some((owner, jobs)) = self.waiting.iter_mut().find(|(_, jobs)| jobs.contains(id))
        else {
            return false;
        };
        jobs.retain(|job| job != id);
        if jobs.is_empty() {
            let owner = Arc::clone(owner);
            self.waiting.remove(&owner);
            self.turns.retain(|o| *o != owner);
        }
        true
    }

    pub fn contains(&self, id: &UploadId) -> bool {
        self.waiting.values().any(|jobs| jobs.contains(id))
    }

    fn len(&self) -> usize {
        self.waiting.values().map(VecDeque::len).sum()
    }

    /// Every waiting job in the order they will start if nothing else arrives: a job's
    /// index is how many jobs are ahead of it.
    pub fn order(&self) -> Vec<&UploadId> {
        let mut order = Vec::with_capacity(self.len());
        let mut rows: Vec<_> = self.turns.iter().filter_map(|o| self.waiting.get(o)).collect();
        let mut round = 0;
        while !rows.is_empty() {
            rows.retain(|jobs| jobs.len() > round);
            order.extend(rows.iter().map(|jobs| &jobs[round]));
            round += 1;
        }
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u32) -> UploadId {
        UploadId::parse(&format!("0191c1d2-6b0e-7a3c-9f00-{n:012}")).unwrap()
    }

    fn drain(queue: &mut FairQueue) -> Vec<UploadId> {
        std::iter::from_fn(|| queue.pop()).collect()
    }

    #[test]
    fn accounts_take_turns_and_each_keeps_its_own_order() {
        let mut queue = FairQueue::default();
        for n in 1..=500 {
            queue.push("a", id(n));
        }
        queue.push("b", id(1000));
        queue.push("c", id(2000));
        queue.push("c", id(2001));
        let expected: Vec<UploadId> =
            [1, 1000, 2000, 2, 2001].into_iter().chain(3..=500).map(id).collect();
        let promised: Vec<UploadId> = queue.order().into_iter().cloned().collect();
        assert_eq!(promised, expected, "the order it promises");
        assert_eq!(drain(&mut queue), expected, "is the order it keeps");
        assert_eq!(queue.len(), 0);
    }

    #[test]
    fn a_newcomer_waits_for_at_most_one_job_per_account_already_waiting() {
        let mut queue = FairQueue::default();
        for n in 1..=200 {
            queue.push("a", id(n));
        }
        assert_eq!(queue.pop(), Some(id(1)));
        queue.push("b", id(1000));
        let ahead = queue.order().iter().position(|j| **j == id(1000));
        assert_eq!(ahead, Some(1), "one of a's jobs, then b's");
    }

    #[test]
    fn removed_jobs_never_start_and_an_emptied_account_loses_its_turn() {
        let mut queue = FairQueue::default();
        queue.push("a", id(1));
        queue.push("b", id(2));
        queue.push("a", id(3));
        assert!(queue.remove(&id(2)));
        assert!(!queue.remove(&id(2)), "already gone");
        assert_eq!(queue.len(), 2);
        assert_eq!(drain(&mut queue), [id(1), id(3)]);
    }
}
