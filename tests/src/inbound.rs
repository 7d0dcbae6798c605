//! Mail coming back in end-to-end tests: the real-world samples in `tests/fixtures/inbound`
//! with their placeholders filled in, `schoolplein mail receive` fed one of them as a mail
//! server would, and the clock's jobs run at a chosen instant.

use std::process::{Output, Stdio};

use schoolplein_mailing::schedule::ScheduleReport;
use tokio::io::AsyncWriteExt;

use crate::{TestApp, TestDb, schoolplein_command, workspace_root};

/// A sample (`iphone_reply`, `postfix_dsn`, …) with each `(placeholder, value)` filled in.
pub fn sample(name: &str, fill: &[(&str, &str)]) -> Vec<u8> {
    let path = workspace_root().join(format!("tests/fixtures/inbound/{name}.eml"));
    let mut text = std::fs::read_to_string(&path).expect("the sample");
    for (placeholder, value) in fill {
        text = text.replace(placeholder, value);
    }
    text.into_bytes()
}

/// `schoolplein mail receive` with `args`, extra environment `env`, and `message` on standard
/// input.
pub async fn receive(db: &TestDb, message: &[u8], args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = schoolplein_command(db);
    command
        .args(["mail", "receive"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("schoolplein runs");
    let mut stdin = child.stdin.take().expect("its standard input");
    // A refusal may come before everything is read: the broken pipe is then expected.
    let _ = stdin.write_all(message).await;
    drop(stdin);
    child.wait_with_output().await.expect("it finishes")
}

/// What the command wrote to standard error.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The clock's jobs for every school, as `serve` runs them each minute, at `at`.
pub async fn clock_at(app: &TestApp, at: chrono::DateTime<chrono::Utc>) -> ScheduleReport {
    schoolplein_mailing::schedule::run_due(
        &app.db.pool,
        &app.db.pool,
        app.state.templates.clone(),
        &app.state.config,
        at,
    )
    .await
    .expect("the clock's jobs run")
}

/// The clock's jobs `minutes` from now; how many message notices they queued.
pub async fn notices_at(app: &TestApp, minutes: i64) -> usize {
    clock_at(app, chrono::Utc::now() + chrono::Duration::minutes(minutes))
        .await
        .message_notices
}
