use lapin::types::{FieldArray, LongString};

use super::*;

fn long_string(text: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(text))
}

fn with_headers(entries: Vec<(&str, AMQPValue)>) -> BasicProperties {
    let mut headers = FieldTable::default();
    for (name, value) in entries {
        headers.insert(name.into(), value);
    }
    BasicProperties::default()
        .with_message_id("m-1".into())
        .with_headers(headers)
}

fn x_death(reason: &str) -> AMQPValue {
    let mut death = FieldTable::default();
    death.insert("reason".into(), long_string(reason));
    death.insert("queue".into(), long_string("bet-maker.line-events"));
    death.insert("count".into(), AMQPValue::LongLongInt(1));
    death.insert("time".into(), AMQPValue::Timestamp(1_795_000_000));
    death.insert(
        "routing-keys".into(),
        AMQPValue::FieldArray(FieldArray::from(vec![long_string("event.finished")])),
    );
    let mut older = death.clone();
    older.insert("reason".into(), long_string("expired"));
    AMQPValue::FieldArray(FieldArray::from(vec![
        AMQPValue::FieldTable(death),
        AMQPValue::FieldTable(older),
    ]))
}

#[test]
fn bet_makers_own_reason_is_read_from_its_headers() {
    let properties = with_headers(vec![
        (
            REASON_HEADER,
            long_string("coefficient 9999.99 above 1000.00"),
        ),
        (LABEL_HEADER, long_string("invalid_value")),
        (ROUTING_KEY_HEADER, long_string("event.created")),
        (DEAD_LETTERED_AT_HEADER, AMQPValue::Timestamp(1_795_000_000)),
        // Even if the broker dead-lettered it once before.
        ("x-death", x_death("delivery_limit")),
    ]);

    let letter = read_dead_letter(&properties, "bet-maker.line-events.dlq");

    assert_eq!(
        letter,
        DeadLetter {
            message_id: Some("m-1".to_owned()),
            routing_key: "event.created".to_owned(),
            label: "invalid_value".to_owned(),
            reason: "coefficient 9999.99 above 1000.00".to_owned(),
            dead_lettered_at: DateTime::from_timestamp(1_795_000_000, 0),
        }
    );
}

#[test]
fn a_broker_dead_letter_is_read_from_the_latest_x_death() {
    let properties = with_headers(vec![("x-death", x_death("delivery_limit"))]);

    let letter = read_dead_letter(&properties, "bet-maker.line-events.dlq");

    assert_eq!(letter.label, "broker_delivery_limit");
    assert_eq!(letter.routing_key, "event.finished");
    assert_eq!(
        letter.dead_lettered_at,
        DateTime::from_timestamp(1_795_000_000, 0)
    );
    assert!(
        letter.reason.contains("bet-maker.line-events")
            && letter.reason.contains("x-delivery-limit")
            && letter.reason.contains("1 time(s)"),
        "{letter:?}"
    );
}

#[test]
fn a_message_nobody_dead_lettered_is_unknown() {
    let letter = read_dead_letter(&BasicProperties::default(), "q.dlq");

    assert_eq!(letter.label, "unknown");
    assert_eq!(letter.routing_key, "q.dlq");
    assert_eq!(letter.message_id, None);
    assert_eq!(
        letter.to_string(),
        format!("- - q.dlq unknown: {}", letter.reason)
    );
}
