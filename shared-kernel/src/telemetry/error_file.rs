//! The error log file (`LOG_ERROR_FILE`): warnings and errors as JSON
//! lines, a new file each day, written by a thread of its own; the last
//! `LOG_ERROR_FILE_DAYS` days are kept.
//!
//! Logging must never wait for a disk: each line goes into a bounded queue
//! that the writer thread empties, and a line that finds the queue full is
//! dropped (and counted by the writer) instead of blocking the request or
//! the message being handled. On stop, [`super::Telemetry::shutdown`]
//! waits (about a second at most) for the queue to be written out.

use std::path::{Path, PathBuf};

use tracing::Level;
use tracing_appender::non_blocking::{NonBlocking, NonBlockingBuilder, WorkerGuard};
use tracing_appender::rolling::{InitError, RollingFileAppender, Rotation};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{FilterExt, filter_fn};

use super::json::JsonWithTrace;

/// Lines waiting for the writer at most: about a minute of a steady
/// error per millisecond, and a few MiB of memory at worst.
const QUEUED_LINES: usize = 65_536;

/// lapin logs every message the broker returns at WARN, as a dump of the
/// whole message byte by byte; the relay's own warning says the same in a
/// line with fields (message id, routing key, reason), and the message is
/// kept and tried again, so the dump would fill the file on every retry.
/// (lapin's lines are off unless `RUST_LOG` names lapin, see `quiet`;
/// with it named, this one still stays out of the file.)
const LAPIN_RETURNS: &str = "lapin::returned_messages";

/// Why the error file cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum ErrorFileError {
    /// The path has no file name (`/`, or it ends in `..`).
    #[error("the path names no file")]
    NotAFile,
    /// The directory cannot be created, or the file opened.
    #[error(transparent)]
    Open(#[from] InitError),
}

/// A writer of daily files beside `path`, keeping the last `keep_days`
/// (0: all), and the guard that flushes it.
pub(super) fn open(
    path: &Path,
    keep_days: u16,
) -> Result<(NonBlocking, WorkerGuard), ErrorFileError> {
    let (directory, prefix, suffix) = split(path)?;
    let mut builder = RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix(prefix);
    if let Some(suffix) = suffix {
        builder = builder.filename_suffix(suffix);
    }
    if keep_days > 0 {
        builder = builder.max_log_files(usize::from(keep_days));
    }
    let files = builder.build(directory)?;
    Ok(NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(QUEUED_LINES)
        .thread_name("error-log-file")
        .finish(files))
}

/// `/var/log/bet-maker/errors.log` → (`/var/log/bet-maker`, `errors`,
/// `log`): the day's date goes between the stem and the extension.
fn split(path: &Path) -> Result<(PathBuf, String, Option<String>), ErrorFileError> {
    let stem = path
        .file_stem()
        .ok_or(ErrorFileError::NotAFile)?
        .to_string_lossy()
        .into_owned();
    let extension = path
        .extension()
        .map(|extension| extension.to_string_lossy().into_owned());
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((directory, stem, extension))
}

/// The layer writing to `writer`: JSON lines (with the trace's ids), only
/// warnings and errors (but lapin's dumps of returned messages), of what
/// `RUST_LOG` lets through. Spans pass the filter, so a line names the
/// spans it was written in, as on stdout.
pub(super) fn layer(writer: NonBlocking) -> super::BoxedLayer {
    let warnings_and_errors = filter_fn(|metadata| {
        !metadata.is_event()
            || (*metadata.level() <= Level::WARN && metadata.target() != LAPIN_RETURNS)
    });
    tracing_subscriber::fmt::layer()
        .json()
        .event_format(JsonWithTrace::new())
        .with_ansi(false)
        .with_writer(writer)
        .with_filter(super::log_filter().and(warnings_and_errors))
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_date_goes_between_the_stem_and_the_extension() {
        let split = split(Path::new("/var/log/bet-maker/errors.log")).ok();
        assert_eq!(
            split,
            Some((
                PathBuf::from("/var/log/bet-maker"),
                "errors".to_owned(),
                Some("log".to_owned())
            ))
        );
    }

    #[test]
    fn a_bare_name_is_in_the_working_directory() {
        let split = split(Path::new("errors")).ok();
        assert_eq!(split, Some((PathBuf::from("."), "errors".to_owned(), None)));
    }

    #[test]
    fn a_directory_is_not_a_file() {
        assert!(matches!(
            split(Path::new("/")),
            Err(ErrorFileError::NotAFile)
        ));
    }
}
