//! Reading configuration from the environment, once, at start-up.

use std::fmt::Display;
use std::str::FromStr;

/// A configuration value that is missing or cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {variable} {problem}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub variable: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

/// The variable's value, or `default` when it is unset.
pub fn var_or(variable: &'static str, default: &str) -> Result<String, ConfigError> {
    match std::env::var(variable) {
        Ok(value) => Ok(value),
        Err(std::env::VarError::NotPresent) => Ok(default.to_owned()),
        Err(std::env::VarError::NotUnicode(_)) => Err(ConfigError {
            variable,
            problem: "is not valid UTF-8".to_owned(),
        }),
    }
}

/// The variable's value; an error naming it when unset or empty.
pub fn required(variable: &'static str) -> Result<String, ConfigError> {
    match var_or(variable, "")? {
        value if value.trim().is_empty() => Err(ConfigError {
            variable,
            problem: "is required but not set".to_owned(),
        }),
        value => Ok(value),
    }
}

/// The variable parsed as `T`, or `default` when it is unset.
pub fn parse_or<T>(variable: &'static str, default: T) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: Display,
{
    match std::env::var(variable) {
        Err(std::env::VarError::NotPresent) => Ok(default),
        Ok(value) => value.trim().parse().map_err(|error: T::Err| ConfigError {
            variable,
            problem: format!("has the value `{value}`, which is invalid: {error}"),
        }),
        Err(std::env::VarError::NotUnicode(_)) => Err(ConfigError {
            variable,
            problem: "is not valid UTF-8".to_owned(),
        }),
    }
}
