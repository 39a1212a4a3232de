//! README's walkthrough, run from README.md itself against both services:
//! create an event, see it in bet-maker, fund a wallet, bet, finish it,
//! see the bet settled and paid. A renamed field, a wrong path or a missing variable in the
//! README fails this test.

use shared_kernel::testing::test_keys;
use system_tests::process::binary;
use system_tests::walkthrough::Walkthrough;
use system_tests::{
    JWT_SECRET, Messaging, OPERATOR_TOKEN, System, assert_books_balance, expected_payout,
    uuid_field,
};
use uuid::Uuid;

/// The addresses and the token the README is written for.
const README_LINE_PROVIDER: &str = "127.0.0.1:8100";
const README_BET_MAKER: &str = "127.0.0.1:8080";
const README_TOKEN: &str = "049a735e0bf150db95b4c746d414095a8d361cf78c283f44926adf1fc9b382f0";
/// The binary the README gets bettors' tokens from (as `make run` built it).
const README_BET_MAKER_BINARY: &str = "target/debug/bet-maker";

/// Printed after the walkthrough: the ids it captured (and, with `set -u`,
/// proof that it set them).
const EPILOGUE: &str = "printf 'walkthrough: %s %s\\n' \"$ID\" \"$BET_ID\"\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_walkthrough_runs_as_pasted_and_settles_its_bet() {
    for tool in ["bash", "curl", "jq"] {
        let found = std::process::Command::new(tool).arg("--version").output();
        assert!(
            found.is_ok_and(|o| o.status.success()),
            "the README walkthrough needs `{tool}` on PATH"
        );
    }
    // As `make run` runs it: the sandbox confirms deposits.
    let system = System::start_unfunded_with(Messaging::Shared, |config| {
        config.payments.provider = bet_maker::config::ProviderKind::Sandbox;
        config.payments.webhook_secrets = Vec::new();
        config.payments.sandbox_delay_ms = 100;
        // And with the house's default limits, which the Risk section shows.
        config.max_liability_per_event = system_tests::decimal("1000000.00");
    })
    .await;
    let readme_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
    let readme = std::fs::read_to_string(readme_path)
        .unwrap_or_else(|e| panic!("reading {readme_path}: {e}"));
    let line_provider = address(&system.line_provider.base_url);
    let bet_maker = address(&system.bet_maker.base_url);
    let bet_maker_binary = binary("bet-maker").display().to_string();
    let walkthrough = Walkthrough::from_readme(
        &readme,
        &[
            (README_LINE_PROVIDER, line_provider),
            (README_BET_MAKER, bet_maker),
            (README_TOKEN, OPERATOR_TOKEN),
            (README_BET_MAKER_BINARY, &bet_maker_binary),
        ],
        EPILOGUE,
    );
    let dir = std::env::temp_dir().join(format!("walkthrough-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));

    // `bet-maker token` signs with the secret this bet-maker verifies with
    // (what `.env` gives it under `make run`).
    let verify_key_file = test_keys().verify_key_file.display().to_string();
    let env = [
        ("BET_MAKER_JWT_SECRET", JWT_SECRET),
        ("LINE_EVENTS_VERIFY_KEY_FILES", verify_key_file.as_str()),
    ];
    let transcript = walkthrough
        .run(&dir, system_tests::PATIENCE * 3, &env)
        .await;

    let failures = walkthrough.failures(&transcript);
    assert!(
        transcript.succeeded && failures.is_empty(),
        "the README walkthrough went wrong:\n{}\n--- stdout\n{}\n--- stderr\n{}",
        failures.join("\n"),
        transcript.stdout,
        transcript.stderr
    );
    let _ = std::fs::remove_dir_all(&dir);
    let (event_id, bet_id) = captured_ids(&transcript.stdout);
    let event = system
        .line_provider
        .get_json(&format!("/events/{event_id}"))
        .await;
    assert_eq!(event["status"], "FINISHED_WIN", "the event: {event}");
    let bet = system.bet(bet_id).await;
    assert_eq!(uuid_field(&bet, "event_id"), event_id, "the bet: {bet}");
    assert_eq!(bet["status"], "WON", "the bet: {bet}");
    let text = |field: &str| bet[field].as_str().unwrap_or_default().to_owned();
    assert_eq!(
        text("payout"),
        expected_payout(&text("amount"), &text("coefficient")),
        "the bet pays what the domain's rule says: {bet}"
    );
    assert_eq!(
        system.balance().await,
        system_tests::decimal("68.50"),
        "alice's wallet: 100.00 in, 10.00 staked, 18.50 paid, 5.00 staked and refunded, 30.00 out, 10.00 staked at 3.00, 30.00 paid and taken back by the correction"
    );
    assert_books_balance(&system.bet_maker_db).await;
    system.stop().await;
}

/// `127.0.0.1:<port>` of a base URL.
fn address(base_url: &str) -> &str {
    base_url.trim_start_matches("http://")
}

/// The event and bet ids the epilogue printed.
fn captured_ids(stdout: &str) -> (Uuid, Uuid) {
    let line = stdout
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix("walkthrough: "))
        .unwrap_or_else(|| panic!("the walkthrough printed no ids:\n{stdout}"));
    let mut ids = line
        .split(' ')
        .map(|id| id.parse::<Uuid>().unwrap_or_else(|e| panic!("`{id}`: {e}")));
    match (ids.next(), ids.next()) {
        (Some(event), Some(bet)) => (event, bet),
        _ => panic!("the walkthrough printed `{line}`, not two ids"),
    }
}
