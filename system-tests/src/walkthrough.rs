//! README's walkthrough as a test runs it: the shell blocks marked
//! `<!-- walkthrough -->`, taken from README.md itself, run in order by one
//! bash with `set -euo pipefail`, every `curl` call recorded with the README
//! line it was written on, and every response checked against the example
//! the README shows after it.
//!
//! An example is a comment line holding JSON (`# {"id":"01a1...", ...}`):
//! the last response of the nearest `curl` command above it must have the
//! same fields, and the same values except where the example writes `...`
//! in a string. An example that is a problem document (`"type":
//! "urn:betting:problem:..."`) shows a refusal: its command is expected to
//! fail with an HTTP error, and the script goes on.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use tokio::process::Command;

/// The line that marks a shell block as part of the walkthrough.
pub const MARKER: &str = "<!-- walkthrough -->";

/// Put before the README's commands: strict bash, and `curl` recording each
/// call (README line, exit status, output) to `$WALKTHROUGH_LOG`. With
/// `--fail-with-body`, an HTTP error fails the call; a failed call ends the
/// whole script at once (`kill $$`), even from inside a wait loop's
/// condition, where `set -e` does not reach; except an HTTP error (22) on
/// a script line of `$WALKTHROUGH_REFUSALS`, a refusal the README shows.
const PRELUDE: &str = r#"set -euo pipefail
curl() {
  local out status=0
  out=$(command curl --silent --show-error --fail-with-body "$@") || status=$?
  printf '\036%s %s\n%s' "${BASH_LINENO[0]}" "$status" "$out" >> "$WALKTHROUGH_LOG"
  printf '%s\n' "$out"
  if [ "$status" -ne 0 ] && ! { [ "$status" -eq 22 ] \
       && [[ " ${WALKTHROUGH_REFUSALS:-} " == *" ${BASH_LINENO[0]} "* ]]; }; then
    kill -TERM $$
  fi
}
"#;

/// The walkthrough's commands, ready to run.
#[derive(Debug, Clone)]
pub struct Walkthrough {
    /// The script bash runs: the prelude, then every block in order.
    pub script: String,
    /// For each line of the script (from 1), the README line it came from
    /// (0 for the prelude and the epilogue).
    readme_lines: Vec<usize>,
    /// README lines of the `curl` commands, with their block's number.
    commands: Vec<(usize, usize)>,
    /// README line, block number and value of each example response.
    examples: Vec<(usize, usize, Value)>,
}

/// One `curl` call the script made.
#[derive(Debug, Clone)]
pub struct Call {
    /// The README line of the command that made it.
    pub line: usize,
    /// curl's exit status (22 for an HTTP error).
    pub status: i32,
    /// What it printed.
    pub output: String,
}

/// What a run of the walkthrough did.
#[derive(Debug, Clone)]
pub struct Transcript {
    /// Every `curl` call, in order.
    pub calls: Vec<Call>,
    /// The script's own output.
    pub stdout: String,
    /// Its errors.
    pub stderr: String,
    /// Whether bash exited with 0.
    pub succeeded: bool,
}

impl Walkthrough {
    /// The marked blocks of `readme`, with each `(from, to)` of
    /// `substitutions` replaced (addresses, the token), followed by
    /// `epilogue` (which may print the variables the blocks set).
    pub fn from_readme(readme: &str, substitutions: &[(&str, &str)], epilogue: &str) -> Self {
        let mut walkthrough = Self {
            script: PRELUDE.to_owned(),
            readme_lines: vec![0; PRELUDE.lines().count()],
            commands: Vec::new(),
            examples: Vec::new(),
        };
        let lines: Vec<&str> = readme.lines().collect();
        let mut block = 0;
        let mut index = 0;
        while index < lines.len() {
            if lines[index].trim() != MARKER {
                index += 1;
                continue;
            }
            block += 1;
            let opening = lines.get(index + 1).map(|line| line.trim());
            assert_eq!(
                opening,
                Some("```sh"),
                "README line {}: {MARKER} must stand right before a ```sh block",
                index + 1
            );
            index += 2;
            while index < lines.len() && lines[index].trim() != "```" {
                walkthrough.add_line(index + 1, lines[index], block, substitutions);
                index += 1;
            }
        }
        assert!(block > 0, "README.md has no block marked {MARKER}");
        walkthrough.script.push_str(epilogue);
        walkthrough
    }

    fn add_line(
        &mut self,
        number: usize,
        line: &str,
        block: usize,
        substitutions: &[(&str, &str)],
    ) {
        let trimmed = line.trim_start();
        if let Some(example) = trimmed
            .strip_prefix("# ")
            .filter(|rest| rest.starts_with('{') || rest.starts_with('['))
        {
            let value = serde_json::from_str(example)
                .unwrap_or_else(|e| panic!("README line {number}: the example is not JSON ({e})"));
            self.examples.push((number, block, value));
        } else if !trimmed.starts_with('#') && trimmed.contains("curl ") {
            self.commands.push((number, block));
        }
        let mut line = line.to_owned();
        for (from, to) in substitutions {
            line = line.replace(from, to);
        }
        self.script.push_str(&line);
        self.script.push('\n');
        self.readme_lines.push(number);
    }

