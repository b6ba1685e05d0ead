use process_core::{EventKind, ProcessStatus};
use process_store::{NewWebhook, EVENT_RETENTION};

use crate::{at, complete, create, each_backend, new_process, start, user};

#[test]
fn every_change_is_an_event_and_the_outbox_fills_behind_a_cursor() {
    each_backend(|store| {
        let alice = user(store, "alice");
        let early = create(store, &new_process("early", at(1)));
        let hook = store
            .create_webhook(
                &NewWebhook {
                    owner: alice.id,
                    url: "https://hooks.example.org/x".into(),
                    secret: "0123456789abcdef".into(),
                    base_url: "http://localhost".into(),
                    events: vec![EventKind::Completed, EventKind::Created],
                    all_processes: true,
                },
                at(2),
            )
            .unwrap();
        let p = create(store, &new_process("late", at(3)));
        start(store, p.id, 4).unwrap();
        complete(store, p.id, 5).unwrap();

        let events = store.events_after(0, None, 100).unwrap();
        let seen: Vec<(i64, EventKind, ProcessStatus)> = events
            .iter()
            .map(|e| (e.process.id.get(), e.kind, e.process.status()))
            .collect();
        assert_eq!(
            seen,
            [
                (early.id.get(), EventKind::Created, ProcessStatus::Scheduled),
                (p.id.get(), EventKind::Created, ProcessStatus::Scheduled),
                (p.id.get(), EventKind::Running, ProcessStatus::Running),
                (p.id.get(), EventKind::Completed, ProcessStatus::Completed),
            ]
        );
        assert!(events.windows(2).all(|w| w[0].id < w[1].id));
        assert_eq!(store.last_event_id().unwrap(), events[3].id);
        assert!(store
            .events_after(0, Some(alice.id), 100)
            .unwrap()
            .is_empty());

        // The webhook gets the kinds it asked for, of events after its creation only.
        assert_eq!(store.fill_outbox(1).unwrap(), 1);
        assert_eq!(store.fill_outbox(100).unwrap(), 3);
        assert_eq!(store.fill_outbox(100).unwrap(), 0);
        let queued = store
            .deliveries(hook.id, process_core::PageRequest::first(20))
            .unwrap();
        let mut event_ids: Vec<i64> = queued.items.iter().map(|d| d.event_id).collect();
        event_ids.sort_unstable();
        assert_eq!(event_ids, [events[1].id, events[3].id]);

        let delivered = |id: i64| {
            let attempt = process_store::Attempt {
                at: at(8),
                status: Some(204),
                error: None,
                outcome: process_store::AttemptOutcome::Delivered,
            };
            store.record_attempt(id, &attempt).unwrap();
        };
        for d in &queued.items {
            delivered(d.id);
        }

        // A redelivery queues the event once, however often it is asked for.
        let first = &queued.items[0];
        let again = store.redeliver(hook.id, first.id, at(6)).unwrap().unwrap();
        assert_ne!(again.id, first.id);
        assert_eq!(again.event_id, first.event_id);
        let twice = store.redeliver(hook.id, first.id, at(7)).unwrap().unwrap();
        assert_eq!(twice.id, again.id);
        assert!(store.redeliver(hook.id, 999_999, at(7)).unwrap().is_none());

        // Old events go once no delivery of theirs is pending.
        let later = at(5) + EVENT_RETENTION + time::Duration::days(1);
        assert_eq!(store.prune_events(at(5)).unwrap(), 0, "not old yet");
        assert_eq!(store.prune_events(later).unwrap(), 3);
        let kept = store.events_after(0, None, 100).unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].id, again.event_id);
        delivered(again.id);
        assert_eq!(store.prune_events(later).unwrap(), 1);
        assert!(store.events_after(0, None, 100).unwrap().is_empty());
    });
}
