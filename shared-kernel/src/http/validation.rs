//! `validator`'s structural checks as problem documents.
//!
//! Request DTOs declare their structural rules (`#[derive(Validate)]`:
//! ranges, lengths, character sets); the domain's newtypes keep the
//! business rules. Either way every invalid field is listed, not only the
//! first.

use validator::{ValidationErrors, ValidationErrorsKind};

use super::FieldError;

/// Every field error in `errors`, named as the client wrote the field
/// (`limit`, `items[2].amount`), sorted by name so responses are stable.
/// A rule's `message` is used when it has one, else its code.
pub fn field_errors(errors: &ValidationErrors) -> Vec<FieldError> {
    let mut out = Vec::new();
    collect("", errors, &mut out);
    out.sort_by(|a, b| a.field.cmp(&b.field));
    out
}

fn collect(prefix: &str, errors: &ValidationErrors, out: &mut Vec<FieldError>) {
    for (field, kind) in errors.errors() {
        let name = if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}.{field}")
        };
        match kind {
            ValidationErrorsKind::Field(list) => {
                for error in list {
                    let message = error
                        .message
                        .as_ref()
                        .map_or_else(|| error.code.to_string(), ToString::to_string);
                    out.push(FieldError::new(name.clone(), message));
                }
            }
            ValidationErrorsKind::Struct(inner) => collect(&name, inner, out),
            ValidationErrorsKind::List(items) => {
                for (index, inner) in items {
                    collect(&format!("{name}[{index}]"), inner, out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use validator::Validate;

    #[derive(Validate)]
    struct Query {
        #[validate(range(min = 1, max = 500, message = "must be between 1 and 500"))]
        limit: u32,
        #[validate(length(min = 1, max = 3))]
        key: String,
    }

    #[test]
    fn every_invalid_field_is_listed_with_its_message_or_code() {
        let errors = Query {
            limit: 0,
            key: String::new(),
        }
        .validate()
        .err()
        .map(|e| field_errors(&e))
        .unwrap_or_default();
        assert_eq!(
            errors,
            [
                FieldError::new("key", "length"),
                FieldError::new("limit", "must be between 1 and 500"),
            ]
        );
    }
}