    /// Runs the script with bash in `dir` (its transcript goes there too),
    /// with `env` added to the environment, killing it after `within`.
    pub async fn run(&self, dir: &Path, within: Duration, env: &[(&str, &str)]) -> Transcript {
        let log = dir.join("walkthrough.log");
        let script = dir.join("walkthrough.sh");
        std::fs::write(&script, &self.script)
            .unwrap_or_else(|e| panic!("writing {}: {e}", script.display()));
        let child = Command::new("bash")
            .arg(&script)
            .current_dir(dir)
            .env("WALKTHROUGH_LOG", &log)
            .env("WALKTHROUGH_REFUSALS", self.refusal_script_lines())
            .envs(env.iter().copied())
            .kill_on_drop(true)
            .output();
        let finished = tokio::time::timeout(within, child).await;
        let recorded = std::fs::read_to_string(&log).unwrap_or_default();
        let calls = self.calls(&recorded);
        match finished {
            Ok(output) => {
                let output = output.unwrap_or_else(|e| panic!("running bash: {e}"));
                Transcript {
                    calls,
                    stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
                    stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
                    succeeded: output.status.success(),
                }
            }
            Err(_) => Transcript {
                calls,
                stdout: String::new(),
                stderr: format!("killed: it did not finish within {within:?}"),
                succeeded: false,
            },
        }
    }

    /// The README lines of the commands whose example is a refusal (a
    /// problem document): an HTTP error is what they should get.
    fn refusals(&self) -> BTreeSet<usize> {
        self.examples
            .iter()
            .filter(|(_, _, example)| {
                example["type"]
                    .as_str()
                    .is_some_and(|kind| kind.starts_with("urn:betting:problem:"))
            })
            .filter_map(|(line, block, _)| self.command_of(*line, *block))
            .collect()
    }

    /// The nearest command above README line `line` in its block.
    fn command_of(&self, line: usize, block: usize) -> Option<usize> {
        self.commands
            .iter()
            .filter(|(command, in_block)| *command < line && *in_block == block)
            .map(|(command, _)| *command)
            .max()
    }

    /// The script lines (space-separated) of the refusals' commands, each
    /// line of a command continued over several.
    fn refusal_script_lines(&self) -> String {
        let refusals = self.refusals();
        let mut lines = Vec::new();
        let mut command = None;
        for (index, readme_line) in self.readme_lines.iter().enumerate() {
            if self.commands.iter().any(|(line, _)| line == readme_line) {
                command = Some(*readme_line);
            }
            if *readme_line != 0 && command.is_some_and(|c| refusals.contains(&c)) {
                lines.push((index + 1).to_string());
            }
        }
        lines.join(" ")
    }

    /// The recorded calls, each put on the README line of its command: the
    /// nearest command at or above the line bash reported.
    fn calls(&self, recorded: &str) -> Vec<Call> {
        recorded
            .split('\u{1e}')
            .filter(|record| !record.is_empty())
            .map(|record| {
                let (head, output) = record.split_once('\n').unwrap_or((record, ""));
                let mut fields = head.split(' ').map(|f| f.parse::<usize>().ok());
                let script_line = fields.next().flatten().unwrap_or_default();
                let status = fields.next().flatten().unwrap_or(usize::MAX);
                let readme_line = self
                    .readme_lines
                    .get(script_line.saturating_sub(1))
                    .copied()
                    .unwrap_or_default();
                let line = self
                    .commands
                    .iter()
                    .map(|(line, _)| *line)
                    .filter(|line| *line <= readme_line)
                    .max()
                    .unwrap_or(readme_line);
                Call {
                    line,
                    status: i32::try_from(status).unwrap_or(-1),
                    output: output.to_owned(),
                }
            })
            .collect()
    }

    /// Everything wrong with a run: a failed call, a command never run, a
    /// response unlike the README's example of it.
    pub fn failures(&self, transcript: &Transcript) -> Vec<String> {
        let mut failures = Vec::new();
        let refusals = self.refusals();
        for call in transcript
            .calls
            .iter()
            .filter(|call| call.status != 0)
            .filter(|call| !(call.status == 22 && refusals.contains(&call.line)))
        {
            failures.push(format!(
                "README line {}: curl failed ({}): {}",
                call.line, call.status, call.output
            ));
        }
        for (line, _) in &self.commands {
            if !transcript.calls.iter().any(|call| call.line == *line) {
                failures.push(format!("README line {line}: the command never ran"));
            }
        }
        for (line, block, example) in &self.examples {
            if let Err(failure) = self.check_example(transcript, *line, *block, example) {
                failures.push(format!("README line {line}: {failure}"));
            }
        }
        failures
    }

    fn check_example(
        &self,
        transcript: &Transcript,
        line: usize,
        block: usize,
        example: &Value,
    ) -> Result<(), String> {
        let command = self
            .command_of(line, block)
            .ok_or("an example with no curl command above it in its block")?;
        let call = transcript
            .calls
            .iter()
            .rev()
            .find(|call| call.line == command)
            .ok_or(format!("the command of line {command} never ran"))?;
        let actual: Value = serde_json::from_str(&call.output)
            .map_err(|e| format!("the response is not JSON ({e}): {}", call.output))?;
        matches_example(example, &actual, "$")
            .map_err(|e| format!("{e}\n  example:  {example}\n  response: {actual}"))
    }
}

