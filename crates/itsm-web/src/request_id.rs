//! The id of each request: kept from the caller's `x-request-id` or made new, carried in a task
//! local while the request is handled, and named in every error, log line and audit entry.

use rand::RngCore;

tokio::task_local! {
    /// The id of the request the task is handling, set by [`crate::observe::request_context`].
    pub static REQUEST_ID: String;
}

/// The id of the request being handled, for error bodies and the audit trail.
pub fn current_request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

/// A new request id: 16 hex digits.
pub fn new_request_id() -> String {
    let mut b = [0u8; 8];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}
