use super::*;

#[test]
fn each_kind_gets_its_own_allowance_per_minute_and_reports_what_it_held_back() {
    let mut limit = RateLimit::new(2);
    let start = Instant::now();
    let at = |secs: u64| start + Duration::from_secs(secs);
    assert_eq!(limit.admit("forged_message", at(0)), Some(0));
    assert_eq!(limit.admit("forged_message", at(1)), Some(0));
    assert_eq!(limit.admit("forged_message", at(2)), None);
    assert_eq!(limit.admit("forged_message", at(3)), None);
    // Another kind is not held back by the first one's flood.
    assert_eq!(limit.admit("outbox_backlog", at(3)), Some(0));
    assert_eq!(limit.admit("forged_message", at(59)), None);
    // A new minute: the first one out says how many were held back.
    assert_eq!(limit.admit("forged_message", at(60)), Some(3));
    assert_eq!(limit.admit("forged_message", at(61)), Some(0));
    assert_eq!(limit.admit("forged_message", at(62)), None);
}

#[test]
fn an_alarm_raises_once_per_episode() {
    let mut alarm = Alarm::default();
    let changes: Vec<_> = [false, true, true, false, false, true]
        .into_iter()
        .map(|holds| alarm.observe(holds))
        .collect();
    assert_eq!(
        changes,
        [
            None,
            Some(AlarmChange::Raised),
            None,
            Some(AlarmChange::Cleared),
            None,
            Some(AlarmChange::Raised)
        ]
    );
}

#[tokio::test]
async fn raising_never_waits_and_what_does_not_fit_is_dropped() {
    let (sender, mut receiver) = mpsc::channel(PENDING_ALERTS);
    let alerts = Alerts::with_queue("test", u32::MAX, Some(sender));
    // Nobody publishes: the queue fills, and raising still returns at once.
    for n in 0..PENDING_ALERTS + 100 {
        alerts.raise(Alert::new("forged_message", "refused").with("n", n));
    }
    let mut queued = Vec::new();
    while let Ok(alert) = receiver.try_recv() {
        queued.push(alert);
    }
    assert_eq!(queued.len(), PENDING_ALERTS);
    let first = &queued[0];
    assert_eq!(first.kind, "forged_message");
    assert_eq!(first.service, "test");
    assert_eq!(first.details.get("n"), Some(&Value::from(0)));
    assert_eq!(first.suppressed, 0);
}

#[tokio::test]
async fn a_published_alert_is_the_documented_json() {
    let (sender, mut receiver) = mpsc::channel(4);
    let alerts = Alerts::with_queue("bet-maker", 6, Some(sender));
    alerts.raise(
        Alert::new("forged_message", "line message refused; dead-lettered")
            .with("reason", "bad_signature"),
    );
    let alert = receiver.try_recv().unwrap_or_else(|e| panic!("{e}"));
    let json = serde_json::to_value(&alert).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(json["kind"], "forged_message");
    assert_eq!(json["service"], "bet-maker");
    assert_eq!(json["summary"], "line message refused; dead-lettered");
    assert_eq!(
        json["details"],
        serde_json::json!({"reason": "bad_signature"})
    );
    assert_eq!(json["suppressed"], 0);
    assert!(
        json["instance"]
            .as_str()
            .is_some_and(|name| !name.is_empty())
    );
    assert!(
        json["raised_at"]
            .as_str()
            .is_some_and(|at| DateTime::parse_from_rfc3339(at).is_ok()),
        "{json}"
    );
}