/// Whether `actual` has the shape and values of `example`, where a string
/// with `...` in it stands for any string.
pub fn matches_example(example: &Value, actual: &Value, path: &str) -> Result<(), String> {
    match (example, actual) {
        (Value::String(text), Value::String(_)) if text.contains("...") => Ok(()),
        (Value::Object(expected), Value::Object(got)) => {
            let expected_keys: BTreeSet<&String> = expected.keys().collect();
            let got_keys: BTreeSet<&String> = got.keys().collect();
            if expected_keys != got_keys {
                return Err(format!(
                    "{path}: fields {got_keys:?}, the README shows {expected_keys:?}"
                ));
            }
            expected.iter().try_for_each(|(key, value)| {
                matches_example(value, &got[key], &format!("{path}.{key}"))
            })
        }
        (Value::Array(expected), Value::Array(got)) => {
            if expected.len() != got.len() {
                return Err(format!(
                    "{path}: {} items, the README shows {}",
                    got.len(),
                    expected.len()
                ));
            }
            expected
                .iter()
                .zip(got)
                .enumerate()
                .try_for_each(|(i, (e, g))| matches_example(e, g, &format!("{path}[{i}]")))
        }
        _ if example == actual => Ok(()),
        _ => Err(format!("{path} is {actual}, the README shows {example}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_example_matches_the_same_fields_with_wildcards_for_dots() {
        let example = json!({"id": "01a1...", "items": [{"n": 1}], "status": "NEW"});
        let actual = json!({"status": "NEW", "id": "0193", "items": [{"n": 1}]});
        assert_eq!(matches_example(&example, &actual, "$"), Ok(()));
    }

    #[test]
    fn an_example_does_not_match_a_renamed_field_another_value_or_another_length() {
        let example = json!({"id": "...", "status": "NEW", "items": [1]});
        for actual in [
            json!({"id": "x", "state": "NEW", "items": [1]}),
            json!({"id": "x", "status": "OLD", "items": [1]}),
            json!({"id": "x", "status": "NEW", "items": [1, 2]}),
            json!({"id": 1, "status": "NEW", "items": [1]}),
        ] {
            assert!(matches_example(&example, &actual, "$").is_err(), "{actual}");
        }
    }

    #[test]
    fn blocks_are_read_in_order_with_commands_examples_and_substitutions() {
        let readme = "intro\n<!-- walkthrough -->\n```sh\nA=$(curl -s http://h:1/x \\\n  -d '{}')\n# {\"a\": \"...\"}\n```\nprose\n```sh\necho not marked\n```\n<!-- walkthrough -->\n```sh\ncurl -s http://h:1/y\n```\n";
        let walkthrough = Walkthrough::from_readme(readme, &[("h:1", "127.0.0.1:9")], "");
        assert_eq!(walkthrough.commands, vec![(4, 1), (14, 2)]);
        assert_eq!(walkthrough.examples.len(), 1);
        assert!(walkthrough.script.contains("http://127.0.0.1:9/y"));
        assert!(!walkthrough.script.contains("not marked"));
        let prelude = PRELUDE.lines().count();
        assert_eq!(walkthrough.readme_lines[prelude], 4);
    }

    #[test]
    fn a_command_whose_example_is_a_problem_is_a_refusal_on_each_of_its_lines() {
        let readme = "<!-- walkthrough -->\n```sh\ncurl -s http://h/ok\n# {\"id\": \"...\"}\ncurl -s -X POST http://h/no \\\n  -d '{}'\n# {\"type\": \"urn:betting:problem:stake-limit\", \"status\": 409}\n```\n";
        let walkthrough = Walkthrough::from_readme(readme, &[], "");
        assert_eq!(walkthrough.refusals(), BTreeSet::from([5]));
        let prelude = PRELUDE.lines().count();
        // The refused command's two lines and its example, not the first
        // command's.
        assert_eq!(
            walkthrough.refusal_script_lines(),
            format!("{} {} {}", prelude + 3, prelude + 4, prelude + 5)
        );
        let refused = Call {
            line: 5,
            status: 22,
            output: "{\"type\": \"urn:betting:problem:stake-limit\", \"status\": 409}".to_owned(),
        };
        let ok = Call {
            line: 3,
            status: 0,
            output: "{\"id\": \"x\"}".to_owned(),
        };
        let transcript = Transcript {
            calls: vec![ok.clone(), refused.clone()],
            stdout: String::new(),
            stderr: String::new(),
            succeeded: true,
        };
        assert_eq!(walkthrough.failures(&transcript), Vec::<String>::new());
        let unexpected = Transcript {
            calls: vec![Call { status: 22, ..ok }, refused],
            ..transcript
        };
        assert_eq!(
            walkthrough.failures(&unexpected).len(),
            1,
            "an HTTP error where none is shown"
        );
    }
}
