//! Who published a message: the AMQP `user_id` property, which RabbitMQ
//! refuses unless it names the user the publisher's connection
//! authenticated as. line-provider's publisher always sets it, so when
//! bet-maker knows line-provider's broker user (`LINE_PROVIDER_AMQP_USER`)
//! a message without it, or with another user's, did not come from
//! line-provider and is refused before it is read.

use lapin::message::Delivery;

use super::dead_letter::Rejection;

/// The dead letter's label for a message published by another user.
pub const WRONG_PUBLISHER: &str = "wrong_publisher";

/// Refuses `delivery` unless its `user_id` is `expected`; accepts anything
/// when no publisher is expected.
pub fn check_publisher(delivery: &Delivery, expected: Option<&str>) -> Result<(), Rejection> {
    let published_by = delivery
        .properties
        .user_id()
        .as_ref()
        .map(|user| user.as_str());
    publisher_is(published_by, expected)
}

fn publisher_is(published_by: Option<&str>, expected: Option<&str>) -> Result<(), Rejection> {
    match (expected, published_by) {
        (None, _) => Ok(()),
        (Some(expected), Some(user)) if user == expected => Ok(()),
        (Some(expected), Some(user)) => Err(Rejection::new(
            WRONG_PUBLISHER,
            format!(
                "published by broker user '{user}' (user_id), but only '{expected}' \
                 (LINE_PROVIDER_AMQP_USER) publishes line events"
            ),
        )),
        (Some(expected), None) => Err(Rejection::new(
            WRONG_PUBLISHER,
            format!(
                "published without a user_id, so not by broker user '{expected}' \
                 (LINE_PROVIDER_AMQP_USER), which publishes line events with it"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_an_expected_publisher_anyone_may_publish() {
        assert_eq!(publisher_is(None, None), Ok(()));
        assert_eq!(publisher_is(Some("guest"), None), Ok(()));
    }

    #[test]
    fn only_the_expected_user_may_publish_and_the_reason_names_both() {
        assert_eq!(publisher_is(Some("lp"), Some("lp")), Ok(()));
        let other = publisher_is(Some("guest"), Some("lp")).err();
        assert!(
            other
                .as_ref()
                .is_some_and(|rejection| rejection.label == WRONG_PUBLISHER
                    && rejection.reason.contains("'guest'")
                    && rejection.reason.contains("'lp'")),
            "{other:?}"
        );
        let missing = publisher_is(None, Some("lp")).err();
        assert!(
            missing
                .as_ref()
                .is_some_and(|rejection| rejection.label == WRONG_PUBLISHER
                    && rejection.reason.contains("without a user_id")
                    && rejection.reason.contains("'lp'")),
            "{missing:?}"
        );
    }
}
