//! What enqueueing or delivering a mail can fail with.

use schoolplein_kernel::templates::TemplateError;

/// Bad input is its own variant (the caller's mistake, nothing was written); the rest are
/// failures of the machinery.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("the recipient is empty")]
    EmptyRecipient,
    #[error("the recipient is not a valid e-mail address")]
    MalformedRecipient,
    #[error("the {0} contains a line break or control character")]
    HeaderInjection(&'static str),
    #[error("the {what} is too large ({size} bytes; at most {limit})")]
    TooLarge {
        what: &'static str,
        size: usize,
        limit: usize,
    },
    #[error("the subject is empty")]
    EmptySubject,
    #[error("no mail template named {0:?}")]
    UnknownTemplate(String),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("the mail context cannot be serialised: {0}")]
    Context(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("mail transport: {0}")]
    Transport(String),
}

impl MailError {
    /// True when the caller asked for something that cannot be sent (as opposed to a failure).
    pub fn is_bad_request(&self) -> bool {
        matches!(
            self,
            Self::EmptyRecipient
                | Self::MalformedRecipient
                | Self::HeaderInjection(_)
                | Self::TooLarge { .. }
                | Self::EmptySubject
                | Self::UnknownTemplate(_)
        )
    }
}

/// A mail that cannot be written answers the person with a 400 naming the address; a
/// failure of the machinery is a 500 whose cause is logged, never shown.
impl From<MailError> for schoolplein_kernel::AppError {
    fn from(error: MailError) -> Self {
        match error {
            MailError::EmptyRecipient
            | MailError::MalformedRecipient
            | MailError::HeaderInjection("recipient") => {
                schoolplein_kernel::AppError::bad_request("email", "error.mail_address_refused")
            }
            MailError::Database(error) => schoolplein_kernel::AppError::Database(error),
            other => schoolplein_kernel::AppError::Internal(other.to_string()),
        }
    }
}
