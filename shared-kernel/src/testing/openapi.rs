//! Validating a generated OpenAPI document against the official schema.
//!
//! `openapi-3.1-schema.json` is the OpenAPI Initiative's schema for 3.1
//! documents (id `https://spec.openapis.org/oas/3.1/schema/2022-10-07`,
//! Apache-2.0), as shipped in PyPI's `openapi-spec-validator` 0.9.0.

use serde_json::Value;

const SCHEMA: &str = include_str!("openapi-3.1-schema.json");

/// Every way `document` breaks the OpenAPI 3.1 schema (empty when valid).
pub fn openapi_31_violations(document: &Value) -> Vec<String> {
    let schema: Value = match serde_json::from_str(SCHEMA) {
        Ok(schema) => schema,
        Err(error) => return vec![format!("the vendored schema is not JSON: {error}")],
    };
    let validator = match jsonschema::draft202012::new(&schema) {
        Ok(validator) => validator,
        Err(error) => return vec![format!("the vendored schema does not compile: {error}")],
    };
    let mut violations: Vec<String> = validator
        .iter_errors(document)
        .map(|error| format!("{}: {error}", error.instance_path()))
        .collect();
    if document["openapi"]
        .as_str()
        .is_none_or(|v| !v.starts_with("3.1."))
    {
        violations.push(format!("`openapi` is {}, not 3.1.x", document["openapi"]));
    }
    violations
}
