//! What a client hears about a body that does not fit.
use super::*;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Body {
    name: String,
    count: u32,
}

fn problem_of(body: &str) -> (StatusCode, Vec<FieldError>) {
    match parse_json::<Body>(body.as_bytes()) {
        Ok(body) => panic!("{body:?} should have been rejected"),
        Err(problem) => (problem.status, problem.errors),
    }
}

#[test]
fn names_the_missing_field() {
    let (status, errors) = problem_of(r#"{"name": "x"}"#);
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(errors, vec![FieldError::new("count", "is required")]);
}

#[test]
fn names_the_unknown_field() {
    let (status, errors) = problem_of(r#"{"name": "x", "count": 1, "extra": true}"#);
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(errors[0].field, "extra");
}

#[test]
fn names_the_field_of_the_wrong_type() {
    let (status, errors) = problem_of(r#"{"name": "x", "count": "many"}"#);
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(errors[0].field, "count");
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
enum Colour {
    Red,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Paint {
    colour: Colour,
}

#[test]
fn bytes_that_are_not_utf8_are_not_json() {
    let (status, _) = problem_of("{\"name\": \"x\", \"count\": 1, \"caf\u{e9}\": 1}");
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "valid UTF-8: an unknown field"
    );
    let latin1 = b"{\"name\": \"x\", \"count\": 1, \"caf\xe9\": 1}";
    let problem = parse_json::<Body>(latin1).err().map(|p| p.status);
    assert_eq!(problem, Some(StatusCode::BAD_REQUEST));
}

#[test]
fn an_array_is_not_an_object() {
    let (status, errors) = problem_of(r#"["x", 1]"#);
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        errors,
        vec![FieldError::new("body", "must be a JSON object")]
    );
}

#[test]
fn a_value_of_the_wrong_type_for_an_enum_names_the_field() {
    for body in [
        r#"{"colour": null}"#,
        r#"{"colour": 1}"#,
        r#"{"colour": ["Red"]}"#,
    ] {
        let problem = parse_json::<Paint>(body.as_bytes()).err();
        let problem = problem.unwrap_or_else(|| panic!("{body} should be rejected"));
        assert_eq!(problem.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(problem.errors[0].field, "colour", "{body}");
    }
}

#[test]
fn syntax_errors_and_empty_bodies_are_bad_requests() {
    for body in [
        "",
        "  ",
        "{",
        "not json",
        r#"{"name": "x", "count": 1} trailing"#,
    ] {
        let (status, _) = problem_of(body);
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body:?}");
    }
}

#[test]
fn json_content_types_are_recognised() {
    let with = |value: &'static str| {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            value.parse().unwrap_or_else(|_| panic!("{value}")),
        );
        has_json_content_type(&headers)
    };
    assert!(with("application/json"));
    assert!(with("application/json; charset=utf-8"));
    assert!(with("application/merge-patch+json"));
    assert!(!with("text/plain"));
    assert!(!with("application/x-www-form-urlencoded"));
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Placed {
    event_id: crate::http::WireUuid,
    deadline: crate::http::WireDateTime,
}

#[test]
fn a_bad_uuid_or_a_date_time_without_a_time_zone_says_what_is_expected() {
    let problem =
        parse_json::<Placed>(br#"{"event_id": "not-a-uuid", "deadline": "2030-06-01T18:00:00Z"}"#)
            .err();
    assert_eq!(
        problem.map(|p| (p.status, p.errors)),
        Some((
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![FieldError::new("event_id", crate::http::NOT_A_UUID)]
        ))
    );
    let id = uuid::Uuid::now_v7();
    let body = format!(r#"{{"event_id": "{id}", "deadline": "2030-06-01T18:00:00"}}"#);
    let problem = parse_json::<Placed>(body.as_bytes()).err();
    assert_eq!(
        problem.map(|p| p.errors),
        Some(vec![FieldError::new(
            "deadline",
            crate::http::NOT_A_DATE_TIME
        )])
    );
}
