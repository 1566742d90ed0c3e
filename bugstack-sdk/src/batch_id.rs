//! Batch ids: the idempotency key each batch carries
//! (`bugstack_core::Batch::batch_id`). A batch gets a random id when it is
//! first formed and keeps it through every retry, the in-memory outbox and
//! the disk spool, so the collector counts a batch whose answer was lost
//! once. A batch split in two (a `413`) or cut into chunks on replay gives
//! each part an id derived from its own, the same on every attempt.

/// A new random batch id (128 bits, hex).
pub(crate) fn new() -> String {
    format!("{:032x}", fastrand::u128(..))
}

/// The id of part `i` of the batch with id `id`.
pub(crate) fn part(id: &str, i: usize) -> String {
    format!("{id}.{i}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_unique_and_parts_are_stable() {
        let (a, b) = (super::new(), super::new());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert_eq!(super::part(&a, 1), super::part(&a, 1));
        assert_ne!(super::part(&a, 0), super::part(&a, 1));
        assert!(super::part(&a, 1).len() <= bugstack_core::MAX_BATCH_ID_LEN);
    }
}
