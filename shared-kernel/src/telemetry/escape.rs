//! Field values of the pretty log format, with control characters escaped.
//!
//! tracing-subscriber's own field formatter writes a value recorded with
//! `%` (Display), and the message, as they are: a newline in a request
//! path or in an error quoting input starts a line of the attacker's
//! choosing (`a\nERROR forged`), and an ESC sequence repaints the
//! terminal. Here every field value and the message are written with each
//! control character (C0, DEL, C1) as an escape (`\n`, `\r`, `\t`,
//! `\u{1b}`), and the Unicode line and paragraph separators too, so one
//! event is always one line. The JSON format escapes them already.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::Writer;

/// Formats fields as `name=value` separated by spaces, the message first
/// and bare, with every control character escaped.
#[derive(Debug, Clone, Copy, Default)]
pub struct EscapedFields;

impl<'writer> FormatFields<'writer> for EscapedFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut visitor = EscapingVisitor {
            writer,
            separate: false,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

/// Writes each field it visits, escaped, until a write fails.
struct EscapingVisitor<'writer> {
    writer: Writer<'writer>,
    /// Whether a field was written already (the next needs a space).
    separate: bool,
    result: fmt::Result,
}

impl EscapingVisitor<'_> {
    fn write(&mut self, field: &Field, value: fmt::Arguments<'_>) {
        if self.result.is_err() {
            return;
        }
        let name = field.name();
        // Metadata of events bridged from the `log` crate, shown elsewhere.
        if name.starts_with("log.") {
            return;
        }
        self.result = self.write_field(name, value);
    }

    fn write_field(&mut self, name: &str, value: fmt::Arguments<'_>) -> fmt::Result {
        if self.separate {
            self.writer.write_char(' ')?;
        }
        self.separate = true;
        if name != "message" {
            self.writer
                .write_str(name.strip_prefix("r#").unwrap_or(name))?;
            self.writer.write_char('=')?;
        }
        Escaping(&mut self.writer).write_fmt(value)
    }
}

impl Visit for EscapingVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.write(field, format_args!("{value}"));
        } else {
            self.write(field, format_args!("{value:?}"));
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.write(field, format_args!("{value}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.write(field, format_args!("{value:?}"));
    }
}

/// A writer that passes text on with control characters escaped.
struct Escaping<'a, W: fmt::Write>(&'a mut W);

impl<W: fmt::Write> fmt::Write for Escaping<'_, W> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        // Runs of harmless characters are written at once.
        let mut rest = text;
        while let Some(at) = rest.find(needs_escape) {
            let (clean, from) = rest.split_at(at);
            self.0.write_str(clean)?;
            let mut chars = from.chars();
            if let Some(character) = chars.next() {
                write_escaped(self.0, character)?;
            }
            rest = chars.as_str();
        }
        self.0.write_str(rest)
    }
}

/// Whether `character` could break a line or drive a terminal.
fn needs_escape(character: char) -> bool {
    character.is_control() || matches!(character, '\u{2028}' | '\u{2029}')
}

fn write_escaped(writer: &mut impl fmt::Write, character: char) -> fmt::Result {
    match character {
        '\n' => writer.write_str("\\n"),
        '\r' => writer.write_str("\\r"),
        '\t' => writer.write_str("\\t"),
        other => write!(writer, "\\u{{{:x}}}", u32::from(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(text: &str) -> String {
        let mut out = String::new();
        let written = Escaping(&mut out).write_str(text);
        assert!(written.is_ok());
        out
    }

    #[test]
    fn control_characters_are_escaped_and_the_rest_is_kept() {
        assert_eq!(escaped("plain text, é ü 漢"), "plain text, é ü 漢");
        assert_eq!(escaped("a\nERROR forged"), "a\\nERROR forged");
        assert_eq!(escaped("\r\t\u{0}\u{7f}"), "\\r\\t\\u{0}\\u{7f}");
        assert_eq!(escaped("\u{1b}[31mred"), "\\u{1b}[31mred");
        assert_eq!(escaped("c1\u{85}\u{9b}"), "c1\\u{85}\\u{9b}");
        assert_eq!(escaped("line\u{2028}sep"), "line\\u{2028}sep");
        assert_eq!(escaped(""), "");
    }
}
