//! Webhooks: where they may point (`target`) and the sender that empties the outbox the
//! store fills with each event (`deliver`).

pub mod deliver;
pub mod target;
