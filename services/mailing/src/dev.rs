//! Development only: a page on the platform's host that lists the mails the `files`
//! transport wrote (newest first) and shows one. Mounted only when the environment is
//! `development`.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use schoolplein_kernel::{AppError, AppState, Pages};
use serde::Serialize;

/// Mails listed at most; older files stay on disk.
const MAX_LISTED: usize = 200;

/// `/dev/mail` and `/dev/mail/{name}`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dev/mail", get(list_mails))
        .route("/dev/mail/{name}", get(show_mail))
}

#[derive(Debug, Serialize)]
struct MailSummary {
    name: String,
    subject: String,
    recipient: String,
    time: String,
}

#[derive(Debug, Serialize)]
struct DevMailListPage {
    dir: String,
    mails: Vec<MailSummary>,
}

#[derive(Debug, Serialize)]
struct DevMailPage {
    subject: String,
    recipient: String,
    time: String,
    raw: String,
}

async fn list_mails(State(state): State<AppState>, pages: Pages) -> Result<Response, AppError> {
    let dir = state.config.mail.files_dir.clone();
    let mut found: Vec<(std::time::SystemTime, String)> = Vec::new();
    if let Ok(mut entries) = tokio::fs::read_dir(&dir).await {
        while let Ok(Some(entry)) = entries.next_entry().await {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !is_mail_file(&name) {
                continue;
            }
            let modified = entry
                .metadata()
                .await
                .and_then(|m| m.modified())
                .unwrap_or(std::time::UNIX_EPOCH);
            found.push((modified, name));
        }
    }
    found.sort_by(|a, b| b.cmp(a));
    let mut mails = Vec::new();
    for (_, name) in found.into_iter().take(MAX_LISTED) {
        let Ok(raw) = tokio::fs::read_to_string(dir.join(&name)).await else {
            continue;
        };
        let headers = Headers::read(&raw);
        mails.push(MailSummary {
            name,
            subject: headers.subject,
            recipient: headers.to,
            time: headers.date,
        });
    }
    let page = DevMailListPage {
        dir: dir.display().to_string(),
        mails,
    };
    pages.show("mailing/dev_mail_list.html", &page)
}

async fn show_mail(
    State(state): State<AppState>,
    pages: Pages,
    Path(name): Path<String>,
) -> Result<Response, AppError> {
    // Only `<digits>.eml`: never a path out of the directory.
    if !is_mail_file(&name) {
        return Err(AppError::NotFound);
    }
    let raw = tokio::fs::read_to_string(state.config.mail.files_dir.join(&name))
        .await
        .map_err(|_| AppError::NotFound)?;
    let headers = Headers::read(&raw);
    let page = DevMailPage {
        subject: headers.subject,
        recipient: headers.to,
        time: headers.date,
        raw,
    };
    pages.show("mailing/dev_mail_show.html", &page)
}

fn is_mail_file(name: &str) -> bool {
    name.strip_suffix(".eml")
        .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
}

/// The few headers the list shows, as written (an encoded subject stays encoded).
#[derive(Debug, Default)]
struct Headers {
    subject: String,
    to: String,
    date: String,
}

impl Headers {
    fn read(raw: &str) -> Self {
        let mut headers = Headers::default();
        for line in raw.lines().take_while(|line| !line.is_empty()) {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim().to_owned();
            match name.to_ascii_lowercase().as_str() {
                "subject" => headers.subject = value,
                "to" => headers.to = value,
                "date" => headers.date = value,
                _ => {}
            }
        }
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_mail_files_are_served() {
        assert!(is_mail_file("12.eml"));
        assert!(!is_mail_file(".12.eml.tmp"));
        assert!(!is_mail_file("../12.eml"));
        assert!(!is_mail_file(".eml"));
        assert!(!is_mail_file("12.txt"));
    }
}
